//! Where every interaction-file format is parsed.
//!
//! Delimited formats are read in chunks of whole lines (64 MiB by default) and each chunk is parsed
//! by polars' multi-threaded CSV reader into typed columns, which are then coded to dense ids and
//! appended to flat vectors. Reading in chunks keeps peak memory close to the size of the
//! decoded columns rather than file + columns. JSON-lines formats are parsed by polars' NDJSON
//! reader with an explicit schema. When polars rejects a chunk, a line-by-line check of that chunk
//! finds the first offending line, so the error names the file, the line and what was expected.
//!
//! - `layout`: each delimited format's fields (separator, header, which column is what);
//! - `delimited`: the chunked reader of those formats and its line-by-line diagnosis;
//! - `json`: the JSON-lines formats;
//! - `ids`: dense ids in order of first appearance and the builder of [`Interactions`];
//! - `titles`: item titles files ([`read_titles`]).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::{DataError, Result};
use crate::format::{Format, Reading};
use crate::split::SplitPart;

mod delimited;
mod ids;
mod json;
mod layout;
mod predefined;
mod sequences;
mod titles;

use delimited::read_delimited;
use json::read_json_lines;
pub(crate) use predefined::{d3_titles_file, is_d3_csv, part_files, read_d3_titles};
pub(crate) use sequences::{TxtShape, txt_shape};
use sequences::{read_sequence_lines, read_user_items_json};
pub use titles::{read_categories, read_titles};

/// Interactions exactly as read from a file, one row per event, before any filtering.
///
/// Users and items are coded `0..n` in order of first appearance; `user_ids` and `item_ids` give
/// the original id of each code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Interactions {
    pub user: Vec<u32>,
    pub item: Vec<u32>,
    pub rating: Vec<f32>,
    /// Seconds since the epoch (Amazon 2023 milliseconds are divided by 1000), or the row number
    /// for files without time.
    pub timestamp: Vec<i64>,
    pub user_ids: Vec<String>,
    pub item_ids: Vec<String>,
    /// The file has no timestamps (its order is the time order): `timestamp` is the row number,
    /// and a temporal split is refused.
    pub untimed: bool,
    /// The split part of each row, for files that carry their own split (D3-style CSVs, RecBole
    /// benchmark files). Such rows come grouped in sequence order per user, and preprocessing
    /// keeps that order.
    pub parts: Option<Vec<SplitPart>>,
}

impl Interactions {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.user.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.user.is_empty()
    }
}

/// Options of [`read_interactions`].
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Bytes of whole lines handed to polars at once.
    pub chunk_bytes: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            chunk_bytes: 64 << 20,
        }
    }
}

/// Reads an interaction file of the given format (plain, or gzip when the name ends in `.gz`).
pub fn read_interactions(
    path: &Path,
    format: Format,
    options: &ReadOptions,
) -> Result<Interactions> {
    let reader = open(path)?;
    let interactions = match format.descriptor().reading {
        Reading::JsonLines { .. } => read_json_lines(path, format, reader)?,
        Reading::SequenceLines { pairs } => read_sequence_lines(path, format, reader, pairs)?,
        Reading::UserItemsJson => read_user_items_json(path, format, reader)?,
        Reading::Predefined => {
            drop(reader);
            predefined::read(path, format)?
        }
        Reading::Delimited { .. } | Reading::TypedHeader => {
            read_delimited(path, format, reader, options)?
        }
    };
    if interactions.is_empty() {
        return Err(DataError::Empty {
            context: path.display().to_string(),
            hint: format!(
                " (the file has no data lines; expected {})",
                format.line_shape()
            ),
        });
    }
    Ok(interactions)
}

/// How many times its compressed size a gzip file may expand to. Interaction files expand 3–15
/// times; a gzip bomb (gigabytes of one repeated byte) expands about 1,000 times, and reading it
/// would take the machine's memory: it is refused once it passes this bound.
pub const MAX_GZIP_EXPANSION: u64 = 100;

/// Small gzip files may expand up to this many bytes whatever their ratio.
const GZIP_EXPANSION_FLOOR: u64 = 64 << 20;

/// A decompressed stream that fails once it has produced more than `limit` bytes.
struct Bounded<R> {
    inner: R,
    produced: u64,
    limit: u64,
    compressed: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        if self.produced > self.limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "its gzip stream expands past {} MB from {:.1} MB compressed, more than \
                     {MAX_GZIP_EXPANSION} times its size (interaction files expand 3-15 times); \
                     refused as a possible gzip bomb. Decompress it yourself if it is data",
                    self.produced >> 20,
                    self.compressed as f64 / f64::from(1 << 20)
                ),
            ));
        }
        Ok(n)
    }
}

pub(crate) fn open(path: &Path) -> Result<Box<dyn Read>> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let is_gzip = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    Ok(if is_gzip {
        let compressed = file.metadata().map_err(|e| DataError::io(path, e))?.len();
        Box::new(Bounded {
            inner: flate2::read::MultiGzDecoder::new(BufReader::new(file)),
            produced: 0,
            limit: compressed
                .saturating_mul(MAX_GZIP_EXPANSION)
                .max(GZIP_EXPANSION_FLOOR),
            compressed,
        })
    } else {
        Box::new(file)
    })
}

/// Every byte of an opened file (decompressed), errors naming `path`.
pub(crate) fn read_all(path: &Path, mut reader: Box<dyn Read>) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, e))?;
    Ok(bytes)
}

pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

pub(crate) fn bytecount(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

pub(crate) fn truncate(text: &str) -> String {
    const LIMIT: usize = 80;
    if text.chars().count() <= LIMIT {
        text.to_string()
    } else {
        let cut: String = text.chars().take(LIMIT).collect();
        format!("{cut}…")
    }
}
