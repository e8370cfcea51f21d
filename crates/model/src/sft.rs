//! Stage 1 (SFT): backbone and latent head trained together with the next-item cross-entropy.
//!
//! A loop of our own rather than burn-train's `Learner`: every position of a window is a target
//! (not one target per sample), latent mode adds the thought slot's loss, validation is the eval
//! crate's full-ranking report with early stopping on one of its metrics, and the RL stage
//! reuses the same observer. The library stays silent; an [`Observer`] receives every step and
//! epoch so the binary can draw progress bars, log to TensorBoard and write checkpoints.

use std::time::Instant;

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use latentr3_data::{Dataset, Split, TrainBatch, TrainBatcher};
use latentr3_eval::{Case, Evaluator, Report};
use serde::{Deserialize, Serialize};

use crate::backbone::{Backbone, SequenceBackbone};
use crate::error::TrainError;
use crate::loss::cross_entropy;
use crate::recommender::{Inputs, ModelScorer, Recommender};
pub use crate::training::Silent;
use crate::training::{Best, BestSoFar, adamw, check_monitor, clip_global_norm, warmup_cosine};

/// SFT settings (the `[sft]` section of an experiment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SftConfig {
    /// Upper bound on epochs; early stopping usually ends sooner.
    pub epochs: usize,
    /// Training windows per batch.
    pub batch_size: usize,
    /// A training window ends every `window_stride` items of a sequence and trains its last
    /// `window_stride` targets, so every target is trained once per epoch with at least
    /// `max_len - window_stride` items of history where the user has them (RecBole-like
    /// contexts at `max_len / window_stride` times the cost); 0 (the default) means
    /// non-overlapping windows, where a target early in a window sees only that window. 1 is
    /// RecBole's sampling (~13x the cost of an epoch on ml-100k); 5 validates as high at ~4x
    /// (`experiments/ml-100k.toml`).
    pub window_stride: usize,
    /// Cut the non-overlapping windows at a new random offset for every user in every epoch,
    /// so targets are seen after varying amounts of their history (needs `window_stride = 0`).
    pub random_offsets: bool,
    /// Peak learning rate (AdamW).
    pub lr: f64,
    pub weight_decay: f64,
    /// Linear warm-up steps before the cosine decay.
    pub warmup_steps: usize,
    /// The cosine decays to `lr × min_lr_ratio` at the last epoch.
    pub min_lr_ratio: f64,
    /// Global gradient-norm clipping threshold (0: off).
    pub grad_clip: f64,
    /// Epochs without improvement of `monitor` before stopping (0 stops after the first).
    pub patience: usize,
    /// Weight of the thought slot's next-item loss (latent mode).
    pub thought_loss_weight: f64,
    /// The validation metric that selects the best checkpoint.
    pub monitor: String,
    pub seed: u64,
}

impl Default for SftConfig {
    fn default() -> Self {
        SftConfig {
            epochs: 200,
            batch_size: 128,
            window_stride: 0,
            random_offsets: false,
            lr: 1e-3,
            weight_decay: 0.0,
            warmup_steps: 100,
            min_lr_ratio: 0.0,
            grad_clip: 5.0,
            patience: 10,
            thought_loss_weight: 1.0,
            monitor: "NDCG@10".into(),
            seed: 42,
        }
    }
}

