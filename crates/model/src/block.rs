//! One transformer block in RecBole's SASRec form (post-norm): multi-head self-attention →
//! dropout → residual → LayerNorm, then Linear → GELU → Linear → dropout → residual →
//! LayerNorm. Unlike burn's `TransformerEncoderLayer` there is no dropout after the GELU, and the
//! block exposes its keys and values so appended thought slots can reuse them.

use burn::nn::{
    Dropout, DropoutConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::prelude::*;
use burn::tensor::activation::{gelu, softmax};

use crate::config::ModelConfig;

/// Scores of blocked attention pairs before the softmax: finite, so a row with every key
/// blocked stays finite too.
const BLOCKED: f32 = -1e9;

/// The keys and values of the positions a block has seen, `[batch, heads, len, head_dim]`.
#[derive(Debug, Clone)]
pub struct KeyValues {
    pub keys: Tensor<4>,
    pub values: Tensor<4>,
}

#[derive(Module, Debug)]
pub struct Block {
    query: Linear,
    key: Linear,
    value: Linear,
    dense: Linear,
    attention_norm: LayerNorm,
    ffn_in: Linear,
    ffn_out: Linear,
    ffn_norm: LayerNorm,
    attention_dropout: Dropout,
    hidden_dropout: Dropout,
    heads: usize,
}

pub(crate) fn linear(d_in: usize, d_out: usize, config: &ModelConfig, device: &Device) -> Linear {
    LinearConfig::new(d_in, d_out)
        .with_initializer(Initializer::Normal {
            mean: 0.0,
            std: config.init_std,
        })
        .init(device)
}

impl Block {
    pub fn new(config: &ModelConfig, device: &Device) -> Block {
        let d = config.hidden;
        let norm = || {
            LayerNormConfig::new(d)
                .with_epsilon(config.layer_norm_eps)
                .init(device)
        };
        Block {
            query: linear(d, d, config, device),
            key: linear(d, d, config, device),
            value: linear(d, d, config, device),
            dense: linear(d, d, config, device),
            attention_norm: norm(),
            ffn_in: linear(d, config.inner, config, device),
            ffn_out: linear(config.inner, d, config, device),
            ffn_norm: norm(),
            attention_dropout: DropoutConfig::new(config.dropout).init(),
            hidden_dropout: DropoutConfig::new(config.dropout).init(),
            heads: config.heads,
        }
    }

    /// `[batch, len, d]` → `[batch, heads, len, d / heads]`.
    fn split_heads(&self, x: Tensor<3>) -> Tensor<4> {
        let [batch, len, d] = x.dims();
        x.reshape([batch, len, self.heads, d / self.heads])
            .swap_dims(1, 2)
    }

    /// Runs the block on `x` (`[batch, len, d]`) whose queries attend `past` (if any) followed
    /// by `x` itself. `blocked` is `[batch, len, past_len + len]`, true where a query may not see a
    /// key. Returns the output and the keys/values of past + x.
    pub fn forward(
        &self,
        x: Tensor<3>,
        past: Option<&KeyValues>,
        blocked: Tensor<3, Bool>,
    ) -> (Tensor<3>, KeyValues) {
        let [batch, len, d] = x.dims();
        let head_dim = d / self.heads;
        let query = self.split_heads(self.query.forward(x.clone()));
        let mut keys = self.split_heads(self.key.forward(x.clone()));
        let mut values = self.split_heads(self.value.forward(x.clone()));
        if let Some(past) = past {
            keys = Tensor::cat(vec![past.keys.clone(), keys], 2);
            values = Tensor::cat(vec![past.values.clone(), values], 2);
        }
        let total = keys.dims()[2];
        let scale = (head_dim as f64).sqrt();
        let context = if len == 1 {
            // One query (a thought slot): broadcast products and sums instead of batched
            // `1 × total` matmuls, which the CPU backends run as many tiny GEMMs.
            // scores: [batch, heads, total, 1]
            let scores = (keys.clone() * query).sum_dim(3) / scale;
            let blocked = blocked
                .reshape([batch, 1, total, 1])
                .expand([batch, self.heads, total, 1]);
            let weights = self
                .attention_dropout
                .forward(softmax(scores.mask_fill(blocked, BLOCKED), 2));
            (weights * values.clone())
                .sum_dim(2)
                .reshape([batch, len, d])
        } else {
            let scores = query.matmul(keys.clone().swap_dims(2, 3)) / scale;
            let blocked = blocked
                .unsqueeze_dim::<4>(1)
                .expand([batch, self.heads, len, total]);
            let weights = softmax(scores.mask_fill(blocked, BLOCKED), 3);
            self.attention_dropout
                .forward(weights)
                .matmul(values.clone())
                .swap_dims(1, 2)
                .reshape([batch, len, d])
        };
        let attended = self
            .attention_norm
            .forward(self.hidden_dropout.forward(self.dense.forward(context)) + x);
        let transformed = self
            .ffn_out
            .forward(gelu(self.ffn_in.forward(attended.clone())));
        let out = self
            .ffn_norm
            .forward(self.hidden_dropout.forward(transformed) + attended);
        (out, KeyValues { keys, values })
    }
}
