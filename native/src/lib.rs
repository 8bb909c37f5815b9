//! encrypted_knn_seal — the C ABI of encrypted-knn's CKKS rescoring, over Microsoft SEAL 4.0.
//!
//! All CKKS arithmetic is SEAL's (through its C API, "sealc", linked statically by the `sealy`
//! crate). This file only validates inputs, moves bytes and lays vectors out in coefficients.
//!
//! # Protocol (DESIGN.md §3, rotation-free packing, docs/ckks-parameters.md)
//!
//! Coefficient packing: a vector is laid out in the *coefficients* of the plaintext polynomial
//! (not in CKKS slots), so that one negacyclic product computes many inner products at once.
//! With block width B and `blocks = ⌊(N − 1)/B⌋`:
//!
//! * Key holder: `eks_encrypt_query` puts `Δ_q·q` (rounded, length ≤ B) in coefficients
//!   0..B, turns the polynomial into SEAL's NTT form with SEAL's own transform, encrypts it with
//!   the *secret key* (SEAL `Encryptor::encrypt_symmetric`) and serializes it *with the seed*
//!   (the second polynomial is replaced by a 64-byte PRNG seed: about half the size),
//!   uncompressed (the Java side packs coefficients to their bit width, `CiphertextWire`).
//! * Data node: `eks_query_load` loads one such ciphertext per probed cell (bounded, validated);
//!   `eks_score_batch` puts candidate j *reversed* in coefficients j·B .. j·B+B
//!   (`Δ_c·v_j[B−1−k]` at j·B+k), one plaintext per distinct query (cell) in the batch, does one
//!   `multiply_plain` per query and adds the products (their blocks are disjoint). Coefficient
//!   j·B + B − 1 of the product is then `Δ_q·Δ_c·⟨q, v_j⟩`: no other block reaches it, and
//!   nothing wraps around X^N + 1 because blocks·B < N. The result is serialized uncompressed.
//!   No secret, Galois or relinearization key; no rescale (one prime, the product fits in it).
//! * Key holder: `eks_decrypt_scores` decrypts, leaves the NTT form with SEAL's transform and
//!   reads coefficient j·B + B − 1 of each block, divided by Δ_q·Δ_c.
//!
//! Compared with slot packing (CKKSEncoder, one vector per ⌊N/2 / B⌋ slots), a ciphertext holds
//! twice as many candidates, the product needs no rescale, and the encoding is a rounding and an
//! NTT instead of a complex FFT and an NTT per prime.
//!
//! # C ABI
//!
//! ```c
//! /* Status codes (int32_t). 0 = success; on error a message is available from
//!    eks_last_error() on the same thread until the next eks_* call on that thread. */
//! #define EKS_OK              0
//! #define EKS_ERR_NULL        1  /* null pointer or wrong handle type                     */
//! #define EKS_ERR_INVALID_ARG 2  /* bad parameters, lengths, non-finite values            */
//! #define EKS_ERR_MALFORMED   3  /* bytes rejected before SEAL (size, header, compression) */
//! #define EKS_ERR_MISMATCH    4  /* well-formed, but for other parameters/level/scale      */
//! #define EKS_ERR_SEAL        5  /* SEAL returned an error HRESULT                         */
//! #define EKS_ERR_PANIC       6  /* internal panic, caught at the boundary                 */
//!
//! typedef struct eks_context eks_context;       /* SEAL context + evaluator             */
//! typedef struct eks_secret_key eks_secret_key;
//! typedef struct eks_keyholder eks_keyholder;   /* symmetric encryptor + decryptor      */
//! typedef struct eks_ciphertext eks_ciphertext; /* a loaded query ciphertext            */
//! typedef struct eks_prepared_zero eks_prepared_zero; /* an unused encryption of zero   */
//!
//! size_t  eks_last_error(char *buf, size_t cap);  /* copies NUL-terminated, returns length */
//! int32_t eks_seal_version(int32_t out[3]);
//! int32_t eks_stats(int64_t out[5]);  /* live handles, live buffers, live buffer bytes,
//!                                        SEAL global pool bytes, total handles ever created */
//!
//! int32_t eks_context_create(uint32_t poly_degree, const int32_t *coeff_bits /* one prime */,
//!                            uint32_t n_coeff, uint32_t scale_bits, uint32_t block_width,
//!                            eks_context **out);
//! int32_t eks_context_info(const eks_context *ctx, int64_t out[10]);
//!         /* poly_degree, blocks, block_width, max_query_bytes, max_result_bytes,
//!            max_secret_key_bytes, modulus_bits, query_scale_bits, candidate_scale_bits,
//!            max_abs_value*1e6 */
//! void    eks_context_free(eks_context *ctx);
//!
//! int32_t eks_secret_key_generate(const eks_context *ctx, eks_secret_key **out);
//! int32_t eks_secret_key_save(const eks_secret_key *sk, uint8_t **data, uint64_t *len);
//! int32_t eks_secret_key_load(const eks_context *ctx, const uint8_t *data, uint64_t len,
//!                             eks_secret_key **out);
//! void    eks_secret_key_free(eks_secret_key *sk);
//!
//! int32_t eks_keyholder_create(const eks_context *ctx, const eks_secret_key *sk, eks_keyholder **out);
//! void    eks_keyholder_free(eks_keyholder *kh);
//! int32_t eks_prepare_zero(const eks_keyholder *kh, eks_prepared_zero **out);
//! void    eks_prepared_zero_free(eks_prepared_zero *zero);  /* wipes an unused one */
//! int32_t eks_encrypt_query(const eks_keyholder *kh, const eks_prepared_zero *zero /* null, or spent */,
//!                           const float *v, uint32_t len, uint8_t **data, uint64_t *data_len);
//! int32_t eks_decrypt_scores(const eks_keyholder *kh, const uint8_t *data, uint64_t len,
//!                            uint32_t count, double *scores /* [count] */);
//!
//! int32_t eks_query_load(const eks_context *ctx, const uint8_t *data, uint64_t len,
//!                        eks_ciphertext **out);
//! void    eks_ciphertext_free(eks_ciphertext *ct);
//! int32_t eks_score_batch(const eks_context *ctx,
//!                         const eks_ciphertext *const *queries, uint32_t n_queries,
//!                         const uint32_t *block_query /* [count]: index into queries */,
//!                         const float *vectors /* count*dim, row-major */, uint32_t count,
//!                         uint32_t dim, uint8_t **data, uint64_t *data_len);
//!
//! void    eks_bytes_free(uint8_t *data, uint64_t len);  /* zeroes, then frees */
//! ```
//!
//! Every function is wrapped in `catch_unwind`; no function aborts the process on bad input.
//! Handles may be used from several threads at once (SEAL's evaluator, encryptor and
//! decryptor are thread-safe for concurrent use); freeing a handle while it is in use, or
//! twice, is the caller's bug (the Java binding prevents both).

mod ffi;

use std::cell::RefCell;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

// Make sure the sealy rlib (and with it libsealc/libseal/zstd/zlib and libstdc++) is linked.
#[allow(unused_imports)]
use sealy as _;

pub const EKS_OK: i32 = 0;
pub const EKS_ERR_NULL: i32 = 1;
pub const EKS_ERR_INVALID_ARG: i32 = 2;
pub const EKS_ERR_MALFORMED: i32 = 3;
pub const EKS_ERR_MISMATCH: i32 = 4;
pub const EKS_ERR_SEAL: i32 = 5;
pub const EKS_ERR_PANIC: i32 = 6;

const SEAL_MAGIC: u16 = 0xA15E;
const SEAL_HEADER_SIZE: usize = 16;

