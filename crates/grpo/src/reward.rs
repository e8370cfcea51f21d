//! Where the reward is computed: each candidate latent of a group is scored against the
//! sequence's true next item (no rollouts), and the reward terms read that one score row.

use latentr3_eval::{Categories, Evaluator};
use serde::{Deserialize, Serialize};

/// One kind of reward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// The paper's: `-exp(-mean log p(target tokens))`; for one item id, `-1 / p(target)`.
    NegPerplexity,
    /// `log p(target)`.
    LogProb,
    /// NDCG@k of the target's full-ranking rank.
    Ndcg,
    /// The fraction of long-tail items in the top k: a lever against popularity collapse.
    TailBonus,
    /// Minus the miscalibration of the top k against the user's history (Steck's KL, as the
    /// evaluator's Miscalibration@K): lists whose category mix matches the user's. Needs item
    /// categories.
    Calibration,
    /// The category intra-list distance of the top k (the evaluator's CategoryILD@K). Needs
    /// item categories.
    Diversity,
    /// The mean novelty of the top k, `−log2((c_i + 1) / (|U_train| + 1))` (the evaluator's
    /// Novelty@K): less popular items.
    Novelty,
}

/// A weighted reward term, e.g. `{ kind = "ndcg", k = 10, weight = 1.0 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardTerm {
    pub kind: RewardKind,
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// Cut-off of the list rewards (`ndcg`, `tail_bonus`, `calibration`, `diversity`,
    /// `novelty`; ignored by the others).
    #[serde(default = "default_k")]
    pub k: usize,
}

fn default_weight() -> f64 {
    1.0
}

fn default_k() -> usize {
    10
}

impl RewardTerm {
    /// A term with the default cut-off (10).
    pub fn new(kind: RewardKind, weight: f64) -> RewardTerm {
        RewardTerm {
            kind,
            weight,
            k: default_k(),
        }
    }

    /// The term's name in logs: `neg_perplexity`, `log_prob`, `ndcg@10`, `tail_bonus@10`.
    pub fn name(&self) -> String {
        match self.kind {
            RewardKind::NegPerplexity => "neg_perplexity".into(),
            RewardKind::LogProb => "log_prob".into(),
            RewardKind::Ndcg => format!("ndcg@{}", self.k),
            RewardKind::TailBonus => format!("tail_bonus@{}", self.k),
            RewardKind::Calibration => format!("calibration@{}", self.k),
            RewardKind::Diversity => format!("diversity@{}", self.k),
            RewardKind::Novelty => format!("novelty@{}", self.k),
        }
    }

    /// Whether the term reads the `k` best items (or the target's rank).
    fn is_list_reward(&self) -> bool {
        !matches!(self.kind, RewardKind::NegPerplexity | RewardKind::LogProb)
    }

    /// Whether the term needs item categories.
    pub fn needs_categories(&self) -> bool {
        matches!(self.kind, RewardKind::Calibration | RewardKind::Diversity)
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if !self.weight.is_finite() {
            return Err(format!("reward {}: weight must be finite", self.name()));
        }
        if self.is_list_reward() && self.k == 0 {
            return Err(format!("reward {}: k must be at least 1", self.name()));
        }
        Ok(())
    }
}

/// What one candidate latent produced: its score of every item id (index 0 is padding and
/// never ranked) and the log-probability of the target.
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    pub scores: &'a [f32],
    pub target: u32,
    pub log_prob: f64,
    /// What the user had already seen before the target (the whole earlier sequence,
    /// [`Split::seen`](latentr3_data::Split::seen)) when masking is on, else empty: removed
    /// from the ranking as the evaluator removes it (never the target).
    pub masked: &'a [u32],
    /// The user's whole earlier sequence, whatever the masking: what `calibration` compares
    /// the list with.
    pub history: &'a [u32],
}

/// The target's rank and the best items of one candidate's scores, under the evaluator's own
/// ranking rule (ties against the target, NaN as −∞, what the user has seen masked).
#[derive(Debug, Clone, Copy)]
pub struct Ranked<'a> {
    pub rank: u32,
    /// The best items, best first; as many as the longest list any reward asked for.
    pub top: &'a [u32],
}

