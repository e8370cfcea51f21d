//! What a sequence encoder must offer to be trained by SFT and RL and to score items: the
//! [`SequenceBackbone`] trait, the [`Encoded`] state it hands between calls, and [`Backbone`],
//! the encoders latentr3 ships ([`Sasrec`], [`Gru4Rec`]) selectable from `model.backbone`.
//!
//! A backbone reads left-padded item ids (item 0 is padding, the most recent item sits in the
//! last column), keeps what it needs to continue past the history (its cache), and scores every
//! item from a `[batch, d]` state with its item embeddings (a tied output layer). A *thought
//! slot* is one extra position whose input is a `[batch, d]` vector instead of an item
//! embedding: the latent head's output is fed back through it.
//!
//! Your own encoder implements [`SequenceBackbone`] and is trained as
//! `Recommender<YourEncoder>` by [`sft::train`](crate::sft::train) and the RL stage of the
//! `latentr3-grpo` crate; the TOML pipeline builds the encoders of [`Backbone`].

use burn::module::{ModuleDisplay, Param};
use burn::prelude::*;

use crate::config::{BackboneKind, ModelConfig};
use crate::gru4rec::Gru4Rec;
use crate::recommender::Inputs;
use crate::sasrec::Sasrec;

/// A backbone's view of a batch of histories after a forward pass.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// `[batch, len, d]`: the last layer's hidden states of every position seen so far.
    pub hidden: Tensor<3>,
    /// What the backbone keeps of the positions seen so far, so that thought slots are appended
    /// without re-reading the history: tensors whose axis 2 runs over positions, in the
    /// backbone's own layout (SASRec: each block's keys and values,
    /// `[batch, heads, len, head_dim]`; GRU4Rec: each layer's state after every position,
    /// `[batch, 1, len, state]`).
    pub cache: Vec<Tensor<4>>,
    /// `[batch, len]`: true at padding positions.
    pub padding: Tensor<2, Bool>,
    /// Thought slots appended so far.
    pub thoughts: usize,
}

impl Encoded {
    /// Positions seen so far (history columns + thought slots).
    pub fn len(&self) -> usize {
        self.hidden.dims()[1]
    }

    /// Whether no position was seen.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `[batch, d]`: the hidden state of the last position.
    pub fn last(&self) -> Tensor<2> {
        let [batch, len, d] = self.hidden.dims();
        self.hidden
            .clone()
            .narrow(1, len - 1, 1)
            .reshape([batch, d])
    }

    /// The same state as constants on the autodiff twin of its device: the RL stage encodes a
    /// batch once without autodiff and differentiates only through the thought slots.
    pub fn autodiff(self) -> Encoded {
        Encoded {
            hidden: self.hidden.autodiff(),
            cache: self.cache.into_iter().map(|t| t.autodiff()).collect(),
            padding: self.padding.autodiff(),
            thoughts: self.thoughts,
        }
    }
}