// ---------------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct Error {
    code: i32,
    msg: String,
}

type Res<T> = Result<T, Error>;

fn err<T>(code: i32, msg: impl Into<String>) -> Res<T> {
    Err(Error { code, msg: msg.into() })
}

thread_local! {
    static LAST_ERROR: RefCell<String> = RefCell::new(String::new());
}

fn set_last_error(msg: &str) {
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        e.clear();
        e.push_str(msg);
    });
}

fn hresult_name(hr: ffi::HResult) -> &'static str {
    match hr {
        ffi::E_POINTER => "E_POINTER",
        ffi::E_INVALIDARG => "E_INVALIDARG",
        ffi::E_OUTOFMEMORY => "E_OUTOFMEMORY",
        ffi::E_UNEXPECTED => "E_UNEXPECTED",
        ffi::COR_E_IO => "COR_E_IO",
        ffi::COR_E_INVALIDOPERATION => "COR_E_INVALIDOPERATION",
        _ => "HRESULT",
    }
}

/// Checks a SEAL C API HRESULT.
fn check(hr: ffi::HResult, what: &str) -> Res<()> {
    if hr == ffi::S_OK {
        Ok(())
    } else {
        err(EKS_ERR_SEAL, format!("SEAL {} failed: {} (0x{:08X})", what, hresult_name(hr), hr as u64))
    }
}

/// Runs `f` with panics caught; stores the error message in the thread-local slot.
fn guard<F: FnOnce() -> Res<()>>(f: F) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            set_last_error("");
            EKS_OK
        }
        Ok(Err(e)) => {
            set_last_error(&e.msg);
            e.code
        }
        Err(p) => {
            let msg = if let Some(s) = p.downcast_ref::<&str>() {
                s.to_string()
            } else if let Some(s) = p.downcast_ref::<String>() {
                s.clone()
            } else {
                "unknown panic".to_string()
            };
            set_last_error(&format!("internal error (panic): {}", msg));
            EKS_ERR_PANIC
        }
    }
}

fn guard_free<F: FnOnce()>(f: F) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

// ---------------------------------------------------------------------------------------------
// accounting
// ---------------------------------------------------------------------------------------------

static LIVE_HANDLES: AtomicI64 = AtomicI64::new(0);
static TOTAL_HANDLES: AtomicI64 = AtomicI64::new(0);
static LIVE_BUFFERS: AtomicI64 = AtomicI64::new(0);
static LIVE_BUFFER_BYTES: AtomicI64 = AtomicI64::new(0);

fn handle_created() {
    LIVE_HANDLES.fetch_add(1, Ordering::Relaxed);
    TOTAL_HANDLES.fetch_add(1, Ordering::Relaxed);
}

fn handle_freed() {
    LIVE_HANDLES.fetch_sub(1, Ordering::Relaxed);
}

/// Hands a byte vector to the caller (freed with `eks_bytes_free`). The returned allocation
/// has exactly `len` bytes; `v` is zeroed before it is dropped.
unsafe fn give_bytes(mut v: Vec<u8>, len: usize, out_data: *mut *mut u8, out_len: *mut u64) {
    let exact: Box<[u8]> = v[..len].to_vec().into_boxed_slice();
    wipe(&mut v);
    let n = exact.len();
    let p = Box::into_raw(exact) as *mut u8;
    LIVE_BUFFERS.fetch_add(1, Ordering::Relaxed);
    LIVE_BUFFER_BYTES.fetch_add(n as i64, Ordering::Relaxed);
    *out_data = p;
    *out_len = n as u64;
}

/// Overwrites `v` with zeros (bytes of keys, query or decrypted coefficients) before it is freed.
fn wipe<T: Copy + Default>(v: &mut [T]) {
    for x in v.iter_mut() {
        // volatile so that the compiler cannot elide the wipe of a buffer about to be freed
        unsafe { ptr::write_volatile(x, T::default()) };
    }
    std::sync::atomic::compiler_fence(Ordering::SeqCst);
}

// ---------------------------------------------------------------------------------------------
// small RAII wrappers over SEAL objects
// ---------------------------------------------------------------------------------------------

macro_rules! seal_obj {
    ($name:ident, $destroy:path) => {
        struct $name(*mut c_void);
        impl Drop for $name {
            fn drop(&mut self) {
                if !self.0.is_null() {
                    unsafe {
                        $destroy(self.0);
                    }
                }
            }
        }
        unsafe impl Send for $name {}
        unsafe impl Sync for $name {}
    };
}

seal_obj!(SealParams, ffi::EncParams_Destroy);
seal_obj!(SealModulus, ffi::Modulus_Destroy);
seal_obj!(SealContext, ffi::SEALContext_Destroy);
seal_obj!(SealEvaluator, ffi::Evaluator_Destroy);
seal_obj!(SealKeyGen, ffi::KeyGenerator_Destroy);
seal_obj!(SealSecretKey, ffi::SecretKey_Destroy);
seal_obj!(SealEncryptor, ffi::Encryptor_Destroy);
seal_obj!(SealDecryptor, ffi::Decryptor_Destroy);
seal_obj!(SealPlain, ffi::Plaintext_Destroy);
seal_obj!(SealCipher, ffi::Ciphertext_Destroy);
seal_obj!(SealPool, ffi::MemoryPoolHandle_Destroy);

fn new_plain() -> Res<SealPlain> {
    let mut p = ptr::null_mut();
    check(unsafe { ffi::Plaintext_Create1(ptr::null_mut(), &mut p) }, "Plaintext_Create")?;
    Ok(SealPlain(p))
}

fn new_cipher() -> Res<SealCipher> {
    let mut p = ptr::null_mut();
    check(unsafe { ffi::Ciphertext_Create1(ptr::null_mut(), &mut p) }, "Ciphertext_Create")?;
    Ok(SealCipher(p))
}

type ParmsId = [u64; 4];

// ---------------------------------------------------------------------------------------------
// handles
// ---------------------------------------------------------------------------------------------

const TAG_CONTEXT: u64 = 0x454b_535f_4354_5831; // "EKS_CTX1"
const TAG_SECRET: u64 = 0x454b_535f_534b_4559; // "EKS_SKEY"
const TAG_KEYHOLDER: u64 = 0x454b_535f_4b48_4c44; // "EKS_KHLD"
const TAG_CIPHER: u64 = 0x454b_535f_4354_5854; // "EKS_CTXT"
const TAG_PREPARED: u64 = 0x454b_535f_5a45_524f; // "EKS_ZERO"

/// Everything derived from one parameter set. Shared (Arc) by every handle created from it,
/// so freeing the context handle first is safe.
struct Ctx {
    // field order = drop order: SEAL objects that reference the context go first
    evaluator: SealEvaluator,
    seal: SealContext,
    poly_degree: u64,
    /// the one prime q of the coefficient modulus
    modulus: u64,
    modulus_bits: u32,
    block_width: usize,
    blocks: usize,
    query_scale_bits: u32,
    candidate_scale_bits: u32,
    /// Δ_q: scale of a query ciphertext
    query_scale: f64,
    /// Δ_c: scale of the candidate plaintexts
    candidate_scale: f64,
    /// Δ_q·Δ_c: scale of a result ciphertext
    result_scale: f64,
    /// the only level: key level = data level (no special prime, no key switching)
    parms: ParmsId,
    max_abs_value: f64,
    /// bound of a serialized query or result ciphertext (uncompressed: the only form accepted)
    max_ciphertext_bytes: usize,
    max_secret_key_bytes: usize,
}

#[repr(C)]
pub struct EksContext {
    tag: u64,
    inner: Arc<Ctx>,
}

