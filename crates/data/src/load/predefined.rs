//! Files that carry their own split: the D3 / BIGRec / LatentR³ CSVs (`train/`, `valid/` and
//! `test/` folders holding `<Name>.csv`, titles in `info/<Name>.txt`) and RecBole's benchmark
//! files (`<name>.train.inter`, `<name>.valid.inter`, `<name>.test.inter`).
//!
//! Each user's sequence is rebuilt from the files, read train, valid, then test, each in file
//! order: a sample's history (when the file has one) must continue what is known of its user's
//! sequence, and its target is appended with the sample's part. Items known only from the first
//! history of a user are context. A sample whose history does not continue its user's sequence
//! is an error naming its line: a file that is not what it says would otherwise train and
//! evaluate on the wrong histories without a word.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;

use super::ids::IdCoder;
use super::*;

/// The parts of a predefined split, in the order their files are read.
const PARTS: [(SplitPart, &str); 3] = [
    (SplitPart::Train, "train"),
    (SplitPart::Valid, "valid"),
    (SplitPart::Test, "test"),
];

/// The columns of a D3-style CSV that are read (the others, titles and ratings, are not).
const D3_COLUMNS: [&str; 5] = [
    "user_id",
    "history_item_id",
    "item_id",
    "history_timestamp",
    "timestamp",
];

/// Whether `path` is a CSV file whose header names `history_item_id` (a D3-style split file).
/// A file that cannot be read is not one (the reader then says why it cannot be read).
pub(crate) fn is_d3_csv(path: &Path) -> bool {
    let Ok(reader) = open(path) else {
        return false;
    };
    let mut head = Vec::with_capacity(4096);
    if reader.take(4096).read_to_end(&mut head).is_err() {
        return false;
    }
    let first_line = strip_bom(&head)
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or(&[]);
    String::from_utf8_lossy(first_line)
        .split(',')
        .any(|field| field.trim().trim_matches('"') == "history_item_id")
}

/// The files of the predefined split that `path` belongs to, train, valid and test in that
/// order, those that exist (`path` itself must).
pub(crate) fn part_files(path: &Path, format: Format) -> Result<Vec<(SplitPart, PathBuf)>> {
    if !path.exists() {
        return Err(DataError::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file (see data/README.md for how to get it)",
            ),
        ));
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let candidates: Vec<(SplitPart, PathBuf)> = match format {
        Format::D3Csv => {
            let folder = path.parent().and_then(|p| p.file_name());
            let root = path
                .parent()
                .and_then(Path::parent)
                .unwrap_or(Path::new(""));
            let in_part_folder = folder
                .and_then(|f| f.to_str())
                .is_some_and(|f| PARTS.iter().any(|(_, name)| *name == f));
            if !in_part_folder {
                return Err(DataError::malformed(
                    path,
                    1,
                    "a D3-style split file lives in a folder named train, valid or test (beside \
                     the other two and an info folder of titles); put it there, or set \
                     data.format to read it as another format",
                ));
            }
            PARTS
                .iter()
                .map(|&(part, name)| (part, root.join(name).join(&file_name)))
                .collect()
        }
        Format::RecboleBenchmark => {
            let lower = file_name.to_lowercase();
            let stem_length = PARTS
                .iter()
                .find_map(|(_, name)| {
                    lower
                        .strip_suffix(&format!(".{name}.inter"))
                        .map(|stem| stem.len())
                })
                .ok_or_else(|| {
                    DataError::malformed(
                        path,
                        1,
                        "a RecBole benchmark file is named <name>.train.inter, <name>.valid.inter \
                         or <name>.test.inter",
                    )
                })?;
            let stem = &file_name[..stem_length];
            let folder = path.parent().unwrap_or(Path::new(""));
            PARTS
                .iter()
                .map(|&(part, name)| (part, folder.join(format!("{stem}.{name}.inter"))))
                .collect()
        }
        _ => vec![(SplitPart::Train, path.to_path_buf())],
    };
    Ok(candidates
        .into_iter()
        .filter(|(_, file)| file.exists())
        .collect())
}

/// The titles file of a D3-style split (`info/<Name>.txt` beside the part folders), if present.
pub(crate) fn d3_titles_file(path: &Path) -> Option<PathBuf> {
    let stem = path.file_stem()?;
    let root = path.parent()?.parent()?;
    let file = root
        .join("info")
        .join(format!("{}.txt", stem.to_string_lossy()));
    file.exists().then_some(file)
}

/// Reads a D3-style `info` file: `title \t id` a line. Titles are keyed by the id, as the
/// split files name items.
pub(crate) fn read_d3_titles(path: &Path) -> Result<HashMap<String, String>> {
    let bytes = read_all(path, open(path)?)?;
    let text = utf8_text(path, &bytes)?;
    let mut titles = HashMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some((title, id)) = line.rsplit_once('\t') else {
            return Err(DataError::malformed(
                path,
                index + 1,
                format!("expected `title<TAB>id`, found `{}`", truncate(line)),
            ));
        };
        titles.insert(id.trim().to_string(), title.to_string());
    }
    Ok(titles)
}

