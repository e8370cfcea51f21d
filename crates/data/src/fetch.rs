//! Downloading MovieLens (feature `fetch`): an official GroupLens zip, checked against the
//! published MD5 and for the expected ratings file, and unpacked through temporary names, so an
//! interrupted fetch leaves nothing half-written.
//!
//! ```no_run
//! let ratings = latentr3_data::fetch::fetch("ml-100k", "data".as_ref(), &|line| eprintln!("{line}"))?;
//! # Ok::<(), latentr3_data::fetch::FetchError>(())
//! ```

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

/// The MovieLens releases [`fetch`] knows, with the ratings file each must contain.
pub const RELEASES: [(&str, &str); 5] = [
    ("ml-100k", "u.data"),
    ("ml-1m", "ratings.dat"),
    ("ml-20m", "ratings.csv"),
    ("ml-25m", "ratings.csv"),
    ("ml-latest-small", "ratings.csv"),
];

const DEFAULT_BASE: &str = "https://files.grouplens.org/datasets/movielens";

/// Why a fetch failed; each message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("unknown dataset `{name}`; expected one of: {known}")]
    UnknownDataset { name: String, known: String },
    #[error("could not download {url} ({source}); {by_hand}")]
    Download {
        url: String,
        by_hand: String,
        source: Box<ureq::Error>,
    },
    #[error("the download of {url} was interrupted ({source}); try again")]
    Interrupted { url: String, source: std::io::Error },
    #[error("{0}")]
    Checksum(String),
    #[error("the download is not a usable zip: {0}")]
    Zip(String),
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FetchError {
    let path = path.to_path_buf();
    move |source| FetchError::Io { what, path, source }
}

/// Where the zips are downloaded from; `LATENTR3_MOVIELENS_URL` overrides it (mirrors, tests).
fn base_url() -> String {
    std::env::var("LATENTR3_MOVIELENS_URL").unwrap_or_else(|_| DEFAULT_BASE.to_string())
}

/// Downloads and unpacks `name` into `dir/name/`, reporting what it does to `progress`.
/// Returns the ratings file's path; does nothing when it already exists.
pub fn fetch(name: &str, dir: &Path, progress: &dyn Fn(&str)) -> Result<PathBuf, FetchError> {
    let Some((_, ratings)) = RELEASES.iter().find(|(n, _)| *n == name) else {
        return Err(FetchError::UnknownDataset {
            name: name.to_string(),
            known: RELEASES.map(|(n, _)| n).join(", "),
        });
    };
    let target = dir.join(name);
    let ratings_path = target.join(ratings);
    if ratings_path.exists() {
        progress(&format!(
            "{} already exists; nothing to do",
            ratings_path.display()
        ));
        return Ok(ratings_path);
    }
    let url = format!("{}/{name}.zip", base_url());
    let by_hand = format!(
        "without network access, download {url} on another machine and unzip it into {}, so that {} exists",
        dir.display(),
        ratings_path.display()
    );
    progress(&format!("downloading {url}"));
    let zip_bytes = download(&url, &by_hand)?;
    let md5_bytes = download(&format!("{url}.md5"), &by_hand)?;
    let md5_text = String::from_utf8_lossy(&md5_bytes);
    verify_md5(&zip_bytes, &md5_text).map_err(|error| {
        FetchError::Checksum(format!("{url} failed verification ({error}); try again"))
    })?;
    std::fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    unpack(&zip_bytes, name, ratings, dir)?;
    progress(&format!("unpacked into {}", target.display()));
    Ok(ratings_path)
}

fn download(url: &str, by_hand: &str) -> Result<Vec<u8>, FetchError> {
    let response = ureq::get(url)
        .call()
        .map_err(|source| FetchError::Download {
            url: url.to_string(),
            by_hand: by_hand.to_string(),
            source: Box::new(source),
        })?;
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_reader()
        .read_to_end(&mut bytes)
        .map_err(|source| FetchError::Interrupted {
            url: url.to_string(),
            source,
        })?;
    Ok(bytes)
}

