//! Studies: the rows of an experiment (settings: a grid, named rows, or both) × seeds, trained
//! one after another in one directory, then one table of every metric as the mean over seeds
//! with its 95% interval, and each row against a baseline row by a paired bootstrap over the
//! same test cases.
//!
//! Rows that differ only in their `[rl]` settings share one SFT model per seed: the first such
//! row trains it, the others start their RL stage from its SFT checkpoint (`train --init`) and
//! appear in the table as `NAME [rl]` only.
//!
//! A sweep is resumable the way a run is: a finished run (its `report.json` exists) is read,
//! not trained again; an interrupted one is resumed; the rest start. Run `i` of row `r` and
//! seed `s` lives in `<out>/runs/<r>/seed-<s>/`, a run directory like any other (`latentr3 eval
//! --run` reads it). The outputs are `sweep.md`, `sweep.csv` (one line per row and metric),
//! `sweep-runs.csv` (one line per run and metric) and `sweep.json`; the TensorBoard HParams
//! dashboard over `<out>` lists every run with its settings and test metrics.
//!
//! ```no_run
//! use latentr3::sweep::{Sweep, SweepRow};
//! use latentr3::{Silent, burn::prelude::Device};
//!
//! let sweep = Sweep {
//!     config: "experiments/ml-100k.toml".into(),
//!     overrides: vec![],
//!     rows: SweepRow::product(
//!         &[SweepRow::parse("backbone: model.mode=backbone")?, SweepRow::parse("latent: model.mode=latent")?],
//!         &[],
//!     )?,
//!     seeds: 3,
//!     most_popular: true,
//!     baseline: Some("backbone".into()),
//!     metrics: None,
//!     out: "studies/ml-100k".into(),
//! };
//! let table = latentr3::sweep::run(&sweep, &Device::default(), &mut Silent)?;
//! println!("{table}");
//! # Ok::<(), latentr3::Error>(())
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::prelude::Device;
use latentr3_eval::baselines::MostPopular;
use latentr3_eval::{paired_bootstrap, per_case};
use latentr3_model::Mode;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::compare::{BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::observer::Observer;
use crate::pipeline::{Options, RunReport, Start, train};
use crate::prepare::prepare;
use crate::run_dir::{RunDir, SftStage, Stage, write_atomic};
use crate::saved::SavedRun;
use crate::tensorboard::Board;

/// The metrics `sweep.md` shows by default (those the report has); `sweep.csv` has them all.
pub const DEFAULT_METRICS: [&str; 12] = [
    "HR@5",
    "HR@10",
    "HR@20",
    "NDCG@5",
    "NDCG@10",
    "NDCG@20",
    "HeadNDCG@10",
    "TailNDCG@10",
    "ItemCoverage@10",
    "Gini@10",
    "APLT@10",
    EPOCH_SECONDS,
];

/// The median wall time of the stage's epochs (SFT epochs for SFT rows, RL epochs for RL
/// rows), in seconds, from the invocation that finished the stage.
pub const EPOCH_SECONDS: &str = "epoch_s";

/// The row of the most-popular baseline (`Sweep::most_popular`).
pub const MOST_POPULAR: &str = "most-popular";

/// One setting of a study: a name and the `--set` overrides that make it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    pub name: String,
    pub overrides: Vec<String>,
}

