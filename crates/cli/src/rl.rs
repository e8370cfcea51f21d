//! The RL stage of `latentr3 train`: progress, TensorBoard scalars and the `rl.bpk` checkpoint
//! around `latentr3_grpo::train`, and the SFT-versus-RL comparison on the test split.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use burn::prelude::*;
use indicatif::ProgressBar;
use latentr3_eval::{PairedComparison, Report};
use latentr3_grpo::{EvalLog, Observer, RlData, RlOutcome, StepLog};
use latentr3_model::{ModelScorer, Recommender, TrainError};
use serde::{Deserialize, Serialize};

use crate::commands::{Prepared, cases};
use crate::experiment::Experiment;
use crate::tensorboard::Board;
use crate::train::save_checkpoint;

/// What the RL stage adds to a run's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RlSummary {
    /// Optimisation steps (batches) taken.
    pub steps: usize,
    /// The step of the best validation (the `rl.bpk` checkpoint).
    pub best_step: usize,
    /// `finished`, `alarm` or `patience`.
    pub stop: String,
    /// Validation of the SFT checkpoint (the collapse monitor's reference) and of the best head.
    pub valid_sft: Report,
    pub valid_rl: Report,
    /// Wall time of each RL epoch's steps and of the SFT epochs' steps (validation excluded).
    pub rl_epoch_seconds: Vec<f64>,
    pub sft_epoch_seconds: Vec<f64>,
}

/// `report.json`: the test reports of the SFT and RL checkpoints and their paired comparison.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub sft: Report,
    pub rl: Option<Report>,
    /// RL − SFT on the test cases of `rl`, under its protocol (paired bootstrap).
    pub rl_vs_sft: Vec<PairedComparison>,
    pub rl_stage: Option<RlSummary>,
}

struct RlObserver<'a> {
    board: &'a mut Board,
    bar: Option<ProgressBar>,
    checkpoint: PathBuf,
    monitor: String,
    started: Instant,
    /// Global step offset so RL scalars follow the SFT steps on TensorBoard's x axis.
    offset: usize,
}

impl Observer for RlObserver<'_> {
    fn on_start(&mut self, total_steps: usize, reference: &Report) {
        eprintln!(
            "RL stage: {total_steps} steps; SFT checkpoint valid {} {:.4}",
            self.monitor,
            reference.metric(&self.monitor).unwrap_or(f64::NAN)
        );
        self.board.report("rl_valid", reference, self.offset);
    }

    fn on_epoch_start(&mut self, epoch: usize, batches: usize) {
        self.bar = Some(crate::progress::epoch_bar("rl epoch", epoch, batches));
    }

    fn on_step(&mut self, log: &StepLog) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(format!(
                "reward {:.4}, |A| std {:.3}, {:.0} seq/s",
                log.reward.mean, log.advantage.std, log.sequences_per_second
            ));
        }
        let step = self.offset + log.step;
        let b = &mut *self.board;
        b.scalar("rl/loss", log.loss, step);
        b.scalar("rl/lr", log.lr, step);
        b.scalar("rl/grad_norm", log.grad_norm, step);
        for term in log.terms.iter().chain(std::iter::once(&log.reward)) {
            b.scalar(&format!("rl/reward/{}/mean", term.name), term.mean, step);
            b.scalar(&format!("rl/reward/{}/std", term.name), term.std, step);
        }
        b.scalar(
            "rl/zero_spread_groups",
            log.advantage.zero_spread_groups,
            step,
        );
        b.scalar("rl/advantage/mean", log.advantage.mean, step);
        b.scalar("rl/advantage/std", log.advantage.std, step);
        b.scalar("rl/advantage/min", log.advantage.min, step);
        b.scalar("rl/advantage/max", log.advantage.max, step);
        b.scalar("rl/clip/low", log.clip_low_fraction, step);
        b.scalar("rl/clip/high", log.clip_high_fraction, step);
        b.scalar("rl/latent_norm", log.latent_norm, step);
        b.scalar("rl/sigma", log.sigma, step);
        b.scalar("rl/kl", log.kl, step);
        b.scalar("rl/sequences_per_second", log.sequences_per_second, step);
    }

    fn on_epoch_end(&mut self, epoch: usize, train_seconds: f64) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        self.board
            .scalar("rl/epoch_train_seconds", train_seconds, epoch);
    }

    fn on_eval(&mut self, log: &EvalLog, model: &Recommender) -> Result<(), TrainError> {
        let metric = |name: &str| log.valid.metric(name).unwrap_or(f64::NAN);
        let line = format!(
            "rl step {:>5}: valid {} {:.4}, HR@10 {:.4}, ItemCoverage@10 {:.3}, Gini@10 {:.3}, APLT@10 {:.3} ({:.0}s){}",
            log.step,
            self.monitor,
            metric(&self.monitor),
            metric("HR@10"),
            metric("ItemCoverage@10"),
            metric("Gini@10"),
            metric("APLT@10"),
            self.started.elapsed().as_secs_f64(),
            if log.improved { " (best)" } else { "" }
        );
        let alarms = log
            .valid
            .alarms
            .iter()
            .map(|a| format!("collapse alarm: {a}"));
        for line in std::iter::once(line).chain(alarms) {
            match &self.bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
        let step = self.offset + log.step;
        self.board.report("rl_valid", &log.valid, step);
        self.board
            .scalar("rl/alarms", log.valid.alarms.len() as f64, step);
        self.board.flush();
        if log.improved {
            save_checkpoint(model, &self.checkpoint)?;
        }
        Ok(())
    }
}

