//! The latent reasoning module (LatentRATT): one single-head attention layer over the
//! backbone's last-layer hidden states. The query is the last position, keys and values are
//! every real position (padding masked); Q, K, V are d×d linear maps with bias, RoPE
//! (rotate-half, base 1000) on Q and K, scale 1/√d, and no output projection, residual or norm.
//! Its output is the input embedding of the next thought slot.

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::backbone::Encoded;
use crate::block::linear;
use crate::config::ModelConfig;
use crate::rope;

#[derive(Module, Debug)]
pub struct LatentHead {
    query: Linear,
    key: Linear,
    value: Linear,
    rope_base: f64,
}

impl LatentHead {
    pub fn new(config: &ModelConfig, device: &Device) -> LatentHead {
        let d = config.hidden;
        LatentHead {
            query: linear(d, d, config, device),
            key: linear(d, d, config, device),
            value: linear(d, d, config, device),
            rope_base: config.rope_base,
        }
    }

    /// The thought of every prefix at once (`[batch, len, d]`): row `t` is the head applied
    /// with query `t` over the keys `≤ t` (as [`LatentHead::forward`] on that prefix, RoPE being
    /// relative). `blocked` is the history's `[batch, len, len]` attention mask (future and
    /// padding keys); SFT uses this to train a thought after every position in one pass.
    pub fn forward_every_prefix(&self, hidden: Tensor<3>, blocked: Tensor<3, Bool>) -> Tensor<3> {
        let [_, len, d] = hidden.dims();
        let device = hidden.device();
        let (cos, sin) = rope::tables(len, d, self.rope_base, &device);
        let queries = rope::apply(self.query.forward(hidden.clone()), cos.clone(), sin.clone());
        let keys = rope::apply(self.key.forward(hidden.clone()), cos, sin);
        let scores = queries.matmul(keys.swap_dims(1, 2)) / (d as f64).sqrt();
        let weights = softmax(scores.mask_fill(blocked, -1e9), 2);
        self.value.forward(weights.matmul(hidden))
    }

    /// The thought `r` (`[batch, d]`) from the hidden states seen so far.
    ///
    /// With one query the attention is written as broadcast products and sums rather than
    /// batched `1 × len` matmuls (which the CPU backends run as thousands of tiny GEMMs), and
    /// the value map is applied once to the attention-weighted hidden state:
    /// `Σⱼ wⱼ (W hⱼ + b) = W (Σⱼ wⱼ hⱼ) + b` because the weights sum to one.
    pub fn forward(&self, encoded: &Encoded) -> Tensor<2> {
        let hidden = encoded.hidden.clone();
        let [batch, len, d] = hidden.dims();
        let device = hidden.device();
        let (cos, sin) = rope::tables(len, d, self.rope_base, &device);
        let last = hidden.clone().narrow(1, len - 1, 1);
        let query = rope::apply(
            self.query.forward(last),
            cos.clone().narrow(0, len - 1, 1),
            sin.clone().narrow(0, len - 1, 1),
        );
        let keys = rope::apply(self.key.forward(hidden.clone()), cos, sin);
        // [batch, len, 1]: one score per position.
        let scores = (keys * query).sum_dim(2) / (d as f64).sqrt();
        let blocked = encoded.padding.clone().unsqueeze_dim::<3>(2);
        let weights = softmax(scores.mask_fill(blocked, -1e9), 1);
        let attended = (weights * hidden).sum_dim(1).reshape([batch, d]);
        self.value.forward(attended)
    }
}
