//! The RL stage on synthetic data: what it freezes, what it learns, its settings and errors.

use burn::module::{ModuleVisitor, Param};
use burn::prelude::*;
use latentr3_data::{DataConfig, Dataset, Popularity, Split, SplitConfig, SyntheticConfig};
use latentr3_eval::{Case, CollapseConfig, EvalConfig, Evaluator};
use latentr3_grpo::{
    AdvantageKind, ObjectiveKind, Observer, Outcome, Ranked, Reward, RewardKind, RewardTerm,
    Rewards, RlConfig, RlData, RlStepLog, RunOptions, train, train_with,
};
use latentr3_model::evaluation::{cases, item_stats};
use latentr3_model::{BackboneKind, Mode, ModelConfig, Recommender, TrainError};

struct Fixture {
    dataset: Dataset,
    split: Split,
    evaluator: Evaluator,
}

fn fixture() -> Fixture {
    let config = DataConfig {
        synthetic: Some(SyntheticConfig {
            users: 200,
            items: 80,
            topics: 4,
            min_length: 10,
            max_length: 20,
            ..SyntheticConfig::default()
        }),
        ..DataConfig::default()
    };
    let dataset = config.load().unwrap().dataset;
    let split = Split::new(&dataset, &SplitConfig::default()).unwrap();
    let popularity = Popularity::from_split(&dataset, &split);
    let evaluator = Evaluator::new(
        EvalConfig {
            ks: vec![10],
            ..EvalConfig::default()
        },
        item_stats(&popularity),
    )
    .unwrap();
    Fixture {
        dataset,
        split,
        evaluator,
    }
}

fn model(mode: Mode, thoughts: usize, device: &Device, items: usize) -> Recommender {
    model_of(BackboneKind::Sasrec, mode, thoughts, device, items)
}

fn model_of(
    backbone: BackboneKind,
    mode: Mode,
    thoughts: usize,
    device: &Device,
    items: usize,
) -> Recommender {
    device.seed(11);
    let config = ModelConfig {
        backbone,
        mode,
        thoughts,
        max_len: 8,
        hidden: 16,
        heads: 2,
        inner: 32,
        dropout: 0.0,
        ..ModelConfig::default()
    };
    Recommender::new(&config, items, device)
}

fn quick(config: RlConfig) -> RlConfig {
    RlConfig {
        epochs: 1,
        batch_size: 32,
        group_size: 4,
        warmup_steps: 0,
        lr: 1e-2,
        ..config
    }
}

/// Runs the stage and collects its step logs.
fn run(
    f: &Fixture,
    model: &Recommender,
    config: &RlConfig,
) -> Result<(latentr3_grpo::RlOutcome, Vec<RlStepLog>), TrainError> {
    run_with(f, model, config, None)
}

/// [`run`], with the caller's rewards instead of the settings' when given.
fn run_with(
    f: &Fixture,
    model: &Recommender,
    config: &RlConfig,
    rewards: Option<&Rewards>,
) -> Result<(latentr3_grpo::RlOutcome, Vec<RlStepLog>), TrainError> {
    struct Steps(Vec<RlStepLog>);
    impl Observer for Steps {
        fn on_step(&mut self, log: &RlStepLog) {
            self.0.push(log.clone());
        }
    }
    let valid: Vec<Case<'_>> = cases(&f.dataset, &f.split, &f.split.valid);
    let collapse = CollapseConfig::default();
    let data = RlData {
        dataset: &f.dataset,
        split: &f.split,
        evaluator: &f.evaluator,
        valid_cases: &valid,
        collapse: &collapse,
    };
    let mut steps = Steps(Vec::new());
    let device = Device::default();
    let outcome = match rewards {
        Some(rewards) => train_with(
            model,
            &device,
            &data,
            config,
            rewards,
            &mut steps,
            RunOptions::default(),
        )?,
        None => train(model, &device, &data, config, &mut steps)?,
    };
    Ok((outcome, steps.0))
}

