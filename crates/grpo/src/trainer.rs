//! Stage 2 (LR-GRPO): only the latent head trains; the backbone and the item embeddings (the
//! output layer) are frozen, and there is no reference model unless `kl_weight > 0`.
//!
//! One step: the batch's histories go through the frozen backbone once, without autodiff; the
//! head turns them into latents `r`; each sequence gets a group of `G` latents `r + ε_k`
//! (`ε_0 = 0`); every candidate is appended as the thought slot against the shared history
//! cache and scores the full catalogue; the rewards of the true next item become advantages;
//! the objective's gradient reaches the head only.

use std::time::Instant;

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use latentr3_data::{Dataset, Split, TrainBatch, TrainBatcher};
use latentr3_eval::{Case, CollapseConfig, CollapseMonitor, Evaluator, Report};
use latentr3_model::loss::log_probs;
use latentr3_model::training::{Best, BestSoFar, adamw, check_monitor, clip_global_norm};
use latentr3_model::{
    Backbone, Encoded, Inputs, LatentHead, ModelScorer, Recommender, SequenceBackbone, TrainError,
};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::advantage::{AdvantageStats, advantages, stats};
use crate::config::{ObjectiveKind, RlConfig};
use crate::objective::{clip_fractions, clipped_surrogate, gaussian_log_ratio};
use crate::reward::{Outcome, RewardContext, Rewards};

/// The data the RL stage reads.
pub struct RlData<'a> {
    pub dataset: &'a Dataset,
    pub split: &'a Split,
    pub evaluator: &'a Evaluator,
    pub valid_cases: &'a [Case<'a>],
    /// The collapse monitor's thresholds; its reference is the SFT model's validation report.
    pub collapse: &'a CollapseConfig,
}

/// Mean and standard deviation of one reward term over a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct TermStats {
    pub name: String,
    pub mean: f64,
    pub std: f64,
}

/// One RL step (one batch), as reported to the observer.
#[derive(Debug, Clone, PartialEq)]
pub struct RlStepLog {
    pub step: usize,
    pub epoch: usize,
    /// Mean objective over the batch's iterations.
    pub loss: f64,
    pub lr: f64,
    /// Global gradient norm of the head before clipping (mean over iterations).
    pub grad_norm: f64,
    /// Each reward term, unweighted.
    pub terms: Vec<TermStats>,
    /// The weighted total reward.
    pub reward: TermStats,
    pub advantage: AdvantageStats,
    /// Fraction of members clipped below / above (mean over iterations).
    pub clip_low_fraction: f64,
    pub clip_high_fraction: f64,
    /// Mean L2 norm of the noise-free latents.
    pub latent_norm: f64,
    /// The absolute exploration noise σ of this batch.
    pub sigma: f64,
    /// KL(current head ‖ SFT head) under the Gaussian policy (0 unless `kl_weight > 0`).
    pub kl: f64,
    pub sequences_per_second: f64,
}

/// One validation of the RL stage.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalLog {
    pub step: usize,
    pub epoch: usize,
    /// The validation report, with the collapse monitor's alarms.
    pub valid: Report,
    /// The monitored metric improved (this head is the new best).
    pub improved: bool,
    /// Training stops after this validation (alarm with `stop_on_alarm`, or patience).
    pub stop: bool,
}

/// Where the RL stage stands after a validation: everything [`Resume`] needs besides the
/// tensors (current model, optimiser, best model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RlProgress {
    /// Optimisation steps taken.
    pub step: usize,
    /// The epoch of the next step, and how many of its batches are done.
    pub epoch: usize,
    pub batches_done: usize,
    /// Standard-normal draws taken so far by the exploration noise generator; a resumed stage
    /// draws (and drops) as many, so its noise continues where it stopped.
    pub noise_draws: u64,
    /// The best validation's step; 0: the model the stage started from is still the best.
    pub best_step: usize,
    pub best_metric: f64,
    pub best_valid: Report,
    /// Validations since the best one (what patience counts).
    pub since_best: usize,
    /// Wall time of each finished epoch's steps, and of the current epoch's steps so far.
    pub epoch_train_seconds: Vec<f64>,
    pub current_epoch_seconds: f64,
    /// Set at the stage's last validation: why it ended.
    pub stopped: Option<StopReason>,
}

