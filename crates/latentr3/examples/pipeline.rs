//! The whole pipeline from an experiment file: SFT, RL, test reports, then the saved run read
//! back and asked for recommendations.
//!
//! ```sh
//! cargo run --release -p latentr3 --example pipeline -- experiments/synthetic.toml runs/example
//! ```

use latentr3::burn::prelude::Device;
use latentr3::{Experiment, Options, SavedRun, Silent, Start};

fn main() -> Result<(), latentr3::Error> {
    let mut args = std::env::args().skip(1);
    let config = args.next().unwrap_or("experiments/synthetic.toml".into());
    let out = args.next().unwrap_or("runs/example".into());
    let overrides: Vec<String> = args.collect();

    let device = Device::default();
    let experiment = Experiment::load(config.as_ref(), &overrides)?;
    let start = Start::New {
        experiment,
        out: Some(out.into()),
        init: None,
    };
    let trained = latentr3::train(start, &device, &Options::default(), &mut Silent)?;
    let report = trained.report.expect("the run was not stopped early");
    println!("SFT checkpoint:\n{}", report.sft);
    if let Some(rl) = &report.rl {
        println!("RL checkpoint:\n{rl}");
    }

    // A run directory alone rebuilds the model.
    let run = SavedRun::load(trained.run.path(), &[], None, &device, &mut Silent)?;
    let user = run.prepared.cases(false)[0];
    let history: Vec<&str> = user
        .history
        .iter()
        .map(|&i| run.prepared.dataset.item_ids[i as usize].as_str())
        .collect();
    for item in run.recommend(&history, 5)? {
        println!(
            "{} {:.3} {}",
            item.id,
            item.score,
            item.title.as_deref().unwrap_or("")
        );
    }
    Ok(())
}