impl SftConfig {
    /// Checks the settings for values that cannot work; the message names the setting.
    pub fn validate(&self) -> Result<(), String> {
        if self.epochs == 0 || self.batch_size == 0 {
            return Err(format!(
                "epochs ({}) and batch_size ({}) must be at least 1",
                self.epochs, self.batch_size
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(format!("lr {} must be a positive number", self.lr));
        }
        let at_least_zero = [
            ("weight_decay", self.weight_decay),
            ("grad_clip", self.grad_clip),
            ("thought_loss_weight", self.thought_loss_weight),
        ];
        for (name, value) in at_least_zero {
            if !(value.is_finite() && value >= 0.0) {
                return Err(format!("{name} {value} must be a number >= 0"));
            }
        }
        if !(0.0..=1.0).contains(&self.min_lr_ratio) {
            return Err(format!(
                "min_lr_ratio {} must be in [0, 1]",
                self.min_lr_ratio
            ));
        }
        Ok(())
    }
}

/// Learning rate at `step` (0-based): linear warm-up to `lr`, then cosine decay to
/// `lr × min_lr_ratio` at `total` steps.
pub fn learning_rate(config: &SftConfig, step: usize, total: usize) -> f64 {
    warmup_cosine(
        config.lr,
        config.min_lr_ratio,
        config.warmup_steps,
        step,
        total,
    )
}

/// One optimisation step, as reported to the observer.
#[derive(Debug, Clone, PartialEq)]
pub struct SftStepLog {
    pub step: usize,
    pub epoch: usize,
    pub loss: f64,
    pub lr: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Next-item targets in the step.
    pub targets: usize,
    pub targets_per_second: f64,
}

/// One finished epoch with its validation report.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochLog {
    pub epoch: usize,
    pub steps: usize,
    pub mean_loss: f64,
    /// Wall time of the epoch's optimisation steps (validation excluded).
    pub train_seconds: f64,
    /// Wall time of the whole epoch, validation included.
    pub seconds: f64,
    pub valid: Report,
    /// The monitored metric improved (this epoch's model is the new best).
    pub improved: bool,
}

/// Where training stands after an epoch: everything [`Resume`] needs, minus the tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The first epoch a resumed run trains.
    pub next_epoch: usize,
    /// Optimisation steps taken so far.
    pub step: usize,
    pub best_epoch: usize,
    pub best_metric: f64,
    pub best_valid: Report,
}

/// The state handed to [`Observer::on_epoch`]: enough to checkpoint and resume.
pub struct EpochState<'a, E: SequenceBackbone = Backbone> {
    pub model: &'a Recommender<E>,
    pub optimizer: &'a ModuleOptimizer,
    pub progress: &'a Progress,
}

/// What continuing an interrupted run starts from.
pub struct Resume<E: SequenceBackbone = Backbone> {
    /// The model after the last finished epoch.
    pub model: Recommender<E>,
    pub optimizer: ModuleOptimizer,
    /// The best model so far.
    pub best: Recommender<E>,
    pub progress: Progress,
}

/// Receives progress; every method has a silent default.
pub trait Observer<E: SequenceBackbone = Backbone> {
    fn on_epoch_start(&mut self, _epoch: usize, _batches: usize) {}
    fn on_step(&mut self, _log: &SftStepLog) {}
    /// Called after validation with the training state; checkpoints are written here.
    fn on_epoch(&mut self, _log: &EpochLog, _state: &EpochState<'_, E>) -> Result<(), TrainError> {
        Ok(())
    }
}

/// How one invocation of [`train`] runs.
pub struct RunOptions<E: SequenceBackbone = Backbone> {
    /// Continue from an interrupted run's state.
    pub resume: Option<Resume<E>>,
    /// Stop (resumably) after this many epochs in this invocation.
    pub stop_after_epochs: Option<usize>,
}

// Not derived: the derive would ask `E: Default`.
impl<E: SequenceBackbone> Default for RunOptions<E> {
    fn default() -> Self {
        RunOptions {
            resume: None,
            stop_after_epochs: None,
        }
    }
}

/// The optimiser SFT uses; rebuilt the same way when a run resumes.
pub fn optimizer(config: &SftConfig) -> ModuleOptimizer {
    adamw(config.weight_decay)
}

/// What training produced.
#[derive(Debug, Clone)]
pub struct SftOutcome<E: SequenceBackbone = Backbone> {
    /// The model of the best validation epoch (without autodiff).
    pub best: Recommender<E>,
    pub best_epoch: usize,
    pub best_valid: Report,
    pub epochs_run: usize,
    pub stopped_early: bool,
    /// The invocation stopped at `stop_after_epochs`; resume to finish.
    pub interrupted: bool,
    pub steps: usize,
}

/// The data SFT reads.
pub struct SftData<'a> {
    pub dataset: &'a Dataset,
    pub split: &'a Split,
    pub evaluator: &'a Evaluator,
    pub valid_cases: &'a [Case<'a>],
}