/// The state handed to [`Observer::on_eval`]: enough to checkpoint and resume.
pub struct RlState<'a, E: SequenceBackbone = Backbone> {
    /// The current model (its head as trained so far).
    pub model: &'a Recommender<E>,
    /// The best validated model so far: the model the stage was given until an RL head beats
    /// it.
    pub best: &'a Recommender<E>,
    pub optimizer: &'a ModuleOptimizer,
    pub progress: &'a RlProgress,
}

/// What continuing an interrupted RL stage starts from.
pub struct Resume<E: SequenceBackbone = Backbone> {
    /// The model at the last validation.
    pub model: Recommender<E>,
    pub optimizer: ModuleOptimizer,
    /// The best validated model so far.
    pub best: Recommender<E>,
    pub progress: RlProgress,
}

/// How one invocation of [`train_with`] runs.
pub struct RunOptions<E: SequenceBackbone = Backbone> {
    /// Continue from an interrupted stage's state.
    pub resume: Option<Resume<E>>,
    /// Stop, resumably, at the first validation after this many steps in this invocation.
    pub stop_after_steps: Option<usize>,
}

// Not derived: the derive would ask `E: Default`.
impl<E: SequenceBackbone> Default for RunOptions<E> {
    fn default() -> Self {
        RunOptions {
            resume: None,
            stop_after_steps: None,
        }
    }
}

/// Receives progress; every method has a silent default.
pub trait Observer<E: SequenceBackbone = Backbone> {
    /// Before the first step, with the SFT model's validation report (the monitor's reference).
    fn on_start(&mut self, _total_steps: usize, _reference: &Report) {}
    fn on_epoch_start(&mut self, _epoch: usize, _batches: usize) {}
    fn on_step(&mut self, _log: &RlStepLog) {}
    /// After an epoch's steps, with their wall time (validation excluded).
    fn on_epoch_end(&mut self, _epoch: usize, _train_seconds: f64) {}
    /// After each validation, with the training state (checkpoints are written here).
    fn on_eval(&mut self, _log: &EvalLog, _state: &RlState<'_, E>) -> Result<(), TrainError> {
        Ok(())
    }
}

impl<E: SequenceBackbone> Observer<E> for latentr3_model::Silent {}

/// Why the stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StopReason {
    Finished,
    /// The collapse monitor raised an alarm and `stop_on_alarm` is set.
    Alarm,
    /// `patience` validations without improvement.
    Patience,
}

/// What the RL stage produced.
#[derive(Debug, Clone)]
pub struct RlOutcome<E: SequenceBackbone = Backbone> {
    /// The model with the best validated head (without autodiff): the model the stage was
    /// given unless some RL validation beat it on `rl.monitor`.
    pub best: Recommender<E>,
    /// The step of that validation; 0 when no RL validation beat the model the stage was given
    /// (its validation is the incumbent, so a stage never hands back a worse head).
    pub best_step: usize,
    pub best_valid: Report,
    /// The SFT model's validation report.
    pub reference_valid: Report,
    pub steps: usize,
    /// Wall time of each epoch's steps, validation excluded.
    pub epoch_train_seconds: Vec<f64>,
    pub stop: StopReason,
    /// The invocation stopped at `stop_after_steps`; resume to finish.
    pub interrupted: bool,
}

/// The policy being trained and what it reads.
struct Policy<E: SequenceBackbone> {
    /// The whole SFT model without autodiff: encodes histories once per batch.
    frozen: Recommender<E>,
    /// The backbone on the autodiff device, frozen (no parameter gradients, no dropout): the
    /// gradient flows through its activations back to the latent.
    backbone: E,
    head: LatentHead,
    /// The SFT head, for the optional KL term.
    reference_head: LatentHead,
    optimizer: ModuleOptimizer,
    device: Device,
}

