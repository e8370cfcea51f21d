//! The whole pipeline of one run: SFT of backbone and head, then the RL stage of the head, the
//! test reports of both checkpoints and their paired comparison, all in a [`RunDir`].
//!
//! ```no_run
//! use latentr3::{Experiment, Silent, Start, burn::prelude::Device};
//!
//! let experiment = Experiment::load("experiments/synthetic.toml".as_ref(), &[])?;
//! let trained = latentr3::train(
//!     Start::New { experiment, out: Some("runs/mine".into()), init: None },
//!     &Device::default(),
//!     &latentr3::Options::default(),
//!     &mut Silent,
//! )?;
//! let report = trained.report.expect("not stopped early");
//! println!("{}", report.sft);
//! # Ok::<(), latentr3::Error>(())
//! ```

use std::path::PathBuf;
use std::time::Instant;

use burn::prelude::*;
use latentr3_eval::{Evaluation, PairedComparison, Report};
use latentr3_grpo::{EvalLog, RlData, RlOutcome, RlState};
use latentr3_model::sft::{self, EpochLog, EpochState, RunOptions, SftData};
use latentr3_model::{Mode, ModelScorer, Recommender, TrainError};
use serde::{Deserialize, Serialize};

use crate::card::ModelCard;
use crate::compare::paired_comparisons;
use crate::error::{Error, Result};
use crate::experiment::{Experiment, ModeName};
use crate::observer::Observer;
use crate::prepare::{Prepared, prepare};
use crate::run_dir::{
    RunDir, SftStage, Stage, check_init_source, copy_sft_stage, load_model, load_resume,
    load_rl_resume, save_checkpoint, save_last, save_rl_last, write_atomic,
};
use crate::tensorboard::Board;

/// Where a run starts from.
// Built once per run: the size of the `New` variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Start {
    /// A new run of `experiment` in `out` (default: `runs/<name>-<mode>-<time>`). With `init`,
    /// the SFT stage is taken from that finished run (same data, protocol and model settings)
    /// and only the RL stage runs.
    New {
        experiment: Experiment,
        out: Option<PathBuf>,
        init: Option<PathBuf>,
    },
    /// Continue the run in this directory from its last finished epoch (or stage).
    Resume(PathBuf),
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Stop, resumably, after this many SFT epochs (for time-boxed jobs).
    pub stop_after_epochs: Option<usize>,
    /// Stop, resumably, at the first RL validation after this many RL steps.
    pub stop_after_rl_steps: Option<usize>,
    /// Resume even when the run's `config.toml` no longer says what the run started with.
    pub allow_changed_settings: bool,
}

/// `report.json`: the test reports of the SFT and RL checkpoints and their paired comparison.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub sft: Report,
    pub rl: Option<Report>,
    /// RL − SFT on the test cases of `rl`, under its protocol (paired bootstrap).
    pub rl_vs_sft: Vec<PairedComparison>,
    pub rl_stage: Option<RlSummary>,
}

/// The SFT checkpoint's test report, then (after an RL stage) the SFT-versus-RL table with
/// the paired intervals: what `latentr3 train` prints.
impl std::fmt::Display for RunReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.sft)?;
        let Some(rl) = &self.rl else {
            return Ok(());
        };
        writeln!(f, "\nSFT vs RL checkpoint, {}", rl.protocol_line())?;
        writeln!(
            f,
            "{:<20}{:>10}{:>10}{:>10}",
            "metric", "SFT", "RL", "RL - SFT"
        )?;
        for (name, value) in &rl.metrics {
            let base = self.sft.metric(name).unwrap_or(f64::NAN);
            writeln!(
                f,
                "{name:<20}{base:>10.4}{value:>10.4}{:>+10.4}",
                value - base
            )?;
        }
        writeln!(f, "paired bootstrap, 95% interval of RL - SFT:")?;
        for c in &self.rl_vs_sft {
            writeln!(
                f,
                "{:<20}[{:+.4}, {:+.4}]  {}",
                c.metric,
                c.low,
                c.high,
                c.verdict_between("SFT", "RL")
            )?;
        }
        Ok(())
    }
}

