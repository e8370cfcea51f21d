//! Where the thought is appended: the recommender is the backbone plus, in latent mode, the
//! latent head whose output is fed back as the input embedding of thought slots.

use burn::prelude::*;
use latentr3_eval::{Case, Scorer};

use crate::backbone::{Backbone, Encoded, SequenceBackbone};
use crate::config::{Mode, ModelConfig};
use crate::latent::LatentHead;

/// Left-padded item ids with their padding and attention masks, on a device.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `[batch, len]` item ids, 0 = padding on the left.
    pub ids: Tensor<2, Int>,
    /// `[batch, len]`: true at padding.
    pub padding: Tensor<2, Bool>,
    /// `[batch, len, len]`: true where query `i` may not see key `j` (future keys, and padding
    /// keys for real queries; padding queries see earlier padding so no row is empty).
    pub blocked: Tensor<3, Bool>,
}

impl Inputs {
    /// From row-major ids (`batch × len`).
    pub fn new(ids: &[i64], batch: usize, len: usize, device: &Device) -> Inputs {
        assert_eq!(ids.len(), batch * len, "ids must be batch × len");
        let padding: Vec<bool> = ids.iter().map(|&id| id == 0).collect();
        let mut blocked = vec![false; batch * len * len];
        for b in 0..batch {
            let pad = &padding[b * len..(b + 1) * len];
            for i in 0..len {
                let row = &mut blocked[(b * len + i) * len..(b * len + i + 1) * len];
                for (j, cell) in row.iter_mut().enumerate() {
                    *cell = j > i || (pad[j] && !pad[i]);
                }
            }
        }
        Inputs {
            ids: Tensor::from_data(TensorData::new(ids.to_vec(), [batch, len]), device),
            padding: Tensor::from_data(TensorData::new(padding, [batch, len]), device),
            blocked: Tensor::from_data(TensorData::new(blocked, [batch, len, len]), device),
        }
    }

    /// Left-pads histories (most recent `len` items of each) into inputs.
    pub fn from_histories(histories: &[&[u32]], len: usize, device: &Device) -> Inputs {
        let mut ids = vec![0i64; histories.len() * len];
        for (row, history) in histories.iter().enumerate() {
            let recent = &history[history.len().saturating_sub(len)..];
            let offset = row * len + len - recent.len();
            for (slot, &item) in ids[offset..offset + recent.len()].iter_mut().zip(recent) {
                *slot = i64::from(item);
            }
        }
        Inputs::new(&ids, histories.len(), len, device)
    }
}

/// A sequence encoder plus optional latent head. `E` is the encoder: [`Backbone`] (the ones
/// `model.backbone` selects) unless you bring your own [`SequenceBackbone`].
#[derive(Module, Debug)]
pub struct Recommender<E: SequenceBackbone = Backbone> {
    pub backbone: E,
    pub head: Option<LatentHead>,
    thoughts: usize,
}

impl Recommender {
    /// A freshly initialised model over items `1..=num_items`, with the encoder that
    /// `config.backbone` names.
    pub fn new(config: &ModelConfig, num_items: usize, device: &Device) -> Recommender {
        Recommender::with_backbone(Backbone::new(config, num_items, device), config, device)
    }
}

impl<E: SequenceBackbone> Recommender<E> {
    /// A model around an encoder of your own; `config` gives the mode, the number of thoughts
    /// and the latent head's settings (`hidden` must be the encoder's width).
    pub fn with_backbone(backbone: E, config: &ModelConfig, device: &Device) -> Recommender<E> {
        Recommender {
            backbone,
            head: match config.mode {
                Mode::Backbone => None,
                Mode::Latent => Some(LatentHead::new(config, device)),
            },
            thoughts: config.thought_slots(),
        }
    }

    /// This model with another latent head (the RL stage trains only the head).
    pub fn with_head(&self, head: LatentHead) -> Recommender<E> {
        Recommender {
            backbone: self.backbone.clone(),
            head: Some(head),
            thoughts: self.thoughts,
        }
    }

    /// The mode this model was built in.
    pub fn mode(&self) -> Mode {
        if self.head.is_some() {
            Mode::Latent
        } else {
            Mode::Backbone
        }
    }

    /// Thought slots appended before scoring.
    pub fn thoughts(&self) -> usize {
        self.thoughts
    }

    /// Runs the backbone over the histories.
    pub fn encode(&self, inputs: &Inputs) -> Encoded {
        self.backbone.encode(inputs)
    }

    /// One latent step: the head's thought from what was seen so far, appended as a new slot.
    /// Backbone mode has no head and returns the input unchanged.
    pub fn think_once(&self, encoded: &Encoded) -> Encoded {
        match &self.head {
            Some(head) => self.backbone.append_thought(encoded, head.forward(encoded)),
            None => encoded.clone(),
        }
    }

    /// Chains the configured number of thoughts (r_i = head(H(x, r_1..r_{i-1}))).
    pub fn think(&self, mut encoded: Encoded) -> Encoded {
        for _ in 0..self.thoughts {
            encoded = self.think_once(&encoded);
        }
        encoded
    }

    /// `[batch, d]`: the state that scores items (last thought slot, or last history position).
    pub fn user_states(&self, inputs: &Inputs) -> Tensor<2> {
        self.think(self.encode(inputs)).last()
    }

    /// `[batch, item_slots]` scores of every item id.
    pub fn scores(&self, inputs: &Inputs) -> Tensor<2> {
        self.backbone.score(self.user_states(inputs))
    }
}

/// Evaluates a model with the eval crate: scores batches of cases on a device without autodiff.
pub struct ModelScorer<E: SequenceBackbone = Backbone> {
    model: Recommender<E>,
    device: Device,
}

impl<E: SequenceBackbone> ModelScorer<E> {
    /// Wraps `model` for evaluation (dropout off, no autodiff).
    pub fn new(model: &Recommender<E>) -> ModelScorer<E> {
        let model = model.valid();
        let device = model.backbone.device();
        ModelScorer { model, device }
    }
}

impl<E: SequenceBackbone> Scorer for ModelScorer<E> {
    fn score(&self, cases: &[Case<'_>], out: &mut [f32]) {
        let histories: Vec<&[u32]> = cases.iter().map(|c| c.history).collect();
        let inputs =
            Inputs::from_histories(&histories, self.model.backbone.max_len(), &self.device);
        let scores: Vec<f32> = self
            .model
            .scores(&inputs)
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("float scores");
        out[..scores.len()].copy_from_slice(&scores);
    }

    /// The tensor library parallelises each batch itself.
    fn parallel(&self) -> bool {
        false
    }
}
