//! # latentr3-data
//!
//! Datasets for sequential recommendation, knowing nothing of any tensor library:
//!
//! - [`load`]: MovieLens (100K `u.data`, 1M/10M `ratings.dat`, 20M/25M/32M/latest-small
//!   `ratings.csv`), RecBole atomic `*.inter`, Amazon 2014/2018 JSON lines (plain or gzip), the
//!   Amazon ratings-only CSV and Amazon 2023 JSONL, parsed with polars; the field's preprocessed
//!   benchmark files (SASRec pairs, S3-Rec sequences, LC-Rec `.inter.json`, and the predefined
//!   splits of D3-style CSVs and RecBole `.train.inter` files); titles files.
//! - [`preprocess`](mod@preprocess): rating threshold, time window, de-duplication, iterative
//!   k-core, dense ids (item 0 is padding) and chronological sequences with a stable tie-break.
//! - [`split`]: leave-one-out, the LatentR³ global temporal split, and predefined splits.
//! - [`popularity`]: training-split item counts and the 80% short-head / long-tail partition.
//! - [`batch`]: left-padded training and evaluation batches in flat buffers.
//! - [`evaluation`]: a split's cases and item statistics for the `latentr3-eval` evaluator.
//! - [`synthetic`]: a seeded generator whose next item depends on several earlier items.
//! - [`DataConfig`]: the `[data]` section of an experiment; [`DataConfig::load`] uses a cache in
//!   `data/cache/` keyed by the file's content and the preprocessing settings.
//! - `fetch` (feature `fetch`): downloads and verifies a MovieLens release from GroupLens.
//! - [`source`]: where interactions come from; [`DataConfig::load_from`] preprocesses, caches
//!   and splits a program's own [`InteractionSource`] the same way.
//!
//! ```
//! use latentr3_data::{DataConfig, Popularity, Split, SyntheticConfig, TrainBatcher};
//!
//! let config = DataConfig {
//!     synthetic: Some(SyntheticConfig { users: 200, items: 100, max_length: 30, ..Default::default() }),
//!     ..DataConfig::default()
//! };
//! let dataset = config.load()?.dataset;
//! let split = Split::new(&dataset, &config.split)?;
//! let popularity = Popularity::from_split(&dataset, &split);
//! let batcher = TrainBatcher::new(&dataset, &split, 50, 64);
//! let batch = batcher.epoch(&dataset, 0).next().unwrap();
//! assert_eq!(batch.inputs.len(), batch.batch_size * 50);
//! assert!(popularity.head_size() < dataset.num_items());
//! # Ok::<(), latentr3_data::DataError>(())
//! ```

pub mod batch;
pub mod cache;
pub mod config;
pub mod dataset;
pub mod error;
pub mod evaluation;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod format;
pub mod load;
pub mod popularity;
pub mod preprocess;
pub mod source;
pub mod split;
pub mod stats;
pub mod synthetic;

pub use batch::{EvalBatch, TrainBatch, TrainBatcher, eval_batches};
pub use config::{CacheUse, DataConfig, Loaded};
pub use dataset::{
    Categories, Dataset, InteractionStats, ItemId, LengthQuantiles, PAD, Sequences, UserId, gini,
};
pub use error::{DataError, Result};
pub use format::Format;
pub use load::{Interactions, ReadOptions, read_categories, read_interactions, read_titles};
pub use popularity::Popularity;
pub use preprocess::{FilterConfig, preprocess};
pub use source::{CacheKey, FileSource, InteractionSource};
pub use split::{Example, Sample, Split, SplitConfig, SplitKind, SplitPart};
pub use stats::DataStats;
pub use synthetic::{SyntheticConfig, generate};
