//! encrypted_knn_seal — the C ABI of encrypted-knn's CKKS rescoring, over Microsoft SEAL 4.0.
//!
//! All CKKS arithmetic is SEAL's (through its C API, "sealc", linked statically by the `sealy`
//! crate). This file only validates inputs, moves bytes and lays vectors out in slots.
//!
//! # Protocol (DESIGN.md §3, rotation-free packing)
//!
//! * Key holder: `eks_encrypt_replicated` encodes one vector `q` (length ≤ B, zero-padded to B)
//!   replicated into `blocks = ⌊slots/B⌋` consecutive blocks of B slots, encrypts it with the
//!   *secret key* (SEAL `Encryptor::encrypt_symmetric`) and serializes it *with the seed*
//!   (the second polynomial is replaced by a 64-byte PRNG seed: about half the size),
//!   uncompressed (the Java side packs coefficients to their bit width, `CiphertextWire`).
//! * Data node: `eks_query_load` loads one such ciphertext per probed cell (bounded, validated),
//!   then for each batch of up to `blocks` candidate vectors `eks_score_batch` encodes the
//!   candidates in consecutive blocks, one plaintext per distinct query (cell) in the batch, does
//!   one `multiply_plain` per query, adds the products (disjoint blocks), `rescale_to_next`,
//!   `mod_switch_to` the last level, and serializes the result uncompressed. No secret, Galois
//!   or relinearization key.
//! * Key holder: `eks_decrypt_block_sums` decrypts, decodes and sums each block: block j holds
//!   ⟨q, v_j⟩.
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
//! typedef struct eks_context eks_context;       /* SEAL context + encoder + evaluator   */
//! typedef struct eks_secret_key eks_secret_key;
//! typedef struct eks_keyholder eks_keyholder;   /* symmetric encryptor + decryptor      */
//! typedef struct eks_ciphertext eks_ciphertext; /* a loaded query ciphertext            */
//!
//! size_t  eks_last_error(char *buf, size_t cap);  /* copies NUL-terminated, returns length */
//! int32_t eks_seal_version(int32_t out[3]);
//! int32_t eks_stats(int64_t out[5]);  /* live handles, live buffers, live buffer bytes,
//!                                        SEAL global pool bytes, total handles ever created */
//!
//! int32_t eks_context_create(uint32_t poly_degree, const int32_t *coeff_bits, uint32_t n_coeff,
//!                            uint32_t scale_bits, uint32_t block_width, eks_context **out);
//! int32_t eks_context_info(const eks_context *ctx, int64_t out[10]);
//!         /* slots, blocks, block_width, max_query_bytes, max_result_bytes,
//!            max_secret_key_bytes, poly_degree, scale_bits, data_primes, max_abs_value*1e6 */
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
//! int32_t eks_encrypt_replicated(const eks_keyholder *kh, const float *v, uint32_t len,
//!                                uint8_t **data, uint64_t *data_len);
//! int32_t eks_decrypt_block_sums(const eks_keyholder *kh, const uint8_t *data, uint64_t len,
//!                                uint32_t count, double *sums /* [count] */);
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
//! Handles may be used from several threads at once (SEAL's encoder, evaluator, encryptor and
//! decryptor are thread-safe for concurrent use); freeing a handle while it is in use, or
//! twice, is the caller's bug (the Java binding prevents both).

mod ffi;

use std::cell::RefCell;
use std::ffi::CStr;
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
    zero(&mut v);
    let n = exact.len();
    let p = Box::into_raw(exact) as *mut u8;
    LIVE_BUFFERS.fetch_add(1, Ordering::Relaxed);
    LIVE_BUFFER_BYTES.fetch_add(n as i64, Ordering::Relaxed);
    *out_data = p;
    *out_len = n as u64;
}

