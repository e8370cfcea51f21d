//! Everything that can stop an experiment, with its cause kept (`std::error::Error::source`).

use std::path::PathBuf;

/// An error of the latentr3 library. Messages name the file, the setting or the run directory
/// and say what to do; the underlying I/O, JSON, checkpoint, data or training error is the
/// [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An experiment file that cannot be read or parsed (the message has TOML's line and column).
    #[error("{path}: {message}", path = path.display())]
    Experiment { path: PathBuf, message: String },
    /// A `--set key=value` override that does not apply.
    #[error("--set {assignment}: {message}")]
    Override { assignment: String, message: String },
    /// A setting that cannot work, named by its section (`model`, `rl`).
    #[error("[{section}] {message}")]
    Setting {
        section: &'static str,
        message: String,
    },
    #[error("cannot {action} {path}", path = path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not what latentr3 wrote there", path = path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot {action} the checkpoint {path}", path = path.display())]
    Checkpoint {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: burn::store::RecordError,
    },
    /// A checkpoint whose bytes are not those that were written (truncated, overwritten, bit
    /// rot): refused before burn reads it.
    #[error(
        "the checkpoint {path} is damaged: its SHA-256 is {found}, not what {sidecar} recorded when it was written; it was truncated or changed since. Resume or evaluate from another checkpoint of the run",
        path = path.display(),
        sidecar = sidecar.display()
    )]
    Damaged {
        path: PathBuf,
        sidecar: PathBuf,
        found: String,
    },
    #[error(transparent)]
    Data(#[from] latentr3_data::DataError),
    #[error(transparent)]
    Eval(#[from] latentr3_eval::EvalError),
    #[error(transparent)]
    Train(#[from] latentr3_model::TrainError),
    /// A training stage stopped; `what` says which and where its checkpoints are.
    #[error("{what}")]
    Stopped {
        what: String,
        #[source]
        source: latentr3_model::TrainError,
    },
    /// A run directory that cannot be used as asked; the message says what to do instead.
    #[error("{0}")]
    Run(String),
    /// Two evaluations that were not made under the same protocol.
    #[error("{what}:\n  {}", differences.join("\n  "))]
    Protocol {
        what: String,
        differences: Vec<String>,
    },
    /// Input that does not fit the data (an unknown item id, a K out of range).
    #[error("{0}")]
    Input(String),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    pub(crate) fn json(path: impl Into<PathBuf>) -> impl FnOnce(serde_json::Error) -> Error {
        let path = path.into();
        move |source| Error::Json { path, source }
    }

    pub(crate) fn checkpoint(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(burn::store::RecordError) -> Error {
        let path = path.into();
        move |source| Error::Checkpoint {
            action,
            path,
            source,
        }
    }
}
