//! The subcommands: argument handling and printing around library calls.

use std::path::Path;

use anyhow::{Context, Result};
use latentr3::data::{DataConfig, DataStats, InteractionStats};
use latentr3::eval::Scorer;
use latentr3::eval::baselines::{MostPopular, UniformRandom};
use latentr3::{Experiment, Prepared, prepare};

use crate::Baseline;
use crate::fetch;
use crate::progress::{Bars, spinner};

pub fn data_fetch(name: &str, dir: &Path) -> Result<()> {
    let path = fetch::fetch(name, dir, &|line| eprintln!("{line}"))?;
    println!("{}", path.display());
    Ok(())
}

/// An experiment from a `.toml` file, or default settings around a data file.
fn experiment_or_file(source: &Path, overrides: &[String]) -> Result<Experiment> {
    let is_toml = source
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    if is_toml {
        Ok(Experiment::load(source, overrides)?)
    } else {
        if !source.exists() {
            anyhow::bail!(
                "{} does not exist (see data/README.md for how to get datasets)",
                source.display()
            );
        }
        Ok(Experiment {
            data: DataConfig::from_path(source),
            ..Experiment::default()
        })
    }
}

pub fn data_stats(source: &Path, overrides: &[String], json: bool) -> Result<()> {
    let experiment = experiment_or_file(source, overrides)?;
    let dataset = latentr3::load_dataset(&experiment.data, &mut Bars::default())?.dataset;
    let stats = DataStats::new(&dataset, &experiment.data.split)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        print_stats(&stats);
    }
    Ok(())
}

fn print_stats(stats: &DataStats) {
    println!("dataset {}", stats.dataset);
    println!("{:<26}{:>14}{:>14}", "", "raw", "filtered");
    type Row = (&'static str, fn(&InteractionStats) -> String);
    let rows: [Row; 11] = [
        ("users", |s| s.users.to_string()),
        ("items", |s| s.items.to_string()),
        ("interactions", |s| s.interactions.to_string()),
        ("density", |s| format!("{:.5}", s.density)),
        ("sequence length min", |s| s.sequence_length.min.to_string()),
        ("sequence length p25", |s| s.sequence_length.p25.to_string()),
        ("sequence length median", |s| {
            s.sequence_length.median.to_string()
        }),
        ("sequence length p75", |s| s.sequence_length.p75.to_string()),
        ("sequence length p90", |s| s.sequence_length.p90.to_string()),
        ("sequence length max", |s| s.sequence_length.max.to_string()),
        ("item popularity Gini", |s| format!("{:.4}", s.item_gini)),
    ];
    for (name, value) in rows {
        println!(
            "{name:<26}{:>14}{:>14}",
            value(&stats.raw),
            value(&stats.filtered)
        );
    }
    println!(
        "split {:?} (max history {}): {} train / {} valid / {} test samples",
        stats.split.kind,
        stats.split.max_history,
        stats.train_samples,
        stats.valid_samples,
        stats.test_samples
    );
    println!(
        "head items (80% of training interactions): {}, tail items: {}",
        stats.head_items, stats.tail_items
    );
}

pub fn eval_baseline(
    baseline: Baseline,
    config: &Path,
    overrides: &[String],
    valid: bool,
    json: bool,
) -> Result<()> {
    let experiment = Experiment::load(config, overrides)?;
    let prepared: Prepared = prepare(&experiment, &mut Bars::default())
        .with_context(|| format!("{}: cannot evaluate this experiment", config.display()))?;
    let cases = prepared.cases(valid);
    let popularity = &prepared.popularity;
    let popular;
    let random;
    let scorer: &dyn Scorer = match baseline {
        Baseline::Pop => {
            popular = MostPopular::new(&popularity.counts);
            &popular
        }
        Baseline::Random => {
            random = UniformRandom { seed: 0 };
            &random
        }
    };
    let bar = spinner(format!("evaluating {baseline:?} on {} cases", cases.len()));
    let evaluation =
        prepared
            .evaluator
            .evaluate(scorer, &cases, if valid { "valid" } else { "test" });
    bar.finish_and_clear();
    let mut report = evaluation?.report;
    report.protocol.split = format!(
        "{} ({:?} split of {})",
        report.protocol.split, experiment.data.split.kind, prepared.dataset.name
    );
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("baseline {baseline:?}");
        print!("{report}");
    }
    Ok(())
}
