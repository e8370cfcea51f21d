//! # latentr3-model
//!
//! The item-sequence recommender of latentr3 on burn, generic over the backend through burn's
//! `Device` (no backend is named here):
//!
//! - [`Backbone`]: a SASRec-style causal transformer over item ids with a tied output layer;
//!   [`Backbone::append_thought`] runs a thought slot against the history's cached keys and
//!   values; [`Backbone::alternative_thoughts`] runs a group of candidate thoughts for one slot
//!   in one pass (the RL stage's groups) and [`Backbone::thoughts_after_every_position`] a slot
//!   after every position (dense SFT).
//! - [`LatentHead`]: the LatentR³ reasoning module (LatentRATT) whose output is the next thought.
//! - [`Recommender`]: backbone + optional head ([`Mode::Backbone`] or [`Mode::Latent`]), and
//!   [`ModelScorer`], which plugs it into the eval crate.
//! - [`sft`]: the supervised stage with AdamW, warm-up + cosine, global-norm clipping, early
//!   stopping on a validation metric, reporting through an [`Observer`].
//!
//! Adaptations of the paper (an LLM generating titles) to an item-id backbone are documented on
//! each module: thoughts are fed as input embeddings of extra positions after the left-padded
//! history; every history position is a training target (the paper's SFT trains the next title
//! only); latent mode adds, for every position, the next-item loss of a thought slot appended
//! after that position ([`sft::batch_loss`]). The RL stage is the `latentr3-grpo` crate.
//!
//! ```
//! use burn::prelude::*;
//! use latentr3_model::{Inputs, ModelConfig, Recommender};
//!
//! let device = Device::default();
//! let config = ModelConfig { max_len: 8, hidden: 16, heads: 2, inner: 32, ..ModelConfig::default() };
//! let model = Recommender::new(&config, 100, &device);
//! let histories: Vec<&[u32]> = vec![&[3, 7, 9], &[42]];
//! let scores = model.valid().scores(&Inputs::from_histories(&histories, 8, &device));
//! assert_eq!(scores.dims(), [2, 101]);
//! ```

pub mod backbone;
pub mod block;
pub mod config;
pub mod error;
pub mod evaluation;
pub mod latent;
pub mod loss;
pub mod recommender;
pub mod rope;
pub mod sft;

pub use backbone::{Backbone, Encoded};
pub use config::{Mode, ModelConfig, Positions};
pub use error::TrainError;
pub use latent::LatentHead;
pub use recommender::{Inputs, ModelScorer, Recommender};
pub use sft::{
    EpochLog, EpochState, Observer, Progress, Resume, RunOptions, SftConfig, SftData, SftOutcome,
    SftStepLog, Silent,
};
