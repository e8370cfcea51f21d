//! Self-describing checkpoints: `checkpoints/model.json` beside the weights holds everything
//! needed to rebuild the model and speak the data's ids, so a run directory alone serves
//! recommendations (the data file may be gone).

use std::path::Path;

use burn::prelude::*;
use latentr3_data::Dataset;
use latentr3_data::dataset::{find_item, item_title};
use latentr3_model::{Inputs, ModelConfig, Recommender, SequenceBackbone};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::Experiment;
use crate::run_dir::{RunDir, Stage, write_atomic};

/// The checkpoint format this version of latentr3 writes and reads.
pub const FORMAT_VERSION: u32 = 2;

/// What a checkpoint is: architecture, catalogue and ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelCard {
    /// The checkpoint format; a card of another version is refused with a message.
    pub format_version: u32,
    /// The dataset's name.
    pub dataset: String,
    pub model: ModelConfig,
    /// Real items (ids `1..=num_items`; 0 is padding).
    pub num_items: usize,
    /// The original id of every dense item id (index 0: padding).
    pub item_ids: Vec<String>,
    /// Titles by dense id, when the data has them (empty: unknown).
    pub titles: Option<Vec<String>>,
    /// Whether the run's evaluation masks what the user has seen; recommendations follow it.
    pub mask_history: bool,
}

impl ModelCard {
    /// The card of `experiment`'s model trained on `dataset`.
    pub fn new(experiment: &Experiment, dataset: &Dataset) -> ModelCard {
        ModelCard {
            format_version: FORMAT_VERSION,
            dataset: dataset.name.clone(),
            model: experiment.model.clone(),
            num_items: dataset.num_items(),
            item_ids: dataset.item_ids.clone(),
            titles: dataset.titles.clone(),
            mask_history: experiment.eval.mask_history,
        }
    }

    /// Writes the card into the run's checkpoint directory.
    pub fn write(&self, run: &RunDir) -> Result<()> {
        let json = serde_json::to_vec(self).map_err(Error::json(run.card()))?;
        write_atomic(&run.card(), &json)
    }

    /// Reads a run's card; refuses a card of another format version.
    pub fn read(run: &RunDir) -> Result<ModelCard> {
        let path = run.card();
        let bytes = std::fs::read(&path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                Error::Run(format!(
                    "{} has no {}: it was written by an older latentr3, before checkpoint format {FORMAT_VERSION}; use the latentr3 release that wrote it, or train the run anew",
                    run.path().display(),
                    path.display()
                ))
            } else {
                Error::io("read", &path)(source)
            }
        })?;
        #[derive(Deserialize)]
        struct Version {
            format_version: u32,
        }
        let version: Version = serde_json::from_slice(&bytes).map_err(Error::json(&path))?;
        if version.format_version != FORMAT_VERSION {
            return Err(Error::Run(format!(
                "{}: checkpoint format version {}, but this latentr3 reads version {FORMAT_VERSION}; use the latentr3 release that wrote it, or train the run anew",
                path.display(),
                version.format_version
            )));
        }
        serde_json::from_slice(&bytes).map_err(Error::json(&path))
    }

    /// The dense id of an original item id (never the padding id).
    pub fn item(&self, original: &str) -> Option<u32> {
        find_item(&self.item_ids, original).filter(|&i| i > 0)
    }

    pub fn title(&self, item: u32) -> Option<&str> {
        item_title(self.titles.as_deref(), item)
    }
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// The item's original id.
    pub id: String,
    pub score: f32,
    pub title: Option<String>,
}

/// A checkpoint rebuilt from its run directory alone (no data needed).
pub struct SavedModel {
    pub card: ModelCard,
    pub model: Recommender,
    /// The checkpoint loaded.
    pub stage: Stage,
}

impl SavedModel {
    /// Loads the checkpoint of `stage` (default: RL when the run has one, else SFT) of run
    /// `path` from its card and weights.
    pub fn load(path: &Path, stage: Option<Stage>, device: &Device) -> Result<SavedModel> {
        let run = RunDir::new(path);
        let stage = run.stage(stage);
        let checkpoint = run.checkpoint(stage);
        if !checkpoint.exists() {
            return Err(Error::Run(format!(
                "{} has no {} checkpoint ({} is missing)",
                path.display(),
                match stage {
                    Stage::Sft => "SFT",
                    Stage::Rl => "RL; use --stage sft",
                },
                checkpoint.display()
            )));
        }
        let card = ModelCard::read(&run)?;
        crate::run_dir::verify_checkpoint(&checkpoint)?;
        let model = Recommender::new(&card.model, card.num_items, device)
            .try_load_file(&checkpoint)
            .map_err(Error::checkpoint("load", &checkpoint))?;
        Ok(SavedModel { card, model, stage })
    }

