//! Where every metric is defined and computed: full ranking with ties broken against the target,
//! partial top-K selection, and counters that merge across batches.
//!
//! For test cases with ranks `r` (see [`ranking`](crate::ranking)), over all `n` real items:
//! - HR@K = mean of `1[r ≤ K]`; NDCG@K = mean of `1[r ≤ K] / log2(r + 1)`; MRR@K = mean of
//!   `1[r ≤ K] / r`. HeadHR/HeadNDCG and TailHR/TailNDCG: the same over the cases whose target
//!   is a short-head / long-tail item.
//! - With `x_i` the number of top-K lists holding item `i` (zeros included) and `c_i` the item's
//!   training interactions: ItemCoverage@K = #{i: x_i > 0} / n; Gini@K = Σ_j (2j − n − 1)
//!   x_(j) / (n Σ x), `x` sorted ascending (1 − 1/n is total collapse); Entropy@K = −Σ p_i ln
//!   p_i with `p_i = x_i / (cases · K)`, and EntropyNorm@K the same over `ln n`; ARP@K = mean
//!   over lists of the mean `c_i` of its items; APLT@K = mean over lists of |list ∩ tail| / K;
//!   Novelty@K = mean over listed items of −log2((c_i + 1) / (|U_train| + 1)).
//! - With item categories ([`Evaluator::with_categories`]): Miscalibration@K, CategoryILD@K and
//!   CategoryCoverage@K, defined in [`categories`](crate::categories).
//! - The short head is the most popular items holding 80% of training interactions; the tail
//!   is every other item, unseen ones included (Abdollahpouri et al., RecSys 2017).
//!
//! Ranks follow the one rule of [`ranking`](crate::ranking) (ties against the target, NaN as
//! −∞, masked items out of the candidate set). Where common libraries differ:
//! - **Ties**: rank = 1 + #{other candidates scoring >= the target}, so a constant scorer gets
//!   HR@K ≈ K/n. RecBole's full-sort ranks by `torch.topk` order instead (ties favour lower ids).
//! - **Masking**: with `mask_history` on, every item the user interacted with before the target
//!   ([`Case::seen`]: the whole earlier sequence in the split's view, not only the model's input
//!   window) leaves the candidate set; the target never does. RecBole does not mask for
//!   sequential models; set `mask_history = false` to compare.
//! - **Gini**: higher = more concentrated (RecBole's sign; Elliot reports the reverse).
//! - **Entropy**: `p_i = x_i / (|U| K)` over all n items; RecBole normalises by the number of
//!   distinct recommended items, we report the raw value and the value divided by `ln n`.
//! - **Top-K lists** are ordered by score, equal scores by ascending item id. Items scored NaN or
//!   −∞ are never recommended; a target scored NaN or −∞ ranks last among the candidates.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::categories::Categories;
use crate::error::{EvalError, Result};
use crate::ranking::rank_row;
use crate::report::{Protocol, Report};
use crate::scorer::{Case, Scorer};

/// Evaluation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalConfig {
    /// Cut-offs, reported in increasing order.
    pub ks: Vec<usize>,
    /// Remove every item the user interacted with before the target (the whole earlier
    /// sequence, not only the model's input window) from the candidates.
    pub mask_history: bool,
    /// Cases scored at once: memory is `batch_size × (items + 1)` floats per thread.
    pub batch_size: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            ks: vec![5, 10, 20],
            mask_history: true,
            batch_size: 256,
        }
    }
}

/// Training-split statistics of every item id (index 0 = padding).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemStats {
    /// Training interactions of each item (`c_i`).
    pub counts: Vec<u64>,
    /// Whether each item is in the long tail (not in the 80% short head).
    pub is_tail: Vec<bool>,
    /// Users with training interactions (`|U_train|`).
    pub train_users: usize,
}

impl ItemStats {
    /// Number of real items.
    pub fn num_items(&self) -> usize {
        self.counts.len().saturating_sub(1)
    }
}

/// Accuracy and exposure sums at one K.
#[derive(Debug, Clone, PartialEq)]
struct AtK {
    k: usize,
    hits: f64,
    ndcg: f64,
    mrr: f64,
    head_hits: f64,
    head_ndcg: f64,
    tail_hits: f64,
    tail_ndcg: f64,
    /// How many lists contain each item (`x_i`).
    exposure: Vec<u64>,
    arp: f64,
    aplt: f64,
    novelty: f64,
    listed_items: u64,
    /// Category metrics (zero without categories): sums and how many cases or lists counted.
    miscalibration: f64,
    calibrated_cases: u64,
    ild: f64,
    ild_lists: u64,
    /// How many listed items fall in each category.
    category_exposure: Vec<u64>,
}

