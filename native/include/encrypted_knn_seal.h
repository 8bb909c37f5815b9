/*
 * encrypted_knn_seal — the C ABI of encrypted-knn's CKKS rescoring over Microsoft SEAL 4.1.2.
 * Bound from Java with JNA (org.encryptedknn.he.SealLibrary); protocol: DESIGN.md §3, docs/ckks-parameters.md;
 * behaviour in detail: native/README.md.
 *
 * Every int32_t function returns one of the EKS_* codes. On an error a message is available from
 * eks_last_error() on the same thread until the next eks_* call on that thread. No function lets a C++
 * exception out or aborts the process on bad input. Handles may be used from several threads at once;
 * freeing a handle while it is in use, or twice, is the caller's bug (the Java binding prevents both).
 */
#ifndef ENCRYPTED_KNN_SEAL_H
#define ENCRYPTED_KNN_SEAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with hidden visibility; these are its only exported symbols. */
#define EKS_API __attribute__((visibility("default")))

#define EKS_OK 0
#define EKS_ERR_NULL 1        /* null pointer, wrong or freed handle                          */
#define EKS_ERR_INVALID_ARG 2 /* parameters, lengths, non-finite or too large values          */
#define EKS_ERR_MALFORMED 3   /* bytes rejected before SEAL (size, header, compression), or by SEAL's load */
#define EKS_ERR_MISMATCH 4    /* well-formed, but for other parameters, level, scale or key holder */
#define EKS_ERR_SEAL 5        /* a SEAL operation failed                                      */
#define EKS_ERR_PANIC 6       /* an unexpected internal error (e.g. out of memory), caught at the boundary */

typedef struct eks_context eks_context;             /* SEAL context + evaluator (no key)          */
typedef struct eks_secret_key eks_secret_key;
typedef struct eks_keyholder eks_keyholder;         /* secret key + decryptor                     */
typedef struct eks_prepared_zero eks_prepared_zero; /* an unused encryption of zero of a key holder */
typedef struct eks_ciphertext eks_ciphertext;       /* a loaded query ciphertext                  */

/* Copies the thread's last error message (NUL-terminated, truncated to cap); returns its full length. */
EKS_API size_t eks_last_error(char *buf, size_t cap);
EKS_API int32_t eks_seal_version(int32_t out[3]);
/* live handles, live returned buffers, their bytes, SEAL global pool bytes, handles created since load */
EKS_API int32_t eks_stats(int64_t out[5]);

/* One prime of coeff_bits[0] bits; query scale 2^scale_bits; blocks = (poly_degree - 1) / block_width. */
EKS_API int32_t eks_context_create(uint32_t poly_degree, const int32_t *coeff_bits, uint32_t n_coeff, uint32_t scale_bits,
                           uint32_t block_width, eks_context **out);
/* poly_degree, blocks, block_width, max_query_bytes, max_result_bytes, max_secret_key_bytes, modulus_bits,
   query_scale_bits, candidate_scale_bits, max_abs_value * 1e6 */
EKS_API int32_t eks_context_info(const eks_context *ctx, int64_t out[10]);
EKS_API void eks_context_free(eks_context *ctx);

EKS_API int32_t eks_secret_key_generate(const eks_context *ctx, eks_secret_key **out);
EKS_API int32_t eks_secret_key_save(const eks_secret_key *sk, uint8_t **data, uint64_t *len);
EKS_API int32_t eks_secret_key_load(const eks_context *ctx, const uint8_t *data, uint64_t len, eks_secret_key **out);
EKS_API void eks_secret_key_free(eks_secret_key *sk);

EKS_API int32_t eks_keyholder_create(const eks_context *ctx, const eks_secret_key *sk, eks_keyholder **out);
EKS_API void eks_keyholder_free(eks_keyholder *kh);
/* The offline part of an encryption; as secret as the key until used. */
EKS_API int32_t eks_prepare_zero(const eks_keyholder *kh, eks_prepared_zero **out);
/* Wipes it if unused. */
EKS_API void eks_prepared_zero_free(eks_prepared_zero *zero);
/* zero: null (made now) or a prepared one of the same key holder, which the call spends. */
EKS_API int32_t eks_encrypt_query(const eks_keyholder *kh, const eks_prepared_zero *zero, const float *v, uint32_t len,
                          uint8_t **data, uint64_t *data_len);
EKS_API int32_t eks_decrypt_scores(const eks_keyholder *kh, const uint8_t *data, uint64_t len, uint32_t count,
                           double *scores /* [count] */);

EKS_API int32_t eks_query_load(const eks_context *ctx, const uint8_t *data, uint64_t len, eks_ciphertext **out);
EKS_API void eks_ciphertext_free(eks_ciphertext *ct);
EKS_API int32_t eks_score_batch(const eks_context *ctx, const eks_ciphertext *const *queries, uint32_t n_queries,
                        const uint32_t *block_query /* [count]: index into queries */,
                        const float *vectors /* count * dim, row-major */, uint32_t count, uint32_t dim,
                        uint8_t **data, uint64_t *data_len);

/* Releases a buffer returned by this library, zeroing it first. */
EKS_API void eks_bytes_free(uint8_t *data, uint64_t len);

#ifdef __cplusplus
}
#endif

#endif
