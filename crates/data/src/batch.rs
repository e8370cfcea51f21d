//! Where a batch is built: padded id matrices written straight into flat buffers
//! (`Vec<i64>` + shape), ready to become tensors without per-row copies.
//!
//! Sequences are **left-padded** with [`PAD`](crate::PAD): the most recent item is always in the
//! last column, so a model reads "the last real position" at a fixed index and appends a thought
//! slot after it.

use std::borrow::Cow;

use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

use crate::dataset::{Dataset, ItemId, UserId};
use crate::split::{Sample, Split};

/// A training batch: every input position's next item is a target (0 where padded).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainBatch {
    /// `[batch_size, seq_len]` item ids, row-major, left-padded.
    pub inputs: Vec<i64>,
    /// `[batch_size, seq_len]` next-item targets; 0 marks a position without a target.
    pub targets: Vec<i64>,
    /// The sample of each row's last target (the last column), so a consumer can find what the
    /// user had already seen before it ([`Split::seen`]), beyond the row's window.
    pub last_targets: Vec<Sample>,
    pub batch_size: usize,
    pub seq_len: usize,
}

/// An evaluation batch: one history and one target per row.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalBatch {
    pub samples: Vec<Sample>,
    pub users: Vec<UserId>,
    /// `[batch_size, seq_len]` history item ids, row-major, left-padded.
    pub inputs: Vec<i64>,
    /// `[batch_size]` target item ids.
    pub targets: Vec<i64>,
    pub batch_size: usize,
    pub seq_len: usize,
}

/// One training row: the items `items[start..end]` of a user's sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    user: UserId,
    start: u32,
    end: u32,
    /// Targets at the window's end that it trains (the others are trained by an overlapping
    /// window that gives them a longer history); `u32::MAX` = all.
    trained: u32,
}

/// Cuts the training prefixes into windows of at most `seq_len + 1` items and serves them in
/// shuffled batches.
///
/// By default a prefix longer than `seq_len + 1` is cut from its end into consecutive windows
/// that share one item, so every training target is predicted exactly once per epoch (RecBole
/// instead trains each prefix as its own sample, which costs about `seq_len` times more); a
/// target early in a window then sees only the window's items before it, not the user's
/// longer history. [`TrainBatcher::with_stride`] makes the windows overlap: a window ends every
/// `stride` items and trains only its last `stride` targets (the first window of a sequence
/// trains all of its own), so every target is still trained once per epoch, in the window that
/// gives it the longest history (at least `seq_len - stride` items when the user has them), at
/// about `seq_len / stride` times the cost. Stride 1 is RecBole's sampling: every target at the
/// end of its own window.
///
/// [`TrainBatcher::with_random_offsets`] re-cuts the non-overlapping windows at a random offset
/// for every user in every epoch, so a target is seen after different amounts of its history
/// from epoch to epoch (still once per epoch; about one window more per user).
#[derive(Debug, Clone)]
pub struct TrainBatcher {
    windows: Vec<Window>,
    /// With random offsets: every user's training prefix length, cut anew each epoch.
    prefixes: Option<Vec<(UserId, u32)>>,
    seq_len: usize,
    batch_size: usize,
}

impl Window {
    /// The window of at most `seq_len + 1` items ending at `end`, training its last `trained`
    /// targets, or all of them when it starts at the sequence's first item (no earlier window
    /// holds the others).
    fn ending_at(user: UserId, end: u32, seq_len: u32, trained: u32) -> Window {
        let start = end.saturating_sub(seq_len + 1);
        Window {
            user,
            start,
            end,
            trained: if start == 0 { u32::MAX } else { trained },
        }
    }
}

/// Pushes the windows of the prefix `items[..end]` of `user`'s sequence: one ends at `end`, each
/// earlier one `stride` items before the next, down to the first that starts at item 0. Each
/// trains its last `stride` targets; the first window of the sequence, and every window when
/// they do not overlap (`stride == seq_len`), trains all of its own.
fn push_windows(windows: &mut Vec<Window>, user: UserId, mut end: u32, seq_len: u32, stride: u32) {
    let trained = if stride == seq_len { u32::MAX } else { stride };
    while end > 1 {
        let window = Window::ending_at(user, end, seq_len, trained);
        windows.push(window);
        if window.start == 0 {
            break;
        }
        end -= stride;
    }
}

impl TrainBatcher {
    /// Non-overlapping windows over the split's training sequences.
    pub fn new(dataset: &Dataset, split: &Split, seq_len: usize, batch_size: usize) -> Self {
        Self::with_stride(dataset, split, seq_len, batch_size, seq_len)
    }

