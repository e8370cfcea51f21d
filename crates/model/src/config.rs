//! Model settings (the `[model]` section of an experiment).

use serde::{Deserialize, Serialize};

/// Which recommender to build: the plain backbone, or the backbone reading latent thoughts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The encoder alone: the last position's hidden state scores the items.
    Backbone,
    /// LatentR³: the latent head's thought is appended and the last thought slot scores items.
    #[default]
    Latent,
}

/// Which sequence encoder reads the history (`model.backbone`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackboneKind {
    /// A causal transformer (Kang & McAuley, 2018): `hidden`, `layers`, `heads`, `inner`,
    /// `positions`.
    #[default]
    Sasrec,
    /// A gated recurrent network (Hidasi et al., 2016, in RecBole's form: embedding → dropout →
    /// GRU → linear back to `hidden`): `gru_state`, `gru_layers`.
    Gru4rec,
}

impl std::fmt::Display for BackboneKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackboneKind::Sasrec => "sasrec",
            BackboneKind::Gru4rec => "gru4rec",
        })
    }
}

/// Which position embedding each history item gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Positions {
    /// Counted back from the most recent item, which always gets position `max_len - 1`.
    #[default]
    FromEnd,
    /// RecBole's layout: the oldest item read gets position 0, so for a history shorter than
    /// `max_len` the positions also tell how many items the user has.
    FromStart,
}

/// Architecture settings. Defaults are RecBole's SASRec settings for MovieLens (hidden 64, 2
/// layers, 2 heads, inner size 256, dropout 0.2, max length 50) and the paper's one thought;
/// the GRU4Rec settings default to RecBole's (state 128, one layer; RecBole's dropout for it
/// is 0.3, set it with `dropout`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    pub mode: Mode,
    /// The sequence encoder.
    pub backbone: BackboneKind,
    /// Longest history the backbone reads (older items are dropped).
    pub max_len: usize,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    /// Feed-forward inner size.
    pub inner: usize,
    /// Dropout on embeddings, attention weights and block outputs.
    pub dropout: f64,
    pub layer_norm_eps: f64,
    /// Latent thoughts chained before scoring (latent mode).
    pub thoughts: usize,
    /// RoPE base of the latent head.
    pub rope_base: f64,
    /// Standard deviation of the normal initialisation of embeddings and linear layers (SASRec
    /// and the latent head; GRU4Rec starts from Xavier initialisations, as RecBole's does).
    pub init_std: f64,
    /// Position layout of the history (thought slots always follow at `max_len + i`).
    pub positions: Positions,
    /// GRU4Rec: width of the recurrent state (the output is mapped back to `hidden`).
    pub gru_state: usize,
    /// GRU4Rec: stacked recurrent layers.
    pub gru_layers: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            mode: Mode::Latent,
            backbone: BackboneKind::Sasrec,
            max_len: 50,
            hidden: 64,
            layers: 2,
            heads: 2,
            inner: 256,
            dropout: 0.2,
            layer_norm_eps: 1e-12,
            thoughts: 1,
            rope_base: 1000.0,
            init_std: 0.02,
            positions: Positions::FromEnd,
            gru_state: 128,
            gru_layers: 1,
        }
    }
}

impl ModelConfig {
    /// Checks the settings for values that cannot work.
    pub fn validate(&self) -> Result<(), String> {
        if self.hidden == 0 || self.heads == 0 || !self.hidden.is_multiple_of(self.heads) {
            return Err(format!(
                "hidden ({}) must be a positive multiple of heads ({})",
                self.hidden, self.heads
            ));
        }
        if !self.hidden.is_multiple_of(2) {
            return Err(format!(
                "hidden ({}) must be even for the latent head's RoPE",
                self.hidden
            ));
        }
        if self.max_len == 0 || self.layers == 0 || self.inner == 0 {
            return Err("max_len, layers and inner must be at least 1".into());
        }
        if self.backbone == BackboneKind::Gru4rec && (self.gru_state == 0 || self.gru_layers == 0) {
            return Err("gru_state and gru_layers must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout {} must be in [0, 1)", self.dropout));
        }
        if self.mode == Mode::Latent && self.thoughts == 0 {
            return Err("latent mode needs at least one thought".into());
        }
        Ok(())
    }

    /// Thought slots the position table needs.
    pub fn thought_slots(&self) -> usize {
        match self.mode {
            Mode::Backbone => 0,
            Mode::Latent => self.thoughts,
        }
    }
}
