// The key holder's side: secret keys, encryption of a query (symmetric, seeded, optionally on a prepared
// encryption of zero) and decryption of the scores.
#include "coefficients.h"
#include "serialized.h"

#include "seal/keygenerator.h"
#include "seal/util/rlwe.h"

namespace eks
{
    namespace
    {
        std::atomic<uint64_t> next_key_holder_id{ 1 };

        /**
         * A fresh seeded encryption of zero under the key holder's secret key, at the query scale: the expensive,
         * message-independent part of encrypting a query (uniform and Gaussian sampling, NTTs). This is what
         * Encryptor::encrypt_zero_symmetric does for its Serializable (seeded) result, which cannot be added to;
         * SEAL's util::encrypt_zero_symmetric gives the same ciphertext as an object (c1 replaced by its seed).
         */
        seal::Ciphertext zero_encryption(const eks_keyholder &k)
        {
            const Context &c = *k.ctx;
            seal::Ciphertext ct;
            seal_call("encrypt_zero_symmetric", [&] {
                seal::util::encrypt_zero_symmetric(k.sk, c.seal, c.parms_id, true, true, ct);
            });
            ct.scale() = c.query_scale;
            return ct;
        }

        /**
         * Adds the encoded query `v` to `zero` (an unused zero_encryption: c0 + Δ_q·q, the seed of c1 untouched)
         * and returns its seeded serialization, uncompressed.
         */
        void encrypt_onto(const eks_keyholder &k, seal::Ciphertext &zero, const float *v, uint32_t len, ByteOutput &out)
        {
            const Context &c = *k.ctx;
            if (!v)
            {
                fail(EKS_ERR_NULL, "null vector");
            }
            if (len == 0 || len > c.block_width)
            {
                fail(EKS_ERR_INVALID_ARG, "query length " + std::to_string(len) + " must be in 1..=" +
                                              std::to_string(c.block_width) + " (block width)");
            }
            check_values(v, len, c.max_abs_value, "query");
            SecretPlaintext query{ coefficient_plaintext(c) };
            for (uint32_t i = 0; i < len; i++)
            {
                query.plain[i] = to_residue(v[i], c.query_scale, c.modulus);
            }
            to_ntt_form(c, query.plain, c.query_scale);
            seal_call("Evaluator::add_plain", [&] { c.evaluator.add_plain_inplace(zero, query.plain); });
            give_ciphertext(zero, out);
        }
    } // namespace
} // namespace eks

using namespace eks;

extern "C" int32_t eks_secret_key_generate(const eks_context *ctx, eks_secret_key **out)
{
    return guard([&] {
        cleared_output(out);
        const auto &c = deref(ctx, "context").ctx;
        *out = new_handle<eks_secret_key>(c, [&](eks_secret_key &h) {
            seal_call("KeyGenerator", [&] {
                seal::KeyGenerator keygen(c->seal);
                h.sk = keygen.secret_key();
            });
        });
    });
}

// Serializes the secret key (uncompressed). The buffer must be released with eks_bytes_free, which zeroes it.
extern "C" int32_t eks_secret_key_save(const eks_secret_key *sk, uint8_t **data, uint64_t *len)
{
    return guard([&] {
        ByteOutput out(data, len);
        const eks_secret_key &s = deref(sk, "secret key");
        give_secret_key(s.sk, s.ctx->max_secret_key_bytes, out);
    });
}

// Loads a secret key saved by eks_secret_key_save (of this library, or of its SEAL 4.0 build); SEAL checks it is
// valid for ctx.
extern "C" int32_t eks_secret_key_load(const eks_context *ctx, const uint8_t *data, uint64_t len, eks_secret_key **out)
{
    return guard([&] {
        cleared_output(out);
        const auto &c = deref(ctx, "context").ctx;
        Serialized raw = precheck_serialized(data, len, c->max_secret_key_bytes, "secret key");
        precheck_secret_key(raw, *c);
        *out = new_handle<eks_secret_key>(c, [&](eks_secret_key &h) { h.sk = load_secret_key(*c, raw); });
    });
}

extern "C" void eks_secret_key_free(eks_secret_key *sk)
{
    guard_free([&] { free_handle(sk); });
}

