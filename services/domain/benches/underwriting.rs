//! `cargo bench -p domain`: time of one underwriting decision, in process.
//!
//! A plain timing loop (no benchmark framework): warm up, then time batches and report the
//! median and the 99th percentile of the per-decision time across batches.

use std::hint::black_box;
use std::time::Instant;

use domain::Policy;
use domain::underwriting::underwrite;

fn main() {
    let policy = Policy::default_policy();
    let submission = domain::examples::submission();
    let context = domain::examples::context();
    for _ in 0..10_000 {
        black_box(underwrite(&policy, black_box(&submission), &context));
    }
    const BATCH: u32 = 1_000;
    let mut per_decision_ns: Vec<f64> = (0..500)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..BATCH {
                black_box(underwrite(&policy, black_box(&submission), &context));
            }
            started.elapsed().as_nanos() as f64 / f64::from(BATCH)
        })
        .collect();
    per_decision_ns.sort_by(f64::total_cmp);
    let at = |q: f64| per_decision_ns[((per_decision_ns.len() as f64 * q) as usize).min(per_decision_ns.len() - 1)];
    println!(
        "underwrite: median {:.2} µs, p99 {:.2} µs per decision ({} batches of {BATCH})",
        at(0.5) / 1000.0,
        at(0.99) / 1000.0,
        per_decision_ns.len()
    );
}
