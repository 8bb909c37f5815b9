//! Raw declarations of the Microsoft SEAL 4.0 C API ("sealc", `SEAL/native/src/seal/c/*.h`),
//! linked statically into this library through the `sealy` crate (which builds
//! `libsealc-4.0.a` and `libseal-4.0.a`).
//!
//! Every sealc function returns an HRESULT (`long` on Linux): 0 is `S_OK`, anything else is an
//! error. sealc catches `std::invalid_argument`, `std::logic_error` and (for I/O functions)
//! `std::runtime_error` and turns them into HRESULTs; other C++ exceptions (e.g. `std::bad_alloc`)
//! are *not* caught, which is why every input is size-checked before it reaches SEAL.

#![allow(non_snake_case)]
#![allow(dead_code)]

use std::os::raw::{c_char, c_int, c_long, c_void};

pub type HResult = c_long;

pub const S_OK: HResult = 0;
pub const E_POINTER: HResult = 0x8000_4003;
pub const E_INVALIDARG: HResult = 0x8007_0057;
pub const E_OUTOFMEMORY: HResult = 0x8007_000E;
pub const E_UNEXPECTED: HResult = 0x8000_FFFF;
pub const COR_E_IO: HResult = 0x8013_1620;
pub const COR_E_INVALIDOPERATION: HResult = 0x8013_1509;

/// `seal::scheme_type::ckks`
pub const SCHEME_CKKS: u8 = 0x2;
/// `seal::sec_level_type::tc128`
pub const SEC_LEVEL_TC128: c_int = 128;
/// `seal::compr_mode_type`
pub const COMPR_NONE: u8 = 0;