/// Every float parameter's values, in visiting order.
fn parameters<M: Module>(module: &M) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0
                .push(param.val().into_data().try_into_vec_as::<f32>().unwrap());
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    collect.0
}

#[test]
fn only_the_head_changes() {
    let f = fixture();
    let device = Device::default();
    for backbone in [BackboneKind::Sasrec, BackboneKind::Gru4rec] {
        let sft = model_of(backbone, Mode::Latent, 1, &device, f.dataset.num_items());
        only_the_head_of(&f, &sft);
    }
}

fn only_the_head_of(f: &Fixture, sft: &Recommender) {
    let (outcome, steps) = run(f, sft, &quick(RlConfig::default())).unwrap();
    assert!(!steps.is_empty());
    // Bit-identical backbone (item embeddings, i.e. the output layer, included).
    assert_eq!(
        parameters(&outcome.best.backbone),
        parameters(&sft.backbone)
    );
    assert_ne!(
        parameters(outcome.best.head.as_ref().unwrap()),
        parameters(sft.head.as_ref().unwrap()),
        "the head must train"
    );
}

/// A briefly fine-tuned latent model, so rewards respond to the latent.
fn fine_tuned(f: &Fixture, device: &Device, backbone: BackboneKind) -> Recommender {
    let valid: Vec<Case<'_>> = cases(&f.dataset, &f.split, &f.split.valid);
    let data = latentr3_model::sft::SftData {
        dataset: &f.dataset,
        split: &f.split,
        evaluator: &f.evaluator,
        valid_cases: &valid,
    };
    let settings = latentr3_model::SftConfig {
        epochs: 4,
        batch_size: 32,
        lr: 5e-3,
        warmup_steps: 0,
        seed: 3,
        ..Default::default()
    };
    let untrained = model_of(backbone, Mode::Latent, 1, device, f.dataset.num_items());
    latentr3_model::sft::train(
        untrained,
        device,
        &data,
        &settings,
        &mut latentr3_model::Silent,
        Default::default(),
    )
    .unwrap()
    .best
}

#[test]
fn a_reward_of_ones_own_trains_through_the_same_code() {
    /// `log p(target)` written as a user would, plus a ranked reward to check `ranked` arrives.
    struct MyLogProb;
    impl Reward for MyLogProb {
        fn name(&self) -> String {
            "my_log_prob".into()
        }
        fn score(&self, outcome: &Outcome<'_>, _: Option<&Ranked<'_>>) -> f64 {
            outcome.log_prob
        }
    }
    struct HitAt3;
    impl Reward for HitAt3 {
        fn name(&self) -> String {
            "hit@3".into()
        }
        fn ranking(&self) -> Option<usize> {
            Some(3)
        }
        fn score(&self, _: &Outcome<'_>, ranked: Option<&Ranked<'_>>) -> f64 {
            let ranked = ranked.expect("asked for a ranking");
            assert!(ranked.top.len() <= 3);
            f64::from(u8::from(ranked.rank <= 3))
        }
    }
    let f = fixture();
    let device = Device::default();
    let sft = model(Mode::Latent, 1, &device, f.dataset.num_items());
    let config = RlConfig {
        rewards: vec![RewardTerm::new(RewardKind::LogProb, 1.0)],
        ..quick(RlConfig::default())
    };
    let (built_in, steps) = run(&f, &sft, &config).unwrap();
    let mine = Rewards::default().with(1.0, MyLogProb).with(0.0, HitAt3);
    let (custom, custom_steps) = run_with(&f, &sft, &config, Some(&mine)).unwrap();
    // The same objective through the trait: the same steps and the same head.
    assert_eq!(steps.len(), custom_steps.len());
    for (a, b) in steps.iter().zip(&custom_steps) {
        assert_eq!((a.loss, a.reward.mean), (b.loss, b.reward.mean));
        assert_eq!(b.terms[0].name, "my_log_prob");
        assert_eq!(b.terms[0].mean, a.terms[0].mean);
        assert_eq!(b.terms[1].name, "hit@3");
        assert!((0.0..=1.0).contains(&b.terms[1].mean));
    }
    assert_eq!(
        parameters(built_in.best.head.as_ref().unwrap()),
        parameters(custom.best.head.as_ref().unwrap())
    );
}

