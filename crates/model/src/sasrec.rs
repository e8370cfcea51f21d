//! The SASRec backbone: item and position embeddings, causal transformer blocks (RecBole's
//! post-norm form), and the tied output layer that scores every item.
//!
//! Histories are left-padded (item 0), so the most recent item sits in the last column. By
//! default it also always gets position `max_len - 1` ([`Positions::FromEnd`]);
//! [`Positions::FromStart`] numbers a row's items from 0 as RecBole does. Thought slot `i` gets
//! position `max_len + i` either way.

use burn::module::Param;
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig,
};
use burn::prelude::*;

use crate::backbone::{Encoded, SequenceBackbone};
use crate::block::{Block, KeyValues};
use crate::config::{ModelConfig, Positions};
use crate::recommender::Inputs;

/// A causal transformer over item ids (SASRec).
#[derive(Module, Debug)]
pub struct Sasrec {
    pub items: Embedding,
    positions: Embedding,
    norm: LayerNorm,
    dropout: Dropout,
    blocks: Vec<Block>,
    max_len: usize,
    /// [`Positions::FromStart`]: the oldest item of each row gets position 0.
    positions_from_start: bool,
}

impl Sasrec {
    /// A freshly initialised encoder over items `1..=num_items`.
    pub fn new(config: &ModelConfig, num_items: usize, device: &Device) -> Sasrec {
        let init = Initializer::Normal {
            mean: 0.0,
            std: config.init_std,
        };
        Sasrec {
            items: EmbeddingConfig::new(num_items + 1, config.hidden)
                .with_initializer(init.clone())
                .init(device),
            positions: EmbeddingConfig::new(config.max_len + config.thought_slots(), config.hidden)
                .with_initializer(init)
                .init(device),
            norm: LayerNormConfig::new(config.hidden)
                .with_epsilon(config.layer_norm_eps)
                .init(device),
            dropout: DropoutConfig::new(config.dropout).init(),
            blocks: (0..config.layers)
                .map(|_| Block::new(config, device))
                .collect(),
            max_len: config.max_len,
            positions_from_start: config.positions == Positions::FromStart,
        }
    }

    fn position_embedding(
        &self,
        first: usize,
        len: usize,
        batch: usize,
        device: &Device,
    ) -> Tensor<3> {
        let ids = Tensor::<1, Int>::arange(first as i64..(first + len) as i64, device);
        self.positions.forward(ids.reshape([1, len])).expand([
            batch,
            len,
            self.positions.weight.dims()[1],
        ])
    }

    /// Runs the blocks over already-embedded inputs (`[batch, len, d]`, before the embedding
    /// LayerNorm) with a `[batch, len, len]` blocked-pair mask; no cache is reused.
    pub fn forward_embedded(
        &self,
        embedded: Tensor<3>,
        blocked: Tensor<3, Bool>,
    ) -> (Tensor<3>, Vec<KeyValues>) {
        let mut x = self.dropout.forward(self.norm.forward(embedded));
        let mut cache = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            let (out, kv) = block.forward(x, None, blocked.clone());
            x = out;
            cache.push(kv);
        }
        (x, cache)
    }

    /// Item plus position embeddings of left-padded ids (`[batch, len]`, `len <= max_len`).
    pub fn embed(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [batch, len] = ids.dims();
        let device = ids.device();
        let positions = if self.positions_from_start {
            // Real items are numbered 0, 1, ... after the left padding (padding gets 0 too; it
            // is never seen by a real position).
            let ids_of_positions = ids
                .clone()
                .not_equal_elem(0)
                .int()
                .cumsum(1)
                .sub_scalar(1)
                .clamp_min(0);
            self.positions.forward(ids_of_positions)
        } else {
            self.position_embedding(self.max_len - len, len, batch, &device)
        };
        self.items.forward(ids) + positions
    }

    /// Thought `thought` (`[batch, d]`) as the input of thought slot `index`: `[batch, 1, d]`,
    /// the thought plus its slot's position embedding.
    pub fn embed_thought(&self, thought: Tensor<2>, index: usize) -> Tensor<3> {
        let [batch, d] = thought.dims();
        let device = thought.device();
        thought.reshape([batch, 1, d])
            + self.position_embedding(self.max_len + index, 1, batch, &device)
    }

    /// Runs `n` slots (`inputs`: `[batch, n, d]`) that all sit at thought position `index`
    /// through the blocks against the cache; `history` (`[batch, n, seen]`) says which cached
    /// positions each slot may not see, and no slot sees another.
    fn parallel_slots(
        &self,
        encoded: &Encoded,
        inputs: Tensor<3>,
        index: usize,
        history: Tensor<3, Bool>,
    ) -> Tensor<3> {
        let [batch, n, _] = inputs.dims();
        let device = inputs.device();
        let position = self.position_embedding(self.max_len + index, 1, batch, &device);
        let mut x = self.dropout.forward(self.norm.forward(inputs + position));
        let others: Vec<bool> = (0..n * n).map(|i| i / n != i % n).collect();
        let others = Tensor::<2, Bool>::from_data(TensorData::new(others, [n, n]), &device)
            .unsqueeze::<3>()
            .expand([batch, n, n]);
        let blocked = Tensor::cat(vec![history, others], 2);
        for (block, past) in self.blocks.iter().zip(unflatten(&encoded.cache)) {
            x = block.forward(x, Some(&past), blocked.clone()).0;
        }
        x
    }
}

