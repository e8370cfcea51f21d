//! `latentr3 train`, `latentr3 eval --run` and `latentr3 recommend`: argument handling and
//! printing around the library's pipeline and saved runs.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use burn::prelude::*;
use latentr3::compare::{BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED};
use latentr3::{Comparison, Experiment, Options, RunReport, SavedModel, SavedRun, Stage};

use crate::progress::Bars;

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

/// Where `latentr3 train` starts from.
pub enum Start {
    /// A new run from an experiment file.
    New {
        config: PathBuf,
        overrides: Vec<String>,
        out: Option<PathBuf>,
        /// Start from this run's finished SFT stage: only the RL stage runs.
        init: Option<PathBuf>,
    },
    /// Continue the run in this directory.
    Resume(PathBuf),
}

pub fn train(start: Start, device_name: &str, stop_after: Option<usize>, json: bool) -> Result<()> {
    let device = device(device_name)?;
    let start = match start {
        Start::Resume(run) => latentr3::Start::Resume(run),
        Start::New {
            config,
            overrides,
            out,
            init,
        } => {
            let experiment = Experiment::load(&config, &overrides)?;
            experiment
                .validate()
                .map_err(|e| anyhow::anyhow!("{}: {e}", config.display()))?;
            latentr3::Start::New {
                experiment,
                out,
                init,
            }
        }
    };
    let options = Options {
        stop_after_epochs: stop_after,
    };
    let trained = latentr3::train(start, &device, &options, &mut Bars::default())?;
    let Some(report) = trained.report else {
        return Ok(());
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.sft);
        print_rl_comparison(&report);
    }
    Ok(())
}

/// The SFT-versus-RL table printed at the end of `latentr3 train`.
fn print_rl_comparison(report: &RunReport) {
    let Some(rl) = &report.rl else {
        return;
    };
    println!("\nSFT vs RL checkpoint, {}", rl.protocol_line());
    println!(
        "{:<16}{:>10}{:>10}{:>10}",
        "metric", "SFT", "RL", "RL - SFT"
    );
    for (name, value) in &rl.metrics {
        let base = report.sft.metric(name).unwrap_or(f64::NAN);
        println!("{name:<16}{base:>10.4}{value:>10.4}{:>+10.4}", value - base);
    }
    println!("paired bootstrap, 95% interval of RL - SFT:");
    for c in &report.rl_vs_sft {
        println!(
            "{:<16}[{:+.4}, {:+.4}]  {}",
            c.metric,
            c.low,
            c.high,
            c.verdict_between("SFT", "RL")
        );
    }
}

/// Where `eval --run` reads from.
pub struct EvalRun<'a> {
    pub run: &'a Path,
    pub overrides: &'a [String],
    /// A second run (or the same run at another `stage`) for a paired comparison.
    pub compare: Option<&'a Path>,
    /// Another system's per-user ranks for a paired comparison.
    pub compare_ranks: Option<&'a Path>,
    /// Where to write every case's rank.
    pub write_ranks: Option<&'a Path>,
    pub stage: Option<Stage>,
    pub compare_stage: Option<Stage>,
    pub valid: bool,
    pub json: bool,
}

pub fn eval_run(what: EvalRun<'_>) -> Result<()> {
    let device = device("cpu")?;
    let mut bars = Bars::default();
    let run = SavedRun::load(what.run, what.overrides, what.stage, &device, &mut bars)?;
    if let Some(path) = what.compare_ranks {
        return print_comparison(&run.compare_ranks(path, what.valid)?, what.json);
    }
    if let Some(other) = what.compare {
        let other = SavedRun::load(
            other,
            what.overrides,
            what.compare_stage,
            &device,
            &mut bars,
        )?;
        return print_comparison(&run.compare(&other, what.valid)?, what.json);
    }
    let evaluation = match what.write_ranks {
        Some(path) => run.write_ranks(path, what.valid)?,
        None => run.evaluate(what.valid)?,
    };
    if what.json {
        println!("{}", serde_json::to_string_pretty(&evaluation.report)?);
    } else {
        print!("{}", evaluation.report);
    }
    Ok(())
}

/// Prints a paired comparison of B − A as a table or one JSON object.
fn print_comparison(comparison: &Comparison, json: bool) -> Result<()> {
    let Comparison {
        a,
        b,
        report,
        cases,
        comparisons,
    } = comparison;
    if json {
        let out = serde_json::json!({
            "a": a,
            "b": b,
            "protocol": report.protocol,
            "cases": cases,
            "comparisons": comparisons,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("A = {a}\nB = {b}");
    println!("{}", report.protocol_line());
    println!("paired bootstrap: {cases}; {BOOTSTRAP_RESAMPLES} resamples, seed {BOOTSTRAP_SEED}");
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

pub fn recommend(run: &Path, stage: Option<Stage>, history: &str, k: usize) -> Result<()> {
    let device = device("cpu")?;
    // The run directory alone: its model card holds the architecture and the item ids.
    let saved = SavedModel::load(run, stage, &device)?;
    let history: Vec<&str> = history
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let items = saved.recommend(&history, k)?;
    println!(
        "history items {}",
        if saved.card.mask_history {
            "masked (eval.mask_history)"
        } else {
            "not masked (eval.mask_history = false)"
        }
    );
    println!("{:>4}  {:>10}  {:>9}  title", "rank", "item", "score");
    for (rank, item) in items.iter().enumerate() {
        println!(
            "{:>4}  {:>10}  {:>9.4}  {}",
            rank + 1,
            item.id,
            item.score,
            item.title.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}
