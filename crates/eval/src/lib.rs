//! # latentr3-eval
//!
//! Full-ranking evaluation for sequential recommenders, independent of any model library:
//!
//! - [`Evaluator`]: HR, NDCG, MRR at several K; ItemCoverage, Gini, Entropy, ARP, APLT, Novelty;
//!   head-target and tail-target accuracy; with item [`Categories`], miscalibration, category
//!   intra-list diversity and category coverage. Streams scores batch by batch (memory is
//!   `batch_size × items` per thread, not `users × items`), selects the top K by partial
//!   selection and runs batches in parallel. Definitions: [`evaluator`], with
//!   where they differ from RecBole and Elliot.
//! - [`Scorer`]: what a model implements (any `Fn(&[Case], &mut [f32])` is one).
//! - [`ranking`]: the one ranking rule (ties against the target, NaN as −∞, masking of what
//!   the user has already seen), shared by the evaluator, the RL rewards and `recommend`.
//! - [`baselines`]: most-popular and uniform random.
//! - [`rerank`]: post-hoc re-rankers over any scorer (popularity penalty, calibrated, category
//!   diversity).
//! - [`bootstrap`]: paired comparison with a seeded bootstrap 95% interval.
//! - [`collapse`]: named alarms when coverage, Gini or APLT degrade against a reference.
//!
//! ```
//! use latentr3_eval::{Case, EvalConfig, Evaluator, ItemStats, baselines::MostPopular};
//!
//! // Four items; item 1 is the most popular, items 3 and 4 are the long tail.
//! let stats = ItemStats {
//!     counts: vec![0, 10, 5, 1, 0],
//!     is_tail: vec![false, false, false, true, true],
//!     train_users: 3,
//! };
//! let evaluator = Evaluator::new(EvalConfig { ks: vec![1, 2], ..Default::default() }, stats.clone())?;
//! let history = [2u32];
//! let cases = [Case { user: 0, history: &history, seen: &history, target: 1 }];
//! let evaluation = evaluator.evaluate(&MostPopular::new(&stats.counts), &cases, "test")?;
//! assert_eq!(evaluation.report.metric("HR@1"), Some(1.0));
//! println!("{}", evaluation.report);
//! # Ok::<(), latentr3_eval::EvalError>(())
//! ```

pub mod baselines;
pub mod bootstrap;
pub mod categories;
pub mod collapse;
pub mod error;
pub mod evaluator;
pub mod ranking;
pub mod report;
pub mod rerank;
pub mod scorer;

pub use bootstrap::{PairedComparison, compare_ranks, paired_bootstrap, per_case};
pub use categories::Categories;
pub use collapse::{Alarm, CollapseConfig, CollapseMonitor};
pub use error::{EvalError, Result};
pub use evaluator::{Counters, EvalConfig, Evaluation, Evaluator, ItemStats, gini, hit, mrr, ndcg};
pub use ranking::{rank_row, top_row};
pub use report::{Protocol, Report};
pub use rerank::{RerankKind, Reranked};
pub use scorer::{Case, Scorer};
