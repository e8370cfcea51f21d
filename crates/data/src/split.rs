//! Train / validation / test splits: leave-one-out and the LatentR³ global temporal split.

use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, ItemId, UserId};
use crate::error::{DataError, Result};

/// Which split protocol to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitKind {
    /// Last item of each user is the test target, the second-last the validation target, the
    /// rest is training (RecBole's "LS valid_and_test", ordered by time).
    #[default]
    LeaveOneOut,
    /// LatentR³: every chronological position is a sample with a sliding history; samples are
    /// sorted by target time and cut 80/10/10 (by default) globally.
    Temporal,
}

/// Split settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitConfig {
    pub kind: SplitKind,
    /// The most recent items a sample's history keeps (the paper uses 10 for the temporal split;
    /// SASRec's maximum length is 50).
    pub max_history: usize,
    /// Temporal split: fraction of samples (by target time) used for training.
    pub train_fraction: f64,
    /// Temporal split: fraction used for validation; the rest is the test set.
    pub valid_fraction: f64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        SplitConfig {
            kind: SplitKind::LeaveOneOut,
            max_history: 50,
            train_fraction: 0.8,
            valid_fraction: 0.1,
        }
    }
}

impl SplitConfig {
    /// Checks the settings for values that cannot work.
    pub fn validate(&self) -> Result<()> {
        if self.max_history == 0 {
            return Err(DataError::InvalidSetting {
                field: "max_history",
                message: "must be at least 1".into(),
            });
        }
        let (t, v) = (self.train_fraction, self.valid_fraction);
        if !(t > 0.0 && v >= 0.0 && t + v < 1.0) {
            return Err(DataError::InvalidSetting {
                field: "train_fraction",
                message: format!(
                    "train_fraction {t} and valid_fraction {v} must be positive with a sum below 1"
                ),
            });
        }
        Ok(())
    }
}

/// One prediction: user `user`'s item at `position` is the target, the items before it are the
/// history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sample {
    pub user: UserId,
    pub position: u32,
}

/// A sample resolved against its dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example<'a> {
    pub user: UserId,
    /// The most recent `max_history` items before the target, oldest first.
    pub history: &'a [ItemId],
    pub target: ItemId,
}

/// The three parts of a split. Every part is a list of samples; training samples of a user are
/// always a prefix of that user's sequence (positions `1..p`), so they can also be trained as one
/// sequence with a target at every position ([`Split::train_sequences`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    pub config: SplitConfig,
    pub train: Vec<Sample>,
    pub valid: Vec<Sample>,
    pub test: Vec<Sample>,
}

impl Split {
    /// Splits the dataset.
    pub fn new(dataset: &Dataset, config: &SplitConfig) -> Result<Split> {
        config.validate()?;
        let sequences = &dataset.sequences;
        let (mut train, mut valid, mut test) = (Vec::new(), Vec::new(), Vec::new());
        match config.kind {
            SplitKind::LeaveOneOut => {
                for (user, items) in sequences.iter() {
                    let n = items.len() as u32;
                    // Users with fewer than 3 items only train.
                    let train_end = if n >= 3 { n - 2 } else { n };
                    train.extend((1..train_end).map(|position| Sample { user, position }));
                    if n >= 3 {
                        valid.push(Sample {
                            user,
                            position: n - 2,
                        });
                        test.push(Sample {
                            user,
                            position: n - 1,
                        });
                    }
                }
            }
            SplitKind::Temporal => {
                let mut all: Vec<(i64, Sample)> = Vec::with_capacity(sequences.items.len());
                for (user, items) in sequences.iter() {
                    let times = sequences.times(user);
                    all.extend(
                        (1..items.len() as u32)
                            .map(|position| (times[position as usize], Sample { user, position })),
                    );
                }
                // Stable tie-break: time, then user, then position.
                all.sort_unstable_by_key(|&(time, s)| (time, s.user, s.position));
                let n = all.len();
                let train_end = (n as f64 * config.train_fraction).round() as usize;
                let valid_end =
                    (n as f64 * (config.train_fraction + config.valid_fraction)).round() as usize;
                for (index, (_, sample)) in all.into_iter().enumerate() {
                    match index {
                        i if i < train_end => train.push(sample),
                        i if i < valid_end => valid.push(sample),
                        _ => test.push(sample),
                    }
                }
                // Keep training samples grouped by user in position order.
                train.sort_unstable_by_key(|s| (s.user, s.position));
            }
        }
        if train.is_empty() || test.is_empty() {
            return Err(DataError::Empty {
                context: format!("{} split of {}", split_name(config.kind), dataset.name),
                hint: " in the training or test part: the sequences are too short".into(),
            });
        }
        Ok(Split {
            config: config.clone(),
            train,
            valid,
            test,
        })
    }

