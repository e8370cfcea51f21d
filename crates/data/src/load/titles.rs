//! Item titles files.

use std::collections::HashMap;
use std::io::Cursor;
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
    let (bytes, name) = read_item_file(path)?;
    let name = name.as_str();
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

/// A titles or categories file's bytes (decompressed) and its lower-case name without `.gz`,
/// which tells its format.
fn read_item_file(path: &Path) -> Result<(Vec<u8>, String)> {
    let bytes = read_all(path, open(path)?)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name).to_string();
    Ok((bytes, name))
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
    recbole_item_column(path, bytes, &|n| n.contains("title"))?
        .ok_or_else(|| {
            DataError::malformed(
                path,
                1,
                "expected a typed header with `item_id:token` and a title column such as `movie_title:token_seq`",
            )
        })
        .map(|rows| rows.into_iter().collect())
}

/// `(item id, value)` of every row of a RecBole `*.item` file, for the first column whose name
/// (before `:type`) satisfies `wanted`; `None` without an `item_id` or such a column.
fn recbole_item_column(
    path: &Path,
    bytes: &[u8],
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Option<Vec<(String, String)>>> {
    let bytes = strip_bom(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| DataError::InvalidUtf8 {
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
    let (Some(id_column), Some(value_column)) = (column(&|n| n == "item_id"), column(wanted))
    else {
        return Ok(None);
    };
    Ok(Some(
        lines
            .filter(|l| !l.trim().is_empty())
            .filter_map(|line| {
                let fields: Vec<&str> = line.split('\t').collect();
                Some((
                    fields.get(id_column)?.to_string(),
                    fields.get(value_column)?.to_string(),
                ))
            })
            .collect(),
    ))
}

/// The 19 genres of MovieLens 100K's `u.item` flags, in column order (its `u.genre`).
const ML100K_GENRES: [&str; 19] = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
];

/// Reads item categories keyed by the original item id, from the same files as
/// [`read_titles`]: MovieLens genres (`u.item` flags, `movies.dat` and `movies.csv`
/// `A|B` lists), a RecBole `*.item` genre, category or `class` column (`token_seq`; RecBole's ml-100k copy names its genres `class`), Amazon metadata
/// (`category` or `categories`; the first element of each path, the store's own root
/// category, is left out), or an LC-Rec `<Name>.item.json` (`categories`). Items without
/// categories are absent; a file that has no categories at all gives an empty map.
pub fn read_categories(path: &Path) -> Result<HashMap<String, Vec<String>>> {
    let (bytes, name) = read_item_file(path)?;
    let name = name.as_str();
    let bytes = strip_bom(&bytes);
    let mut categories = HashMap::new();
    let mut put = |id: &str, list: Vec<String>| {
        let list: Vec<String> = list
            .into_iter()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty() && c != "(no genres listed)")
            .collect();
        if !list.is_empty() {
            categories.insert(id.trim().to_string(), list);
        }
    };
    if name.ends_with(".csv") {
        let frame = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .into_reader_with_file_handle(Cursor::new(bytes))
            .finish()
            .map_err(|e| DataError::malformed(path, 1, format!("expected a CSV ({e})")))?;
        let (Ok(ids), Ok(genres)) = (frame.column("movieId"), frame.column("genres")) else {
            return Ok(HashMap::new());
        };
        let (ids, genres) = (
            ids.str()
                .map_err(|e| DataError::malformed(path, 1, e.to_string()))?,
            genres
                .str()
                .map_err(|e| DataError::malformed(path, 1, e.to_string()))?,
        );
        for (id, list) in ids.iter().zip(genres.iter()) {
            if let (Some(id), Some(list)) = (id, list) {
                put(id, list.split('|').map(str::to_string).collect());
            }
        }
    } else if name.ends_with(".item.json") {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(bytes)
            .map_err(|e| {
                DataError::malformed(
                    path,
                    e.line(),
                    format!(
                        "expected one JSON object mapping item ids to {{\"categories\": …}} ({e})"
                    ),
                )
            })?;
        for (id, item) in &object {
            put(id, json_categories(item.get("categories"), false));
        }
    } else if name.ends_with(".json") || name.ends_with(".jsonl") {
        for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
            if raw.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let value: serde_json::Value = serde_json::from_slice(raw).map_err(|e| {
                DataError::malformed(path, index + 1, format!("expected a JSON object ({e})"))
            })?;
            let id = value
                .get("parent_asin")
                .or_else(|| value.get("asin"))
                .and_then(|v| v.as_str());
            if let Some(id) = id {
                let list = value.get("categories").or_else(|| value.get("category"));
                put(id, json_categories(list, true));
            }
        }
    } else if name.ends_with(".item") && name != "u.item" {
        let wanted = |n: &str| n.contains("genre") || n.contains("categor") || n == "class";
        for (id, list) in recbole_item_column(path, bytes, &wanted)?.unwrap_or_default() {
            put(&id, list.split_whitespace().map(str::to_string).collect());
        }
    } else {
        // u.item (flags) and movies.dat (`A|B`), latin-1.
        let text: String = match std::str::from_utf8(bytes) {
            Ok(text) => text.to_string(),
            Err(_) => bytes.iter().map(|&b| b as char).collect(),
        };
        let dat = name.ends_with(".dat");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if dat {
                let fields: Vec<&str> = line.trim_end_matches('\r').split("::").collect();
                if let [id, _, genres, ..] = fields[..] {
                    put(id, genres.split('|').map(str::to_string).collect());
                }
            } else {
                let fields: Vec<&str> = line.trim_end_matches('\r').split('|').collect();
                if fields.len() >= 5 + ML100K_GENRES.len() {
                    let flags = &fields[fields.len() - ML100K_GENRES.len()..];
                    put(
                        fields[0],
                        flags
                            .iter()
                            .zip(ML100K_GENRES)
                            .filter(|(flag, _)| flag.trim() == "1")
                            .map(|(_, genre)| genre.to_string())
                            .collect(),
                    );
                }
            }
        }
    }
    Ok(categories)
}

/// Categories from a JSON value: a list of strings, a list of category paths (lists of
/// strings), or one comma-separated string. `drop_root`: leave out each path's first element
/// (Amazon metadata paths start with the store's own category).
fn json_categories(value: Option<&serde_json::Value>, drop_root: bool) -> Vec<String> {
    use serde_json::Value;
    let strings = |list: &[Value]| -> Vec<String> {
        list.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let without_root = |mut path: Vec<String>| {
        if drop_root && path.len() > 1 {
            path.remove(0);
        }
        path
    };
    match value {
        Some(Value::String(text)) => text.split(',').map(str::to_string).collect(),
        Some(Value::Array(list)) if list.iter().all(Value::is_array) => list
            .iter()
            .filter_map(|path| path.as_array())
            .flat_map(|path| without_root(strings(path)))
            .collect(),
        Some(Value::Array(list)) => without_root(strings(list)),
        _ => Vec::new(),
    }
}