extern "C" int32_t eks_keyholder_create(const eks_context *ctx, const eks_secret_key *sk, eks_keyholder **out)
{
    return guard([&] {
        cleared_output(out);
        const auto &c = deref(ctx, "context").ctx;
        const eks_secret_key &s = deref(sk, "secret key");
        // different context objects may still have equal parameters: compare parms ids
        if (c != s.ctx && c->seal.key_parms_id() != s.ctx->seal.key_parms_id())
        {
            fail(EKS_ERR_MISMATCH, "secret key belongs to other encryption parameters");
        }
        *out = new_handle<eks_keyholder>(c, [&](eks_keyholder &h) {
            h.id = next_key_holder_id.fetch_add(1, std::memory_order_relaxed);
            h.sk = s.sk;
            // the Decryptor checks that the key is valid for the context
            seal_call("Decryptor", [&] { h.decryptor = std::make_unique<seal::Decryptor>(c->seal, h.sk); });
        });
    });
}

extern "C" void eks_keyholder_free(eks_keyholder *kh)
{
    guard_free([&] { free_handle(kh); });
}

// Prepares one encryption of zero for eks_encrypt_query, so that a query's online cost is its encoding and one
// addition. The handle is as secret as the key until it is used (with it, the query ciphertext gives the query
// away); it is wiped when freed.
extern "C" int32_t eks_prepare_zero(const eks_keyholder *kh, eks_prepared_zero **out)
{
    return guard([&] {
        cleared_output(out);
        const eks_keyholder &k = deref(kh, "key holder");
        *out = new_handle<eks_prepared_zero>(k.ctx, [&](eks_prepared_zero &h) {
            h.holder = k.id;
            h.ct = zero_encryption(k);
        });
    });
}

// Encrypts v (len ≤ block_width) in coefficients 0..len at the query scale, with the secret key, and serializes it
// with the PRNG seed in place of the second polynomial, uncompressed. `zero` is null (the encryption of zero is
// made now) or a prepared one of the same key holder, which the call spends (a second use fails: reusing one would
// let anyone subtract two queries).
extern "C" int32_t eks_encrypt_query(
    const eks_keyholder *kh, const eks_prepared_zero *zero, const float *v, uint32_t len, uint8_t **data,
    uint64_t *data_len)
{
    return guard([&] {
        ByteOutput out(data, data_len);
        const eks_keyholder &k = deref(kh, "key holder");
        if (!zero)
        {
            seal::Ciphertext fresh = zero_encryption(k);
            encrypt_onto(k, fresh, v, len, out);
            return;
        }
        const eks_prepared_zero &z = deref(zero, "prepared zero encryption");
        if (z.holder != k.id)
        {
            fail(EKS_ERR_MISMATCH, "prepared zero encryption belongs to another key holder");
        }
        if (z.spent.exchange(true))
        {
            fail(EKS_ERR_INVALID_ARG, "prepared zero encryption was already used");
        }
        encrypt_onto(k, z.ct, v, len, out);
    });
}

extern "C" void eks_prepared_zero_free(eks_prepared_zero *zero)
{
    guard_free([&] { free_handle(zero); });
}

// Decrypts a result ciphertext from eks_score_batch and writes the inner products of its first `count` blocks
// (count ≤ blocks) to `scores`.
extern "C" int32_t eks_decrypt_scores(
    const eks_keyholder *kh, const uint8_t *data, uint64_t len, uint32_t count, double *scores)
{
    return guard([&] {
        const eks_keyholder &k = deref(kh, "key holder");
        const Context &c = *k.ctx;
        if (!data || !scores)
        {
            fail(EKS_ERR_NULL, "null data or output");
        }
        if (count == 0 || count > c.blocks)
        {
            fail(EKS_ERR_INVALID_ARG,
                 "count " + std::to_string(count) + " must be in 1..=" + std::to_string(c.blocks));
        }
        Serialized raw = precheck_serialized(data, len, c.max_ciphertext_bytes, "result ciphertext");
        precheck_ciphertext(raw, c, c.result_scale, "result ciphertext");
        seal::Ciphertext ct = load_ciphertext(c, raw, c.result_scale, "result ciphertext");
        SecretPlaintext decrypted;
        seal_call("Decryptor::decrypt", [&] { k.decryptor->decrypt(ct, decrypted.plain); });
        from_ntt_form(c, decrypted.plain);
        for (uint32_t b = 0; b < count; b++)
        {
            scores[b] = centered(decrypted.plain[b * c.block_width + c.block_width - 1], c.modulus) / c.result_scale;
        }
    });
}
