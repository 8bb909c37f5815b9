// Coefficient packing (not CKKS slots): vectors as integer polynomials mod q, and SEAL's NTT form of them.
//
// The query q is Δ_q·q in coefficients 0..B; candidate j is reversed in coefficients j·B .. j·B+B, so that
// coefficient j·B + B − 1 of the negacyclic product is Δ_q·Δ_c·⟨q, v_j⟩ (blocks·B < N: nothing wraps around).
#pragma once

#include "handles.h"

#include "seal/plaintext.h"

#include <cmath>
#include <cstdint>

namespace eks
{
    /** Refuses non-finite components and |x| > max_abs (EKS_ERR_INVALID_ARG naming `what` and the component). */
    void check_values(const float *v, std::size_t n, double max_abs, const char *what);

    /** round(x·scale) as a residue mod q (|x·scale| < q/2 by the parameter checks). */
    inline uint64_t to_residue(float x, double scale, uint64_t q)
    {
        auto v = static_cast<int64_t>(std::llround(static_cast<double>(x) * scale));
        return v < 0 ? q - static_cast<uint64_t>(-v) : static_cast<uint64_t>(v);
    }

    /** A residue mod q read as a signed integer in (−q/2, q/2]. */
    inline double centered(uint64_t v, uint64_t q)
    {
        return v > q / 2 ? -static_cast<double>(q - v) : static_cast<double>(v);
    }

    /** A plaintext of N zero coefficients (not NTT form) to write a polynomial into. */
    seal::Plaintext coefficient_plaintext(const Context &c);

    /** Turns `plain` (N coefficients) into SEAL's NTT form at the context's level and `scale`, in place. */
    void to_ntt_form(const Context &c, seal::Plaintext &plain, double scale);

    /** Leaves the NTT form of a decrypted plaintext, in place: plain[i] is coefficient i afterwards. */
    void from_ntt_form(const Context &c, seal::Plaintext &plain);

    /** A plaintext of the query or of decrypted scores: zeroed before its memory goes back to SEAL's pool. */
    struct SecretPlaintext
    {
        seal::Plaintext plain;

        ~SecretPlaintext()
        {
            wipe(plain.data(), plain.coeff_count() * sizeof(uint64_t));
        }
    };
} // namespace eks
