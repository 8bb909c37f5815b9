package org.encryptedknn.he;

/**
 * A failure of the CKKS layer: bad parameters or arguments, ciphertext or key bytes that were
 * rejected (malformed, oversized, made under other parameters), or an error reported by SEAL.
 * Unchecked, so that callers on the request path can let it surface as a 400 (for
 * {@link Kind#MALFORMED}/{@link Kind#MISMATCH}/{@link Kind#INVALID_ARGUMENT}) or a 500.
 */
public final class HeException extends RuntimeException {

    /** Status codes of the native C ABI ({@code EKS_*}), plus Java-side conditions. */
    public enum Kind {
        OK(0),
        /** Null pointer or wrong/freed handle at the native boundary. */
        NULL_HANDLE(1),
        /** Invalid parameters, lengths or values. */
        INVALID_ARGUMENT(2),
        /** Bytes rejected before or by SEAL's validated load: size, header, compression, content. */
        MALFORMED(3),
        /** Well-formed, but made under other encryption parameters, at another level or scale. */
        MISMATCH(4),
        /** SEAL reported an error (HRESULT). */
        SEAL(5),
        /** An unexpected error inside the native library (e.g. out of memory), caught at the boundary. */
        PANIC(6),
        /** The Java object was already closed. */
        CLOSED(100),
        /** The native library could not be loaded. */
        UNAVAILABLE(101);

        private final int code;

        Kind(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        static Kind of(int code) {
            for (Kind k : values()) {
                if (k.code == code) {
                    return k;
                }
            }
            return SEAL;
        }
    }

    private final Kind kind;
    private final int code;

    public HeException(Kind kind, String message) {
        this(kind, kind.code(), message, null);
    }

    HeException(Kind kind, int code, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.code = code;
    }

    /** The kind of failure. */
    public Kind kind() {
        return kind;
    }

    /** The raw status code (native {@code EKS_*} code, or 100+ for Java-side conditions). */
    public int code() {
        return code;
    }

    /** True when the failure was caused by the caller's input (a client error, not a server fault). */
    public boolean isInputError() {
        return kind == Kind.INVALID_ARGUMENT || kind == Kind.MALFORMED || kind == Kind.MISMATCH;
    }
}
