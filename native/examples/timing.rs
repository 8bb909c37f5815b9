//! Per-call timings of the C ABI (thread CPU time). `cargo run --release --example timing`
use encrypted_knn_seal::*;
use std::ptr;

fn cpu_ms() -> f64 {
    let mut ts = libc_timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { clock_gettime(3 /* CLOCK_THREAD_CPUTIME_ID */, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}
#[repr(C)]
struct libc_timespec { tv_sec: i64, tv_nsec: i64 }
extern "C" { fn clock_gettime(clk: i32, ts: *mut libc_timespec) -> i32; }

fn main() {
    let bits = [50i32];
    let d = 288u32;
    unsafe {
        let mut ctx = ptr::null_mut();
        assert_eq!(eks_context_create(4096, bits.as_ptr(), 1, 25, d, &mut ctx), 0);
        let mut sk = ptr::null_mut(); assert_eq!(eks_secret_key_generate(ctx, &mut sk), 0);
        let mut kh = ptr::null_mut(); assert_eq!(eks_keyholder_create(ctx, sk, &mut kh), 0);
        let q: Vec<f32> = (0..d).map(|i| ((i as f32) * 0.37).sin() * 0.03).collect();
        let cands: Vec<f32> = (0..14 * d).map(|i| ((i as f32) * 0.11).cos() * 0.03).collect();
        let n = 300;
        let (mut te, mut tl, mut ts, mut td, mut tp_sum) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for _ in 0..n {
            let mut z = ptr::null_mut();
            let tp = cpu_ms();
            assert_eq!(eks_prepare_zero(kh, &mut z), 0);
            let t0 = cpu_ms();
            tp_sum += t0 - tp;
            let (mut qd, mut ql) = (ptr::null_mut(), 0u64);
            assert_eq!(eks_encrypt_query(kh, z, q.as_ptr(), d, &mut qd, &mut ql), 0);
            eks_prepared_zero_free(z);
            let t1 = cpu_ms();
            let mut ct = ptr::null_mut();
            assert_eq!(eks_query_load(ctx, qd, ql, &mut ct), 0);
            let t2 = cpu_ms();
            let (mut rd, mut rl) = (ptr::null_mut(), 0u64);
            let (qs, owner) = ([ct as *const EksCiphertext], [0u32; 14]);
            assert_eq!(eks_score_batch(ctx, qs.as_ptr(), 1, owner.as_ptr(), cands.as_ptr(), 14, d, &mut rd, &mut rl), 0);
            let t3 = cpu_ms();
            let mut sums = [0f64; 14];
            assert_eq!(eks_decrypt_scores(kh, rd, rl, 14, sums.as_mut_ptr()), 0);
            let t4 = cpu_ms();
            te += t1 - t0; tl += t2 - t1; ts += t3 - t2; td += t4 - t3;
            eks_bytes_free(qd, ql); eks_bytes_free(rd, rl); eks_ciphertext_free(ct);
        }
        let n = n as f64;
        println!("cpu ms/call: prepare zero {:.3}  encrypt (prepared) {:.3}  query_load {:.3}  score_batch(14) {:.3}  decrypt(14) {:.3}", tp_sum / n, te / n, tl / n, ts / n, td / n);
    }
}
