//! What both training stages share: the optimiser, the learning-rate schedule, global-norm
//! clipping, the best-so-far model with early stopping, the monitor check and the silent
//! observer. SFT ([`sft`](crate::sft)) and the RL stage (the `latentr3-grpo` crate) each own
//! their loop and their step log; everything here is the same for both.

use burn::module::{ModuleVisitor, Param};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use latentr3_eval::{Evaluator, Report};

use crate::backbone::SequenceBackbone;
use crate::error::TrainError;
use crate::sft::Observer;

/// AdamW as both training stages use it (PyTorch's epsilon, 1e-8, rather than burn's 1e-5).
pub fn adamw(weight_decay: f64) -> ModuleOptimizer {
    AdamWConfig::new()
        .with_weight_decay(weight_decay as f32)
        .with_epsilon(1e-8)
        .init()
}

/// Linear warm-up over `warmup` steps to `peak`, then cosine decay to `peak × min_ratio` at
/// step `total` (the schedule of both training stages).
pub fn warmup_cosine(peak: f64, min_ratio: f64, warmup: usize, step: usize, total: usize) -> f64 {
    let warmup = warmup.min(total.saturating_sub(1));
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let span = (total - warmup).max(1) as f64;
    let progress = ((step - warmup) as f64 / span).min(1.0);
    let floor = peak * min_ratio;
    floor + (peak - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}

/// Sums squared gradients over every parameter of a module.
struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.get::<D>(param.id) {
            let squares = grad.square().sum();
            self.total = Some(match self.total.take() {
                Some(total) => total + squares,
                None => squares,
            });
        }
    }
}

/// Multiplies every gradient by a factor.
struct ScaleGrads<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
}

impl ModuleVisitor for ScaleGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(grad) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, grad * self.factor);
        }
    }
}

/// The global L2 norm of `module`'s gradients; when above `clip` (> 0) they are scaled down to
/// it. (burn's `GradientClipping::Norm` clips each parameter tensor on its own.)
pub fn clip_global_norm<M: Module>(module: &M, grads: &mut GradientsParams, clip: f64) -> f64 {
    let mut visitor = SquaredNorm { grads, total: None };
    module.visit(&mut visitor);
    let norm = visitor
        .total
        .map_or(0.0, |t| f64::from(t.into_scalar::<f32>()).sqrt());
    if clip > 0.0 && norm > clip {
        module.visit(&mut ScaleGrads {
            grads,
            factor: clip / (norm + 1e-6),
        });
    }
    norm
}

/// Checks that the validation metric `monitor` (the setting `name`) is one the evaluator
/// computes, i.e. that it ends in one of its cut-offs (`NDCG@10` needs K = 10).
pub fn check_monitor(evaluator: &Evaluator, name: &str, monitor: &str) -> Result<(), TrainError> {
    let ks = &evaluator.config().ks;
    if ks.iter().any(|k| monitor.ends_with(&format!("@{k}"))) {
        Ok(())
    } else {
        Err(TrainError::Setting(format!(
            "{name} `{monitor}` is not computed: the evaluator's K values are {ks:?}"
        )))
    }
}

/// The best validation so far of a training stage, and how many validations have passed
/// without improving on it (what early stopping reads).
#[derive(Debug, Clone)]
pub struct BestSoFar<M> {
    best: Option<Best<M>>,
    since_best: usize,
}

/// The best validation of a stage: its model, when (an epoch for SFT, a step for RL), the
/// report and the monitored metric.
#[derive(Debug, Clone)]
pub struct Best<M> {
    pub model: M,
    pub at: usize,
    pub report: Report,
    pub metric: f64,
}

impl<M> Default for BestSoFar<M> {
    fn default() -> Self {
        BestSoFar {
            best: None,
            since_best: 0,
        }
    }
}

impl<M> BestSoFar<M> {
    /// Nothing validated yet.
    pub fn new() -> BestSoFar<M> {
        BestSoFar::default()
    }

    /// The state of a resumed stage: its best so far, `since_best` validations ago.
    pub fn resumed(best: Best<M>, since_best: usize) -> BestSoFar<M> {
        BestSoFar {
            best: Some(best),
            since_best,
        }
    }

    /// Records a validation; keeps `model()` when `metric` beats the best so far (strictly:
    /// a tie keeps the earlier model). Returns whether it improved.
    pub fn observe(
        &mut self,
        metric: f64,
        at: usize,
        report: &Report,
        model: impl FnOnce() -> M,
    ) -> bool {
        let improved = self.best.as_ref().is_none_or(|b| metric > b.metric);
        if improved {
            self.best = Some(Best {
                model: model(),
                at,
                report: report.clone(),
                metric,
            });
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        improved
    }

    /// Validations since the best one.
    pub fn since_best(&self) -> usize {
        self.since_best
    }

    /// Whether `patience` validations have passed without improvement.
    pub fn out_of_patience(&self, patience: usize) -> bool {
        self.best.is_some() && self.since_best >= patience
    }

    pub fn best(&self) -> Option<&Best<M>> {
        self.best.as_ref()
    }

    pub fn into_best(self) -> Option<Best<M>> {
        self.best
    }
}

/// An observer that ignores everything (of SFT, of the RL stage and of the `latentr3` library).
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;
impl<E: SequenceBackbone> Observer<E> for Silent {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_so_far_keeps_the_first_of_equal_metrics_and_counts_validations_since() {
        let report = Report {
            protocol: latentr3_eval::Protocol {
                split: "valid".into(),
                candidates: "all".into(),
                mask_history: true,
                ties: "against the target".into(),
                ks: vec![10],
                items: 3,
                cases: 1,
                head_cases: 1,
                tail_cases: 0,
            },
            metrics: Default::default(),
            alarms: Vec::new(),
        };
        let mut best = BestSoFar::new();
        assert!(!best.out_of_patience(0));
        assert!(best.observe(0.5, 0, &report, || "a"));
        assert!(!best.observe(0.5, 1, &report, || "b"));
        assert!(!best.observe(0.4, 2, &report, || "c"));
        assert_eq!(best.since_best(), 2);
        assert!(best.out_of_patience(2) && !best.out_of_patience(3));
        assert!(best.observe(0.6, 3, &report, || "d"));
        assert_eq!(best.since_best(), 0);
        let kept = best.into_best().unwrap();
        assert_eq!((kept.model, kept.at), ("d", 3));
    }
}
