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
    /// For a source with its own split: how many interactions its files mark as context (known
    /// only from a history), train, valid and test targets, whatever split is used.
    #[serde(default)]
    pub parts: Option<[usize; 4]>,
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
            parts: dataset.parts.as_ref().map(|parts| {
                let mut counts = [0; 4];
                for &part in parts {
                    counts[part as usize] += 1;
                }
                counts
            }),
        })
    }
}
/// The table `latentr3 data stats` prints: raw and filtered columns, then the split.
impl std::fmt::Display for DataStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "dataset {}", self.dataset)?;
        writeln!(f, "{:<26}{:>14}{:>14}", "", "raw", "filtered")?;
        type Row = (&'static str, fn(&InteractionStats) -> String);
        let rows: [Row; 11] = [
            ("users", |s| s.users.to_string()),
            ("items", |s| s.items.to_string()),
            ("interactions", |s| s.interactions.to_string()),
            ("density", |s| format!("{:.5}", s.density)),
            ("sequence length min", |s| s.sequence_length.min.to_string()),
            ("sequence length p25", |s| s.sequence_length.p25.to_string()),
            ("sequence length median", |s| {
                s.sequence_length.median.to_string()
            }),
            ("sequence length p75", |s| s.sequence_length.p75.to_string()),
            ("sequence length p90", |s| s.sequence_length.p90.to_string()),
            ("sequence length max", |s| s.sequence_length.max.to_string()),
            ("item popularity Gini", |s| format!("{:.4}", s.item_gini)),
        ];
        for (name, value) in rows {
            writeln!(
                f,
                "{name:<26}{:>14}{:>14}",
                value(&self.raw),
                value(&self.filtered)
            )?;
        }
        writeln!(
            f,
            "split {:?} (max history {}): {} train / {} valid / {} test samples",
            self.split.kind,
            self.split.max_history,
            self.train_samples,
            self.valid_samples,
            self.test_samples
        )?;
        if let Some([context, train, valid, test]) = self.parts {
            writeln!(
                f,
                "the files' own split: {train} train / {valid} valid / {test} test targets, {context} context-only interactions"
            )?;
        }
        writeln!(
            f,
            "head items (80% of training interactions): {}, tail items: {}",
            self.head_items, self.tail_items
        )?;
        Ok(())
    }
}