/// A reward: how good one candidate latent's outcome is, higher is better. Each TOML reward
/// kind is one ([`RewardTerm::reward`]); a program adds its own with [`Rewards::with`] and
/// passes them to [`train_with`](crate::train_with).
pub trait Reward: Send + Sync {
    /// The name in logs and on TensorBoard (`rl/reward/<name>/mean`).
    fn name(&self) -> String;
    /// `Some(k)` when the reward reads the target's rank or the `k` best items, so the row is
    /// ranked once for all rewards; `None` (the default) when it reads only the outcome.
    fn ranking(&self) -> Option<usize> {
        None
    }
    /// The reward's (unweighted) value; `ranked` is given whenever [`Reward::ranking`] is `Some`.
    fn score(&self, outcome: &Outcome<'_>, ranked: Option<&Ranked<'_>>) -> f64;
}

/// What the built-in list rewards read about items, from the evaluator's catalogue so that a
/// reward and the metric of the same name agree.
#[derive(Debug, Clone, Default)]
pub struct RewardContext {
    /// Whether each item id is in the long tail (`tail_bonus`).
    pub is_tail: Vec<bool>,
    /// Each item id's novelty, `−log2((c_i + 1) / (|U_train| + 1))` (`novelty`).
    pub novelty: Vec<f64>,
    /// Item categories (`calibration`, `diversity`).
    pub categories: Option<Categories>,
}

impl RewardContext {
    /// The context of an evaluator's catalogue: its head/tail partition, popularity and
    /// categories.
    pub fn of(evaluator: &Evaluator) -> RewardContext {
        let stats = evaluator.stats();
        let users = stats.train_users as f64 + 1.0;
        RewardContext {
            is_tail: stats.is_tail.clone(),
            novelty: stats
                .counts
                .iter()
                .map(|&c| -((c as f64 + 1.0) / users).log2())
                .collect(),
            categories: evaluator.categories().cloned(),
        }
    }
}

/// A reward kind of the TOML settings.
struct BuiltIn {
    kind: RewardKind,
    k: usize,
    context: std::sync::Arc<RewardContext>,
}

impl Reward for BuiltIn {
    fn name(&self) -> String {
        RewardTerm {
            kind: self.kind,
            weight: 1.0,
            k: self.k,
        }
        .name()
    }

    fn ranking(&self) -> Option<usize> {
        match self.kind {
            RewardKind::Ndcg => Some(0),
            RewardKind::TailBonus
            | RewardKind::Calibration
            | RewardKind::Diversity
            | RewardKind::Novelty => Some(self.k),
            RewardKind::NegPerplexity | RewardKind::LogProb => None,
        }
    }

    fn score(&self, outcome: &Outcome<'_>, ranked: Option<&Ranked<'_>>) -> f64 {
        match self.kind {
            RewardKind::NegPerplexity => -(-outcome.log_prob).exp(),
            RewardKind::LogProb => outcome.log_prob,
            RewardKind::Ndcg => latentr3_eval::ndcg(ranked.expect("ranked").rank, self.k),
            RewardKind::TailBonus => {
                let tail = self
                    .top(ranked)
                    .iter()
                    .filter(|&&i| {
                        self.context
                            .is_tail
                            .get(i as usize)
                            .copied()
                            .unwrap_or(false)
                    })
                    .count();
                tail as f64 / self.k as f64
            }
            // Lists or histories without categories carry no signal: 0 for every member.
            RewardKind::Calibration => self
                .context
                .categories
                .as_ref()
                .and_then(|c| {
                    let profile = c.profile(outcome.history)?;
                    c.miscalibration(&profile, self.top(ranked))
                })
                .map_or(0.0, |kl| -kl),
            RewardKind::Diversity => self
                .context
                .categories
                .as_ref()
                .and_then(|c| c.intra_list_distance(self.top(ranked)))
                .unwrap_or(0.0),
            RewardKind::Novelty => {
                let top = self.top(ranked);
                if top.is_empty() {
                    return 0.0;
                }
                top.iter()
                    .map(|&i| self.context.novelty.get(i as usize).copied().unwrap_or(0.0))
                    .sum::<f64>()
                    / top.len() as f64
            }
        }
    }
}