#[test]
fn the_reward_it_optimises_goes_up() {
    let f = fixture();
    let device = Device::default();
    // SASRec only: on this tiny fixture a GRU4Rec after 4 epochs barely departs from uniform
    // scores and its per-epoch reward moves by less than the noise between epochs (measured:
    // +0.001 to +0.006 at lr 1e-3 to 2e-2, not monotone). `only_the_head_changes` trains it.
    reward_goes_up(&f, &device, BackboneKind::Sasrec);
}

fn reward_goes_up(f: &Fixture, device: &Device, backbone: BackboneKind) {
    let sft = fine_tuned(f, device, backbone);
    let config = RlConfig {
        epochs: 6,
        rewards: vec![RewardTerm::new(RewardKind::LogProb, 1.0)],
        advantage: AdvantageKind::Group,
        objective: ObjectiveKind::GaussianPg,
        lr: 2e-2,
        ..quick(RlConfig::default())
    };
    let (_, steps) = run(f, &sft, &config).unwrap();
    let per_epoch = |epoch: usize| {
        let rewards: Vec<f64> = steps
            .iter()
            .filter(|s| s.epoch == epoch)
            .map(|s| s.reward.mean)
            .collect();
        rewards.iter().sum::<f64>() / rewards.len() as f64
    };
    // Each epoch averages the same windows, so the noise between epochs is ~1e-3.
    let means: Vec<f64> = (0..6).map(per_epoch).collect();
    assert!(
        means[1..].iter().all(|&m| m > means[0] + 0.005),
        "{backbone}: mean log p(target) per epoch: {means:?}"
    );
}

#[test]
fn same_seed_same_result_and_the_logs_are_complete() {
    let f = fixture();
    let device = Device::default();
    let sft = model(Mode::Latent, 1, &device, f.dataset.num_items());
    let config = RlConfig {
        rewards: vec![
            RewardTerm::new(RewardKind::NegPerplexity, 1.0),
            RewardTerm::new(RewardKind::Ndcg, 0.5),
            RewardTerm::new(RewardKind::TailBonus, 0.1),
        ],
        ..quick(RlConfig::default())
    };
    let (a, steps) = run(&f, &sft, &config).unwrap();
    let (b, _) = run(&f, &sft, &config).unwrap();
    assert_eq!(a.best_valid.metrics, b.best_valid.metrics);
    let log = &steps[0];
    let names: Vec<&str> = log.terms.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["neg_perplexity", "ndcg@10", "tail_bonus@10"]);
    assert!(log.sigma > 0.0 && log.latent_norm > 0.0 && log.grad_norm > 0.0);
    assert!(log.advantage.min <= log.advantage.max);
    // One iteration: the ratio is exactly 1, nothing is clipped.
    assert_eq!((log.clip_low_fraction, log.clip_high_fraction), (0.0, 0.0));
}

#[test]
fn gaussian_policy_gradient_with_several_iterations_and_kl() {
    let f = fixture();
    let device = Device::default();
    let sft = model(Mode::Latent, 1, &device, f.dataset.num_items());
    let config = RlConfig {
        objective: ObjectiveKind::GaussianPg,
        iterations: 4,
        kl_weight: 0.1,
        lr: 5e-2,
        ..quick(RlConfig::default())
    };
    let (outcome, steps) = run(&f, &sft, &config).unwrap();
    assert!(steps.iter().all(|s| s.loss.is_finite() && s.kl >= 0.0));
    assert!(
        steps.iter().any(|s| s.kl > 0.0),
        "the head moves away from SFT"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.clip_low_fraction + s.clip_high_fraction > 0.0),
        "later iterations move the ratio out of the clip range"
    );
    assert_eq!(
        parameters(&outcome.best.backbone),
        parameters(&sft.backbone)
    );
}

