//! A trained run read back from its directory: evaluate it, compare it with another run or with
//! another system's ranks, recommend with it.
//!
//! ```no_run
//! use latentr3::{SavedRun, Silent, burn::prelude::Device};
//!
//! let run = SavedRun::load("runs/mine".as_ref(), &[], None, &Device::default(), &mut Silent)?;
//! let evaluation = run.evaluate(false)?;
//! println!("{}", evaluation.report);
//! for item in run.recommend(&["i1", "i7"], 10)? {
//!     println!("{} {:.3}", item.id, item.score);
//! }
//! # Ok::<(), latentr3::Error>(())
//! ```

use std::path::Path;

use burn::prelude::*;
use latentr3_eval::Evaluation;
use latentr3_model::{Inputs, ModelScorer, Recommender};

use crate::compare::{Comparison, ExternalRanks, RanksProtocol, paired_comparisons};
use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::observer::Observer;
use crate::pipeline::evaluate;
use crate::prepare::{Prepared, prepare};
use crate::run_dir::{RunDir, Stage, load_model, write_atomic};

/// A trained run: its experiment, its data, and one of its checkpoints.
pub struct SavedRun {
    pub run: RunDir,
    pub experiment: Experiment,
    pub prepared: Prepared,
    pub model: Recommender,
    /// The checkpoint loaded.
    pub stage: Stage,
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// The item's original id.
    pub id: String,
    pub score: f32,
    pub title: Option<String>,
}

impl SavedRun {
    /// Loads run `path` with its checkpoint of `stage` (default: RL when the run has one, else
    /// SFT). `overrides` may change evaluation settings (`eval.*`) only.
    pub fn load(
        path: &Path,
        overrides: &[String],
        stage: Option<Stage>,
        device: &Device,
        observer: &mut dyn Observer,
    ) -> Result<SavedRun> {
        if let Some(bad) = overrides.iter().find(|o| !o.starts_with("eval.")) {
            return Err(Error::Run(format!(
                "--set {bad}: a saved run can only change evaluation settings (eval.*)"
            )));
        }
        let run = RunDir::new(path);
        let experiment = run.experiment(overrides)?;
        let stage = run.stage(stage);
        let checkpoint = run.checkpoint(stage);
        if stage == Stage::Rl && !checkpoint.exists() {
            return Err(Error::Run(format!(
                "{} has no RL checkpoint ({} is missing); use --stage sft",
                path.display(),
                checkpoint.display()
            )));
        }
        let prepared = prepare(&experiment, observer)?;
        let model = load_model(
            &checkpoint,
            &experiment,
            prepared.dataset.num_items(),
            device,
        )?;
        Ok(SavedRun {
            run,
            experiment,
            prepared,
            model,
            stage,
        })
    }

    /// Evaluates the checkpoint on the test (or validation) cases.
    pub fn evaluate(&self, valid: bool) -> Result<Evaluation> {
        let cases = self.prepared.cases(valid);
        evaluate(
            &self.model,
            &self.prepared,
            &self.experiment,
            &cases,
            if valid { "valid" } else { "test" },
        )
    }

    /// A name for this checkpoint in comparisons and ranks files.
    pub fn label(&self) -> String {
        format!(
            "latentr3 {} ({} checkpoint)",
            self.run.path().display(),
            match self.stage {
                Stage::Sft => "sft",
                Stage::Rl => "rl",
            }
        )
    }

    /// Paired comparison of `other` (B) against this run (A) on this run's cases. Refuses runs
    /// whose data, split or masking differ.
    pub fn compare(&self, other: &SavedRun, valid: bool) -> Result<Comparison> {
        let differences = self.experiment.protocol_differences(&other.experiment);
        if !differences.is_empty() {
            return Err(Error::Protocol {
                what: format!(
                    "{} and {} were not evaluated under the same protocol, so a paired comparison would mix them (A vs B; --set eval.mask_history=... applies to both runs)",
                    self.run.path().display(),
                    other.run.path().display()
                ),
                differences,
            });
        }
        let split = if valid { "valid" } else { "test" };
        let cases = self.prepared.cases(valid);
        let a = evaluate(&self.model, &self.prepared, &self.experiment, &cases, split)?;
        let b = self
            .prepared
            .evaluator
            .evaluate(&ModelScorer::new(&other.model), &cases, split)?;
        Ok(Comparison {
            a: self.run.path().display().to_string(),
            b: other.run.path().display().to_string(),
            comparisons: paired_comparisons(&self.prepared.evaluator, &a.ranks, &b.ranks)?,
            report: a.report,
            cases: format!("{} cases", cases.len()),
        })
    }