/// Runs the RL stage from `sft` and returns its outcome, or `None` when the experiment has no
/// RL stage (backbone mode, or `rl.epochs = 0`).
pub fn run_stage(
    sft: &Recommender,
    device: &Device,
    prepared: &Prepared,
    experiment: &Experiment,
    board: &mut Board,
    checkpoints: &std::path::Path,
    sft_steps: usize,
) -> Result<Option<RlOutcome>> {
    if experiment.rl.epochs == 0 {
        return Ok(None);
    }
    if sft.head.is_none() {
        eprintln!("RL stage skipped: backbone mode has no latent head");
        return Ok(None);
    }
    let valid_cases = cases(&prepared.dataset, &prepared.split, true);
    let data = RlData {
        dataset: &prepared.dataset,
        split: &prepared.split,
        evaluator: &prepared.evaluator,
        valid_cases: &valid_cases,
        collapse: &experiment.collapse,
    };
    let mut observer = RlObserver {
        board,
        bar: None,
        checkpoint: checkpoints.join("rl.bpk"),
        monitor: experiment.rl.monitor.clone(),
        started: Instant::now(),
        offset: sft_steps,
    };
    let outcome = latentr3_grpo::train(sft, device, &data, &experiment.rl, &mut observer)
        .with_context(|| {
            format!(
                "the RL stage stopped; the SFT checkpoint is {}",
                checkpoints.join("sft.bpk").display()
            )
        })?;
    eprintln!(
        "RL: best step {} of {} ({:?}), {:.1}s",
        outcome.best_step,
        outcome.steps,
        outcome.stop,
        observer.started.elapsed().as_secs_f64()
    );
    Ok(Some(outcome))
}

/// Paired bootstrap of RL − SFT on the test cases, for HR and NDCG at every K, from the RL
/// checkpoint's test ranks (the SFT stage keeps only its report, so its ranks are recomputed).
pub fn compare_on_test(
    sft: &Recommender,
    rl_ranks: &[u32],
    prepared: &Prepared,
) -> Result<Vec<PairedComparison>> {
    let test = cases(&prepared.dataset, &prepared.split, false);
    let sft = prepared
        .evaluator
        .evaluate(&ModelScorer::new(sft), &test, "test")?;
    crate::train::paired_comparisons(&prepared.evaluator, &sft.ranks, rl_ranks)
}

/// The SFT-versus-RL table printed at the end of `latentr3 train`.
pub fn print_comparison(report: &RunReport) {
    let Some(rl) = &report.rl else {
        return;
    };
    println!("\nSFT vs RL checkpoint, {}", rl.protocol_line());
    println!(
        "{:<16}{:>10}{:>10}{:>10}",
        "metric", "SFT", "RL", "RL - SFT"
    );
    for (name, value) in &rl.metrics {
        let base = report.sft.metric(name).unwrap_or(f64::NAN);
        println!("{name:<16}{base:>10.4}{value:>10.4}{:>+10.4}", value - base);
    }
    println!("paired bootstrap, 95% interval of RL - SFT:");
    for c in &report.rl_vs_sft {
        println!(
            "{:<16}[{:+.4}, {:+.4}]  {}",
            c.metric,
            c.low,
            c.high,
            c.verdict_between("SFT", "RL")
        );
    }
}