#[repr(C)]
pub struct EksSecretKey {
    tag: u64,
    ctx: Arc<Ctx>,
    sk: SealSecretKey,
}

#[repr(C)]
pub struct EksKeyHolder {
    tag: u64,
    /// distinguishes key holders (and so secret keys) for their prepared encryptions of zero
    id: u64,
    encryptor: SealEncryptor,
    decryptor: SealDecryptor,
    ctx: Arc<Ctx>,
}

#[repr(C)]
pub struct EksPreparedZero {
    tag: u64,
    /// `EksKeyHolder::id` of the key holder whose secret key made it
    holder: u64,
    ct: SealCipher,
    ctx: Arc<Ctx>,
    spent: std::sync::atomic::AtomicBool,
}

static KEY_HOLDER_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Drop for EksPreparedZero {
    fn drop(&mut self) {
        if !*self.spent.get_mut() {
            // c0 = −a·s + e: with a later query ciphertext it would give the query away
            for i in 0..self.ctx.poly_degree {
                unsafe { ffi::Ciphertext_SetDataAt(self.ct.0, i, 0) };
            }
        }
    }
}

#[repr(C)]
pub struct EksCiphertext {
    tag: u64,
    ct: SealCipher,
    ctx: Arc<Ctx>,
}

unsafe fn deref_handle<'a, T>(p: *const T, tag: u64, what: &str) -> Res<&'a T> {
    if p.is_null() {
        return err(EKS_ERR_NULL, format!("null {} handle", what));
    }
    // every handle struct is repr(C) with the tag as first field
    let t = *(p as *const u64);
    if t != tag {
        return err(EKS_ERR_NULL, format!("not a {} handle (freed or wrong type)", what));
    }
    Ok(&*p)
}

unsafe fn out_ptr<T>(p: *mut T, what: &str) -> Res<&'static mut T> {
    if p.is_null() {
        err(EKS_ERR_NULL, format!("null output pointer {}", what))
    } else {
        Ok(&mut *p)
    }
}

/// Checks the output pointer of a function that creates a handle and sets it to null, so that
/// the caller sees no handle when the call fails.
unsafe fn cleared_handle_output<T>(out: *mut *mut T) -> Res<&'static mut *mut T> {
    let out = out_ptr(out, "out")?;
    *out = ptr::null_mut();
    Ok(out)
}

/// Checks the two output pointers of a function that returns bytes and clears them, so that
/// the caller sees no buffer when the call fails.
unsafe fn cleared_byte_outputs(out_data: *mut *mut u8, out_len: *mut u64) -> Res<(&'static mut *mut u8, &'static mut u64)> {
    let od = out_ptr(out_data, "data")?;
    let ol = out_ptr(out_len, "len")?;
    *od = ptr::null_mut();
    *ol = 0;
    Ok((od, ol))
}

fn boxed<T>(v: T) -> *mut T {
    handle_created();
    Box::into_raw(Box::new(v))
}

unsafe fn free_handle<T>(p: *mut T, tag: u64) {
    if p.is_null() {
        return;
    }
    if *(p as *const u64) != tag {
        return; // wrong type or double free: refuse rather than corrupt memory further
    }
    *(p as *mut u64) = 0;
    drop(Box::from_raw(p));
    handle_freed();
}

// ---------------------------------------------------------------------------------------------
// serialized-object prechecks (run before SEAL sees any untrusted byte)
// ---------------------------------------------------------------------------------------------

/// Checks the 16-byte SEALHeader of SEAL 4.0 (magic, header size, version, compression mode
/// none, reserved, size == len) and returns a copy of the serialization. Compressed forms are
/// refused: we never produce them, and a decompressor is attack surface (SEAL's own inflater
/// grows its output without bound). `len` is bounded before the slice is formed, so a caller's
/// bogus length never becomes an out-of-range slice.
///
/// # Safety
/// `data` must be non-null and point to `len` readable bytes whenever `len` ≤ `max_len`.
unsafe fn precheck_serialized(data: *const u8, len: u64, max_len: usize, what: &str) -> Res<Vec<u8>> {
    if len > max_len as u64 {
        return err(EKS_ERR_MALFORMED, format!("{}: {} bytes exceeds the maximum of {} for these parameters", what, len, max_len));
    }
    let data = std::slice::from_raw_parts(data, len as usize);
    if data.len() < SEAL_HEADER_SIZE {
        return err(EKS_ERR_MALFORMED, format!("{}: {} bytes is shorter than a SEAL header", what, data.len()));
    }
    let magic = u16::from_le_bytes([data[0], data[1]]);
    let header_size = data[2];
    let (major, minor) = (data[3], data[4]);
    let compr = data[5];
    let reserved = u16::from_le_bytes([data[6], data[7]]);
    let size = u64::from_le_bytes(data[8..16].try_into().unwrap());
    if magic != SEAL_MAGIC || header_size as usize != SEAL_HEADER_SIZE {
        return err(EKS_ERR_MALFORMED, format!("{}: not a SEAL serialization (bad magic/header size)", what));
    }
    if major != 4 || minor != 0 {
        return err(EKS_ERR_MALFORMED, format!("{}: SEAL version {}.{} not supported (need 4.0)", what, major, minor));
    }
    if reserved != 0 {
        return err(EKS_ERR_MALFORMED, format!("{}: reserved header field is not zero", what));
    }
    if size != data.len() as u64 {
        return err(EKS_ERR_MALFORMED, format!("{}: header size {} does not match the {} bytes given", what, size, data.len()));
    }
    if compr != ffi::COMPR_NONE {
        return err(EKS_ERR_MALFORMED, format!("{}: compression mode {} is not accepted (uncompressed only)", what, compr));
    }
    Ok(data.to_vec())
}

/// Checks the leading members of an uncompressed Ciphertext serialization (parms_id, NTT form,
/// size, degree, modulus count, scale) against what the protocol expects at this point.
fn precheck_ciphertext_members(raw: &[u8], ctx: &Ctx, scale: f64, what: &str) -> Res<()> {
    let m = &raw[SEAL_HEADER_SIZE..];
    if m.len() < 32 + 1 + 8 * 5 {
        return err(EKS_ERR_MALFORMED, format!("{}: truncated ciphertext", what));
    }
    let u64_at = |o: usize| u64::from_le_bytes(m[o..o + 8].try_into().unwrap());
    let pid = [u64_at(0), u64_at(8), u64_at(16), u64_at(24)];
    if pid != ctx.parms {
        return err(EKS_ERR_MISMATCH, format!("{}: ciphertext was made under other encryption parameters or at another level", what));
    }
    if m[32] != 1 {
        return err(EKS_ERR_MALFORMED, format!("{}: CKKS ciphertext must be in NTT form", what));
    }
    let size = u64_at(33);
    let degree = u64_at(41);
    let nprimes = u64_at(49);
    let sc = f64::from_le_bytes(m[57..65].try_into().unwrap());
    if size != 2 {
        return err(EKS_ERR_MISMATCH, format!("{}: ciphertext has {} polynomials, expected 2", what, size));
    }
    if degree != ctx.poly_degree || nprimes != 1 {
        return err(EKS_ERR_MISMATCH, format!("{}: ciphertext shape (N={}, {} primes) does not match the context (N={}, 1 prime)", what, degree, nprimes, ctx.poly_degree));
    }
    if !(sc.is_finite() && (sc - scale).abs() <= scale * 1e-9) {
        return err(EKS_ERR_MISMATCH, format!("{}: ciphertext scale {} is not the expected {}", what, sc, scale));
    }
    Ok(())
}

