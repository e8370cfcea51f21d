//! The figures `latentr3 data stats` prints.

use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, InteractionStats};
use crate::error::Result;
use crate::popularity::Popularity;
use crate::split::{Split, SplitConfig};

/// Statistics before and after filtering, plus the training split's head/tail sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataStats {
    pub dataset: String,
    pub users: usize,
    pub items: usize,
    pub interactions: usize,
    /// Before filtering.
    pub raw: InteractionStats,
    /// After filtering.
    pub filtered: InteractionStats,
    pub split: SplitConfig,
    pub train_samples: usize,
    pub valid_samples: usize,
    pub test_samples: usize,
    /// Short-head items (holding 80% of training interactions).
    pub head_items: usize,
    /// Long-tail items (everything else, unseen items included).
    pub tail_items: usize,
}

impl DataStats {
    /// Computes the statistics of a dataset under a split.
    pub fn new(dataset: &Dataset, split_config: &SplitConfig) -> Result<DataStats> {
        let split = Split::new(dataset, split_config)?;
        let popularity = Popularity::from_split(dataset, &split);
        Ok(DataStats {
            dataset: dataset.name.clone(),
            users: dataset.filtered.users,
            items: dataset.filtered.items,
            interactions: dataset.filtered.interactions,
            raw: dataset.raw.clone(),
            filtered: dataset.filtered.clone(),
            split: split_config.clone(),
            train_samples: split.train.len(),
            valid_samples: split.valid.len(),
            test_samples: split.test.len(),
            head_items: popularity.head_size(),
            tail_items: popularity.tail_size(),
        })
    }
}
