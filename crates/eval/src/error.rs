//! Errors of the evaluator.

/// Everything that can go wrong while evaluating.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EvalError {
    #[error("K = {k} is larger than the number of items ({items}); choose K <= {items}")]
    KTooLarge { k: usize, items: usize },
    #[error("the list of K values is empty; give at least one, such as [5, 10, 20]")]
    NoK,
    #[error("K must be at least 1")]
    ZeroK,
    #[error(
        "item statistics cover {got} item ids but the evaluator expects {expected} (padding included)"
    )]
    ItemStatsSize { got: usize, expected: usize },
    #[error(
        "item categories cover {got} item ids but the catalogue has {expected} (padding included)"
    )]
    CategoriesSize { got: usize, expected: usize },
    #[error("test case {index}: target {target} is not an item id in 1..={items}")]
    BadTarget {
        index: usize,
        target: u32,
        items: usize,
    },
    #[error("no test cases to evaluate")]
    NoCases,
    #[error(
        "the two runs have different test cases ({a} vs {b}); a paired comparison needs the same cases"
    )]
    Unpaired { a: usize, b: usize },
    #[error("metric `{0}` is not in the report; expected a name such as `NDCG@10`")]
    UnknownMetric(String),
}

/// The result type of the eval crate.
pub type Result<T> = std::result::Result<T, EvalError>;