impl<E: SequenceBackbone> Policy<E> {
    /// `[batch·group]` log-probabilities of the targets under each candidate latent, and the
    /// candidates' `[batch·group, item_slots]` scores.
    fn group_log_probs(
        &self,
        encoded: &Encoded,
        latents: Tensor<3>,
        targets: Tensor<1, Int>,
    ) -> (Tensor<1>, Tensor<2>) {
        let [batch, group, d] = latents.dims();
        let hidden = self
            .backbone
            .alternative_thoughts(encoded, latents)
            .reshape([batch * group, d]);
        let logits = self.backbone.score(hidden);
        (log_probs(logits.clone(), targets), logits)
    }
}

fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count().max(1) as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = values.map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

fn floats<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("float tensor")
}

/// The optimiser of the head.
pub fn optimizer(config: &RlConfig) -> ModuleOptimizer {
    adamw(config.weight_decay)
}

/// Trains the latent head of `model` (an SFT model in latent mode with one thought) with the
/// rewards of `config` and returns the best validated model. Deterministic for a seed: the
/// noise comes from a seeded generator and the frozen backbone has no dropout.
pub fn train<E: SequenceBackbone>(
    model: &Recommender<E>,
    device: &Device,
    data: &RlData<'_>,
    config: &RlConfig,
    observer: &mut dyn Observer<E>,
) -> Result<RlOutcome<E>, TrainError> {
    let rewards = Rewards::from_terms(&config.rewards, RewardContext::of(data.evaluator))
        .map_err(TrainError::Setting)?;
    train_with(
        model,
        device,
        data,
        config,
        &rewards,
        observer,
        RunOptions::default(),
    )
}

/// The exploration noise: a seeded generator that counts its draws, so a resumed stage can
/// continue the same sequence (draw and drop as many) without serialising the generator.
struct Noise {
    rng: Xoshiro256PlusPlus,
    draws: u64,
}

impl Noise {
    fn new(seed: u64, skip: u64) -> Noise {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        for _ in 0..skip {
            let _: f64 = StandardNormal.sample(&mut rng);
        }
        Noise { rng, draws: skip }
    }

    fn standard_normal(&mut self) -> f64 {
        self.draws += 1;
        StandardNormal.sample(&mut self.rng)
    }
}

/// Where the loop is: what a validation writes into [`RlProgress`].
struct Cursor {
    step: usize,
    epoch: usize,
    batches_done: usize,
    epoch_train_seconds: Vec<f64>,
    current_epoch_seconds: f64,
}