/// The cross-entropy of one batch: every position with a target, plus (latent mode) a thought
/// slot after every position predicting that position's target. Returns the loss and the
/// number of targets.
///
/// The paper trains the thought on its one target per sample; with an item-id backbone trained
/// at every position, a thought trained only at each window's last position sees ~1/45 of the
/// targets the backbone does and lags behind it. So every prefix gets its thought, in one pass:
/// the head runs with causal queries and each slot attends its own prefix (see
/// [`SequenceBackbone::thoughts_after_every_position`]).
/// With `thoughts > 1` the extra thoughts are chained at the last position only.
pub fn batch_loss<E: SequenceBackbone>(
    model: &Recommender<E>,
    batch: &TrainBatch,
    thought_weight: f64,
    device: &Device,
) -> (Tensor<1>, usize) {
    let (rows, len) = (batch.batch_size, batch.seq_len);
    let inputs = Inputs::new(&batch.inputs, rows, len, device);
    let encoded = model.encode(&inputs);
    let (positions, targets): (Vec<i64>, Vec<i64>) = batch
        .targets
        .iter()
        .enumerate()
        .filter(|(_, t)| **t != 0)
        .map(|(p, &t)| (p as i64, t))
        .unzip();
    let count = targets.len();
    let d = encoded.hidden.dims()[2];
    let positions = Tensor::<1, Int>::from_data(TensorData::new(positions, [count]), device);
    let target_tensor = Tensor::<1, Int>::from_data(TensorData::new(targets, [count]), device);
    let pick = |states: Tensor<3>| states.reshape([rows * len, d]).select(0, positions.clone());
    let mut loss = cross_entropy(
        model.backbone.score(pick(encoded.hidden.clone())),
        target_tensor.clone(),
    );
    if let (Some(head), true) = (&model.head, thought_weight > 0.0) {
        let thought_loss = if model.thoughts() == 1 {
            let thoughts =
                head.forward_every_prefix(encoded.hidden.clone(), inputs.blocked.clone());
            let slots = model
                .backbone
                .thoughts_after_every_position(&encoded, thoughts, &inputs);
            cross_entropy(model.backbone.score(pick(slots)), target_tensor)
        } else {
            let last: Vec<i64> = (0..rows)
                .map(|r| batch.targets[r * len + len - 1])
                .collect();
            let thought_state = model.think(encoded).last();
            cross_entropy(
                model.backbone.score(thought_state),
                Tensor::from_data(TensorData::new(last, [rows]), device),
            )
        };
        loss = loss + thought_loss * thought_weight;
    }
    (loss, count)
}

/// The training windows `config` asks for over sequences of `max_len`.
pub fn windows(
    dataset: &Dataset,
    split: &Split,
    max_len: usize,
    config: &SftConfig,
) -> TrainBatcher {
    if config.random_offsets {
        return TrainBatcher::with_random_offsets(dataset, split, max_len, config.batch_size);
    }
    TrainBatcher::with_stride(
        dataset,
        split,
        max_len,
        config.batch_size,
        config.window_stride,
    )
}