extern "C" {
    // version.h
    pub fn Version_Major(result: *mut u8) -> HResult;
    pub fn Version_Minor(result: *mut u8) -> HResult;
    pub fn Version_Patch(result: *mut u8) -> HResult;

    // encryptionparameters.h
    pub fn EncParams_Create1(scheme: u8, enc_params: *mut *mut c_void) -> HResult;
    pub fn EncParams_Destroy(thisptr: *mut c_void) -> HResult;
    pub fn EncParams_SetPolyModulusDegree(thisptr: *mut c_void, degree: u64) -> HResult;
    pub fn EncParams_SetCoeffModulus(thisptr: *mut c_void, length: u64, coeffs: *mut *mut c_void) -> HResult;

    // modulus.h
    pub fn Modulus_Destroy(thisptr: *mut c_void) -> HResult;
    pub fn Modulus_Value(thisptr: *mut c_void, value: *mut u64) -> HResult;
    pub fn Modulus_BitCount(thisptr: *mut c_void, bit_count: *mut c_int) -> HResult;
    pub fn CoeffModulus_MaxBitCount(poly_modulus_degree: u64, sec_level: c_int, bit_count: *mut c_int) -> HResult;
    pub fn CoeffModulus_Create1(
        poly_modulus_degree: u64,
        length: u64,
        bit_sizes: *mut c_int,
        coeffs: *mut *mut c_void,
    ) -> HResult;

    // sealcontext.h
    pub fn SEALContext_Create(
        enc_params: *mut c_void,
        expand_mod_chain: bool,
        sec_level: c_int,
        context: *mut *mut c_void,
    ) -> HResult;
    pub fn SEALContext_Destroy(thisptr: *mut c_void) -> HResult;
    pub fn SEALContext_KeyParmsId(thisptr: *mut c_void, parms_id: *mut u64) -> HResult;
    pub fn SEALContext_FirstParmsId(thisptr: *mut c_void, parms_id: *mut u64) -> HResult;
    pub fn SEALContext_LastParmsId(thisptr: *mut c_void, parms_id: *mut u64) -> HResult;
    pub fn SEALContext_ParametersSet(thisptr: *mut c_void, params_set: *mut bool) -> HResult;
    pub fn SEALContext_ParameterErrorMessage(thisptr: *mut c_void, outstr: *mut c_char, length: *mut u64) -> HResult;

    // keygenerator.h / secretkey.h
    pub fn KeyGenerator_Create1(context: *mut c_void, key_generator: *mut *mut c_void) -> HResult;
    pub fn KeyGenerator_Destroy(thisptr: *mut c_void) -> HResult;
    pub fn KeyGenerator_SecretKey(thisptr: *mut c_void, secret_key: *mut *mut c_void) -> HResult;
    pub fn SecretKey_Create1(secret_key: *mut *mut c_void) -> HResult;
    pub fn SecretKey_Destroy(thisptr: *mut c_void) -> HResult;
    pub fn SecretKey_ParmsId(thisptr: *mut c_void, parms_id: *mut u64) -> HResult;
    pub fn SecretKey_SaveSize(thisptr: *mut c_void, compr_mode: u8, result: *mut i64) -> HResult;
    pub fn SecretKey_Save(thisptr: *mut c_void, outptr: *mut u8, size: u64, compr_mode: u8, out_bytes: *mut i64) -> HResult;
    pub fn SecretKey_Load(thisptr: *mut c_void, context: *mut c_void, inptr: *mut u8, size: u64, in_bytes: *mut i64) -> HResult;

    // plaintext.h
    pub fn Plaintext_Create1(memory_pool_handle: *mut c_void, plaintext: *mut *mut c_void) -> HResult;
    pub fn Plaintext_Destroy(thisptr: *mut c_void) -> HResult;
    pub fn Plaintext_CoeffAt(thisptr: *mut c_void, index: u64, coeff: *mut u64) -> HResult;
    pub fn Plaintext_SetZero1(thisptr: *mut c_void) -> HResult;
    pub fn Plaintext_SetParmsId(thisptr: *mut c_void, parms_id: *mut u64) -> HResult;
    pub fn Plaintext_SetScale(thisptr: *mut c_void, scale: f64) -> HResult;
    /// Copies `count` words into the plaintext's data and coefficient count (no checks on the
    /// values) and clears its parms_id (coefficient form).
    pub fn Plaintext_Set4(thisptr: *mut c_void, count: u64, coeffs: *mut u64) -> HResult;

    // ciphertext.h
    pub fn Ciphertext_Create1(pool: *mut c_void, cipher: *mut *mut c_void) -> HResult;
    pub fn Ciphertext_Destroy(thisptr: *mut c_void) -> HResult;
    pub fn Ciphertext_Size(thisptr: *mut c_void, size: *mut u64) -> HResult;
    pub fn Ciphertext_Resize1(thisptr: *mut c_void, context: *mut c_void, parms_id: *mut u64, size: u64) -> HResult;
    /// Bounds-checked element access to the data array (poly-major, then prime, then coefficient).
    pub fn Ciphertext_GetDataAt1(thisptr: *mut c_void, index: u64, data: *mut u64) -> HResult;
    pub fn Ciphertext_SetDataAt(thisptr: *mut c_void, index: u64, value: u64) -> HResult;
    pub fn Ciphertext_SetIsNTTForm(thisptr: *mut c_void, is_ntt_form: bool) -> HResult;
    pub fn Ciphertext_SetScale(thisptr: *mut c_void, scale: f64) -> HResult;
    pub fn Ciphertext_ParmsId(thisptr: *mut c_void, parms_id: *mut u64) -> HResult;
    pub fn Ciphertext_IsNTTForm(thisptr: *mut c_void, is_ntt_form: *mut bool) -> HResult;
    pub fn Ciphertext_Scale(thisptr: *mut c_void, scale: *mut f64) -> HResult;
    pub fn Ciphertext_IsTransparent(thisptr: *mut c_void, result: *mut bool) -> HResult;
    pub fn Ciphertext_SaveSize(thisptr: *mut c_void, compr_mode: u8, result: *mut i64) -> HResult;
    pub fn Ciphertext_Save(thisptr: *mut c_void, outptr: *mut u8, size: u64, compr_mode: u8, out_bytes: *mut i64) -> HResult;
    pub fn Ciphertext_Load(thisptr: *mut c_void, context: *mut c_void, inptr: *mut u8, size: u64, in_bytes: *mut i64) -> HResult;

    // encryptor.h / decryptor.h
    pub fn Encryptor_Create(
        context: *mut c_void,
        public_key: *mut c_void,
        secret_key: *mut c_void,
        encryptor: *mut *mut c_void,
    ) -> HResult;
    pub fn Encryptor_Destroy(thisptr: *mut c_void) -> HResult;
    pub fn Encryptor_EncryptSymmetric(
        thisptr: *mut c_void,
        plaintext: *mut c_void,
        save_seed: bool,
        destination: *mut c_void,
        pool_handle: *mut c_void,
    ) -> HResult;
    pub fn Encryptor_EncryptZeroSymmetric1(
        thisptr: *mut c_void,
        parms_id: *mut u64,
        save_seed: bool,
        destination: *mut c_void,
        pool_handle: *mut c_void,
    ) -> HResult;
    pub fn Decryptor_Create(context: *mut c_void, secret_key: *mut c_void, decryptor: *mut *mut c_void) -> HResult;
    pub fn Decryptor_Destroy(thisptr: *mut c_void) -> HResult;
    pub fn Decryptor_Decrypt(thisptr: *mut c_void, encrypted: *mut c_void, destination: *mut c_void) -> HResult;

    // evaluator.h
    pub fn Evaluator_Create(context: *mut c_void, evaluator: *mut *mut c_void) -> HResult;
    pub fn Evaluator_Destroy(thisptr: *mut c_void) -> HResult;
    pub fn Evaluator_MultiplyPlain(
        thisptr: *mut c_void,
        encrypted: *mut c_void,
        plain: *mut c_void,
        destination: *mut c_void,
        pool: *mut c_void,
    ) -> HResult;
    pub fn Evaluator_AddPlain(thisptr: *mut c_void, encrypted: *mut c_void, plain: *mut c_void, destination: *mut c_void) -> HResult;
    pub fn Evaluator_Add(
        thisptr: *mut c_void,
        encrypted1: *mut c_void,
        encrypted2: *mut c_void,
        destination: *mut c_void,
    ) -> HResult;
    pub fn Evaluator_TransformToNTT2(thisptr: *mut c_void, encrypted: *mut c_void, destination_ntt: *mut c_void) -> HResult;
    pub fn Evaluator_TransformFromNTT(thisptr: *mut c_void, encrypted_ntt: *mut c_void, destination: *mut c_void) -> HResult;

    // memorymanager.h / memorypoolhandle.h
    pub fn MemoryManager_GetPool2(pool_handle: *mut *mut c_void) -> HResult;
    pub fn MemoryPoolHandle_Destroy(thisptr: *mut c_void) -> HResult;
    pub fn MemoryPoolHandle_AllocByteCount(thisptr: *mut c_void, count: *mut u64) -> HResult;
}
