//! Item categories (MovieLens genres, Amazon categories, the synthetic generator's topics) and
//! the category metrics of a top-K list.
//!
//! With `G_i` the categories of item `i` and `p(g|i) = 1/|G_i|` for `g ∈ G_i`:
//! - **Miscalibration@K** (Steck, RecSys 2018): `KL(p ‖ q̃) = Σ_g p(g) ln(p(g) / q̃(g))`, where
//!   `p(g) = mean over the user's earlier items (the case's whole `seen` sequence) of p(g|i)`,
//!   `q(g)` the same over the top-K list, and `q̃ = (1 − α) q + α p` with `α = 0.01` so that
//!   the divergence stays finite. 0 is a list whose category mix is the history's. Items
//!   without categories are left out of both means; a case with none in its history or list is
//!   not counted.
//! - **CategoryILD@K**: intra-list diversity, the mean over pairs of listed items (both with
//!   categories) of the Jaccard distance `1 − |G_i ∩ G_j| / |G_i ∪ G_j|`, averaged over lists
//!   with at least one such pair. 0: every pair shares all its categories.
//! - **CategoryCoverage@K**: the share of all categories that some top-K list shows.

use serde::{Deserialize, Serialize};

/// Smoothing of the list's distribution in Miscalibration@K (Steck's α).
pub const CALIBRATION_ALPHA: f64 = 0.01;

/// The categories of every item id (index 0 = padding, which has none), stored flat.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Categories {
    /// Category names, indexed by category id.
    pub names: Vec<String>,
    /// Item `i`'s category ids are `ids[offsets[i]..offsets[i + 1]]`, sorted and distinct.
    pub offsets: Vec<usize>,
    pub ids: Vec<u32>,
}

impl Categories {
    /// Categories from one list of category ids per item id (index 0 = padding). Lists are
    /// sorted and de-duplicated; ids must index `names`.
    pub fn from_lists(names: Vec<String>, lists: Vec<Vec<u32>>) -> Categories {
        let mut offsets = Vec::with_capacity(lists.len() + 1);
        offsets.push(0);
        let mut ids = Vec::new();
        for mut list in lists {
            list.sort_unstable();
            list.dedup();
            debug_assert!(list.iter().all(|&g| (g as usize) < names.len()));
            ids.extend(list);
            offsets.push(ids.len());
        }
        Categories {
            names,
            offsets,
            ids,
        }
    }

