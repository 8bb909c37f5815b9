// SEAL serializations crossing the trust boundary: checks before SEAL sees an untrusted byte, the validating
// load, and the uncompressed save.
#pragma once

#include "handles.h"

#include <cstdint>
#include <vector>

namespace eks
{
    constexpr std::size_t SEAL_HEADER_SIZE = 16;

    /**
     * Checks the 16-byte SEALHeader (magic, header size, version 4.0 or 4.1, reserved, size == len, compression
     * none) and returns a copy of the serialization that SEAL 4.1 loads: a 4.0 version is rewritten as 4.1
     * (see the definition). `len` is bounded by `max_len` before `data` is read, so a caller's bogus length is
     * never dereferenced. Compressed forms are refused: we never produce them, and a decompressor on untrusted
     * input is attack surface (SEAL's inflater grows its output without bound).
     */
    std::vector<uint8_t> precheck_serialized(const uint8_t *data, uint64_t len, std::size_t max_len, const char *what);

    /** Checks the leading members of a Ciphertext serialization (parms_id, NTT form, size, degree, primes, scale). */
    void precheck_ciphertext_members(const std::vector<uint8_t> &raw, const Context &c, double scale, const char *what);

    /** SEAL's validating load of a prechecked ciphertext, then the level/shape/scale and non-transparency again. */
    seal::Ciphertext load_ciphertext(const Context &c, const std::vector<uint8_t> &raw, double scale, const char *what);

    /** Returns SEAL's uncompressed serialization of `ct` (a seeded ciphertext keeps its seed) to the caller. */
    void give_ciphertext(const seal::Ciphertext &ct, ByteOutput &out);
} // namespace eks