/// Trains `model` (on any device; training runs on its autodiff twin) and returns the best
/// validation epoch's model. The device is re-seeded at every epoch from `config.seed`, so a
/// resumed run draws the same dropout masks and batch order as an uninterrupted one.
pub fn train<E: SequenceBackbone>(
    model: Recommender<E>,
    device: &Device,
    data: &SftData<'_>,
    config: &SftConfig,
    observer: &mut dyn Observer<E>,
    options: RunOptions<E>,
) -> Result<SftOutcome<E>, TrainError> {
    config.validate().map_err(TrainError::Setting)?;
    check_monitor(data.evaluator, "monitor", &config.monitor)?;
    let train_device = device.clone().autodiff();
    let max_len = model.backbone.max_len();
    if config.random_offsets && (1..max_len).contains(&config.window_stride) {
        return Err(TrainError::Setting(format!(
            "random_offsets re-cuts non-overlapping windows; it cannot be combined with \
             window_stride = {} (set window_stride = 0)",
            config.window_stride
        )));
    }
    let batcher = windows(data.dataset, data.split, max_len, config);
    if batcher.num_rows() == 0 {
        return Err(TrainError::Setting(
            "the training split has no targets".into(),
        ));
    }
    let epoch_seed = |epoch: usize| config.seed.wrapping_add(epoch as u64);
    let total_steps: usize = (0..config.epochs)
        .map(|epoch| batcher.num_batches_in(epoch_seed(epoch)))
        .sum();
    let (mut model, mut optimizer, mut step, first_epoch, mut best) = match options.resume {
        Some(resume) => {
            let p = resume.progress;
            (
                resume.model.fork(&train_device).train(),
                resume.optimizer,
                p.step,
                p.next_epoch,
                // Validations run every epoch, so the count since the best is in epochs.
                BestSoFar::resumed(
                    Best {
                        model: resume.best,
                        at: p.best_epoch,
                        report: p.best_valid,
                        metric: p.best_metric,
                    },
                    (p.next_epoch - 1).saturating_sub(p.best_epoch),
                ),
            )
        }
        None => (
            model.fork(&train_device).train(),
            optimizer(config),
            0,
            0,
            BestSoFar::new(),
        ),
    };
    let mut epochs_run = first_epoch;
    let mut stopped_early = false;
    let mut interrupted = false;
    for epoch in first_epoch..config.epochs {
        let started = Instant::now();
        train_device.seed(config.seed.wrapping_add(1 + epoch as u64));
        observer.on_epoch_start(epoch, batcher.num_batches_in(epoch_seed(epoch)));
        let mut loss_sum = 0.0;
        let mut batches = 0;
        for batch in batcher.epoch(data.dataset, epoch_seed(epoch)) {
            let step_started = Instant::now();
            let (loss, targets) =
                batch_loss(&model, &batch, config.thought_loss_weight, &train_device);
            let value = f64::from(loss.clone().into_scalar::<f32>());
            if !value.is_finite() {
                return Err(TrainError::NonFinite { step, epoch, value });
            }
            let mut grads = GradientsParams::from_grads(loss.backward(), &model);
            let grad_norm = clip_global_norm(&model, &mut grads, config.grad_clip);
            let lr = learning_rate(config, step, total_steps);
            model = optimizer.step(lr, model, grads);
            observer.on_step(&SftStepLog {
                step,
                epoch,
                loss: value,
                lr,
                grad_norm,
                targets,
                targets_per_second: targets as f64 / step_started.elapsed().as_secs_f64().max(1e-9),
            });
            loss_sum += value;
            batches += 1;
            step += 1;
        }
        epochs_run = epoch + 1;
        let train_seconds = started.elapsed().as_secs_f64();
        let evaluation =
            data.evaluator
                .evaluate(&ModelScorer::new(&model), data.valid_cases, "valid")?;
        let metric = evaluation.report.metric(&config.monitor).ok_or_else(|| {
            TrainError::Setting(format!(
                "monitor `{}` is not in the validation report",
                config.monitor
            ))
        })?;
        let improved = best.observe(metric, epoch, &evaluation.report, || model.valid());
        let current = best.best().expect("observed above");
        let progress = Progress {
            next_epoch: epoch + 1,
            step,
            best_epoch: current.at,
            best_metric: current.metric,
            best_valid: current.report.clone(),
        };
        let log = EpochLog {
            epoch,
            steps: batches,
            mean_loss: loss_sum / batches.max(1) as f64,
            train_seconds,
            seconds: started.elapsed().as_secs_f64(),
            valid: evaluation.report,
            improved,
        };
        observer.on_epoch(
            &log,
            &EpochState {
                model: &model,
                optimizer: &optimizer,
                progress: &progress,
            },
        )?;
        if best.out_of_patience(config.patience) {
            stopped_early = true;
            break;
        }
        if options
            .stop_after_epochs
            .is_some_and(|n| epoch + 1 - first_epoch >= n)
            && epoch + 1 < config.epochs
        {
            interrupted = true;
            break;
        }
    }
    let best = best
        .into_best()
        .ok_or_else(|| TrainError::Setting("the run had already finished every epoch".into()))?;
    Ok(SftOutcome {
        best: best.model,
        best_epoch: best.at,
        best_valid: best.report,
        epochs_run,
        stopped_early,
        interrupted,
        steps: step,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine() {
        let config = SftConfig {
            lr: 1.0,
            warmup_steps: 10,
            min_lr_ratio: 0.1,
            ..SftConfig::default()
        };
        assert!((learning_rate(&config, 0, 110) - 0.1).abs() < 1e-12);
        assert!((learning_rate(&config, 9, 110) - 1.0).abs() < 1e-12);
        assert!((learning_rate(&config, 10, 110) - 1.0).abs() < 1e-12);
        assert!((learning_rate(&config, 60, 110) - 0.55).abs() < 1e-12);
        assert!((learning_rate(&config, 110, 110) - 0.1).abs() < 1e-12);
    }
}