/// [`train`] with rewards of the caller's own (see [`Reward`](crate::reward::Reward);
/// `config.rewards` is ignored) and [`RunOptions`]: resume an interrupted stage, or stop one
/// resumably. A resumed stage continues exactly: same head, optimiser, schedule, noise, batch
/// order, best head and patience count as the uninterrupted stage at that validation.
pub fn train_with<E: SequenceBackbone>(
    model: &Recommender<E>,
    device: &Device,
    data: &RlData<'_>,
    config: &RlConfig,
    rewards: &Rewards,
    observer: &mut dyn Observer<E>,
    options: RunOptions<E>,
) -> Result<RlOutcome<E>, TrainError> {
    config.validate().map_err(TrainError::Setting)?;
    if rewards.is_empty() {
        return Err(TrainError::Setting("no rewards to maximise".into()));
    }
    let Some(head) = &model.head else {
        return Err(TrainError::Setting(
            "the RL stage trains the latent head; this model is in backbone mode".into(),
        ));
    };
    if model.thoughts() != 1 {
        return Err(TrainError::Setting(format!(
            "the RL stage explores one latent thought (the paper's N = 1); this model chains {}",
            model.thoughts()
        )));
    }
    check_monitor(data.evaluator, "rl.monitor", &config.monitor)?;
    let train_device = device.clone().autodiff();
    let frozen = model.valid();
    let reference_head = head.valid();
    let (head, optimizer, best, progress) = match options.resume {
        Some(resume) => {
            let Some(head) = resume.model.head else {
                return Err(TrainError::Setting(
                    "the RL state to resume from has no latent head".into(),
                ));
            };
            let p = resume.progress;
            let best = BestSoFar::resumed(
                Best {
                    model: resume.best,
                    at: p.best_step,
                    report: p.best_valid.clone(),
                    metric: p.best_metric,
                },
                p.since_best,
            );
            (head.valid(), resume.optimizer, best, Some(p))
        }
        // The SFT model is the incumbent (filled in once it is validated below): the stage
        // never hands back a head that validates worse than the one it was given.
        None => (head.valid(), optimizer(config), BestSoFar::new(), None),
    };
    let mut policy = Policy {
        backbone: frozen.backbone.clone().fork(&train_device).freeze(),
        head: head.fork(&train_device).train(),
        reference_head,
        frozen,
        optimizer,
        device: device.clone(),
    };
    let batcher = TrainBatcher::with_stride(
        data.dataset,
        data.split,
        model.backbone.max_len(),
        config.batch_size,
        config.window_stride,
    );
    if batcher.num_rows() == 0 {
        return Err(TrainError::Setting(
            "the training split has no targets".into(),
        ));
    }
    let total_steps = config.epochs * batcher.num_batches();

    let evaluate = |model: &Recommender<E>| {
        data.evaluator
            .evaluate(&ModelScorer::new(model), data.valid_cases, "valid")
            .map(|e| e.report)
    };
    let reference = evaluate(&policy.frozen)?;
    let best = match best.best() {
        Some(_) => best,
        None => {
            let metric = reference.metric(&config.monitor).ok_or_else(|| {
                TrainError::Setting(format!(
                    "rl.monitor `{}` is not in the report",
                    config.monitor
                ))
            })?;
            BestSoFar::resumed(
                Best {
                    model: policy.frozen.clone(),
                    at: 0,
                    report: reference.clone(),
                    metric,
                },
                0,
            )
        }
    };
    let mut selection = Selection {
        evaluate: &evaluate,
        monitor: CollapseMonitor::new(data.collapse.clone(), reference.clone()),
        config,
        best,
    };
    let mut cursor = Cursor {
        step: 0,
        epoch: 0,
        batches_done: 0,
        epoch_train_seconds: Vec::new(),
        current_epoch_seconds: 0.0,
    };
    let mut noise = Noise::new(config.seed, 0);
    let mut stop = None;
    if let Some(p) = progress {
        cursor = Cursor {
            step: p.step,
            epoch: p.epoch,
            batches_done: p.batches_done,
            epoch_train_seconds: p.epoch_train_seconds,
            current_epoch_seconds: p.current_epoch_seconds,
        };
        noise = Noise::new(config.seed, p.noise_draws);
        stop = p.stopped;
    }
    // A stage that had already ended (killed before its caller finished) hands back its best.
    if stop.is_none() {
        observer.on_start(total_steps, &reference);
    }
    let stop_at = options
        .stop_after_steps
        .map(|steps| cursor.step.saturating_add(steps));
    let mut interrupted = false;
    while stop.is_none() && !interrupted && cursor.epoch < config.epochs {
        let epoch = cursor.epoch;
        observer.on_epoch_start(epoch, batcher.num_batches());
        // A resumed epoch was last validated where it stopped.
        let mut validated_at = (cursor.batches_done > 0).then_some(cursor.step);
        let skip = cursor.batches_done;
        for batch in batcher
            .epoch(data.dataset, config.seed.wrapping_add(epoch as u64))
            .skip(skip)
        {
            let started = Instant::now();
            let lr = config.learning_rate(cursor.step, total_steps);
            let step = cursor.step;
            let mut log = rl_step(&mut policy, &batch, config, rewards, data, lr, &mut noise)
                .map_err(|value| TrainError::NonFinite { step, epoch, value })?;
            log.step = step;
            log.epoch = epoch;
            let seconds = started.elapsed().as_secs_f64();
            cursor.current_epoch_seconds += seconds;
            log.sequences_per_second = batch.batch_size as f64 / seconds.max(1e-9);
            observer.on_step(&log);
            cursor.step += 1;
            cursor.batches_done += 1;
            if config.eval_every > 0 && cursor.step.is_multiple_of(config.eval_every) {
                validated_at = Some(cursor.step);
                stop = selection.validate(&policy, &cursor, total_steps, &noise, observer)?;
                if stop.is_some() {
                    break;
                }
                if stop_at.is_some_and(|at| cursor.step >= at) && cursor.step < total_steps {
                    interrupted = true;
                    break;
                }
            }
        }
        if interrupted {
            break;
        }
        let train_seconds = std::mem::take(&mut cursor.current_epoch_seconds);
        cursor.epoch_train_seconds.push(train_seconds);
        cursor.epoch += 1;
        cursor.batches_done = 0;
        observer.on_epoch_end(epoch, train_seconds);
        if stop.is_none()
            && validated_at != Some(cursor.step)
            && (config.eval_every == 0 || epoch + 1 == config.epochs)
        {
            stop = selection.validate(&policy, &cursor, total_steps, &noise, observer)?;
            if stop.is_none()
                && stop_at.is_some_and(|at| cursor.step >= at)
                && cursor.step < total_steps
            {
                interrupted = true;
            }
        }
    }
    let best = selection
        .best
        .into_best()
        .ok_or_else(|| TrainError::Setting("the RL stage ran no step (rl.epochs = 0?)".into()))?;
    Ok(RlOutcome {
        best: best.model,
        best_step: best.at,
        best_valid: best.report,
        reference_valid: reference,
        steps: cursor.step,
        epoch_train_seconds: cursor.epoch_train_seconds,
        stop: stop.unwrap_or(StopReason::Finished),
        interrupted,
    })
}