/// Loads an (already prechecked, uncompressed) ciphertext through SEAL's validating load and
/// re-checks the result.
fn load_cipher(ctx: &Ctx, raw: &mut [u8], scale: f64, what: &str) -> Res<SealCipher> {
    let ct = new_cipher()?;
    let mut read: i64 = 0;
    check(unsafe { ffi::Ciphertext_Load(ct.0, ctx.seal.0, raw.as_mut_ptr(), raw.len() as u64, &mut read) }, &format!("load of {}", what))
        .map_err(|e| Error { code: EKS_ERR_MALFORMED, msg: e.msg })?;
    if read as usize != raw.len() {
        return err(EKS_ERR_MALFORMED, format!("{}: trailing bytes", what));
    }
    let mut pid = [0u64; 4];
    check(unsafe { ffi::Ciphertext_ParmsId(ct.0, pid.as_mut_ptr()) }, "Ciphertext_ParmsId")?;
    let mut size = 0u64;
    check(unsafe { ffi::Ciphertext_Size(ct.0, &mut size) }, "Ciphertext_Size")?;
    let mut ntt = false;
    check(unsafe { ffi::Ciphertext_IsNTTForm(ct.0, &mut ntt) }, "Ciphertext_IsNTTForm")?;
    let mut sc = 0f64;
    check(unsafe { ffi::Ciphertext_Scale(ct.0, &mut sc) }, "Ciphertext_Scale")?;
    let mut transparent = false;
    check(unsafe { ffi::Ciphertext_IsTransparent(ct.0, &mut transparent) }, "Ciphertext_IsTransparent")?;
    if pid != ctx.parms || size != 2 || !ntt || (sc - scale).abs() > scale * 1e-9 {
        return err(EKS_ERR_MISMATCH, format!("{}: loaded ciphertext does not match the expected level/shape/scale", what));
    }
    if transparent {
        return err(EKS_ERR_MALFORMED, format!("{}: transparent ciphertext (not encrypted)", what));
    }
    Ok(ct)
}

// ---------------------------------------------------------------------------------------------
// context
// ---------------------------------------------------------------------------------------------

fn parms_of(f: unsafe extern "C" fn(*mut c_void, *mut u64) -> ffi::HResult, ctx: *mut c_void, what: &str) -> Res<ParmsId> {
    let mut p = [0u64; 4];
    check(unsafe { f(ctx, p.as_mut_ptr()) }, what)?;
    Ok(p)
}

/// Largest |component| of a query or candidate vector (residual components of unit vectors are ≤ 1).
const MAX_ABS_VALUE: f64 = 2.0;
/// log2 of the largest |inner product| that decodes: Δ_q·Δ_c·2^SCORE_BITS ≤ q/4 leaves the
/// noise a factor 2 of margin below q/2.
const SCORE_BITS: u32 = 2;

fn create_context(poly_degree: u32, coeff_bits: &[i32], scale_bits: u32, block_width: u32) -> Res<Ctx> {
    if poly_degree != 4096 && poly_degree != 8192 {
        return err(EKS_ERR_INVALID_ARG, format!("poly_degree must be 4096 or 8192, got {}", poly_degree));
    }
    let &[modulus_bits] = coeff_bits else {
        return err(EKS_ERR_INVALID_ARG, format!("the coefficient modulus is one prime (coefficient packing needs no rescale), got {} primes", coeff_bits.len()));
    };
    if !(30..=60).contains(&modulus_bits) {
        return err(EKS_ERR_INVALID_ARG, format!("the prime must have 30..=60 bits, got {}", modulus_bits));
    }
    let modulus_bits = modulus_bits as u32;
    let mut max_bits: c_int = 0;
    check(unsafe { ffi::CoeffModulus_MaxBitCount(poly_degree as u64, ffi::SEC_LEVEL_TC128, &mut max_bits) }, "CoeffModulus_MaxBitCount")?;
    if modulus_bits as i32 > max_bits {
        return err(EKS_ERR_INVALID_ARG, format!("coefficient modulus of {} bits exceeds the 128-bit security bound of {} bits for N={}", modulus_bits, max_bits, poly_degree));
    }
    // q/4 ≥ Δ_q·Δ_c·2^SCORE_BITS: the candidate scale takes what the query scale leaves
    let product_bits = modulus_bits - 2 - SCORE_BITS;
    if scale_bits < 16 || scale_bits + 16 > product_bits {
        return err(EKS_ERR_INVALID_ARG, format!("scale_bits must be in 16..={} for a {}-bit prime (the candidate scale gets the remaining {} − scale_bits bits, at least 16), got {}", product_bits - 16, modulus_bits, product_bits, scale_bits));
    }
    let candidate_scale_bits = product_bits - scale_bits;
    let n = poly_degree as usize;
    if block_width == 0 || block_width as usize >= n {
        return err(EKS_ERR_INVALID_ARG, format!("block_width must be in 1..={}, got {}", n - 1, block_width));
    }

    // EncryptionParameters(ckks), degree, CoeffModulus::Create(degree, {bits})
    let mut p = ptr::null_mut();
    check(unsafe { ffi::EncParams_Create1(ffi::SCHEME_CKKS, &mut p) }, "EncParams_Create")?;
    let params = SealParams(p);
    check(unsafe { ffi::EncParams_SetPolyModulusDegree(params.0, poly_degree as u64) }, "EncParams_SetPolyModulusDegree")?;
    let mut bits = [modulus_bits as c_int];
    let mut m = ptr::null_mut();
    check(unsafe { ffi::CoeffModulus_Create1(poly_degree as u64, 1, bits.as_mut_ptr(), &mut m) }, "CoeffModulus_Create")?;
    let prime = SealModulus(m);
    let mut modulus = 0u64;
    check(unsafe { ffi::Modulus_Value(prime.0, &mut modulus) }, "Modulus_Value")?;
    let mut raw_mods = [prime.0];
    check(unsafe { ffi::EncParams_SetCoeffModulus(params.0, 1, raw_mods.as_mut_ptr()) }, "EncParams_SetCoeffModulus")?;

    let mut c = ptr::null_mut();
    check(unsafe { ffi::SEALContext_Create(params.0, true, ffi::SEC_LEVEL_TC128, &mut c) }, "SEALContext_Create")?;
    let seal = SealContext(c);
    let mut set = false;
    check(unsafe { ffi::SEALContext_ParametersSet(seal.0, &mut set) }, "SEALContext_ParametersSet")?;
    if !set {
        let mut len = 0u64;
        let mut msg = String::from("(no message)");
        if unsafe { ffi::SEALContext_ParameterErrorMessage(seal.0, ptr::null_mut(), &mut len) } == ffi::S_OK && len < 4096 {
            let mut buf = vec![0u8; len as usize + 1];
            if unsafe { ffi::SEALContext_ParameterErrorMessage(seal.0, buf.as_mut_ptr() as *mut c_char, &mut len) } == ffi::S_OK {
                buf.truncate(len as usize);
                msg = String::from_utf8_lossy(&buf).trim_end_matches('\0').to_string();
            }
        }
        return err(EKS_ERR_INVALID_ARG, format!("SEAL rejected the encryption parameters: {}", msg));
    }
    let parms = parms_of(ffi::SEALContext_FirstParmsId, seal.0, "SEALContext_FirstParmsId")?;
    if parms_of(ffi::SEALContext_KeyParmsId, seal.0, "SEALContext_KeyParmsId")? != parms {
        return err(EKS_ERR_SEAL, "expected a single-level context");
    }
    let mut ev = ptr::null_mut();
    check(unsafe { ffi::Evaluator_Create(seal.0, &mut ev) }, "Evaluator_Create")?;
    let evaluator = SealEvaluator(ev);

    let query_scale = (2.0f64).powi(scale_bits as i32);
    let candidate_scale = (2.0f64).powi(candidate_scale_bits as i32);
    let meta = 1024usize; // headers, parms_id, sizes, scale, DynArray header, PRNG seed info
    Ok(Ctx {
        evaluator,
        seal,
        poly_degree: poly_degree as u64,
        modulus,
        modulus_bits,
        block_width: block_width as usize,
        blocks: (n - 1) / block_width as usize,
        query_scale_bits: scale_bits,
        candidate_scale_bits,
        query_scale,
        candidate_scale,
        result_scale: query_scale * candidate_scale,
        parms,
        max_abs_value: MAX_ABS_VALUE,
        max_ciphertext_bytes: meta + 2 * n * 8,
        max_secret_key_bytes: meta + n * 8,
    })
}