impl SweepRow {
    /// `NAME: KEY=VALUE; KEY=VALUE` (the overrides separated by `;`), or `NAME` alone for the
    /// experiment as it is.
    pub fn parse(text: &str) -> Result<SweepRow> {
        let (name, rest) = text.split_once(':').unwrap_or((text, ""));
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::Input(format!(
                "--row {text:?}: a row is NAME or NAME: KEY=VALUE; KEY=VALUE (the name is missing)"
            )));
        }
        let overrides: Vec<String> = rest
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if let Some(bad) = overrides.iter().find(|o| !o.contains('=')) {
            return Err(Error::Input(format!(
                "--row {text:?}: {bad:?} is not KEY=VALUE (overrides are separated by ';')"
            )));
        }
        Ok(SweepRow {
            name: name.to_string(),
            overrides,
        })
    }

    /// The rows of a grid: every combination of `KEY=V1,V2,…` (values split at commas outside
    /// brackets, braces and quotes, so TOML arrays and tables stay whole), each combined with
    /// each of `rows` (or alone when `rows` is empty). Named `key=value, key=value`, after the
    /// row's own name.
    pub fn product(rows: &[SweepRow], grid: &[String]) -> Result<Vec<SweepRow>> {
        let mut out = if rows.is_empty() {
            vec![SweepRow {
                name: String::new(),
                overrides: Vec::new(),
            }]
        } else {
            rows.to_vec()
        };
        for spec in grid {
            let (key, values) = spec.split_once('=').ok_or_else(|| {
                Error::Input(format!(
                    "--grid {spec:?}: expected KEY=V1,V2,… such as sft.lr=0.001,0.003"
                ))
            })?;
            let key = key.trim();
            let values = split_values(values);
            if key.is_empty() || values.is_empty() {
                return Err(Error::Input(format!(
                    "--grid {spec:?}: expected KEY=V1,V2,… such as sft.lr=0.001,0.003"
                )));
            }
            out = out
                .iter()
                .flat_map(|row| {
                    values.iter().map(move |value| {
                        let mut overrides = row.overrides.clone();
                        overrides.push(format!("{key}={value}"));
                        let cell = format!("{key}={value}");
                        SweepRow {
                            name: if row.name.is_empty() {
                                cell
                            } else {
                                format!("{}, {cell}", row.name)
                            },
                            overrides,
                        }
                    })
                })
                .collect();
        }
        if out.len() == 1 && out[0].name.is_empty() {
            out[0].name = "base".into();
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(twice) = out.iter().find(|row| !seen.insert(row.name.as_str())) {
            return Err(Error::Input(format!(
                "two rows are named {:?}: row names must differ",
                twice.name
            )));
        }
        Ok(out)
    }
}

/// `a,b,[c,d],"e,f"` → `a`, `b`, `[c,d]`, `"e,f"`.
fn split_values(text: &str) -> Vec<String> {
    let (mut out, mut current, mut depth, mut quote) = (Vec::new(), String::new(), 0i32, None);
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A study: what [`run`] trains and tabulates.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The experiment file every row starts from.
    pub config: PathBuf,
    /// Overrides applied to every row, before the row's own.
    pub overrides: Vec<String>,
    /// The rows ([`SweepRow::product`]).
    pub rows: Vec<SweepRow>,
    /// Seeds per row: the experiment's `sft.seed` and `rl.seed`, then each plus 1, 2, ….
    pub seeds: usize,
    /// Add the most-popular baseline as a row ([`MOST_POPULAR`]).
    pub most_popular: bool,
    /// The table row the others are compared with (a row name, with ` [sft]` or ` [rl]` for a
    /// latent row with an RL stage, or [`MOST_POPULAR`]).
    pub baseline: Option<String>,
    /// The metrics `sweep.md` shows (default [`DEFAULT_METRICS`]).
    pub metrics: Option<Vec<String>>,
    /// The study directory.
    pub out: PathBuf,
}

/// Mean over seeds and its 95% Student-t interval (equal to the mean with one seed).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct OverSeeds {
    pub seeds: usize,
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

impl OverSeeds {
    pub fn of(values: &[f64]) -> OverSeeds {
        let n = values.len();
        let mean = values.iter().sum::<f64>() / n.max(1) as f64;
        let half = if n < 2 {
            0.0
        } else {
            let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let t =
                StudentsT::new(0.0, 1.0, (n - 1) as f64).map_or(f64::NAN, |t| t.inverse_cdf(0.975));
            t * (variance / n as f64).sqrt()
        };
        OverSeeds {
            seeds: n,
            mean,
            low: mean - half,
            high: mean + half,
        }
    }
}

/// A row against the baseline on one metric: the paired bootstrap of the per-case metric
/// averaged over the seeds both rows have (cases resampled), and how many seeds' own paired
/// intervals put the row above or below the baseline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VersusBaseline {
    pub metric: String,
    pub difference: f64,
    pub low: f64,
    pub high: f64,
    pub seeds: usize,
    pub seeds_better: usize,
    pub seeds_worse: usize,
}

/// One row of the table: a training row's checkpoint (or the most-popular baseline).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableRow {
    pub name: String,
    /// Each seed's metrics (and [`EPOCH_SECONDS`]).
    pub seeds: BTreeMap<u64, BTreeMap<String, f64>>,
    pub summary: BTreeMap<String, OverSeeds>,
    /// Against the baseline row (empty for the baseline itself, or without one).
    pub versus_baseline: Vec<VersusBaseline>,
}

