package org.encryptedknn.client;

/**
 * Sees every request an {@link OpenSearchHttp} sends, before it is sent (see {@link OpenSearchHttp#observe}):
 * method, path and the exact body text (null when there is none). For audits and tests of what leaves the key
 * holder — e.g. {@link RequestLog}, which records them. Called on the sending thread; must not throw.
 */
@FunctionalInterface
public interface RequestObserver {

    void request(String method, String path, String body);
}
