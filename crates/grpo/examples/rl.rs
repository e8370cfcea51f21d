//! SFT then LR-GRPO on a small synthetic dataset, printing the validation NDCG@10 of both
//! checkpoints: `cargo run --example rl -p latentr3-grpo`.

use burn::prelude::*;
use latentr3_data::{DataConfig, Popularity, Split, SplitConfig, SyntheticConfig};
use latentr3_eval::{CollapseConfig, EvalConfig, Evaluator};
use latentr3_grpo::{RlConfig, RlData, Silent};
use latentr3_model::evaluation::{cases, item_stats};
use latentr3_model::sft::{self, SftData};
use latentr3_model::{ModelConfig, Recommender, SftConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dataset = DataConfig {
        synthetic: Some(SyntheticConfig {
            users: 500,
            items: 200,
            ..SyntheticConfig::default()
        }),
        ..DataConfig::default()
    }
    .load()?
    .dataset;
    let split = Split::new(&dataset, &SplitConfig::default())?;
    let evaluator = Evaluator::new(
        EvalConfig::default(),
        item_stats(&Popularity::from_split(&dataset, &split)),
    )?;
    let valid = cases(&dataset, &split, &split.valid);

    let device = Device::default();
    device.seed(1);
    let config = ModelConfig {
        max_len: 30,
        ..ModelConfig::default()
    };
    let model = Recommender::new(&config, dataset.num_items(), &device);
    let sft_settings = SftConfig {
        epochs: 5,
        batch_size: 64,
        lr: 3e-3,
        warmup_steps: 10,
        ..SftConfig::default()
    };
    let sft_data = SftData {
        dataset: &dataset,
        split: &split,
        evaluator: &evaluator,
        valid_cases: &valid,
    };
    let sft = sft::train(
        model,
        &device,
        &sft_data,
        &sft_settings,
        &mut sft::Silent,
        Default::default(),
    )?;

    let collapse = CollapseConfig::default();
    let rl_data = RlData {
        dataset: &dataset,
        split: &split,
        evaluator: &evaluator,
        valid_cases: &valid,
        collapse: &collapse,
    };
    let rl_settings = RlConfig {
        epochs: 2,
        batch_size: 64,
        ..RlConfig::default()
    };
    let rl = latentr3_grpo::train(&sft.best, &device, &rl_data, &rl_settings, &mut Silent)?;
    println!(
        "valid NDCG@10: SFT {:.4}, RL {:.4} (best step {} of {})",
        rl.reference_valid.metric("NDCG@10").unwrap_or(f64::NAN),
        rl.best_valid.metric("NDCG@10").unwrap_or(f64::NAN),
        rl.best_step,
        rl.steps
    );
    Ok(())
}
