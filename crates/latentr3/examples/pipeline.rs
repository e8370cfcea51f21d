//! The whole pipeline from an experiment file: SFT, RL, test reports, recommendations.
//! ```sh
//! cargo run --release -p latentr3 --example pipeline -- experiments/synthetic.toml runs/example
//! ```

use latentr3::burn::prelude::Device;
use latentr3::{Experiment, Options, SavedModel, Silent, Start};

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

    // The run directory alone rebuilds the model (its card holds architecture and item ids).
    let saved = SavedModel::load(trained.run.path(), None, &device)?;
    let history: Vec<&str> = saved.card.item_ids[1..4]
        .iter()
        .map(String::as_str)
        .collect();
    for item in saved.recommend(&history, 5)? {
        let title = item.title.as_deref().unwrap_or("");
        println!("{} {:.3} {title}", item.id, item.score);
    }
    Ok(())
}