/// What the RL stage adds to a run's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RlSummary {
    /// Optimisation steps (batches) taken.
    pub steps: usize,
    /// The step of the best validation (the `rl.bpk` checkpoint); 0 when no RL validation beat
    /// the SFT head, which the stage then hands back unchanged.
    pub best_step: usize,
    /// `finished`, `alarm` or `patience`.
    pub stop: String,
    /// Validation of the SFT checkpoint (the collapse monitor's reference) and of the best head.
    pub valid_sft: Report,
    pub valid_rl: Report,
    /// Wall time of each RL epoch's steps and of the SFT epochs' steps (validation excluded).
    pub rl_epoch_seconds: Vec<f64>,
    pub sft_epoch_seconds: Vec<f64>,
}

/// What [`train`] left behind.
pub struct Trained {
    pub run: RunDir,
    /// The final report; `None` when the run stopped resumably ([`Options::stop_after_epochs`]).
    pub report: Option<RunReport>,
}

fn default_run_dir(experiment: &Experiment) -> PathBuf {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = experiment.name.as_deref().unwrap_or("run");
    PathBuf::from("runs").join(format!("{name}-{}-{seconds}", experiment.model.mode_name()))
}

/// Runs an experiment: SFT (or its resumption), then the RL stage of the latent head unless the
/// model is in backbone mode or `rl.epochs = 0`, then the test reports; writes everything into
/// the run directory. Seeds `device` with `sft.seed` first, so a run is reproducible.
pub fn train(
    start: Start,
    device: &Device,
    options: &Options,
    observer: &mut dyn Observer,
) -> Result<Trained> {
    // Held until the run returns: one process per run directory.
    let (experiment, run, resuming, init, _lock, created) = match start {
        Start::New {
            experiment,
            out,
            init,
        } => {
            // Checked before SFT, not after it.
            experiment.validate()?;
            let init = init.map(RunDir::new);
            if let Some(source) = &init {
                check_init_source(source, &experiment)?;
            }
            let run = RunDir::new(out.unwrap_or_else(|| default_run_dir(&experiment)));
            let created = !run.path().exists();
            let lock = run.lock()?;
            if run.holds_run() {
                return Err(Error::Run(format!(
                    "{} already holds a run; continue it with --resume {0}, or choose another --out",
                    run.path().display()
                )));
            }
            (experiment, run, false, init, lock, created)
        }
        Start::Resume(path) => {
            let run = RunDir::new(path);
            let experiment = run.experiment(&[])?;
            let lock = run.lock()?;
            if !options.allow_changed_settings {
                run.check_settings_unchanged(&experiment)?;
            }
            if run.report().exists() {
                return Err(Error::Run(format!(
                    "{} already finished (it has report.json); nothing to resume",
                    run.path().display()
                )));
            }
            // Before anything is written (resuming rewrites the card), and only when there are
            // checkpoints to read: a run killed before its card was written has none.
            let checkpoints = [
                run.checkpoint(Stage::Sft),
                run.last(),
                run.checkpoints().join("last.old"),
            ];
            let has_checkpoints = checkpoints.iter().any(|path| path.exists());
            if run.card().exists() || has_checkpoints {
                ModelCard::read(&run)?;
            }
            (experiment, run, true, None, lock, false)
        }
    };
    let prepared = match prepare(&experiment, observer).and_then(|prepared| {
        // Rewards that need what the data lacks (categories) are refused before SFT runs.
        if experiment.rl.epochs > 0 && experiment.model.mode == Mode::Latent {
            rl_rewards(&experiment, &prepared)?;
        }
        Ok(prepared)
    }) {
        Ok(prepared) => prepared,
        Err(error) => {
            // Nothing but the lock was written: leave no empty run directory behind.
            if created {
                let _ = std::fs::remove_dir_all(run.path());
            }
            return Err(error);
        }
    };
    let checkpoints = run.checkpoints();
    std::fs::create_dir_all(&checkpoints).map_err(Error::io("create", &checkpoints))?;
    if !resuming {
        let settings = experiment.to_toml();
        write_atomic(&run.config(), settings.as_bytes())?;
        write_atomic(&run.settings_at_start(), settings.as_bytes())?;
    }
    observer.message(&format!("run directory {}", run.path().display()));
    // Written before any checkpoint, so every checkpoint of the run has its card.
    ModelCard::new(&experiment, &prepared.dataset).write(&run)?;

    let mut board =
        Board::new(run.path()).map_err(Error::io("write TensorBoard files in", run.path()))?;
    if let Ok(table) = toml::Table::try_from(&experiment) {
        board.hyperparameters(&table);
        // Again on resuming (the run may have been killed before its first file had it);
        // TensorBoard keeps a tag's first metadata, so the run's first start stands.
        board.session_start(&table);
    }
    device.seed(experiment.sft.seed);
    let num_items = prepared.dataset.num_items();
    if let Some(source) = &init {
        copy_sft_stage(source, &run)?;
    }
    let (sft_model, sft_stage) = if (resuming || init.is_some()) && run.sft_done().exists() {
        observer.message("SFT already finished; continuing with the RL stage");
        let stage = SftStage::read(&run)?;
        let model = load_model(&run.checkpoint(Stage::Sft), &experiment, num_items, device)?;
        (model, stage)
    } else {
        let sft = SftRun {
            experiment: &experiment,
            prepared: &prepared,
            run: &run,
            device,
        };
        match sft.train(&mut board, resuming, options.stop_after_epochs, observer)? {
            Some((model, stage)) => {
                stage.write(&run)?;
                (model, stage)
            }
            None => return Ok(Trained { run, report: None }),
        }
    };
    let rl = RlRun {
        experiment: &experiment,
        prepared: &prepared,
        run: &run,
        device,
    }
    .train(
        &sft_model,
        &mut board,
        sft_stage.steps,
        resuming,
        options.stop_after_rl_steps,
        observer,
    )?;
    let rl = match rl {
        RlStage::Skipped => None,
        RlStage::Interrupted => return Ok(Trained { run, report: None }),
        RlStage::Done(outcome) => Some(outcome),
    };
    let report = match rl {
        None => RunReport {
            sft: sft_stage.test,
            rl: None,
            rl_vs_sft: Vec::new(),
            rl_stage: None,
        },
        Some(outcome) => {
            let test = prepared.cases(false);
            let rl_test = evaluate(&outcome.best, &prepared, &experiment, &test, "test")?;
            board.report(
                "rl_test",
                &rl_test.report,
                sft_stage.steps + outcome.best_step,
            );
            board.flush();
            board
                .check()
                .map_err(Error::io("write", board.path().to_path_buf()))?;
            // The SFT stage keeps only its report, so its ranks are recomputed for the pairing.
            let sft_ranks = prepared
                .evaluator
                .evaluate(&ModelScorer::new(&sft_model), &test, "test")?
                .ranks;
            RunReport {
                rl_vs_sft: paired_comparisons(&prepared.evaluator, &sft_ranks, &rl_test.ranks)?,
                sft: sft_stage.test,
                rl: Some(rl_test.report),
                rl_stage: Some(RlSummary {
                    steps: outcome.steps,
                    best_step: outcome.best_step,
                    stop: format!("{:?}", outcome.stop).to_lowercase(),
                    valid_sft: outcome.reference_valid,
                    valid_rl: outcome.best_valid,
                    rl_epoch_seconds: outcome.epoch_train_seconds,
                    sft_epoch_seconds: sft_stage.epoch_seconds,
                }),
            }
        }
    };
    board.session_end(true);
    board.flush();
    board
        .check()
        .map_err(Error::io("write", board.path().to_path_buf()))?;
    let json = serde_json::to_string_pretty(&report).map_err(Error::json(run.report()))?;
    write_atomic(&run.report(), json.as_bytes())?;
    Ok(Trained {
        run,
        report: Some(report),
    })
}

