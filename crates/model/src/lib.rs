//! # latentr3-model
//!
//! The item-sequence recommender of latentr3 on burn, generic over the backend through burn's
//! `Device` (no backend is named here):
//!
//! - [`SequenceBackbone`]: what SFT, RL and scoring call on a sequence encoder (encode, append
//!   a thought slot against the cache, a group of alternative thoughts for one slot in one
//!   pass, a slot after every position, score every item with the tied output layer).
//!   [`Backbone`] holds the encoders `model.backbone` selects: [`Sasrec`], a causal
//!   transformer, and [`Gru4Rec`], a recurrent network; bring your own by implementing the
//!   trait and training `Recommender<YourEncoder>` (`examples/custom_backbone.rs`: a
//!   bag-of-items encoder trained by [`sft::train`] with the latent head).
//! - [`LatentHead`]: the LatentR³ reasoning module (LatentRATT) whose output is the next thought.
//! - [`Recommender`]: backbone + optional head ([`Mode::Backbone`] or [`Mode::Latent`]), and
//!   [`ModelScorer`], which plugs it into the eval crate.
//! - [`sft`]: the supervised stage, reporting through an [`Observer`]; [`training`]: what it
//!   shares with the RL stage (AdamW, warm-up + cosine, global-norm clipping, [`BestSoFar`]
//!   with early stopping, [`Silent`]).
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
pub mod gru4rec;
pub mod latent;
pub mod loss;
pub mod recommender;
pub mod rope;
pub mod sasrec;
pub mod sft;
pub mod training;

pub use backbone::{Backbone, Encoded, SequenceBackbone};
pub use config::{BackboneKind, Mode, ModelConfig, Positions};
pub use error::TrainError;
pub use gru4rec::Gru4Rec;
pub use latent::LatentHead;
pub use recommender::{Inputs, ModelScorer, Recommender};
pub use sasrec::Sasrec;
pub use sft::{
    EpochLog, EpochState, Observer, Progress, Resume, RunOptions, SftConfig, SftData, SftOutcome,
    SftStepLog,
};
pub use training::{Best, BestSoFar, Silent};
