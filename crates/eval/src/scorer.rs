//! What a model must provide to be evaluated: scores for every item, a batch of cases at a time.

/// One test case: a user, what the model reads, what the user has already seen, and the
/// held-out target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Case<'a> {
    pub user: u32,
    /// The model's input: the most recent items before the target (oldest first), at most the
    /// split's `max_history` of them.
    pub history: &'a [u32],
    /// Every item the user interacted with before the target, in the split's view (oldest
    /// first; `history` is its tail). Masking removes these from the candidates, however long
    /// the model's input is. May hold repeats and the target itself (repeat consumption).
    pub seen: &'a [u32],
    pub target: u32,
}

/// Anything that scores items for a batch of cases. Item ids are `1..=num_items`; 0 is padding.
///
/// `out` has `cases.len() * (num_items + 1)` slots, row-major: row `r`, column `i` is the score of
/// item `i` for case `r` (higher is better). Column 0 is ignored. The buffer is reused between
/// batches, so a scorer must write every column it wants considered.
pub trait Scorer: Sync {
    fn score(&self, cases: &[Case<'_>], out: &mut [f32]);

    /// Whether batches may be scored concurrently. A model that parallelises internally (a
    /// tensor library) should return `false`, so the evaluator calls it from one thread and
    /// parallelises only the ranking.
    fn parallel(&self) -> bool {
        true
    }
}

impl<F> Scorer for F
where
    F: Fn(&[Case<'_>], &mut [f32]) + Sync,
{
    fn score(&self, cases: &[Case<'_>], out: &mut [f32]) {
        self(cases, out)
    }
}
