//! Dataset preparation: what training and evaluating an experiment need, built once.

use latentr3_data::evaluation::item_stats;
use latentr3_data::{CacheUse, DataConfig, Dataset, Loaded, Popularity, Split};
use latentr3_eval::{Case, Evaluation, Evaluator, Scorer};

use crate::error::Result;
use crate::experiment::Experiment;
use crate::observer::Observer;

/// An experiment's dataset, its split, the training popularity and an evaluator over it.
pub struct Prepared {
    pub dataset: Dataset,
    pub split: Split,
    pub evaluator: Evaluator,
    pub popularity: Popularity,
}

impl Prepared {
    /// The validation (`valid = true`) or test cases of the split.
    pub fn cases(&self, valid: bool) -> Vec<Case<'_>> {
        let samples = if valid {
            &self.split.valid
        } else {
            &self.split.test
        };
        latentr3_data::evaluation::cases(&self.dataset, &self.split, samples)
    }

    /// Evaluates any scorer on the validation or test cases; the report's split reads
    /// `test (LeaveOneOut split of ml-100k, <what>)`, so a printed table says what it measured.
    pub fn evaluate(&self, scorer: &dyn Scorer, valid: bool, what: &str) -> Result<Evaluation> {
        let cases = self.cases(valid);
        let split = if valid { "valid" } else { "test" };
        let mut evaluation = self.evaluator.evaluate(scorer, &cases, split)?;
        evaluation.report.protocol.split = format!(
            "{split} ({:?} split of {}, {what})",
            self.split.config.kind, self.dataset.name
        );
        Ok(evaluation)
    }
}

/// Loads (or generates) the data, splits it and builds the evaluator of `experiment`.
pub fn prepare(experiment: &Experiment, observer: &mut dyn Observer) -> Result<Prepared> {
    let dataset = load_dataset(&experiment.data, observer)?.dataset;
    let split = Split::new(&dataset, &experiment.data.split)?;
    let popularity = Popularity::from_split(&dataset, &split);
    let mut evaluator = Evaluator::new(experiment.eval.clone(), item_stats(&popularity))?;
    if let Some(categories) = &dataset.categories {
        evaluator = evaluator.with_categories(categories.clone())?;
    }
    Ok(Prepared {
        dataset,
        split,
        evaluator,
        popularity,
    })
}

/// Loads a dataset through the cache, telling `observer` what it loaded and from where.
pub fn load_dataset(config: &DataConfig, observer: &mut dyn Observer) -> Result<Loaded> {
    observer.busy(&match &config.path {
        Some(path) => format!("loading {}", path.display()),
        None => "generating synthetic data".to_string(),
    });
    let loaded = config.load();
    observer.idle();
    let loaded = loaded?;
    let how = match &loaded.cache {
        CacheUse::Hit(path) => format!("from cache {}", path.display()),
        CacheUse::Stored(path) => format!("cached to {}", path.display()),
        CacheUse::Disabled => "not cached".to_string(),
    };
    observer.message(&format!(
        "loaded {} ({} users, {} items, {} interactions) in {:.2}s, {how}",
        loaded.dataset.name,
        loaded.dataset.num_users(),
        loaded.dataset.num_items(),
        loaded.dataset.num_interactions(),
        loaded.seconds
    ));
    Ok(loaded)
}