/// Evaluates `model` on `cases`, labelling the report's protocol with the split kind, the
/// dataset and the model mode.
pub(crate) fn evaluate(
    model: &Recommender,
    prepared: &Prepared,
    experiment: &Experiment,
    cases: &[latentr3_eval::Case<'_>],
    split: &str,
) -> Result<Evaluation> {
    let mut evaluation = prepared
        .evaluator
        .evaluate(&ModelScorer::new(model), cases, split)?;
    evaluation.report.protocol.split = format!(
        "{split} ({:?} split of {}, {} model)",
        experiment.data.split.kind,
        prepared.dataset.name,
        experiment.model.mode_name()
    );
    Ok(evaluation)
}

/// The SFT stage of one run.
struct SftRun<'a> {
    experiment: &'a Experiment,
    prepared: &'a Prepared,
    run: &'a RunDir,
    device: &'a Device,
}

impl SftRun<'_> {
    /// Trains (or resumes) SFT; `None` when it stopped resumably.
    fn train(
        &self,
        board: &mut Board,
        resuming: bool,
        stop_after: Option<usize>,
        observer: &mut dyn Observer,
    ) -> Result<Option<(Recommender, SftStage)>> {
        let (experiment, prepared) = (self.experiment, self.prepared);
        let num_items = prepared.dataset.num_items();
        let model = Recommender::new(&experiment.model, num_items, self.device);
        let resume = if resuming && self.run.has_resumable_epoch()? {
            Some(load_resume(self.run, experiment, num_items, self.device)?)
        } else {
            if resuming {
                observer.message("no SFT epoch had finished; SFT starts from its first epoch");
            }
            None
        };
        if let Some(resume) = &resume {
            observer.message(&format!(
                "resuming at epoch {} (step {}, best epoch {})",
                resume.progress.next_epoch, resume.progress.step, resume.progress.best_epoch
            ));
        }
        let windows = sft::windows(
            &prepared.dataset,
            &prepared.split,
            experiment.model.max_len,
            &experiment.sft,
        )
        .num_rows();
        // With random offsets the windows are re-cut every epoch; their count varies by a few
        // percent around the fixed layout's (the progress bar shows each epoch's exact count).
        let about = if experiment.sft.random_offsets {
            "about "
        } else {
            ""
        };
        observer.message(&format!(
            "{} model, {} parameters, {about}{windows} training windows",
            experiment.model.mode_name(),
            model.num_params(),
        ));
        let valid_cases = prepared.cases(true);
        let data = SftData {
            dataset: &prepared.dataset,
            split: &prepared.split,
            evaluator: &prepared.evaluator,
            valid_cases: &valid_cases,
        };
        let started = Instant::now();
        let mut sft_observer = SftObserver {
            board,
            observer,
            checkpoints: self.run.checkpoints(),
            monitor: experiment.sft.monitor.clone(),
            started,
            epoch_seconds: Vec::new(),
        };
        let options = RunOptions {
            resume,
            stop_after_epochs: stop_after,
        };
        let outcome = sft::train(
            model,
            self.device,
            &data,
            &experiment.sft,
            &mut sft_observer,
            options,
        )
        .map_err(|source| Error::Stopped {
            what: format!(
                "training stopped; checkpoints so far are in {}",
                self.run.checkpoints().display()
            ),
            source,
        })?;
        let SftObserver {
            board,
            observer,
            epoch_seconds,
            ..
        } = sft_observer;
        if outcome.interrupted {
            observer.message(&format!(
                "stopped after epoch {} as asked; continue with: latentr3 train --resume {}",
                outcome.epochs_run - 1,
                self.run.path().display()
            ));
            return Ok(None);
        }
        observer.message(&format!(
            "best epoch {} of {} ({}), {:.1}s",
            outcome.best_epoch,
            outcome.epochs_run,
            if outcome.stopped_early {
                "early stop"
            } else {
                "epoch limit"
            },
            started.elapsed().as_secs_f64()
        ));
        let test = prepared.cases(false);
        let report = evaluate(&outcome.best, prepared, experiment, &test, "test")?.report;
        board.report("test", &report, outcome.best_epoch);
        board.flush();
        board
            .check()
            .map_err(Error::io("write", board.path().to_path_buf()))?;
        let stage = SftStage {
            test: report,
            steps: outcome.steps,
            epoch_seconds,
        };
        Ok(Some((outcome.best, stage)))
    }
}

