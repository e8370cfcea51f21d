//! The GRU4Rec backbone in RecBole's form: item embeddings → dropout → a stack of GRU layers →
//! a linear map from the recurrent state back to the embedding width, scored against the item
//! embeddings (tied output layer). Like RecBole's, the GRU has no biases, its weights start
//! Xavier-uniform and the embeddings Xavier-normal.
//!
//! Histories are left-padded; the recurrence skips padding (the state stays zero until the first
//! real item), so a short history is read exactly as RecBole reads its right-padded copy. A
//! thought slot is one more recurrent step whose input is the thought instead of an item
//! embedding; the cache is every layer's state after every position, so a slot after any
//! position, or a group of alternative slots, is one batched step.

use burn::module::Param;
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig,
};
use burn::prelude::*;
use burn::tensor::activation::{sigmoid, tanh};

use crate::backbone::{Encoded, SequenceBackbone};
use crate::config::ModelConfig;
use crate::recommender::Inputs;

/// One GRU layer (PyTorch's gate order and equations, no biases):
/// `r = σ(W_ir x + W_hr h)`, `z = σ(W_iz x + W_hz h)`, `n = tanh(W_in x + r ⊙ W_hn h)`,
/// `h' = (1 − z) ⊙ n + z ⊙ h`.
#[derive(Module, Debug)]
pub struct GruLayer {
    /// `[input, 3·state]`: the input's contribution to the reset, update and new gates.
    input: Linear,
    /// `[state, 3·state]`: the previous state's contribution.
    recurrent: Linear,
    state: usize,
}

impl GruLayer {
    fn new(input: usize, state: usize, device: &Device) -> GruLayer {
        let linear = |from: usize| {
            LinearConfig::new(from, 3 * state)
                .with_bias(false)
                .with_initializer(Initializer::XavierUniform { gain: 1.0 })
                .init(device)
        };
        GruLayer {
            input: linear(input),
            recurrent: linear(state),
            state,
        }
    }

    /// One step from `state` (`[rows, state]`) given the input's projection (`[rows, 3·state]`).
    fn step(&self, projected_input: Tensor<2>, state: Tensor<2>) -> Tensor<2> {
        let s = self.state;
        let projected_state = self.recurrent.forward(state.clone());
        let gate = |t: &Tensor<2>, i: usize| t.clone().narrow(1, i * s, s);
        let reset = sigmoid(gate(&projected_input, 0) + gate(&projected_state, 0));
        let update = sigmoid(gate(&projected_input, 1) + gate(&projected_state, 1));
        let new = tanh(gate(&projected_input, 2) + reset * gate(&projected_state, 2));
        new.clone() + update * (state - new)
    }

    /// Runs the layer over `x` (`[batch, len, input]`) from a zero state; at padding positions
    /// (`padding`, `[batch, len]`) the state is carried unchanged. Returns the state after
    /// every position, `[batch, len, state]`.
    fn forward(&self, x: Tensor<3>, padding: Tensor<2, Bool>) -> Tensor<3> {
        let [batch, len, _] = x.dims();
        let projected = self.input.forward(x);
        let mut state = Tensor::<2>::zeros([batch, self.state], &projected.device());
        let mut states = Vec::with_capacity(len);
        for t in 0..len {
            let input = projected
                .clone()
                .narrow(1, t, 1)
                .reshape([batch, 3 * self.state]);
            let next = self.step(input, state.clone());
            let skip = padding.clone().narrow(1, t, 1).expand([batch, self.state]);
            state = next.mask_where(skip, state);
            states.push(state.clone().unsqueeze_dim::<3>(1));
        }
        Tensor::cat(states, 1)
    }
}

/// A recurrent encoder over item ids (GRU4Rec).
#[derive(Module, Debug)]
pub struct Gru4Rec {
    pub items: Embedding,
    dropout: Dropout,
    layers: Vec<GruLayer>,
    /// From the last layer's state back to the embedding width.
    dense: Linear,
    max_len: usize,
}

impl Gru4Rec {
    /// A freshly initialised encoder over items `1..=num_items`.
    pub fn new(config: &ModelConfig, num_items: usize, device: &Device) -> Gru4Rec {
        let slots = num_items + 1;
        // Xavier-normal over the `[items, hidden]` table, as RecBole initialises it.
        let std = (2.0 / (slots + config.hidden) as f64).sqrt();
        Gru4Rec {
            items: EmbeddingConfig::new(slots, config.hidden)
                .with_initializer(Initializer::Normal { mean: 0.0, std })
                .init(device),
            dropout: DropoutConfig::new(config.dropout).init(),
            layers: (0..config.gru_layers)
                .map(|layer| {
                    let input = if layer == 0 {
                        config.hidden
                    } else {
                        config.gru_state
                    };
                    GruLayer::new(input, config.gru_state, device)
                })
                .collect(),
            dense: LinearConfig::new(config.gru_state, config.hidden).init(device),
            max_len: config.max_len,
        }
    }

