//! # latentr3
//!
//! Sequential recommendation with reinforced latent reasoning (LatentR³): an item-sequence
//! transformer whose compact attention head produces a continuous "thought" the transformer
//! reads before it scores items, trained with next-item cross-entropy (SFT) and then refined
//! with GRPO-style reinforcement learning of the head alone.
//!
//! This crate runs whole experiments; the member crates, re-exported here, do the parts:
//! [`data`] (loading, filtering, splits, batches, synthetic data), [`eval`] (full-ranking
//! metrics, the collapse monitor, the paired bootstrap), [`model`] (backbone, latent head, SFT)
//! and [`grpo`] (the RL stage). [`burn`] is re-exported too, so a program depends on
//! `latentr3` alone and gets the matching burn version.
//!
//! - [`Experiment`]: a TOML experiment file with `--set`-style overrides and validation.
//! - [`prepare`](fn@prepare): dataset, split, training popularity and evaluator of an experiment.
//! - [`train`]: the pipeline (SFT, then RL, then test reports) in a [`RunDir`], resumable.
//! - [`SavedRun`]: a trained run read back with its data: evaluate, compare, write ranks.
//! - [`SavedModel`]: a checkpoint rebuilt from its run directory alone (its [`ModelCard`]
//!   holds the architecture, the item ids and a format version): recommend.
//! - [`sweep`]: a study (rows × seeds) trained one run after another, resumably, and
//!   tabulated with intervals over seeds and paired bootstraps against a baseline row.
//! - [`Observer`]: progress reports; the library prints nothing ([`Silent`] ignores them).
//!
//! The compute device comes from the caller (`Device::default()`, or the `latentr3` binary's
//! `--device`); nothing here names a backend.
//!
//! ```no_run
//! use latentr3::{Experiment, Options, SavedRun, Silent, Start, burn::prelude::Device};
//!
//! let device = Device::default();
//! let experiment = Experiment::load("experiments/synthetic.toml".as_ref(), &[])?;
//! let trained = latentr3::train(
//!     Start::New { experiment, out: Some("runs/example".into()), init: None },
//!     &device,
//!     &Options::default(),
//!     &mut Silent,
//! )?;
//! let run = SavedRun::load(trained.run.path(), &[], None, &device, &mut Silent)?;
//! println!("{}", run.evaluate(false)?.report);
//! # Ok::<(), latentr3::Error>(())
//! ```

pub mod card;
pub mod compare;
pub mod error;
pub mod experiment;
pub mod observer;
pub mod pipeline;
pub mod prepare;
pub mod run_dir;
pub mod saved;
pub mod sweep;
pub mod tensorboard;

pub use burn;
pub use latentr3_data as data;
pub use latentr3_eval as eval;
pub use latentr3_grpo as grpo;
pub use latentr3_model as model;

pub use card::{FORMAT_VERSION, ModelCard, Recommendation, SavedModel};
pub use compare::{Comparison, ExternalRanks, RanksProtocol};
pub use error::{Error, Result};
pub use experiment::{Experiment, ModeName};
pub use observer::{Observer, Silent};
pub use pipeline::{Options, RlSummary, RunReport, Start, Trained, train};
pub use prepare::{Prepared, load_dataset, prepare};
pub use run_dir::{RunDir, Stage};
pub use saved::SavedRun;