    /// Resolves a sample to its history and target.
    pub fn example<'a>(&self, dataset: &'a Dataset, sample: Sample) -> Example<'a> {
        let items = dataset.sequences.items(sample.user);
        let end = sample.position as usize;
        let start = end.saturating_sub(self.config.max_history);
        Example {
            user: sample.user,
            history: &items[start..end],
            target: items[end],
        }
    }

    /// Each user's training prefix (the items up to and including the last training target),
    /// for training with a target at every position.
    pub fn train_sequences<'a>(&self, dataset: &'a Dataset) -> Vec<(UserId, &'a [ItemId])> {
        let mut out: Vec<(UserId, &'a [ItemId])> = Vec::new();
        for sample in &self.train {
            let prefix = &dataset.sequences.items(sample.user)[..=sample.position as usize];
            match out.last_mut() {
                Some((user, items)) if *user == sample.user => *items = prefix,
                _ => out.push((sample.user, prefix)),
            }
        }
        out
    }
}

fn split_name(kind: SplitKind) -> &'static str {
    match kind {
        SplitKind::LeaveOneOut => "leave-one-out",
        SplitKind::Temporal => "temporal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Sequences;

    fn dataset(sequences: &[(&[ItemId], &[i64])]) -> Dataset {
        let mut seq = Sequences {
            offsets: vec![0],
            ..Default::default()
        };
        for (items, times) in sequences {
            seq.items.extend_from_slice(items);
            seq.times.extend_from_slice(times);
            seq.offsets.push(seq.items.len());
        }
        let max_item = seq.items.iter().copied().max().unwrap_or(0) as usize;
        Dataset {
            name: "t".into(),
            sequences: seq,
            user_ids: (0..sequences.len()).map(|u| u.to_string()).collect(),
            item_ids: (0..=max_item).map(|i| i.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn leave_one_out_holds_out_the_last_two() {
        let data = dataset(&[(&[1, 2, 3, 4, 5], &[1, 2, 3, 4, 5]), (&[6, 7], &[1, 2])]);
        let split = Split::new(&data, &SplitConfig::default()).unwrap();
        let test = split.example(&data, split.test[0]);
        assert_eq!((test.history, test.target), (&[1, 2, 3, 4][..], 5));
        let valid = split.example(&data, split.valid[0]);
        assert_eq!((valid.history, valid.target), (&[1, 2, 3][..], 4));
        assert_eq!(split.test.len(), 1, "a 2-item user is not tested");
        let prefixes = split.train_sequences(&data);
        assert_eq!(prefixes, vec![(0, &[1, 2, 3][..]), (1, &[6, 7][..])]);
    }

    #[test]
    fn temporal_split_is_global_by_time_with_sliding_history() {
        // 10 targets in total (positions 1.. of both users), interleaved in time.
        let data = dataset(&[
            (&[1, 2, 3, 4, 5, 6], &[0, 10, 30, 50, 70, 90]),
            (&[7, 8, 9, 10, 11, 12], &[0, 20, 40, 60, 80, 100]),
        ]);
        let config = SplitConfig {
            kind: SplitKind::Temporal,
            max_history: 2,
            ..SplitConfig::default()
        };
        let split = Split::new(&data, &config).unwrap();
        assert_eq!(
            (split.train.len(), split.valid.len(), split.test.len()),
            (8, 1, 1)
        );
        let test = split.example(&data, split.test[0]);
        assert_eq!((test.history, test.target), (&[10, 11][..], 12));
        let valid = split.example(&data, split.valid[0]);
        assert_eq!(valid.target, 6);
        // Every training target is earlier than every validation target.
        let time = |s: Sample| data.sequences.times(s.user)[s.position as usize];
        let latest_train = split.train.iter().map(|&s| time(s)).max().unwrap();
        assert!(latest_train <= time(split.valid[0]));
    }

    #[test]
    fn bad_fractions_are_rejected() {
        let data = dataset(&[(&[1, 2, 3], &[1, 2, 3])]);
        let config = SplitConfig {
            train_fraction: 0.95,
            valid_fraction: 0.1,
            ..SplitConfig::default()
        };
        assert!(
            Split::new(&data, &config)
                .unwrap_err()
                .to_string()
                .contains("train_fraction")
        );
    }
}