    /// Runs one step of every layer for `rows` independent slots: `input` (`[rows, d]`) enters
    /// the first layer, `states[l]` (`[rows, state]`) is layer `l`'s state before the step.
    /// Returns the slots' hidden states (`[rows, d]`) and each layer's new state.
    fn step(&self, input: Tensor<2>, states: Vec<Tensor<2>>) -> (Tensor<2>, Vec<Tensor<2>>) {
        let mut x = self.dropout.forward(input);
        let mut next = Vec::with_capacity(states.len());
        for (layer, state) in self.layers.iter().zip(states) {
            x = layer.step(layer.input.forward(x), state);
            next.push(x.clone());
        }
        (self.dense.forward(x), next)
    }

    /// Layer `l`'s state after the last position seen, `[batch, state]`.
    fn last_states(&self, encoded: &Encoded) -> Vec<Tensor<2>> {
        encoded
            .cache
            .iter()
            .map(|states| {
                let [batch, _, len, state] = states.dims();
                states.clone().narrow(2, len - 1, 1).reshape([batch, state])
            })
            .collect()
    }
}

impl SequenceBackbone for Gru4Rec {
    fn max_len(&self) -> usize {
        self.max_len
    }

    fn item_embeddings(&self) -> &Param<Tensor<2>> {
        &self.items.weight
    }

    fn encode(&self, inputs: &Inputs) -> Encoded {
        let mut x = self.dropout.forward(self.items.forward(inputs.ids.clone()));
        let mut cache = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            x = layer.forward(x, inputs.padding.clone());
            cache.push(x.clone().unsqueeze_dim::<4>(1));
        }
        Encoded {
            hidden: self.dense.forward(x),
            cache,
            padding: inputs.padding.clone(),
            thoughts: 0,
        }
    }

    /// One more recurrent step whose input is the thought.
    fn append_thought(&self, encoded: &Encoded, thought: Tensor<2>) -> Encoded {
        let [batch, d] = thought.dims();
        let (hidden, states) = self.step(thought, self.last_states(encoded));
        let not_padding = Tensor::<2, Bool>::from_data(
            TensorData::new(vec![false; batch], [batch, 1]),
            &hidden.device(),
        );
        Encoded {
            hidden: Tensor::cat(
                vec![encoded.hidden.clone(), hidden.reshape([batch, 1, d])],
                1,
            ),
            cache: encoded
                .cache
                .iter()
                .zip(states)
                .map(|(past, state)| {
                    let [_, _, _, width] = past.dims();
                    Tensor::cat(vec![past.clone(), state.reshape([batch, 1, 1, width])], 2)
                })
                .collect(),
            padding: Tensor::cat(vec![encoded.padding.clone(), not_padding], 1),
            thoughts: encoded.thoughts + 1,
        }
    }

    /// Every alternative steps from the same last state.
    fn alternative_thoughts(&self, encoded: &Encoded, thoughts: Tensor<3>) -> Tensor<3> {
        let [batch, group, d] = thoughts.dims();
        let states = self
            .last_states(encoded)
            .into_iter()
            .map(|state| {
                let width = state.dims()[1];
                state
                    .unsqueeze_dim::<3>(1)
                    .expand([batch, group, width])
                    .reshape([batch * group, width])
            })
            .collect();
        let (hidden, _) = self.step(thoughts.reshape([batch * group, d]), states);
        hidden.reshape([batch, group, d])
    }

    /// Slot `t` steps from the state after position `t`, which has read positions `..=t` only.
    fn thoughts_after_every_position(
        &self,
        encoded: &Encoded,
        thoughts: Tensor<3>,
        _inputs: &Inputs,
    ) -> Tensor<3> {
        let [batch, len, d] = thoughts.dims();
        let states = encoded
            .cache
            .iter()
            .map(|states| {
                let width = states.dims()[3];
                states
                    .clone()
                    .narrow(2, 0, len)
                    .reshape([batch * len, width])
            })
            .collect();
        let (hidden, _) = self.step(thoughts.reshape([batch * len, d]), states);
        hidden.reshape([batch, len, d])
    }
}
