#include "coefficients.h"

#include <cmath>

namespace eks
{
    void check_values(const float *v, std::size_t n, double max_abs, const char *what)
    {
        for (std::size_t i = 0; i < n; i++)
        {
            if (!std::isfinite(v[i]) || std::fabs(static_cast<double>(v[i])) > max_abs)
            {
                fail(EKS_ERR_INVALID_ARG, std::string(what) + ": component " + std::to_string(i) + " = " + num(v[i]) +
                                              " is not finite or exceeds ±" + num(max_abs));
            }
        }
    }

    seal::Plaintext coefficient_plaintext(const Context &c)
    {
        return seal::Plaintext(c.poly_degree);
    }

    // SEAL's own negacyclic NTT (the tables of the one prime) applied to the plaintext's words: what CKKSEncoder
    // does after its FFT, and what the C API could only reach through a carrier ciphertext.
    void to_ntt_form(const Context &c, seal::Plaintext &plain, double scale)
    {
        seal::util::ntt_negacyclic_harvey(plain.data(), *c.ntt);
        plain.parms_id() = c.parms_id;
        plain.scale() = scale;
    }

    void from_ntt_form(const Context &c, seal::Plaintext &plain)
    {
        if (plain.parms_id() != c.parms_id || plain.coeff_count() != c.poly_degree)
        {
            fail(EKS_ERR_SEAL, "decryption did not give an NTT-form plaintext of the context's level");
        }
        seal::util::inverse_ntt_negacyclic_harvey(plain.data(), *c.ntt);
    }
} // namespace eks
