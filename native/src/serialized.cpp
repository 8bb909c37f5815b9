#include "serialized.h"

#include "seal/serialization.h"
#include "seal/util/config.h"

#include <cmath>

namespace eks
{
    namespace
    {
        uint64_t u64_at(const uint8_t *p)
        {
            uint64_t v = 0;
            for (int i = 7; i >= 0; i--)
            {
                v = v << 8 | p[i];
            }
            return v;
        }

        double f64_at(const uint8_t *p)
        {
            uint64_t bits = u64_at(p);
            double d;
            std::memcpy(&d, &bits, sizeof d);
            return d;
        }

        bool same_scale(double actual, double expected)
        {
            return std::isfinite(actual) && std::fabs(actual - expected) <= expected * 1e-9;
        }
    } // namespace

    std::vector<uint8_t> precheck_serialized(const uint8_t *data, uint64_t len, std::size_t max_len, const char *what)
    {
        const std::string w(what);
        if (len > max_len)
        {
            fail(EKS_ERR_MALFORMED, w + ": " + std::to_string(len) + " bytes exceeds the maximum of " +
                                        std::to_string(max_len) + " for these parameters");
        }
        if (len < SEAL_HEADER_SIZE)
        {
            fail(EKS_ERR_MALFORMED, w + ": " + std::to_string(len) + " bytes is shorter than a SEAL header");
        }
        std::vector<uint8_t> raw(data, data + len);
        unsigned magic = raw[0] | raw[1] << 8;
        unsigned major = raw[3], minor = raw[4], compr = raw[5], reserved = raw[6] | raw[7] << 8;
        uint64_t size = u64_at(&raw[8]);
        if (magic != seal::Serialization::seal_magic || raw[2] != SEAL_HEADER_SIZE)
        {
            fail(EKS_ERR_MALFORMED, w + ": not a SEAL serialization (bad magic/header size)");
        }
        if (major != 4 || (minor != 0 && minor != 1))
        {
            fail(EKS_ERR_MALFORMED, w + ": SEAL version " + std::to_string(major) + "." + std::to_string(minor) +
                                        " not supported (need 4.0 or 4.1)");
        }
        if (reserved != 0)
        {
            fail(EKS_ERR_MALFORMED, w + ": reserved header field is not zero");
        }
        if (size != len)
        {
            fail(EKS_ERR_MALFORMED, w + ": header size " + std::to_string(size) + " does not match the " +
                                        std::to_string(len) + " bytes given");
        }
        if (compr != static_cast<unsigned>(seal::compr_mode_type::none))
        {
            fail(EKS_ERR_MALFORMED,
                 w + ": compression mode " + std::to_string(compr) + " is not accepted (uncompressed only)");
        }
        // Secret keys stored, and queries sent, by the SEAL 4.0 build of this library. SEAL 4.1 loads 3.4+ and 4.1
        // headers but not 4.0 ones (Serialization::IsCompatibleVersion), although an uncompressed CKKS ciphertext
        // or secret key is laid out the same in both (4.1 changed only the loading of BGV ciphertexts).
        static_assert(SEAL_VERSION_MAJOR == 4 && SEAL_VERSION_MINOR == 1, "revisit the 4.0 compatibility");
        raw[4] = SEAL_VERSION_MINOR;
        return raw;
    }

    void precheck_ciphertext_members(const std::vector<uint8_t> &raw, const Context &c, double scale, const char *what)
    {
        const std::string w(what);
        // parms_id (4 words), is_ntt_form (1 byte), size, poly_modulus_degree, coeff_modulus_size, scale,
        // correction_factor (8 bytes each)
        if (raw.size() < SEAL_HEADER_SIZE + 32 + 1 + 8 * 5)
        {
            fail(EKS_ERR_MALFORMED, w + ": truncated ciphertext");
        }
        const uint8_t *m = raw.data() + SEAL_HEADER_SIZE;
        for (std::size_t i = 0; i < 4; i++)
        {
            if (u64_at(m + 8 * i) != c.parms_id[i])
            {
                fail(EKS_ERR_MISMATCH,
                     w + ": ciphertext was made under other encryption parameters or at another level");
            }
        }
        if (m[32] != 1)
        {
            fail(EKS_ERR_MALFORMED, w + ": CKKS ciphertext must be in NTT form");
        }
        uint64_t size = u64_at(m + 33), degree = u64_at(m + 41), primes = u64_at(m + 49);
        double sc = f64_at(m + 57);
        if (size != 2)
        {
            fail(EKS_ERR_MISMATCH, w + ": ciphertext has " + std::to_string(size) + " polynomials, expected 2");
        }
        if (degree != c.poly_degree || primes != 1)
        {
            fail(EKS_ERR_MISMATCH, w + ": ciphertext shape (N=" + std::to_string(degree) + ", " +
                                       std::to_string(primes) + " primes) does not match the context (N=" +
                                       std::to_string(c.poly_degree) + ", 1 prime)");
        }
        if (!same_scale(sc, scale))
        {
            fail(EKS_ERR_MISMATCH, w + ": ciphertext scale " + num(sc) + " is not the expected " + num(scale));
        }
    }

    seal::Ciphertext load_ciphertext(const Context &c, const std::vector<uint8_t> &raw, double scale, const char *what)
    {
        const std::string w(what);
        seal::Ciphertext ct;
        std::streamoff read = 0;
        try
        {
            read = ct.load(c.seal, reinterpret_cast<const seal::seal_byte *>(raw.data()), raw.size());
        }
        catch (const std::bad_alloc &)
        {
            throw;
        }
        catch (const std::exception &e)
        {
            fail(EKS_ERR_MALFORMED, "SEAL load of " + w + " failed: " + e.what());
        }
        if (read < 0 || static_cast<uint64_t>(read) != raw.size())
        {
            fail(EKS_ERR_MALFORMED, w + ": trailing bytes");
        }
        if (ct.parms_id() != c.parms_id || ct.size() != 2 || !ct.is_ntt_form() || !same_scale(ct.scale(), scale))
        {
            fail(EKS_ERR_MISMATCH, w + ": loaded ciphertext does not match the expected level/shape/scale");
        }
        if (ct.is_transparent())
        {
            fail(EKS_ERR_MALFORMED, w + ": transparent ciphertext (not encrypted)");
        }
        return ct;
    }

    void give_ciphertext(const seal::Ciphertext &ct, ByteOutput &out)
    {
        auto bound = seal_call("Ciphertext::save_size", [&] { return ct.save_size(seal::compr_mode_type::none); });
        if (bound <= 0 || bound > (1 << 30))
        {
            fail(EKS_ERR_SEAL, "unexpected ciphertext save size " + std::to_string(bound));
        }
        std::vector<uint8_t> buf(static_cast<std::size_t>(bound));
        auto written = seal_call("Ciphertext::save", [&] {
            return ct.save(reinterpret_cast<seal::seal_byte *>(buf.data()), buf.size(), seal::compr_mode_type::none);
        });
        out.give(buf, static_cast<std::size_t>(written));
    }
} // namespace eks
