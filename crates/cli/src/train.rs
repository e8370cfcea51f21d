//! `latentr3 train`, `latentr3 eval --run` and `latentr3 recommend`: argument handling and
//! printing around the library's pipeline and saved runs.

use std::path::Path;

use anyhow::{Result, bail};
use burn::prelude::*;
use latentr3::{Comparison, Options, SavedModel, SavedRun, Stage};

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

/// `latentr3 train`: the library's pipeline with progress bars; prints the test reports.
pub fn train(
    start: latentr3::Start,
    device_name: &str,
    options: Options,
    json: bool,
) -> Result<()> {
    let device = device(device_name)?;
    let trained = latentr3::train(start, &device, &options, &mut Bars::default())?;
    if let Some(report) = trained.report {
        if json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{report}");
        }
    }
    Ok(())
}

/// `latentr3 sweep`'s arguments.
pub struct SweepArgs {
    pub config: std::path::PathBuf,
    pub grid: Vec<String>,
    pub rows: Vec<String>,
    pub seeds: usize,
    pub pop: bool,
    pub baseline: Option<String>,
    pub metrics: Option<Vec<String>>,
    pub overrides: Vec<String>,
    pub out: std::path::PathBuf,
}

/// `latentr3 sweep`: the library's study with progress bars; prints the table and where the
/// files went.
pub fn sweep(args: SweepArgs, device_name: &str) -> Result<()> {
    use latentr3::sweep::{Sweep, SweepRow};
    let device = device(device_name)?;
    let rows = args
        .rows
        .iter()
        .map(|row| SweepRow::parse(row))
        .collect::<latentr3::Result<Vec<_>>>()?;
    let sweep = Sweep {
        rows: SweepRow::product(&rows, &args.grid)?,
        config: args.config,
        overrides: args.overrides,
        seeds: args.seeds,
        most_popular: args.pop,
        baseline: args.baseline,
        metrics: args.metrics,
        out: args.out,
    };
    let table = latentr3::sweep::run(&sweep, &device, &mut Bars::default())?;
    print!("{table}");
    eprintln!(
        "{} runs trained, {} finished before; written: {out}/sweep.md, sweep.csv, \
         sweep-runs.csv, sweep.json (tensorboard --logdir {out} shows them in its HParams tab)",
        table.trained,
        table.skipped,
        out = sweep.out.display()
    );
    Ok(())
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
    /// Re-rank the run's lists: kind, weight and candidates per case.
    pub rerank: Option<(latentr3::eval::RerankKind, f64, usize)>,
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
    let evaluation = match (what.write_ranks, what.rerank) {
        (Some(path), _) => run.write_ranks(path, what.valid)?,
        (None, Some((kind, lambda, depth))) => {
            let started = std::time::Instant::now();
            let evaluation = run.evaluate_reranked(what.valid, kind, lambda, depth)?;
            eprintln!(
                "re-ranked {} cases in {:.2}s ({:.0} µs a case, scoring included)",
                evaluation.ranks.len(),
                started.elapsed().as_secs_f64(),
                started.elapsed().as_secs_f64() * 1e6 / evaluation.ranks.len().max(1) as f64
            );
            evaluation
        }
        (None, None) => run.evaluate(what.valid)?,
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
    if json {
        let out = serde_json::json!({
            "a": comparison.a,
            "b": comparison.b,
            "protocol": comparison.report.protocol,
            "cases": comparison.cases,
            "comparisons": comparison.comparisons,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{comparison}");
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