    /// Windows ending every `stride` items from the end of each training prefix, down to the
    /// first window that starts at the prefix's first item; each trains the targets it gives
    /// the longest history. `stride = 0` or `stride >= seq_len` is [`TrainBatcher::new`].
    pub fn with_stride(
        dataset: &Dataset,
        split: &Split,
        seq_len: usize,
        batch_size: usize,
        stride: usize,
    ) -> Self {
        assert!(
            seq_len > 0 && batch_size > 0,
            "seq_len and batch_size must be positive"
        );
        let stride = if stride == 0 {
            seq_len
        } else {
            stride.min(seq_len)
        };
        let mut windows = Vec::new();
        for (user, items) in split.train_sequences(dataset) {
            push_windows(
                &mut windows,
                user,
                items.len() as u32,
                seq_len as u32,
                stride as u32,
            );
        }
        TrainBatcher {
            windows,
            prefixes: None,
            seq_len,
            batch_size,
        }
    }

    /// Non-overlapping windows cut at a new random offset for every user in every epoch (drawn
    /// from the epoch's seed): the most recent `offset` targets of a prefix are trained in a
    /// window that ends at the prefix's end, and the windows before it end `offset`, `offset +
    /// seq_len`, ... items earlier. Each target is still trained once per epoch.
    pub fn with_random_offsets(
        dataset: &Dataset,
        split: &Split,
        seq_len: usize,
        batch_size: usize,
    ) -> Self {
        let plain = Self::new(dataset, split, seq_len, batch_size);
        let prefixes = split
            .train_sequences(dataset)
            .into_iter()
            .map(|(user, items)| (user, items.len() as u32))
            .collect();
        TrainBatcher {
            prefixes: Some(prefixes),
            ..plain
        }
    }

    /// The windows of the epoch drawn with `seed`.
    fn layout(&self, seed: u64) -> Cow<'_, [Window]> {
        let Some(prefixes) = &self.prefixes else {
            return Cow::Borrowed(&self.windows);
        };
        // Offsets come from their own stream, so they do not move with the batch order.
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x6f66_6673_6574_7321);
        let seq_len = self.seq_len as u32;
        let mut windows = Vec::with_capacity(self.windows.len() + prefixes.len());
        for &(user, len) in prefixes {
            let offset = rng.random_range(0..seq_len);
            let mut end = len;
            if offset > 0 && len > offset + 1 {
                let window = Window::ending_at(user, len, seq_len, offset);
                windows.push(window);
                if window.start == 0 {
                    continue;
                }
                end -= offset;
            }
            push_windows(&mut windows, user, end, seq_len, seq_len);
        }
        Cow::Owned(windows)
    }

    /// Number of training rows (windows) of the layout without random offsets.
    pub fn num_rows(&self) -> usize {
        self.windows.len()
    }

    /// Number of targets in one epoch.
    pub fn num_targets(&self) -> usize {
        self.windows
            .iter()
            .map(|w| (w.end - w.start - 1).min(w.trained) as usize)
            .sum()
    }

    /// Batches in one epoch without random offsets (see [`TrainBatcher::num_batches_in`]).
    pub fn num_batches(&self) -> usize {
        self.windows.len().div_ceil(self.batch_size)
    }

    /// Batches in the epoch drawn with `seed` (differs from epoch to epoch only with random
    /// offsets).
    pub fn num_batches_in(&self, seed: u64) -> usize {
        self.layout(seed).len().div_ceil(self.batch_size)
    }

    /// One epoch of batches in an order shuffled by `seed`; the last batch may be smaller.
    pub fn epoch<'a>(
        &'a self,
        dataset: &'a Dataset,
        seed: u64,
    ) -> impl Iterator<Item = TrainBatch> + 'a {
        let windows = self.layout(seed);
        let mut order: Vec<usize> = (0..windows.len()).collect();
        order.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(seed));
        let seq_len = self.seq_len;
        let chunks: Vec<Vec<usize>> = order
            .chunks(self.batch_size)
            .map(<[usize]>::to_vec)
            .collect();
        chunks.into_iter().map(move |rows| {
            let batch_size = rows.len();
            let mut inputs = vec![0i64; batch_size * seq_len];
            let mut targets = vec![0i64; batch_size * seq_len];
            let mut last_targets = Vec::with_capacity(batch_size);
            for (row, &index) in rows.iter().enumerate() {
                let w = windows[index];
                last_targets.push(Sample {
                    user: w.user,
                    position: w.end - 1,
                });
                let items = &dataset.sequences.items(w.user)[w.start as usize..w.end as usize];
                let n = items.len() - 1;
                let offset = row * seq_len + seq_len - n;
                write_ids(&mut inputs[offset..offset + n], &items[..n]);
                let trained = n.min(w.trained as usize);
                write_ids(
                    &mut targets[offset + n - trained..offset + n],
                    &items[n + 1 - trained..],
                );
            }
            TrainBatch {
                inputs,
                targets,
                last_targets,
                batch_size,
                seq_len,
            }
        })
    }
}

