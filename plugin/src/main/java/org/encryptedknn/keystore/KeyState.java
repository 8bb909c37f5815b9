package org.encryptedknn.keystore;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.encryptedknn.fields.FieldCipher;
import org.encryptedknn.keys.KeyDerivation;
import org.encryptedknn.keys.MasterKey;

/**
 * One generation of the key holder state of a node: the key derivation of the master key read from the keystore, and
 * everything derived from it — decrypted models, their {@code VectorTransform}s per epoch, field ciphers.
 *
 * <p>Requests take a {@link KeyLease} on the generation current when they start and use only that generation until
 * they end, so a request never mixes keys across a {@code _nodes/reload_secure_settings}. A reload {@linkplain #retire()
 * retires} the generation: its secrets (PRK, transform matrices, field keys) are zeroed as soon as the last lease is
 * released (or, for a lease that is never released because its search failed between the request and the response
 * processor, by the forced close the {@link NodeKeyHolder} schedules). Closing never pulls keys from under a
 * computation: every secret-holding object waits for the uses in progress and refuses later ones with an
 * {@link IllegalStateException} ({@link org.encryptedknn.keys.SecretGuard}), so a request still holding its lease
 * after the forced close fails cleanly instead of computing with zeroed arrays.
 */
public final class KeyState {

    private final long generation;
    private final KeyDerivation keys;
    private final Map<String, CachedModel> models = new ConcurrentHashMap<>();
    private final Map<String, FieldCipher> ciphers = new ConcurrentHashMap<>();
    private final List<AutoCloseable> owned = new ArrayList<>();
    private int leases;
    private boolean retired;
    private boolean closed;

    /** Derives the PRK from {@code key}; the caller destroys its {@link MasterKey} right after. */
    KeyState(long generation, MasterKey key) {
        this.generation = generation;
        this.keys = new KeyDerivation(key);
    }

    public long generation() {
        return generation;
    }

    KeyDerivation keys() {
        checkOpen();
        return keys;
    }

    synchronized boolean tryLease() {
        if (closed || retired) {
            return false;
        }
        leases++;
        return true;
    }

    void release() {
        boolean close;
        synchronized (this) {
            leases--;
            close = retired && leases <= 0 && closed == false;
        }
        if (close) {
            close();
        }
    }

    /** No new leases; closes now if none is held. */
    void retire() {
        boolean close;
        synchronized (this) {
            retired = true;
            close = leases <= 0 && closed == false;
        }
        if (close) {
            close();
        }
    }

    synchronized int leases() {
        return leases;
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    CachedModel cachedModel(String id) {
        return models.get(id);
    }

    void cacheModel(CachedModel model) {
        models.put(model.model().id(), model);
    }

    void invalidate(String modelId) {
        // Not closed here: requests holding a lease may still use it. Its transforms are closed with this state.
        models.remove(modelId);
    }

    FieldCipher fieldCipher(String field) {
        checkOpen();
        return ciphers.computeIfAbsent(field, f -> own(new FieldCipher(keys, f)));
    }

    /** Registers a secret-holding object to be zeroed when this generation closes. */
    <T extends AutoCloseable> T own(T secret) {
        synchronized (owned) {
            if (isClosed()) {
                try {
                    secret.close();
                } catch (Exception e) {
                    // nothing else to do
                }
                throw new IllegalStateException(
                        "the key generation of this request was closed (keystore reloaded); retry the request");
            }
            owned.add(secret);
        }
        return secret;
    }

    private void checkOpen() {
        if (isClosed()) {
            throw new IllegalStateException(
                    "the key generation of this request was closed (keystore reloaded); retry the request");
        }
    }

    /** Zeroes every secret of this generation. Idempotent. */
    void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        synchronized (owned) {
            for (AutoCloseable c : owned) {
                try {
                    c.close();
                } catch (Exception e) {
                    // best effort: keep zeroing the rest
                }
            }
            owned.clear();
        }
        models.clear();
        ciphers.clear();
        keys.close();
    }

    @Override
    public String toString() {
        return "KeyState[generation " + generation + ", secrets redacted]";
    }
}
