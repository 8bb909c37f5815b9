package org.encryptedknn.he;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * JNA mapping of the C ABI of {@code libencrypted_knn_seal.so} (native/include/encrypted_knn_seal.h, native/README.md).
 * Package-private: use {@link CkksContext}, {@link CkksSecretKey}, {@link CkksKeyHolder} and
 * {@link CkksScorer}.
 *
 * <p>The library is found by JNA on the class path under {@code linux-x86-64/} (where the Maven
 * build puts it) or in {@code jna.library.path}.
 */
interface SealLibrary extends Library {

    String NAME = "encrypted_knn_seal";

    long eks_last_error(byte[] buf, long cap);

    int eks_seal_version(int[] out3);

    int eks_stats(long[] out5);

    int eks_context_create(
            int polyDegree, int[] coeffBits, int nCoeff, int scaleBits, int blockWidth, PointerByReference out);

    int eks_context_info(Pointer ctx, long[] out10);

    void eks_context_free(Pointer ctx);

    int eks_secret_key_generate(Pointer ctx, PointerByReference out);

    int eks_secret_key_save(Pointer sk, PointerByReference data, LongByReference len);

    int eks_secret_key_load(Pointer ctx, Pointer data, long len, PointerByReference out);

    void eks_secret_key_free(Pointer sk);

    int eks_keyholder_create(Pointer ctx, Pointer sk, PointerByReference out);

    void eks_keyholder_free(Pointer kh);

    int eks_encrypt_query(
            Pointer kh, Pointer zero, Pointer v, int len, PointerByReference data, LongByReference dataLen);

    int eks_prepare_zero(Pointer kh, PointerByReference out);

    void eks_prepared_zero_free(Pointer zero);

    int eks_decrypt_scores(Pointer kh, byte[] data, long len, int count, Pointer scores);

    int eks_query_load(Pointer ctx, byte[] data, long len, PointerByReference out);

    void eks_ciphertext_free(Pointer ct);

    int eks_score_batch(
            Pointer ctx,
            Pointer[] queries,
            int nQueries,
            int[] blockQuery,
            float[] vectors,
            int count,
            int dim,
            PointerByReference data,
            LongByReference dataLen);

    void eks_bytes_free(Pointer data, long len);

    /** Lazily loaded singleton. */
    final class Holder {
        private static volatile SealLibrary instance;
        private static volatile Throwable failure;

        private Holder() {}

        static SealLibrary get() {
            SealLibrary lib = instance;
            if (lib != null) {
                return lib;
            }
            synchronized (Holder.class) {
                if (instance == null && failure == null) {
                    try {
                        instance = Native.load(NAME, SealLibrary.class);
                    } catch (Throwable t) {
                        failure = t;
                    }
                }
                if (instance == null) {
                    throw new HeException(
                            HeException.Kind.UNAVAILABLE,
                            101,
                            "native library " + NAME + " could not be loaded: " + failure,
                            failure);
                }
                return instance;
            }
        }
    }
}