/// Validation during the stage: the best head so far and the reasons to stop.
struct Selection<'a, E: SequenceBackbone> {
    evaluate: &'a dyn Fn(&Recommender<E>) -> Result<Report, latentr3_eval::EvalError>,
    monitor: CollapseMonitor,
    config: &'a RlConfig,
    best: BestSoFar<Recommender<E>>,
}

impl<E: SequenceBackbone> Selection<'_, E> {
    /// Validates the current head and hands the state to the observer; returns why training
    /// should stop, if it should.
    fn validate(
        &mut self,
        policy: &Policy<E>,
        cursor: &Cursor,
        total_steps: usize,
        noise: &Noise,
        observer: &mut dyn Observer<E>,
    ) -> Result<Option<StopReason>, TrainError> {
        let step = cursor.step;
        let model = policy.frozen.with_head(policy.head.valid());
        let mut report = (self.evaluate)(&model)?;
        let alarm = self.monitor.observe(&mut report);
        let metric = report.metric(&self.config.monitor).ok_or_else(|| {
            TrainError::Setting(format!(
                "rl.monitor `{}` is not in the report",
                self.config.monitor
            ))
        })?;
        let improved = self.best.observe(metric, step, &report, || model.clone());
        let patience = self.config.patience;
        let stop = if alarm {
            Some(StopReason::Alarm)
        } else if patience > 0 && self.best.out_of_patience(patience) {
            Some(StopReason::Patience)
        } else {
            None
        };
        let best = self.best.best().expect("observed above");
        let progress = RlProgress {
            step,
            epoch: cursor.epoch,
            batches_done: cursor.batches_done,
            noise_draws: noise.draws,
            best_step: best.at,
            best_metric: best.metric,
            best_valid: best.report.clone(),
            since_best: self.best.since_best(),
            epoch_train_seconds: cursor.epoch_train_seconds.clone(),
            current_epoch_seconds: cursor.current_epoch_seconds,
            stopped: stop.or((step >= total_steps).then_some(StopReason::Finished)),
        };
        observer.on_eval(
            &EvalLog {
                step,
                // After an epoch's end the cursor is already at the next epoch.
                epoch: if cursor.batches_done == 0 {
                    cursor.epoch.saturating_sub(1)
                } else {
                    cursor.epoch
                },
                valid: report,
                improved,
                stop: stop.is_some(),
            },
            &RlState {
                model: &model,
                best: &best.model,
                optimizer: &policy.optimizer,
                progress: &progress,
            },
        )?;
        Ok(stop)
    }
}