impl SequenceBackbone for Sasrec {
    fn max_len(&self) -> usize {
        self.max_len
    }

    fn item_embeddings(&self) -> &Param<Tensor<2>> {
        &self.items.weight
    }

    fn encode(&self, inputs: &Inputs) -> Encoded {
        let (hidden, cache) =
            self.forward_embedded(self.embed(inputs.ids.clone()), inputs.blocked.clone());
        Encoded {
            hidden,
            cache: flatten(cache),
            padding: inputs.padding.clone(),
            thoughts: 0,
        }
    }

    /// The slot's input is the thought plus its slot's position embedding; it runs through
    /// every block against the cached keys and values.
    fn append_thought(&self, encoded: &Encoded, thought: Tensor<2>) -> Encoded {
        let [batch, _] = thought.dims();
        let device = thought.device();
        let mut x = self.dropout.forward(
            self.norm
                .forward(self.embed_thought(thought, encoded.thoughts)),
        );
        // The slot sees every real position and every earlier slot, never padding.
        let not_padding =
            Tensor::<2, Bool>::from_data(TensorData::new(vec![false; batch], [batch, 1]), &device);
        let padding = Tensor::cat(vec![encoded.padding.clone(), not_padding], 1);
        let blocked = padding.clone().unsqueeze_dim::<3>(1);
        let mut cache = Vec::with_capacity(self.blocks.len());
        for (block, past) in self.blocks.iter().zip(unflatten(&encoded.cache)) {
            let (out, kv) = block.forward(x, Some(&past), blocked.clone());
            x = out;
            cache.push(kv);
        }
        Encoded {
            hidden: Tensor::cat(vec![encoded.hidden.clone(), x], 1),
            cache: flatten(cache),
            padding,
            thoughts: encoded.thoughts + 1,
        }
    }

    /// Each alternative sees the history and earlier slots (the cache) and itself, never the
    /// other alternatives.
    fn alternative_thoughts(&self, encoded: &Encoded, thoughts: Tensor<3>) -> Tensor<3> {
        let [batch, group, _] = thoughts.dims();
        let seen = encoded.len();
        let history = encoded
            .padding
            .clone()
            .unsqueeze_dim::<3>(1)
            .expand([batch, group, seen]);
        self.parallel_slots(encoded, thoughts, encoded.thoughts, history)
    }

    /// Slot `t` sees the history up to `t` (as the history's `[batch, len, len]` mask allows)
    /// and itself, nothing later and no other slot.
    fn thoughts_after_every_position(
        &self,
        encoded: &Encoded,
        thoughts: Tensor<3>,
        inputs: &Inputs,
    ) -> Tensor<3> {
        self.parallel_slots(encoded, thoughts, 0, inputs.blocked.clone())
    }
}

/// Each block's keys and values, in the [`Encoded::cache`] layout (keys, values, keys, ...).
fn flatten(cache: Vec<KeyValues>) -> Vec<Tensor<4>> {
    cache
        .into_iter()
        .flat_map(|kv| [kv.keys, kv.values])
        .collect()
}

/// The inverse of [`flatten`].
fn unflatten(cache: &[Tensor<4>]) -> impl Iterator<Item = KeyValues> + '_ {
    cache.chunks_exact(2).map(|pair| KeyValues {
        keys: pair[0].clone(),
        values: pair[1].clone(),
    })
}