/// What [`run`] returns and writes: `sweep.md` is its [`Display`](std::fmt::Display).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepTable {
    pub config: PathBuf,
    /// The evaluation protocol every row shares.
    pub protocol: String,
    pub seeds: Vec<u64>,
    pub baseline: Option<String>,
    pub metrics: Vec<String>,
    pub rows: Vec<TableRow>,
    /// Runs trained by this invocation and runs found finished.
    pub trained: usize,
    pub skipped: usize,
}

/// A report's protocol line without the model or baseline its split label names
/// (`test (LeaveOneOut split of ml-100k, latent model)` → `test (LeaveOneOut split of
/// ml-100k)`): every row of a sweep shares it.
fn neutral_protocol(report: &latentr3_eval::Report) -> String {
    let mut report = report.clone();
    let split = &mut report.protocol.split;
    if split.ends_with(')')
        && let Some(comma) = split.rfind(", ")
    {
        split.truncate(comma);
        split.push(')');
    }
    report.protocol_line()
}

/// Per-case test ranks of a finished run's checkpoints, kept beside its report for pairing.
#[derive(Debug, Serialize, Deserialize)]
struct RunRanks {
    sft: Vec<u32>,
    rl: Option<Vec<u32>>,
}

const RANKS_FILE: &str = "sweep-ranks.json";

/// A directory name for a row: its name with anything but letters, digits and `.=-_+`
/// replaced by `_`.
fn slug(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".=-_+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.len() > 96 {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(name.as_bytes());
        out.truncate(80);
        out.push('-');
        out.extend(digest.iter().take(4).map(|b| format!("{b:02x}")));
    }
    out
}

/// The planned runs: every row × seed, loaded and validated before any of them trains.
struct Planned {
    row: usize,
    seed: u64,
    experiment: Experiment,
    dir: RunDir,
    /// An earlier run of the same seed and settings but for `[rl]`: this run takes its SFT
    /// stage (`train --init`) instead of training the same SFT model again.
    init: Option<PathBuf>,
}

/// The experiment with the RL stage's settings at their defaults: two runs equal under this
/// train the same SFT model.
fn without_rl(experiment: &Experiment) -> String {
    Experiment {
        rl: Default::default(),
        ..experiment.clone()
    }
    .to_toml()
}

