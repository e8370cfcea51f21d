//! Full-ranking evaluation benchmark at MovieLens-20M scale: `full_ranking [users] [items]`
//! evaluates seeded uniform random scores (the `UniformRandom` baseline) for every user against
//! every item at K = 10, with a 50-item history masked per user, and prints one JSON line with
//! users/s and peak RSS. `benches/run.sh` runs it beside `benches/numpy_eval.py`.

use std::time::Instant;

use latentr3_eval::baselines::UniformRandom;
use latentr3_eval::{Case, EvalConfig, Evaluator, ItemStats};

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The same integer hash as `benches/numpy_eval.py` uses for histories and targets.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let users = args.first().copied().unwrap_or(138_493);
    let items = args.get(1).copied().unwrap_or(26_744);
    const HISTORY: usize = 50;
    // Training counts: Zipf-like, item i has about 1e6 / i interactions.
    let counts: Vec<u64> = std::iter::once(0)
        .chain((1..=items as u64).map(|i| 1_000_000 / i))
        .collect();
    let total: u64 = counts.iter().sum();
    let mut held = 0u64;
    let is_tail = counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let tail = i > 0 && held as f64 >= 0.8 * total as f64;
            held += c;
            tail
        })
        .collect();
    let stats = ItemStats {
        counts,
        is_tail,
        train_users: users,
    };
    let histories: Vec<u32> = (0..users * HISTORY)
        .map(|j| (mix(j as u64 + 1) % items as u64) as u32 + 1)
        .collect();
    let cases: Vec<Case<'_>> = (0..users)
        .map(|u| Case {
            user: u as u32,
            history: &histories[u * HISTORY..(u + 1) * HISTORY],
            seen: &histories[u * HISTORY..(u + 1) * HISTORY],
            target: (mix(u as u64 ^ 0xdead_beef) % items as u64) as u32 + 1,
        })
        .collect();
    let config = EvalConfig {
        ks: vec![10],
        mask_history: true,
        batch_size: 256,
    };
    let evaluator = Evaluator::new(config, stats).expect("valid settings");
    let started = Instant::now();
    let evaluation = evaluator
        .evaluate(&UniformRandom { seed: 0 }, &cases, "test")
        .expect("evaluates");
    let seconds = started.elapsed().as_secs_f64();
    let m = &evaluation.report.metrics;
    println!(
        "{{\"impl\":\"latentr3-eval\",\"users\":{users},\"items\":{items},\"seconds\":{seconds:.3},\"users_per_s\":{:.0},\"peak_rss_bytes\":{},\"threads\":{},\"HR@10\":{:.5},\"NDCG@10\":{:.5},\"ItemCoverage@10\":{:.4}}}",
        users as f64 / seconds,
        peak_rss_bytes(),
        rayon::current_num_threads(),
        m["HR@10"],
        m["NDCG@10"],
        m["ItemCoverage@10"],
    );
}