impl BuiltIn {
    /// The `k` best items of a ranked row.
    fn top<'a>(&self, ranked: Option<&Ranked<'a>>) -> &'a [u32] {
        let top = ranked.expect("ranked").top;
        &top[..self.k.min(top.len())]
    }
}

impl RewardTerm {
    /// This term's reward over the items `context` describes.
    pub fn reward(&self, context: std::sync::Arc<RewardContext>) -> Box<dyn Reward> {
        Box::new(BuiltIn {
            kind: self.kind,
            k: self.k,
            context,
        })
    }
}

/// Weighted rewards, summed: what the RL stage maximises.
#[derive(Default)]
pub struct Rewards {
    terms: Vec<(f64, Box<dyn Reward>)>,
}

impl Rewards {
    /// The reward terms of the settings over the items `context` describes; refused, naming
    /// the term, when a term needs item categories the context does not have.
    pub fn from_terms(terms: &[RewardTerm], context: RewardContext) -> Result<Rewards, String> {
        if let Some(term) = terms.iter().find(|t| t.needs_categories())
            && context.categories.is_none()
        {
            return Err(format!(
                "reward {} needs item categories and the dataset has none: give data.titles a \
                 file with genres or categories (MovieLens u.item or movies.dat, RecBole .item \
                 with a genre or class column, Amazon metadata, an LC-Rec .item.json)",
                term.name()
            ));
        }
        let context = std::sync::Arc::new(context);
        Ok(terms.iter().fold(Rewards::default(), |rewards, term| {
            rewards.with_boxed(term.weight, term.reward(context.clone()))
        }))
    }

    /// Adds `reward` with `weight`.
    pub fn with(self, weight: f64, reward: impl Reward + 'static) -> Rewards {
        self.with_boxed(weight, Box::new(reward))
    }

    fn with_boxed(mut self, weight: f64, reward: Box<dyn Reward>) -> Rewards {
        self.terms.push((weight, reward));
        self
    }