/// # Safety
/// `coeff_bits` must point to `n_coeff` ints; `out` to a writable pointer.
#[no_mangle]
pub unsafe extern "C" fn eks_context_create(
    poly_degree: u32,
    coeff_bits: *const i32,
    n_coeff: u32,
    scale_bits: u32,
    block_width: u32,
    out: *mut *mut EksContext,
) -> i32 {
    guard(|| {
        let out = cleared_handle_output(out)?;
        if coeff_bits.is_null() || n_coeff == 0 || n_coeff > 16 {
            return err(EKS_ERR_INVALID_ARG, "coeff_bits must be a non-empty array (at most 16)");
        }
        let bits = std::slice::from_raw_parts(coeff_bits, n_coeff as usize);
        let ctx = create_context(poly_degree, bits, scale_bits, block_width)?;
        *out = boxed(EksContext { tag: TAG_CONTEXT, inner: Arc::new(ctx) });
        Ok(())
    })
}

/// # Safety
/// `out` must point to 10 writable int64.
#[no_mangle]
pub unsafe extern "C" fn eks_context_info(ctx: *const EksContext, out: *mut i64) -> i32 {
    guard(|| {
        let c = &deref_handle(ctx, TAG_CONTEXT, "context")?.inner;
        if out.is_null() {
            return err(EKS_ERR_NULL, "null output array");
        }
        let o = std::slice::from_raw_parts_mut(out, 10);
        o[0] = c.poly_degree as i64;
        o[1] = c.blocks as i64;
        o[2] = c.block_width as i64;
        o[3] = c.max_ciphertext_bytes as i64;
        o[4] = c.max_ciphertext_bytes as i64;
        o[5] = c.max_secret_key_bytes as i64;
        o[6] = c.modulus_bits as i64;
        o[7] = c.query_scale_bits as i64;
        o[8] = c.candidate_scale_bits as i64;
        o[9] = (c.max_abs_value * 1e6) as i64;
        Ok(())
    })
}

/// # Safety
/// `ctx` must be null or a live context handle.
#[no_mangle]
pub unsafe extern "C" fn eks_context_free(ctx: *mut EksContext) {
    guard_free(|| free_handle(ctx, TAG_CONTEXT))
}

// ---------------------------------------------------------------------------------------------
// secret key
// ---------------------------------------------------------------------------------------------

/// # Safety
/// Handles must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn eks_secret_key_generate(ctx: *const EksContext, out: *mut *mut EksSecretKey) -> i32 {
    guard(|| {
        let out = cleared_handle_output(out)?;
        let c = &deref_handle(ctx, TAG_CONTEXT, "context")?.inner;
        let mut kg = ptr::null_mut();
        check(ffi::KeyGenerator_Create1(c.seal.0, &mut kg), "KeyGenerator_Create")?;
        let kg = SealKeyGen(kg);
        let mut sk = ptr::null_mut();
        check(ffi::KeyGenerator_SecretKey(kg.0, &mut sk), "KeyGenerator_SecretKey")?;
        *out = boxed(EksSecretKey { tag: TAG_SECRET, ctx: c.clone(), sk: SealSecretKey(sk) });
        Ok(())
    })
}

/// Serializes the secret key (uncompressed). The buffer must be released with
/// `eks_bytes_free`, which zeroes it.
///
/// # Safety
/// Handles must be live; out pointers writable.
#[no_mangle]
pub unsafe extern "C" fn eks_secret_key_save(sk: *const EksSecretKey, out_data: *mut *mut u8, out_len: *mut u64) -> i32 {
    guard(|| {
        let (od, ol) = cleared_byte_outputs(out_data, out_len)?;
        let s = deref_handle(sk, TAG_SECRET, "secret key")?;
        let mut bound: i64 = 0;
        check(ffi::SecretKey_SaveSize(s.sk.0, ffi::COMPR_NONE, &mut bound), "SecretKey_SaveSize")?;
        if bound <= 0 || bound as usize > s.ctx.max_secret_key_bytes {
            return err(EKS_ERR_SEAL, format!("unexpected secret key size {}", bound));
        }
        let mut buf = vec![0u8; bound as usize];
        let mut written: i64 = 0;
        let r = check(ffi::SecretKey_Save(s.sk.0, buf.as_mut_ptr(), bound as u64, ffi::COMPR_NONE, &mut written), "SecretKey_Save");
        if let Err(e) = r {
            wipe(&mut buf);
            return Err(e);
        }
        give_bytes(buf, written as usize, od, ol);
        Ok(())
    })
}

/// Loads a secret key saved by `eks_secret_key_save`; SEAL checks it is valid for `ctx`.
///
/// # Safety
/// `data` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn eks_secret_key_load(ctx: *const EksContext, data: *const u8, len: u64, out: *mut *mut EksSecretKey) -> i32 {
    guard(|| {
        let out = cleared_handle_output(out)?;
        let c = &deref_handle(ctx, TAG_CONTEXT, "context")?.inner;
        if data.is_null() {
            return err(EKS_ERR_NULL, "null key bytes");
        }
        let mut raw = precheck_serialized(data, len, c.max_secret_key_bytes, "secret key")?;
        // SecretKey = Plaintext: parms_id first; must be the key level of this context
        if raw.len() >= SEAL_HEADER_SIZE + 32 {
            let m = &raw[SEAL_HEADER_SIZE..];
            let pid: Vec<u64> = (0..4).map(|i| u64::from_le_bytes(m[i * 8..i * 8 + 8].try_into().unwrap())).collect();
            let key_parms = parms_of(ffi::SEALContext_KeyParmsId, c.seal.0, "SEALContext_KeyParmsId")?;
            if pid[..] != key_parms[..] {
                wipe(&mut raw);
                return err(EKS_ERR_MISMATCH, "secret key was generated for other encryption parameters");
            }
        }
        let mut sk = ptr::null_mut();
        check(ffi::SecretKey_Create1(&mut sk), "SecretKey_Create")?;
        let sk = SealSecretKey(sk);
        let mut read: i64 = 0;
        let r = check(ffi::SecretKey_Load(sk.0, c.seal.0, raw.as_mut_ptr(), raw.len() as u64, &mut read), "SecretKey_Load (validated)");
        let read_ok = read as usize == raw.len();
        wipe(&mut raw);
        r.map_err(|e| Error { code: EKS_ERR_MALFORMED, msg: e.msg })?;
        if !read_ok {
            return err(EKS_ERR_MALFORMED, "secret key: trailing bytes");
        }
        *out = boxed(EksSecretKey { tag: TAG_SECRET, ctx: c.clone(), sk });
        Ok(())
    })
}

/// # Safety
/// `sk` must be null or a live secret key handle.
#[no_mangle]
pub unsafe extern "C" fn eks_secret_key_free(sk: *mut EksSecretKey) {
    guard_free(|| free_handle(sk, TAG_SECRET))
}

