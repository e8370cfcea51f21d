//! Errors of model training.

/// Everything that can stop training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The loss became NaN or infinite; the last good checkpoint is kept.
    #[error(
        "the loss became {value} at step {step} (epoch {epoch}); the last good checkpoint is kept. Lower the learning rate or enable gradient clipping"
    )]
    NonFinite {
        step: usize,
        epoch: usize,
        value: f64,
    },
    #[error("invalid training setting: {0}")]
    Setting(String),
    #[error(transparent)]
    Eval(#[from] latentr3_eval::EvalError),
    /// Writing a checkpoint or log failed.
    #[error("{0}")]
    Io(String),
}
