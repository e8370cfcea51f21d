//! RL settings (the `[rl]` section of an experiment).

use serde::{Deserialize, Serialize};

use crate::reward::{RewardKind, RewardTerm};

/// How rewards become advantages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdvantageKind {
    /// The paper's: minus the mean of the batch's noise-free rewards, divided by the L2 norm of
    /// the whole centred vector.
    #[default]
    Batch,
    /// Standard GRPO: minus the group's mean, divided by the group's standard deviation.
    Group,
}

/// What the policy gradient is taken of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectiveKind {
    /// The paper's: PPO clip on `p(target | r + ε)` with the gradient flowing through the noisy
    /// latent into the head (reparameterised). With one iteration the ratio is 1.
    #[default]
    Reparam,
    /// A policy gradient on the Gaussian latent policy `N(head(x), σ²I)`: the ratio is the
    /// density of the sampled latent under the current head over the sampling head.
    GaussianPg,
}

/// The RL stage's settings. Defaults follow the paper where it gives a value (group 8, batch
/// 256, clip 0.2/0.28, one iteration, no KL, 200 warm-up steps scaled down to our shorter runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RlConfig {
    /// Passes over the training windows; 0 skips the stage.
    pub epochs: usize,
    /// Sequences per batch (each expanded into a group).
    pub batch_size: usize,
    /// Latents per sequence; the first is noise-free.
    pub group_size: usize,
    /// Exploration noise relative to the latent's scale: σ = `sigma` × RMS of the batch's
    /// noise-free latents' components (the paper's 1.5 is absolute, on an LLM's hidden scale).
    pub sigma: f64,
    /// Reward terms, summed with their weights.
    pub rewards: Vec<RewardTerm>,
    pub advantage: AdvantageKind,
    pub objective: ObjectiveKind,
    /// Optimisation passes over each batch (the paper: 1).
    pub iterations: usize,
    /// PPO clip range below 1 (`1 - clip_low`).
    pub clip_low: f64,
    /// PPO clip range above 1 (`1 + clip_high`, "clip-higher").
    pub clip_high: f64,
    /// Weight of KL(current head ‖ SFT head) for `gaussian_pg` (0: none, the paper's β = 0).
    pub kl_weight: f64,
    /// Peak learning rate (AdamW) of the latent head.
    pub lr: f64,
    pub weight_decay: f64,
    pub warmup_steps: usize,
    /// The cosine decays to `lr × min_lr_ratio` at the last step.
    pub min_lr_ratio: f64,
    /// Global gradient-norm clipping threshold (0: off).
    pub grad_clip: f64,
    /// Validate every this many steps (0: at the end of every epoch).
    pub eval_every: usize,
    /// Validations without improvement of `monitor` before stopping (0: never stop early).
    pub patience: usize,
    /// The validation metric that selects the best checkpoint.
    pub monitor: String,
    /// Training windows end every `window_stride` items (0: non-overlapping, as in SFT); each
    /// window gives one sequence whose last target is rewarded.
    pub window_stride: usize,
    pub seed: u64,
}

impl Default for RlConfig {
    fn default() -> Self {
        RlConfig {
            epochs: 5,
            batch_size: 256,
            group_size: 8,
            sigma: 0.5,
            rewards: vec![RewardTerm::new(RewardKind::NegPerplexity, 1.0)],
            advantage: AdvantageKind::Batch,
            objective: ObjectiveKind::Reparam,
            iterations: 1,
            clip_low: 0.2,
            clip_high: 0.28,
            kl_weight: 0.0,
            lr: 1e-4,
            weight_decay: 0.0,
            warmup_steps: 10,
            min_lr_ratio: 0.0,
            grad_clip: 1.0,
            eval_every: 0,
            patience: 0,
            monitor: "NDCG@10".into(),
            window_stride: 0,
            seed: 42,
        }
    }
}

impl RlConfig {
    /// Checks the settings for values that cannot work.
    pub fn validate(&self) -> Result<(), String> {
        if self.batch_size == 0 || self.group_size == 0 || self.iterations == 0 {
            return Err("batch_size, group_size and iterations must be at least 1".into());
        }
        if self.group_size < 2 && self.advantage == AdvantageKind::Group {
            return Err("group advantages need group_size >= 2".into());
        }
        if !(self.sigma.is_finite() && self.sigma > 0.0) {
            return Err(format!("sigma {} must be positive", self.sigma));
        }
        if self.rewards.is_empty() {
            return Err("rewards is empty; add e.g. { kind = \"neg_perplexity\" }".into());
        }
        for term in &self.rewards {
            term.validate()?;
        }
        if !(0.0..1.0).contains(&self.clip_low) || self.clip_high < 0.0 {
            return Err(format!(
                "clip_low {} must be in [0, 1) and clip_high {} non-negative",
                self.clip_low, self.clip_high
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(format!("lr {} must be positive", self.lr));
        }
        if self.kl_weight < 0.0 {
            return Err(format!("kl_weight {} must be non-negative", self.kl_weight));
        }
        Ok(())
    }

    /// The learning rate at `step` of `total`: linear warm-up, then cosine decay.
    pub fn learning_rate(&self, step: usize, total: usize) -> f64 {
        latentr3_model::training::warmup_cosine(
            self.lr,
            self.min_lr_ratio,
            self.warmup_steps,
            step,
            total,
        )
    }
}
