// The data node's side: load query ciphertexts, score batches of candidates. No secret, Galois or
// relinearization key exists here.
#include "coefficients.h"
#include "serialized.h"

#include <algorithm>

using namespace eks;

// Loads a query ciphertext from untrusted bytes: size bound, SEAL header (uncompressed only), parameter /
// prime-count / scale check, then SEAL's validating load.
extern "C" int32_t eks_query_load(const eks_context *ctx, const uint8_t *data, uint64_t len, eks_ciphertext **out)
{
    return guard([&] {
        cleared_output(out);
        const auto &c = deref(ctx, "context").ctx;
        Serialized raw = precheck_serialized(data, len, c->max_ciphertext_bytes, "query ciphertext");
        precheck_ciphertext(raw, *c, c->query_scale, "query ciphertext");
        *out = new_handle<eks_ciphertext>(
            c, [&](eks_ciphertext &h) { h.ct = load_ciphertext(*c, raw, c->query_scale, "query ciphertext"); });
    });
}

extern "C" void eks_ciphertext_free(eks_ciphertext *ct)
{
    guard_free([&] { free_handle(ct); });
}

// Scores `count` (≤ blocks) vectors of `dim` (≤ block_width) floats: vector j goes to block j and is multiplied by
// queries[block_query[j]] (a batch may mix cells; each query multiplies one plaintext holding only its own blocks,
// and the products are added). Returns the serialized result ciphertext (uncompressed); the key holder reads block
// j's inner product with eks_decrypt_scores.
extern "C" int32_t eks_score_batch(
    const eks_context *ctx, const eks_ciphertext *const *queries, uint32_t n_queries, const uint32_t *block_query,
    const float *vectors, uint32_t count, uint32_t dim, uint8_t **data, uint64_t *data_len)
{
    return guard([&] {
        ByteOutput out(data, data_len);
        const auto &c = deref(ctx, "context").ctx;
        if (!queries || !block_query || !vectors)
        {
            fail(EKS_ERR_NULL, "null queries, block_query or vectors");
        }
        if (count == 0 || count > c->blocks)
        {
            fail(EKS_ERR_INVALID_ARG,
                 "batch of " + std::to_string(count) + " vectors must be 1..=" + std::to_string(c->blocks));
        }
        if (n_queries == 0 || n_queries > count)
        {
            fail(EKS_ERR_INVALID_ARG, std::to_string(n_queries) + " queries for a batch of " + std::to_string(count) +
                                          " vectors");
        }
        if (dim == 0 || dim > c->block_width)
        {
            fail(EKS_ERR_INVALID_ARG,
                 "vector length " + std::to_string(dim) + " must be 1..=" + std::to_string(c->block_width));
        }
        std::vector<const seal::Ciphertext *> qs;
        qs.reserve(n_queries);
        for (uint32_t i = 0; i < n_queries; i++)
        {
            const eks_ciphertext &q = deref(queries[i], "ciphertext");
            if (q.ctx != c)
            {
                fail(EKS_ERR_MISMATCH, "query ciphertext was loaded under another context");
            }
            qs.push_back(&q.ct);
        }
        for (uint32_t j = 0; j < count; j++)
        {
            if (block_query[j] >= n_queries)
            {
                fail(EKS_ERR_INVALID_ARG, "block query index " + std::to_string(block_query[j]) + " out of 0.." +
                                              std::to_string(n_queries));
            }
        }
        check_values(vectors, static_cast<std::size_t>(count) * dim, c->max_abs_value, "candidate");
        const std::size_t b = c->block_width;
        seal::Ciphertext sum, product;
        for (uint32_t qi = 0; qi < n_queries; qi++)
        {
            seal::Plaintext plain = coefficient_plaintext(*c);
            bool mine = false;
            for (uint32_t j = 0; j < count; j++)
            {
                if (block_query[j] != qi)
                {
                    continue;
                }
                mine = true;
                // reversed, so that coefficient j·B + B − 1 of the product is ⟨q, v_j⟩
                const float *v = vectors + static_cast<std::size_t>(j) * dim;
                for (uint32_t k = 0; k < dim; k++)
                {
                    plain[j * b + b - 1 - k] = to_residue(v[k], c->candidate_scale, c->modulus);
                }
            }
            if (!mine)
            {
                fail(EKS_ERR_INVALID_ARG, "query " + std::to_string(qi) + " has no block in this batch");
            }
            if (plain.is_zero())
            {
                // An all-zero plaintext would make the product transparent, which SEAL refuses. A 1 at blocks·B only
                // reaches product coefficients ≥ blocks·B (and, wrapped, below B − 1): never a block's inner
                // product. Leaks nothing: the server knows its own plaintext.
                plain[c->blocks * b] = 1;
            }
            to_ntt_form(*c, plain, c->candidate_scale);
            seal::Ciphertext &target = qi == 0 ? sum : product;
            seal_call("Evaluator::multiply_plain", [&] { c->evaluator.multiply_plain(*qs[qi], plain, target); });
            if (qi > 0)
            {
                seal_call("Evaluator::add", [&] { c->evaluator.add_inplace(sum, product); });
            }
        }
        give_ciphertext(sum, out);
    });
}
