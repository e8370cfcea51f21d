//! The RL stage with a reward of one's own: reward the latent when the target ranks in the top
//! 5 and the list holds few of the most popular items.
//!
//! ```sh
//! cargo run --release -p latentr3 --example custom_reward -- experiments/synthetic.toml
//! ```

use latentr3::burn::prelude::Device;
use latentr3::grpo::{Outcome, Ranked, Reward, Rewards, RlData};
use latentr3::{Experiment, Options, SavedRun, Silent, Start};

/// 1 for a top-5 hit, minus the share of the 100 most popular items in the top 5.
struct HitWithoutBlockbusters {
    popular: Vec<bool>,
}

impl Reward for HitWithoutBlockbusters {
    fn name(&self) -> String {
        "hit_without_blockbusters@5".into()
    }
    fn ranking(&self) -> Option<usize> {
        Some(5)
    }
    fn score(&self, _: &Outcome<'_>, ranked: Option<&Ranked<'_>>) -> f64 {
        let ranked = ranked.expect("ranking() asks for the top 5");
        let popular = ranked
            .top
            .iter()
            .filter(|&&i| self.popular[i as usize])
            .count();
        f64::from(u8::from(ranked.rank <= 5)) - popular as f64 / 5.0
    }
}

fn main() -> Result<(), latentr3::Error> {
    let config = std::env::args()
        .nth(1)
        .unwrap_or("experiments/synthetic.toml".into());
    let device = Device::default();
    // SFT only, through the pipeline; then the RL stage here.
    let experiment = Experiment::load(config.as_ref(), &["rl.epochs=0".into()])?;
    let start = Start::New {
        experiment,
        out: Some("runs/custom-reward-sft".into()),
        init: None,
    };
    let trained = latentr3::train(start, &device, &Options::default(), &mut Silent)?;
    let run = SavedRun::load(trained.run.path(), &[], None, &device, &mut Silent)?;
    let counts = &run.prepared.popularity.counts;
    let mut order: Vec<usize> = (1..counts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(counts[i]));
    let mut popular = vec![false; counts.len()];
    order.iter().take(100).for_each(|&i| popular[i] = true);
    let rewards = Rewards::default().with(1.0, HitWithoutBlockbusters { popular });

    let valid = run.prepared.cases(true);
    let (p, collapse) = (&run.prepared, &run.experiment.collapse);
    let data = RlData {
        dataset: &p.dataset,
        split: &p.split,
        evaluator: &p.evaluator,
        valid_cases: &valid,
        collapse,
    };
    let settings = latentr3::grpo::RlConfig {
        epochs: 2,
        ..run.experiment.rl.clone()
    };
    let outcome = latentr3::grpo::train_with(
        &run.model,
        &device,
        &data,
        &settings,
        &rewards,
        &mut Silent,
        latentr3::grpo::RunOptions::default(),
    )?;
    println!(
        "SFT (validation):\n{}\nRL with the custom reward:\n{}",
        outcome.reference_valid, outcome.best_valid
    );
    Ok(())
}
