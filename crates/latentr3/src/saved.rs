//! A trained run read back from its directory with its data: evaluate it, compare it with
//! another run or with another system's ranks, write its ranks. (Recommending needs no data:
//! [`SavedModel`](crate::SavedModel).)
//!
//! ```no_run
//! use latentr3::{SavedRun, Silent, burn::prelude::Device};
//!
//! let run = SavedRun::load("runs/mine".as_ref(), &[], None, &Device::default(), &mut Silent)?;
//! let evaluation = run.evaluate(false)?;
//! println!("{}", evaluation.report);
//! # Ok::<(), latentr3::Error>(())
//! ```

use std::path::Path;

use burn::prelude::*;
use latentr3_eval::{Case, Evaluation, RerankKind, Reranked};
use latentr3_model::{ModelScorer, Recommender};

use crate::compare::{Comparison, ExternalRanks, RanksProtocol, paired_comparisons};
use crate::error::{Error, Result};
use crate::experiment::{Experiment, ModeName};
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
        // Refuse a checkpoint of another format before the data is loaded for nothing.
        crate::card::ModelCard::read(&run)?;
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
        self.evaluate_on(&self.prepared.cases(valid), valid)
    }

    /// [`SavedRun::evaluate`] with the model's lists re-ranked after scoring
    /// ([`latentr3_eval::rerank`]): the training-free trade-off that RL rewards are measured
    /// against. The greedy kinds re-order the model's best `depth` candidates into a list of the
    /// evaluator's largest K. `lambda` must be in [0, 1] for them (a weight) and finite and
    /// non-negative for the popularity penalty.
    pub fn evaluate_reranked(
        &self,
        valid: bool,
        kind: RerankKind,
        lambda: f64,
        depth: usize,
    ) -> Result<Evaluation> {
        let evaluator = &self.prepared.evaluator;
        let setting = |message: String| Error::Setting {
            section: "eval",
            message,
        };
        let greedy = kind != RerankKind::PopularityPenalty;
        if !lambda.is_finite() || lambda < 0.0 || (greedy && lambda > 1.0) {
            return Err(setting(format!(
                "re-ranking weight {lambda} is out of range: {kind:?} takes {}",
                if greedy {
                    "a value in [0, 1]"
                } else {
                    "a finite value >= 0"
                }
            )));
        }
        if greedy && evaluator.categories().is_none() {
            return Err(setting(format!(
                "{kind:?} re-ranking needs item categories and {} has none: give data.titles a \
                 file with genres or categories",
                self.prepared.dataset.name
            )));
        }
        let length = evaluator.config().ks.iter().copied().max().unwrap_or(1);
        let base = ModelScorer::new(&self.model);
        let reranked = Reranked {
            base: &base,
            kind,
            lambda,
            depth: depth.max(length),
            length,
            mask_history: evaluator.config().mask_history,
            counts: &evaluator.stats().counts,
            categories: evaluator.categories(),
        };
        let split = if valid { "valid" } else { "test" };
        let mut evaluation = evaluator.evaluate(&reranked, &self.prepared.cases(valid), split)?;
        evaluation.report.protocol.split = format!(
            "{split} ({:?} split of {}, {} model re-ranked by {kind:?}, lambda {lambda})",
            self.experiment.data.split.kind,
            self.prepared.dataset.name,
            self.experiment.model.mode_name()
        );
        Ok(evaluation)
    }

    /// [`SavedRun::evaluate`] on cases the caller built (and keeps for pairing).
    fn evaluate_on(&self, cases: &[Case<'_>], valid: bool) -> Result<Evaluation> {
        let split = if valid { "valid" } else { "test" };
        evaluate(&self.model, &self.prepared, &self.experiment, cases, split)
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
        let cases = self.prepared.cases(valid);
        let a = self.evaluate_on(&cases, valid)?;
        // Only B's ranks are read; its report would repeat A's protocol.
        let b = self.prepared.evaluator.evaluate(
            &ModelScorer::new(&other.model),
            &cases,
            if valid { "valid" } else { "test" },
        )?;
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
        let cases = self.prepared.cases(valid);
        let ours = self.evaluate_on(&cases, valid)?;
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
        let cases = self.prepared.cases(valid);
        let evaluation = self.evaluate_on(&cases, valid)?;
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
}
