package org.encryptedknn.he;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

/**
 * One unused encryption of zero under a key holder's secret key, made ahead of a query (the sampling and NTTs that are
 * most of an encryption's cost). As secret as the key until used: with it, the query ciphertext built on it gives the
 * query away. Used once; closing an unused one wipes it natively.
 */
final class PreparedZero extends NativeHandle {

    private PreparedZero(Pointer p) {
        super(p, ptr -> Natives.lib().eks_prepared_zero_free(ptr), "prepared encryption of zero");
    }

    /** Makes one with {@code keyHolder}'s native handle. */
    static PreparedZero create(Pointer keyHolder) {
        PointerByReference out = new PointerByReference();
        Natives.check(Natives.lib().eks_prepare_zero(keyHolder, out), "prepare an encryption of zero");
        return new PreparedZero(out.getValue());
    }
}