// ---------------------------------------------------------------------------------------------
// key holder: encrypt (symmetric, seeded, optionally on a prepared encryption of zero) and decrypt
// ---------------------------------------------------------------------------------------------

/// # Safety
/// Handles must be live; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn eks_keyholder_create(ctx: *const EksContext, sk: *const EksSecretKey, out: *mut *mut EksKeyHolder) -> i32 {
    guard(|| {
        let out = cleared_handle_output(out)?;
        let c = &deref_handle(ctx, TAG_CONTEXT, "context")?.inner;
        let s = deref_handle(sk, TAG_SECRET, "secret key")?;
        if !Arc::ptr_eq(c, &s.ctx) {
            // different context objects may still have equal parameters: compare parms ids
            let a = parms_of(ffi::SEALContext_KeyParmsId, c.seal.0, "KeyParmsId")?;
            let b = parms_of(ffi::SEALContext_KeyParmsId, s.ctx.seal.0, "KeyParmsId")?;
            if a != b {
                return err(EKS_ERR_MISMATCH, "secret key belongs to other encryption parameters");
            }
        }
        let mut e = ptr::null_mut();
        check(ffi::Encryptor_Create(c.seal.0, ptr::null_mut(), s.sk.0, &mut e), "Encryptor_Create")?;
        let encryptor = SealEncryptor(e);
        let mut d = ptr::null_mut();
        check(ffi::Decryptor_Create(c.seal.0, s.sk.0, &mut d), "Decryptor_Create")?;
        let decryptor = SealDecryptor(d);
        let id = KEY_HOLDER_IDS.fetch_add(1, Ordering::Relaxed);
        *out = boxed(EksKeyHolder { tag: TAG_KEYHOLDER, id, encryptor, decryptor, ctx: c.clone() });
        Ok(())
    })
}

/// # Safety
/// `kh` must be null or a live key holder handle.
#[no_mangle]
pub unsafe extern "C" fn eks_keyholder_free(kh: *mut EksKeyHolder) {
    guard_free(|| free_handle(kh, TAG_KEYHOLDER))
}

fn check_values(v: &[f32], max_abs: f64, what: &str) -> Res<()> {
    for (i, &x) in v.iter().enumerate() {
        if !x.is_finite() || (x as f64).abs() > max_abs {
            return err(EKS_ERR_INVALID_ARG, format!("{}: component {} = {} is not finite or exceeds ±{}", what, i, x, max_abs));
        }
    }
    Ok(())
}

/// `round(x·scale)` as a residue mod q (|x·scale| < q/2 by the parameter checks).
fn to_residue(x: f32, scale: f64, q: u64) -> u64 {
    let v = (x as f64 * scale).round() as i64;
    if v < 0 {
        q - v.unsigned_abs()
    } else {
        v as u64
    }
}

/// A residue mod q read as a signed integer in (−q/2, q/2].
fn centered(v: u64, q: u64) -> f64 {
    if v > q / 2 {
        -((q - v) as f64)
    } else {
        v as f64
    }
}

/// SEAL's negacyclic NTT of one polynomial mod q, in place (`forward`: coefficients → NTT form).
/// The C API has `Evaluator::transform_{to,from}_ntt` for ciphertexts only, so the polynomial
/// rides in a size-2 carrier ciphertext whose second polynomial is the constant 1 (all ones in
/// NTT form): SEAL refuses a transparent (zero second polynomial) ciphertext.
fn seal_ntt(c: &Ctx, poly: &mut [u64], forward: bool) -> Res<()> {
    let n = c.poly_degree as usize;
    debug_assert_eq!(poly.len(), n);
    let carrier = new_cipher()?;
    let mut pid = c.parms;
    unsafe {
        check(ffi::Ciphertext_Resize1(carrier.0, c.seal.0, pid.as_mut_ptr(), 2), "Ciphertext_Resize")?;
        check(ffi::Ciphertext_SetIsNTTForm(carrier.0, !forward), "Ciphertext_SetIsNTTForm")?;
        for (i, &v) in poly.iter().enumerate() {
            check(ffi::Ciphertext_SetDataAt(carrier.0, i as u64, v), "Ciphertext_SetDataAt")?;
        }
        let ones = if forward { n + 1 } else { 2 * n };
        for i in n..ones {
            check(ffi::Ciphertext_SetDataAt(carrier.0, i as u64, 1), "Ciphertext_SetDataAt")?;
        }
        if forward {
            check(ffi::Evaluator_TransformToNTT2(c.evaluator.0, carrier.0, carrier.0), "Evaluator_TransformToNTT")?;
        } else {
            check(ffi::Evaluator_TransformFromNTT(c.evaluator.0, carrier.0, carrier.0), "Evaluator_TransformFromNTT")?;
        }
        for (i, v) in poly.iter_mut().enumerate() {
            check(ffi::Ciphertext_GetDataAt1(carrier.0, i as u64, v), "Ciphertext_GetDataAt")?;
        }
    }
    Ok(())
}

/// A plaintext (NTT form, the context's level) of the coefficient polynomial `poly` at `scale`.
fn plain_of(c: &Ctx, poly: &mut [u64], scale: f64) -> Res<SealPlain> {
    seal_ntt(c, poly, true)?;
    let plain = new_plain()?;
    let mut pid = c.parms;
    unsafe {
        check(ffi::Plaintext_Set4(plain.0, poly.len() as u64, poly.as_mut_ptr()), "Plaintext_Set")?;
        check(ffi::Plaintext_SetParmsId(plain.0, pid.as_mut_ptr()), "Plaintext_SetParmsId")?;
        check(ffi::Plaintext_SetScale(plain.0, scale), "Plaintext_SetScale")?;
    }
    Ok(plain)
}

/// SEAL's uncompressed serialization of `ct` (a seeded ciphertext keeps its seed) and its length.
fn save_cipher(ct: &SealCipher) -> Res<(Vec<u8>, usize)> {
    let mut bound: i64 = 0;
    check(unsafe { ffi::Ciphertext_SaveSize(ct.0, ffi::COMPR_NONE, &mut bound) }, "Ciphertext_SaveSize")?;
    if bound <= 0 || bound > (1 << 30) {
        return err(EKS_ERR_SEAL, format!("unexpected ciphertext save size {}", bound));
    }
    let mut buf = vec![0u8; bound as usize];
    let mut written: i64 = 0;
    check(unsafe { ffi::Ciphertext_Save(ct.0, buf.as_mut_ptr(), bound as u64, ffi::COMPR_NONE, &mut written) }, "Ciphertext_Save")?;
    Ok((buf, written as usize))
}

/// A fresh seeded encryption of zero under the key holder's secret key, at the query scale: the
/// expensive, message-independent part of encrypting a query (uniform and Gaussian sampling, NTTs).
fn zero_encryption(k: &EksKeyHolder) -> Res<SealCipher> {
    let ct = new_cipher()?;
    let mut pid = k.ctx.parms;
    unsafe {
        check(ffi::Encryptor_EncryptZeroSymmetric1(k.encryptor.0, pid.as_mut_ptr(), true, ct.0, ptr::null_mut()), "Encryptor_EncryptZeroSymmetric")?;
        check(ffi::Ciphertext_SetScale(ct.0, k.ctx.query_scale), "Ciphertext_SetScale")?;
    }
    Ok(ct)
}

