//! Fixtures shared by the model test binaries.
#![allow(dead_code)]

use burn::prelude::*;
use latentr3_data::{DataConfig, Popularity, Split, SyntheticConfig};
use latentr3_eval::{Case, EvalConfig, Evaluator};
use latentr3_model::evaluation::item_stats;
use latentr3_model::sft::{SftConfig, SftData, Silent, train};
use latentr3_model::{Mode, ModelConfig, Recommender, SftOutcome, TrainError};

pub fn small(mode: Mode) -> ModelConfig {
    ModelConfig {
        mode,
        max_len: 6,
        hidden: 16,
        heads: 2,
        inner: 32,
        dropout: 0.0,
        ..ModelConfig::default()
    }
}

pub struct Fixture {
    pub dataset: latentr3_data::Dataset,
    pub split: Split,
    pub evaluator: Evaluator,
    pub counts: Vec<u64>,
}

pub fn fixture() -> Fixture {
    let config = DataConfig {
        synthetic: Some(SyntheticConfig {
            users: 300,
            items: 120,
            topics: 4,
            intents_per_user: 1,
            rule_probability: 0.9,
            min_length: 10,
            max_length: 24,
            ..SyntheticConfig::default()
        }),
        ..DataConfig::default()
    };
    harness(config.load().unwrap().dataset, vec![10])
}

/// Split (leave-one-out) and evaluator around a dataset.
pub fn harness(dataset: latentr3_data::Dataset, ks: Vec<usize>) -> Fixture {
    let split = Split::new(&dataset, &latentr3_data::SplitConfig::default()).unwrap();
    let popularity = Popularity::from_split(&dataset, &split);
    let evaluator = Evaluator::new(
        EvalConfig {
            ks,
            ..EvalConfig::default()
        },
        item_stats(&popularity),
    )
    .unwrap();
    Fixture {
        counts: popularity.counts,
        dataset,
        split,
        evaluator,
    }
}

pub fn cases<'a>(f: &'a Fixture, valid: bool) -> Vec<Case<'a>> {
    let samples = if valid { &f.split.valid } else { &f.split.test };
    latentr3_model::evaluation::cases(&f.dataset, &f.split, samples)
}

impl Fixture {
    /// SFT on the fixture's data with its validation cases, silently.
    pub fn train(
        &self,
        model: Recommender,
        device: &Device,
        settings: &SftConfig,
    ) -> Result<SftOutcome, TrainError> {
        let valid = cases(self, true);
        let data = SftData {
            dataset: &self.dataset,
            split: &self.split,
            evaluator: &self.evaluator,
            valid_cases: &valid,
        };
        train(
            model,
            device,
            &data,
            settings,
            &mut Silent,
            Default::default(),
        )
    }
}

pub fn sft(mode: Mode, epochs: usize, f: &Fixture) -> (f64, f64) {
    let device = Device::default();
    device.seed(7);
    let config = ModelConfig {
        max_len: 20,
        hidden: 32,
        heads: 2,
        inner: 64,
        dropout: 0.1,
        ..small(mode)
    };
    let model = Recommender::new(&config, f.dataset.num_items(), &device);
    let settings = SftConfig {
        epochs,
        batch_size: 64,
        lr: 3e-3,
        warmup_steps: 5,
        patience: 100,
        seed: 7,
        ..SftConfig::default()
    };
    let outcome = f.train(model, &device, &settings).unwrap();
    assert_eq!(outcome.epochs_run, epochs);
    let test = cases(f, false);
    let report = f
        .evaluator
        .evaluate(
            &latentr3_model::ModelScorer::new(&outcome.best),
            &test,
            "test",
        )
        .unwrap()
        .report;
    (
        outcome.best_valid.metric("NDCG@10").unwrap(),
        report.metric("NDCG@10").unwrap(),
    )
}
