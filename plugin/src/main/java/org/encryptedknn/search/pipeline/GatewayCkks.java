package org.encryptedknn.search.pipeline;

import java.io.Closeable;
import java.util.HashMap;
import java.util.Map;
import org.encryptedknn.he.CkksContext;
import org.encryptedknn.he.CkksKeyHolder;
import org.encryptedknn.he.CkksParameters;
import org.encryptedknn.he.CkksSecretKey;
import org.encryptedknn.rescore.CkksContexts;

/**
 * The coordinating node's CKKS keys for gateway searches in {@code ckks} mode: one secret key per parameter set,
 * generated from SEAL's CSPRNG on first use, held in memory only, closed with the node. Nothing persistent is
 * encrypted under it — it encrypts one query's residual queries and decrypts that query's results — so a restart
 * simply makes a new one, and it is never derived from, nor stored next to, the master key. Data nodes get only the
 * ciphertexts. Thread-safe.
 */
public final class GatewayCkks implements Closeable {

    private final Map<CkksParameters, CkksKeyHolder> keyHolders = new HashMap<>();
    private boolean closed;

    /** The key holder for {@code params}, created (new secret key) on first use. */
    synchronized CkksKeyHolder keyHolder(CkksParameters params) {
        if (closed) {
            throw new IllegalStateException("the encrypted-knn gateway is closed");
        }
        return keyHolders.computeIfAbsent(params, p -> {
            CkksContext context = CkksContexts.get(p);
            // the key holder's encryptor and decryptor keep their own copies of the key
            try (CkksSecretKey key = CkksSecretKey.generate(context)) {
                return new CkksKeyHolder(context, key);
            }
        });
    }

    @Override
    public synchronized void close() {
        closed = true;
        keyHolders.values().forEach(CkksKeyHolder::close);
        keyHolders.clear();
    }
}
