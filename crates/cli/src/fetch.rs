//! `latentr3 data fetch`: downloads an official GroupLens MovieLens zip, checks it against the
//! published MD5 and the expected ratings file, and unpacks it, all through temporary names so
//! an interrupted fetch leaves nothing half-written.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use md5::{Digest, Md5};

/// The MovieLens releases `data fetch` knows, with the ratings file each must contain.
pub const RELEASES: [(&str, &str); 5] = [
    ("ml-100k", "u.data"),
    ("ml-1m", "ratings.dat"),
    ("ml-20m", "ratings.csv"),
    ("ml-25m", "ratings.csv"),
    ("ml-latest-small", "ratings.csv"),
];

const DEFAULT_BASE: &str = "https://files.grouplens.org/datasets/movielens";

/// Where the zips are downloaded from; `LATENTR3_MOVIELENS_URL` overrides it (mirrors, tests).
fn base_url() -> String {
    std::env::var("LATENTR3_MOVIELENS_URL").unwrap_or_else(|_| DEFAULT_BASE.to_string())
}

/// Downloads and unpacks `name` into `dir/name/`. Returns the ratings file's path.
pub fn fetch(name: &str, dir: &Path, progress: &dyn Fn(&str)) -> Result<PathBuf> {
    let Some((_, ratings)) = RELEASES.iter().find(|(n, _)| *n == name) else {
        bail!(
            "unknown dataset `{name}`; expected one of: {}",
            RELEASES.map(|(n, _)| n).join(", ")
        );
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
    let by_hand = || {
        format!(
            "without network access, download {url} on another machine and unzip it into {}, so that {} exists",
            dir.display(),
            ratings_path.display()
        )
    };
    progress(&format!("downloading {url}"));
    let zip_bytes = download(&url).with_context(by_hand)?;
    let md5_text = String::from_utf8(download(&format!("{url}.md5")).with_context(by_hand)?)
        .context("the published .md5 file is not text")?;
    verify_md5(&zip_bytes, &md5_text)
        .with_context(|| format!("{url} failed verification; try again"))?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    unpack(&zip_bytes, name, ratings, dir)?;
    progress(&format!("unpacked into {}", target.display()));
    Ok(ratings_path)
}

fn download(url: &str) -> Result<Vec<u8>> {
    let response = ureq::get(url)
        .call()
        .with_context(|| format!("could not download {url}"))?;
    let mut bytes = Vec::new();
    response
        .into_body()
        .into_reader()
        .read_to_end(&mut bytes)
        .with_context(|| format!("the download of {url} was interrupted"))?;
    Ok(bytes)
}

/// Checks `bytes` against a published `.md5` file (`<hex>` or `MD5 (name) = <hex>`).
pub fn verify_md5(bytes: &[u8], published: &str) -> Result<()> {
    let expected = published
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|word| word.len() == 32)
        .with_context(|| format!("no MD5 checksum in `{}`", published.trim()))?
        .to_ascii_lowercase();
    let actual: String = Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if actual != expected {
        bail!("MD5 mismatch: expected {expected}, got {actual}");
    }
    Ok(())
}

/// Unpacks the zip into a temporary directory beside `dir/name` and renames it into place.
pub fn unpack(zip_bytes: &[u8], name: &str, ratings: &str, dir: &Path) -> Result<()> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
        .context("the download is not a valid zip")?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}-"))
        .tempdir_in(dir)
        .with_context(|| format!("cannot create a temporary directory in {}", dir.display()))?;
    let mut found = false;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index)?;
        let Some(relative) = entry.enclosed_name() else {
            bail!(
                "the zip has an unsafe path: {}",
                entry.name().map(|n| n.into_owned()).unwrap_or_default()
            );
        };
        let out = staging.path().join(&relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&out)?;
            continue;
        }
        if relative == Path::new(name).join(ratings) {
            found = true;
        }
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut file = std::fs::File::create(&out)?;
        let mut buffer = Vec::new();
        entry
            .read_to_end(&mut buffer)
            .context("a zip entry failed its CRC check")?;
        file.write_all(&buffer)?;
    }
    if !found {
        bail!("the zip has no {name}/{ratings}");
    }
    std::fs::rename(staging.path().join(name), dir.join(name)).with_context(|| {
        format!(
            "cannot move the unpacked files into {}",
            dir.join(name).display()
        )
    })?;
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
        assert!(unpack(&bad, "ml-1m", "ratings.dat", other.path()).is_err());
        assert_eq!(
            std::fs::read_dir(other.path()).unwrap().count(),
            0,
            "no staging directory left"
        );
    }
}
