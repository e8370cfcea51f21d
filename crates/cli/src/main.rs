//! `latentr3`: a thin command-line layer over the latentr3 crates. It parses arguments and
//! experiment files, draws progress, and writes files; every computation lives in a library.

// The `///` comments on the argument types are clap's help text, printed verbatim: `[data]` is a
// TOML table and `<name>` a placeholder there, not rustdoc links or HTML.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

mod commands;
mod progress;
mod train;

/// burn allocates a buffer per tensor op; mimalloc reuses them where glibc returns them to the
/// kernel and faults them back in (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "latentr3",
    version,
    about = "Sequential recommendation with reinforced latent reasoning"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Download and inspect datasets.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Train a model (SFT, then RL of the latent head) and write a run directory.
    Train {
        /// The experiment file (TOML).
        #[arg(long, default_value = "experiments/synthetic.toml")]
        config: PathBuf,
        /// Continue an interrupted run from its last finished epoch (ignores --config).
        #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["overrides", "out"])]
        resume: Option<PathBuf>,
        /// Stop, resumably, after this many epochs (for time-boxed jobs).
        #[arg(long, value_name = "EPOCHS")]
        stop_after: Option<usize>,
        /// Stop, resumably, at the first RL validation after this many RL steps.
        #[arg(long, value_name = "STEPS")]
        stop_after_rl_steps: Option<usize>,
        /// With --resume: continue although config.toml was edited since the run started.
        #[arg(long, requires = "resume")]
        allow_changed_settings: bool,
        /// Override a setting, such as `--set model.mode=backbone` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// The run directory (default: runs/<name>-<mode>-<time>).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Skip SFT: start the RL stage from this run's SFT checkpoint (same [data], masking and
        /// [model] settings), e.g. to compare RL settings on one SFT model.
        #[arg(long, value_name = "RUN_DIR", conflicts_with = "resume")]
        init: Option<PathBuf>,
        /// Compute device: cpu (burn's flex backend) or wgpu (with the wgpu feature).
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Print the test report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Evaluate a baseline or a trained run on the test split (full ranking).
    Eval {
        /// A baseline to evaluate (needs --config).
        #[arg(long, value_enum, conflicts_with = "run", requires = "config")]
        baseline: Option<Baseline>,
        /// A run directory written by `latentr3 train`.
        #[arg(long, required_unless_present = "baseline")]
        run: Option<PathBuf>,
        /// The experiment file (TOML) for --baseline.
        #[arg(long)]
        config: Option<PathBuf>,
        /// A second run to compare with --run on the same cases (paired bootstrap of B - A);
        /// the same run with --stage sft --compare-stage rl compares a run's two checkpoints.
        #[arg(long, requires = "run", value_name = "RUN_DIR")]
        compare: Option<PathBuf>,
        /// Per-user ranks of another system on the same protocol (JSON, such as
        /// `benches/recbole_ranks.py` writes) to compare with --run (paired bootstrap of B - A
        /// over the users whose target both sides agree on).
        #[arg(
            long,
            requires = "run",
            conflicts_with = "compare",
            value_name = "FILE"
        )]
        compare_ranks: Option<PathBuf>,
        /// Write every test user's rank of its target to FILE (the --compare-ranks format).
        #[arg(long, requires = "run", conflicts_with_all = ["compare", "compare_ranks"], value_name = "FILE")]
        write_ranks: Option<PathBuf>,
        /// The checkpoint of --run: sft or rl (default: rl when the run has one, else sft).
        #[arg(long, value_enum, requires = "run")]
        stage: Option<StageArg>,
        /// The checkpoint of --compare (same default).
        #[arg(long, value_enum, requires = "compare")]
        compare_stage: Option<StageArg>,
        /// Override a setting, such as `--set eval.mask_history=false` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Re-rank the run's lists after scoring (no training): a popularity penalty, Steck's
        /// calibrated greedy re-ranking, or category diversity (MMR); the last two need item
        /// categories.
        #[arg(long, value_enum, requires = "run", conflicts_with_all = ["compare", "compare_ranks", "write_ranks"])]
        rerank: Option<RerankArg>,
        /// The re-ranking weight: in [0, 1] for calibrated and diversity, >= 0 for the penalty
        /// (0: the model's own lists).
        #[arg(long, requires = "rerank", default_value_t = 0.5)]
        lambda: f64,
        /// Candidates per case the greedy re-rankers consider.
        #[arg(long, requires = "rerank", default_value_t = 100)]
        rerank_depth: usize,
        /// Evaluate the validation split instead of the test split.
        #[arg(long)]
        valid: bool,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// A study: train every row (a grid of settings, named rows, or both) with several seeds,
    /// one run after another (finished runs are skipped, interrupted ones resumed), then print
    /// and write one table: each metric's mean and 95% interval over seeds, and each row
    /// against a baseline row (paired bootstrap on the same test cases).
    Sweep {
        /// The experiment file (TOML) every row starts from.
        #[arg(long)]
        config: PathBuf,
        /// A grid axis, such as `--grid sft.lr=0.001,0.003` (repeatable: every combination).
        #[arg(long, value_name = "KEY=V1,V2")]
        grid: Vec<String>,
        /// A named row, such as `--row "backbone: model.mode=backbone"`; several settings are
        /// separated by `;` (repeatable; combined with every grid point).
        #[arg(long, value_name = "NAME[: KEY=VALUE; ...]")]
        row: Vec<String>,
        /// Seeds per row: the experiment's sft.seed and rl.seed, then each plus 1, 2, ...
        #[arg(long, default_value_t = 3)]
        seeds: usize,
        /// Add the most-popular baseline as a row (`most-popular`).
        #[arg(long)]
        pop: bool,
        /// The row the others are compared with, as the table names it (a latent row with RL
        /// appears twice, as `NAME [sft]` and `NAME [rl]`).
        #[arg(long, value_name = "ROW")]
        baseline: Option<String>,
        /// The metrics of the printed table (default: HR and NDCG @5/10/20, head/tail
        /// NDCG@10, coverage, Gini, APLT, epoch seconds); sweep.csv has them all.
        #[arg(long, value_delimiter = ',', value_name = "M1,M2")]
        metrics: Option<Vec<String>>,
        /// Override a setting of every row (repeatable), before the row's own settings.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// The study directory (runs/, sweep.md, sweep.csv, sweep-runs.csv, sweep.json).
        #[arg(long)]
        out: PathBuf,
        /// Compute device: cpu (burn's flex backend) or wgpu (with the wgpu feature).
        #[arg(long, default_value = "cpu")]
        device: String,
    },
    /// Top-K recommendations of a trained run for a history of original item ids.
    Recommend {
        #[arg(long)]
        run: PathBuf,
        /// The checkpoint: sft or rl (default: rl when the run has one, else sft).
        #[arg(long, value_enum)]
        stage: Option<StageArg>,
        /// Original item ids, oldest first, such as 12,7,33.
        #[arg(long)]
        history: String,
        #[arg(short, default_value_t = 10)]
        k: usize,
    },
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Download an official GroupLens MovieLens zip, verify it and unpack it.
    Fetch {
        /// ml-100k, ml-1m, ml-20m, ml-25m or ml-latest-small.
        name: String,
        /// Directory that receives `<name>/`.
        #[arg(long, default_value = "data")]
        dir: PathBuf,
    },
    /// Users, items, interactions, density, sequence lengths, popularity Gini and head/tail
    /// sizes, before and after filtering.
    Stats {
        /// An experiment file (`.toml`) or an interaction file (default filters).
        source: PathBuf,
        /// Override a setting of the experiment (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Re-rankers of `latentr3 eval --run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RerankArg {
    /// score - lambda * ln(1 + training interactions).
    PopularityPenalty,
    /// Steck's greedy calibration to the category mix of the user's history.
    Calibrated,
    /// Maximal marginal relevance over category (Jaccard) distance.
    Diversity,
}