fn zero(v: &mut [u8]) {
    for b in v.iter_mut() {
        // volatile so that the compiler cannot elide the wipe of a buffer about to be freed
        unsafe { ptr::write_volatile(b, 0) };
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
seal_obj!(SealEncoder, ffi::CKKSEncoder_Destroy);
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

/// Everything derived from one parameter set. Shared (Arc) by every handle created from it,
/// so freeing the context handle first is safe.
struct Ctx {
    // field order = drop order: SEAL objects that reference the context go first
    encoder: SealEncoder,
    evaluator: SealEvaluator,
    seal: SealContext,
    poly_degree: u64,
    slots: usize,
    block_width: usize,
    blocks: usize,
    scale_bits: u32,
    scale: f64,
    /// scale of a result ciphertext: scale² / (the prime dropped by the rescale)
    result_scale: f64,
    first_parms: ParmsId,
    last_parms: ParmsId,
    first_primes: u64,
    last_primes: u64,
    max_abs_value: f64,
    max_query_uncompressed: usize,
    max_result_uncompressed: usize,
    max_query_bytes: usize,
    max_result_bytes: usize,
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
    encryptor: SealEncryptor,
    decryptor: SealDecryptor,
    ctx: Arc<Ctx>,
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

/// Checks the 16-byte SEALHeader of SEAL 4.0 (magic, header size, version, compression mode,
/// reserved, size == len) and returns the *uncompressed* serialization (header rewritten to
/// compr_mode none), decompressing zstd with a hard output bound. zlib is refused: we never
/// produce it, and SEAL's own inflater grows its output without bound.
fn precheck_serialized(data: &[u8], max_in: usize, max_uncompressed: usize, what: &str) -> Res<Vec<u8>> {
    if data.len() < SEAL_HEADER_SIZE {
        return err(EKS_ERR_MALFORMED, format!("{}: {} bytes is shorter than a SEAL header", what, data.len()));
    }
    if data.len() > max_in {
        return err(EKS_ERR_MALFORMED, format!("{}: {} bytes exceeds the maximum of {} for these parameters", what, data.len(), max_in));
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
    match compr {
        ffi::COMPR_NONE => {
            if data.len() > max_uncompressed {
                return err(EKS_ERR_MALFORMED, format!("{}: too large", what));
            }
            Ok(data.to_vec())
        }
        ffi::COMPR_ZSTD => {
            let mut out = vec![0u8; max_uncompressed];
            let body = &data[SEAL_HEADER_SIZE..];
            let n = unsafe {
                ffi::ZSTD_decompress(
                    out.as_mut_ptr().add(SEAL_HEADER_SIZE) as *mut c_void,
                    max_uncompressed - SEAL_HEADER_SIZE,
                    body.as_ptr() as *const c_void,
                    body.len(),
                )
            };
            if unsafe { ffi::ZSTD_isError(n) } != 0 {
                let name = unsafe { CStr::from_ptr(ffi::ZSTD_getErrorName(n)) }.to_string_lossy().into_owned();
                return err(EKS_ERR_MALFORMED, format!("{}: zstd payload rejected: {}", what, name));
            }
            let total = SEAL_HEADER_SIZE + n;
            out.truncate(total);
            out[..SEAL_HEADER_SIZE].copy_from_slice(&data[..SEAL_HEADER_SIZE]);
            out[5] = ffi::COMPR_NONE;
            out[8..16].copy_from_slice(&(total as u64).to_le_bytes());
            Ok(out)
        }
        ffi::COMPR_ZLIB => err(EKS_ERR_MALFORMED, format!("{}: zlib compression is not accepted (use zstd)", what)),
        m => err(EKS_ERR_MALFORMED, format!("{}: unknown compression mode {}", what, m)),
    }
}

/// Checks the leading members of an uncompressed Ciphertext serialization (parms_id, NTT form,
/// size, degree, modulus count, scale) against what the protocol expects at this point.
fn precheck_ciphertext_members(raw: &[u8], ctx: &Ctx, parms: &ParmsId, primes: u64, scale: f64, what: &str) -> Res<()> {
    let m = &raw[SEAL_HEADER_SIZE..];
    if m.len() < 32 + 1 + 8 * 5 {
        return err(EKS_ERR_MALFORMED, format!("{}: truncated ciphertext", what));
    }
    let u64_at = |o: usize| u64::from_le_bytes(m[o..o + 8].try_into().unwrap());
    let pid = [u64_at(0), u64_at(8), u64_at(16), u64_at(24)];
    if &pid != parms {
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
    if degree != ctx.poly_degree || nprimes != primes {
        return err(EKS_ERR_MISMATCH, format!("{}: ciphertext shape (N={}, {} primes) does not match the context (N={}, {} primes)", what, degree, nprimes, ctx.poly_degree, primes));
    }
    if !(sc.is_finite() && (sc - scale).abs() <= scale * 1e-9) {
        return err(EKS_ERR_MISMATCH, format!("{}: ciphertext scale {} is not the expected {}", what, sc, scale));
    }
    Ok(())
}

/// Loads an (already prechecked, uncompressed) ciphertext through SEAL's validating load and
/// re-checks the result.
fn load_cipher(ctx: &Ctx, raw: &mut [u8], parms: &ParmsId, scale: f64, what: &str) -> Res<SealCipher> {
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
    if &pid != parms || size != 2 || !ntt || (sc - scale).abs() > scale * 1e-9 {
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

fn create_context(poly_degree: u32, coeff_bits: &[i32], scale_bits: u32, block_width: u32) -> Res<Ctx> {
    if poly_degree != 4096 && poly_degree != 8192 {
        return err(EKS_ERR_INVALID_ARG, format!("poly_degree must be 4096 or 8192, got {}", poly_degree));
    }
    let n = coeff_bits.len();
    if !(3..=8).contains(&n) {
        return err(EKS_ERR_INVALID_ARG, format!("need 3..8 coefficient moduli (two data primes for one rescale + the special prime), got {}", n));
    }
    if let Some(b) = coeff_bits.iter().find(|b| !(20..=60).contains(*b)) {
        return err(EKS_ERR_INVALID_ARG, format!("coefficient modulus bit sizes must be in 20..=60, got {}", b));
    }
    let total: i32 = coeff_bits.iter().sum();
    let mut max_bits: c_int = 0;
    check(unsafe { ffi::CoeffModulus_MaxBitCount(poly_degree as u64, ffi::SEC_LEVEL_TC128, &mut max_bits) }, "CoeffModulus_MaxBitCount")?;
    if total > max_bits {
        return err(EKS_ERR_INVALID_ARG, format!("coefficient modulus of {} bits exceeds the 128-bit security bound of {} bits for N={}", total, max_bits, poly_degree));
    }
    if !(20..=60).contains(&scale_bits) {
        return err(EKS_ERR_INVALID_ARG, format!("scale_bits must be in 20..=60, got {}", scale_bits));
    }
    // After one rescale the scale is 2^(2s) / q_drop; it must leave head room under q_0.
    let drop_bits = coeff_bits[n - 2];
    let result_bits = 2 * scale_bits as i32 - drop_bits;
    if result_bits < 20 || result_bits + 3 > coeff_bits[0] {
        return err(EKS_ERR_INVALID_ARG, format!("scale 2^{} with a rescale by a {}-bit prime leaves a 2^{} result scale that does not fit under the {}-bit first prime with 3 bits of head room", scale_bits, drop_bits, result_bits, coeff_bits[0]));
    }
    let slots = (poly_degree / 2) as usize;
    if block_width == 0 || block_width as usize > slots {
        return err(EKS_ERR_INVALID_ARG, format!("block_width must be in 1..={}, got {}", slots, block_width));
    }

    // EncryptionParameters(ckks), degree, CoeffModulus::Create(degree, bits)
    let mut p = ptr::null_mut();
    check(unsafe { ffi::EncParams_Create1(ffi::SCHEME_CKKS, &mut p) }, "EncParams_Create")?;
    let params = SealParams(p);
    check(unsafe { ffi::EncParams_SetPolyModulusDegree(params.0, poly_degree as u64) }, "EncParams_SetPolyModulusDegree")?;
    let mut bits: Vec<c_int> = coeff_bits.iter().map(|&b| b as c_int).collect();
    let mut mods: Vec<*mut c_void> = vec![ptr::null_mut(); n];
    check(unsafe { ffi::CoeffModulus_Create1(poly_degree as u64, n as u64, bits.as_mut_ptr(), mods.as_mut_ptr()) }, "CoeffModulus_Create")?;
    let mods: Vec<SealModulus> = mods.into_iter().map(SealModulus).collect();
    let mut values = Vec::with_capacity(n);
    for m in &mods {
        let mut v = 0u64;
        check(unsafe { ffi::Modulus_Value(m.0, &mut v) }, "Modulus_Value")?;
        values.push(v);
    }
    let mut raw_mods: Vec<*mut c_void> = mods.iter().map(|m| m.0).collect();
    check(unsafe { ffi::EncParams_SetCoeffModulus(params.0, n as u64, raw_mods.as_mut_ptr()) }, "EncParams_SetCoeffModulus")?;

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
    let first_parms = parms_of(ffi::SEALContext_FirstParmsId, seal.0, "SEALContext_FirstParmsId")?;
    let last_parms = parms_of(ffi::SEALContext_LastParmsId, seal.0, "SEALContext_LastParmsId")?;

    let mut e = ptr::null_mut();
    check(unsafe { ffi::CKKSEncoder_Create(seal.0, &mut e) }, "CKKSEncoder_Create")?;
    let encoder = SealEncoder(e);
    let mut sc = 0u64;
    check(unsafe { ffi::CKKSEncoder_SlotCount(encoder.0, &mut sc) }, "CKKSEncoder_SlotCount")?;
    if sc as usize != slots {
        return err(EKS_ERR_SEAL, format!("unexpected slot count {}", sc));
    }
    let mut ev = ptr::null_mut();
    check(unsafe { ffi::Evaluator_Create(seal.0, &mut ev) }, "Evaluator_Create")?;
    let evaluator = SealEvaluator(ev);

    let scale = (2.0f64).powi(scale_bits as i32);
    // SEAL: multiply_plain multiplies scales (exact for powers of two), rescale divides by the
    // dropped prime as a double; mod_switch keeps the scale.
    let result_scale = (scale * scale) / values[n - 2] as f64;
    let nd = poly_degree as usize;
    let first_primes = (n - 1) as u64; // key level drops the special prime
    let last_primes = 1u64;
    let meta = 1024usize; // headers, parms_id, sizes, scale, DynArray header, PRNG seed info
    let max_query_uncompressed = meta + 2 * nd * first_primes as usize * 8;
    let max_result_uncompressed = meta + 2 * nd * 8;
    let zstd_slack = |u: usize| u + u / 64 + 1024;
    // elementwise products must stay well inside the result modulus: |a·b| ≤ 2^(q0 − r − 3)
    let head_bits = coeff_bits[0] - result_bits - 3;
    let max_abs_value = (2.0f64).powf(head_bits as f64 / 2.0).max(1.0);
    Ok(Ctx {
        encoder,
        evaluator,
        seal,
        poly_degree: poly_degree as u64,
        slots,
        block_width: block_width as usize,
        blocks: slots / block_width as usize,
        scale_bits,
        scale,
        result_scale,
        first_parms,
        last_parms,
        first_primes,
        last_primes,
        max_abs_value,
        max_query_uncompressed,
        max_result_uncompressed,
        max_query_bytes: zstd_slack(max_query_uncompressed),
        max_result_bytes: zstd_slack(max_result_uncompressed),
        max_secret_key_bytes: meta + nd * n * 8,
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
        o[0] = c.slots as i64;
        o[1] = c.blocks as i64;
        o[2] = c.block_width as i64;
        o[3] = c.max_query_bytes as i64;
        o[4] = c.max_result_bytes as i64;
        o[5] = c.max_secret_key_bytes as i64;
        o[6] = c.poly_degree as i64;
        o[7] = c.scale_bits as i64;
        o[8] = c.first_primes as i64;
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
            zero(&mut buf);
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
        let bytes = std::slice::from_raw_parts(data, len as usize);
        if bytes.len() > c.max_secret_key_bytes {
            return err(EKS_ERR_MALFORMED, format!("secret key: {} bytes exceeds the maximum of {}", bytes.len(), c.max_secret_key_bytes));
        }
        if bytes.len() >= SEAL_HEADER_SIZE && bytes[5] != ffi::COMPR_NONE {
            return err(EKS_ERR_MALFORMED, "secret key: must be stored uncompressed");
        }
        let mut raw = precheck_serialized(bytes, c.max_secret_key_bytes, c.max_secret_key_bytes, "secret key")?;
        // SecretKey = Plaintext: parms_id first; must be the key level of this context
        if raw.len() >= SEAL_HEADER_SIZE + 32 {
            let m = &raw[SEAL_HEADER_SIZE..];
            let pid: Vec<u64> = (0..4).map(|i| u64::from_le_bytes(m[i * 8..i * 8 + 8].try_into().unwrap())).collect();
            let key_parms = parms_of(ffi::SEALContext_KeyParmsId, c.seal.0, "SEALContext_KeyParmsId")?;
            if pid[..] != key_parms[..] {
                zero(&mut raw);
                return err(EKS_ERR_MISMATCH, "secret key was generated for other encryption parameters");
            }
        }
        let mut sk = ptr::null_mut();
        check(ffi::SecretKey_Create1(&mut sk), "SecretKey_Create")?;
        let sk = SealSecretKey(sk);
        let mut read: i64 = 0;
        let r = check(ffi::SecretKey_Load(sk.0, c.seal.0, raw.as_mut_ptr(), raw.len() as u64, &mut read), "SecretKey_Load (validated)");
        let read_ok = read as usize == raw.len();
        zero(&mut raw);
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
// key holder: encrypt (symmetric, seeded) and decrypt + block sums
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
        *out = boxed(EksKeyHolder { tag: TAG_KEYHOLDER, encryptor, decryptor, ctx: c.clone() });
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

/// A slot vector of `c` holding each `(block, vector)` (vector at most block_width long) at
/// offset block·block_width, zeros elsewhere.
fn pack_blocks_at<'a>(c: &Ctx, vectors: impl Iterator<Item = (usize, &'a [f32])>) -> Vec<f64> {
    let mut slots = vec![0f64; c.slots];
    for (block, v) in vectors {
        let base = block * c.block_width;
        for (i, &x) in v.iter().enumerate() {
            slots[base + i] = x as f64;
        }
    }
    slots
}

/// Encodes a full slot vector at the first level and the scale of `c`.
fn encode_slots(c: &Ctx, slots: &mut [f64]) -> Res<SealPlain> {
    let plain = new_plain()?;
    let mut pid = c.first_parms;
    check(
        unsafe {
            ffi::CKKSEncoder_Encode1(c.encoder.0, slots.len() as u64, slots.as_mut_ptr(), pid.as_mut_ptr(), c.scale, plain.0, ptr::null_mut())
        },
        "CKKSEncoder_Encode",
    )?;
    Ok(plain)
}

fn save_cipher(ct: &SealCipher, compr: u8) -> Res<(Vec<u8>, usize)> {
    let mut bound: i64 = 0;
    check(unsafe { ffi::Ciphertext_SaveSize(ct.0, compr, &mut bound) }, "Ciphertext_SaveSize")?;
    if bound <= 0 || bound > (1 << 30) {
        return err(EKS_ERR_SEAL, format!("unexpected ciphertext save size {}", bound));
    }
    let mut buf = vec![0u8; bound as usize];
    let mut written: i64 = 0;
    check(unsafe { ffi::Ciphertext_Save(ct.0, buf.as_mut_ptr(), bound as u64, compr, &mut written) }, "Ciphertext_Save")?;
    Ok((buf, written as usize))
}

/// Encrypts `v` (len ≤ block_width) replicated into every block, with the secret key, and
/// serializes it with the PRNG seed in place of the second polynomial, zstd-compressed.
///
/// # Safety
/// `v` must point to `len` floats; out pointers writable.
#[no_mangle]
pub unsafe extern "C" fn eks_encrypt_replicated(
    kh: *const EksKeyHolder,
    v: *const f32,
    len: u32,
    out_data: *mut *mut u8,
    out_len: *mut u64,
) -> i32 {
    guard(|| {
        let (od, ol) = cleared_byte_outputs(out_data, out_len)?;
        let k = deref_handle(kh, TAG_KEYHOLDER, "key holder")?;
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
        let mut slots = pack_blocks_at(c, (0..c.blocks).map(|b| (b, q)));
        let plain = encode_slots(c, &mut slots);
        slots.iter_mut().for_each(|x| ptr::write_volatile(x, 0.0));
        let plain = plain?;
        let ct = new_cipher()?;
        check(ffi::Encryptor_EncryptSymmetric(k.encryptor.0, plain.0, true, ct.0, ptr::null_mut()), "Encryptor_EncryptSymmetric")?;
        let (buf, n) = save_cipher(&ct, ffi::COMPR_NONE)?;
        give_bytes(buf, n, od, ol);
        Ok(())
    })
}

/// Decrypts a result ciphertext from `eks_score_batch` and writes the sums of the first
/// `count` blocks (count ≤ blocks) to `sums`.
///
/// # Safety
/// `data` must point to `len` bytes, `sums` to `count` writable doubles.
#[no_mangle]
pub unsafe extern "C" fn eks_decrypt_block_sums(
    kh: *const EksKeyHolder,
    data: *const u8,
    len: u64,
    count: u32,
    sums: *mut f64,
) -> i32 {
    guard(|| {
        let k = deref_handle(kh, TAG_KEYHOLDER, "key holder")?;
        let c = &k.ctx;
        if data.is_null() || sums.is_null() {
            return err(EKS_ERR_NULL, "null data or output");
        }
        let count = count as usize;
        if count == 0 || count > c.blocks {
            return err(EKS_ERR_INVALID_ARG, format!("count {} must be in 1..={}", count, c.blocks));
        }
        let bytes = std::slice::from_raw_parts(data, len as usize);
        let mut raw = precheck_serialized(bytes, c.max_result_bytes, c.max_result_uncompressed, "result ciphertext")?;
        precheck_ciphertext_members(&raw, c, &c.last_parms, c.last_primes, c.result_scale, "result ciphertext")?;
        let ct = load_cipher(c, &mut raw, &c.last_parms, c.result_scale, "result ciphertext")?;
        let plain = new_plain()?;
        check(ffi::Decryptor_Decrypt(k.decryptor.0, ct.0, plain.0), "Decryptor_Decrypt")?;
        let mut values = vec![0f64; c.slots];
        let mut n = c.slots as u64;
        check(ffi::CKKSEncoder_Decode1(c.encoder.0, plain.0, &mut n, values.as_mut_ptr(), ptr::null_mut()), "CKKSEncoder_Decode")?;
        if n as usize != c.slots {
            return err(EKS_ERR_SEAL, format!("decoded {} values, expected {}", n, c.slots));
        }
        let out = std::slice::from_raw_parts_mut(sums, count);
        for (b, o) in out.iter_mut().enumerate() {
            let base = b * c.block_width;
            *o = values[base..base + c.block_width].iter().sum();
        }
        values.iter_mut().for_each(|x| ptr::write_volatile(x, 0.0));
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// server side: load the query, score batches (no secret, Galois or relinearization key)
// ---------------------------------------------------------------------------------------------

/// Loads a query ciphertext from untrusted bytes: size bound, SEAL header, bounded zstd
/// decompression, parameter/level/scale check, then SEAL's validating `Ciphertext::load`.
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
        if len as usize > c.max_query_bytes {
            return err(EKS_ERR_MALFORMED, format!("query ciphertext: {} bytes exceeds the maximum of {} for these parameters", len, c.max_query_bytes));
        }
        let bytes = std::slice::from_raw_parts(data, len as usize);
        let mut raw = precheck_serialized(bytes, c.max_query_bytes, c.max_query_uncompressed, "query ciphertext")?;
        precheck_ciphertext_members(&raw, c, &c.first_parms, c.first_primes, c.scale, "query ciphertext")?;
        let ct = load_cipher(c, &mut raw, &c.first_parms, c.scale, "query ciphertext")?;
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

/// Packs `count` (≤ blocks) vectors of `dim` (≤ block_width) floats into consecutive blocks; block
/// j is multiplied by query `block_query[j]` (an index into `queries`, one loaded query per cell):
/// one plaintext and one `multiply_plain` per distinct query, the products summed (their blocks
/// are disjoint), then one rescale, a switch to the last level and the uncompressed serialization
/// of the single result. So hits of several cells share one result ciphertext.
///
/// # Safety
/// `queries` must point to `n_queries` handles, `block_query` to `count` indices, `vectors` to
/// `count*dim` floats; out pointers writable.
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
        let mut sum: Option<SealCipher> = None;
        for (qi, q) in qs.iter().enumerate() {
            let mine: Vec<usize> = (0..count).filter(|&j| owner[j] as usize == qi).collect();
            let Some(&first) = mine.first() else {
                return err(EKS_ERR_INVALID_ARG, format!("query {} has no block in this batch", qi));
            };
            let mut slots = pack_blocks_at(c, mine.iter().map(|&j| (j, &vs[j * dim..(j + 1) * dim])));
            if slots.iter().all(|&x| x == 0.0) {
                // An all-zero plaintext would make the product transparent (c1 = 0), which SEAL
                // refuses. Put a marker in a slot the key holder never sums (after the `count`
                // blocks) or, when a full batch leaves no such slot, a 1e-6 in this query's
                // first block (changes that score by at most 1e-6·|q_0|). Leaks nothing: the
                // server knows its own plaintext.
                let used = count * c.block_width;
                if used < c.slots {
                    slots[used] = 1e-3;
                } else {
                    slots[first * c.block_width] = 1e-6;
                }
            }
            let plain = encode_slots(c, &mut slots)?;
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
        let sum = sum.expect("at least one query");
        let resc = new_cipher()?;
        check(ffi::Evaluator_RescaleToNext(c.evaluator.0, sum.0, resc.0, ptr::null_mut()), "Evaluator_RescaleToNext")?;
        let res = if c.first_primes > 2 {
            let last = new_cipher()?;
            let mut lp = c.last_parms;
            check(ffi::Evaluator_ModSwitchTo1(c.evaluator.0, resc.0, lp.as_mut_ptr(), last.0, ptr::null_mut()), "Evaluator_ModSwitchTo")?;
            last
        } else {
            resc
        };
        let (buf, n) = save_cipher(&res, ffi::COMPR_NONE)?;
        give_bytes(buf, n, od, ol);
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
        zero(&mut b);
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
