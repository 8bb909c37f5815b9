package org.encryptedknn.search.pipeline;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.opensearch.core.action.ActionListener;
import org.opensearch.transport.client.Client;

/**
 * The document count of the indices a query searches, for the model's default window, which grows with the index
 * ({@link org.encryptedknn.model.WindowCalibration#windowFor}): the primaries' count from the index stats API,
 * cached per index expression for {@value #TTL_SECONDS} s, so a query costs a stats call at most once a minute per
 * expression. A failed lookup answers 0 (the window at the model's calibration size): it never fails the search.
 */
final class IndexDocCounts {

    static final long TTL_SECONDS = 60;
    private static final int MAX_ENTRIES = 1024;

    private record Entry(long count, long expiresNanos) {}

    private final Supplier<Client> client;
    private final Map<String, Entry> cache = new ConcurrentHashMap<>();

    IndexDocCounts(Supplier<Client> client) {
        this.client = client;
    }

    void count(String[] indices, ActionListener<Long> listener) {
        String key = String.join(",", indices);
        long now = System.nanoTime();
        Entry e = cache.get(key);
        if (e != null && now - e.expiresNanos < 0) {
            listener.onResponse(e.count);
            return;
        }
        Client c = client.get();
        if (c == null) {
            listener.onResponse(0L);
            return;
        }
        c.admin()
                .indices()
                .prepareStats(indices)
                .clear()
                .setDocs(true)
                .execute(ActionListener.wrap(
                        r -> {
                            long count = r.getPrimaries().getDocs() == null
                                    ? 0
                                    : r.getPrimaries().getDocs().getCount();
                            if (cache.size() >= MAX_ENTRIES) {
                                cache.clear();
                            }
                            cache.put(key, new Entry(count, System.nanoTime() + TimeUnit.SECONDS.toNanos(TTL_SECONDS)));
                            listener.onResponse(count);
                        },
                        failure -> listener.onResponse(0L)));
    }
}
