//! The bridge from splits to the evaluator: item statistics and evaluation cases. It lives
//! here, with the data crate depending on the small eval crate, so that the evaluator itself
//! stays free of polars and neither needs a tensor library.

use crate::{Dataset, Popularity, Sample, Split};
use latentr3_eval::{Case, ItemStats};

/// The evaluator's view of a training split's popularity (tail = not in the 80% head).
pub fn item_stats(popularity: &Popularity) -> ItemStats {
    ItemStats {
        counts: popularity.counts.clone(),
        is_tail: (0..popularity.counts.len() as u32)
            .map(|i| popularity.is_tail(i))
            .collect(),
        train_users: popularity.train_users,
    }
}

/// Evaluation cases for samples of a split: the most recent `max_history` items as the model's
/// input, and the whole earlier sequence as what the user has seen ([`Split::seen`]).
pub fn cases<'a>(dataset: &'a Dataset, split: &Split, samples: &[Sample]) -> Vec<Case<'a>> {
    samples
        .iter()
        .map(|&sample| {
            let example = split.example(dataset, sample);
            Case {
                user: example.user,
                history: example.history,
                seen: example.seen,
                target: example.target,
            }
        })
        .collect()
}
