package org.encryptedknn.keystore;

import java.util.concurrent.atomic.AtomicBoolean;
import org.encryptedknn.fields.FieldCipher;
import org.encryptedknn.keys.KeyDerivation;
import org.opensearch.common.lease.Releasable;

/**
 * A request's hold on one {@link KeyState} generation (see there). {@link #close()} is idempotent, so error paths may
 * release more than once.
 */
public final class KeyLease implements Releasable {

    private final KeyState state;
    private final String nodeName;
    private final AtomicBoolean released = new AtomicBoolean();

    KeyLease(KeyState state, String nodeName) {
        this.state = state;
        this.nodeName = nodeName;
    }

    public KeyState state() {
        return state;
    }

    public String nodeName() {
        return nodeName;
    }

    KeyDerivation keys() {
        return state.keys();
    }

    /** The cipher of one text field (AES-256-GCM and AES-SIV keys derived for that field name). */
    public FieldCipher fieldCipher(String field) {
        return state.fieldCipher(field);
    }

    @Override
    public void close() {
        if (released.compareAndSet(false, true)) {
            state.release();
        }
    }

    @Override
    public String toString() {
        return "KeyLease[" + state + "]";
    }
}