/// The file as text, or an error naming the line and offset of its first invalid byte.
fn utf8_text<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let offset = e.valid_up_to();
        let line_start = bytes[..offset]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        DataError::InvalidUtf8 {
            path: path.to_path_buf(),
            line: bytecount(&bytes[..offset]) + 1,
            offset: offset - line_start,
        }
    })
}

/// Reads every file of the predefined split `path` belongs to.
pub(super) fn read(path: &Path, format: Format) -> Result<Interactions> {
    let mut rebuild = Rebuild::default();
    for (part, file) in part_files(path, format)? {
        let bytes = read_all(&file, open(&file)?)?;
        let bytes = strip_bom(&bytes);
        match format {
            Format::D3Csv => read_d3_file(&file, part, bytes, &mut rebuild)?,
            _ => read_recbole_file(&file, part, bytes, &mut rebuild)?,
        }
    }
    Ok(rebuild.finish())
}

/// Users' sequences as the files reveal them.
#[derive(Default)]
struct Rebuild {
    users: IdCoder,
    items: IdCoder,
    /// Per user code: (item code, time, part), in sequence order.
    sequences: Vec<Vec<(u32, i64, SplitPart)>>,
    /// Whether the rows carry histories (all files must agree).
    with_history: Option<bool>,
    /// No file had a time column: times are row numbers.
    untimed: bool,
    rows: i64,
}

/// One row of a split file.
struct Row<'a> {
    file: &'a Path,
    line: usize,
    part: SplitPart,
    user: &'a str,
    /// The items before the target with their times; `None` for a file of plain interactions.
    history: Option<(Vec<&'a str>, Vec<i64>)>,
    item: &'a str,
    time: i64,
}

impl Rebuild {
    fn add(&mut self, row: Row<'_>) -> Result<()> {
        self.rows += 1;
        let has_history = row.history.is_some();
        match self.with_history {
            None => self.with_history = Some(has_history),
            Some(known) if known != has_history => {
                return Err(DataError::malformed(
                    row.file,
                    1,
                    "the split's files disagree: some have a history column (item_id_list), \
                     others do not; all three must have the same columns",
                ));
            }
            Some(_) => {}
        }
        let user = self.users.token(row.user) as usize;
        if user == self.sequences.len() {
            self.sequences.push(Vec::new());
        }
        let item = self.items.token(row.item);
        let Some((history, times)) = row.history else {
            // Plain interactions: ordered by part, then time, at the end.
            self.sequences[user].push((item, row.time, row.part));
            return Ok(());
        };
        let history: Vec<u32> = history.iter().map(|id| self.items.token(id)).collect();
        let sequence = &mut self.sequences[user];
        if sequence.is_empty() {
            sequence.extend(
                history
                    .iter()
                    .zip(&times)
                    .map(|(&item, &time)| (item, time, SplitPart::Context)),
            );
        } else {
            // Files are read train, valid, then test: a user's parts never go back.
            let continues = history.len() <= sequence.len()
                && sequence[sequence.len() - history.len()..]
                    .iter()
                    .map(|&(item, _, _)| item)
                    .eq(history.iter().copied());
            if !continues {
                let known = &sequence[sequence.len().saturating_sub(history.len().max(1))..];
                let names: Vec<&str> = known
                    .iter()
                    .map(|&(item, _, _)| self.items.keys[item as usize].as_str())
                    .collect();
                return Err(DataError::malformed(
                    row.file,
                    row.line,
                    format!(
                        "the history of user {} does not continue the user's earlier samples: \
                         expected it to end with [{}] (the samples' targets so far, in file \
                         order: train, valid, test); are the files of one split, unshuffled?",
                        row.user,
                        names.join(", ")
                    ),
                ));
            }
        }
        sequence.push((item, row.time, row.part));
        Ok(())
    }

    fn finish(mut self) -> Interactions {
        let rows = self.sequences.iter().map(Vec::len).sum();
        let mut out = Interactions {
            user: Vec::with_capacity(rows),
            item: Vec::with_capacity(rows),
            rating: vec![1.0; rows],
            timestamp: Vec::with_capacity(rows),
            untimed: self.untimed,
            parts: Some(Vec::with_capacity(rows)),
            ..Interactions::default()
        };
        let parts = out.parts.as_mut().expect("set above");
        for (user, sequence) in self.sequences.iter_mut().enumerate() {
            if self.with_history == Some(false) {
                // A user's training interactions precede their validation and test ones.
                sequence.sort_by_key(|&(_, time, part)| (part, time));
            }
            for &(item, time, part) in sequence.iter() {
                out.user.push(user as u32);
                out.item.push(item);
                out.timestamp.push(time);
                parts.push(part);
            }
        }
        out.user_ids = self.users.keys;
        out.item_ids = self.items.keys;
        out
    }
}

