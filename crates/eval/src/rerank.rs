//! Post-hoc re-ranking of any scorer's lists at evaluation time, the training-free way to trade
//! accuracy for long-tail exposure, calibration or diversity that RL rewards are measured
//! against.
//!
//! [`Reranked`] wraps a [`Scorer`]: it scores the cases with the base scorer, re-orders each
//! row's best `depth` candidates (items the user has seen are left out when masking is on, as
//! the evaluator leaves them out) and writes scores that put the new list first. Kinds, with
//! `s_i` the base scores of the candidates scaled to [0, 1] (min-max over the candidates):
//! - [`RerankKind::PopularityPenalty`]: order by `s_i − λ · ln(1 + c_i)` over every item
//!   (`c_i` the item's training interactions); no `depth`.
//! - [`RerankKind::Calibrated`] (Steck, RecSys 2018, greedy): build the list one item at a
//!   time, each time adding the candidate that maximises `(1 − λ) Σ_list s_i − λ KL(p ‖ q̃)`,
//!   `p` the category mix of the user's history and `q̃` the smoothed mix of the list (as
//!   [`Categories::miscalibration`]).
//! - [`RerankKind::Diversity`] (MMR by category): add the candidate that maximises
//!   `(1 − λ) s_i + λ d_i`, `d_i` its mean Jaccard distance to the categories of the items
//!   already listed (1 for the first item).
//!
//! λ = 0 is the base scorer, untouched. The greedy kinds build `length` items (a strict order:
//! the re-ranker decides, so no two listed items tie; `length` is the evaluator's largest K); the candidates after them keep their base order, below the list. Metrics at any K up to
//! `length` are exact; beyond the list, equal base scores of different items may compare equal
//! after the rewrite (a monotone squashing into (−1, 1)), which only moves ranks past `length`.

use crate::categories::Categories;
use crate::ranking::top_row;
use crate::scorer::{Case, Scorer};

/// Which re-ranker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RerankKind {
    PopularityPenalty,
    Calibrated,
    Diversity,
}

/// A scorer whose lists are re-ranked: see the [module docs](self). `Calibrated` and
/// `Diversity` without `categories` keep the base order.
pub struct Reranked<'a> {
    pub base: &'a dyn Scorer,
    pub kind: RerankKind,
    /// The trade-off: 0 keeps the base order.
    pub lambda: f64,
    /// Candidates the greedy kinds consider (the base scorer's best).
    pub depth: usize,
    /// Items the greedy kinds place (the evaluator's largest K).
    pub length: usize,
    /// Whether what the user has seen is left out of the candidates.
    pub mask_history: bool,
    /// Training interactions of each item id (`PopularityPenalty`).
    pub counts: &'a [u64],
    /// Item categories (`Calibrated`, `Diversity`).
    pub categories: Option<&'a Categories>,
}

impl Scorer for Reranked<'_> {
    fn score(&self, cases: &[Case<'_>], out: &mut [f32]) {
        self.base.score(cases, out);
        if cases.is_empty() {
            return;
        }
        let slots = out.len() / cases.len();
        for (case, row) in cases.iter().zip(out.chunks_mut(slots)) {
            self.rerank(case, row);
        }
    }

    fn parallel(&self) -> bool {
        self.base.parallel()
    }
}