    /// The `k` best items after `history` (original item ids, oldest first). When the run masks
    /// seen items, no history item is recommended again, as the evaluator masks them; ties go
    /// to the lower item id.
    pub fn recommend(&self, history: &[&str], k: usize) -> Result<Vec<Recommendation>> {
        let card = &self.card;
        let mut items = Vec::with_capacity(history.len());
        for original in history {
            match card.item(original) {
                Some(item) => items.push(item),
                None => {
                    let examples: Vec<&str> = card
                        .item_ids
                        .iter()
                        .skip(1)
                        .take(5)
                        .map(String::as_str)
                        .collect();
                    return Err(Error::Input(format!(
                        "--history: item `{original}` is not in {} (after filtering); its ids look like {}",
                        card.dataset,
                        examples.join(", ")
                    )));
                }
            }
        }
        if items.is_empty() {
            return Err(Error::Input(
                "--history is empty; give original item ids such as --history 12,7,33".into(),
            ));
        }
        if k == 0 || k > card.num_items {
            return Err(Error::Input(format!(
                "-k must be between 1 and {}",
                card.num_items
            )));
        }
        let device = self.model.backbone.device();
        let histories: Vec<&[u32]> = vec![&items];
        let inputs = Inputs::from_histories(&histories, self.model.backbone.max_len(), &device);
        let scores: Vec<f32> = self
            .model
            .valid()
            .scores(&inputs)
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("float scores");
        let mut ranked = scores.clone();
        let mut top = Vec::with_capacity(k);
        let seen: &[u32] = if card.mask_history { &items } else { &[] };
        latentr3_eval::top_row(&mut ranked, seen, k, &mut top);
        Ok(top
            .into_iter()
            .map(|item| Recommendation {
                id: card.item_ids[item as usize].clone(),
                score: scores[item as usize],
                title: card.title(item).map(str::to_string),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Options, SavedRun, Silent, Start, train};
    use latentr3_model::BackboneKind;

    /// A GRU4Rec run goes through the same SFT and RL pipeline as SASRec, and its directory
    /// alone rebuilds the model that produced the run's report.
    #[test]
    fn a_gru4rec_run_trains_both_stages_and_reloads_from_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("gru.toml");
        std::fs::write(
            &config,
            "[data]\ncache = false\n[data.synthetic]\nusers = 60\nitems = 40\nmin_length = 8\n\
             max_length = 16\n[model]\nbackbone = \"gru4rec\"\nmax_len = 8\nhidden = 16\n\
             gru_state = 24\ndropout = 0.0\n[sft]\nepochs = 2\nbatch_size = 16\n\
             [rl]\nepochs = 1\nbatch_size = 16\ngroup_size = 4\n",
        )
        .unwrap();
        let experiment = Experiment::load(&config, &[]).unwrap();
        let out = dir.path().join("run");
        let device = Device::default();
        let start = Start::New {
            experiment,
            out: Some(out.clone()),
            init: None,
        };
        let report = train(start, &device, &Options::default(), &mut Silent)
            .unwrap()
            .report
            .unwrap();
        let rl = report.rl.expect("latent mode runs the RL stage");

        let saved = SavedModel::load(&out, None, &device).unwrap();
        assert_eq!(saved.stage, Stage::Rl);
        assert_eq!(saved.card.model.backbone, BackboneKind::Gru4rec);
        let first = saved.card.item_ids[1].clone();
        assert_eq!(saved.recommend(&[first.as_str()], 3).unwrap().len(), 3);
        let reloaded = SavedRun::load(&out, &[], None, &device, &mut Silent).unwrap();
        assert_eq!(reloaded.evaluate(false).unwrap().report.metrics, rl.metrics);

        let card = RunDir::new(&out).card();
        let text = std::fs::read_to_string(&card).unwrap();
        let old = text.replace(
            &format!("\"format_version\":{FORMAT_VERSION}"),
            "\"format_version\":1",
        );
        assert_ne!(old, text);
        std::fs::write(&card, old).unwrap();
        let refused = SavedModel::load(&out, None, &device).err().unwrap();
        assert!(
            refused.to_string().contains("format version 1"),
            "{refused}"
        );
        let refused = SavedRun::load(&out, &[], None, &device, &mut Silent)
            .err()
            .unwrap();
        assert!(
            refused.to_string().contains("format version 1"),
            "{refused}"
        );
    }
}
