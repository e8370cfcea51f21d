//! `latentr3`: a thin command-line layer over the latentr3 crates. It parses arguments and
//! experiment files, draws progress, and writes files; every computation lives in a library.

mod commands;
mod experiment;
mod fetch;
mod progress;

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
    /// Evaluate a baseline on an experiment's test split (full ranking).
    Eval {
        /// The baseline to evaluate.
        #[arg(long, value_enum)]
        baseline: Baseline,
        /// The experiment file (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Override a setting, such as `--set eval.mask_history=false` (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
        /// Evaluate the validation split instead of the test split.
        #[arg(long)]
        valid: bool,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
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

/// Baselines `latentr3 eval` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Baseline {
    /// Most popular items in the training split.
    Pop,
    /// Uniformly random scores (seeded).
    Random,
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
        Command::Eval {
            baseline,
            config,
            overrides,
            valid,
            json,
        } => commands::eval_baseline(baseline, &config, &overrides, valid, json),
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
