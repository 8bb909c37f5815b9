package org.encryptedknn.he;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * The CKKS secret key (key-holder side only: the client or the gateway tier; never a data node).
 * Native copies are wiped by SEAL when the key is closed; serialized copies returned by
 * {@link #toBytes()} belong to the caller, who should zero them after use.
 */
public final class CkksSecretKey extends NativeHandle {

    private final CkksContext context;

    private CkksSecretKey(Pointer p, CkksContext context) {
        super(p, ptr -> Natives.lib().eks_secret_key_free(ptr), "CKKS secret key");
        this.context = context;
    }

    /** Generates a fresh secret key for {@code context}. */
    public static CkksSecretKey generate(CkksContext context) {
        PointerByReference out = new PointerByReference();
        context.use(c -> {
            Natives.check(Natives.lib().eks_secret_key_generate(c, out), "generate secret key");
            return null;
        });
        return new CkksSecretKey(out.getValue(), context);
    }

    /**
     * Loads a key saved by {@link #toBytes()}. The bytes are size- and header-checked, and SEAL
     * validates the key against {@code context} (a key of other parameters is rejected).
     * The caller still owns (and should zero) {@code bytes}.
     */
    public static CkksSecretKey load(CkksContext context, byte[] bytes) {
        SealHeader.check(bytes, context.maxSecretKeyBytes(), "secret key");
        if (bytes[5] != SealHeader.COMPR_NONE) {
            throw new HeException(HeException.Kind.MALFORMED, "secret key: must be stored uncompressed");
        }
        PointerByReference out = new PointerByReference();
        Memory m = Natives.bytes(bytes);
        try {
            context.use(c -> {
                Natives.check(Natives.lib().eks_secret_key_load(c, m, bytes.length, out), "load secret key");
                return null;
            });
        } finally {
            Natives.wipe(m);
        }
        return new CkksSecretKey(out.getValue(), context);
    }

    /** Serializes the key (SEAL format, uncompressed). Zero the returned array after use. */
    public byte[] toBytes() {
        return use(p -> {
            PointerByReference data = new PointerByReference();
            LongByReference len = new LongByReference();
            Natives.check(Natives.lib().eks_secret_key_save(p, data, len), "save secret key");
            return Natives.take(data, len);
        });
    }

    public CkksContext context() {
        return context;
    }
}