/// The calls SFT, RL and scoring make on a sequence encoder. `d` is the model width
/// (`model.hidden`): the width of item embeddings, hidden states and thoughts.
pub trait SequenceBackbone: Module + ModuleDisplay + Sync + 'static {
    /// The longest history read.
    fn max_len(&self) -> usize;

    /// The item embedding table, `[item_slots, d]` (row 0 is padding). By default it is also
    /// the output layer ([`SequenceBackbone::score`]).
    fn item_embeddings(&self) -> &Param<Tensor<2>>;

    /// Number of item ids scored (padding included).
    fn item_slots(&self) -> usize {
        self.item_embeddings().dims()[0]
    }

    /// The device the parameters live on.
    fn device(&self) -> Device {
        self.item_embeddings().device()
    }

    /// Encodes left-padded histories.
    fn encode(&self, inputs: &Inputs) -> Encoded;

    /// Appends one thought slot whose input is `thought` (`[batch, d]`), continuing from the
    /// cache: the history is not recomputed.
    fn append_thought(&self, encoded: &Encoded, thought: Tensor<2>) -> Encoded;

    /// Runs `group` alternative inputs for the same next thought slot (`thoughts`:
    /// `[batch, group, d]`) in one pass; each equals [`SequenceBackbone::append_thought`] of
    /// that alternative alone. Returns the slot's hidden states, `[batch, group, d]`: this is how
    /// the RL stage scores a group of noisy latents without copying the history per member.
    fn alternative_thoughts(&self, encoded: &Encoded, thoughts: Tensor<3>) -> Tensor<3>;

    /// A first thought slot after every history position at once: `thoughts[:, t]` is the input
    /// of the slot that follows position `t`, and that slot reads the history up to `t` only
    /// (`inputs.blocked` says which positions `t` sees). Returns the slots' hidden states,
    /// `[batch, len, d]`; the slot after the last position equals
    /// [`SequenceBackbone::append_thought`] (dense SFT of the latent head).
    fn thoughts_after_every_position(
        &self,
        encoded: &Encoded,
        thoughts: Tensor<3>,
        inputs: &Inputs,
    ) -> Tensor<3>;

    /// Scores every item id (`[batch, item_slots]`) from states (`[batch, d]`); by default
    /// with the item embeddings (a tied output layer, as SASRec and GRU4Rec do).
    fn score(&self, hidden: Tensor<2>) -> Tensor<2> {
        hidden.matmul(self.item_embeddings().val().transpose())
    }
}

/// The encoders latentr3 builds from `model.backbone`.
#[derive(Module, Debug)]
pub enum Backbone {
    /// A causal transformer (SASRec).
    Sasrec(Sasrec),
    /// A gated recurrent network (GRU4Rec).
    Gru4Rec(Gru4Rec),
}

impl Backbone {
    /// A freshly initialised encoder of the configured kind over items `1..=num_items`.
    pub fn new(config: &ModelConfig, num_items: usize, device: &Device) -> Backbone {
        match config.backbone {
            BackboneKind::Sasrec => Backbone::Sasrec(Sasrec::new(config, num_items, device)),
            BackboneKind::Gru4rec => Backbone::Gru4Rec(Gru4Rec::new(config, num_items, device)),
        }
    }

    /// Which encoder this is.
    pub fn kind(&self) -> BackboneKind {
        match self {
            Backbone::Sasrec(_) => BackboneKind::Sasrec,
            Backbone::Gru4Rec(_) => BackboneKind::Gru4rec,
        }
    }
}

/// Forwards a call to the encoder inside.
macro_rules! dispatch {
    ($self:ident, $encoder:ident => $call:expr) => {
        match $self {
            Backbone::Sasrec($encoder) => $call,
            Backbone::Gru4Rec($encoder) => $call,
        }
    };
}

impl SequenceBackbone for Backbone {
    fn max_len(&self) -> usize {
        dispatch!(self, e => e.max_len())
    }

    fn item_embeddings(&self) -> &Param<Tensor<2>> {
        dispatch!(self, e => e.item_embeddings())
    }

    fn encode(&self, inputs: &Inputs) -> Encoded {
        dispatch!(self, e => e.encode(inputs))
    }

    fn append_thought(&self, encoded: &Encoded, thought: Tensor<2>) -> Encoded {
        dispatch!(self, e => e.append_thought(encoded, thought))
    }

    fn alternative_thoughts(&self, encoded: &Encoded, thoughts: Tensor<3>) -> Tensor<3> {
        dispatch!(self, e => e.alternative_thoughts(encoded, thoughts))
    }

    fn thoughts_after_every_position(
        &self,
        encoded: &Encoded,
        thoughts: Tensor<3>,
        inputs: &Inputs,
    ) -> Tensor<3> {
        dispatch!(self, e => e.thoughts_after_every_position(encoded, thoughts, inputs))
    }
}
