// SEAL serializations crossing the trust boundary: checks before SEAL sees an untrusted byte, the validating
// loads, and the uncompressed save. The only place that knows SEAL's byte layout.
#pragma once

#include "handles.h"

#include <cstdint>
#include <vector>

namespace eks
{
    constexpr std::size_t SEAL_HEADER_SIZE = 16;

    /** A copy of untrusted bytes whose outer header passed precheck_serialized (wiped when released: keys). */
    struct Serialized
    {
        WipedBytes raw;
        /** written by SEAL 4.0 (the library's earlier build): nested headers are read as 4.1 once located */
        bool by_seal_4_0;
    };

    /**
     * Checks that there are bytes, then the 16-byte SEALHeader (magic, header size, version 4.0 or 4.1, reserved, size == len, compression
     * none) and returns a copy. `len` is bounded by `max_len` before `data` is read, so a caller's bogus length is
     * never dereferenced. Compressed forms are refused: we never produce them, and a decompressor on untrusted
     * input is attack surface (this build of SEAL has none at all).
     */
    Serialized precheck_serialized(const uint8_t *data, uint64_t len, std::size_t max_len, const char *what);

    /**
     * Checks the leading members of a Ciphertext serialization (parms_id, NTT form, size, degree, primes, scale)
     * against what the protocol expects at this point.
     */
    void precheck_ciphertext(Serialized &s, const Context &c, double scale, const char *what);

    /** Checks that a SecretKey serialization is of this context's key level. */
    void precheck_secret_key(Serialized &s, const Context &c);

    /** SEAL's validating load of a prechecked ciphertext, then the level/shape/scale and non-transparency again. */
    seal::Ciphertext load_ciphertext(const Context &c, const Serialized &s, double scale, const char *what);

    /** SEAL's validating load of a prechecked secret key. */
    seal::SecretKey load_secret_key(const Context &c, const Serialized &s);

    /** Returns SEAL's uncompressed serialization of `ct` (a seeded ciphertext keeps its seed) to the caller. */
    void give_ciphertext(const seal::Ciphertext &ct, ByteOutput &out);

    /** Returns SEAL's uncompressed serialization of `sk` to the caller (every copy wiped). */
    void give_secret_key(const seal::SecretKey &sk, std::size_t max_bytes, ByteOutput &out);
} // namespace eks
