//! Item titles files.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::Path;

use polars::prelude::*;

use super::*;
use crate::error::{DataError, Result};

/// Reads item titles keyed by the original item id: MovieLens `u.item` (latin-1, `|`),
/// `movies.dat` (`::`, latin-1 in ml-1m), `movies.csv` (quoted CSV with header), a RecBole
/// atomic `*.item` file (`item_id:token` and a `*title*` column), or Amazon metadata JSON lines
/// (`asin` or `parent_asin`, and `title`; plain or gzip), or an LC-Rec `<Name>.item.json` (one
/// object: item id → `{"title": …}`).
pub fn read_titles(path: &Path) -> Result<HashMap<String, String>> {
    let mut bytes = Vec::new();
    open(path)?
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.ends_with(".csv") {
        return read_titles_csv(path, &bytes);
    }
    if name.ends_with(".item.json") {
        return read_titles_lcrec(path, &bytes);
    }
    if name.ends_with(".json") || name.ends_with(".jsonl") {
        return read_titles_json(path, &bytes);
    }
    if name.ends_with(".item") && name != "u.item" {
        return read_titles_recbole(path, &bytes);
    }
    let separator = if name.ends_with(".dat") { "::" } else { "|" };
    // u.item and the ml-1m movies.dat are latin-1: every byte is one code point.
    let text: String = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => e.into_bytes().iter().map(|&b| b as char).collect(),
    };
    let mut titles = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split(separator);
        match (fields.next(), fields.next()) {
            (Some(id), Some(title)) => {
                titles.insert(id.trim().to_string(), title.to_string());
            }
            _ => {
                return Err(DataError::malformed(
                    path,
                    index + 1,
                    format!(
                        "expected `id{separator}title{separator}...`, found `{}`",
                        truncate(line)
                    ),
                ));
            }
        }
    }
    Ok(titles)
}

fn read_titles_csv(path: &Path, bytes: &[u8]) -> Result<HashMap<String, String>> {
    let frame = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .into_reader_with_file_handle(Cursor::new(strip_bom(bytes)))
        .finish()
        .map_err(|e| {
            DataError::malformed(
                path,
                1,
                format!("expected a CSV with a header `movieId,title,...`: {e}"),
            )
        })?;
    let columns = frame.columns();
    if columns.len() < 2 {
        return Err(DataError::malformed(
            path,
            1,
            "expected at least two columns: id, title",
        ));
    }
    let ids = columns[0]
        .str()
        .map_err(|e| DataError::malformed(path, 1, e.to_string()))?;
    let names = columns[1]
        .str()
        .map_err(|e| DataError::malformed(path, 1, e.to_string()))?;
    Ok(ids
        .iter()
        .zip(names.iter())
        .filter_map(|(id, title)| Some((id?.to_string(), title?.to_string())))
        .collect())
}

fn read_titles_lcrec(path: &Path, bytes: &[u8]) -> Result<HashMap<String, String>> {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(strip_bom(bytes)).map_err(|e| {
            DataError::malformed(
                path,
                e.line(),
                format!("expected one JSON object mapping item ids to {{\"title\": …}} ({e})"),
            )
        })?;
    Ok(object
        .into_iter()
        .filter_map(|(id, item)| {
            let title = item.get("title")?.as_str()?.trim().to_string();
            Some((id, title))
        })
        .collect())
}

fn read_titles_json(path: &Path, bytes: &[u8]) -> Result<HashMap<String, String>> {
    let mut titles = HashMap::new();
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let value: serde_json::Value = serde_json::from_slice(raw).map_err(|e| {
            DataError::malformed(
                path,
                index + 1,
                format!("expected a JSON object with `asin` or `parent_asin` and `title` ({e})"),
            )
        })?;
        let id = value
            .get("parent_asin")
            .or_else(|| value.get("asin"))
            .and_then(|v| v.as_str());
        let title = value.get("title").and_then(|v| v.as_str());
        if let (Some(id), Some(title)) = (id, title)
            && !title.trim().is_empty()
        {
            titles.insert(id.to_string(), title.to_string());
        }
    }
    Ok(titles)
}

fn read_titles_recbole(path: &Path, bytes: &[u8]) -> Result<HashMap<String, String>> {
    let text = std::str::from_utf8(strip_bom(bytes)).map_err(|e| DataError::InvalidUtf8 {
        path: path.to_path_buf(),
        line: 1 + bytecount(&bytes[..e.valid_up_to()]),
        offset: 0,
    })?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let column = |wanted: &dyn Fn(&str) -> bool| {
        header
            .iter()
            .position(|h| wanted(h.split(':').next().unwrap_or_default()))
    };
    let (Some(id_column), Some(title_column)) = (
        column(&|n| n == "item_id"),
        column(&|n| n.contains("title")),
    ) else {
        return Err(DataError::malformed(
            path,
            1,
            "expected a typed header with `item_id:token` and a title column such as `movie_title:token_seq`",
        ));
    };
    let mut titles = HashMap::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split('\t').collect();
        if let (Some(id), Some(title)) = (fields.get(id_column), fields.get(title_column)) {
            titles.insert(id.to_string(), title.to_string());
        }
    }
    Ok(titles)
}