/// One record of a quoted CSV: the line it starts on and its fields' count.
struct Record {
    line: usize,
    fields: usize,
    blank: bool,
}

/// Scans a quoted CSV for its records (a quoted field may span lines), so rows can be named by
/// line and a broken record found before polars sees it.
fn csv_records(bytes: &[u8]) -> std::result::Result<Vec<Record>, usize> {
    let mut records = Vec::new();
    let (mut line, mut in_quotes, mut quote_line) = (1, false, 1);
    let mut current = Record {
        line: 1,
        fields: 1,
        blank: true,
    };
    for &b in bytes {
        match b {
            b'"' => {
                if !in_quotes {
                    quote_line = line;
                }
                in_quotes = !in_quotes;
                current.blank = false;
            }
            b',' if !in_quotes => {
                current.fields += 1;
                current.blank = false;
            }
            b'\n' => {
                line += 1;
                if !in_quotes {
                    records.push(std::mem::replace(
                        &mut current,
                        Record {
                            line,
                            fields: 1,
                            blank: true,
                        },
                    ));
                }
            }
            b'\r' | b' ' | b'\t' => {}
            _ => current.blank = false,
        }
    }
    if in_quotes {
        return Err(quote_line);
    }
    records.push(current);
    records.retain(|r| !r.blank);
    Ok(records)
}

fn read_d3_file(file: &Path, part: SplitPart, bytes: &[u8], rebuild: &mut Rebuild) -> Result<()> {
    utf8_text(file, bytes)?;
    let records = csv_records(bytes).map_err(|line| {
        DataError::malformed(
            file,
            line,
            "a quoted field is not closed before the end of the file",
        )
    })?;
    let Some(header) = records.first() else {
        return Ok(());
    };
    let header_line = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let names: Vec<String> = String::from_utf8_lossy(header_line)
        .split(',')
        .map(|f| f.trim().trim_matches('"').to_string())
        .collect();
    let column = |name: &str| names.iter().position(|n| n == name);
    for required in ["user_id", "history_item_id", "item_id"] {
        if column(required).is_none() {
            return Err(DataError::malformed(
                file,
                header.line,
                format!(
                    "the header has no `{required}` column; expected a D3-style split file with \
                     the columns {}",
                    D3_COLUMNS.join(", ")
                ),
            ));
        }
    }
    if let Some(bad) = records.iter().find(|r| r.fields != header.fields) {
        return Err(DataError::malformed(
            file,
            bad.line,
            format!(
                "{} fields, the header has {}: expected {}",
                bad.fields,
                header.fields,
                Format::D3Csv.line_shape()
            ),
        ));
    }
    let timed = column("timestamp").is_some();
    if !timed {
        rebuild.untimed = true;
    }
    let wanted: Vec<&str> = D3_COLUMNS
        .iter()
        .copied()
        .filter(|name| column(name).is_some())
        .collect();
    // Columns are named by position: a header may repeat a name.
    let mut schema = Schema::default();
    for index in 0..names.len() {
        schema.with_column(format!("f{index}").into(), DataType::String);
    }
    let frame = CsvReadOptions::default()
        .with_has_header(true)
        .with_schema(Some(Arc::new(schema)))
        .with_projection(Some(Arc::new(
            wanted.iter().filter_map(|name| column(name)).collect(),
        )))
        .with_raise_if_empty(false)
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(|e| DataError::malformed(file, header.line, e.to_string()))?;
    let rows = &records[1..];
    if frame.height() != rows.len() {
        return Err(DataError::malformed(
            file,
            header.line,
            format!(
                "{} rows read but {} records found; expected {}",
                frame.height(),
                rows.len(),
                Format::D3Csv.line_shape()
            ),
        ));
    }
    let strings = |name: &str| -> Result<Vec<Option<&str>>> {
        let Some(index) = column(name) else {
            return Ok(vec![None; frame.height()]);
        };
        match frame.column(&format!("f{index}")) {
            Ok(series) => Ok(series
                .str()
                .map_err(|e| DataError::malformed(file, header.line, e.to_string()))?
                .iter()
                .collect()),
            Err(_) => Ok(vec![None; frame.height()]),
        }
    };
    let (users, histories, items) = (
        strings("user_id")?,
        strings("history_item_id")?,
        strings("item_id")?,
    );
    let (history_times, times) = (strings("history_timestamp")?, strings("timestamp")?);
    for (index, record) in rows.iter().enumerate() {
        let line = record.line;
        let field = |values: &[Option<&'_ str>], name: &str| -> Result<String> {
            values[index]
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| DataError::malformed(file, line, format!("`{name}` is empty")))
        };
        let user = field(&users, "user_id")?;
        let item = field(&items, "item_id")?;
        let history_text = field(&histories, "history_item_id")?;
        let history = parse_list(&history_text)
            .ok_or_else(|| list_error(file, line, "history_item_id", &history_text))?;
        let time = if timed {
            let text = field(&times, "timestamp")?;
            parse_time(&text).ok_or_else(|| {
                DataError::malformed(
                    file,
                    line,
                    format!("`timestamp` is `{}`, expected seconds", truncate(&text)),
                )
            })?
        } else {
            rebuild.rows
        };
        let history_time = match history_times[index] {
            Some(text) if timed => {
                let values = parse_list(text)
                    .and_then(|v| v.iter().map(|t| parse_time(t)).collect::<Option<Vec<_>>>())
                    .ok_or_else(|| list_error(file, line, "history_timestamp", text))?;
                if values.len() != history.len() {
                    return Err(DataError::malformed(
                        file,
                        line,
                        format!(
                            "`history_timestamp` has {} values for {} items in `history_item_id`",
                            values.len(),
                            history.len()
                        ),
                    ));
                }
                values
            }
            _ => vec![time; history.len()],
        };
        rebuild.add(Row {
            file,
            line,
            part,
            user: &user,
            history: Some((history, history_time)),
            item: &item,
            time,
        })?;
    }
    Ok(())
}