/// Progress, TensorBoard scalars and checkpoints during SFT.
struct SftObserver<'a> {
    board: &'a mut Board,
    observer: &'a mut dyn Observer,
    checkpoints: PathBuf,
    monitor: String,
    /// When this invocation started training, for the elapsed time on every epoch line.
    started: Instant,
    /// Wall time of each epoch's steps in this invocation (validation excluded).
    epoch_seconds: Vec<f64>,
}

impl sft::Observer for SftObserver<'_> {
    fn on_epoch_start(&mut self, epoch: usize, batches: usize) {
        self.observer.epoch_start("epoch", epoch, batches);
    }

    fn on_step(&mut self, log: &sft::SftStepLog) {
        self.observer.step(&format!(
            "loss {:.4}, {:.0} targets/s",
            log.loss, log.targets_per_second
        ));
        self.board.scalar("train/loss", log.loss, log.step);
        self.board.scalar("train/lr", log.lr, log.step);
        self.board
            .scalar("train/grad_norm", log.grad_norm, log.step);
        self.board
            .scalar("train/targets_per_second", log.targets_per_second, log.step);
    }

    fn on_epoch(&mut self, log: &EpochLog, state: &EpochState<'_>) -> Result<(), TrainError> {
        self.observer.epoch_end();
        let metric = |name: &str| log.valid.metric(name).unwrap_or(f64::NAN);
        self.observer.message(&format!(
            "epoch {:>3}: loss {:.4}, valid {} {:.4}, HR@10 {:.4}, ItemCoverage@10 {:.3}, {:.1}s ({:.0}s in all){}",
            log.epoch,
            log.mean_loss,
            self.monitor,
            metric(&self.monitor),
            metric("HR@10"),
            metric("ItemCoverage@10"),
            log.seconds,
            self.started.elapsed().as_secs_f64(),
            if log.improved { " (best)" } else { "" }
        ));
        self.board
            .scalar("train/epoch_loss", log.mean_loss, log.epoch);
        self.board
            .scalar("train/epoch_seconds", log.seconds, log.epoch);
        self.board
            .scalar("train/epoch_train_seconds", log.train_seconds, log.epoch);
        self.epoch_seconds.push(log.train_seconds);
        self.board.report("valid", &log.valid, log.epoch);
        self.board.flush();
        self.board.check().map_err(|error| {
            TrainError::Io(format!(
                "cannot write {}: {error}",
                self.board.path().display()
            ))
        })?;
        if log.improved {
            save_checkpoint(state.model, &self.checkpoints.join("sft.bpk"))?;
        }
        save_last(&self.checkpoints, state)
    }
}

