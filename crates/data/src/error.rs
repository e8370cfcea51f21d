//! Typed errors of the data crate. Every variant that comes from user input names the file and,
//! where there is one, the line or field, plus what was expected, so a message alone tells the
//! user what to fix.

use std::path::PathBuf;

/// The result type of the data crate.
pub type Result<T> = std::result::Result<T, DataError>;

/// Everything that can go wrong while loading, preprocessing or caching a dataset.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file does not exist or cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file name does not match any known format and no format was given.
    #[error(
        "cannot tell the format of {path} from its name; set `format` in the [data] section to one of: {known}"
    )]
    UnknownFormat { path: PathBuf, known: String },

    /// A `.txt` file that is neither `user item` pairs nor one sequence a line.
    #[error(
        "cannot tell the format of {path}: every one of its first lines has {fields} fields, a table rather than `user item` pairs or one sequence a line; set `format` in the [data] section to one of: {known}"
    )]
    AmbiguousFormat {
        path: PathBuf,
        fields: usize,
        known: String,
    },

    /// A line of the file does not match the format.
    #[error("{path}:{line}: {message}")]
    Malformed {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// The file is not valid UTF-8 (and its format is not a latin-1 one).
    #[error("{path}:{line}: invalid UTF-8 (byte offset {offset} in the line); expected UTF-8 text")]
    InvalidUtf8 {
        path: PathBuf,
        line: usize,
        offset: usize,
    },

    /// The file parsed but had no rows, or preprocessing removed every interaction.
    #[error("{context}: no interactions left{hint}")]
    Empty { context: String, hint: String },

    /// A setting has a value outside its valid range.
    #[error("invalid setting `{field}`: {message}")]
    InvalidSetting {
        field: &'static str,
        message: String,
    },

    /// A cache file could not be written or read back.
    #[error("dataset cache {path}: {message}")]
    Cache { path: PathBuf, message: String },
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn malformed(
        path: impl Into<PathBuf>,
        line: usize,
        message: impl Into<String>,
    ) -> Self {
        DataError::Malformed {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}