/// Mergeable sums over any subset of test cases: evaluating batches separately and merging
/// gives the same report as one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Counters {
    cases: u64,
    head_cases: u64,
    tail_cases: u64,
    at_k: Vec<AtK>,
}

impl Counters {
    fn new(ks: &[usize], slots: usize, categories: usize) -> Self {
        Counters {
            cases: 0,
            head_cases: 0,
            tail_cases: 0,
            at_k: ks
                .iter()
                .map(|&k| AtK {
                    k,
                    hits: 0.0,
                    ndcg: 0.0,
                    mrr: 0.0,
                    head_hits: 0.0,
                    head_ndcg: 0.0,
                    tail_hits: 0.0,
                    tail_ndcg: 0.0,
                    exposure: vec![0; slots],
                    arp: 0.0,
                    aplt: 0.0,
                    novelty: 0.0,
                    listed_items: 0,
                    miscalibration: 0.0,
                    calibrated_cases: 0,
                    ild: 0.0,
                    ild_lists: 0,
                    category_exposure: vec![0; categories],
                })
                .collect(),
        }
    }

    /// Adds another subset's sums to these.
    pub fn merge(&mut self, other: &Counters) {
        self.cases += other.cases;
        self.head_cases += other.head_cases;
        self.tail_cases += other.tail_cases;
        for (a, b) in self.at_k.iter_mut().zip(&other.at_k) {
            a.hits += b.hits;
            a.ndcg += b.ndcg;
            a.mrr += b.mrr;
            a.head_hits += b.head_hits;
            a.head_ndcg += b.head_ndcg;
            a.tail_hits += b.tail_hits;
            a.tail_ndcg += b.tail_ndcg;
            a.exposure
                .iter_mut()
                .zip(&b.exposure)
                .for_each(|(x, y)| *x += y);
            a.arp += b.arp;
            a.aplt += b.aplt;
            a.novelty += b.novelty;
            a.listed_items += b.listed_items;
            a.miscalibration += b.miscalibration;
            a.calibrated_cases += b.calibrated_cases;
            a.ild += b.ild;
            a.ild_lists += b.ild_lists;
            a.category_exposure
                .iter_mut()
                .zip(&b.category_exposure)
                .for_each(|(x, y)| *x += y);
        }
    }

    /// Number of cases counted.
    pub fn cases(&self) -> u64 {
        self.cases
    }
}

/// HR@K of one case.
pub fn hit(rank: u32, k: usize) -> f64 {
    if rank as usize <= k { 1.0 } else { 0.0 }
}

/// NDCG@K of one case: `1 / log2(rank + 1)` inside the top K.
pub fn ndcg(rank: u32, k: usize) -> f64 {
    if rank as usize <= k {
        1.0 / (f64::from(rank) + 1.0).log2()
    } else {
        0.0
    }
}

/// MRR@K of one case: `1 / rank` inside the top K.
pub fn mrr(rank: u32, k: usize) -> f64 {
    if rank as usize <= k {
        1.0 / f64::from(rank)
    } else {
        0.0
    }
}

/// The result of an evaluation: the report and each case's rank (for paired comparisons).
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub report: Report,
    /// Rank of each case's target, in the order the cases were given.
    pub ranks: Vec<u32>,
    /// Whether each case's target is a long-tail item.
    pub tail_targets: Vec<bool>,
}

/// Full-ranking evaluator over a fixed item catalogue.
#[derive(Debug, Clone)]
pub struct Evaluator {
    config: EvalConfig,
    stats: ItemStats,
    novelty: Vec<f64>,
    categories: Option<Categories>,
}

impl Evaluator {
    /// Checks the settings against the catalogue.
    pub fn new(mut config: EvalConfig, stats: ItemStats) -> Result<Evaluator> {
        if config.ks.is_empty() {
            return Err(EvalError::NoK);
        }
        config.ks.sort_unstable();
        config.ks.dedup();
        if config.ks[0] == 0 {
            return Err(EvalError::ZeroK);
        }
        let items = stats.num_items();
        let k = *config.ks.last().expect("ks is not empty");
        if k > items {
            return Err(EvalError::KTooLarge { k, items });
        }
        if stats.is_tail.len() != stats.counts.len() {
            return Err(EvalError::ItemStatsSize {
                got: stats.is_tail.len(),
                expected: stats.counts.len(),
            });
        }
        config.batch_size = config.batch_size.max(1);
        let users = stats.train_users as f64 + 1.0;
        let novelty = stats
            .counts
            .iter()
            .map(|&c| -((c as f64 + 1.0) / users).log2())
            .collect();
        Ok(Evaluator {
            config,
            stats,
            novelty,
            categories: None,
        })
    }

