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

    /// The thought `r` (`[batch, d]`) from the hidden states seen so far.
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
        let values = self.value.forward(hidden);
        let scores = query.matmul(keys.swap_dims(1, 2)) / (d as f64).sqrt();
        let blocked = encoded.padding.clone().unsqueeze_dim::<3>(1);
        let weights = softmax(scores.mask_fill(blocked, -1e9), 2);
        weights.matmul(values).reshape([batch, d])
    }
}
