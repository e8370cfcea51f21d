//! The losses the RL stage minimises, as tensors.

use burn::prelude::*;

/// PPO's clipped surrogate to minimise: `-mean(min(ρA, clip(ρ, 1 - low, 1 + high) A))` with
/// `ρ = exp(log_ratio)`. With one iteration per batch `ρ = 1` and the gradient is
/// `-mean(A ∇ log ρ)`.
pub fn clipped_surrogate(
    log_ratio: Tensor<1>,
    advantages: Tensor<1>,
    clip_low: f64,
    clip_high: f64,
) -> Tensor<1> {
    let ratio = log_ratio.exp();
    let unclipped = ratio.clone() * advantages.clone();
    let clipped = ratio.clamp(1.0 - clip_low, 1.0 + clip_high) * advantages;
    unclipped.min_pair(clipped).mean().neg()
}

/// Fractions of members whose ratio sits in the clipped region below (`A < 0`, `ρ < 1 - low`)
/// and above (`A > 0`, `ρ > 1 + high`): there the surrogate stops pushing.
pub fn clip_fractions(
    log_ratio: &[f32],
    advantages: &[f64],
    clip_low: f64,
    clip_high: f64,
) -> (f64, f64) {
    let n = log_ratio.len().max(1) as f64;
    let (mut low, mut high) = (0usize, 0usize);
    for (&lr, &a) in log_ratio.iter().zip(advantages) {
        let ratio = f64::from(lr).exp();
        if a < 0.0 && ratio < 1.0 - clip_low {
            low += 1;
        }
        if a > 0.0 && ratio > 1.0 + clip_high {
            high += 1;
        }
    }
    (low as f64 / n, high as f64 / n)
}

/// `log N(sample; mean, σ²I) - log N(sample; old_mean, σ²I)` per row of `[batch, group, d]`
/// samples against `[batch, d]` means: the Gaussian policy's log-ratio (the normalising
/// constants cancel).
pub fn gaussian_log_ratio(
    samples: Tensor<3>,
    mean: Tensor<2>,
    old_mean: Tensor<2>,
    sigma: f64,
) -> Tensor<1> {
    let [batch, group, _] = samples.dims();
    let distance = |m: Tensor<2>| {
        (samples.clone() - m.unsqueeze_dim::<3>(1))
            .square()
            .sum_dim(2)
            .reshape([batch * group])
    };
    (distance(old_mean) - distance(mean)) / (2.0 * sigma * sigma)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(values: &[f32], device: &Device) -> Tensor<1> {
        Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
    }

    #[test]
    fn surrogate_clips_only_in_the_direction_of_the_advantage() {
        let device = Device::default();
        let (low, high) = (0.2, 0.28);
        // ρ = 2 with A = +1 is clipped to 1.28; ρ = 0.5 with A = -1 to 0.8 (min picks -0.8);
        // ρ = 0.5 with A = +1 stays 0.5.
        let log_ratio = [2f32.ln(), 0.5f32.ln(), 0.5f32.ln()];
        let loss = clipped_surrogate(
            tensor(&log_ratio, &device),
            tensor(&[1.0, -1.0, 1.0], &device),
            low,
            high,
        )
        .into_scalar::<f32>();
        let expected = -(1.28 - 0.8 + 0.5) / 3.0;
        assert!((f64::from(loss) - expected).abs() < 1e-5, "{loss}");
        let (l, h) = clip_fractions(&log_ratio, &[1.0, -1.0, 1.0], low, high);
        assert!((l - 1.0 / 3.0).abs() < 1e-12 && (h - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn gaussian_log_ratio_matches_the_densities() {
        let device = Device::default();
        let samples = Tensor::<3>::from_data(
            TensorData::new(vec![1.0f32, 0.0, 0.0, 2.0], [1, 2, 2]),
            &device,
        );
        let mean = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, 0.5], [1, 2]), &device);
        let old = Tensor::<2>::zeros([1, 2], &device);
        let sigma = 0.5;
        let got: Vec<f32> = gaussian_log_ratio(samples, mean, old, sigma)
            .into_data()
            .try_into_vec_as()
            .unwrap();
        // (|s - old|² - |s - mean|²) / (2σ²): (1 - 0.5) / 0.5 and (4 - 2.5) / 0.5.
        assert!(
            (got[0] - 1.0).abs() < 1e-6 && (got[1] - 3.0).abs() < 1e-6,
            "{got:?}"
        );
    }
}