fn plan(sweep: &Sweep) -> Result<(Vec<Planned>, Vec<u64>)> {
    if sweep.rows.is_empty() {
        return Err(Error::Input("a sweep needs at least one row".into()));
    }
    if sweep.seeds == 0 {
        return Err(Error::Input("--seeds must be at least 1".into()));
    }
    let base = Experiment::load(&sweep.config, &sweep.overrides)?;
    let seeds: Vec<u64> = (0..sweep.seeds as u64).map(|i| base.sft.seed + i).collect();
    let mut slugs = BTreeMap::new();
    let mut planned = Vec::new();
    for (index, row) in sweep.rows.iter().enumerate() {
        let slug = slug(&row.name);
        if let Some(other) = slugs.insert(slug.clone(), &row.name) {
            return Err(Error::Input(format!(
                "rows {other:?} and {:?} would share the directory {slug}: rename one",
                row.name
            )));
        }
        for (i, &seed) in seeds.iter().enumerate() {
            let mut overrides = sweep.overrides.clone();
            overrides.extend(row.overrides.iter().cloned());
            overrides.push(format!("sft.seed={seed}"));
            overrides.push(format!("rl.seed={}", base.rl.seed + i as u64));
            let experiment = Experiment::load(&sweep.config, &overrides)
                .map_err(|e| Error::Input(format!("row {:?}: {e}", row.name)))?;
            experiment
                .validate()
                .map_err(|e| Error::Input(format!("row {:?}: {e}", row.name)))?;
            let differences = base.protocol_differences(&experiment);
            if !differences.is_empty() {
                return Err(Error::Protocol {
                    what: format!(
                        "row {:?} changes the data or the evaluation protocol, so its cases \
                         could not be paired with the other rows'; run it as a sweep of its own",
                        row.name
                    ),
                    differences,
                });
            }
            let dir = RunDir::new(
                sweep
                    .out
                    .join("runs")
                    .join(&slug)
                    .join(format!("seed-{seed}")),
            );
            let init = if has_rl_stage(&experiment) {
                let sft = without_rl(&experiment);
                planned
                    .iter()
                    .find(|p: &&Planned| {
                        p.seed == seed && p.init.is_none() && without_rl(&p.experiment) == sft
                    })
                    .map(|p| p.dir.path().to_path_buf())
            } else {
                None
            };
            planned.push(Planned {
                row: index,
                seed,
                experiment,
                dir,
                init,
            });
        }
    }
    let names = table_row_names(sweep, &planned);
    if let Some(baseline) = &sweep.baseline
        && !names.contains(baseline)
    {
        return Err(Error::Input(format!(
            "--baseline {baseline:?} is not a row of this sweep; the rows are: {}",
            names
                .iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok((planned, seeds))
}

/// Whether a run has an RL stage, so that its row appears as `NAME [sft]` and `NAME [rl]`.
fn has_rl_stage(experiment: &Experiment) -> bool {
    experiment.model.mode == Mode::Latent && experiment.rl.epochs > 0
}

/// The table's row names, in order.
fn table_row_names(sweep: &Sweep, planned: &[Planned]) -> Vec<String> {
    let mut names = Vec::new();
    if sweep.most_popular {
        names.push(MOST_POPULAR.to_string());
    }
    for (index, row) in sweep.rows.iter().enumerate() {
        let runs = || planned.iter().filter(|p| p.row == index);
        let rl = runs().any(|p| has_rl_stage(&p.experiment));
        if rl && runs().all(|p| p.init.is_some()) {
            names.push(format!("{} [rl]", row.name));
        } else if rl {
            names.push(format!("{} [sft]", row.name));
            names.push(format!("{} [rl]", row.name));
        } else {
            names.push(row.name.clone());
        }
    }
    names
}

/// Trains what is not finished, then tabulates and writes `sweep.md`, `sweep.csv`,
/// `sweep-runs.csv` and `sweep.json` into the study directory.
pub fn run(sweep: &Sweep, device: &Device, observer: &mut dyn Observer) -> Result<SweepTable> {
    let (planned, seeds) = plan(sweep)?;
    std::fs::create_dir_all(&sweep.out).map_err(Error::io("create", &sweep.out))?;
    write_hparams_experiment(sweep, &planned)?;
    let (mut trained, mut skipped) = (0, 0);
    for (i, run) in planned.iter().enumerate() {
        let row = &sweep.rows[run.row];
        let what = format!(
            "sweep run {} of {}: {} seed {} ({})",
            i + 1,
            planned.len(),
            row.name,
            run.seed,
            run.dir.path().display()
        );
        if run.dir.report().exists() {
            check_same_settings(run)?;
            observer.message(&format!("{what}: finished before, skipped"));
            skipped += 1;
            continue;
        }
        let start = if run.dir.holds_run() {
            check_same_settings(run)?;
            observer.message(&format!("{what}: resuming"));
            Start::Resume(run.dir.path().to_path_buf())
        } else {
            observer.message(&what);
            Start::New {
                experiment: run.experiment.clone(),
                out: Some(run.dir.path().to_path_buf()),
                init: run.init.clone(),
            }
        };
        train(start, device, &Options::default(), observer)?;
        trained += 1;
    }
    let mut table = tabulate(sweep, &planned, &seeds, device, observer)?;
    table.trained = trained;
    table.skipped = skipped;
    write_outputs(&table, &sweep.out)?;
    Ok(table)
}

/// A run directory left by an earlier sweep must hold the settings this one would train.
fn check_same_settings(run: &Planned) -> Result<()> {
    let saved = run.dir.experiment(&[])?;
    if saved.to_toml() != run.experiment.to_toml() {
        return Err(Error::Run(format!(
            "{} holds a run with other settings than this sweep's row (its config.toml \
             differs); remove that directory or give the sweep another --out",
            run.dir.path().display()
        )));
    }
    Ok(())
}

/// The keys the rows set (and the seed), for the HParams dashboard's columns.
fn varied_keys(sweep: &Sweep) -> Vec<String> {
    let mut keys: Vec<String> = sweep
        .rows
        .iter()
        .flat_map(|row| row.overrides.iter())
        .filter_map(|o| o.split_once('=').map(|(k, _)| k.trim().to_string()))
        .collect();
    keys.push("sft.seed".into());
    keys.sort();
    keys.dedup();
    keys
}

/// `_hparams_/experiment` in `<out>`: the settings that vary and the test metrics of both
/// stages. Earlier sweeps' experiment files in `<out>` are replaced.
fn write_hparams_experiment(sweep: &Sweep, planned: &[Planned]) -> Result<()> {
    let entries = std::fs::read_dir(&sweep.out).map_err(Error::io("read", &sweep.out))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("events.out.tfevents.") && name.contains(".latentr3.") {
            std::fs::remove_file(entry.path()).map_err(Error::io("remove", entry.path()))?;
        }
    }
    let metrics = shown_metrics(sweep);
    let mut tags = Vec::new();
    let has_rl = planned.iter().any(|p| has_rl_stage(&p.experiment));
    for metric in metrics.iter().filter(|m| *m != EPOCH_SECONDS) {
        tags.push(format!("test/{metric}"));
        if has_rl {
            tags.push(format!("rl_test/{metric}"));
        }
    }
    let mut board =
        Board::new(&sweep.out).map_err(Error::io("write TensorBoard files in", &sweep.out))?;
    let name = sweep
        .config
        .file_stem()
        .map_or("sweep".into(), |s| s.to_string_lossy().into_owned());
    board.hparams_experiment(&name, &varied_keys(sweep), &tags);
    board.flush();
    board
        .check()
        .map_err(Error::io("write", board.path().to_path_buf()))
}

fn shown_metrics(sweep: &Sweep) -> Vec<String> {
    sweep
        .metrics
        .clone()
        .unwrap_or_else(|| DEFAULT_METRICS.iter().map(|m| m.to_string()).collect())
}

/// The median of the values (NaN when there are none).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The test ranks of a finished run's checkpoints: read from [`RANKS_FILE`], or evaluated and
/// written there.
fn run_ranks(
    run: &Planned,
    report: &RunReport,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<RunRanks> {
    let path = run.dir.path().join(RANKS_FILE);
    if path.exists() {
        let bytes = std::fs::read(&path).map_err(Error::io("read", &path))?;
        return serde_json::from_slice(&bytes).map_err(Error::json(&path));
    }
    observer.busy(&format!("test ranks of {}", run.dir.path().display()));
    let ranks_of = |stage| -> Result<Vec<u32>> {
        let saved = SavedRun::load(run.dir.path(), &[], Some(stage), device, &mut crate::Silent)?;
        Ok(saved.evaluate(false)?.ranks)
    };
    let ranks = RunRanks {
        sft: ranks_of(Stage::Sft)?,
        rl: if report.rl.is_some() {
            Some(ranks_of(Stage::Rl)?)
        } else {
            None
        },
    };
    observer.idle();
    let json = serde_json::to_vec(&ranks).map_err(Error::json(&path))?;
    write_atomic(&path, &json)?;
    Ok(ranks)
}

/// One table row's seeds: metrics and per-case ranks.
#[derive(Default)]
struct Gathered {
    name: String,
    metrics: BTreeMap<u64, BTreeMap<String, f64>>,
    ranks: BTreeMap<u64, Vec<u32>>,
}

fn tabulate(
    sweep: &Sweep,
    planned: &[Planned],
    seeds: &[u64],
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<SweepTable> {
    let mut rows: Vec<Gathered> = Vec::new();
    let mut protocol = String::new();
    let row_of = |name: String, rows: &mut Vec<Gathered>| -> usize {
        rows.iter().position(|r| r.name == name).unwrap_or_else(|| {
            rows.push(Gathered {
                name,
                ..Gathered::default()
            });
            rows.len() - 1
        })
    };
    if sweep.most_popular {
        let experiment = &planned[0].experiment;
        observer.busy("evaluating the most-popular baseline");
        let prepared = prepare(experiment, &mut crate::Silent)?;
        let scorer = MostPopular::new(&prepared.popularity.counts);
        let evaluation = prepared.evaluate(&scorer, false, "most-popular baseline")?;
        observer.idle();
        protocol = neutral_protocol(&evaluation.report);
        let index = row_of(MOST_POPULAR.to_string(), &mut rows);
        for &seed in seeds {
            rows[index]
                .metrics
                .insert(seed, evaluation.report.metrics.clone());
            rows[index].ranks.insert(seed, evaluation.ranks.clone());
        }
    }
    for run in planned {
        let path = run.dir.report();
        let bytes = std::fs::read(&path).map_err(Error::io("read", &path))?;
        let report: RunReport = serde_json::from_slice(&bytes).map_err(Error::json(&path))?;
        if protocol.is_empty() {
            protocol = neutral_protocol(&report.sft);
        }
        let ranks = run_ranks(run, &report, device, observer)?;
        let name = &sweep.rows[run.row].name;
        let sft_seconds = match &report.rl_stage {
            Some(stage) => median(&stage.sft_epoch_seconds),
            None => median(&SftStage::read(&run.dir)?.epoch_seconds),
        };
        // A run that took its SFT stage from another adds only its RL row.
        let mut stages = Vec::new();
        if run.init.is_none() {
            stages.push((Stage::Sft, &report.sft, ranks.sft, sft_seconds));
        }
        if let (Some(rl), Some(rl_ranks), Some(stage)) = (&report.rl, ranks.rl, &report.rl_stage) {
            stages.push((Stage::Rl, rl, rl_ranks, median(&stage.rl_epoch_seconds)));
        }
        let rl = report.rl.is_some();
        for (stage, report, ranks, seconds) in stages {
            let label = match (rl, stage) {
                (false, _) => name.clone(),
                (true, Stage::Sft) => format!("{name} [sft]"),
                (true, Stage::Rl) => format!("{name} [rl]"),
            };
            let index = row_of(label, &mut rows);
            let mut metrics = report.metrics.clone();
            metrics.insert(EPOCH_SECONDS.into(), seconds);
            rows[index].metrics.insert(run.seed, metrics);
            rows[index].ranks.insert(run.seed, ranks);
        }
    }
    let baseline = match &sweep.baseline {
        None => None,
        Some(name) => Some(rows.iter().position(|r| &r.name == name).ok_or_else(|| {
            Error::Input(format!(
                "--baseline {name:?} is not a row of this sweep; the rows are: {}",
                rows.iter()
                    .map(|r| format!("{:?}", r.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?),
    };
    let ks = &planned[0].experiment.eval.ks;
    let compared: Vec<String> = ["HR", "NDCG"]
        .iter()
        .flat_map(|family| ks.iter().map(move |k| format!("{family}@{k}")))
        .collect();
    let mut out = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let mut names: Vec<&String> = row.metrics.values().flat_map(|m| m.keys()).collect();
        names.sort();
        names.dedup();
        let summary = names
            .into_iter()
            .map(|name| {
                let values: Vec<f64> = row
                    .metrics
                    .values()
                    .filter_map(|m| m.get(name).copied())
                    .collect();
                (name.clone(), OverSeeds::of(&values))
            })
            .collect();
        let versus_baseline = match baseline {
            Some(b) if b != index => versus(&rows[b], row, &compared)?,
            _ => Vec::new(),
        };
        out.push(TableRow {
            name: row.name.clone(),
            seeds: row.metrics.clone(),
            summary,
            versus_baseline,
        });
    }
    Ok(SweepTable {
        config: sweep.config.clone(),
        protocol,
        seeds: seeds.to_vec(),
        baseline: sweep.baseline.clone(),
        metrics: shown_metrics(sweep),
        rows: out,
        trained: 0,
        skipped: 0,
    })
}

/// `row` against `baseline` on the seeds both have.
fn versus(baseline: &Gathered, row: &Gathered, metrics: &[String]) -> Result<Vec<VersusBaseline>> {
    let seeds: Vec<u64> = row
        .ranks
        .keys()
        .filter(|s| baseline.ranks.contains_key(s))
        .copied()
        .collect();
    let mut out = Vec::new();
    if seeds.is_empty() {
        return Ok(out);
    }
    for metric in metrics {
        let mut pooled_a = Vec::new();
        let mut pooled_b = Vec::new();
        let (mut better, mut worse) = (0, 0);
        for seed in &seeds {
            let a = per_case(metric, &baseline.ranks[seed])?;
            let b = per_case(metric, &row.ranks[seed])?;
            if a.len() != b.len() {
                return Err(Error::Run(format!(
                    "rows {:?} and {:?} have {} and {} test cases for seed {seed}: their runs \
                     were not made on the same data",
                    baseline.name,
                    row.name,
                    a.len(),
                    b.len()
                )));
            }
            let own = paired_bootstrap(metric, &a, &b, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED)?;
            better += usize::from(own.low > 0.0);
            worse += usize::from(own.high < 0.0);
            if pooled_a.is_empty() {
                pooled_a = vec![0.0; a.len()];
                pooled_b = vec![0.0; b.len()];
            }
            for (sum, value) in pooled_a.iter_mut().zip(&a) {
                *sum += value / seeds.len() as f64;
            }
            for (sum, value) in pooled_b.iter_mut().zip(&b) {
                *sum += value / seeds.len() as f64;
            }
        }
        let pooled = paired_bootstrap(
            metric,
            &pooled_a,
            &pooled_b,
            BOOTSTRAP_RESAMPLES,
            BOOTSTRAP_SEED,
        )?;
        out.push(VersusBaseline {
            metric: metric.clone(),
            difference: pooled.difference,
            low: pooled.low,
            high: pooled.high,
            seeds: seeds.len(),
            seeds_better: better,
            seeds_worse: worse,
        });
    }
    Ok(out)
}

/// `sweep.md`: the protocol, the metric table (mean ± half the 95% interval over seeds) and the
/// table against the baseline.
impl std::fmt::Display for SweepTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Sweep of {}", self.config.display())?;
        writeln!(f, "\nProtocol: {}", self.protocol)?;
        writeln!(
            f,
            "Seeds: {} ({}); each cell is the mean over seeds ± half its 95% t-interval. \
             {EPOCH_SECONDS}: median seconds per epoch of the row's stage.\n",
            self.seeds.len(),
            self.seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        let metrics: Vec<&String> = self
            .metrics
            .iter()
            .filter(|m| self.rows.iter().any(|r| r.summary.contains_key(*m)))
            .collect();
        write!(f, "| row |")?;
        for m in &metrics {
            write!(f, " {m} |")?;
        }
        write!(f, "\n|---|")?;
        for _ in &metrics {
            write!(f, "---|")?;
        }
        writeln!(f)?;
        for row in &self.rows {
            write!(f, "| {} |", row.name)?;
            for m in &metrics {
                match row.summary.get(*m) {
                    Some(s) if *m == EPOCH_SECONDS => write!(f, " {:.1} |", s.mean)?,
                    Some(s) if s.seeds > 1 => {
                        write!(f, " {:.4} ± {:.4} |", s.mean, (s.high - s.low) / 2.0)?
                    }
                    Some(s) => write!(f, " {:.4} |", s.mean)?,
                    None => write!(f, " — |")?,
                }
            }
            writeln!(f)?;
        }
        let Some(baseline) = &self.baseline else {
            return Ok(());
        };
        let compared: Vec<&String> = self
            .rows
            .iter()
            .flat_map(|r| r.versus_baseline.iter().map(|v| &v.metric))
            .fold(Vec::new(), |mut acc, m| {
                if !acc.contains(&m) {
                    acc.push(m);
                }
                acc
            });
        writeln!(
            f,
            "\nAgainst {baseline}: row − baseline, per-case metric averaged over the seeds both \
             have, paired bootstrap over the test cases ({BOOTSTRAP_RESAMPLES} resamples, seed \
             {BOOTSTRAP_SEED}), 95% interval; (b/w/n): seeds whose own paired interval is \
             above / below zero, of n.\n"
        )?;
        write!(f, "| row |")?;
        for m in &compared {
            write!(f, " {m} |")?;
        }
        write!(f, "\n|---|")?;
        for _ in &compared {
            write!(f, "---|")?;
        }
        writeln!(f)?;
        for row in self.rows.iter().filter(|r| !r.versus_baseline.is_empty()) {
            write!(f, "| {} |", row.name)?;
            for m in &compared {
                match row.versus_baseline.iter().find(|v| &&v.metric == m) {
                    Some(v) => write!(
                        f,
                        " {:+.4} [{:+.4}, {:+.4}] ({}/{}/{}) |",
                        v.difference, v.low, v.high, v.seeds_better, v.seeds_worse, v.seeds
                    )?,
                    None => write!(f, " — |")?,
                }
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

fn csv_error(path: &Path) -> impl Fn(csv::Error) -> Error + '_ {
    move |e| Error::Io {
        action: "write",
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}

/// `sweep.csv`: one line per row and metric.
fn summary_csv(table: &SweepTable, path: &Path) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "row",
            "metric",
            "seeds",
            "mean",
            "ci95_low",
            "ci95_high",
            "vs_baseline",
            "vs_baseline_low",
            "vs_baseline_high",
            "seeds_better",
            "seeds_worse",
        ])
        .map_err(csv_error(path))?;
    for row in &table.rows {
        for (metric, s) in &row.summary {
            let versus = row.versus_baseline.iter().find(|v| &v.metric == metric);
            let field = |f: fn(&VersusBaseline) -> String| versus.map(f).unwrap_or_default();
            writer
                .write_record([
                    row.name.clone(),
                    metric.clone(),
                    s.seeds.to_string(),
                    s.mean.to_string(),
                    s.low.to_string(),
                    s.high.to_string(),
                    field(|v| v.difference.to_string()),
                    field(|v| v.low.to_string()),
                    field(|v| v.high.to_string()),
                    field(|v| v.seeds_better.to_string()),
                    field(|v| v.seeds_worse.to_string()),
                ])
                .map_err(csv_error(path))?;
        }
    }
    writer
        .into_inner()
        .map_err(|e| csv_error(path)(e.into_error().into()))
}

/// `sweep-runs.csv`: one line per row, seed and metric.
fn runs_csv(table: &SweepTable, path: &Path) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(["row", "seed", "metric", "value"])
        .map_err(csv_error(path))?;
    for row in &table.rows {
        for (seed, metrics) in &row.seeds {
            for (metric, value) in metrics {
                writer
                    .write_record([
                        row.name.as_str(),
                        &seed.to_string(),
                        metric,
                        &value.to_string(),
                    ])
                    .map_err(csv_error(path))?;
            }
        }
    }
    writer
        .into_inner()
        .map_err(|e| csv_error(path)(e.into_error().into()))
}

fn write_outputs(table: &SweepTable, out: &Path) -> Result<()> {
    let md = out.join("sweep.md");
    write_atomic(&md, table.to_string().as_bytes())?;
    let csv_path = out.join("sweep.csv");
    write_atomic(&csv_path, &summary_csv(table, &csv_path)?)?;
    let runs_path = out.join("sweep-runs.csv");
    write_atomic(&runs_path, &runs_csv(table, &runs_path)?)?;
    let json_path = out.join("sweep.json");
    let json = serde_json::to_vec_pretty(table).map_err(Error::json(&json_path))?;
    write_atomic(&json_path, &json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_values_split_outside_brackets_and_quotes() {
        assert_eq!(
            split_values(r#"1, [2,3], {a=1,b=2}, "x,y", 'p,q'"#),
            vec!["1", "[2,3]", "{a=1,b=2}", "\"x,y\"", "'p,q'"]
        );
    }

    #[test]
    fn a_grid_is_the_product_of_rows_and_values() {
        let rows = [
            SweepRow::parse("backbone: model.mode=backbone").unwrap(),
            SweepRow::parse("latent").unwrap(),
        ];
        let product =
            SweepRow::product(&rows, &["sft.lr=0.001,0.003".into(), "sft.epochs=2".into()])
                .unwrap();
        let names: Vec<&str> = product.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "backbone, sft.lr=0.001, sft.epochs=2",
                "backbone, sft.lr=0.003, sft.epochs=2",
                "latent, sft.lr=0.001, sft.epochs=2",
                "latent, sft.lr=0.003, sft.epochs=2",
            ]
        );
        assert_eq!(
            product[1].overrides,
            ["model.mode=backbone", "sft.lr=0.003", "sft.epochs=2"]
        );
        assert_eq!(SweepRow::product(&[], &[]).unwrap()[0].name, "base");
        assert!(SweepRow::product(&[], &["sft.lr".into()]).is_err());
        assert!(SweepRow::parse(": a=1").is_err());
        assert!(SweepRow::parse("x: a").is_err());
        let twice = [SweepRow::parse("x").unwrap(), SweepRow::parse("x").unwrap()];
        assert!(SweepRow::product(&twice, &[]).is_err());
    }

    #[test]
    fn the_interval_over_seeds_is_students_t() {
        // Three values with mean 2 and sd 1: half-width t(0.975, 2) / sqrt(3) = 4.3027 / 1.7321.
        let s = OverSeeds::of(&[1.0, 2.0, 3.0]);
        assert!((s.mean - 2.0).abs() < 1e-12);
        assert!((s.high - s.mean - 2.48414).abs() < 1e-4, "{s:?}");
        let one = OverSeeds::of(&[0.5]);
        assert_eq!((one.low, one.mean, one.high), (0.5, 0.5, 0.5));
    }

    #[test]
    fn long_names_get_short_distinct_directories() {
        assert_eq!(
            slug("rl.sigma=0.5, sft.lr=[1, 2]"),
            "rl.sigma=0.5__sft.lr=_1__2_"
        );
        let a = slug(&"x".repeat(200));
        let b = slug(&format!("{}y", "x".repeat(199)));
        assert!(a.len() <= 96 && a != b);
    }
}
