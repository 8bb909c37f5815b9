//! Parameter sweep: max |decrypted score − plaintext inner product| for residual-like
//! vectors (length 288, norm ≈ 0.5–1). `cargo run --release --example sweep`
use encrypted_knn_seal::*;
use std::ptr;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 { self.0 ^= self.0 << 13; self.0 ^= self.0 >> 7; self.0 ^= self.0 << 17; (self.0 >> 11) as f64 / (1u64 << 53) as f64 }
    fn gauss(&mut self) -> f64 { let (u, v) = (self.next().max(1e-300), self.next()); (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos() }
    fn vec(&mut self, d: usize, norm: f64) -> Vec<f32> { let v: Vec<f64> = (0..d).map(|_| self.gauss()).collect(); let n = v.iter().map(|x| x * x).sum::<f64>().sqrt(); v.iter().map(|x| (x / n * norm) as f32).collect() }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let trials: usize = args.get(1).map(|s| s.parse().unwrap()).unwrap_or(20);
    // (N, [prime bits], query scale bits); the candidate scale gets bits − 4 − query scale bits
    let configs: &[(u32, &[i32], u32)] = &[
        (4096, &[40], 20), (4096, &[44], 22), (4096, &[46], 23), (4096, &[48], 24), (4096, &[50], 25), (4096, &[50], 27),
        (4096, &[52], 26), (4096, &[54], 27), (8192, &[50], 25), (8192, &[54], 27),
    ];
    let d = 288usize;
    for &(n, bits, s) in configs {
        unsafe {
            let mut ctx = ptr::null_mut();
            let rc = eks_context_create(n, bits.as_ptr(), bits.len() as u32, s, d as u32, &mut ctx);
            if rc != 0 { let mut b = vec![0i8; 512]; eks_last_error(b.as_mut_ptr(), 512); println!("{} {:?} s={} -> error {}", n, bits, s, std::ffi::CStr::from_ptr(b.as_ptr()).to_string_lossy()); continue; }
            let mut info = [0i64; 10]; eks_context_info(ctx, info.as_mut_ptr());
            let blocks = info[1] as usize;
            let mut sk = ptr::null_mut(); assert_eq!(eks_secret_key_generate(ctx, &mut sk), 0);
            let mut kh = ptr::null_mut(); assert_eq!(eks_keyholder_create(ctx, sk, &mut kh), 0);
            let mut rng = Rng(0x9E3779B97F4A7C15);
            let mut maxerr = 0f64; let mut qlen = 0; let mut rlen = 0;
            for _ in 0..trials {
                let q = rng.vec(d, 1.0);
                let (mut qd, mut ql) = (ptr::null_mut(), 0u64);
                let rc = eks_encrypt_query(kh, ptr::null(), q.as_ptr(), d as u32, &mut qd, &mut ql); if rc != 0 { let mut b = vec![0i8; 512]; eks_last_error(b.as_mut_ptr(), 512); panic!("{}", std::ffi::CStr::from_ptr(b.as_ptr()).to_string_lossy()); }
                let mut ct = ptr::null_mut();
                let rc = eks_query_load(ctx, qd, ql, &mut ct);
                if rc != 0 { let mut b = vec![0i8; 512]; eks_last_error(b.as_mut_ptr(), 512); panic!("{}", std::ffi::CStr::from_ptr(b.as_ptr()).to_string_lossy()); }
                let cands: Vec<Vec<f32>> = (0..blocks).map(|_| { let norm = 0.3 + 0.7 * rng.next(); rng.vec(d, norm) }).collect();
                let flat: Vec<f32> = cands.iter().flatten().copied().collect();
                let (mut rd, mut rl) = (ptr::null_mut(), 0u64);
                let (qs, owner) = ([ct as *const EksCiphertext], vec![0u32; blocks]);
                assert_eq!(eks_score_batch(ctx, qs.as_ptr(), 1, owner.as_ptr(), flat.as_ptr(), blocks as u32, d as u32, &mut rd, &mut rl), 0);
                let mut sums = vec![0f64; blocks];
                assert_eq!(eks_decrypt_scores(kh, rd, rl, blocks as u32, sums.as_mut_ptr()), 0);
                for (j, c) in cands.iter().enumerate() {
                    let exact: f64 = q.iter().zip(c).map(|(a, b)| *a as f64 * *b as f64).sum();
                    maxerr = maxerr.max((sums[j] - exact).abs());
                }
                qlen = ql; rlen = rl;
                eks_bytes_free(qd, ql); eks_bytes_free(rd, rl); eks_ciphertext_free(ct);
            }
            println!("N={} prime={:?} Δq=2^{} Δc=2^{} blocks={} max_abs_err={:.3e} query={}B result={}B", n, bits, s, info[8], blocks, maxerr, qlen, rlen);
            eks_keyholder_free(kh); eks_secret_key_free(sk); eks_context_free(ctx);
        }
    }
}
