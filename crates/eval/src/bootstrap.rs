//! Paired comparison of two runs on the same test cases, with a seeded bootstrap interval, so
//! "B beats A" is a measured claim.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{EvalError, Result};
use crate::evaluator::{hit, mrr, ndcg};

/// The mean difference B − A of a per-case metric with its bootstrap interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedComparison {
    /// Such as `NDCG@10`.
    pub metric: String,
    pub mean_a: f64,
    pub mean_b: f64,
    /// mean(B) − mean(A).
    pub difference: f64,
    /// Lower end of the 95% percentile interval of the difference.
    pub low: f64,
    /// Upper end of the 95% percentile interval of the difference.
    pub high: f64,
    pub resamples: usize,
    pub cases: usize,
    pub seed: u64,
}

impl PairedComparison {
    /// Whether the interval lies entirely above zero (B is better) or below (A is better).
    pub fn verdict(&self) -> String {
        self.verdict_between("A", "B")
    }

    /// [`PairedComparison::verdict`] with the two sides named (`"RL better"`).
    pub fn verdict_between(&self, a: &str, b: &str) -> String {
        if self.low > 0.0 {
            format!("{b} better")
        } else if self.high < 0.0 {
            format!("{a} better")
        } else {
            "no significant difference".into()
        }
    }
}

/// Per-case values of `metric` (`HR@K`, `NDCG@K` or `MRR@K`) from ranks.
pub fn per_case(metric: &str, ranks: &[u32]) -> Result<Vec<f64>> {
    let unknown = || EvalError::UnknownMetric(metric.to_string());
    let (family, k) = metric.split_once('@').ok_or_else(unknown)?;
    let k: usize = k.parse().map_err(|_| unknown())?;
    let f: fn(u32, usize) -> f64 = match family {
        "HR" => hit,
        "NDCG" => ndcg,
        "MRR" => mrr,
        _ => return Err(unknown()),
    };
    Ok(ranks.iter().map(|&r| f(r, k)).collect())
}

/// Compares per-case values `a` and `b` (same cases, same order) with `resamples` bootstrap
/// resamples of the cases.
pub fn paired_bootstrap(
    metric: &str,
    a: &[f64],
    b: &[f64],
    resamples: usize,
    seed: u64,
) -> Result<PairedComparison> {
    if a.len() != b.len() {
        return Err(EvalError::Unpaired {
            a: a.len(),
            b: b.len(),
        });
    }
    if a.is_empty() {
        return Err(EvalError::NoCases);
    }
    let n = a.len();
    let differences: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let resamples = resamples.max(1);
    // One generator per resample, seeded from (seed, index): the result does not depend on
    // the thread count.
    let mut means: Vec<f64> = (0..resamples)
        .into_par_iter()
        .map(|index| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(
                seed ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            );
            (0..n)
                .map(|_| differences[rng.random_range(0..n)])
                .sum::<f64>()
                / n as f64
        })
        .collect();
    means.sort_unstable_by(f64::total_cmp);
    let quantile = |q: f64| means[((q * resamples as f64).floor() as usize).min(resamples - 1)];
    Ok(PairedComparison {
        metric: metric.to_string(),
        mean_a: mean(a),
        mean_b: mean(b),
        difference: mean(&differences),
        low: quantile(0.025),
        high: quantile(0.975),
        resamples,
        cases: n,
        seed,
    })
}

/// Compares two runs' ranks on `metric` (such as `NDCG@10`).
pub fn compare_ranks(
    metric: &str,
    a: &[u32],
    b: &[u32],
    resamples: usize,
    seed: u64,
) -> Result<PairedComparison> {
    paired_bootstrap(
        metric,
        &per_case(metric, a)?,
        &per_case(metric, b)?,
        resamples,
        seed,
    )
}
