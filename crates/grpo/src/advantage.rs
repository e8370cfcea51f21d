//! Advantages from a batch of group rewards, laid out group after group (`batch × group`, the
//! first member of each group noise-free).

use crate::config::AdvantageKind;

/// Spread below this counts as "no spread" (a group whose members all got the same reward).
const NO_SPREAD: f64 = 1e-12;

/// Summary of one batch's advantages, for logging.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AdvantageStats {
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    /// Fraction of groups whose rewards are all equal (they teach nothing under `group`).
    pub zero_spread_groups: f64,
}

/// The advantage of every member. `rewards.len()` must be a multiple of `group`.
///
/// - `batch` (the paper's): `A = (s - b) / ‖s - b‖₂` where `b` is the mean reward of the
///   noise-free members and the norm runs over the whole batch.
/// - `group` (standard GRPO): `A = (s - mean_g) / std_g` within each group; a group without
///   spread gets zeros.
pub fn advantages(kind: AdvantageKind, rewards: &[f64], group: usize) -> Vec<f64> {
    assert!(
        group > 0 && rewards.len().is_multiple_of(group),
        "rewards must hold whole groups"
    );
    match kind {
        AdvantageKind::Batch => {
            let groups = rewards.len() / group;
            let baseline = rewards.iter().step_by(group).sum::<f64>() / groups.max(1) as f64;
            let centred: Vec<f64> = rewards.iter().map(|r| r - baseline).collect();
            let norm = centred.iter().map(|c| c * c).sum::<f64>().sqrt();
            if norm < NO_SPREAD {
                vec![0.0; rewards.len()]
            } else {
                centred.iter().map(|c| c / norm).collect()
            }
        }
        AdvantageKind::Group => rewards
            .chunks(group)
            .flat_map(|g| {
                let mean = g.iter().sum::<f64>() / group as f64;
                let std = (g.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / group as f64).sqrt();
                g.iter().map(move |r| {
                    if std < NO_SPREAD {
                        0.0
                    } else {
                        (r - mean) / std
                    }
                })
            })
            .collect(),
    }
}

/// Statistics of `advantages` and of the groups' reward spread.
pub fn stats(rewards: &[f64], advantages: &[f64], group: usize) -> AdvantageStats {
    let n = advantages.len().max(1) as f64;
    let mean = advantages.iter().sum::<f64>() / n;
    let std = (advantages.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n).sqrt();
    let groups = rewards.len() / group.max(1);
    let flat = rewards
        .chunks(group.max(1))
        .filter(|g| {
            let (lo, hi) = g
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
                    (lo.min(r), hi.max(r))
                });
            hi - lo < NO_SPREAD
        })
        .count();
    AdvantageStats {
        mean,
        std,
        min: advantages.iter().copied().fold(f64::INFINITY, f64::min),
        max: advantages.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        zero_spread_groups: flat as f64 / groups.max(1) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_advantages_centre_on_the_noise_free_mean_and_have_unit_norm() {
        // Two groups of 3; noise-free rewards 1 and 3, baseline 2.
        let rewards = [1.0, 2.0, 4.0, 3.0, 0.0, 2.0];
        let a = advantages(AdvantageKind::Batch, &rewards, 3);
        let centred = [-1.0, 0.0, 2.0, 1.0, -2.0, 0.0];
        let norm = 10f64.sqrt();
        for (got, c) in a.iter().zip(centred) {
            assert!((got - c / norm).abs() < 1e-12);
        }
        assert!((a.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn group_advantages_standardise_within_groups() {
        let rewards = [1.0, 3.0, 5.0, 5.0];
        let a = advantages(AdvantageKind::Group, &rewards, 2);
        assert!((a[0] + 1.0).abs() < 1e-12 && (a[1] - 1.0).abs() < 1e-12);
        assert_eq!(
            &a[2..],
            &[0.0, 0.0],
            "a group without spread teaches nothing"
        );
        let s = stats(&rewards, &a, 2);
        assert_eq!(s.zero_spread_groups, 0.5);
        assert_eq!((s.min, s.max), (-1.0, 1.0));
    }

    #[test]
    fn equal_rewards_give_zero_advantages() {
        let rewards = [2.0; 8];
        for kind in [AdvantageKind::Batch, AdvantageKind::Group] {
            assert!(advantages(kind, &rewards, 4).iter().all(|&a| a == 0.0));
        }
    }
}
