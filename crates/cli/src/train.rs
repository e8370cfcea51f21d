//! `latentr3 train`, `latentr3 eval --run` and `latentr3 recommend`: run directories around the
//! model crate's trainer.
//!
//! A run directory holds `config.toml` (the resolved experiment), `checkpoints/` (`sft.bpk`, the
//! best validation epoch, and `last/`, the state after the last finished epoch: model,
//! optimiser and progress, which `--resume` continues from), `report.json` (test metrics, the
//! eval crate's `Report`) and TensorBoard event files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use indicatif::ProgressBar;
use latentr3_eval::Report;
use latentr3_model::sft::{
    self, EpochLog, EpochState, Observer, Progress, Resume, RunOptions, SftData, StepLog,
};
use latentr3_model::{ModelScorer, Recommender, TrainError};

use crate::commands::{Prepared, cases, prepare};
use crate::experiment::{Experiment, ModeName};
use crate::rl::{RlSummary, RunReport};
use crate::tensorboard::Board;

/// The compute device by name: `cpu` (burn's flex backend) or `wgpu` (with the `wgpu` feature).
pub fn device(name: &str) -> Result<Device> {
    match name {
        "cpu" | "flex" => Ok(Device::flex()),
        #[cfg(feature = "wgpu")]
        "wgpu" | "gpu" => Ok(Device::wgpu(Default::default())),
        other => bail!(
            "unknown device `{other}`; expected `cpu`{}",
            if cfg!(feature = "wgpu") {
                " or `wgpu`"
            } else {
                " (build with --features wgpu for `wgpu`)"
            }
        ),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    temp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn io_error(what: &str, path: &Path, error: impl std::fmt::Debug) -> TrainError {
    TrainError::Io(format!("cannot {what} {}: {error:?}", path.display()))
}

/// Saves a model checkpoint to `path` (`.bpk`) through a temporary name.
pub(crate) fn save_checkpoint(model: &Recommender, path: &Path) -> Result<(), TrainError> {
    let temp = path.with_extension("tmp.bpk");
    model
        .clone()
        .save_file(&temp)
        .map_err(|e| io_error("write", &temp, e))?;
    std::fs::rename(&temp, path).map_err(|e| io_error("write", path, e))
}

/// Writes the resumable state (`last/`: model, optimiser, progress) as a whole: into a fresh
/// directory that then replaces the previous one, so an interruption leaves one complete state.
fn save_last(checkpoints: &Path, state: &EpochState<'_>) -> Result<(), TrainError> {
    let staging = checkpoints.join("last.tmp");
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| io_error("create", &staging, e))?;
    state
        .model
        .clone()
        .save_file(staging.join("model.bpk"))
        .map_err(|e| io_error("write", &staging, e))?;
    state
        .optimizer
        .save(staging.join("optimizer.bpk"))
        .map_err(|e| io_error("write", &staging, e))?;
    let progress =
        serde_json::to_vec_pretty(state.progress).map_err(|e| io_error("encode", &staging, e))?;
    std::fs::write(staging.join("progress.json"), progress)
        .map_err(|e| io_error("write", &staging, e))?;
    let last = checkpoints.join("last");
    let old = checkpoints.join("last.old");
    let _ = std::fs::remove_dir_all(&old);
    if last.exists() {
        std::fs::rename(&last, &old).map_err(|e| io_error("replace", &last, e))?;
    }
    std::fs::rename(&staging, &last).map_err(|e| io_error("replace", &last, e))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// Progress bars on stderr, TensorBoard scalars and checkpoints.
struct RunObserver {
    board: Board,
    bar: Option<ProgressBar>,
    checkpoints: PathBuf,
    monitor: String,
    /// When this invocation started training, for the elapsed time on every epoch line.
    started: std::time::Instant,
    /// Wall time of each epoch's steps in this invocation (validation excluded).
    epoch_seconds: Vec<f64>,
}

impl Observer for RunObserver {
    fn on_epoch_start(&mut self, epoch: usize, batches: usize) {
        self.bar = Some(crate::progress::epoch_bar("epoch", epoch, batches));
    }

    fn on_step(&mut self, log: &StepLog) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(format!(
                "loss {:.4}, {:.0} targets/s",
                log.loss, log.targets_per_second
            ));
        }
        self.board.scalar("train/loss", log.loss, log.step);
        self.board.scalar("train/lr", log.lr, log.step);
        self.board
            .scalar("train/grad_norm", log.grad_norm, log.step);
        self.board
            .scalar("train/targets_per_second", log.targets_per_second, log.step);
    }

    fn on_epoch(&mut self, log: &EpochLog, state: &EpochState<'_>) -> Result<(), TrainError> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let metric = |name: &str| log.valid.metric(name).unwrap_or(f64::NAN);
        eprintln!(
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
        );
        self.board
            .scalar("train/epoch_loss", log.mean_loss, log.epoch);
        self.board
            .scalar("train/epoch_seconds", log.seconds, log.epoch);
        self.board
            .scalar("train/epoch_train_seconds", log.train_seconds, log.epoch);
        self.epoch_seconds.push(log.train_seconds);
        self.board.report("valid", &log.valid, log.epoch);
        self.board.flush();
        if log.improved {
            save_checkpoint(state.model, &self.checkpoints.join("sft.bpk"))?;
        }
        save_last(&self.checkpoints, state)
    }
}