impl From<RerankArg> for latentr3::eval::RerankKind {
    fn from(arg: RerankArg) -> Self {
        match arg {
            RerankArg::PopularityPenalty => latentr3::eval::RerankKind::PopularityPenalty,
            RerankArg::Calibrated => latentr3::eval::RerankKind::Calibrated,
            RerankArg::Diversity => latentr3::eval::RerankKind::Diversity,
        }
    }
}

/// Baselines `latentr3 eval` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Baseline {
    /// Most popular items in the training split.
    Pop,
    /// Uniformly random scores (seeded).
    Random,
}

/// Which checkpoint of a run to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StageArg {
    /// The best SFT epoch (`checkpoints/sft.bpk`).
    Sft,
    /// The best RL step (`checkpoints/rl.bpk`).
    Rl,
}

impl From<StageArg> for latentr3::Stage {
    fn from(stage: StageArg) -> Self {
        match stage {
            StageArg::Sft => latentr3::Stage::Sft,
            StageArg::Rl => latentr3::Stage::Rl,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data {
            command: DataCommand::Fetch { name, dir },
        } => commands::data_fetch(&name, &dir),
        Command::Data {
            command:
                DataCommand::Stats {
                    source,
                    overrides,
                    json,
                },
        } => commands::data_stats(&source, &overrides, json),
        Command::Train {
            config,
            resume,
            stop_after,
            stop_after_rl_steps,
            allow_changed_settings,
            overrides,
            out,
            init,
            device,
            json,
        } => {
            let start = match resume {
                Some(run) => Ok(latentr3::Start::Resume(run)),
                // Load errors name the file already; settings errors name their section.
                None => latentr3::Experiment::load(&config, &overrides)
                    .map_err(anyhow::Error::from)
                    .and_then(|experiment| {
                        let invalid = |e| anyhow::anyhow!("{}: {e}", config.display());
                        experiment.validate().map_err(invalid)?;
                        Ok(latentr3::Start::New {
                            experiment,
                            out,
                            init,
                        })
                    }),
            };
            let options = latentr3::Options {
                stop_after_epochs: stop_after,
                stop_after_rl_steps,
                allow_changed_settings,
            };
            start.and_then(|start| train::train(start, &device, options, json))
        }
        Command::Eval {
            baseline,
            run,
            config,
            compare,
            compare_ranks,
            write_ranks,
            stage,
            compare_stage,
            overrides,
            rerank,
            lambda,
            rerank_depth,
            valid,
            json,
        } => match (baseline, run, config) {
            (Some(baseline), _, Some(config)) => {
                commands::eval_baseline(baseline, &config, &overrides, valid, json)
            }
            (None, Some(run), _) => train::eval_run(train::EvalRun {
                run: &run,
                overrides: &overrides,
                compare: compare.as_deref(),
                compare_ranks: compare_ranks.as_deref(),
                write_ranks: write_ranks.as_deref(),
                stage: stage.map(Into::into),
                compare_stage: compare_stage.map(Into::into),
                rerank: rerank.map(|kind| (kind.into(), lambda, rerank_depth)),
                valid,
                json,
            }),
            _ => Err(anyhow::anyhow!(
                "give --baseline pop|random with --config, or --run <run directory>"
            )),
        },
        Command::Sweep {
            config,
            grid,
            row,
            seeds,
            pop,
            baseline,
            metrics,
            overrides,
            out,
            device,
        } => train::sweep(
            train::SweepArgs {
                config,
                grid,
                rows: row,
                seeds,
                pop,
                baseline,
                metrics,
                overrides,
                out,
            },
            &device,
        ),
        Command::Recommend {
            run,
            stage,
            history,
            k,
        } => train::recommend(&run, stage.map(Into::into), &history, k),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}
