// The parameter set every handle shares, and the handle types behind the C ABI's opaque pointers.
#pragma once

#include "boundary.h"

#include "seal/ciphertext.h"
#include "seal/context.h"
#include "seal/decryptor.h"
#include "seal/evaluator.h"
#include "seal/secretkey.h"
#include "seal/util/ntt.h"

#include <atomic>
#include <cstdint>
#include <memory>

namespace eks
{
    /**
     * Everything derived from one parameter set (one prime q, no special prime: key level = data level).
     * Shared by every handle created from it, so that handles may be freed in any order.
     */
    struct Context
    {
        /** `context`: valid parameters of one prime (checked by the caller) */
        Context(const seal::SEALContext &context, uint32_t scale_bits, uint32_t candidate_scale_bits,
                uint32_t block_width);

        seal::SEALContext seal;
        seal::Evaluator evaluator;
        /** SEAL's NTT tables of the one prime (owned by `seal`'s context data) */
        const seal::util::NTTTables *ntt;
        /** the only level */
        seal::parms_id_type parms_id;
        std::size_t poly_degree;
        /** q, the one prime */
        uint64_t modulus;
        uint32_t modulus_bits;
        std::size_t block_width;
        std::size_t blocks;
        uint32_t query_scale_bits;
        uint32_t candidate_scale_bits;
        /** Δ_q: scale of a query ciphertext */
        double query_scale;
        /** Δ_c: scale of the candidate plaintexts */
        double candidate_scale;
        /** Δ_q·Δ_c: scale of a result ciphertext */
        double result_scale;
        double max_abs_value;
        /** bound of a serialized query or result ciphertext (uncompressed: the only form accepted) */
        std::size_t max_ciphertext_bytes;
        std::size_t max_secret_key_bytes;
    };

    using SharedContext = std::shared_ptr<const Context>;

    /** What every handle starts with: its type tag (boundary.h) and the parameter set it belongs to. */
    template <uint64_t Tag>
    struct Handle
    {
        static constexpr uint64_t TAG = Tag;
        uint64_t tag = TAG;
        SharedContext ctx;
    };
} // namespace eks

struct eks_context : eks::Handle<eks::TAG_CONTEXT>
{
};

struct eks_secret_key : eks::Handle<eks::TAG_SECRET>
{
    /** SEAL keeps key data in a memory pool that is wiped when released */
    seal::SecretKey sk;
};

struct eks_keyholder : eks::Handle<eks::TAG_KEYHOLDER>
{
    /** distinguishes key holders (and so secret keys) for their prepared encryptions of zero */
    uint64_t id;
    seal::SecretKey sk;
    std::unique_ptr<seal::Decryptor> decryptor;
};

struct eks_prepared_zero : eks::Handle<eks::TAG_PREPARED>
{
    /** eks_keyholder::id of the key holder whose secret key made it */
    uint64_t holder;
    /** c0 = −a·s + e and the seed of c1 = a; the query is added to it in place by the call that wins `spent` */
    mutable seal::Ciphertext ct;
    mutable std::atomic<bool> spent{ false };

    ~eks_prepared_zero()
    {
        // Unused, c0 would give away the query of a later ciphertext made on it; used, it is that (public)
        // ciphertext. Wiped either way: cheaper than remembering whether a failed call left it untouched.
        eks::wipe(ct.data(), ct.dyn_array().size() * sizeof(uint64_t));
    }
};

struct eks_ciphertext : eks::Handle<eks::TAG_CIPHER>
{
    seal::Ciphertext ct;
};

namespace eks
{
    /** Hands the caller a new handle of type T on the parameter set `c`, filled in by `fill`. */
    template <typename T, typename F>
    T *new_handle(const SharedContext &c, F &&fill)
    {
        auto h = std::make_unique<T>();
        h->ctx = c;
        fill(*h);
        return give_handle(std::move(h));
    }
} // namespace eks
