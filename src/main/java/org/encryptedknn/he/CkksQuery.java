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
     * Loads untrusted bytes: Java-side size/header check, then native size/header check, bounded
     * zstd decompression, parameter/level/scale check and SEAL's validating load.
     */
    static CkksQuery load(CkksContext context, byte[] bytes) {
        SealHeader.check(bytes, context.maxQueryBytes(), "query ciphertext");
        PointerByReference out = new PointerByReference();
        context.use(c -> {
            Natives.check(Natives.lib().eks_query_load(c, bytes, bytes.length, out), "load query ciphertext");
            return null;
        });
        return new CkksQuery(out.getValue(), context);
    }

    public CkksContext context() {
        return context;
    }
}
