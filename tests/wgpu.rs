//! The `wgpu` feature: a few SFT steps on wgpu (a software Vulkan adapter, lavapipe, on
//! machines without a GPU) give the same losses as on flex from the same weights and batches.
//! `cargo test -p latentr3-cli --features wgpu --test wgpu`; CI installs lavapipe and runs it.
#![cfg(feature = "wgpu")]

use burn::optim::GradientsParams;
use burn::prelude::*;
use latentr3::data::{DataConfig, Split, SplitConfig, SyntheticConfig, TrainBatch, TrainBatcher};
use latentr3::model::sft::{SftConfig, batch_loss, optimizer};
use latentr3::model::{Mode, ModelConfig, Recommender};

/// Relative agreement required of every step's loss. The two backends sum in different
/// orders, and the difference grows over steps through the updated weights.
const TOLERANCE: f32 = 1e-3;

fn losses(device: &Device, model: &Recommender, batches: &[TrainBatch]) -> Vec<f32> {
    let train_device = device.clone().autodiff();
    let mut model = model.clone().fork(&train_device).train();
    let mut optimizer = optimizer(&SftConfig::default());
    let mut losses = Vec::with_capacity(batches.len());
    for batch in batches {
        let (loss, _) = batch_loss(&model, batch, 1.0, &train_device);
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(1e-2, model, grads);
    }
    losses
}

#[test]
fn wgpu_training_steps_match_flex() {
    let dataset = DataConfig {
        synthetic: Some(SyntheticConfig {
            users: 100,
            items: 50,
            min_length: 8,
            max_length: 16,
            ..SyntheticConfig::default()
        }),
        ..DataConfig::default()
    }
    .load()
    .unwrap()
    .dataset;
    let split = Split::new(&dataset, &SplitConfig::default()).unwrap();
    let mut batches: Vec<TrainBatch> = TrainBatcher::new(&dataset, &split, 10, 16)
        .epoch(&dataset, 1)
        .take(4)
        .collect();
    // The first batch again after four updates: its loss must have gone down.
    batches.push(batches[0].clone());
    let flex = Device::flex();
    flex.seed(3);
    // No dropout: the two backends draw different random numbers.
    let config = ModelConfig {
        mode: Mode::Latent,
        max_len: 10,
        hidden: 16,
        heads: 2,
        inner: 32,
        dropout: 0.0,
        ..ModelConfig::default()
    };
    let model = Recommender::new(&config, dataset.num_items(), &flex);
    let on_flex = losses(&flex, &model, &batches);
    let on_wgpu = losses(&Device::wgpu(DeviceKind::DefaultDevice), &model, &batches);
    eprintln!("losses on flex {on_flex:?}\nlosses on wgpu {on_wgpu:?}");
    for (step, (a, b)) in on_flex.iter().zip(&on_wgpu).enumerate() {
        assert!(
            (a - b).abs() <= TOLERANCE * a.abs(),
            "step {step}: flex {a} vs wgpu {b} (all: {on_flex:?} vs {on_wgpu:?})"
        );
    }
    assert!(
        on_flex[4] < on_flex[0] - 0.01,
        "the steps train: {on_flex:?}"
    );
}
