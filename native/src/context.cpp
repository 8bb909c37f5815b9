// eks_context_*: one parameter set (N, one prime, the two scales, the block width) and its SEAL context.
#include "handles.h"

#include "seal/modulus.h"

#include <cmath>

namespace eks
{
    namespace
    {
        /** Largest |component| of a query or candidate vector (residual components of unit vectors are ≤ 1). */
        constexpr double MAX_ABS_VALUE = 2.0;
        /** log2 of the largest |inner product| that decodes: Δ_q·Δ_c·2^SCORE_BITS ≤ q/4 leaves the noise a
            factor 2 of margin below q/2. */
        constexpr uint32_t SCORE_BITS = 2;
        /** Room for headers, parms_id, sizes, scale, DynArray header and PRNG seed info in a serialization. */
        constexpr std::size_t META_BYTES = 1024;

        std::shared_ptr<const Context> create_context(
            uint32_t poly_degree, const int32_t *coeff_bits, uint32_t n_coeff, uint32_t scale_bits,
            uint32_t block_width)
        {
            if (poly_degree != 4096 && poly_degree != 8192)
            {
                fail(EKS_ERR_INVALID_ARG, "poly_degree must be 4096 or 8192, got " + std::to_string(poly_degree));
            }
            if (n_coeff != 1)
            {
                fail(EKS_ERR_INVALID_ARG,
                     "the coefficient modulus is one prime (coefficient packing needs no rescale), got " +
                         std::to_string(n_coeff) + " primes");
            }
            int32_t bits = coeff_bits[0];
            if (bits < 30 || bits > 60)
            {
                fail(EKS_ERR_INVALID_ARG, "the prime must have 30..=60 bits, got " + std::to_string(bits));
            }
            int max_bits = seal::CoeffModulus::MaxBitCount(poly_degree, seal::sec_level_type::tc128);
            if (bits > max_bits)
            {
                fail(EKS_ERR_INVALID_ARG, "coefficient modulus of " + std::to_string(bits) +
                                              " bits exceeds the 128-bit security bound of " +
                                              std::to_string(max_bits) + " bits for N=" + std::to_string(poly_degree));
            }
            // q/4 ≥ Δ_q·Δ_c·2^SCORE_BITS: the candidate scale takes what the query scale leaves
            uint32_t product_bits = static_cast<uint32_t>(bits) - 2 - SCORE_BITS;
            if (scale_bits < 16 || static_cast<uint64_t>(scale_bits) + 16 > product_bits)
            {
                fail(EKS_ERR_INVALID_ARG,
                     "scale_bits must be in 16..=" + std::to_string(product_bits - 16) + " for a " +
                         std::to_string(bits) + "-bit prime (the candidate scale gets the remaining " +
                         std::to_string(product_bits) + " − scale_bits bits, at least 16), got " +
                         std::to_string(scale_bits));
            }
            if (block_width == 0 || block_width >= poly_degree)
            {
                fail(EKS_ERR_INVALID_ARG, "block_width must be in 1..=" + std::to_string(poly_degree - 1) + ", got " +
                                              std::to_string(block_width));
            }

            seal::EncryptionParameters parms(seal::scheme_type::ckks);
            seal_call("EncryptionParameters", [&] {
                parms.set_poly_modulus_degree(poly_degree);
                parms.set_coeff_modulus(seal::CoeffModulus::Create(poly_degree, { bits }));
            });
            seal::SEALContext context(parms, true, seal::sec_level_type::tc128);
            if (!context.parameters_set())
            {
                fail(EKS_ERR_INVALID_ARG,
                     std::string("SEAL rejected the encryption parameters: ") + context.parameter_error_message());
            }
            if (context.key_parms_id() != context.first_parms_id())
            {
                fail(EKS_ERR_SEAL, "expected a single-level context");
            }
            return std::make_shared<const Context>(context, scale_bits, product_bits - scale_bits, block_width);
        }
    } // namespace

    Context::Context(
        const seal::SEALContext &context, uint32_t scale_bits, uint32_t candidate_scale_bits, uint32_t block_width)
        : seal(context), evaluator(seal)
    {
        auto data = seal.first_context_data();
        const auto &parms = data->parms();
        ntt = data->small_ntt_tables();
        parms_id = data->parms_id();
        poly_degree = parms.poly_modulus_degree();
        modulus = parms.coeff_modulus()[0].value();
        modulus_bits = static_cast<uint32_t>(parms.coeff_modulus()[0].bit_count());
        this->block_width = block_width;
        blocks = (poly_degree - 1) / block_width;
        query_scale_bits = scale_bits;
        this->candidate_scale_bits = candidate_scale_bits;
        query_scale = std::ldexp(1.0, static_cast<int>(scale_bits));
        candidate_scale = std::ldexp(1.0, static_cast<int>(candidate_scale_bits));
        result_scale = query_scale * candidate_scale;
        max_abs_value = MAX_ABS_VALUE;
        max_ciphertext_bytes = META_BYTES + 2 * poly_degree * 8;
        max_secret_key_bytes = META_BYTES + poly_degree * 8;
    }
} // namespace eks

using namespace eks;

extern "C" int32_t eks_context_create(
    uint32_t poly_degree, const int32_t *coeff_bits, uint32_t n_coeff, uint32_t scale_bits, uint32_t block_width,
    eks_context **out)
{
    return guard([&] {
        cleared_output(out);
        if (!coeff_bits || n_coeff == 0 || n_coeff > 16)
        {
            fail(EKS_ERR_INVALID_ARG, "coeff_bits must be a non-empty array (at most 16)");
        }
        *out = new_handle<eks_context>(
            create_context(poly_degree, coeff_bits, n_coeff, scale_bits, block_width), [](eks_context &) {});
    });
}

extern "C" int32_t eks_context_info(const eks_context *ctx, int64_t out[10])
{
    return guard([&] {
        const Context &c = *deref(ctx, "context").ctx;
        if (!out)
        {
            fail(EKS_ERR_NULL, "null output array");
        }
        out[0] = static_cast<int64_t>(c.poly_degree);
        out[1] = static_cast<int64_t>(c.blocks);
        out[2] = static_cast<int64_t>(c.block_width);
        out[3] = static_cast<int64_t>(c.max_ciphertext_bytes);
        out[4] = static_cast<int64_t>(c.max_ciphertext_bytes);
        out[5] = static_cast<int64_t>(c.max_secret_key_bytes);
        out[6] = c.modulus_bits;
        out[7] = c.query_scale_bits;
        out[8] = c.candidate_scale_bits;
        out[9] = static_cast<int64_t>(c.max_abs_value * 1e6);
    });
}

extern "C" void eks_context_free(eks_context *ctx)
{
    guard_free([&] { free_handle(ctx); });
}
