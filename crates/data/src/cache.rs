//! The processed-dataset cache in `data/cache/`: one file per (source content, settings), so a
//! changed file or a changed setting never reads a stale entry.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::Xxh3;

use crate::dataset::Dataset;
use crate::error::{DataError, Result};

/// Bumped whenever the processed representation or preprocessing semantics change.
// 2: `Dataset::untimed`. 3: `Dataset::parts`. 4: `Dataset::categories`.
const CACHE_VERSION: u32 = 4;

/// A 128-bit fingerprint of a file's content.
pub fn fingerprint_file(path: &Path) -> Result<u128> {
    let mut file = BufReader::with_capacity(
        1 << 20,
        File::open(path).map_err(|e| DataError::io(path, e))?,
    );
    let mut hasher = Xxh3::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(|e| DataError::io(path, e))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.digest128())
}

/// The cache file for a source fingerprint and the serialised preprocessing settings.
pub fn cache_path(dir: &Path, stem: &str, fingerprint: u128, settings: &str) -> PathBuf {
    let mut hasher = Xxh3::new();
    hasher.update(&CACHE_VERSION.to_le_bytes());
    hasher.update(&fingerprint.to_le_bytes());
    hasher.update(settings.as_bytes());
    dir.join(format!("{stem}-{:032x}.bin", hasher.digest128()))
}

/// Reads a cached dataset; `None` when there is no entry or it cannot be decoded (it is then
/// rebuilt and overwritten).
pub fn read(path: &Path) -> Option<Dataset> {
    let bytes = std::fs::read(path).ok()?;
    postcard::from_bytes(&bytes).ok()
}

/// Writes a dataset to the cache atomically: a temporary file in the same directory, renamed
/// into place, so an interrupted write never leaves a partial entry.
pub fn write(path: &Path, dataset: &Dataset) -> Result<()> {
    let cache_error = |message: String| DataError::Cache {
        path: path.to_path_buf(),
        message,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| cache_error(format!("cannot create the directory: {e}")))?;
    let bytes =
        postcard::to_stdvec(dataset).map_err(|e| cache_error(format!("cannot encode: {e}")))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(|e| cache_error(e.to_string()))?;
    temp.write_all(&bytes)
        .map_err(|e| cache_error(e.to_string()))?;
    temp.persist(path)
        .map_err(|e| cache_error(e.error.to_string()))?;
    Ok(())
}