/// Progress, TensorBoard scalars and the RL checkpoints (`rl.bpk`, `rl-last/`).
struct RlObserver<'a> {
    board: &'a mut Board,
    observer: &'a mut dyn Observer,
    checkpoints: PathBuf,
    monitor: String,
    started: Instant,
    /// Global step offset so RL scalars follow the SFT steps on TensorBoard's x axis.
    offset: usize,
}

impl latentr3_grpo::Observer for RlObserver<'_> {
    fn on_start(&mut self, total_steps: usize, reference: &Report) {
        self.observer.message(&format!(
            "RL stage: {total_steps} steps; SFT checkpoint valid {} {:.4}",
            self.monitor,
            reference.metric(&self.monitor).unwrap_or(f64::NAN)
        ));
        self.board.report("rl_valid", reference, self.offset);
    }

    fn on_epoch_start(&mut self, epoch: usize, batches: usize) {
        self.observer.epoch_start("rl epoch", epoch, batches);
    }

    fn on_step(&mut self, log: &latentr3_grpo::RlStepLog) {
        self.observer.step(&format!(
            "reward {:.4}, |A| std {:.3}, {:.0} seq/s",
            log.reward.mean, log.advantage.std, log.sequences_per_second
        ));
        let step = self.offset + log.step;
        let b = &mut *self.board;
        b.scalar("rl/loss", log.loss, step);
        b.scalar("rl/lr", log.lr, step);
        b.scalar("rl/grad_norm", log.grad_norm, step);
        for term in log.terms.iter().chain(std::iter::once(&log.reward)) {
            b.scalar(&format!("rl/reward/{}/mean", term.name), term.mean, step);
            b.scalar(&format!("rl/reward/{}/std", term.name), term.std, step);
        }
        b.scalar(
            "rl/zero_spread_groups",
            log.advantage.zero_spread_groups,
            step,
        );
        b.scalar("rl/advantage/mean", log.advantage.mean, step);
        b.scalar("rl/advantage/std", log.advantage.std, step);
        b.scalar("rl/advantage/min", log.advantage.min, step);
        b.scalar("rl/advantage/max", log.advantage.max, step);
        b.scalar("rl/clip/low", log.clip_low_fraction, step);
        b.scalar("rl/clip/high", log.clip_high_fraction, step);
        b.scalar("rl/latent_norm", log.latent_norm, step);
        b.scalar("rl/sigma", log.sigma, step);
        b.scalar("rl/kl", log.kl, step);
        b.scalar("rl/sequences_per_second", log.sequences_per_second, step);
    }

    fn on_epoch_end(&mut self, epoch: usize, train_seconds: f64) {
        self.observer.epoch_end();
        self.board
            .scalar("rl/epoch_train_seconds", train_seconds, epoch);
    }

    fn on_eval(&mut self, log: &EvalLog, state: &RlState<'_>) -> Result<(), TrainError> {
        let metric = |name: &str| log.valid.metric(name).unwrap_or(f64::NAN);
        self.observer.message(&format!(
            "rl step {:>5}: valid {} {:.4}, HR@10 {:.4}, ItemCoverage@10 {:.3}, Gini@10 {:.3}, APLT@10 {:.3} ({:.0}s){}",
            log.step,
            self.monitor,
            metric(&self.monitor),
            metric("HR@10"),
            metric("ItemCoverage@10"),
            metric("Gini@10"),
            metric("APLT@10"),
            self.started.elapsed().as_secs_f64(),
            if log.improved { " (best)" } else { "" }
        ));
        for alarm in &log.valid.alarms {
            self.observer.message(&format!("collapse alarm: {alarm}"));
        }
        let step = self.offset + log.step;
        self.board.report("rl_valid", &log.valid, step);
        self.board
            .scalar("rl/alarms", log.valid.alarms.len() as f64, step);
        self.board.flush();
        self.board.check().map_err(|error| {
            TrainError::Io(format!(
                "cannot write {}: {error}",
                self.board.path().display()
            ))
        })?;
        // The best model first: a kill between the two writes leaves `rl.bpk` one validation
        // ahead of `rl-last/`, and the resumed stage, deterministic, repeats that validation
        // and replaces its best with the same head. The other order would lose a best.
        // The first validation writes it whatever its result: while no RL head beats the SFT
        // head, the best is the SFT head, and `rl.bpk` is what the stage hands back.
        let best = self.checkpoints.join("rl.bpk");
        if log.improved || !best.exists() {
            save_checkpoint(state.best, &best)?;
        }
        save_rl_last(&self.checkpoints, state)
    }
}

