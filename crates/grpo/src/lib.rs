//! LR-GRPO: reinforcement learning of the LatentR³ latent-reasoning head.
//!
//! Starting from an SFT model in latent mode, [`train`] freezes the backbone and the item
//! embeddings and optimises only the [`LatentHead`](latentr3_model::LatentHead): each training
//! sequence gets a group of latents `r + ε_k` (`ε_k ~ N(0, σ²I)`, the first noise-free), each
//! candidate scores the true next item directly (no rollouts), and the [rewards](reward) become
//! [advantages](advantage) for a clipped [objective]. Validation runs every
//! `eval_every` steps with the eval crate's collapse monitor. Settings: [`RlConfig`].
//!
//! ```no_run
//! use burn::prelude::*;
//! use latentr3_grpo::{RlConfig, RlData, Silent, train};
//! # fn run(model: &latentr3_model::Recommender, data: &RlData<'_>) -> Result<(), latentr3_model::TrainError> {
//! let outcome = train(model, &Device::default(), data, &RlConfig::default(), &mut Silent)?;
//! println!("best validation at step {}: {:?}", outcome.best_step, outcome.best_valid.metric("NDCG@10"));
//! # Ok(()) }
//! ```
//!
//! A full run on the synthetic data: `cargo run --example rl -p latentr3-grpo`.

pub mod advantage;
pub mod config;
pub mod objective;
pub mod reward;
pub mod trainer;

pub use advantage::{AdvantageStats, advantages};
pub use config::{AdvantageKind, ObjectiveKind, RlConfig};
/// The observer that ignores everything, shared with SFT and the `latentr3` library.
pub use latentr3_model::Silent;
pub use reward::{Outcome, Ranked, Reward, RewardContext, RewardKind, RewardTerm, Rewards};
pub use trainer::{
    EvalLog, Observer, Resume, RlData, RlOutcome, RlProgress, RlState, RlStepLog, RunOptions,
    StopReason, TermStats, optimizer, train, train_with,
};
