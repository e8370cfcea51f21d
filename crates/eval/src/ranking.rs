//! The one ranking rule of latentr3: how a row of scores becomes the target's rank and a top-K
//! list. The evaluator, the RL rewards and `recommend` all call [`rank_row`], so a figure and a
//! reward can never rank the same scores differently.
//!
//! For one case with items `1..=n` (0 is padding):
//! - **Candidates** are every real item except the ones the user has already seen (when masking
//!   is on); the target is always a candidate, even when the user saw it before.
//! - **NaN scores** count as −∞: the worst possible score.
//! - **Rank** = 1 + #{candidates other than the target scoring ≥ the target}: ties are broken
//!   against the target, so a constant scorer gets HR@K ≈ K/n, and a target scored NaN or −∞
//!   ranks last among the candidates (rank = the number of candidates).
//! - **Top-K** lists candidates by score, equal scores by ascending item id; an item scored NaN
//!   or −∞ is never listed, so a list can be shorter than K.

/// Where [`rank_row`] puts an excluded item (padding, already seen): NaN, which no comparison
/// counts. A real NaN score loses to any target as −∞ would (no comparison with it holds
/// either); for a target scored NaN or −∞ real NaN scores are turned into −∞ first.
const EXCLUDED: f32 = f32::NAN;

/// Ranks one row of scores under the rule of this module and fills `top` with the `k` best
/// candidates (best first). `scores` has `n + 1` slots (slot 0 is padding); it is overwritten:
/// afterwards NaN marks the excluded items (and real NaN scores). `excluded` lists what the user has already seen
/// (pass an empty slice when masking is off); repeats and the target itself are allowed and
/// change nothing. Returns the target's rank, from 1 to the number of candidates.
pub fn rank_row(
    scores: &mut [f32],
    target: usize,
    excluded: &[u32],
    k: usize,
    top: &mut Vec<u32>,
) -> u32 {
    debug_assert!(target >= 1 && target < scores.len(), "target out of range");
    let t = scores[target];
    if t.is_nan() || t == f32::NEG_INFINITY {
        // The target ranks last among the candidates, where a NaN item ties with it: NaN
        // becomes −∞ before the excluded items are marked. Any other target beats NaN items
        // with no pass over the row, since no comparison with NaN holds.
        for s in scores.iter_mut() {
            if s.is_nan() {
                *s = f32::NEG_INFINITY;
            }
        }
    }
    exclude(scores, excluded, Some(target));
    let rank = rank_of(scores, target);
    top_k(scores, k, top);
    rank
}

/// The top-K list of [`rank_row`] for a row without a target (recommending, not evaluating):
/// the `k` best items that are not in `excluded`, best first. Overwrites `scores` likewise.
pub fn top_row(scores: &mut [f32], excluded: &[u32], k: usize, top: &mut Vec<u32>) {
    exclude(scores, excluded, None);
    top_k(scores, k, top);
}

/// Padding and the excluded items (except `keep`) become NaN, which no comparison counts.
fn exclude(scores: &mut [f32], excluded: &[u32], keep: Option<usize>) {
    if let Some(pad) = scores.first_mut() {
        *pad = EXCLUDED;
    }
    for &item in excluded {
        let item = item as usize;
        if Some(item) != keep && item < scores.len() {
            scores[item] = EXCLUDED;
        }
    }
}

/// 1 + the number of other candidates (non-NaN slots) scoring at least the target's score.
fn rank_of(scores: &[f32], target: usize) -> u32 {
    let t = scores[target];
    // `s >= t` is false for NaN (excluded) slots; the target counts itself, standing for "1 +".
    scores.iter().filter(|&&s| s >= t).count() as u32
}

/// The `k` best items (score descending, id ascending), skipping NaN and −∞.
fn top_k(scores: &[f32], k: usize, top: &mut Vec<u32>) {
    top.clear();
    if k == 0 {
        return;
    }
    let mut threshold = f32::NEG_INFINITY;
    for (item, &s) in scores.iter().enumerate() {
        // NaN fails both comparisons. Strictly greater: with equal scores the lower id stays.
        if s > threshold || (top.len() < k && s > f32::NEG_INFINITY) {
            let position = top.partition_point(|&other| scores[other as usize] >= s);
            if position < k {
                if top.len() == k {
                    top.pop();
                }
                top.insert(position, item as u32);
                if top.len() == k {
                    threshold = scores[top[k - 1] as usize];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_orders_by_score_then_id_and_skips_excluded() {
        let mut scores = [
            f32::NEG_INFINITY,
            0.5,
            0.9,
            0.5,
            f32::NAN,
            0.9,
            f32::NEG_INFINITY,
        ];
        let mut top = Vec::new();
        rank_row(&mut scores.clone(), 1, &[], 3, &mut top);
        assert_eq!(top, [2, 5, 1]);
        rank_row(&mut scores, 1, &[], 6, &mut top);
        assert_eq!(top, [2, 5, 1, 3], "NaN and -inf are never listed");
    }

    #[test]
    fn rank_breaks_ties_against_the_target() {
        let mut top = Vec::new();
        let scores = [0.0, 1.0, 1.0, 1.0, 0.5];
        assert_eq!(rank_row(&mut scores.clone(), 1, &[], 1, &mut top), 3);
        assert_eq!(rank_row(&mut scores.clone(), 4, &[], 1, &mut top), 4);
        // Padding never counts, even with the best score.
        assert_eq!(rank_row(&mut [9.0, 0.1, 0.2], 2, &[], 1, &mut top), 1);
    }

    #[test]
    fn nan_and_minus_infinity_targets_rank_last_among_candidates() {
        let mut top = Vec::new();
        for bad in [f32::NAN, f32::NEG_INFINITY] {
            // Items 1..=5, item 2 seen: 4 candidates, the target last whatever the others score.
            let scores = [0.0, bad, f32::NEG_INFINITY, 0.3, f32::NAN, 0.1];
            assert_eq!(rank_row(&mut scores.clone(), 1, &[2, 2], 3, &mut top), 4);
            assert_eq!(top, [3, 5]);
            assert_eq!(rank_row(&mut scores.clone(), 1, &[], 3, &mut top), 5);
        }
        // A NaN item ties with a -inf target, and loses to any finite one.
        let scores = [0.0, 0.2, f32::NAN];
        assert_eq!(rank_row(&mut scores.clone(), 1, &[], 1, &mut top), 1);
    }

    #[test]
    fn a_list_without_target_excludes_everything_seen() {
        let mut top = Vec::new();
        top_row(&mut [0.0, 0.9, 0.1, 0.5, f32::NAN], &[1, 1], 5, &mut top);
        assert_eq!(top, [3, 2]);
    }

    #[test]
    fn the_target_is_never_excluded() {
        let mut top = Vec::new();
        let mut scores = [0.0, 0.1, 0.9, 0.5];
        assert_eq!(rank_row(&mut scores, 2, &[2, 3], 2, &mut top), 1);
        assert_eq!(top, [2, 1]);
    }
}
