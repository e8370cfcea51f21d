//! Rotary position embedding in the rotate-half form (GPT-NeoX / Qwen), as the paper's latent
//! head uses: `x·cos + rotate_half(x)·sin`, `rotate_half(x) = [-x₂, x₁]` over the two halves.
//! (burn's `RotaryEncoding` rotates interleaved pairs instead, hence this small module.)

use burn::prelude::*;

/// `cos` and `sin` tables for positions `0..len` over `dim` features, each `[len, dim]`.
pub fn tables(len: usize, dim: usize, base: f64, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let half = dim / 2;
    let mut cos = vec![0f32; len * dim];
    let mut sin = vec![0f32; len * dim];
    for position in 0..len {
        for i in 0..half {
            let frequency = base.powf(-(2.0 * i as f64) / dim as f64);
            let angle = position as f64 * frequency;
            for j in [i, i + half] {
                cos[position * dim + j] = angle.cos() as f32;
                sin[position * dim + j] = angle.sin() as f32;
            }
        }
    }
    (
        Tensor::from_data(TensorData::new(cos, [len, dim]), device),
        Tensor::from_data(TensorData::new(sin, [len, dim]), device),
    )
}

/// Rotates `x` (`[batch, len, dim]`) by the tables' rows for its positions (`[len, dim]`).
pub fn apply(x: Tensor<3>, cos: Tensor<2>, sin: Tensor<2>) -> Tensor<3> {
    let [_, _, dim] = x.dims();
    let half = dim / 2;
    let first = x.clone().narrow(2, 0, half);
    let second = x.clone().narrow(2, half, half);
    let rotated = Tensor::cat(vec![second.neg(), first], 2);
    x * cos.unsqueeze::<3>() + rotated * sin.unsqueeze::<3>()
}
