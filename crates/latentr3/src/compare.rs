//! Paired comparisons: two runs, or a run and another system's per-user ranks, on the same test
//! cases under the same protocol, with a seeded paired bootstrap.

use std::path::Path;

use latentr3_data::{Dataset, SplitKind};
use latentr3_eval::{Case, Evaluator, PairedComparison, Report, compare_ranks};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::Experiment;

/// Resamples of every paired bootstrap.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;
/// Its seed, printed with every interval.
pub const BOOTSTRAP_SEED: u64 = 2026;

/// Paired bootstrap of B − A for HR and NDCG at every K of the evaluator.
pub fn paired_comparisons(
    evaluator: &Evaluator,
    a: &[u32],
    b: &[u32],
) -> Result<Vec<PairedComparison>> {
    let mut comparisons = Vec::new();
    for k in &evaluator.config().ks {
        for family in ["HR", "NDCG"] {
            comparisons.push(compare_ranks(
                &format!("{family}@{k}"),
                a,
                b,
                BOOTSTRAP_RESAMPLES,
                BOOTSTRAP_SEED,
            )?);
        }
    }
    Ok(comparisons)
}

/// A paired comparison of B against A.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    /// A's report: the protocol both were evaluated under.
    pub report: Report,
    /// Which cases were paired (all, or those both sides ranked with the same target).
    pub cases: String,
    pub comparisons: Vec<PairedComparison>,
}

/// The table `latentr3 eval --compare` prints: each metric's means, B − A and its interval.
impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "A = {}\nB = {}", self.a, self.b)?;
        writeln!(f, "{}", self.report.protocol_line())?;
        writeln!(
            f,
            "paired bootstrap: {}; {BOOTSTRAP_RESAMPLES} resamples, seed {BOOTSTRAP_SEED}",
            self.cases
        )?;
        writeln!(
            f,
            "{:<10}{:>10}{:>10}{:>10}   95% interval of B - A",
            "metric", "A", "B", "B - A"
        )?;
        for c in &self.comparisons {
            writeln!(
                f,
                "{:<10}{:>10.4}{:>10.4}{:>+10.4}   [{:+.4}, {:+.4}]  {}",
                c.metric,
                c.mean_a,
                c.mean_b,
                c.difference,
                c.low,
                c.high,
                c.verdict()
            )?;
        }
        Ok(())
    }
}

/// Another system's rank of each user's target on the same protocol, for `eval
/// --compare-ranks`: `{"system": "...", "protocol": {"split": "leave-one-out", "mask_history":
/// false, "items": 1682}, "ranks": [{"user": "196", "target": "242", "rank": 12}, ...]}` with
/// original user and item ids and 1-based full-ranking ranks.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalRanks {
    pub system: String,
    /// How the ranks were computed; a file whose protocol differs from the run's is refused.
    pub protocol: RanksProtocol,
    pub ranks: Vec<ExternalRank>,
}

/// One user's rank in an [`ExternalRanks`] file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalRank {
    pub user: String,
    pub target: String,
    pub rank: u32,
}

/// The protocol of a ranks file: split kind, whether seen items were masked, and how many
/// items were ranked (full ranking over the whole catalogue).
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RanksProtocol {
    pub split: SplitKind,
    pub mask_history: bool,
    pub items: usize,
}

impl RanksProtocol {
    pub fn of(experiment: &Experiment, dataset: &Dataset) -> RanksProtocol {
        RanksProtocol {
            split: experiment.data.split.kind,
            mask_history: experiment.eval.mask_history,
            items: dataset.num_items(),
        }
    }
}

/// Ranks of the cases both sides evaluated on the same target.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedRanks {
    pub a: Vec<u32>,
    pub b: Vec<u32>,
    /// Cases whose user is not in the file.
    pub missing: usize,
    /// Cases whose user has another target in the file.
    pub other_target: usize,
}

impl ExternalRanks {
    /// The ranks of `cases` (one per case) under original user and item ids.
    pub fn of(
        system: String,
        protocol: RanksProtocol,
        dataset: &Dataset,
        cases: &[Case<'_>],
        ranks: &[u32],
    ) -> ExternalRanks {
        ExternalRanks {
            system,
            protocol,
            ranks: cases
                .iter()
                .zip(ranks)
                .map(|(case, &rank)| ExternalRank {
                    user: dataset.user_ids[case.user as usize].clone(),
                    target: dataset.item_ids[case.target as usize].clone(),
                    rank,
                })
                .collect(),
        }
    }

    /// Reads a ranks file.
    pub fn load(path: &Path) -> Result<ExternalRanks> {
        let text = std::fs::read_to_string(path).map_err(Error::io("read", path))?;
        serde_json::from_str(&text).map_err(|e| {
            Error::Input(format!(
                "{}: {e}; expected {{\"system\": \"...\", \"protocol\": {{\"split\": \"leave-one-out\", \"mask_history\": false, \"items\": 1682}}, \"ranks\": [{{\"user\": \"...\", \"target\": \"...\", \"rank\": 1}}, ...]}}",
                path.display()
            ))
        })
    }

    /// Pairs `ours` (one rank per case) with this file's ranks by original user id, keeping the
    /// cases whose target is the same on both sides. Refuses a file computed under another
    /// protocol than `protocol` (ours).
    pub fn pair(
        &self,
        protocol: &RanksProtocol,
        dataset: &Dataset,
        cases: &[Case<'_>],
        ours: &[u32],
        path: &Path,
    ) -> Result<PairedRanks> {
        if &self.protocol != protocol {
            return Err(Error::Protocol {
                what: format!(
                    "{}: its ranks were computed under another protocol than this run's (theirs vs ours; --set eval.mask_history=... changes ours)",
                    path.display()
                ),
                differences: vec![format!("{:?} vs {protocol:?}", self.protocol)],
            });
        }
        let mut by_user = std::collections::HashMap::new();
        for (index, entry) in self.ranks.iter().enumerate() {
            if entry.rank == 0 || entry.rank as usize > dataset.num_items() {
                return Err(Error::Input(format!(
                    "{}: ranks[{index}] (user {}) has rank {}; ranks run from 1 to {} items",
                    path.display(),
                    entry.user,
                    entry.rank,
                    dataset.num_items()
                )));
            }
            if by_user.insert(entry.user.as_str(), entry).is_some() {
                return Err(Error::Input(format!(
                    "{}: user {} appears twice",
                    path.display(),
                    entry.user
                )));
            }
        }
        let mut paired = PairedRanks {
            a: Vec::new(),
            b: Vec::new(),
            missing: 0,
            other_target: 0,
        };
        for (case, &rank) in cases.iter().zip(ours) {
            match by_user.get(dataset.user_ids[case.user as usize].as_str()) {
                None => paired.missing += 1,
                Some(entry) if entry.target != dataset.item_ids[case.target as usize] => {
                    paired.other_target += 1
                }
                Some(entry) => {
                    paired.a.push(rank);
                    paired.b.push(entry.rank);
                }
            }
        }
        if paired.a.is_empty() {
            return Err(Error::Input(format!(
                "{}: no user of {} has the same target on both sides; was it written for this dataset and split?",
                path.display(),
                dataset.name
            )));
        }
        Ok(paired)
    }
}
