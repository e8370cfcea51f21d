//! The processed dataset: dense ids, chronological per-user sequences, and summary statistics.

use serde::{Deserialize, Serialize};

use crate::split::SplitPart;
pub use latentr3_eval::Categories;

/// A dense item id: `1..=num_items`; 0 is reserved for padding.
pub type ItemId = u32;
/// A dense user id: `0..num_users`.
pub type UserId = u32;

/// The padding item id.
pub const PAD: ItemId = 0;

/// Per-user chronological item sequences stored flat: user `u`'s items are
/// `items[offsets[u]..offsets[u + 1]]`, oldest first, with `times` alongside.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sequences {
    pub offsets: Vec<usize>,
    pub items: Vec<ItemId>,
    pub times: Vec<i64>,
}

impl Sequences {
    /// Number of users (sequences).
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether there are no sequences.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The items of user `user`, oldest first.
    pub fn items(&self, user: UserId) -> &[ItemId] {
        let u = user as usize;
        &self.items[self.offsets[u]..self.offsets[u + 1]]
    }

    /// The timestamps of user `user`'s items.
    pub fn times(&self, user: UserId) -> &[i64] {
        let u = user as usize;
        &self.times[self.offsets[u]..self.offsets[u + 1]]
    }

    /// Iterates over `(user, items)`.
    pub fn iter(&self) -> impl Iterator<Item = (UserId, &[ItemId])> {
        (0..self.len() as UserId).map(|u| (u, self.items(u)))
    }
}

/// Quantiles of the sequence lengths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LengthQuantiles {
    pub min: usize,
    pub p25: usize,
    pub median: usize,
    pub p75: usize,
    pub p90: usize,
    pub max: usize,
    pub mean: f64,
}

impl LengthQuantiles {
    /// Quantiles (nearest rank) of the given lengths.
    pub fn of(mut lengths: Vec<usize>) -> Self {
        if lengths.is_empty() {
            return Self::default();
        }
        lengths.sort_unstable();
        let n = lengths.len();
        let at = |q: f64| lengths[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
        LengthQuantiles {
            min: lengths[0],
            p25: at(0.25),
            median: at(0.5),
            p75: at(0.75),
            p90: at(0.9),
            max: lengths[n - 1],
            mean: lengths.iter().sum::<usize>() as f64 / n as f64,
        }
    }
}

/// Counts that describe a set of interactions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InteractionStats {
    pub users: usize,
    pub items: usize,
    pub interactions: usize,
    /// interactions / (users × items).
    pub density: f64,
    pub sequence_length: LengthQuantiles,
    /// Gini coefficient of item interaction counts (0 = uniform, → 1 = concentrated).
    pub item_gini: f64,
}

impl InteractionStats {
    /// Statistics from per-user interaction counts and per-item interaction counts (items with
    /// no interaction excluded).
    pub fn from_counts(user_lengths: Vec<usize>, item_counts: &[u64]) -> Self {
        let users = user_lengths.iter().filter(|&&l| l > 0).count();
        let interactions: usize = user_lengths.iter().sum();
        let present: Vec<u64> = item_counts.iter().copied().filter(|&c| c > 0).collect();
        let items = present.len();
        InteractionStats {
            users,
            items,
            interactions,
            density: if users * items == 0 {
                0.0
            } else {
                interactions as f64 / (users as f64 * items as f64)
            },
            sequence_length: LengthQuantiles::of(
                user_lengths.into_iter().filter(|&l| l > 0).collect(),
            ),
            item_gini: gini(&present),
        }
    }
}

/// Gini coefficient of non-negative counts: the evaluator's one definition.
pub use latentr3_eval::gini;

/// A preprocessed dataset: what every split, batcher and model works on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// A short name (the file stem, or `synthetic`).
    pub name: String,
    pub sequences: Sequences,
    /// Original id of each dense user.
    pub user_ids: Vec<String>,
    /// Original id of each dense item; index 0 is the padding entry `"<pad>"`.
    pub item_ids: Vec<String>,
    /// Titles by dense item id where the dataset has them (index 0 empty).
    pub titles: Option<Vec<String>>,
    /// Statistics of the file before any filtering.
    pub raw: InteractionStats,
    /// Statistics after filtering.
    pub filtered: InteractionStats,
    /// The source has no timestamps: sequences are in file order, and a temporal split is
    /// refused.
    pub untimed: bool,
    /// The split part of every interaction, aligned with `sequences.items`, when the source
    /// carries its own split (`split.kind = "predefined"`).
    #[serde(default)]
    pub parts: Option<Vec<SplitPart>>,
    /// Item categories by dense item id (genres, store categories, synthetic topics), where
    /// the source has them; what the category metrics and rewards need.
    #[serde(default)]
    pub categories: Option<Categories>,
}

impl Dataset {
    /// Number of users.
    pub fn num_users(&self) -> usize {
        self.sequences.len()
    }

    /// Number of real items (ids `1..=num_items`).
    pub fn num_items(&self) -> usize {
        self.item_ids.len().saturating_sub(1)
    }

    /// Number of interactions.
    pub fn num_interactions(&self) -> usize {
        self.sequences.items.len()
    }

    /// The dense id of an original item id, if the item survived preprocessing.
    pub fn item_by_original_id(&self, original: &str) -> Option<ItemId> {
        find_item(&self.item_ids, original)
    }

    /// The title of an item, if the dataset has titles.
    pub fn title(&self, item: ItemId) -> Option<&str> {
        item_title(self.titles.as_deref(), item)
    }
}

/// The dense id of `original` in `item_ids` (the original id of every dense id), as
/// [`Dataset::item_by_original_id`] and anything else holding a copy of the ids look it up.
pub fn find_item(item_ids: &[String], original: &str) -> Option<ItemId> {
    item_ids
        .iter()
        .position(|id| id == original)
        .map(|i| i as ItemId)
}

/// The title of `item` in `titles` (by dense id; empty: unknown).
pub fn item_title(titles: Option<&[String]>, item: ItemId) -> Option<&str> {
    titles
        .and_then(|t| t.get(item as usize))
        .map(String::as_str)
        .filter(|t| !t.is_empty())
}