#[test]
fn settings_and_models_it_cannot_train_are_refused() {
    let f = fixture();
    let device = Device::default();
    let items = f.dataset.num_items();
    let backbone = model(Mode::Backbone, 1, &device, items);
    let message = run(&f, &backbone, &quick(RlConfig::default()))
        .unwrap_err()
        .to_string();
    assert!(message.contains("backbone mode"), "{message}");
    let chained = model(Mode::Latent, 2, &device, items);
    let message = run(&f, &chained, &quick(RlConfig::default()))
        .unwrap_err()
        .to_string();
    assert!(message.contains("one latent thought"), "{message}");
    let latent = model(Mode::Latent, 1, &device, items);
    for (bad, expected) in [
        (
            RlConfig {
                rewards: vec![],
                ..RlConfig::default()
            },
            "rewards is empty",
        ),
        (
            RlConfig {
                monitor: "NDCG@7".into(),
                ..RlConfig::default()
            },
            "NDCG@7",
        ),
        (
            RlConfig {
                group_size: 1,
                advantage: AdvantageKind::Group,
                ..RlConfig::default()
            },
            "group_size",
        ),
    ] {
        let message = run(&f, &latent, &bad).unwrap_err().to_string();
        assert!(message.contains(expected), "{message}");
    }
}

/// A reward that turns NaN in the second batch stops the stage with an error naming that step
/// (never a silently poisoned head).
/// A stage that only makes the head worse hands back the head it was given: the SFT model is
/// the incumbent of the stage's model selection (a reward that pushes the target's probability
/// down, at a large learning rate).
#[test]
fn a_stage_that_only_hurts_hands_back_the_sft_head() {
    struct Unlearn;
    impl Reward for Unlearn {
        fn name(&self) -> String {
            "unlearn".into()
        }
        fn score(&self, outcome: &Outcome<'_>, _: Option<&Ranked<'_>>) -> f64 {
            -outcome.log_prob
        }
    }
    let f = fixture();
    let device = Device::default();
    let sft = fine_tuned(&f, &device, BackboneKind::Sasrec);
    let rewards = Rewards::default().with(1.0, Unlearn);
    let config = RlConfig {
        eval_every: 2,
        lr: 1.0,
        ..quick(RlConfig::default())
    };
    let (outcome, steps) = run_with(&f, &sft, &config, Some(&rewards)).unwrap();
    assert!(steps.len() >= 4, "{} steps", steps.len());
    assert_eq!(
        outcome.best_step, 0,
        "an RL head that validates worse was kept"
    );
    assert_eq!(parameters(&outcome.best), parameters(&sft));
    assert_eq!(
        outcome.best_valid.metric("NDCG@10"),
        outcome.reference_valid.metric("NDCG@10")
    );
}

#[test]
fn a_non_finite_reward_stops_the_stage_naming_its_step() {
    struct PoisonAfterFirstBatch(std::sync::atomic::AtomicUsize);
    impl Reward for PoisonAfterFirstBatch {
        fn name(&self) -> String {
            "poison".into()
        }
        fn score(&self, outcome: &Outcome<'_>, _: Option<&Ranked<'_>>) -> f64 {
            let calls = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // 32 rows × 4 members in the first batch.
            if calls >= 32 * 4 {
                f64::NAN
            } else {
                outcome.log_prob
            }
        }
    }
    let f = fixture();
    let device = Device::default();
    let sft = model(Mode::Latent, 1, &device, f.dataset.num_items());
    let rewards = Rewards::default().with(1.0, PoisonAfterFirstBatch(Default::default()));
    match run_with(&f, &sft, &quick(RlConfig::default()), Some(&rewards)) {
        Err(TrainError::NonFinite { step, epoch, value }) => {
            assert_eq!((step, epoch), (1, 0));
            assert!(value.is_nan());
        }
        other => panic!(
            "expected a non-finite error, got {:?}",
            other.map(|(o, _)| o.steps)
        ),
    }
}
