package org.encryptedknn.client;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link RequestObserver} that records every request sent (thread-safe). Attach it with
 * {@code http.observe(log)} to check what the storage tier received, e.g. that no body holds a plaintext vector.
 */
public final class RequestLog implements RequestObserver {

    /** One request: method, path and body text (null when there was none). */
    public record Entry(String method, String path, String body) {}

    private final List<Entry> entries = new ArrayList<>();

    @Override
    public synchronized void request(String method, String path, String body) {
        entries.add(new Entry(method, path, body));
    }

    /** A copy of the requests recorded so far, in order. */
    public synchronized List<Entry> entries() {
        return List.copyOf(entries);
    }

    public synchronized int size() {
        return entries.size();
    }

    public synchronized void clear() {
        entries.clear();
    }
}