fn default_run_dir(experiment: &Experiment) -> PathBuf {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = experiment.name.as_deref().unwrap_or("run");
    PathBuf::from("runs").join(format!("{name}-{}-{seconds}", experiment.model.mode_name()))
}

/// Where `latentr3 train` starts from.
pub enum Start {
    /// A new run from an experiment file.
    New {
        config: PathBuf,
        overrides: Vec<String>,
        out: Option<PathBuf>,
        /// Start from this run's finished SFT stage (same data and model settings): only the
        /// RL stage runs.
        init: Option<PathBuf>,
    },
    /// Continue the run in this directory from its last finished epoch.
    Resume(PathBuf),
}

pub fn train(start: Start, device_name: &str, stop_after: Option<usize>, json: bool) -> Result<()> {
    let device = device(device_name)?;
    let mut init_from = None;
    let (experiment, run, resuming) = match start {
        Start::New {
            config,
            overrides,
            out,
            init,
        } => {
            init_from = init;
            let experiment = Experiment::load(&config, &overrides)?;
            experiment
                .model
                .validate()
                .map_err(|e| anyhow::anyhow!("{}: [model] {e}", config.display()))?;
            // Checked before SFT, not after it.
            experiment
                .rl
                .validate()
                .map_err(|e| anyhow::anyhow!("{}: [rl] {e}", config.display()))?;
            if let Some(source) = &init_from {
                check_init_source(source, &experiment)?;
            }
            let run = out.unwrap_or_else(|| default_run_dir(&experiment));
            if run.join("config.toml").exists() {
                bail!(
                    "{} already holds a run; continue it with --resume {0}, or choose another --out",
                    run.display()
                );
            }
            (experiment, run, false)
        }
        Start::Resume(run) => {
            let config = run.join("config.toml");
            if !config.exists() {
                bail!("{} is not a run directory (no config.toml)", run.display());
            }
            // report.json is written only when a run completes.
            if run.join("report.json").exists() {
                bail!(
                    "{} already finished (it has report.json); nothing to resume",
                    run.display()
                );
            }
            (Experiment::load(&config, &[])?, run, true)
        }
    };
    let prepared = prepare(&experiment)?;
    let checkpoints = run.join("checkpoints");
    std::fs::create_dir_all(&checkpoints)
        .with_context(|| format!("cannot create {}", checkpoints.display()))?;
    if !resuming {
        write_atomic(&run.join("config.toml"), experiment.to_toml()?.as_bytes())?;
    }
    eprintln!("run directory {}", run.display());

    let mut board = Board::new(&run)
        .with_context(|| format!("cannot write TensorBoard files in {}", run.display()))?;
    board.hyperparameters(&toml::Table::try_from(&experiment)?);
    device.seed(experiment.sft.seed);
    let num_items = prepared.dataset.num_items();
    let finished_sft = checkpoints.join(SFT_DONE);
    if let Some(source) = &init_from {
        copy_sft_stage(source, &checkpoints)?;
    }
    let sft = if (resuming || init_from.is_some()) && finished_sft.exists() {
        eprintln!("SFT already finished; continuing with the RL stage");
        let bytes = std::fs::read(&finished_sft)
            .with_context(|| format!("cannot read {}", finished_sft.display()))?;
        let stage: SftStage = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not an SFT summary", finished_sft.display()))?;
        let model = load_model(
            &checkpoints.join("sft.bpk"),
            &experiment,
            num_items,
            &device,
        )?;
        (model, stage)
    } else {
        match train_sft(
            &experiment,
            &prepared,
            &run,
            board,
            &device,
            resuming,
            stop_after,
        )? {
            Some((model, stage, returned_board)) => {
                board = returned_board;
                write_atomic(&finished_sft, &serde_json::to_vec_pretty(&stage)?)?;
                (model, stage)
            }
            None => return Ok(()),
        }
    };
    let (sft_model, sft_stage) = sft;
    let rl = crate::rl::run_stage(
        &sft_model,
        &device,
        &prepared,
        &experiment,
        &mut board,
        &checkpoints,
        sft_stage.steps,
    )?;
    let report = match rl {
        None => RunReport {
            sft: sft_stage.test,
            rl: None,
            rl_vs_sft: Vec::new(),
            rl_stage: None,
        },
        Some(outcome) => {
            let rl_test = evaluate_with_ranks(&outcome.best, &prepared, &experiment, "test")?;
            board.report(
                "rl_test",
                &rl_test.report,
                sft_stage.steps + outcome.best_step,
            );
            board.flush();
            RunReport {
                rl_vs_sft: crate::rl::compare_on_test(&sft_model, &rl_test.ranks, &prepared)?,
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
    write_atomic(
        &run.join("report.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.sft);
        crate::rl::print_comparison(&report);
    }
    Ok(())
}

/// Checks that run `source` has a finished SFT stage of the same data and model settings (for
/// `train --init`), before anything is written.
fn check_init_source(source: &Path, experiment: &Experiment) -> Result<()> {
    let config = source.join("config.toml");
    if !config.exists() {
        bail!(
            "--init {}: not a run directory (no config.toml)",
            source.display()
        );
    }
    let theirs = Experiment::load(&config, &[])?;
    let differences = experiment.protocol_differences(&theirs);
    if !differences.is_empty() {
        bail!(
            "--init {}: its SFT stage was selected and tested under another protocol than this experiment's (this vs its):\n  {}",
            source.display(),
            differences.join("\n  ")
        );
    }
    if theirs.model != experiment.model {
        bail!(
            "--init {}: its [model] settings differ from this experiment's; the RL stage must start from an SFT model of the same architecture",
            source.display()
        );
    }
    for file in ["sft.bpk", SFT_DONE] {
        let path = source.join("checkpoints").join(file);
        if !path.exists() {
            bail!(
                "--init {}: {} is missing (its SFT stage did not finish)",
                source.display(),
                path.display()
            );
        }
    }
    Ok(())
}

/// Copies the finished SFT stage of run `source` into `checkpoints`.
fn copy_sft_stage(source: &Path, checkpoints: &Path) -> Result<()> {
    for file in ["sft.bpk", SFT_DONE] {
        let from = source.join("checkpoints").join(file);
        let bytes =
            std::fs::read(&from).with_context(|| format!("cannot read {}", from.display()))?;
        write_atomic(&checkpoints.join(file), &bytes)?;
    }
    Ok(())
}

/// Marks a finished SFT stage in `checkpoints/` and holds its test report.
const SFT_DONE: &str = "sft-done.json";

/// What the SFT stage hands to the RL stage and the report.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct SftStage {
    /// The best SFT checkpoint on the test split.
    test: Report,
    /// Optimisation steps taken.
    steps: usize,
    /// Wall time of each epoch's steps in the invocation that finished the stage.
    epoch_seconds: Vec<f64>,
}

/// The SFT stage; `None` when it stopped resumably (`--stop-after`).
fn train_sft(
    experiment: &Experiment,
    prepared: &Prepared,
    run: &Path,
    board: Board,
    device: &Device,
    resuming: bool,
    stop_after: Option<usize>,
) -> Result<Option<(Recommender, SftStage, Board)>> {
    let checkpoints = run.join("checkpoints");
    let num_items = prepared.dataset.num_items();
    let model = Recommender::new(&experiment.model, num_items, device);
    let resume = if resuming {
        Some(load_resume(&checkpoints, experiment, num_items, device)?)
    } else {
        None
    };
    if let Some(resume) = &resume {
        eprintln!(
            "resuming at epoch {} (step {}, best epoch {})",
            resume.progress.next_epoch, resume.progress.step, resume.progress.best_epoch
        );
    }
    let windows = latentr3_model::sft::windows(
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
    eprintln!(
        "{} model, {} parameters, {about}{windows} training windows",
        experiment.model.mode_name(),
        model.num_params(),
    );
    let valid_cases = cases(&prepared.dataset, &prepared.split, true);
    let data = SftData {
        dataset: &prepared.dataset,
        split: &prepared.split,
        evaluator: &prepared.evaluator,
        valid_cases: &valid_cases,
    };
    let mut observer = RunObserver {
        board,
        bar: None,
        checkpoints,
        monitor: experiment.sft.monitor.clone(),
        started: std::time::Instant::now(),
        epoch_seconds: Vec::new(),
    };
    let started = observer.started;
    let options = RunOptions {
        resume,
        stop_after_epochs: stop_after,
    };
    let outcome = sft::train(
        model,
        device,
        &data,
        &experiment.sft,
        &mut observer,
        options,
    )
    .with_context(|| {
        format!(
            "training stopped; checkpoints so far are in {}",
            run.join("checkpoints").display()
        )
    })?;
    if outcome.interrupted {
        eprintln!(
            "stopped after epoch {} as asked; continue with: latentr3 train --resume {}",
            outcome.epochs_run - 1,
            run.display()
        );
        return Ok(None);
    }
    eprintln!(
        "best epoch {} of {} ({}), {:.1}s",
        outcome.best_epoch,
        outcome.epochs_run,
        if outcome.stopped_early {
            "early stop"
        } else {
            "epoch limit"
        },
        started.elapsed().as_secs_f64()
    );
    let report = evaluate(&outcome.best, prepared, experiment, "test")?;
    observer.board.report("test", &report, outcome.best_epoch);
    observer.board.flush();
    let stage = SftStage {
        test: report,
        steps: outcome.steps,
        epoch_seconds: observer.epoch_seconds,
    };
    Ok(Some((outcome.best, stage, observer.board)))
}

fn load_model(
    path: &Path,
    experiment: &Experiment,
    num_items: usize,
    device: &Device,
) -> Result<Recommender> {
    Recommender::new(&experiment.model, num_items, device)
        .try_load_file(path)
        .map_err(|e| anyhow::anyhow!("cannot load {}: {e:?}", path.display()))
}

/// The state `--resume` continues from.
fn load_resume(
    checkpoints: &Path,
    experiment: &Experiment,
    num_items: usize,
    device: &Device,
) -> Result<Resume> {
    let last = checkpoints.join("last");
    let progress_path = last.join("progress.json");
    let bytes = std::fs::read(&progress_path).with_context(|| {
        format!(
            "no resumable state: cannot read {}",
            progress_path.display()
        )
    })?;
    let progress: Progress = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a progress file", progress_path.display()))?;
    let load = |path: PathBuf| {
        Recommender::new(&experiment.model, num_items, device)
            .try_load_file(&path)
            .map_err(|e| anyhow::anyhow!("cannot load {}: {e:?}", path.display()))
    };
    let optimizer_path = last.join("optimizer.bpk");
    let optimizer = sft::optimizer(&experiment.sft)
        .load(&optimizer_path)
        .map_err(|e| anyhow::anyhow!("cannot load {}: {e:?}", optimizer_path.display()))?;
    Ok(Resume {
        model: load(last.join("model.bpk"))?,
        optimizer,
        best: load(checkpoints.join("sft.bpk"))?,
        progress,
    })
}

/// The report of `model` on a split, its protocol naming the split, dataset and mode.
fn evaluate(
    model: &Recommender,
    prepared: &Prepared,
    experiment: &Experiment,
    split: &str,
) -> Result<Report> {
    Ok(evaluate_with_ranks(model, prepared, experiment, split)?.report)
}

/// [`evaluate`], keeping every case's rank for paired comparisons.
fn evaluate_with_ranks(
    model: &Recommender,
    prepared: &Prepared,
    experiment: &Experiment,
    split: &str,
) -> Result<latentr3_eval::Evaluation> {
    let split_cases = cases(&prepared.dataset, &prepared.split, split == "valid");
    evaluate_cases(model, prepared, experiment, &split_cases, split)
}

/// [`evaluate_with_ranks`] on cases the caller already built (and keeps for pairing).
fn evaluate_cases(
    model: &Recommender,
    prepared: &Prepared,
    experiment: &Experiment,
    split_cases: &[latentr3_eval::Case<'_>],
    split: &str,
) -> Result<latentr3_eval::Evaluation> {
    let mut evaluation =
        prepared
            .evaluator
            .evaluate(&ModelScorer::new(model), split_cases, split)?;
    evaluation.report.protocol.split = format!(
        "{split} ({:?} split of {}, {} model)",
        experiment.data.split.kind,
        prepared.dataset.name,
        experiment.model.mode_name()
    );
    Ok(evaluation)
}

fn print_report(report: &Report, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

/// Which checkpoint of a run to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    /// The best SFT epoch (`checkpoints/sft.bpk`).
    Sft,
    /// The best RL step (`checkpoints/rl.bpk`).
    Rl,
}

/// The checkpoint `stage` picks in `run`: as asked, else RL when the run has one, else SFT.
fn checkpoint_stage(run: &Path, stage: Option<Stage>) -> Stage {
    stage.unwrap_or(if run.join("checkpoints/rl.bpk").exists() {
        Stage::Rl
    } else {
        Stage::Sft
    })
}

/// A trained run: its experiment, data and the chosen checkpoint (by default the RL one when
/// the run has it, else SFT).
fn load_run(
    run: &Path,
    overrides: &[String],
    stage: Option<Stage>,
    device: &Device,
) -> Result<(Experiment, Prepared, Recommender)> {
    if let Some(bad) = overrides.iter().find(|o| !o.starts_with("eval.")) {
        bail!("--set {bad}: a saved run can only change evaluation settings (eval.*)");
    }
    let config = run.join("config.toml");
    if !config.exists() {
        bail!(
            "{} is not a run directory (no config.toml); runs are written by `latentr3 train`",
            run.display()
        );
    }
    let rl = run.join("checkpoints/rl.bpk");
    let checkpoint = match checkpoint_stage(run, stage) {
        Stage::Sft => run.join("checkpoints/sft.bpk"),
        Stage::Rl if !rl.exists() => bail!(
            "{} has no RL checkpoint ({} is missing); use --stage sft",
            run.display(),
            rl.display()
        ),
        Stage::Rl => rl,
    };
    let experiment = Experiment::load(&config, overrides)?;
    let prepared = prepare(&experiment)?;
    let model = load_model(
        &checkpoint,
        &experiment,
        prepared.dataset.num_items(),
        device,
    )?;
    Ok((experiment, prepared, model))
}

/// Paired bootstrap of B − A for HR and NDCG at every K of the evaluator.
pub(crate) fn paired_comparisons(
    evaluator: &latentr3_eval::Evaluator,
    a: &[u32],
    b: &[u32],
) -> Result<Vec<latentr3_eval::PairedComparison>> {
    let mut comparisons = Vec::new();
    for k in &evaluator.config().ks {
        for family in ["HR", "NDCG"] {
            comparisons.push(latentr3_eval::compare_ranks(
                &format!("{family}@{k}"),
                a,
                b,
                BOOTSTRAP_RESAMPLES,
                BOOTSTRAP_SEED,
            )?);
        }
    }
    Ok(comparisons)
}

/// Resamples of the paired bootstrap in `eval --compare`.
const BOOTSTRAP_RESAMPLES: usize = 2000;
/// Its seed, printed with every interval.
const BOOTSTRAP_SEED: u64 = 2026;

/// Where `eval --run` reads from.
pub struct EvalRun<'a> {
    pub run: &'a Path,
    pub overrides: &'a [String],
    /// A second run (or the same run at another `stage`) for a paired comparison.
    pub compare: Option<&'a Path>,
    /// Another system's per-user ranks (see [`ExternalRanks`]) for a paired comparison.
    pub compare_ranks: Option<&'a Path>,
    /// Where to write every case's rank (the [`ExternalRanks`] format).
    pub write_ranks: Option<&'a Path>,
    pub stage: Option<Stage>,
    pub compare_stage: Option<Stage>,
    pub valid: bool,
    pub json: bool,
}

pub fn eval_run(what: EvalRun<'_>) -> Result<()> {
    let EvalRun {
        run,
        overrides,
        compare,
        compare_ranks,
        write_ranks,
        stage,
        compare_stage,
        valid,
        json,
    } = what;
    let device = device("cpu")?;
    let split = if valid { "valid" } else { "test" };
    let (experiment, prepared, model) = load_run(run, overrides, stage, &device)?;
    let cases = cases(&prepared.dataset, &prepared.split, valid);
    if let Some(path) = compare_ranks {
        let external = ExternalRanks::load(path)?;
        let ours = RanksProtocol::of(&experiment, &prepared.dataset);
        if external.protocol != ours {
            bail!(
                "{}: its ranks were computed under another protocol than this run's: {:?} (theirs) vs {:?} (ours); a paired comparison needs the same split, masking and candidate set (--set eval.mask_history=... changes ours)",
                path.display(),
                external.protocol,
                ours
            );
        }
        let ours = evaluate_cases(&model, &prepared, &experiment, &cases, split)?;
        let paired = external.pair(&prepared.dataset, &cases, &ours.ranks, path)?;
        let comparisons = paired_comparisons(&prepared.evaluator, &paired.a, &paired.b)?;
        let b = format!("{} ({})", external.system, path.display());
        let note = format!(
            "{} of {} cases paired; left out: {} users missing from the file, {} whose target differs",
            paired.a.len(),
            cases.len(),
            paired.missing,
            paired.other_target
        );
        return print_comparisons(
            &run.display().to_string(),
            &b,
            &ours.report,
            &note,
            &comparisons,
            json,
        );
    }
    let Some(other) = compare else {
        let evaluation = evaluate_cases(&model, &prepared, &experiment, &cases, split)?;
        if let Some(path) = write_ranks {
            let system = format!(
                "latentr3 {} ({} checkpoint)",
                run.display(),
                match checkpoint_stage(run, stage) {
                    Stage::Sft => "sft",
                    Stage::Rl => "rl",
                }
            );
            let protocol = RanksProtocol::of(&experiment, &prepared.dataset);
            let ranks = ExternalRanks::of(
                system,
                protocol,
                &prepared.dataset,
                &cases,
                &evaluation.ranks,
            );
            write_atomic(path, serde_json::to_string(&ranks)?.as_bytes())?;
        }
        return print_report(&evaluation.report, json);
    };
    let (other_experiment, _, other_model) = load_run(other, overrides, compare_stage, &device)?;
    let differences = experiment.protocol_differences(&other_experiment);
    if !differences.is_empty() {
        bail!(
            "{} and {} were not evaluated under the same protocol, so a paired comparison would mix them:\n  {}\n(A vs B; --set eval.mask_history=... applies to both runs)",
            run.display(),
            other.display(),
            differences.join("\n  ")
        );
    }
    let a = evaluate_cases(&model, &prepared, &experiment, &cases, split)?;
    let b = prepared
        .evaluator
        .evaluate(&ModelScorer::new(&other_model), &cases, split)?;
    let comparisons = paired_comparisons(&prepared.evaluator, &a.ranks, &b.ranks)?;
    let note = format!("{} cases", cases.len());
    print_comparisons(
        &run.display().to_string(),
        &other.display().to_string(),
        &a.report,
        &note,
        &comparisons,
        json,
    )
}

/// Prints a paired comparison of B − A as a table or one JSON object.
fn print_comparisons(
    a: &str,
    b: &str,
    report: &Report,
    note: &str,
    comparisons: &[latentr3_eval::PairedComparison],
    json: bool,
) -> Result<()> {
    if json {
        let out = serde_json::json!({
            "a": a,
            "b": b,
            "protocol": report.protocol,
            "cases": note,
            "comparisons": comparisons,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("A = {a}\nB = {b}");
    println!("{}", report.protocol_line());
    println!("paired bootstrap: {note}; {BOOTSTRAP_RESAMPLES} resamples, seed {BOOTSTRAP_SEED}");
    println!(
        "{:<10}{:>10}{:>10}{:>10}   95% interval of B - A",
        "metric", "A", "B", "B - A"
    );
    for c in comparisons {
        println!(
            "{:<10}{:>10.4}{:>10.4}{:>+10.4}   [{:+.4}, {:+.4}]  {}",
            c.metric,
            c.mean_a,
            c.mean_b,
            c.difference,
            c.low,
            c.high,
            c.verdict()
        );
    }
    Ok(())
}

/// Another system's rank of each user's target on the same protocol, for `eval
/// --compare-ranks`: `{"system": "...", "protocol": {"split": "leave-one-out", "mask_history":
/// false, "items": 1682}, "ranks": [{"user": "196", "target": "242", "rank": 12}, ...]}` with
/// original user and item ids and 1-based full-ranking ranks.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalRanks {
    pub system: String,
    /// How the ranks were computed; a file whose protocol differs from the run's is refused.
    pub protocol: RanksProtocol,
    pub ranks: Vec<ExternalRank>,
}

/// The protocol of a ranks file: split kind, whether seen items were masked, and how many
/// items were ranked (full ranking over the whole catalogue).
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RanksProtocol {
    pub split: latentr3_data::SplitKind,
    pub mask_history: bool,
    pub items: usize,
}

impl RanksProtocol {
    fn of(experiment: &Experiment, dataset: &latentr3_data::Dataset) -> RanksProtocol {
        RanksProtocol {
            split: experiment.data.split.kind,
            mask_history: experiment.eval.mask_history,
            items: dataset.num_items(),
        }
    }
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalRank {
    pub user: String,
    pub target: String,
    pub rank: u32,
}

/// Ranks of the cases both sides evaluated on the same target.
struct PairedRanks {
    a: Vec<u32>,
    b: Vec<u32>,
    missing: usize,
    other_target: usize,
}

impl ExternalRanks {
    /// The ranks of `cases` (one per case) under original user and item ids.
    fn of(
        system: String,
        protocol: RanksProtocol,
        dataset: &latentr3_data::Dataset,
        cases: &[latentr3_eval::Case<'_>],
        ranks: &[u32],
    ) -> ExternalRanks {
        ExternalRanks {
            system,
            protocol,
            ranks: cases
                .iter()
                .zip(ranks)
                .map(|(case, &rank)| ExternalRank {
                    user: dataset.user_ids[case.user as usize].clone(),
                    target: dataset.item_ids[case.target as usize].clone(),
                    rank,
                })
                .collect(),
        }
    }

    fn load(path: &Path) -> Result<ExternalRanks> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --compare-ranks file {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: expected {{\"system\": \"...\", \"protocol\": {{\"split\": \"leave-one-out\", \"mask_history\": false, \"items\": 1682}}, \"ranks\": [{{\"user\": \"...\", \"target\": \"...\", \"rank\": 1}}, ...]}}",
                path.display()
            )
        })
    }

    /// Pairs `ours` (one rank per case) with this file's ranks by original user id, keeping the
    /// cases whose target is the same on both sides.
    fn pair(
        &self,
        dataset: &latentr3_data::Dataset,
        cases: &[latentr3_eval::Case<'_>],
        ours: &[u32],
        path: &Path,
    ) -> Result<PairedRanks> {
        let mut by_user = std::collections::HashMap::new();
        for (index, entry) in self.ranks.iter().enumerate() {
            if entry.rank == 0 || entry.rank as usize > dataset.num_items() {
                bail!(
                    "{}: ranks[{index}] (user {}) has rank {}; ranks run from 1 to {} items",
                    path.display(),
                    entry.user,
                    entry.rank,
                    dataset.num_items()
                );
            }
            if by_user.insert(entry.user.as_str(), entry).is_some() {
                bail!("{}: user {} appears twice", path.display(), entry.user);
            }
        }
        let mut paired = PairedRanks {
            a: Vec::new(),
            b: Vec::new(),
            missing: 0,
            other_target: 0,
        };
        for (case, &rank) in cases.iter().zip(ours) {
            match by_user.get(dataset.user_ids[case.user as usize].as_str()) {
                None => paired.missing += 1,
                Some(entry) if entry.target != dataset.item_ids[case.target as usize] => {
                    paired.other_target += 1
                }
                Some(entry) => {
                    paired.a.push(rank);
                    paired.b.push(entry.rank);
                }
            }
        }
        if paired.a.is_empty() {
            bail!(
                "{}: no user of {} has the same target on both sides; was it written for this dataset and split?",
                path.display(),
                dataset.name
            );
        }
        Ok(paired)
    }
}

pub fn recommend(run: &Path, stage: Option<Stage>, history: &str, k: usize) -> Result<()> {
    let device = device("cpu")?;
    let (experiment, prepared, model) = load_run(run, &[], stage, &device)?;
    let dataset = &prepared.dataset;
    let mut items = Vec::new();
    for original in history.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match dataset.item_by_original_id(original) {
            Some(item) => items.push(item),
            None => bail!(
                "--history: item `{original}` is not in {} (after filtering)",
                dataset.name
            ),
        }
    }
    if items.is_empty() {
        bail!("--history is empty; give original item ids such as --history 12,7,33");
    }
    if k == 0 || k > dataset.num_items() {
        bail!("-k must be between 1 and {}", dataset.num_items());
    }
    let histories: Vec<&[u32]> = vec![&items];
    let inputs =
        latentr3_model::Inputs::from_histories(&histories, model.backbone.max_len(), &device);
    let scores: Vec<f32> = model
        .valid()
        .scores(&inputs)
        .into_data()
        .try_into_vec_as::<f32>()?;
    // The evaluator's rule: the whole given history is what the user has seen (masked as the
    // run's evaluation masks it, even beyond the model's input window); ties by item id.
    let mask = experiment.eval.mask_history;
    let mut ranked = scores.clone();
    let mut top = Vec::with_capacity(k);
    latentr3_eval::ranking::top_row(&mut ranked, if mask { &items } else { &[] }, k, &mut top);
    println!(
        "history items {}",
        if mask {
            "masked (eval.mask_history)"
        } else {
            "not masked (eval.mask_history = false)"
        }
    );
    println!("{:>4}  {:>10}  {:>9}  title", "rank", "item", "score");
    for (rank, &item) in top.iter().enumerate() {
        println!(
            "{:>4}  {:>10}  {:>9.4}  {}",
            rank + 1,
            dataset.item_ids[item as usize],
            scores[item as usize],
            dataset.title(item).unwrap_or("-")
        );
    }
    Ok(())
}
