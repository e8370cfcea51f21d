//! The evaluator against a brute-force reference written separately from it: every candidate of
//! every case compared with the target, lists by a full sort, every metric from its definition.
//! Random scores with ties, NaN and −∞, targets the user saw before, and seen lists much longer
//! than the model's input.

use latentr3_eval::{Case, EvalConfig, Evaluator, ItemStats};
use std::collections::{BTreeMap, HashSet};

/// SplitMix64, so the test needs no random-number crate.
struct Stream(u64);
impl Stream {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Ranks and metrics of `cases` by definition.
fn reference(
    stats: &ItemStats,
    cases: &[Case<'_>],
    scores: &[Vec<f32>],
    ks: &[usize],
    mask: bool,
) -> (Vec<u32>, BTreeMap<String, f64>) {
    let n = stats.counts.len() - 1;
    let score = |row: &[f32], i: usize| {
        if row[i].is_nan() {
            f32::NEG_INFINITY
        } else {
            row[i]
        }
    };
    let mut ranks = Vec::new();
    let mut lists = Vec::new();
    for (case, row) in cases.iter().zip(scores) {
        let target = case.target as usize;
        let seen: HashSet<usize> = if mask {
            case.seen.iter().map(|&i| i as usize).collect()
        } else {
            HashSet::new()
        };
        let candidates: Vec<usize> = (1..=n)
            .filter(|&i| i == target || !seen.contains(&i))
            .collect();
        let t = score(row, target);
        let beaten_by = candidates
            .iter()
            .filter(|&&i| i != target && score(row, i) >= t)
            .count();
        ranks.push(1 + beaten_by as u32);
        let mut listed: Vec<usize> = candidates
            .into_iter()
            .filter(|&i| score(row, i) > f32::NEG_INFINITY)
            .collect();
        listed.sort_by(|&a, &b| score(row, b).total_cmp(&score(row, a)).then(a.cmp(&b)));
        lists.push(listed);
    }
    let users = stats.train_users as f64 + 1.0;
    let cases_n = cases.len() as f64;
    let mut metrics = BTreeMap::new();
    for &k in ks {
        let mut put = |name: &str, v: f64| {
            metrics.insert(format!("{name}@{k}"), v);
        };
        let hit = |r: u32| f64::from(u8::from(r as usize <= k));
        let gain = |r: u32| hit(r) / (f64::from(r) + 1.0).log2();
        put("HR", ranks.iter().map(|&r| hit(r)).sum::<f64>() / cases_n);
        put(
            "NDCG",
            ranks.iter().map(|&r| gain(r)).sum::<f64>() / cases_n,
        );
        put(
            "MRR",
            ranks.iter().map(|&r| hit(r) / f64::from(r)).sum::<f64>() / cases_n,
        );
        for (name, want_tail) in [("Head", false), ("Tail", true)] {
            let picked: Vec<u32> = cases
                .iter()
                .zip(&ranks)
                .filter(|(c, _)| stats.is_tail[c.target as usize] == want_tail)
                .map(|(_, &r)| r)
                .collect();
            if !picked.is_empty() {
                let m = picked.len() as f64;
                put(
                    &format!("{name}HR"),
                    picked.iter().map(|&r| hit(r)).sum::<f64>() / m,
                );
                put(
                    &format!("{name}NDCG"),
                    picked.iter().map(|&r| gain(r)).sum::<f64>() / m,
                );
            }
        }
        let tops: Vec<&[usize]> = lists.iter().map(|l| &l[..k.min(l.len())]).collect();
        let mut x = vec![0u64; n];
        for top in &tops {
            for &i in *top {
                x[i - 1] += 1;
            }
        }
        put(
            "ItemCoverage",
            x.iter().filter(|&&v| v > 0).count() as f64 / n as f64,
        );
        let mut sorted = x.clone();
        sorted.sort_unstable();
        let total: u64 = sorted.iter().sum();
        // Nothing listed at all: no concentration to measure.
        let gini = if total == 0 {
            0.0
        } else {
            sorted
                .iter()
                .enumerate()
                .map(|(j, &v)| (2.0 * (j + 1) as f64 - n as f64 - 1.0) * v as f64)
                .sum::<f64>()
                / (n as f64 * total as f64)
        };
        put("Gini", gini);
        let slots = cases_n * k as f64;
        let entropy: f64 = x
            .iter()
            .filter(|&&v| v > 0)
            .map(|&v| -(v as f64 / slots) * (v as f64 / slots).ln())
            .sum();
        put("Entropy", entropy);
        put("EntropyNorm", entropy / (n as f64).ln());
        let count = |i: usize| stats.counts[i] as f64;
        put(
            "ARP",
            tops.iter()
                .filter(|t| !t.is_empty())
                .map(|t| t.iter().map(|&i| count(i)).sum::<f64>() / t.len() as f64)
                .sum::<f64>()
                / cases_n,
        );
        put(
            "APLT",
            tops.iter()
                .map(|t| t.iter().filter(|&&i| stats.is_tail[i]).count() as f64 / k as f64)
                .sum::<f64>()
                / cases_n,
        );
        let listed: usize = tops.iter().map(|t| t.len()).sum();
        if listed == 0 {
            continue;
        }
        put(
            "Novelty",
            tops.iter()
                .flat_map(|t| t.iter())
                .map(|&i| -((count(i) + 1.0) / users).log2())
                .sum::<f64>()
                / listed as f64,
        );
    }
    (ranks, metrics)
}

#[test]
fn the_evaluator_agrees_with_a_brute_force_reference() {
    let mut rng = Stream(7);
    for round in 0..40 {
        let n = 5 + rng.below(60) as usize;
        let counts: Vec<u64> = (0..=n)
            .map(|i| if i == 0 { 0 } else { rng.below(30) })
            .collect();
        let is_tail = (0..=n).map(|i| i > 0 && rng.below(3) == 0).collect();
        let stats = ItemStats {
            counts,
            is_tail,
            train_users: 50,
        };
        let cases_n = 1 + rng.below(90) as usize;
        let mut seen_lists = Vec::new();
        let mut targets = Vec::new();
        let mut scores = Vec::new();
        for _ in 0..cases_n {
            // Up to three times the catalogue: long histories, repeats, and the target itself.
            let length = rng.below(3 * n as u64) as usize;
            seen_lists.push(
                (0..length)
                    .map(|_| 1 + rng.below(n as u64) as u32)
                    .collect::<Vec<u32>>(),
            );
            targets.push(1 + rng.below(n as u64) as u32);
            // Few distinct values, so ties are everywhere; NaN and -inf now and then.
            scores.push(
                (0..=n)
                    .map(|_| match rng.below(20) {
                        0 => f32::NAN,
                        1 => f32::NEG_INFINITY,
                        2 => f32::INFINITY,
                        v => (v % 5) as f32 * 0.25,
                    })
                    .collect::<Vec<f32>>(),
            );
        }
        let cases: Vec<Case<'_>> = seen_lists
            .iter()
            .zip(&targets)
            .enumerate()
            .map(|(user, (seen, &target))| Case {
                user: user as u32,
                // The model would read at most 5 items; masking must not care.
                history: &seen[seen.len().saturating_sub(5)..],
                seen,
                target,
            })
            .collect();
        let table = scores.clone();
        let scorer = move |batch: &[Case<'_>], out: &mut [f32]| {
            for (case, row) in batch.iter().zip(out.chunks_mut(n + 1)) {
                row.copy_from_slice(&table[case.user as usize]);
            }
        };
        let ks: Vec<usize> = [1, 3, 10].into_iter().filter(|&k| k <= n).collect();
        for mask in [true, false] {
            let config = EvalConfig {
                ks: ks.clone(),
                mask_history: mask,
                batch_size: 1 + rng.below(9) as usize,
            };
            let evaluator = Evaluator::new(config, stats.clone()).unwrap();
            let evaluation = evaluator.evaluate(&scorer, &cases, "test").unwrap();
            let (ranks, metrics) = reference(&stats, &cases, &scores, &ks, mask);
            assert_eq!(evaluation.ranks, ranks, "round {round}, mask {mask}");
            let got = &evaluation.report.metrics;
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                metrics.keys().collect::<Vec<_>>(),
                "round {round}"
            );
            for (name, expected) in &metrics {
                let actual = got[name];
                assert!(
                    (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0),
                    "round {round}, mask {mask}, {name}: {actual} vs reference {expected}"
                );
            }
        }
    }
}