fn write_ids(out: &mut [i64], items: &[ItemId]) {
    for (slot, &item) in out.iter_mut().zip(items) {
        *slot = i64::from(item);
    }
}

/// Evaluation batches over `samples` in order; histories longer than `seq_len` keep their most
/// recent items.
pub fn eval_batches<'a>(
    dataset: &'a Dataset,
    split: &'a Split,
    samples: &'a [Sample],
    seq_len: usize,
    batch_size: usize,
) -> impl Iterator<Item = EvalBatch> + 'a {
    assert!(
        seq_len > 0 && batch_size > 0,
        "seq_len and batch_size must be positive"
    );
    samples.chunks(batch_size).map(move |chunk| {
        let batch_size = chunk.len();
        let mut inputs = vec![0i64; batch_size * seq_len];
        let mut targets = Vec::with_capacity(batch_size);
        let mut users = Vec::with_capacity(batch_size);
        for (row, &sample) in chunk.iter().enumerate() {
            let example = split.example(dataset, sample);
            let history = &example.history[example.history.len().saturating_sub(seq_len)..];
            let offset = row * seq_len + seq_len - history.len();
            write_ids(&mut inputs[offset..offset + history.len()], history);
            targets.push(i64::from(example.target));
            users.push(example.user);
        }
        EvalBatch {
            samples: chunk.to_vec(),
            users,
            inputs,
            targets,
            batch_size,
            seq_len,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Sequences;
    use crate::split::SplitConfig;

    fn dataset() -> Dataset {
        let items: Vec<ItemId> = (1..=8).chain(11..=14).collect();
        Dataset {
            name: "t".into(),
            sequences: Sequences {
                offsets: vec![0, 8, 12],
                times: (0..12).collect(),
                items,
            },
            user_ids: vec!["a".into(), "b".into()],
            item_ids: (0..=14).map(|i| i.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn windows_cover_every_training_target_once() {
        let data = dataset();
        let split = Split::new(&data, &SplitConfig::default()).unwrap();
        // Training prefixes: user a = 1..=6 (targets 2..=6), user b = 11, 12 (target 12).
        let batcher = TrainBatcher::new(&data, &split, 3, 2);
        assert_eq!(batcher.num_targets(), 5 + 1);
        let mut targets: Vec<i64> = batcher
            .epoch(&data, 1)
            .flat_map(|b| b.targets)
            .filter(|&t| t != 0)
            .collect();
        targets.sort_unstable();
        assert_eq!(targets, [2, 3, 4, 5, 6, 12]);
    }

    #[test]
    fn strided_windows_overlap_and_stop_at_the_first_item() {
        let data = dataset();
        let split = Split::new(&data, &SplitConfig::default()).unwrap();
        // User a's prefix 1..=6 with windows of 4 items ending every 2: [3..=6] trains its last
        // two targets (5, 6; target 4 has a longer history in the next window), [1..=4] starts
        // at the first item and trains all of its own (2, 3, 4), then stop; user b: [11, 12].
        let batcher = TrainBatcher::with_stride(&data, &split, 3, 8, 2);
        assert_eq!(batcher.num_rows(), 3);
        assert_eq!(batcher.num_targets(), 2 + 3 + 1);
        let batch = batcher.epoch(&data, 1).next().unwrap();
        let rows: Vec<(&[i64], &[i64])> = batch
            .inputs
            .chunks(3)
            .zip(batch.targets.chunks(3))
            .collect();
        assert!(rows.contains(&(&[3, 4, 5][..], &[0, 5, 6][..])), "{rows:?}");
        assert!(rows.contains(&(&[1, 2, 3][..], &[2, 3, 4][..])), "{rows:?}");
        let mut targets: Vec<i64> = batch.targets.into_iter().filter(|&t| t != 0).collect();
        targets.sort_unstable();
        assert_eq!(targets, [2, 3, 4, 5, 6, 12], "every target once");
        // A stride of the window length, or 0, is the non-overlapping batcher.
        let plain = TrainBatcher::new(&data, &split, 3, 8);
        for stride in [3, 0] {
            let same = TrainBatcher::with_stride(&data, &split, 3, 8, stride);
            assert_eq!(
                plain.epoch(&data, 5).collect::<Vec<_>>(),
                same.epoch(&data, 5).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn random_offsets_recut_the_windows_and_train_every_target_once() {
        let data = dataset();
        let split = Split::new(&data, &SplitConfig::default()).unwrap();
        let batcher = TrainBatcher::with_random_offsets(&data, &split, 3, 2);
        let mut layouts = std::collections::HashSet::new();
        for seed in 0..20 {
            let batches: Vec<TrainBatch> = batcher.epoch(&data, seed).collect();
            assert_eq!(batches.len(), batcher.num_batches_in(seed));
            let mut targets: Vec<i64> = batches
                .iter()
                .flat_map(|b| b.targets.iter().copied())
                .filter(|&t| t != 0)
                .collect();
            targets.sort_unstable();
            assert_eq!(targets, [2, 3, 4, 5, 6, 12], "seed {seed}");
            let mut rows: Vec<Vec<i64>> = batches
                .iter()
                .flat_map(|b| b.inputs.chunks(3).map(<[i64]>::to_vec).collect::<Vec<_>>())
                .collect();
            rows.sort();
            layouts.insert(rows);
        }
        // User a's prefix 1..=6 (5 targets, windows of 3) can be cut at offsets 0, 1 and 2.
        assert_eq!(layouts.len(), 3, "{layouts:?}");
    }

    #[test]
    fn rows_are_left_padded_and_targets_shifted() {
        let data = dataset();
        let split = Split::new(&data, &SplitConfig::default()).unwrap();
        let batcher = TrainBatcher::new(&data, &split, 4, 8);
        let batch = batcher.epoch(&data, 0).next().unwrap();
        let rows: Vec<(&[i64], &[i64])> = batch
            .inputs
            .chunks(4)
            .zip(batch.targets.chunks(4))
            .collect();
        assert!(rows.contains(&(&[0, 0, 0, 11][..], &[0, 0, 0, 12][..])));
        assert!(rows.contains(&(&[2, 3, 4, 5][..], &[3, 4, 5, 6][..])));
        assert!(rows.contains(&(&[0, 0, 0, 1][..], &[0, 0, 0, 2][..])));
    }

    #[test]
    fn each_row_names_the_sample_of_its_last_target() {
        let data = dataset();
        let split = Split::new(&data, &SplitConfig::default()).unwrap();
        for batcher in [
            TrainBatcher::new(&data, &split, 3, 2),
            TrainBatcher::with_stride(&data, &split, 3, 2, 1),
        ] {
            for batch in batcher.epoch(&data, 7) {
                assert_eq!(batch.last_targets.len(), batch.batch_size);
                for (row, sample) in batch.last_targets.iter().enumerate() {
                    let items = data.sequences.items(sample.user);
                    let end = (row + 1) * batch.seq_len - 1;
                    assert_eq!(
                        batch.targets[end],
                        i64::from(items[sample.position as usize])
                    );
                    assert_eq!(
                        batch.inputs[end],
                        i64::from(items[sample.position as usize - 1])
                    );
                    // What the user had seen reaches past the window.
                    assert_eq!(split.seen(&data, *sample).len(), sample.position as usize);
                }
            }
        }
    }

    #[test]
    fn shuffling_depends_on_the_seed_only() {
        let data = dataset();
        let split = Split::new(&data, &SplitConfig::default()).unwrap();
        let batcher = TrainBatcher::new(&data, &split, 1, 1);
        let order = |seed| {
            batcher
                .epoch(&data, seed)
                .map(|b| b.targets[0])
                .collect::<Vec<_>>()
        };
        assert_eq!(order(3), order(3));
        assert!((0..20).any(|seed| order(seed) != order(3)));
    }

    #[test]
    fn eval_batches_truncate_long_histories() {
        let data = dataset();
        let split = Split::new(&data, &SplitConfig::default()).unwrap();
        let batch = eval_batches(&data, &split, &split.test, 3, 10)
            .next()
            .unwrap();
        assert_eq!(batch.batch_size, 2);
        assert_eq!(&batch.inputs[..3], &[5, 6, 7]);
        assert_eq!(&batch.inputs[3..], &[11, 12, 13]);
        assert_eq!(batch.targets, [8, 14]);
        assert_eq!(batch.users, [0, 1]);
    }
}