    /// Paired comparison of another system's per-user ranks (B, read from `path`) against this
    /// run (A), on the users whose target agrees. Refuses a file of another protocol.
    pub fn compare_ranks(&self, path: &Path, valid: bool) -> Result<Comparison> {
        let external = ExternalRanks::load(path)?;
        let ours = self.evaluate(valid)?;
        let cases = self.prepared.cases(valid);
        let protocol = RanksProtocol::of(&self.experiment, &self.prepared.dataset);
        let paired = external.pair(&protocol, &self.prepared.dataset, &cases, &ours.ranks, path)?;
        Ok(Comparison {
            a: self.run.path().display().to_string(),
            b: format!("{} ({})", external.system, path.display()),
            comparisons: paired_comparisons(&self.prepared.evaluator, &paired.a, &paired.b)?,
            report: ours.report,
            cases: format!(
                "{} of {} cases paired; left out: {} users missing from the file, {} whose target differs",
                paired.a.len(),
                cases.len(),
                paired.missing,
                paired.other_target
            ),
        })
    }

    /// Evaluates and writes every case's rank to `path` (the [`ExternalRanks`] format).
    pub fn write_ranks(&self, path: &Path, valid: bool) -> Result<Evaluation> {
        let evaluation = self.evaluate(valid)?;
        let cases = self.prepared.cases(valid);
        let ranks = ExternalRanks::of(
            self.label(),
            RanksProtocol::of(&self.experiment, &self.prepared.dataset),
            &self.prepared.dataset,
            &cases,
            &evaluation.ranks,
        );
        let json = serde_json::to_string(&ranks).map_err(Error::json(path))?;
        write_atomic(path, json.as_bytes())?;
        Ok(evaluation)
    }

    /// The `k` best items after `history` (original item ids, oldest first). With the run's
    /// `eval.mask_history`, every history item counts as seen and is not recommended again, as
    /// the evaluator masks it; ties go to the lower item id.
    pub fn recommend(&self, history: &[&str], k: usize) -> Result<Vec<Recommendation>> {
        let dataset = &self.prepared.dataset;
        let mut items = Vec::with_capacity(history.len());
        for original in history {
            match dataset.item_by_original_id(original) {
                Some(item) => items.push(item),
                None => {
                    let examples: Vec<&str> = dataset
                        .item_ids
                        .iter()
                        .skip(1)
                        .take(5)
                        .map(String::as_str)
                        .collect();
                    return Err(Error::Input(format!(
                        "--history: item `{original}` is not in {} (after filtering); its ids look like {}",
                        dataset.name,
                        examples.join(", ")
                    )));
                }
            }
        }
        if items.is_empty() {
            return Err(Error::Input(
                "--history is empty; give original item ids such as --history 12,7,33".into(),
            ));
        }
        if k == 0 || k > dataset.num_items() {
            return Err(Error::Input(format!(
                "-k must be between 1 and {}",
                dataset.num_items()
            )));
        }
        let device = self.model.backbone.items.weight.device();
        let histories: Vec<&[u32]> = vec![&items];
        let inputs = Inputs::from_histories(&histories, self.model.backbone.max_len(), &device);
        let scores: Vec<f32> = self
            .model
            .valid()
            .scores(&inputs)
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("float scores");
        let mut ranked = scores.clone();
        let mut top = Vec::with_capacity(k);
        let seen: &[u32] = if self.experiment.eval.mask_history {
            &items
        } else {
            &[]
        };
        latentr3_eval::top_row(&mut ranked, seen, k, &mut top);
        Ok(top
            .into_iter()
            .map(|item| Recommendation {
                id: dataset.item_ids[item as usize].clone(),
                score: scores[item as usize],
                title: dataset.title(item).map(str::to_string),
            })
            .collect())
    }
}