    /// Adds the category metrics (Miscalibration@K, CategoryILD@K, CategoryCoverage@K; see
    /// [`categories`](crate::categories)) over these item categories.
    pub fn with_categories(mut self, categories: Categories) -> Result<Evaluator> {
        if categories.slots() != self.stats.counts.len() {
            return Err(EvalError::CategoriesSize {
                got: categories.slots(),
                expected: self.stats.counts.len(),
            });
        }
        self.categories = Some(categories);
        Ok(self)
    }

    /// The item categories the category metrics use, if any.
    pub fn categories(&self) -> Option<&Categories> {
        self.categories.as_ref()
    }

    /// Empty counters for [`Evaluator::count_case`] and [`Counters::merge`].
    pub fn new_counters(&self) -> Counters {
        Counters::new(
            &self.config.ks,
            self.stats.counts.len(),
            self.categories.as_ref().map_or(0, |c| c.names.len()),
        )
    }

    /// The catalogue's popularity and head/tail partition.
    pub fn stats(&self) -> &ItemStats {
        &self.stats
    }

    /// The settings in force (K sorted and de-duplicated).
    pub fn config(&self) -> &EvalConfig {
        &self.config
    }

    /// Number of real items.
    pub fn num_items(&self) -> usize {
        self.stats.num_items()
    }

