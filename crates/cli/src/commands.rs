//! The subcommands: argument handling and printing around library calls.

use std::path::Path;

use anyhow::{Context, Result};
use latentr3::data::DataStats;
use latentr3::eval::Scorer;
use latentr3::eval::baselines::{MostPopular, UniformRandom};
use latentr3::{Experiment, Prepared, prepare};

use crate::Baseline;
use crate::progress::{Bars, spinner};

pub fn data_fetch(name: &str, dir: &Path) -> Result<()> {
    let path = latentr3::data::fetch::fetch(name, dir, &|line| eprintln!("{line}"))?;
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
        Ok(Experiment::for_file(source, overrides)?)
    }
}

pub fn data_stats(source: &Path, overrides: &[String], json: bool) -> Result<()> {
    let experiment = experiment_or_file(source, overrides)?;
    let dataset = latentr3::load_dataset(&experiment.data, &mut Bars::default())?.dataset;
    let stats = DataStats::new(&dataset, &experiment.data.split)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        print!("{stats}");
    }
    Ok(())
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
    let popular = MostPopular::new(&prepared.popularity.counts);
    let scorer: &dyn Scorer = match baseline {
        Baseline::Pop => &popular,
        Baseline::Random => &UniformRandom { seed: 0 },
    };
    let bar = spinner(format!("evaluating the {baseline:?} baseline"));
    let evaluation = prepared.evaluate(scorer, valid, &format!("{baseline:?} baseline"));
    bar.finish_and_clear();
    let report = evaluation?.report;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}
