//! Item popularity in the training split and the short-head / long-tail partition
//! (Abdollahpouri et al., RecSys 2017): the head is the smallest set of most popular items
//! holding 80% of training interactions; every other item, unseen ones included, is in the long
//! tail.

use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, ItemId};
use crate::split::Split;

/// Share of training interactions the short head holds (Abdollahpouri et al.; Elliot's
/// `pop_ratio`).
pub const HEAD_SHARE: f64 = 0.8;

/// Training-split popularity of every item id (index 0, the padding id, is always 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Popularity {
    /// Interactions of each item in the training split.
    pub counts: Vec<u64>,
    /// Whether each item is in the short head.
    pub is_head: Vec<bool>,
    /// Number of users with at least one training interaction.
    pub train_users: usize,
}

impl Popularity {
    /// Popularity over the training part of the split ([`Split::training_part`]): no
    /// validation or test target is ever counted.
    pub fn from_split(dataset: &Dataset, split: &Split) -> Popularity {
        let mut counts = vec![0u64; dataset.num_items() + 1];
        let prefixes = split.training_part(dataset);
        for (_, items) in &prefixes {
            for &item in *items {
                counts[item as usize] += 1;
            }
        }
        Popularity::from_counts(counts, prefixes.len())
    }

    /// Popularity from counts indexed by item id (index 0 = padding, ignored).
    pub fn from_counts(mut counts: Vec<u64>, train_users: usize) -> Popularity {
        if let Some(pad) = counts.first_mut() {
            *pad = 0;
        }
        let total: u64 = counts.iter().sum();
        let mut order: Vec<usize> = (1..counts.len()).collect();
        // Most popular first; equal counts by id, so the partition is deterministic.
        order.sort_by_key(|&i| (std::cmp::Reverse(counts[i]), i));
        let mut is_head = vec![false; counts.len()];
        let mut held = 0u64;
        for i in order {
            if held as f64 >= HEAD_SHARE * total as f64 {
                break;
            }
            is_head[i] = true;
            held += counts[i];
        }
        Popularity {
            counts,
            is_head,
            train_users,
        }
    }

    /// Number of short-head items.
    pub fn head_size(&self) -> usize {
        self.is_head.iter().filter(|&&h| h).count()
    }

    /// Number of long-tail items (padding excluded).
    pub fn tail_size(&self) -> usize {
        self.counts.len().saturating_sub(1) - self.head_size()
    }

    /// Whether the item is in the long tail.
    pub fn is_tail(&self, item: ItemId) -> bool {
        item != 0 && !self.is_head[item as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_is_the_smallest_prefix_holding_80_percent() {
        // Total 100: item 1 holds 50, item 2 30 (cumulative 80 = 80%), the rest the tail.
        let pop = Popularity::from_counts(vec![0, 50, 30, 10, 5, 5, 0], 3);
        assert_eq!(pop.is_head, [false, true, true, false, false, false, false]);
        assert_eq!((pop.head_size(), pop.tail_size()), (2, 4));
        assert!(pop.is_tail(6), "unseen items are in the tail");
        assert!(!pop.is_tail(0), "padding is neither");
    }

    #[test]
    fn head_crosses_the_threshold_when_needed() {
        // 50 + 29 = 79 < 80, so the third item joins the head.
        let pop = Popularity::from_counts(vec![0, 50, 29, 11, 10], 1);
        assert_eq!(pop.head_size(), 3);
    }
}