    /// The terms' names, in order.
    pub fn names(&self) -> Vec<String> {
        self.terms.iter().map(|(_, r)| r.name()).collect()
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Writes each term's (unweighted) value into `values` and returns the weighted sum.
    pub fn score(&self, outcome: &Outcome<'_>, values: &mut [f64]) -> f64 {
        let k = self.terms.iter().filter_map(|(_, r)| r.ranking()).max();
        let ranking = k.map(|k| Ranking::new(outcome, k));
        let ranked = ranking.as_ref().map(|r| Ranked {
            rank: r.rank,
            top: &r.top,
        });
        let mut total = 0.0;
        for ((weight, reward), value) in self.terms.iter().zip(values.iter_mut()) {
            *value = reward.score(outcome, ranked.as_ref());
            total += weight * *value;
        }
        total
    }
}

/// The target's rank and the `k` best items, under the evaluator's own rule
/// ([`latentr3_eval::rank_row`]: ties against the target, NaN as −∞, masked items out).
struct Ranking {
    rank: u32,
    top: Vec<u32>,
}

impl Ranking {
    fn new(outcome: &Outcome<'_>, k: usize) -> Ranking {
        // The rule overwrites its row; the outcome's scores are shared by the group.
        let mut scores = outcome.scores.to_vec();
        let mut top = Vec::with_capacity(k);
        let rank = latentr3_eval::rank_row(
            &mut scores,
            outcome.target as usize,
            outcome.masked,
            k,
            &mut top,
        );
        Ranking { rank, top }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(is_tail: Vec<bool>) -> RewardContext {
        RewardContext {
            is_tail,
            ..RewardContext::default()
        }
    }

    fn outcome<'a>(scores: &'a [f32], target: u32, masked: &'a [u32]) -> Outcome<'a> {
        Outcome {
            scores,
            target,
            log_prob: (0.25f64).ln(),
            masked,
            history: masked,
        }
    }

    #[test]
    fn each_term_by_hand() {
        // Items 1..=5; item 0 is padding and never ranked even with the best score.
        let scores = [9.0, 0.2, 0.9, 0.1, 0.7, 0.3];
        let is_tail = vec![false, false, false, true, true, true];
        let rewards = Rewards::from_terms(
            &[
                RewardTerm::new(RewardKind::NegPerplexity, 1.0),
                RewardTerm::new(RewardKind::LogProb, 1.0),
                RewardTerm {
                    kind: RewardKind::Ndcg,
                    weight: 2.0,
                    k: 3,
                },
                RewardTerm {
                    kind: RewardKind::TailBonus,
                    weight: 0.5,
                    k: 2,
                },
            ],
            context(is_tail),
        )
        .unwrap();
        let mut values = [0.0; 4];
        // Target 4 (0.7) ranks 2nd behind item 2; the top 2 are items 2 and 4 (one tail item).
        let total = rewards.score(&outcome(&scores, 4, &[]), &mut values);
        assert!((values[0] + 4.0).abs() < 1e-12, "-1/p with p = 0.25");
        assert!((values[1] - 0.25f64.ln()).abs() < 1e-12);
        assert!((values[2] - 1.0 / 3f64.log2()).abs() < 1e-12);
        assert!((values[3] - 0.5).abs() < 1e-12);
        let expected = values[0] + values[1] + 2.0 * values[2] + 0.5 * values[3];
        assert!((total - expected).abs() < 1e-12);
        // Masking item 2 makes the target first and item 5 joins the top 2 (two tail items).
        rewards.score(&outcome(&scores, 4, &[2]), &mut values);
        assert!((values[2] - 1.0).abs() < 1e-12);
        assert!((values[3] - 1.0).abs() < 1e-12);
        // Outside the cut-off NDCG is zero; a tie with the target counts against it.
        let tied = [0.0, 0.7, 0.9, 0.7, 0.7, 0.8];
        rewards.score(&outcome(&tied, 4, &[]), &mut values);
        assert_eq!(values[2], 0.0, "rank 5 > k = 3");
    }

    #[test]
    fn rewards_rank_exactly_as_the_evaluator_on_random_rows() {
        use latentr3_eval::{Case, EvalConfig, Evaluator, ItemStats};
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(3);
        for round in 0..300 {
            let n = rng.random_range(3..40usize);
            let k = rng.random_range(1..=n);
            let is_tail: Vec<bool> = (0..=n).map(|i| i > 0 && rng.random_bool(0.4)).collect();
            let scores: Vec<f32> = (0..=n)
                .map(|_| match rng.random_range(0..12) {
                    0 => f32::NAN,
                    1 => f32::NEG_INFINITY,
                    v => (v % 4) as f32,
                })
                .collect();
            let target = rng.random_range(1..=n) as u32;
            let seen: Vec<u32> = (0..rng.random_range(0..2 * n))
                .map(|_| rng.random_range(1..=n) as u32)
                .collect();
            let mask = rng.random_bool(0.5);
            let rewards = Rewards::from_terms(
                &[
                    RewardTerm {
                        kind: RewardKind::Ndcg,
                        weight: 1.0,
                        k,
                    },
                    RewardTerm {
                        kind: RewardKind::TailBonus,
                        weight: 1.0,
                        k,
                    },
                ],
                context(is_tail.clone()),
            )
            .unwrap();
            let mut values = [0.0; 2];
            let masked: &[u32] = if mask { &seen } else { &[] };
            rewards.score(&outcome(&scores, target, masked), &mut values);

            let stats = ItemStats {
                counts: vec![1; n + 1],
                is_tail,
                train_users: 1,
            };
            let config = EvalConfig {
                ks: vec![k],
                mask_history: mask,
                batch_size: 1,
            };
            let evaluator = Evaluator::new(config, stats).unwrap();
            let table = scores.clone();
            let scorer = move |_: &[Case<'_>], out: &mut [f32]| out.copy_from_slice(&table);
            let case = Case {
                user: 0,
                history: &[],
                seen: &seen,
                target,
            };
            let report = evaluator.evaluate(&scorer, &[case], "t").unwrap().report;
            assert_eq!(
                Some(values[0]),
                report.metric(&format!("NDCG@{k}")),
                "round {round}"
            );
            assert_eq!(
                Some(values[1]),
                report.metric(&format!("APLT@{k}")),
                "round {round}"
            );
        }
    }

    /// `calibration`, `diversity` and `novelty` equal the evaluator's Miscalibration (negated),
    /// CategoryILD and Novelty at the same K, on random rows, categories and popularity.
    #[test]
    fn list_rewards_equal_the_evaluators_metrics_on_random_rows() {
        use latentr3_eval::{Case, EvalConfig, ItemStats};
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(5);
        for round in 0..300 {
            let n = rng.random_range(3..30usize);
            let k = rng.random_range(1..=n);
            let names: Vec<String> = (0..rng.random_range(1..6))
                .map(|g| format!("g{g}"))
                .collect();
            let lists: Vec<Vec<u32>> = (0..=n)
                .map(|i| {
                    if i == 0 || rng.random_bool(0.2) {
                        Vec::new()
                    } else {
                        (0..rng.random_range(1..=names.len()))
                            .map(|_| rng.random_range(0..names.len()) as u32)
                            .collect()
                    }
                })
                .collect();
            let categories = Categories::from_lists(names, lists);
            let stats = ItemStats {
                counts: (0..=n).map(|_| rng.random_range(0..50)).collect(),
                is_tail: vec![false; n + 1],
                train_users: 60,
            };
            let scores: Vec<f32> = (0..=n)
                .map(|_| match rng.random_range(0..12) {
                    0 => f32::NAN,
                    v => (v % 5) as f32,
                })
                .collect();
            let target = rng.random_range(1..=n) as u32;
            let seen: Vec<u32> = (0..rng.random_range(0..2 * n))
                .map(|_| rng.random_range(1..=n) as u32)
                .collect();
            let mask = rng.random_bool(0.5);
            let evaluator = Evaluator::new(
                EvalConfig {
                    ks: vec![k],
                    mask_history: mask,
                    batch_size: 1,
                },
                stats,
            )
            .unwrap()
            .with_categories(categories)
            .unwrap();
            let term = |kind| RewardTerm {
                kind,
                weight: 1.0,
                k,
            };
            let rewards = Rewards::from_terms(
                &[
                    term(RewardKind::Calibration),
                    term(RewardKind::Diversity),
                    term(RewardKind::Novelty),
                ],
                RewardContext::of(&evaluator),
            )
            .unwrap();
            let mut values = [0.0; 3];
            let outcome = Outcome {
                scores: &scores,
                target,
                log_prob: 0.0,
                masked: if mask { &seen } else { &[] },
                history: &seen,
            };
            rewards.score(&outcome, &mut values);
            let table = scores.clone();
            let scorer = move |_: &[Case<'_>], out: &mut [f32]| out.copy_from_slice(&table);
            let case = Case {
                user: 0,
                history: &[],
                seen: &seen,
                target,
            };
            let report = evaluator.evaluate(&scorer, &[case], "t").unwrap().report;
            let metric = |name: &str| report.metric(&format!("{name}@{k}"));
            let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
            assert!(
                close(-values[0], metric("Miscalibration").unwrap_or(0.0)),
                "round {round}: {values:?} {:?}",
                report.metrics
            );
            assert!(
                close(values[1], metric("CategoryILD").unwrap_or(0.0)),
                "round {round}"
            );
            assert!(
                close(values[2], metric("Novelty").unwrap_or(0.0)),
                "round {round}"
            );
        }
    }

    #[test]
    fn rewards_that_need_categories_are_refused_without_them() {
        let error = Rewards::from_terms(
            &[RewardTerm::new(RewardKind::Diversity, 1.0)],
            context(vec![false; 3]),
        )
        .err()
        .unwrap();
        assert!(
            error.contains("diversity@10 needs item categories"),
            "{error}"
        );
    }

    #[test]
    fn the_target_is_never_masked() {
        let scores = [0.0, 0.1, 0.9];
        let rewards = Rewards::from_terms(
            &[RewardTerm::new(RewardKind::Ndcg, 1.0)],
            context(vec![false; 3]),
        )
        .unwrap();
        let mut values = [0.0];
        rewards.score(&outcome(&scores, 2, &[2]), &mut values);
        assert_eq!(values[0], 1.0);
    }
}
