//! A sequence encoder of your own, trained by latentr3's SFT code with the latent head: the
//! average of the items read so far (a bag-of-items model), through one linear layer.
//! Implementing [`SequenceBackbone`] is all it takes; `Recommender<BagOfItems>` then trains with
//! `sft::train` (and its head with the RL stage of `latentr3-grpo`) like SASRec and GRU4Rec.
//!
//! ```text
//! cargo run --release -p latentr3-model --example custom_backbone
//! ```

use burn::module::Param;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::prelude::*;
use latentr3_data::{DataConfig, Popularity, Split, SyntheticConfig};
use latentr3_eval::{EvalConfig, Evaluator};
use latentr3_model::evaluation::{cases, item_stats};
use latentr3_model::sft::{self, SftConfig, SftData};
use latentr3_model::{Encoded, Inputs, ModelConfig, Recommender, SequenceBackbone, Silent};

/// The mean of the item embeddings read so far, projected. Its cache is the running sum and
/// count after every position (`[batch, 1, len, d]` and `[batch, 1, len, 1]`), so a thought
/// slot is one more term of the mean.
#[derive(Module, Debug)]
struct BagOfItems {
    items: Embedding,
    project: Linear,
    max_len: usize,
}

impl BagOfItems {
    fn new(num_items: usize, d: usize, max_len: usize, device: &Device) -> BagOfItems {
        BagOfItems {
            items: EmbeddingConfig::new(num_items + 1, d).init(device),
            project: LinearConfig::new(d, d).init(device),
            max_len,
        }
    }

    /// `sum / count` through the projection; `[.., d]` and `[.., 1]` broadcast.
    fn state<const D: usize>(&self, sum: Tensor<D>, count: Tensor<D>) -> Tensor<D> {
        self.project.forward(sum / count.clamp_min(1.0))
    }

    /// The cached sum and count after position `index`, `[batch, d]` and `[batch, 1]`.
    fn at(encoded: &Encoded, index: usize) -> (Tensor<2>, Tensor<2>) {
        let pick = |t: &Tensor<4>| {
            let [batch, _, _, width] = t.dims();
            t.clone().narrow(2, index, 1).reshape([batch, width])
        };
        (pick(&encoded.cache[0]), pick(&encoded.cache[1]))
    }
}

impl SequenceBackbone for BagOfItems {
    fn max_len(&self) -> usize {
        self.max_len
    }

    fn item_embeddings(&self) -> &Param<Tensor<2>> {
        &self.items.weight
    }

    fn encode(&self, inputs: &Inputs) -> Encoded {
        let real = inputs
            .padding
            .clone()
            .bool_not()
            .float()
            .unsqueeze_dim::<3>(2);
        let sum = (self.items.forward(inputs.ids.clone()) * real.clone()).cumsum(1);
        let count = real.cumsum(1);
        Encoded {
            hidden: self.state(sum.clone(), count.clone()),
            cache: vec![sum.unsqueeze_dim(1), count.unsqueeze_dim(1)],
            padding: inputs.padding.clone(),
            thoughts: 0,
        }
    }

    fn append_thought(&self, encoded: &Encoded, thought: Tensor<2>) -> Encoded {
        let [batch, d] = thought.dims();
        let (sum, count) = Self::at(encoded, encoded.len() - 1);
        let (sum, count) = (sum + thought, count + 1.0);
        let not_padding = Tensor::<2, Bool>::from_data(
            TensorData::new(vec![false; batch], [batch, 1]),
            &sum.device(),
        );
        let grow = |past: &Tensor<4>, new: Tensor<2>| {
            let width = new.dims()[1];
            Tensor::cat(vec![past.clone(), new.reshape([batch, 1, 1, width])], 2)
        };
        Encoded {
            hidden: Tensor::cat(
                vec![
                    encoded.hidden.clone(),
                    self.state(sum.clone(), count.clone())
                        .reshape([batch, 1, d]),
                ],
                1,
            ),
            cache: vec![grow(&encoded.cache[0], sum), grow(&encoded.cache[1], count)],
            padding: Tensor::cat(vec![encoded.padding.clone(), not_padding], 1),
            thoughts: encoded.thoughts + 1,
        }
    }

    fn alternative_thoughts(&self, encoded: &Encoded, thoughts: Tensor<3>) -> Tensor<3> {
        let (sum, count) = Self::at(encoded, encoded.len() - 1);
        let sum = sum.unsqueeze_dim::<3>(1) + thoughts;
        self.state(sum, count.unsqueeze_dim::<3>(1) + 1.0)
    }

    fn thoughts_after_every_position(
        &self,
        encoded: &Encoded,
        thoughts: Tensor<3>,
        _inputs: &Inputs,
    ) -> Tensor<3> {
        let len = thoughts.dims()[1];
        let slice = |t: &Tensor<4>| t.clone().narrow(2, 0, len).squeeze_dim::<3>(1);
        let sum = slice(&encoded.cache[0]) + thoughts;
        self.state(sum, slice(&encoded.cache[1]) + 1.0)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = DataConfig {
        synthetic: Some(SyntheticConfig {
            users: 400,
            items: 150,
            max_length: 30,
            ..SyntheticConfig::default()
        }),
        cache: false,
        ..DataConfig::default()
    };
    let dataset = data.load()?.dataset;
    let split = Split::new(&dataset, &data.split)?;
    let popularity = Popularity::from_split(&dataset, &split);
    let evaluator = Evaluator::new(EvalConfig::default(), item_stats(&popularity))?;
    let valid_cases = cases(&dataset, &split, &split.valid);

    let device = Device::default();
    device.seed(1);
    let model_config = ModelConfig {
        hidden: 32,
        max_len: 20,
        ..ModelConfig::default()
    };
    let encoder = BagOfItems::new(dataset.num_items(), 32, 20, &device);
    let model = Recommender::with_backbone(encoder, &model_config, &device);
    let sft_data = SftData {
        dataset: &dataset,
        split: &split,
        evaluator: &evaluator,
        valid_cases: &valid_cases,
    };
    let settings = SftConfig {
        epochs: 10,
        batch_size: 32,
        lr: 1e-2,
        warmup_steps: 10,
        ..SftConfig::default()
    };
    let outcome = sft::train(
        model,
        &device,
        &sft_data,
        &settings,
        &mut Silent,
        Default::default(),
    )?;
    println!(
        "bag of items + latent head, best validation epoch {}:\n{}",
        outcome.best_epoch, outcome.best_valid
    );
    Ok(())
}