    /// Number of item slots (padding included).
    pub fn slots(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// The category ids of `item` (empty for unknown items and padding).
    pub fn of(&self, item: u32) -> &[u32] {
        let i = item as usize;
        if i + 1 >= self.offsets.len() {
            return &[];
        }
        &self.ids[self.offsets[i]..self.offsets[i + 1]]
    }

    /// How many real items have at least one category.
    pub fn items_with_categories(&self) -> usize {
        (1..self.slots())
            .filter(|&i| !self.of(i as u32).is_empty())
            .count()
    }

    /// `Σ_i p(g|i)` over `items` with categories, as sorted `(category, mass)` pairs, and how
    /// many items had categories.
    fn distribution(&self, items: &[u32]) -> (Vec<(u32, f64)>, usize) {
        let mut mass: Vec<(u32, f64)> = Vec::new();
        let mut counted = 0;
        for &item in items {
            let categories = self.of(item);
            if categories.is_empty() {
                continue;
            }
            counted += 1;
            let share = 1.0 / categories.len() as f64;
            mass.extend(categories.iter().map(|&g| (g, share)));
        }
        mass.sort_unstable_by_key(|&(g, _)| g);
        let mut merged: Vec<(u32, f64)> = Vec::with_capacity(mass.len());
        for (g, m) in mass {
            match merged.last_mut() {
                Some((last, total)) if *last == g => *total += m,
                _ => merged.push((g, m)),
            }
        }
        if counted > 0 {
            merged.iter_mut().for_each(|(_, m)| *m /= counted as f64);
        }
        (merged, counted)
    }

    /// The history's category distribution for [`Categories::miscalibration`]: `None` when no
    /// item of `history` has categories.
    pub fn profile(&self, history: &[u32]) -> Option<Vec<(u32, f64)>> {
        let (p, counted) = self.distribution(history);
        (counted > 0).then_some(p)
    }

    /// Steck's miscalibration of `list` against a history `profile`: `KL(p ‖ (1 − α) q + α p)`;
    /// `None` when no listed item has categories.
    pub fn miscalibration(&self, profile: &[(u32, f64)], list: &[u32]) -> Option<f64> {
        let (q, counted) = self.distribution(list);
        if counted == 0 {
            return None;
        }
        let mut kl = 0.0;
        let mut at = 0;
        for &(g, p) in profile {
            while at < q.len() && q[at].0 < g {
                at += 1;
            }
            let q_g = if at < q.len() && q[at].0 == g {
                q[at].1
            } else {
                0.0
            };
            let smoothed = (1.0 - CALIBRATION_ALPHA) * q_g + CALIBRATION_ALPHA * p;
            kl += p * (p / smoothed).ln();
        }
        Some(kl)
    }

    /// Mean Jaccard distance between the category sets of the listed items' pairs (items
    /// without categories left out); `None` with fewer than two such items.
    pub fn intra_list_distance(&self, list: &[u32]) -> Option<f64> {
        let sets: Vec<&[u32]> = list
            .iter()
            .map(|&i| self.of(i))
            .filter(|c| !c.is_empty())
            .collect();
        if sets.len() < 2 {
            return None;
        }
        let mut total = 0.0;
        let mut pairs = 0usize;
        for (a, first) in sets.iter().enumerate() {
            for second in &sets[a + 1..] {
                let shared = sorted_intersection(first, second);
                let union = first.len() + second.len() - shared;
                total += 1.0 - shared as f64 / union as f64;
                pairs += 1;
            }
        }
        Some(total / pairs as f64)
    }
}

/// `|a ∩ b|` of two sorted, distinct lists.
fn sorted_intersection(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items 1..=4: {0}, {0, 1}, {1}, none; three categories.
    fn categories() -> Categories {
        Categories::from_lists(
            vec!["a".into(), "b".into(), "c".into()],
            vec![vec![], vec![0], vec![1, 0], vec![1], vec![]],
        )
    }

    #[test]
    fn distributions_split_an_item_evenly_over_its_categories() {
        let c = categories();
        assert_eq!(c.of(2), &[0, 1]);
        assert_eq!(c.items_with_categories(), 3);
        // History 1, 2: p(a) = (1 + 1/2) / 2 = 0.75, p(b) = 0.25; item 4 has none.
        assert_eq!(c.profile(&[1, 2, 4]), Some(vec![(0, 0.75), (1, 0.25)]));
        assert_eq!(c.profile(&[4]), None);
    }

    #[test]
    fn miscalibration_by_hand() {
        let c = categories();
        let p = c.profile(&[1, 2]).unwrap();
        // A list with the same mix: 0.
        assert!(c.miscalibration(&p, &[1, 2]).unwrap().abs() < 1e-12);
        // A list of item 3 only: q = (0, 1); q̃(a) = 0.01 × 0.75, q̃(b) = 0.99 + 0.01 × 0.25.
        let expected =
            0.75 * (0.75f64 / (0.01 * 0.75)).ln() + 0.25 * (0.25f64 / (0.99 + 0.01 * 0.25)).ln();
        let got = c.miscalibration(&p, &[3, 4]).unwrap();
        assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
        assert_eq!(c.miscalibration(&p, &[4]), None);
    }

    #[test]
    fn intra_list_distance_by_hand() {
        let c = categories();
        // Pairs (1,2): 1 − 1/2; (1,3): 1; (2,3): 1 − 1/2. Mean 2/3; item 4 left out.
        let got = c.intra_list_distance(&[1, 2, 3, 4]).unwrap();
        assert!((got - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(c.intra_list_distance(&[1, 4]), None);
        assert_eq!(c.intra_list_distance(&[1, 1]), Some(0.0));
    }
}
