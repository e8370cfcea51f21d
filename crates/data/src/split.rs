//! Train / validation / test splits: leave-one-out, the LatentR³ global temporal split, and the
//! predefined split that a benchmark's own files carry.

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
    /// The split the source's own files define (the D3 / BIGRec / LatentR³ `train/valid/test`
    /// CSVs, RecBole's `<name>.train.inter` benchmark files): their samples, unchanged, so a
    /// figure is comparable with the papers that published them.
    Predefined,
}

/// Which part of a predefined split an interaction's position belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitPart {
    /// Only history: known from a later sample's history, never a target itself (the first
    /// item of each user, or items before the first sample the files hold).
    Context,
    Train,
    Valid,
    Test,
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
    /// The model's input: the most recent `max_history` items before the target, oldest first.
    pub history: &'a [ItemId],
    /// What the user has already seen: every item before the target in their chronological
    /// sequence ([`Split::seen`]), of which `history` is the tail.
    pub seen: &'a [ItemId],
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
            SplitKind::Predefined => {
                let Some(parts) = &dataset.parts else {
                    return Err(DataError::InvalidSetting {
                        field: "split.kind",
                        message: format!(
                            "\"predefined\" uses the split a benchmark's files carry, and {} has none; point data.path at a D3-style train/valid/test CSV or a RecBole `<name>.train.inter` file, or use \"leave-one-out\" or \"temporal\"",
                            dataset.name
                        ),
                    });
                };
                for (user, items) in sequences.iter() {
                    let start = sequences.offsets[user as usize];
                    let user_parts = &parts[start..start + items.len()];
                    // Training samples must stay a prefix of the user's sequence (the batcher
                    // trains a target at every position up to the last one), so no held-out
                    // target may come before a training one.
                    if let Some(at) = user_parts.windows(2).position(|w| w[0] > w[1]) {
                        return Err(DataError::InvalidSetting {
                            field: "split.kind",
                            message: format!(
                                "user {} of {} has a {:?} target at position {} after a {:?} one; a predefined split needs each user's training targets before their validation and test targets",
                                dataset
                                    .user_ids
                                    .get(user as usize)
                                    .map_or("?", String::as_str),
                                dataset.name,
                                user_parts[at + 1],
                                at + 1,
                                user_parts[at],
                            ),
                        });
                    }
                    // Position 0 has no history: never a sample, whatever its part.
                    for position in 1..items.len() as u32 {
                        let sample = Sample { user, position };
                        match parts[start + position as usize] {
                            SplitPart::Context => {}
                            SplitPart::Train => train.push(sample),
                            SplitPart::Valid => valid.push(sample),
                            SplitPart::Test => test.push(sample),
                        }
                    }
                }
            }
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
            SplitKind::Temporal if dataset.untimed => {
                return Err(DataError::InvalidSetting {
                    field: "split.kind",
                    message: format!(
                        "the temporal split orders samples by time, and {} has no timestamps (its files keep only the order of each user's items); use split.kind = \"leave-one-out\"",
                        dataset.name
                    ),
                });
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
                hint: if config.kind == SplitKind::Predefined {
                    format!(
                        " in the {} part: the split's files hold no such samples (is its {} file missing?); `--set data.split.kind=\"leave-one-out\"` uses the sequences the files hold without their split",
                        if train.is_empty() { "training" } else { "test" },
                        if train.is_empty() { "train" } else { "test" },
                    )
                } else {
                    " in the training or test part: the sequences are too short".into()
                },
            });
        }
        Ok(Split {
            config: config.clone(),
            train,
            valid,
            test,
        })
    }

    /// Resolves a sample to its history, what the user has seen, and its target.
    pub fn example<'a>(&self, dataset: &'a Dataset, sample: Sample) -> Example<'a> {
        let seen = self.seen(dataset, sample);
        let start = seen.len().saturating_sub(self.config.max_history);
        Example {
            user: sample.user,
            history: &seen[start..],
            seen,
            target: dataset.sequences.items(sample.user)[sample.position as usize],
        }
    }

    /// The one definition of "already seen" (what history masking removes from a sample's
    /// candidates): every interaction of the user before the sample's target in their
    /// chronological sequence, equal timestamps in file order. Under leave-one-out that is the
    /// whole prefix (training items, and the validation item for a test case); under the
    /// temporal split it is everything before the target's time, including the user's earlier
    /// validation and test targets. `max_history` bounds only the model's input, never this.
    /// A slice of the sequence, so it costs no memory.
    pub fn seen<'a>(&self, dataset: &'a Dataset, sample: Sample) -> &'a [ItemId] {
        &dataset.sequences.items(sample.user)[..sample.position as usize]
    }

    /// Each user's part of the training data, the interactions that training popularity counts
    /// ([`Popularity::from_split`](crate::Popularity::from_split)):
    /// - leave-one-out: every interaction except the validation and test targets (users with
    ///   fewer than 3 items are never evaluated and keep them all; a 3-item user keeps only the
    ///   first, which is no training target but was consumed before the held-out ones);
    /// - temporal and predefined: the prefix up to the user's last training target (nothing for
    ///   a user whose first target falls after the training cut, so nothing from after it is
    ///   counted).
    ///
    /// Users with an empty part are left out.
    pub fn training_part<'a>(&self, dataset: &'a Dataset) -> Vec<(UserId, &'a [ItemId])> {
        match self.config.kind {
            SplitKind::LeaveOneOut => dataset
                .sequences
                .iter()
                .map(|(user, items)| {
                    let end = if items.len() >= 3 {
                        items.len() - 2
                    } else {
                        items.len()
                    };
                    (user, &items[..end])
                })
                .filter(|(_, part)| !part.is_empty())
                .collect(),
            SplitKind::Temporal | SplitKind::Predefined => self.train_sequences(dataset),
        }
    }

    /// Each user's training prefix (the items up to and including the last training target),
    /// for training with a target at every position. Under a predefined split, context positions
    /// before the first training target (items known only from a later sample's history) are
    /// trained on too: they were consumed before every held-out target.
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
        SplitKind::Predefined => "predefined",
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
    fn seen_is_the_whole_prefix_whatever_max_history() {
        let items: Vec<ItemId> = (1..=12).collect();
        let times: Vec<i64> = (0..12).collect();
        let data = dataset(&[(&items, &times)]);
        for kind in [SplitKind::LeaveOneOut, SplitKind::Temporal] {
            let config = SplitConfig {
                kind,
                max_history: 3,
                ..SplitConfig::default()
            };
            let split = Split::new(&data, &config).unwrap();
            for &sample in split.train.iter().chain(&split.valid).chain(&split.test) {
                let example = split.example(&data, sample);
                let p = sample.position as usize;
                assert_eq!(example.seen, &items[..p], "{kind:?} {sample:?}");
                assert_eq!(example.history, &items[p.saturating_sub(3)..p]);
                assert_eq!(example.target, items[p]);
            }
        }
    }

    #[test]
    fn leave_one_out_short_users_and_the_training_part() {
        // Users of 1, 2, 3 and 4 items.
        let data = dataset(&[
            (&[1], &[5]),
            (&[2, 3], &[1, 2]),
            (&[4, 5, 6], &[1, 2, 3]),
            (&[7, 8, 9, 10], &[1, 2, 3, 4]),
        ]);
        let split = Split::new(&data, &SplitConfig::default()).unwrap();
        let at = |user, position| Sample { user, position };
        // 1 item: nothing to predict. 2 items: one training target, never evaluated.
        // 3 items: validation and test only. 4 items: one of each.
        assert_eq!(split.train, [at(1, 1), at(3, 1)]);
        assert_eq!(split.valid, [at(2, 1), at(3, 2)]);
        assert_eq!(split.test, [at(2, 2), at(3, 3)]);
        // Popularity counts every interaction but the validation and test targets.
        let part = split.training_part(&data);
        assert_eq!(
            part,
            vec![
                (0, &[1][..]),
                (1, &[2, 3][..]),
                (2, &[4][..]),
                (3, &[7, 8][..])
            ]
        );
        let popularity = crate::Popularity::from_split(&data, &split);
        assert_eq!(popularity.train_users, 4);
        let counted: Vec<u32> = (0..=10)
            .filter(|&i| popularity.counts[i] > 0)
            .map(|i| i as u32)
            .collect();
        assert_eq!(counted, [1, 2, 3, 4, 7, 8]);
    }

    #[test]
    fn temporal_cuts_with_equal_timestamps_never_train_on_the_future() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(11);
        for round in 0..50 {
            // Few distinct timestamps, so the cut points fall inside runs of equal times.
            let users: Vec<(Vec<ItemId>, Vec<i64>)> = (0..rng.random_range(2..12))
                .map(|_| {
                    let n = rng.random_range(1..15);
                    let mut times: Vec<i64> = (0..n).map(|_| rng.random_range(0..6)).collect();
                    times.sort_unstable();
                    ((1..=n as ItemId).collect(), times)
                })
                .collect();
            let borrowed: Vec<(&[ItemId], &[i64])> = users
                .iter()
                .map(|(i, t)| (i.as_slice(), t.as_slice()))
                .collect();
            let data = dataset(&borrowed);
            let config = SplitConfig {
                kind: SplitKind::Temporal,
                ..SplitConfig::default()
            };
            let Ok(split) = Split::new(&data, &config) else {
                continue;
            };
            let time = |s: &Sample| data.sequences.times(s.user)[s.position as usize];
            let latest = |part: &[Sample]| part.iter().map(time).max();
            let earliest = |part: &[Sample]| part.iter().map(time).min();
            let (train, valid, test) = (&split.train, &split.valid, &split.test);
            if let (Some(a), Some(b)) = (latest(train), earliest(valid)) {
                assert!(
                    a <= b,
                    "round {round}: training target at {a} after validation at {b}"
                );
            }
            if let (Some(a), Some(b)) = (latest(train), earliest(test)) {
                assert!(
                    a <= b,
                    "round {round}: training target at {a} after test at {b}"
                );
            }
            if let (Some(a), Some(b)) = (latest(valid), earliest(test)) {
                assert!(
                    a <= b,
                    "round {round}: validation target at {a} after test at {b}"
                );
            }
            // A user's training samples stay a prefix of their sequence (the batcher relies on it).
            for (user, prefix) in split.train_sequences(&data) {
                let trained = train.iter().filter(|s| s.user == user).count();
                assert_eq!(prefix.len(), trained + 1, "round {round}, user {user}");
            }
            // Every part the popularity counts precedes every held-out target of its user.
            for (user, part) in split.training_part(&data) {
                for s in valid.iter().chain(test).filter(|s| s.user == user) {
                    assert!(part.len() <= s.position as usize);
                }
            }
        }
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
