// Thread-CPU time per C call (N = 4096 defaults, 288-long vectors, 14 candidates per batch), averaged over 300
// rounds.   bash native/build.sh /tmp/eks timing && /tmp/eks/timing
#include "check.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

namespace
{
    double cpu_ms()
    {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
    }
} // namespace

int main()
{
    const int32_t bits = 50;
    const uint32_t d = 288, batch = 14;
    const int rounds = 300;
    eks_context *ctx = nullptr;
    check(eks_context_create(4096, &bits, 1, 25, d, &ctx), "context_create");
    eks_secret_key *sk = nullptr;
    check(eks_secret_key_generate(ctx, &sk), "secret_key_generate");
    eks_keyholder *kh = nullptr;
    check(eks_keyholder_create(ctx, sk, &kh), "keyholder_create");
    std::vector<float> q(d), cands(batch * d);
    for (uint32_t i = 0; i < d; i++)
    {
        q[i] = static_cast<float>(std::sin(i * 0.37) * 0.03);
    }
    for (uint32_t i = 0; i < batch * d; i++)
    {
        cands[i] = static_cast<float>(std::cos(i * 0.11) * 0.03);
    }
    std::vector<uint32_t> owner(batch, 0);
    double prepare = 0, encrypt = 0, load = 0, score = 0, decrypt = 0;
    for (int r = 0; r < rounds; r++)
    {
        double t0 = cpu_ms();
        eks_prepared_zero *zero = nullptr;
        check(eks_prepare_zero(kh, &zero), "prepare_zero");
        double t1 = cpu_ms();
        uint8_t *qd = nullptr;
        uint64_t ql = 0;
        check(eks_encrypt_query(kh, zero, q.data(), d, &qd, &ql), "encrypt_query");
        eks_prepared_zero_free(zero);
        double t2 = cpu_ms();
        eks_ciphertext *ct = nullptr;
        check(eks_query_load(ctx, qd, ql, &ct), "query_load");
        double t3 = cpu_ms();
        const eks_ciphertext *qs[] = { ct };
        uint8_t *rd = nullptr;
        uint64_t rl = 0;
        check(eks_score_batch(ctx, qs, 1, owner.data(), cands.data(), batch, d, &rd, &rl), "score_batch");
        double t4 = cpu_ms();
        double sums[batch];
        check(eks_decrypt_scores(kh, rd, rl, batch, sums), "decrypt_scores");
        double t5 = cpu_ms();
        prepare += t1 - t0;
        encrypt += t2 - t1;
        load += t3 - t2;
        score += t4 - t3;
        decrypt += t5 - t4;
        eks_bytes_free(qd, ql);
        eks_bytes_free(rd, rl);
        eks_ciphertext_free(ct);
    }
    std::printf("cpu ms/call: prepare zero %.3f  encrypt (prepared) %.3f  query_load %.3f  score_batch(%u) %.3f  "
                "decrypt(%u) %.3f\n",
                prepare / rounds, encrypt / rounds, load / rounds, batch, score / rounds, batch, decrypt / rounds);
    eks_keyholder_free(kh);
    eks_secret_key_free(sk);
    eks_context_free(ctx);
    return 0;
}