impl Reranked<'_> {
    fn rerank(&self, case: &Case<'_>, row: &mut [f32]) {
        // λ = 0 is the base scorer itself, its ties included (a list written position by
        // position would break them, and the ties-against-the-target rule with them).
        if self.lambda == 0.0 {
            return;
        }
        if self.kind == RerankKind::PopularityPenalty {
            for (item, score) in row.iter_mut().enumerate().skip(1) {
                let count = self.counts.get(item).copied().unwrap_or(0) as f64;
                *score = (f64::from(*score) - self.lambda * (1.0 + count).ln()) as f32;
            }
            return;
        }
        let excluded: &[u32] = if self.mask_history { case.seen } else { &[] };
        let mut scratch = row.to_vec();
        let mut candidates = Vec::with_capacity(self.depth);
        top_row(&mut scratch, excluded, self.depth, &mut candidates);
        if candidates.is_empty() {
            return;
        }
        let base: Vec<f64> = candidates
            .iter()
            .map(|&i| f64::from(row[i as usize]))
            .collect();
        let (low, high) = base
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &s| {
                (l.min(s), h.max(s))
            });
        let relevance: Vec<f64> = base
            .iter()
            .map(|&s| {
                if high > low {
                    (s - low) / (high - low)
                } else {
                    1.0
                }
            })
            .collect();
        let list = self.greedy(case, &candidates, &relevance);
        // Everything below the list, in base order (ties may merge, see the module docs).
        for score in row.iter_mut().skip(1) {
            if score.is_finite() {
                *score = (f64::from(*score).atan() * std::f64::consts::FRAC_2_PI) as f32;
            }
        }
        for (position, &item) in list.iter().enumerate() {
            row[item as usize] = 2.0 + (list.len() - position) as f32;
        }
    }

    /// The re-ranked list: `length` candidates chosen one at a time.
    fn greedy(&self, case: &Case<'_>, candidates: &[u32], relevance: &[f64]) -> Vec<u32> {
        let length = self.length.min(candidates.len());
        let categories = self.categories;
        let profile = categories.and_then(|c| c.profile(case.seen));
        let mut chosen: Vec<u32> = Vec::with_capacity(length);
        let mut taken = vec![false; candidates.len()];
        let mut relevance_sum = 0.0;
        while chosen.len() < length {
            let mut best: Option<(usize, f64)> = None;
            for (index, &item) in candidates.iter().enumerate() {
                if taken[index] {
                    continue;
                }
                let value = match (self.kind, categories) {
                    (RerankKind::Calibrated, Some(c)) => {
                        let miscalibration = profile.as_ref().map_or(0.0, |p| {
                            let mut list = chosen.clone();
                            list.push(item);
                            c.miscalibration(p, &list).unwrap_or(0.0)
                        });
                        (1.0 - self.lambda) * (relevance_sum + relevance[index])
                            - self.lambda * miscalibration
                    }
                    (RerankKind::Diversity, Some(c)) => {
                        let distance = if chosen.is_empty() {
                            1.0
                        } else {
                            let mut pair = [0u32; 2];
                            let distances: f64 = chosen
                                .iter()
                                .map(|&other| {
                                    pair = [other, item];
                                    c.intra_list_distance(&pair).unwrap_or(0.0)
                                })
                                .sum();
                            distances / chosen.len() as f64
                        };
                        (1.0 - self.lambda) * relevance[index] + self.lambda * distance
                    }
                    _ => relevance[index],
                };
                // Strictly better only: equal values keep the base order.
                if best.is_none_or(|(_, v)| value > v) {
                    best = Some((index, value));
                }
            }
            let Some((index, _)) = best else { break };
            taken[index] = true;
            relevance_sum += relevance[index];
            chosen.push(candidates[index]);
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items 1..=4 scored 0.9, 0.8, 0.7, 0.6 for one case with history [1].
    fn base(_: &[Case<'_>], out: &mut [f32]) {
        out.copy_from_slice(&[0.0, 0.9, 0.8, 0.7, 0.6]);
    }

    fn order(reranked: &Reranked<'_>, seen: &[u32]) -> Vec<u32> {
        let case = Case {
            user: 0,
            history: seen,
            seen,
            target: 4,
        };
        let mut row = vec![0f32; 5];
        reranked.score(&[case], &mut row);
        let mut items: Vec<u32> = (1..5).collect();
        items.sort_by(|&a, &b| row[b as usize].total_cmp(&row[a as usize]));
        items
    }

    #[test]
    fn each_reranker_by_hand() {
        // Categories: 1 {a}, 2 {a}, 3 {b}, 4 {a, b}.
        let categories = Categories::from_lists(
            vec!["a".into(), "b".into()],
            vec![vec![], vec![0], vec![0], vec![1], vec![0, 1]],
        );
        let counts = [0u64, 100, 50, 1, 0];
        let reranked = |kind, lambda| Reranked {
            base: &base,
            kind,
            lambda,
            depth: 4,
            length: 3,
            mask_history: false,
            counts: &counts,
            categories: Some(&categories),
        };
        // λ = 0 keeps the base order, whatever the kind.
        for kind in [
            RerankKind::PopularityPenalty,
            RerankKind::Calibrated,
            RerankKind::Diversity,
        ] {
            assert_eq!(order(&reranked(kind, 0.0), &[1]), [1, 2, 3, 4], "{kind:?}");
        }
        // Penalty 0.1: 0.9 − 0.1 ln 101 = 0.438, 0.8 − 0.1 ln 51 = 0.407, 0.7 − 0.1 ln 2 = 0.631,
        // 0.6 − 0 = 0.6.
        assert_eq!(
            order(&reranked(RerankKind::PopularityPenalty, 0.1), &[1]),
            [3, 4, 1, 2]
        );
        // MMR at λ = 0.5 (relevance scaled: 1, 2/3, 1/3, 0): first 1 (0.5 + 0.5); then
        // 2: 0.333 + 0 = 0.333, 3: 0.167 + 0.5 = 0.667, 4: 0 + 0.25 = 0.25 → 3; then
        // 2: 0.333 + 0.25 = 0.583, 4: 0 + 0.25 → 2. Item 4 stays below the list of three.
        assert_eq!(
            order(&reranked(RerankKind::Diversity, 0.5), &[1]),
            [1, 3, 2, 4]
        );
        // Calibration to a history of only b (item 3) at λ = 0.9: item 3 (b) first, then 4
        // (half b), then 1 (the same mix as 2, more relevant).
        assert_eq!(
            order(&reranked(RerankKind::Calibrated, 0.9), &[3]),
            [3, 4, 1, 2]
        );
        // With masking, seen items never enter the list.
        let masked = Reranked {
            mask_history: true,
            ..reranked(RerankKind::Diversity, 0.5)
        };
        let list = order(&masked, &[1]);
        assert_eq!(&list[..3], [2, 3, 4]);
    }
}