/// The RL stage's rewards over the prepared catalogue (its tail, popularity and categories).
fn rl_rewards(experiment: &Experiment, prepared: &Prepared) -> Result<latentr3_grpo::Rewards> {
    latentr3_grpo::Rewards::from_terms(
        &experiment.rl.rewards,
        latentr3_grpo::RewardContext::of(&prepared.evaluator),
    )
    .map_err(|message| Error::Setting {
        section: "rl",
        message,
    })
}

/// How the RL stage of a run ended.
// Built once per run: the size of the `Done` variant does not matter.
#[allow(clippy::large_enum_variant)]
enum RlStage {
    /// Backbone mode, or `rl.epochs = 0`.
    Skipped,
    /// Stopped resumably ([`Options::stop_after_rl_steps`]).
    Interrupted,
    Done(RlOutcome),
}

/// The RL stage of one run.
struct RlRun<'a> {
    experiment: &'a Experiment,
    prepared: &'a Prepared,
    run: &'a RunDir,
    device: &'a Device,
}

impl RlRun<'_> {
    /// Runs (or resumes) the RL stage from `sft`.
    fn train(
        &self,
        sft: &Recommender,
        board: &mut Board,
        sft_steps: usize,
        resuming: bool,
        stop_after: Option<usize>,
        observer: &mut dyn Observer,
    ) -> Result<RlStage> {
        let (experiment, prepared, run) = (self.experiment, self.prepared, self.run);
        if experiment.rl.epochs == 0 {
            return Ok(RlStage::Skipped);
        }
        if sft.head.is_none() {
            observer.message("RL stage skipped: backbone mode has no latent head");
            return Ok(RlStage::Skipped);
        }
        let resume = if resuming && run.has_resumable_rl_state()? {
            let resume =
                load_rl_resume(run, experiment, prepared.dataset.num_items(), self.device)?;
            observer.message(&format!(
                "resuming the RL stage at step {} (best step {})",
                resume.progress.step, resume.progress.best_step
            ));
            Some(resume)
        } else {
            None
        };
        let valid_cases = prepared.cases(true);
        let data = RlData {
            dataset: &prepared.dataset,
            split: &prepared.split,
            evaluator: &prepared.evaluator,
            valid_cases: &valid_cases,
            collapse: &experiment.collapse,
        };
        let started = Instant::now();
        let mut rl_observer = RlObserver {
            board,
            observer,
            checkpoints: run.checkpoints(),
            monitor: experiment.rl.monitor.clone(),
            started,
            offset: sft_steps,
        };
        let rewards = rl_rewards(experiment, prepared)?;
        let options = latentr3_grpo::RunOptions {
            resume,
            stop_after_steps: stop_after,
        };
        let outcome = latentr3_grpo::train_with(
            sft,
            self.device,
            &data,
            &experiment.rl,
            &rewards,
            &mut rl_observer,
            options,
        )
        .map_err(|source| Error::Stopped {
            what: format!(
                "the RL stage stopped; the SFT checkpoint is {}, the last RL state {}",
                run.checkpoint(Stage::Sft).display(),
                run.rl_last().display()
            ),
            source,
        })?;
        let observer = rl_observer.observer;
        if outcome.interrupted {
            observer.message(&format!(
                "stopped at RL step {} as asked; continue with: latentr3 train --resume {}",
                outcome.steps,
                run.path().display()
            ));
            return Ok(RlStage::Interrupted);
        }
        // One line whatever the outcome, starting `RL: best step` (scripts wait for it).
        let kept = if outcome.best_step == 0 {
            format!(
                ", the SFT head: no RL validation beat it on {}",
                experiment.rl.monitor
            )
        } else {
            String::new()
        };
        observer.message(&format!(
            "RL: best step {} of {}{kept} ({:?}), {:.1}s",
            outcome.best_step,
            outcome.steps,
            outcome.stop,
            started.elapsed().as_secs_f64()
        ));
        Ok(RlStage::Done(outcome))
    }
}