/// One batch: sample a group of latents per sequence, reward them, and take `iterations`
/// optimiser steps on the head. With history masking on, what each user had already seen before the
/// target (the whole earlier sequence, as the evaluator masks it) leaves the rewards' ranking;
/// the list rewards read it as the user's history either way. Returns the log, or the
/// non-finite loss value.
fn rl_step<E: SequenceBackbone>(
    policy: &mut Policy<E>,
    batch: &TrainBatch,
    config: &RlConfig,
    rewards: &Rewards,
    data: &RlData<'_>,
    lr: f64,
    noise_source: &mut Noise,
) -> Result<RlStepLog, f64> {
    let (rows, len, group) = (batch.batch_size, batch.seq_len, config.group_size);
    let train_device = policy.device.clone().autodiff();
    // Every window ends with a target in its last column.
    let targets: Vec<i64> = (0..rows)
        .map(|r| batch.targets[r * len + len - 1])
        .collect();
    let inputs = Inputs::new(&batch.inputs, rows, len, &policy.device);
    let plain = policy.frozen.encode(&inputs);
    // The SFT head's latents for the KL term, from the plain encoding (no autodiff needed).
    let reference_mean =
        (config.kl_weight > 0.0).then(|| policy.reference_head.forward(&plain).autodiff());
    let encoded = plain.autodiff();

    let mean = policy.head.forward(&encoded);
    let d = mean.dims()[1];
    let mean_values = floats(mean.clone());
    let rms = (mean_values
        .iter()
        .map(|v| f64::from(*v).powi(2))
        .sum::<f64>()
        / mean_values.len().max(1) as f64)
        .sqrt();
    let latent_norm = mean_values
        .chunks(d)
        .map(|row| {
            row.iter()
                .map(|v| f64::from(*v).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .sum::<f64>()
        / rows as f64;
    let sigma = if rms > 0.0 {
        config.sigma * rms
    } else {
        config.sigma
    };
    let mut noise = vec![0f32; rows * group * d];
    for (index, value) in noise.iter_mut().enumerate() {
        if !(index / d).is_multiple_of(group) {
            *value = (sigma * noise_source.standard_normal()) as f32;
        }
    }
    let noise = Tensor::<3>::from_data(TensorData::new(noise, [rows, group, d]), &train_device);
    let member_targets: Vec<i64> = targets
        .iter()
        .flat_map(|&t| std::iter::repeat_n(t, group))
        .collect();
    let member_targets = Tensor::<1, Int>::from_data(
        TensorData::new(member_targets, [rows * group]),
        &train_device,
    );

    let latents = mean.clone().unsqueeze_dim::<3>(1) + noise.clone();
    let (first_log_probs, logits) =
        policy.group_log_probs(&encoded, latents, member_targets.clone());

    // Rewards, on the CPU from the scores of every candidate.
    let slots = logits.dims()[1];
    let scores = floats(logits.detach());
    let log_prob_values = floats(first_log_probs.clone().detach());
    let mask_history = data.evaluator.config().mask_history;
    let seen: Vec<&[u32]> = batch
        .last_targets
        .iter()
        .map(|&sample| data.split.seen(data.dataset, sample))
        .collect();
    let terms = rewards.len();
    let scored: Vec<(f64, Vec<f64>)> = (0..rows * group)
        .into_par_iter()
        .map(|member| {
            let row = member / group;
            let mut values = vec![0.0; terms];
            let total = rewards.score(
                &Outcome {
                    scores: &scores[member * slots..(member + 1) * slots],
                    target: targets[row] as u32,
                    log_prob: f64::from(log_prob_values[member]),
                    masked: if mask_history { seen[row] } else { &[] },
                    history: seen[row],
                },
                &mut values,
            );
            (total, values)
        })
        .collect();
    let totals: Vec<f64> = scored.iter().map(|(t, _)| *t).collect();
    if let Some(bad) = totals.iter().find(|t| !t.is_finite()) {
        return Err(*bad);
    }
    let advantage_values = advantages(config.advantage, &totals, group);
    let advantage_stats = stats(&totals, &advantage_values, group);
    let advantage = Tensor::<1>::from_data(
        TensorData::new(
            advantage_values
                .iter()
                .map(|&a| a as f32)
                .collect::<Vec<f32>>(),
            [rows * group],
        ),
        &train_device,
    );

    let old_log_probs = first_log_probs.clone().detach();
    let old_mean = mean.clone().detach();
    let samples = old_mean.clone().unsqueeze_dim::<3>(1) + noise.clone();
    let (mut loss_sum, mut grad_sum, mut low_sum, mut high_sum, mut kl_value) =
        (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut first = Some((mean, first_log_probs));
    for _ in 0..config.iterations {
        let (mean, log_probs_now) = match first.take() {
            Some(pair) => pair,
            None => {
                let mean = policy.head.forward(&encoded);
                let log_probs_now = match config.objective {
                    ObjectiveKind::Reparam => {
                        let latents = mean.clone().unsqueeze_dim::<3>(1) + noise.clone();
                        policy
                            .group_log_probs(&encoded, latents, member_targets.clone())
                            .0
                    }
                    // The Gaussian policy's ratio needs only the head's mean.
                    ObjectiveKind::GaussianPg => old_log_probs.clone(),
                };
                (mean, log_probs_now)
            }
        };
        let log_ratio = match config.objective {
            ObjectiveKind::Reparam => log_probs_now - old_log_probs.clone(),
            ObjectiveKind::GaussianPg => {
                gaussian_log_ratio(samples.clone(), mean.clone(), old_mean.clone(), sigma)
            }
        };
        let ratio_values = floats(log_ratio.clone().detach());
        let (low, high) = clip_fractions(
            &ratio_values,
            &advantage_values,
            config.clip_low,
            config.clip_high,
        );
        let mut loss = clipped_surrogate(
            log_ratio,
            advantage.clone(),
            config.clip_low,
            config.clip_high,
        );
        if let Some(reference) = &reference_mean {
            let kl = (mean - reference.clone()).square().sum_dim(1).mean() / (2.0 * sigma * sigma);
            kl_value = f64::from(kl.clone().detach().into_scalar::<f32>());
            loss = loss + kl * config.kl_weight;
        }
        let value = f64::from(loss.clone().detach().into_scalar::<f32>());
        if !value.is_finite() {
            return Err(value);
        }
        let mut grads = GradientsParams::from_grads(loss.backward(), &policy.head);
        let grad_norm = clip_global_norm(&policy.head, &mut grads, config.grad_clip);
        let head = policy.head.clone();
        policy.head = policy.optimizer.step(lr, head, grads);
        loss_sum += value;
        grad_sum += grad_norm;
        low_sum += low;
        high_sum += high;
    }
    let iterations = config.iterations as f64;
    let term_stats = rewards
        .names()
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let (mean, std) = mean_std(scored.iter().map(move |(_, v)| v[i]));
            TermStats { name, mean, std }
        })
        .collect();
    let (reward_mean, reward_std) = mean_std(totals.iter().copied());
    Ok(RlStepLog {
        step: 0,
        epoch: 0,
        loss: loss_sum / iterations,
        lr,
        grad_norm: grad_sum / iterations,
        terms: term_stats,
        reward: TermStats {
            name: "reward".into(),
            mean: reward_mean,
            std: reward_std,
        },
        advantage: advantage_stats,
        clip_low_fraction: low_sum / iterations,
        clip_high_fraction: high_sum / iterations,
        latent_norm,
        sigma,
        kl: kl_value,
        sequences_per_second: 0.0,
    })
}
