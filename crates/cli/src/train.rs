//! `latentr3 train`, `latentr3 eval --run` and `latentr3 recommend`: run directories around the
//! model crate's trainer.
//!
//! A run directory holds `config.toml` (the resolved experiment), `checkpoints/` (`sft.bpk`, the
//! best validation epoch, and `sft-last.bpk`), `report.json` (test metrics, the eval crate's
//! `Report`) and TensorBoard event files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use latentr3_data::{Dataset, Popularity, Split};
use latentr3_eval::{Evaluator, Report};
use latentr3_model::sft::{self, EpochLog, Observer, SftData, StepLog};
use latentr3_model::{ModelScorer, Recommender, TrainError};

use crate::commands::{cases, item_stats, load_dataset};
use crate::experiment::{Experiment, ModeName};
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
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(bytes)?;
    temp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Saves a model checkpoint to `path` (`.bpk`) through a temporary name.
fn save_checkpoint(model: &Recommender, path: &Path) -> Result<(), TrainError> {
    let temp = path.with_extension("tmp.bpk");
    model
        .clone()
        .save_file(&temp)
        .map_err(|e| TrainError::Io(format!("cannot write {}: {e:?}", temp.display())))?;
    std::fs::rename(&temp, path)
        .map_err(|e| TrainError::Io(format!("cannot write {}: {e}", path.display())))
}

/// Progress bars on stderr, TensorBoard scalars and checkpoints.
struct RunObserver {
    board: Board,
    bar: Option<ProgressBar>,
    checkpoints: PathBuf,
    monitor: String,
}