/// Adds the encoded query `v` to `zero` (an unused `zero_encryption`: c0 + Δ_q·q, the seed of c1
/// untouched) and returns its seeded serialization, uncompressed.
unsafe fn encrypt_onto(k: &EksKeyHolder, zero: &SealCipher, v: *const f32, len: u32) -> Res<(Vec<u8>, usize)> {
    let c = &k.ctx;
    if v.is_null() {
        return err(EKS_ERR_NULL, "null vector");
    }
    let len = len as usize;
    if len == 0 || len > c.block_width {
        return err(EKS_ERR_INVALID_ARG, format!("query length {} must be in 1..={} (block width)", len, c.block_width));
    }
    let q = std::slice::from_raw_parts(v, len);
    check_values(q, c.max_abs_value, "query")?;
    let mut poly = vec![0u64; c.poly_degree as usize];
    for (i, &x) in q.iter().enumerate() {
        poly[i] = to_residue(x, c.query_scale, c.modulus);
    }
    let plain = plain_of(c, &mut poly, c.query_scale);
    wipe(&mut poly);
    let plain = plain?;
    check(ffi::Evaluator_AddPlain(c.evaluator.0, zero.0, plain.0, zero.0), "Evaluator_AddPlain")?;
    save_cipher(zero)
}

/// Prepares one encryption of zero for `eks_encrypt_query`, so that a query's online
/// cost is its encoding and one addition. The handle is as secret as the key until it is used
/// (with it, the query ciphertext gives the query away); unused ones are wiped when freed.
///
/// # Safety
/// `kh` must be a live key holder; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn eks_prepare_zero(kh: *const EksKeyHolder, out: *mut *mut EksPreparedZero) -> i32 {
    guard(|| {
        let out = cleared_handle_output(out)?;
        let k = deref_handle(kh, TAG_KEYHOLDER, "key holder")?;
        let ct = zero_encryption(k)?;
        *out = boxed(EksPreparedZero { tag: TAG_PREPARED, holder: k.id, ct, ctx: k.ctx.clone(), spent: false.into() });
        Ok(())
    })
}

/// Encrypts `v` (len ≤ block_width) in coefficients 0..len at the query scale, with the secret
/// key, and serializes it with the PRNG seed in place of the second polynomial, uncompressed.
/// `zero` is null (the encryption of zero is made now) or a prepared one of the same key holder,
/// which the call spends (a second use fails: reusing one would let anyone subtract two queries).
///
/// # Safety
/// `kh` must be a live handle, `zero` null or a live handle; `v` must point to `len` floats; out
/// pointers writable.
#[no_mangle]
pub unsafe extern "C" fn eks_encrypt_query(
    kh: *const EksKeyHolder,
    zero: *const EksPreparedZero,
    v: *const f32,
    len: u32,
    out_data: *mut *mut u8,
    out_len: *mut u64,
) -> i32 {
    guard(|| {
        let (od, ol) = cleared_byte_outputs(out_data, out_len)?;
        let k = deref_handle(kh, TAG_KEYHOLDER, "key holder")?;
        let (buf, n) = if zero.is_null() {
            encrypt_onto(k, &zero_encryption(k)?, v, len)?
        } else {
            let z = deref_handle(zero, TAG_PREPARED, "prepared zero encryption")?;
            if z.holder != k.id {
                return err(EKS_ERR_MISMATCH, "prepared zero encryption belongs to another key holder");
            }
            if z.spent.swap(true, Ordering::SeqCst) {
                return err(EKS_ERR_INVALID_ARG, "prepared zero encryption was already used");
            }
            encrypt_onto(k, &z.ct, v, len)?
        };
        give_bytes(buf, n, od, ol);
        Ok(())
    })
}

/// # Safety
/// `zero` must be null or a live prepared handle.
#[no_mangle]
pub unsafe extern "C" fn eks_prepared_zero_free(zero: *mut EksPreparedZero) {
    guard_free(|| free_handle(zero, TAG_PREPARED))
}

/// Decrypts a result ciphertext from `eks_score_batch` and writes the inner products of its
/// first `count` blocks (count ≤ blocks) to `scores`.
///
/// # Safety
/// `data` must point to `len` bytes, `scores` to `count` writable doubles.
#[no_mangle]
pub unsafe extern "C" fn eks_decrypt_scores(
    kh: *const EksKeyHolder,
    data: *const u8,
    len: u64,
    count: u32,
    scores: *mut f64,
) -> i32 {
    guard(|| {
        let k = deref_handle(kh, TAG_KEYHOLDER, "key holder")?;
        let c = &k.ctx;
        if data.is_null() || scores.is_null() {
            return err(EKS_ERR_NULL, "null data or output");
        }
        let count = count as usize;
        if count == 0 || count > c.blocks {
            return err(EKS_ERR_INVALID_ARG, format!("count {} must be in 1..={}", count, c.blocks));
        }
        let mut raw = precheck_serialized(data, len, c.max_ciphertext_bytes, "result ciphertext")?;
        precheck_ciphertext_members(&raw, c, c.result_scale, "result ciphertext")?;
        let ct = load_cipher(c, &mut raw, c.result_scale, "result ciphertext")?;
        let plain = new_plain()?;
        check(ffi::Decryptor_Decrypt(k.decryptor.0, ct.0, plain.0), "Decryptor_Decrypt")?;
        let n = c.poly_degree as usize;
        let mut poly = vec![0u64; n];
        let read = (|| {
            for (i, v) in poly.iter_mut().enumerate() {
                check(ffi::Plaintext_CoeffAt(plain.0, i as u64, v), "Plaintext_CoeffAt")?;
            }
            check(ffi::Plaintext_SetZero1(plain.0), "Plaintext_SetZero")?;
            seal_ntt(c, &mut poly, false)
        })();
        if read.is_ok() {
            let out = std::slice::from_raw_parts_mut(scores, count);
            for (b, o) in out.iter_mut().enumerate() {
                *o = centered(poly[b * c.block_width + c.block_width - 1], c.modulus) / c.result_scale;
            }
        }
        wipe(&mut poly);
        read
    })
}

// ---------------------------------------------------------------------------------------------
// server side: load the query, score batches (no secret, Galois or relinearization key)
// ---------------------------------------------------------------------------------------------

/// Loads a query ciphertext from untrusted bytes: size bound, SEAL header (uncompressed only),
/// parameter/prime-count/scale check, then SEAL's validating `Ciphertext::load`.
///
/// # Safety
/// `data` must point to `len` readable bytes; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn eks_query_load(ctx: *const EksContext, data: *const u8, len: u64, out: *mut *mut EksCiphertext) -> i32 {
    guard(|| {
        let out = cleared_handle_output(out)?;
        let c = &deref_handle(ctx, TAG_CONTEXT, "context")?.inner;
        if data.is_null() {
            return err(EKS_ERR_NULL, "null ciphertext bytes");
        }
        let mut raw = precheck_serialized(data, len, c.max_ciphertext_bytes, "query ciphertext")?;
        precheck_ciphertext_members(&raw, c, c.query_scale, "query ciphertext")?;
        let ct = load_cipher(c, &mut raw, c.query_scale, "query ciphertext")?;
        *out = boxed(EksCiphertext { tag: TAG_CIPHER, ct, ctx: c.clone() });
        Ok(())
    })
}

/// # Safety
/// `ct` must be null or a live ciphertext handle.
#[no_mangle]
pub unsafe extern "C" fn eks_ciphertext_free(ct: *mut EksCiphertext) {
    guard_free(|| free_handle(ct, TAG_CIPHER))
}

