#include "serialized.h"

#include "seal/serialization.h"
#include "seal/util/config.h"

#include <cmath>

// Layout of an uncompressed serialization (SEAL 4.x, little endian). Every object, and every DynArray or PRNG
// info inside one, starts with its own 16-byte SEALHeader:
//
//   SEALHeader: u16 magic 0xA15E | u8 header size 16 | u8 major | u8 minor | u8 compression | u16 reserved | u64 size
//   Ciphertext: header | parms_id 4×u64 | u8 NTT form | u64 size | u64 N | u64 primes | f64 scale | u64 correction
//               | DynArray (header | u64 count | count words) | seeded only (count = N·primes): PRNG info (header | …)
//   SecretKey:  header | parms_id 4×u64 | u64 coefficient count | f64 scale | DynArray
namespace eks
{
    namespace
    {
        constexpr std::size_t CIPHERTEXT_MEMBERS = 32 + 1 + 8 * 5;
        constexpr std::size_t CIPHERTEXT_DATA = SEAL_HEADER_SIZE + CIPHERTEXT_MEMBERS;
        constexpr std::size_t SECRET_KEY_DATA = SEAL_HEADER_SIZE + 32 + 8 + 8;

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

        /**
         * Objects written by SEAL 4.0 (secret keys stored, and queries sent, by the library's earlier build). SEAL
         * 4.1 loads 3.4+ and 4.1 headers but refuses 4.0 ones (Serialization::IsCompatibleVersion), although an
         * uncompressed CKKS ciphertext or secret key is laid out the same in both (4.1 changed only the loading of
         * BGV ciphertexts). So a 4.0 header — the outer one, and those of the nested DynArray and PRNG info once
         * the layout has located them — is rewritten as 4.1. Anything else at `offset` is left for SEAL's
         * validating load to refuse.
         */
        void read_as_4_1(std::vector<uint8_t> &raw, std::size_t offset)
        {
            static_assert(SEAL_VERSION_MAJOR == 4 && SEAL_VERSION_MINOR == 1, "revisit the SEAL 4.0 compatibility");
            if (offset <= raw.size() && raw.size() - offset >= SEAL_HEADER_SIZE && raw[offset] == 0x5E &&
                raw[offset + 1] == 0xA1 && raw[offset + 3] == 4 && raw[offset + 4] == 0)
            {
                raw[offset + 4] = SEAL_VERSION_MINOR;
            }
        }

        /** Runs a SEAL load; an exception from SEAL (bad header, metadata, data) becomes EKS_ERR_MALFORMED. */
        template <typename F>
        std::streamoff validating_load(const std::string &what, F &&load)
        {
            try
            {
                return load();
            }
            catch (const std::bad_alloc &)
            {
                throw;
            }
            catch (const std::exception &e)
            {
                fail(EKS_ERR_MALFORMED, "SEAL load of " + what + " failed: " + e.what());
            }
        }

        const seal::seal_byte *bytes_of(const Serialized &s)
        {
            return reinterpret_cast<const seal::seal_byte *>(s.raw.bytes.data());
        }
    } // namespace

    Serialized precheck_serialized(const uint8_t *data, uint64_t len, std::size_t max_len, const char *what)
    {
        const std::string w(what);
        if (!data)
        {
            fail(EKS_ERR_NULL, "null " + w + " bytes");
        }
        if (len > max_len)
        {
            fail(EKS_ERR_MALFORMED, w + ": " + std::to_string(len) + " bytes exceeds the maximum of " +
                                        std::to_string(max_len) + " for these parameters");
        }
        if (len < SEAL_HEADER_SIZE)
        {
            fail(EKS_ERR_MALFORMED, w + ": " + std::to_string(len) + " bytes is shorter than a SEAL header");
        }
        Serialized s{ { std::vector<uint8_t>(data, data + len) }, false };
        const auto &raw = s.raw.bytes;
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
        s.by_seal_4_0 = minor == 0;
        read_as_4_1(s.raw.bytes, 0);
        return s;
    }

    void precheck_ciphertext(Serialized &s, const Context &c, double scale, const char *what)
    {
        const std::string w(what);
        auto &raw = s.raw.bytes;
        if (raw.size() < CIPHERTEXT_DATA)
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
        if (s.by_seal_4_0)
        {
            read_as_4_1(raw, CIPHERTEXT_DATA);
            std::size_t words = CIPHERTEXT_DATA + SEAL_HEADER_SIZE;
            if (raw.size() >= words + 8 && u64_at(&raw[words]) == c.poly_degree)
            {
                read_as_4_1(raw, words + 8 + c.poly_degree * 8); // seeded: the PRNG info follows one polynomial
            }
        }
    }

    void precheck_secret_key(Serialized &s, const Context &c)
    {
        auto &raw = s.raw.bytes;
        // SecretKey = Plaintext: parms_id first; must be the key level of this context
        if (raw.size() >= SEAL_HEADER_SIZE + 32 &&
            std::memcmp(raw.data() + SEAL_HEADER_SIZE, c.seal.key_parms_id().data(), 32) != 0)
        {
            fail(EKS_ERR_MISMATCH, "secret key was generated for other encryption parameters");
        }
        if (s.by_seal_4_0)
        {
            read_as_4_1(raw, SECRET_KEY_DATA);
        }
    }

    seal::Ciphertext load_ciphertext(const Context &c, const Serialized &s, double scale, const char *what)
    {
        const std::string w(what);
        seal::Ciphertext ct;
        auto read = validating_load(w, [&] { return ct.load(c.seal, bytes_of(s), s.raw.bytes.size()); });
        if (read < 0 || static_cast<uint64_t>(read) != s.raw.bytes.size())
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

    seal::SecretKey load_secret_key(const Context &c, const Serialized &s)
    {
        seal::SecretKey sk;
        auto read = validating_load("secret key", [&] { return sk.load(c.seal, bytes_of(s), s.raw.bytes.size()); });
        if (read < 0 || static_cast<uint64_t>(read) != s.raw.bytes.size())
        {
            fail(EKS_ERR_MALFORMED, "secret key: trailing bytes");
        }
        return sk;
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

    void give_secret_key(const seal::SecretKey &sk, std::size_t max_bytes, ByteOutput &out)
    {
        auto bound = seal_call("SecretKey::save_size", [&] { return sk.save_size(seal::compr_mode_type::none); });
        if (bound <= 0 || static_cast<uint64_t>(bound) > max_bytes)
        {
            fail(EKS_ERR_SEAL, "unexpected secret key size " + std::to_string(bound));
        }
        WipedBytes buf{ std::vector<uint8_t>(static_cast<std::size_t>(bound)) };
        auto written = seal_call("SecretKey::save", [&] {
            return sk.save(
                reinterpret_cast<seal::seal_byte *>(buf.bytes.data()), buf.bytes.size(), seal::compr_mode_type::none);
        });
        out.give(buf.bytes, static_cast<std::size_t>(written));
    }
} // namespace eks
