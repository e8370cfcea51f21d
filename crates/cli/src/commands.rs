//! The subcommands: argument handling and printing around library calls.

use std::path::Path;

use anyhow::{Context, Result};
use latentr3_data::{
    CacheUse, DataConfig, DataStats, Dataset, InteractionStats, Loaded, Popularity, Split,
};
use latentr3_eval::baselines::{MostPopular, UniformRandom};
use latentr3_eval::{Case, Evaluator, Scorer};
use latentr3_model::evaluation::item_stats;

use crate::Baseline;
use crate::experiment::Experiment;
use crate::fetch;
use crate::progress::spinner;

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
        Experiment::load(source, overrides)
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

pub fn load_dataset(config: &DataConfig) -> Result<Loaded> {
    let what = match &config.path {
        Some(path) => format!("loading {}", path.display()),
        None => "generating synthetic data".to_string(),
    };
    let bar = spinner(what);
    let loaded = config.load();
    bar.finish_and_clear();
    let loaded = loaded?;
    let how = match &loaded.cache {
        CacheUse::Hit(path) => format!("from cache {}", path.display()),
        CacheUse::Stored(path) => format!("cached to {}", path.display()),
        CacheUse::Disabled => "not cached".to_string(),
    };
    eprintln!(
        "loaded {} ({} users, {} items, {} interactions) in {:.2}s, {how}",
        loaded.dataset.name,
        loaded.dataset.num_users(),
        loaded.dataset.num_items(),
        loaded.dataset.num_interactions(),
        loaded.seconds
    );
    Ok(loaded)
}

pub fn data_stats(source: &Path, overrides: &[String], json: bool) -> Result<()> {
    let experiment = experiment_or_file(source, overrides)?;
    let dataset = load_dataset(&experiment.data)?.dataset;
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

/// What evaluating or training on an experiment's data needs: the dataset, its split, the
/// training popularity and an evaluator over it.
pub struct Prepared {
    pub dataset: Dataset,
    pub split: Split,
    pub evaluator: Evaluator,
    pub popularity: Popularity,
}

pub fn prepare(experiment: &Experiment) -> Result<Prepared> {
    let dataset = load_dataset(&experiment.data)?.dataset;
    let split = Split::new(&dataset, &experiment.data.split)?;
    let popularity = Popularity::from_split(&dataset, &split);
    let evaluator = Evaluator::new(experiment.eval.clone(), item_stats(&popularity))
        .context("invalid [eval] settings")?;
    Ok(Prepared {
        dataset,
        split,
        evaluator,
        popularity,
    })
}

/// The split's cases (test or validation) as evaluator cases.
pub fn cases<'a>(dataset: &'a Dataset, split: &Split, valid: bool) -> Vec<Case<'a>> {
    let samples = if valid { &split.valid } else { &split.test };
    latentr3_model::evaluation::cases(dataset, split, samples)
}

pub fn eval_baseline(
    baseline: Baseline,
    config: &Path,
    overrides: &[String],
    valid: bool,
    json: bool,
) -> Result<()> {
    let experiment = Experiment::load(config, overrides)?;
    let Prepared {
        dataset,
        split,
        evaluator,
        popularity,
    } = prepare(&experiment)
        .with_context(|| format!("{}: cannot evaluate this experiment", config.display()))?;
    let cases = cases(&dataset, &split, valid);
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
    let evaluation = evaluator.evaluate(scorer, &cases, if valid { "valid" } else { "test" });
    bar.finish_and_clear();
    let mut report = evaluation?.report;
    report.protocol.split = format!(
        "{} ({:?} split of {})",
        report.protocol.split, experiment.data.split.kind, dataset.name
    );
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("baseline {baseline:?}");
        print!("{report}");
    }
    Ok(())
}