/// Scores `count` (≤ blocks) vectors of `dim` (≤ block_width) floats: vector j goes to block j,
/// and is multiplied by `queries[block_query[j]]` (a batch may mix cells; each query multiplies
/// one plaintext holding only its own blocks, and the products are added). Returns the
/// serialized result ciphertext (uncompressed); the key holder reads block j's inner product
/// with `eks_decrypt_scores`.
///
/// # Safety
/// `queries` must point to `n_queries` live handles, `block_query` to `count` indices, `vectors`
/// to `count·dim` floats; out pointers writable.
#[no_mangle]
pub unsafe extern "C" fn eks_score_batch(
    ctx: *const EksContext,
    queries: *const *const EksCiphertext,
    n_queries: u32,
    block_query: *const u32,
    vectors: *const f32,
    count: u32,
    dim: u32,
    out_data: *mut *mut u8,
    out_len: *mut u64,
) -> i32 {
    guard(|| {
        let (od, ol) = cleared_byte_outputs(out_data, out_len)?;
        let c = &deref_handle(ctx, TAG_CONTEXT, "context")?.inner;
        if queries.is_null() || block_query.is_null() || vectors.is_null() {
            return err(EKS_ERR_NULL, "null queries, block_query or vectors");
        }
        let (n_queries, count, dim) = (n_queries as usize, count as usize, dim as usize);
        if count == 0 || count > c.blocks {
            return err(EKS_ERR_INVALID_ARG, format!("batch of {} vectors must be 1..={}", count, c.blocks));
        }
        if n_queries == 0 || n_queries > count {
            return err(EKS_ERR_INVALID_ARG, format!("{} queries for a batch of {} vectors", n_queries, count));
        }
        if dim == 0 || dim > c.block_width {
            return err(EKS_ERR_INVALID_ARG, format!("vector length {} must be 1..={}", dim, c.block_width));
        }
        let mut qs = Vec::with_capacity(n_queries);
        for &q in std::slice::from_raw_parts(queries, n_queries) {
            let q = deref_handle(q, TAG_CIPHER, "ciphertext")?;
            if !Arc::ptr_eq(c, &q.ctx) {
                return err(EKS_ERR_MISMATCH, "query ciphertext was loaded under another context");
            }
            qs.push(q);
        }
        let owner = std::slice::from_raw_parts(block_query, count);
        if let Some(bad) = owner.iter().find(|&&i| i as usize >= n_queries) {
            return err(EKS_ERR_INVALID_ARG, format!("block query index {} out of 0..{}", bad, n_queries));
        }
        let vs = std::slice::from_raw_parts(vectors, count * dim);
        check_values(vs, c.max_abs_value, "candidate")?;
        let (n, b) = (c.poly_degree as usize, c.block_width);
        let mut sum: Option<SealCipher> = None;
        for (qi, q) in qs.iter().enumerate() {
            let mut poly = vec![0u64; n];
            let mut mine = 0;
            for j in (0..count).filter(|&j| owner[j] as usize == qi) {
                mine += 1;
                // reversed, so that coefficient j·B + B − 1 of the product is ⟨q, v_j⟩
                for (k, &x) in vs[j * dim..(j + 1) * dim].iter().enumerate() {
                    poly[j * b + b - 1 - k] = to_residue(x, c.candidate_scale, c.modulus);
                }
            }
            if mine == 0 {
                return err(EKS_ERR_INVALID_ARG, format!("query {} has no block in this batch", qi));
            }
            if poly.iter().all(|&x| x == 0) {
                // An all-zero plaintext would make the product transparent, which SEAL refuses.
                // A 1 at blocks·B only reaches product coefficients ≥ blocks·B (and, wrapped,
                // below B − 1): never a block's inner product. Leaks nothing: the server knows
                // its own plaintext.
                poly[c.blocks * b] = 1;
            }
            let plain = plain_of(c, &mut poly, c.candidate_scale)?;
            let prod = new_cipher()?;
            check(ffi::Evaluator_MultiplyPlain(c.evaluator.0, q.ct.0, plain.0, prod.0, ptr::null_mut()), "Evaluator_MultiplyPlain")?;
            sum = Some(match sum {
                None => prod,
                Some(acc) => {
                    check(ffi::Evaluator_Add(c.evaluator.0, acc.0, prod.0, acc.0), "Evaluator_Add")?;
                    acc
                }
            });
        }
        let (buf, len) = save_cipher(&sum.expect("at least one query"))?;
        give_bytes(buf, len, od, ol);
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// misc
// ---------------------------------------------------------------------------------------------

/// Releases a buffer returned by this library (zeroing it first).
///
/// # Safety
/// `data`/`len` must be exactly what an eks_* function returned, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn eks_bytes_free(data: *mut u8, len: u64) {
    guard_free(|| {
        if data.is_null() {
            return;
        }
        let mut b: Box<[u8]> = Box::from_raw(ptr::slice_from_raw_parts_mut(data, len as usize));
        wipe(&mut b);
        drop(b);
        LIVE_BUFFERS.fetch_sub(1, Ordering::Relaxed);
        LIVE_BUFFER_BYTES.fetch_sub(len as i64, Ordering::Relaxed);
    })
}

/// Copies the calling thread's last error message (NUL-terminated, truncated to `cap`);
/// returns its full length in bytes.
///
/// # Safety
/// `buf` must be null or point to `cap` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn eks_last_error(buf: *mut c_char, cap: usize) -> usize {
    catch_unwind(|| {
        LAST_ERROR.with(|e| {
            let e = e.borrow();
            let b = e.as_bytes();
            if !buf.is_null() && cap > 0 {
                let n = b.len().min(cap - 1);
                ptr::copy_nonoverlapping(b.as_ptr(), buf as *mut u8, n);
                *buf.add(n) = 0;
            }
            b.len()
        })
    })
    .unwrap_or(0)
}

/// # Safety
/// `out` must point to 3 writable int32.
#[no_mangle]
pub unsafe extern "C" fn eks_seal_version(out: *mut i32) -> i32 {
    guard(|| {
        if out.is_null() {
            return err(EKS_ERR_NULL, "null output");
        }
        let (mut a, mut b, mut c) = (0u8, 0u8, 0u8);
        check(ffi::Version_Major(&mut a), "Version_Major")?;
        check(ffi::Version_Minor(&mut b), "Version_Minor")?;
        check(ffi::Version_Patch(&mut c), "Version_Patch")?;
        let o = std::slice::from_raw_parts_mut(out, 3);
        o[0] = a as i32;
        o[1] = b as i32;
        o[2] = c as i32;
        Ok(())
    })
}

/// out[0] live handles, out[1] live returned buffers, out[2] their bytes, out[3] bytes
/// allocated by SEAL's global memory pool (it grows to a high-water mark and is reused, never
/// returned to the OS), out[4] handles created since load.
///
/// # Safety
/// `out` must point to 5 writable int64.
#[no_mangle]
pub unsafe extern "C" fn eks_stats(out: *mut i64) -> i32 {
    guard(|| {
        if out.is_null() {
            return err(EKS_ERR_NULL, "null output");
        }
        let o = std::slice::from_raw_parts_mut(out, 5);
        o[0] = LIVE_HANDLES.load(Ordering::Relaxed);
        o[1] = LIVE_BUFFERS.load(Ordering::Relaxed);
        o[2] = LIVE_BUFFER_BYTES.load(Ordering::Relaxed);
        let mut pool = ptr::null_mut();
        check(ffi::MemoryManager_GetPool2(&mut pool), "MemoryManager_GetPool")?;
        let pool = SealPool(pool);
        let mut bytes = 0u64;
        check(ffi::MemoryPoolHandle_AllocByteCount(pool.0, &mut bytes), "MemoryPoolHandle_AllocByteCount")?;
        o[3] = bytes as i64;
        o[4] = TOTAL_HANDLES.load(Ordering::Relaxed);
        Ok(())
    })
}