/// Checks `bytes` against a published `.md5` file (`<hex>` or `MD5 (name) = <hex>`).
pub fn verify_md5(bytes: &[u8], published: &str) -> Result<(), FetchError> {
    let expected = published
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|word| word.len() == 32)
        .ok_or_else(|| FetchError::Checksum(format!("no MD5 checksum in `{}`", published.trim())))?
        .to_ascii_lowercase();
    let actual: String = Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if actual != expected {
        return Err(FetchError::Checksum(format!(
            "MD5 mismatch: expected {expected}, got {actual}"
        )));
    }
    Ok(())
}

/// Unpacks the zip into a temporary directory beside `dir/name` and renames it into place;
/// refuses a zip without `name/ratings` or with paths that leave the directory.
pub fn unpack(zip_bytes: &[u8], name: &str, ratings: &str, dir: &Path) -> Result<(), FetchError> {
    let zip_error = |e: zip::result::ZipError| FetchError::Zip(e.to_string());
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).map_err(zip_error)?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}-"))
        .tempdir_in(dir)
        .map_err(io_error("create a temporary directory in", dir))?;
    let mut found = false;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(zip_error)?;
        let Some(relative) = entry.enclosed_name() else {
            return Err(FetchError::Zip(format!(
                "unsafe path {}",
                entry.name().map(|n| n.into_owned()).unwrap_or_default()
            )));
        };
        let out = staging.path().join(&relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&out).map_err(io_error("create", &out))?;
            continue;
        }
        if relative == Path::new(name).join(ratings) {
            found = true;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(io_error("create", parent))?;
        }
        let mut buffer = Vec::new();
        entry.read_to_end(&mut buffer).map_err(|e| {
            FetchError::Zip(format!(
                "entry {} failed its check: {e}",
                relative.display()
            ))
        })?;
        std::fs::File::create(&out)
            .and_then(|mut file| file.write_all(&buffer))
            .map_err(io_error("write", &out))?;
    }
    if !found {
        return Err(FetchError::Zip(format!("it has no {name}/{ratings}")));
    }
    let target = dir.join(name);
    std::fs::rename(staging.path().join(name), &target)
        .map_err(io_error("move the unpacked files into", &target))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_with(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in files {
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            writer.write_all(bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn md5_formats_and_mismatch() {
        let digest = "5d41402abc4b2a76b9719d911017c592"; // md5("hello")
        verify_md5(b"hello", digest).unwrap();
        verify_md5(b"hello", &format!("MD5 (ml-100k.zip) = {digest}\n")).unwrap();
        assert!(
            verify_md5(b"hellO", digest)
                .unwrap_err()
                .to_string()
                .contains("mismatch")
        );
        assert!(matches!(
            verify_md5(b"hello", "no checksum here"),
            Err(FetchError::Checksum(_))
        ));
    }

    #[test]
    fn unpack_checks_the_ratings_file_and_leaves_nothing_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let good = zip_with(&[
            ("ml-100k/u.data", b"1\t2\t3\t4\n"),
            ("ml-100k/u.item", b"2|Toy Story|x\n"),
        ]);
        unpack(&good, "ml-100k", "u.data", dir.path()).unwrap();
        assert!(dir.path().join("ml-100k/u.data").exists());

        let other = tempfile::tempdir().unwrap();
        let bad = zip_with(&[("ml-1m/movies.dat", b"1::x::y\n")]);
        let missing = unpack(&bad, "ml-1m", "ratings.dat", other.path()).unwrap_err();
        assert!(
            missing.to_string().contains("ml-1m/ratings.dat"),
            "{missing}"
        );
        assert_eq!(
            std::fs::read_dir(other.path()).unwrap().count(),
            0,
            "no staging directory left"
        );
    }
}