    /// Evaluates a scorer on the cases; `split` names the cases in the protocol (`"test"`).
    pub fn evaluate(
        &self,
        scorer: &dyn Scorer,
        cases: &[Case<'_>],
        split: &str,
    ) -> Result<Evaluation> {
        if cases.is_empty() {
            return Err(EvalError::NoCases);
        }
        let items = self.num_items();
        if let Some((index, case)) = cases
            .iter()
            .enumerate()
            .find(|(_, c)| c.target == 0 || c.target as usize > items)
        {
            return Err(EvalError::BadTarget {
                index,
                target: case.target,
                items,
            });
        }
        let mut ranks = vec![0u32; cases.len()];
        let counters = if scorer.parallel() {
            // A few contiguous ranges per thread: each allocates one score buffer, so memory is
            // independent of the number of cases.
            let ranges = (rayon::current_num_threads() * 4).max(1);
            let range_len = cases.len().div_ceil(ranges).max(1);
            cases
                .par_chunks(range_len)
                .zip(ranks.par_chunks_mut(range_len))
                .map(|(range, range_ranks)| self.run(scorer, range, range_ranks))
                .reduce_with(|mut a, b| {
                    a.merge(&b);
                    a
                })
                .expect("at least one case")
        } else {
            self.run(scorer, cases, &mut ranks)
        };
        let tail_targets = cases
            .iter()
            .map(|c| self.stats.is_tail[c.target as usize])
            .collect();
        Ok(Evaluation {
            report: self.report(&counters, split),
            ranks,
            tail_targets,
        })
    }

    /// Scores and counts `cases` batch by batch on the current thread.
    fn run(&self, scorer: &dyn Scorer, cases: &[Case<'_>], ranks: &mut [u32]) -> Counters {
        let slots = self.stats.counts.len();
        let mut counters = self.new_counters();
        let batch = self.config.batch_size.min(cases.len());
        let mut scores = vec![0f32; batch * slots];
        let mut top = Vec::with_capacity(*self.config.ks.last().expect("ks is not empty"));
        for (chunk, chunk_ranks) in cases.chunks(batch).zip(ranks.chunks_mut(batch)) {
            let buffer = &mut scores[..chunk.len() * slots];
            scorer.score(chunk, buffer);
            for ((case, row), rank) in chunk
                .iter()
                .zip(buffer.chunks_mut(slots))
                .zip(chunk_ranks.iter_mut())
            {
                *rank = self.count_case(case, row, &mut top, &mut counters);
            }
        }
        counters
    }

    /// Ranks one case from its scores (`items + 1` slots, overwritten by
    /// [`rank_row`]) and adds it to the counters. `top` is scratch
    /// space. Returns the target's rank.
    pub fn count_case(
        &self,
        case: &Case<'_>,
        scores: &mut [f32],
        top: &mut Vec<u32>,
        counters: &mut Counters,
    ) -> u32 {
        let target = case.target as usize;
        let excluded: &[u32] = if self.config.mask_history {
            case.seen
        } else {
            &[]
        };
        let k = *self.config.ks.last().expect("ks is not empty");
        let rank = rank_row(scores, target, excluded, k, top);

        let is_tail = self.stats.is_tail[target];
        let profile = self
            .categories
            .as_ref()
            .and_then(|c| c.profile(case.seen).map(|p| (c, p)));
        counters.cases += 1;
        if is_tail {
            counters.tail_cases += 1;
        } else {
            counters.head_cases += 1;
        }
        for at in &mut counters.at_k {
            let (h, n, m) = (hit(rank, at.k), ndcg(rank, at.k), mrr(rank, at.k));
            at.hits += h;
            at.ndcg += n;
            at.mrr += m;
            if is_tail {
                at.tail_hits += h;
                at.tail_ndcg += n;
            } else {
                at.head_hits += h;
                at.head_ndcg += n;
            }
            let list = &top[..at.k.min(top.len())];
            let mut popularity = 0.0;
            let mut tail = 0usize;
            for &item in list {
                let item = item as usize;
                at.exposure[item] += 1;
                popularity += self.stats.counts[item] as f64;
                tail += usize::from(self.stats.is_tail[item]);
                at.novelty += self.novelty[item];
            }
            if !list.is_empty() {
                at.arp += popularity / list.len() as f64;
            }
            at.aplt += tail as f64 / at.k as f64;
            at.listed_items += list.len() as u64;
            if let Some(categories) = &self.categories {
                for &item in list {
                    for &g in categories.of(item) {
                        at.category_exposure[g as usize] += 1;
                    }
                }
                if let Some(distance) = categories.intra_list_distance(list) {
                    at.ild += distance;
                    at.ild_lists += 1;
                }
            }
            if let Some((categories, p)) = &profile
                && let Some(kl) = categories.miscalibration(p, list)
            {
                at.miscalibration += kl;
                at.calibrated_cases += 1;
            }
        }
        rank
    }

    /// Turns counters into a report.
    pub fn report(&self, counters: &Counters, split: &str) -> Report {
        let n = self.num_items();
        let cases = counters.cases as f64;
        let mut metrics = BTreeMap::new();
        for at in &counters.at_k {
            let k = at.k;
            let mut put = |name: &str, value: f64| {
                metrics.insert(format!("{name}@{k}"), value);
            };
            put("HR", at.hits / cases);
            put("NDCG", at.ndcg / cases);
            put("MRR", at.mrr / cases);
            if counters.head_cases > 0 {
                put("HeadHR", at.head_hits / counters.head_cases as f64);
                put("HeadNDCG", at.head_ndcg / counters.head_cases as f64);
            }
            if counters.tail_cases > 0 {
                put("TailHR", at.tail_hits / counters.tail_cases as f64);
                put("TailNDCG", at.tail_ndcg / counters.tail_cases as f64);
            }
            let exposure = &at.exposure[1..];
            put(
                "ItemCoverage",
                exposure.iter().filter(|&&x| x > 0).count() as f64 / n as f64,
            );
            put("Gini", gini(exposure));
            let slots = cases * k as f64;
            let entropy: f64 = exposure
                .iter()
                .filter(|&&x| x > 0)
                .map(|&x| {
                    let p = x as f64 / slots;
                    -p * p.ln()
                })
                .sum();
            put("Entropy", entropy);
            put(
                "EntropyNorm",
                if n > 1 {
                    entropy / (n as f64).ln()
                } else {
                    0.0
                },
            );
            put("ARP", at.arp / cases);
            put("APLT", at.aplt / cases);
            if at.listed_items > 0 {
                put("Novelty", at.novelty / at.listed_items as f64);
            }
            if let Some(categories) = &self.categories {
                if at.calibrated_cases > 0 {
                    put(
                        "Miscalibration",
                        at.miscalibration / at.calibrated_cases as f64,
                    );
                }
                if at.ild_lists > 0 {
                    put("CategoryILD", at.ild / at.ild_lists as f64);
                }
                if !categories.names.is_empty() {
                    let shown = at.category_exposure.iter().filter(|&&x| x > 0).count();
                    put(
                        "CategoryCoverage",
                        shown as f64 / categories.names.len() as f64,
                    );
                }
            }
        }
        Report {
            protocol: Protocol {
                split: split.to_string(),
                candidates: format!("all {n} items (full ranking)"),
                mask_history: self.config.mask_history,
                ties: "broken against the target".to_string(),
                ks: self.config.ks.clone(),
                items: n,
                cases: counters.cases as usize,
                head_cases: counters.head_cases as usize,
                tail_cases: counters.tail_cases as usize,
            },
            metrics,
            alarms: Vec::new(),
        }
    }
}

/// Gini of exposure counts over all items (zeros included): Σ_j (2j − n − 1) x_(j) / (n Σ x)
/// with `x` sorted ascending; 0 when nothing was counted.
pub fn gini(counts: &[u64]) -> f64 {
    let n = counts.len();
    let total: u64 = counts.iter().sum();
    if n == 0 || total == 0 {
        return 0.0;
    }
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(j, &x)| (2.0 * (j as f64 + 1.0) - n as f64 - 1.0) * x as f64)
        .sum();
    weighted / (n as f64 * total as f64)
}
