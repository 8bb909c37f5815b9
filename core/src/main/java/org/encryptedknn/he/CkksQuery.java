package org.encryptedknn.he;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;

/**
 * A query ciphertext loaded on the data node (validated), reusable for several batches.
 * Thread-safe; close it when the request is done.
 */
public final class CkksQuery extends NativeHandle {

    private final CkksContext context;

    private CkksQuery(Pointer p, CkksContext context) {
        super(p, ptr -> Natives.lib().eks_ciphertext_free(ptr), "CKKS query ciphertext");
        this.context = context;
    }

    /**
     * Loads untrusted wire bytes ({@link CiphertextWire}): bounded unpacking and the Java-side header check, then the
     * native size/header check, parameter/prime-count/scale check and SEAL's validating load.
     */
    static CkksQuery load(CkksContext context, byte[] wire) {
        byte[] bytes = checkedSealBytes(context, wire);
        PointerByReference out = new PointerByReference();
        context.use(c -> {
            Natives.check(Natives.lib().eks_query_load(c, bytes, bytes.length, out), "load query ciphertext");
            return null;
        });
        return new CkksQuery(out.getValue(), context);
    }

    /** The SEAL bytes of an untrusted query in wire form, size-bounded and header-checked (Java only). */
    static byte[] checkedSealBytes(CkksContext context, byte[] wire) {
        byte[] bytes = CiphertextWire.unpack(wire, context.maxQueryBytes(), "query ciphertext");
        SealHeader.check(bytes, context.maxQueryBytes(), "query ciphertext");
        return bytes;
    }

    public CkksContext context() {
        return context;
    }
}