fn list_error(file: &Path, line: usize, name: &str, text: &str) -> DataError {
    DataError::malformed(
        file,
        line,
        format!(
            "`{name}` is `{}`, expected a list such as [3, 17, 5]",
            truncate(text)
        ),
    )
}

/// The elements of a Python-style list, `[3, 17]` or `['a', 'b']` (quotes removed).
fn parse_list(text: &str) -> Option<Vec<&str>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?.trim();
    if inner.is_empty() {
        return Some(Vec::new());
    }
    inner
        .split(',')
        .map(|element| {
            let element = element
                .trim()
                .trim_matches(|c| c == '\'' || c == '"')
                .trim();
            (!element.is_empty()).then_some(element)
        })
        .collect()
}

/// Seconds as an integer (`1518134400`) or a float (`1518134400.0`).
fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    text.parse::<i64>().ok().or_else(|| {
        text.parse::<f64>()
            .ok()
            .filter(|t| t.is_finite() && t.abs() < 9.0e18)
            .map(|t| t as i64)
    })
}

fn read_recbole_file(
    file: &Path,
    part: SplitPart,
    bytes: &[u8],
    rebuild: &mut Rebuild,
) -> Result<()> {
    let text = utf8_text(file, bytes)?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((header_index, header)) = lines.next() else {
        return Ok(());
    };
    // `user_id:token` → `user_id`.
    let names: Vec<&str> = header
        .trim_end_matches('\r')
        .split('\t')
        .map(|f| f.split(':').next().unwrap_or("").trim())
        .collect();
    let column = |name: &str| names.iter().position(|n| *n == name);
    let (Some(user_at), Some(item_at)) = (column("user_id"), column("item_id")) else {
        return Err(DataError::malformed(
            file,
            header_index + 1,
            format!(
                "the header has no user_id and item_id columns; expected {}",
                Format::RecboleBenchmark.line_shape()
            ),
        ));
    };
    let history_at = column("item_id_list");
    let time_at = column("timestamp");
    if time_at.is_none() {
        rebuild.untimed = true;
    }
    for (index, line) in lines {
        let line_number = index + 1;
        let fields: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
        if fields.len() != names.len() {
            return Err(DataError::malformed(
                file,
                line_number,
                format!(
                    "{} tab-separated fields, the header has {}",
                    fields.len(),
                    names.len()
                ),
            ));
        }
        let field = |at: usize, name: &str| -> Result<&str> {
            let value = fields[at].trim();
            if value.is_empty() {
                Err(DataError::malformed(
                    file,
                    line_number,
                    format!("`{name}` is empty"),
                ))
            } else {
                Ok(value)
            }
        };
        let time = match time_at {
            Some(at) => {
                let text = field(at, "timestamp")?;
                parse_time(text).ok_or_else(|| {
                    DataError::malformed(
                        file,
                        line_number,
                        format!("`timestamp` is `{}`, expected seconds", truncate(text)),
                    )
                })?
            }
            None => rebuild.rows,
        };
        let history = history_at.map(|at| {
            let items: Vec<&str> = fields[at].split_whitespace().collect();
            let times = vec![time; items.len()];
            (items, times)
        });
        rebuild.add(Row {
            file,
            line: line_number,
            part,
            user: field(user_at, "user_id")?,
            history,
            item: field(item_at, "item_id")?,
            time,
        })?;
    }
    Ok(())
}
