// Parameter sweep over the C ABI: max |decrypted score − plaintext inner product| for residual-like vectors
// (length 288, norm 0.3–1) and the serialized sizes, for several parameter sets (docs/ckks-parameters.md).
//   bash native/build.sh /tmp/eks sweep && /tmp/eks/sweep [trials]
#include "check.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace
{
    std::vector<float> random_vector(std::mt19937_64 &rng, std::size_t d, double norm)
    {
        std::normal_distribution<double> gauss;
        std::vector<double> v(d);
        double n = 0;
        for (auto &x : v)
        {
            x = gauss(rng);
            n += x * x;
        }
        std::vector<float> out(d);
        for (std::size_t i = 0; i < d; i++)
        {
            out[i] = static_cast<float>(v[i] / std::sqrt(n) * norm);
        }
        return out;
    }

    struct Config
    {
        uint32_t poly_degree;
        int32_t prime_bits;
        uint32_t scale_bits;
    };
} // namespace

int main(int argc, char **argv)
{
    int trials = argc > 1 ? std::atoi(argv[1]) : 20;
    // the candidate scale gets bits − 4 − query scale bits
    const Config configs[] = { { 4096, 40, 20 }, { 4096, 44, 22 }, { 4096, 46, 23 }, { 4096, 48, 24 },
                               { 4096, 50, 25 }, { 4096, 50, 27 }, { 4096, 52, 26 }, { 4096, 54, 27 },
                               { 8192, 50, 25 }, { 8192, 54, 27 } };
    const uint32_t d = 288;
    for (const Config &cfg : configs)
    {
        eks_context *ctx = nullptr;
        if (eks_context_create(cfg.poly_degree, &cfg.prime_bits, 1, cfg.scale_bits, d, &ctx) != EKS_OK)
        {
            char msg[512];
            eks_last_error(msg, sizeof msg);
            std::printf("N=%u prime=%d s=%u -> error %s\n", cfg.poly_degree, cfg.prime_bits, cfg.scale_bits, msg);
            continue;
        }
        int64_t info[10];
        check(eks_context_info(ctx, info), "context_info");
        auto blocks = static_cast<uint32_t>(info[1]);
        eks_secret_key *sk = nullptr;
        check(eks_secret_key_generate(ctx, &sk), "secret_key_generate");
        eks_keyholder *kh = nullptr;
        check(eks_keyholder_create(ctx, sk, &kh), "keyholder_create");
        std::mt19937_64 rng(0x9E3779B97F4A7C15ull);
        std::uniform_real_distribution<double> unit;
        double max_err = 0;
        uint64_t query_len = 0, result_len = 0;
        for (int t = 0; t < trials; t++)
        {
            std::vector<float> q = random_vector(rng, d, 1.0);
            uint8_t *qd = nullptr;
            check(eks_encrypt_query(kh, nullptr, q.data(), d, &qd, &query_len), "encrypt_query");
            eks_ciphertext *ct = nullptr;
            check(eks_query_load(ctx, qd, query_len, &ct), "query_load");
            std::vector<std::vector<float>> cands;
            std::vector<float> flat;
            for (uint32_t j = 0; j < blocks; j++)
            {
                cands.push_back(random_vector(rng, d, 0.3 + 0.7 * unit(rng)));
                flat.insert(flat.end(), cands.back().begin(), cands.back().end());
            }
            std::vector<uint32_t> owner(blocks, 0);
            const eks_ciphertext *qs[] = { ct };
            uint8_t *rd = nullptr;
            check(eks_score_batch(ctx, qs, 1, owner.data(), flat.data(), blocks, d, &rd, &result_len), "score_batch");
            std::vector<double> scores(blocks);
            check(eks_decrypt_scores(kh, rd, result_len, blocks, scores.data()), "decrypt_scores");
            for (uint32_t j = 0; j < blocks; j++)
            {
                double exact = 0;
                for (uint32_t i = 0; i < d; i++)
                {
                    exact += static_cast<double>(q[i]) * cands[j][i];
                }
                max_err = std::fmax(max_err, std::fabs(scores[j] - exact));
            }
            eks_bytes_free(qd, query_len);
            eks_bytes_free(rd, result_len);
            eks_ciphertext_free(ct);
        }
        std::printf("N=%u prime=%d Δq=2^%u Δc=2^%lld blocks=%u max_abs_err=%.3e query=%lluB result=%lluB\n",
                    cfg.poly_degree, cfg.prime_bits, cfg.scale_bits, static_cast<long long>(info[8]), blocks, max_err,
                    static_cast<unsigned long long>(query_len), static_cast<unsigned long long>(result_len));
        eks_keyholder_free(kh);
        eks_secret_key_free(sk);
        eks_context_free(ctx);
    }
    return 0;
}