impl Observer for RunObserver {
    fn on_epoch_start(&mut self, epoch: usize, batches: usize) {
        let bar = ProgressBar::new(batches as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "epoch {prefix:>3} [{bar:30}] {pos}/{len} {msg} [{elapsed}]",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(epoch.to_string());
        self.bar = Some(bar);
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

    fn on_epoch(&mut self, log: &EpochLog, model: &Recommender) -> Result<(), TrainError> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let metric = |name: &str| log.valid.metric(name).unwrap_or(f64::NAN);
        eprintln!(
            "epoch {:>3}: loss {:.4}, valid {} {:.4}, HR@10 {:.4}, ItemCoverage@10 {:.3}, {:.1}s{}",
            log.epoch,
            log.mean_loss,
            self.monitor,
            metric(&self.monitor),
            metric("HR@10"),
            metric("ItemCoverage@10"),
            log.seconds,
            if log.improved { " (best)" } else { "" }
        );
        self.board
            .scalar("train/epoch_loss", log.mean_loss, log.epoch);
        self.board
            .scalar("train/epoch_seconds", log.seconds, log.epoch);
        self.board.report("valid", &log.valid, log.epoch);
        self.board.flush();
        save_checkpoint(model, &self.checkpoints.join("sft-last.bpk"))?;
        if log.improved {
            save_checkpoint(model, &self.checkpoints.join("sft.bpk"))?;
        }
        Ok(())
    }
}

/// Everything a run needs from its experiment's data.
struct Prepared {
    dataset: Dataset,
    split: Split,
    evaluator: Evaluator,
}

fn prepare(experiment: &Experiment) -> Result<Prepared> {
    let dataset = load_dataset(&experiment.data)?.dataset;
    let split = Split::new(&dataset, &experiment.data.split)?;
    let popularity = Popularity::from_split(&dataset, &split);
    let evaluator = Evaluator::new(experiment.eval.clone(), item_stats(&popularity))
        .context("invalid [eval] settings")?;
    Ok(Prepared {
        dataset,
        split,
        evaluator,
    })
}

fn default_run_dir(experiment: &Experiment) -> PathBuf {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = experiment.name.as_deref().unwrap_or("run");
    PathBuf::from("runs").join(format!("{name}-{}-{seconds}", experiment.model.mode_name()))
}

pub fn train(
    config: &Path,
    overrides: &[String],
    out: Option<PathBuf>,
    device_name: &str,
    json: bool,
) -> Result<()> {
    let experiment = Experiment::load(config, overrides)?;
    experiment
        .model
        .validate()
        .map_err(|e| anyhow::anyhow!("{}: [model] {e}", config.display()))?;
    let run = out.unwrap_or_else(|| default_run_dir(&experiment));
    if run.join("config.toml").exists() {
        bail!(
            "{} already holds a run; choose another --out (or delete it)",
            run.display()
        );
    }
    let device = device(device_name)?;
    let prepared = prepare(&experiment)?;
    let checkpoints = run.join("checkpoints");
    std::fs::create_dir_all(&checkpoints)
        .with_context(|| format!("cannot create {}", checkpoints.display()))?;
    write_atomic(&run.join("config.toml"), experiment.to_toml()?.as_bytes())?;
    eprintln!("run directory {}", run.display());

    let mut board = Board::new(&run)
        .with_context(|| format!("cannot write TensorBoard files in {}", run.display()))?;
    board.hyperparameters(&toml::Table::try_from(&experiment)?);
    device.seed(experiment.sft.seed);
    let model = Recommender::new(&experiment.model, prepared.dataset.num_items(), &device);
    eprintln!(
        "{} model, {} parameters, {} training windows",
        experiment.model.mode_name(),
        model.num_params(),
        latentr3_data::TrainBatcher::new(
            &prepared.dataset,
            &prepared.split,
            experiment.model.max_len,
            experiment.sft.batch_size
        )
        .num_rows()
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
    };
    let started = std::time::Instant::now();
    let outcome =
        sft::train(model, &device, &data, &experiment.sft, &mut observer).with_context(|| {
            format!(
                "training stopped; checkpoints so far are in {}",
                run.join("checkpoints").display()
            )
        })?;
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
    let report = evaluate(&outcome.best, &prepared, &experiment, "test")?;
    observer.board.report("test", &report, outcome.best_epoch);
    observer.board.flush();
    write_atomic(
        &run.join("report.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    print_report(&report, json)?;
    Ok(())
}

fn evaluate(
    model: &Recommender,
    prepared: &Prepared,
    experiment: &Experiment,
    split: &str,
) -> Result<Report> {
    let test_cases = cases(&prepared.dataset, &prepared.split, split == "valid");
    let mut report = prepared
        .evaluator
        .evaluate(&ModelScorer::new(model), &test_cases, split)?
        .report;
    report.protocol.split = format!(
        "{split} ({:?} split of {}, {} model)",
        experiment.data.split.kind,
        prepared.dataset.name,
        experiment.model.mode_name()
    );
    Ok(report)
}

fn print_report(report: &Report, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

/// A trained run: its experiment, data and best SFT model.
fn load_run(run: &Path, device: &Device) -> Result<(Experiment, Prepared, Recommender)> {
    let config = run.join("config.toml");
    if !config.exists() {
        bail!(
            "{} is not a run directory (no config.toml); runs are written by `latentr3 train`",
            run.display()
        );
    }
    let experiment = Experiment::load(&config, &[])?;
    let prepared = prepare(&experiment)?;
    let checkpoint = run.join("checkpoints/sft.bpk");
    let model = Recommender::new(&experiment.model, prepared.dataset.num_items(), device)
        .try_load_file(&checkpoint)
        .map_err(|e| anyhow::anyhow!("cannot load {}: {e:?}", checkpoint.display()))?;
    Ok((experiment, prepared, model))
}

pub fn eval_run(run: &Path, valid: bool, json: bool) -> Result<()> {
    let device = device("cpu")?;
    let (experiment, prepared, model) = load_run(run, &device)?;
    let report = evaluate(
        &model,
        &prepared,
        &experiment,
        if valid { "valid" } else { "test" },
    )?;
    print_report(&report, json)
}

pub fn recommend(run: &Path, history: &str, k: usize) -> Result<()> {
    let device = device("cpu")?;
    let (_, prepared, model) = load_run(run, &device)?;
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
    let mut ranked: Vec<u32> = (1..=dataset.num_items() as u32)
        .filter(|i| !items.contains(i))
        .collect();
    ranked.sort_by(|a, b| {
        scores[*b as usize]
            .total_cmp(&scores[*a as usize])
            .then(a.cmp(b))
    });
    println!("{:>4}  {:>10}  {:>9}  title", "rank", "item", "score");
    for (rank, &item) in ranked.iter().take(k).enumerate() {
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
