//! Inference cost of latent thoughts: scores every item for 943 histories of 50 items over 1,682
//! items (ml-100k's shape, SASRec settings) with the plain backbone, one thought and two
//! thoughts, interleaved, 15 rounds; prints medians and the ratio to the backbone.
//! `cargo bench -p latentr3-model --bench thoughts`

use std::time::Instant;

use burn::prelude::*;
use latentr3_model::{Inputs, Mode, ModelConfig, Recommender};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let device = Device::default();
    device.seed(0);
    let (users, items, len, batch) = (943usize, 1682usize, 50usize, 256usize);
    let histories: Vec<Vec<u32>> = (0..users)
        .map(|u| {
            (0..len)
                .map(|p| ((u * 31 + p * 17) % items) as u32 + 1)
                .collect()
        })
        .collect();
    let variants = [
        ("backbone", Mode::Backbone, 0),
        ("latent, 1 thought", Mode::Latent, 1),
        ("latent, 2 thoughts", Mode::Latent, 2),
    ];
    let models: Vec<Recommender> = variants
        .iter()
        .map(|&(_, mode, thoughts)| {
            let config = ModelConfig {
                mode,
                thoughts: thoughts.max(1),
                ..ModelConfig::default()
            };
            Recommender::new(&config, items, &device).valid()
        })
        .collect();
    let run = |model: &Recommender| {
        let started = Instant::now();
        for chunk in histories.chunks(batch) {
            let refs: Vec<&[u32]> = chunk.iter().map(Vec::as_slice).collect();
            let scores = model.scores(&Inputs::from_histories(&refs, len, &device));
            let _: Vec<f32> = scores.into_data().try_into_vec_as::<f32>().expect("scores");
        }
        started.elapsed().as_secs_f64()
    };
    for model in &models {
        run(model); // warm-up
    }
    let mut times = vec![Vec::new(); models.len()];
    for _ in 0..15 {
        for (model, t) in models.iter().zip(&mut times) {
            t.push(run(model));
        }
    }
    let medians: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            t[t.len() / 2]
        })
        .collect();
    for ((name, _, _), median) in variants.iter().zip(&medians) {
        println!(
            "{name:<20} median {:>8.1} ms for {users} users ({:>8.0} users/s), {:.3}x backbone",
            median * 1e3,
            users as f64 / median,
            median / medians[0]
        );
    }
}
