//! Where every interaction-file format is parsed.
//!
//! Delimited formats are read in chunks of whole lines (64 MiB by default) and each chunk is parsed
//! by polars' multi-threaded CSV reader into typed columns, which are then coded to dense ids and
//! appended to flat vectors. Reading in chunks keeps peak memory close to the size of the
//! decoded columns rather than file + columns. JSON-lines formats are parsed by polars' NDJSON
//! reader with an explicit schema. When polars rejects a chunk, a line-by-line check of that chunk
//! finds the first offending line, so the error names the file, the line and what was expected.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use crate::error::{DataError, Result};
use crate::format::Format;

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
    let interactions = match format {
        Format::AmazonJson | Format::Amazon2023Jsonl => read_json_lines(path, format, reader)?,
        _ => read_delimited(path, format, reader, options)?,
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

fn open(path: &Path) -> Result<Box<dyn Read>> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let is_gzip = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    Ok(if is_gzip {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(file)
    })
}

/// How an id column is typed in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdKind {
    Integer,
    Token,
}

/// How a field of a delimited line is checked and parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Id(IdKind),
    Float,
    Integer,
    /// RecBole's `float` timestamps: a number, kept as whole seconds.
    FloatSeconds,
    Ignored,
}

/// The layout of a delimited format: which field holds what.
#[derive(Debug, Clone)]
struct Layout {
    separator: u8,
    /// A field separator of two bytes (`::`) is read as two one-byte separators with an empty
    /// field between them, because polars only splits on single bytes.
    doubled_separator: bool,
    quote: Option<u8>,
    header: bool,
    fields: Vec<(String, FieldKind)>,
    user: usize,
    item: usize,
    rating: Option<usize>,
    time: Option<usize>,
}

impl Layout {
    fn fixed(format: Format) -> Option<Layout> {
        let int = FieldKind::Id(IdKind::Integer);
        let token = FieldKind::Id(IdKind::Token);
        let four = |separator, quote, header, id| Layout {
            separator,
            doubled_separator: false,
            quote,
            header,
            fields: vec![
                ("user".into(), id),
                ("item".into(), id),
                ("rating".into(), FieldKind::Float),
                ("timestamp".into(), FieldKind::Integer),
            ],
            user: 0,
            item: 1,
            rating: Some(2),
            time: Some(3),
        };
        match format {
            Format::MovielensTab => Some(four(b'\t', None, false, int)),
            Format::MovielensCsv => Some(four(b',', Some(b'"'), true, int)),
            Format::AmazonRatingsCsv => Some(four(b',', Some(b'"'), false, token)),
            Format::MovielensDat => Some(Layout {
                doubled_separator: true,
                ..four(b':', None, false, int)
            }),
            _ => None,
        }
    }

    /// Number of single-byte-separated columns polars sees.
    fn polars_columns(&self) -> usize {
        if self.doubled_separator {
            self.fields.len() * 2 - 1
        } else {
            self.fields.len()
        }
    }

    fn polars_index(&self, field: usize) -> usize {
        if self.doubled_separator {
            field * 2
        } else {
            field
        }
    }

    fn separator_text(&self) -> String {
        match (self.separator, self.doubled_separator) {
            (b'\t', _) => "tab".into(),
            (s, true) => format!("`{0}{0}`", s as char),
            (s, false) => format!("`{}`", s as char),
        }
    }

    fn expected_line(&self) -> String {
        let names: Vec<&str> = self.fields.iter().map(|(n, _)| n.as_str()).collect();
        format!(
            "{} {}-separated fields ({})",
            self.fields.len(),
            self.separator_text(),
            names.join(", ")
        )
    }

    fn polars_schema(&self) -> Schema {
        let mut schema = Schema::default();
        for column in 0..self.polars_columns() {
            let is_field = !self.doubled_separator || column % 2 == 0;
            let (name, dtype) = if is_field {
                let field = if self.doubled_separator {
                    column / 2
                } else {
                    column
                };
                let dtype = match self.fields[field].1 {
                    FieldKind::Id(IdKind::Integer) | FieldKind::Integer => DataType::Int64,
                    FieldKind::Id(IdKind::Token) | FieldKind::Ignored => DataType::String,
                    FieldKind::Float => DataType::Float32,
                    FieldKind::FloatSeconds => DataType::Float64,
                };
                (format!("f{field}"), dtype)
            } else {
                (format!("sep{column}"), DataType::String)
            };
            schema.with_column(name.into(), dtype);
        }
        schema
    }

    /// Parses RecBole's typed header (`user_id:token\titem_id:token\trating:float\t...`).
    fn recbole(path: &Path, header: &str) -> Result<Layout> {
        let mut fields = Vec::new();
        let (mut user, mut item, mut rating, mut time) = (None, None, None, None);
        for (index, column) in header.split('\t').enumerate() {
            let (name, kind) = column.split_once(':').ok_or_else(|| {
                DataError::malformed(
                    path,
                    1,
                    format!(
                        "header field {} `{column}` has no type; expected `name:type` such as `user_id:token`",
                        index + 1
                    ),
                )
            })?;
            let role = match name {
                "user_id" => Some(&mut user),
                "item_id" => Some(&mut item),
                "rating" => Some(&mut rating),
                "timestamp" => Some(&mut time),
                _ => None,
            };
            let field_kind = match (name, kind) {
                ("user_id" | "item_id", "token") => FieldKind::Id(IdKind::Token),
                ("rating", "float") => FieldKind::Float,
                ("timestamp", "float") => FieldKind::FloatSeconds,
                ("user_id" | "item_id" | "rating" | "timestamp", other) => {
                    return Err(DataError::malformed(
                        path,
                        1,
                        format!(
                            "header field `{column}`: type `{other}` is not supported for `{name}`; expected {}",
                            if name.ends_with("_id") {
                                "`token`"
                            } else {
                                "`float`"
                            }
                        ),
                    ));
                }
                _ => FieldKind::Ignored,
            };
            if let Some(slot) = role {
                *slot = Some(index);
            }
            fields.push((name.to_string(), field_kind));
        }
        let (Some(user), Some(item)) = (user, item) else {
            return Err(DataError::malformed(
                path,
                1,
                "the header has no `user_id:token` or no `item_id:token` column",
            ));
        };
        Ok(Layout {
            separator: b'\t',
            doubled_separator: false,
            quote: None,
            header: true,
            fields,
            user,
            item,
            rating,
            time,
        })
    }
}

/// Codes original ids to `0..n` in order of first appearance.
#[derive(Default)]
struct IdCoder {
    /// Direct table for small non-negative integer ids (the MovieLens case): `u32::MAX` = unseen.
    table: Vec<u32>,
    integers: HashMap<i64, u32>,
    tokens: HashMap<String, u32>,
    keys: Vec<String>,
}

const DIRECT_TABLE_LIMIT: i64 = 1 << 26;

impl IdCoder {
    fn next_code(&mut self, key: impl FnOnce() -> String) -> u32 {
        let code = self.keys.len() as u32;
        self.keys.push(key());
        code
    }

    fn integer(&mut self, id: i64) -> u32 {
        if (0..DIRECT_TABLE_LIMIT).contains(&id) {
            let slot = id as usize;
            if slot >= self.table.len() {
                self.table.resize((slot + 1).next_power_of_two(), u32::MAX);
            }
            if self.table[slot] == u32::MAX {
                self.table[slot] = self.next_code(|| id.to_string());
            }
            self.table[slot]
        } else if let Some(&code) = self.integers.get(&id) {
            code
        } else {
            let code = self.next_code(|| id.to_string());
            self.integers.insert(id, code);
            code
        }
    }

    fn token(&mut self, id: &str) -> u32 {
        if let Some(&code) = self.tokens.get(id) {
            return code;
        }
        let code = self.next_code(|| id.to_string());
        self.tokens.insert(id.to_string(), code);
        code
    }
}

struct Builder {
    out: Interactions,
    users: IdCoder,
    items: IdCoder,
}

impl Builder {
    fn new() -> Self {
        Builder {
            out: Interactions::default(),
            users: IdCoder::default(),
            items: IdCoder::default(),
        }
    }

    fn reserve(&mut self, rows: usize) {
        self.out.user.reserve(rows);
        self.out.item.reserve(rows);
        self.out.rating.reserve(rows);
        self.out.timestamp.reserve(rows);
    }

    fn finish(mut self) -> Interactions {
        self.out.user_ids = self.users.keys;
        self.out.item_ids = self.items.keys;
        self.out
    }
}

fn read_delimited(
    path: &Path,
    format: Format,
    mut reader: Box<dyn Read>,
    options: &ReadOptions,
) -> Result<Interactions> {
    let chunk_bytes = options.chunk_bytes.max(1 << 10);
    let mut builder = Builder::new();
    let mut buffer: Vec<u8> = Vec::with_capacity(chunk_bytes + (1 << 16));
    let mut layout = Layout::fixed(format);
    // Line number (1-based) of the first line in `buffer`.
    let mut first_line = 1usize;
    let mut at_end = false;
    let mut header_done = false;
    let mut reserved = false;
    // Bytes to gather before parsing; doubled when one line is longer than a chunk.
    let mut wanted = chunk_bytes;
    while !at_end {
        while buffer.len() < wanted {
            let start = buffer.len();
            buffer.resize(wanted, 0);
            let read = reader
                .read(&mut buffer[start..])
                .map_err(|e| DataError::io(path, e))?;
            buffer.truncate(start + read);
            if read == 0 {
                at_end = true;
                break;
            }
        }
        // Cut at the last full line; at the end of the file, take everything.
        let cut = if at_end {
            buffer.len()
        } else {
            match buffer.iter().rposition(|&b| b == b'\n') {
                Some(position) => position + 1,
                // A single line longer than the chunk: read more before parsing.
                None => {
                    wanted *= 2;
                    continue;
                }
            }
        };
        let mut chunk = &buffer[..cut];
        let mut chunk_first_line = first_line;
        if !header_done {
            header_done = true;
            chunk = strip_bom(chunk);
            let layout_header = layout.as_ref().map(|l| l.header).unwrap_or(true);
            if layout_header {
                let end = chunk
                    .iter()
                    .position(|&b| b == b'\n')
                    .unwrap_or(chunk.len());
                let header = std::str::from_utf8(&chunk[..end])
                    .map_err(|e| DataError::InvalidUtf8 {
                        path: path.to_path_buf(),
                        line: 1,
                        offset: e.valid_up_to(),
                    })?
                    .trim_end_matches('\r');
                match &layout {
                    None => layout = Some(Layout::recbole(path, header)?),
                    Some(fixed) => check_csv_header(path, fixed, header)?,
                }
                chunk = &chunk[(end + 1).min(chunk.len())..];
                chunk_first_line += 1;
            }
        }
        let layout = layout.as_ref().expect("layout is known after the header");
        if !reserved && !chunk.is_empty() {
            reserved = true;
            // Estimate rows from the first chunk's line length so the columns grow once.
            let lines = bytecount(chunk).max(1);
            let file_len = std::fs::metadata(path)
                .map(|m| m.len() as usize)
                .unwrap_or(0);
            let is_plain = !path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
            if is_plain && cut < file_len {
                builder.reserve(file_len / (chunk.len() / lines).max(1) + lines);
            }
        }
        parse_delimited_chunk(path, format, layout, chunk, chunk_first_line, &mut builder)?;
        first_line += bytecount(&buffer[..cut]);
        buffer.drain(..cut);
        wanted = chunk_bytes.max(buffer.len() + 1);
    }
    Ok(builder.finish())
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn bytecount(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

fn check_csv_header(path: &Path, layout: &Layout, header: &str) -> Result<()> {
    let fields = header.split(layout.separator as char).count();
    let numeric = header
        .split(layout.separator as char)
        .next()
        .is_some_and(|f| f.trim().parse::<f64>().is_ok());
    if fields != layout.fields.len() || numeric {
        return Err(DataError::malformed(
            path,
            1,
            format!(
                "expected a header line with {} (such as `userId,movieId,rating,timestamp`), found `{header}`",
                layout.expected_line()
            ),
        ));
    }
    Ok(())
}

fn parse_delimited_chunk(
    path: &Path,
    format: Format,
    layout: &Layout,
    chunk: &[u8],
    first_line: usize,
    builder: &mut Builder,
) -> Result<()> {
    if chunk.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(());
    }
    let needed: Vec<usize> = [
        Some(layout.user),
        Some(layout.item),
        layout.rating,
        layout.time,
    ]
    .into_iter()
    .flatten()
    .collect();
    let projection: Vec<usize> = needed.iter().map(|&f| layout.polars_index(f)).collect();
    let parsed = CsvReadOptions::default()
        .with_has_header(false)
        .with_schema(Some(Arc::new(layout.polars_schema())))
        .with_projection(Some(Arc::new(projection)))
        .with_raise_if_empty(false)
        .map_parse_options(|o| {
            o.with_separator(layout.separator)
                .with_quote_char(layout.quote)
        })
        .into_reader_with_file_handle(Cursor::new(chunk))
        .finish();
    let frame = match parsed {
        Ok(frame) if columns_complete(&frame) => frame,
        // polars reads blank lines as rows of nulls: drop them when no line breaks the layout.
        Ok(frame) if find_bad_line(path, format, layout, chunk, first_line).is_none() => {
            frame.drop_nulls::<String>(None).map_err(|e| {
                diagnose_delimited(path, format, layout, chunk, first_line, Some(e.to_string()))
            })?
        }
        // polars reports neither the line nor which rule was broken: find the line.
        Ok(_) | Err(_) => {
            let polars_message = parsed.err().map(|e| e.to_string());
            return Err(diagnose_delimited(
                path,
                format,
                layout,
                chunk,
                first_line,
                polars_message,
            ));
        }
    };
    append_frame(path, layout, &frame, first_line, chunk, format, builder)
}

fn columns_complete(frame: &DataFrame) -> bool {
    frame.columns().iter().all(|c| c.null_count() == 0)
}

fn append_frame(
    path: &Path,
    layout: &Layout,
    frame: &DataFrame,
    first_line: usize,
    chunk: &[u8],
    format: Format,
    builder: &mut Builder,
) -> Result<()> {
    let polars_error = |e: PolarsError| {
        diagnose_delimited(path, format, layout, chunk, first_line, Some(e.to_string()))
    };
    let column = |field: usize| frame.column(&format!("f{field}")).map_err(polars_error);
    let rows = frame.height();
    let start_row = builder.out.user.len();
    for (field, target) in [(layout.user, 0), (layout.item, 1)] {
        let series = column(field)?;
        let (coder, out) = if target == 0 {
            (&mut builder.users, &mut builder.out.user)
        } else {
            (&mut builder.items, &mut builder.out.item)
        };
        match series.dtype() {
            DataType::Int64 => {
                for id in series.i64().map_err(polars_error)?.into_no_null_iter() {
                    out.push(coder.integer(id));
                }
            }
            _ => {
                for id in series.str().map_err(polars_error)?.no_null_iter() {
                    out.push(coder.token(id));
                }
            }
        }
    }
    match layout.rating {
        Some(field) => {
            let series = column(field)?;
            let ratings = series.f32().map_err(polars_error)?;
            builder.out.rating.extend(ratings.into_no_null_iter());
        }
        None => builder.out.rating.extend(std::iter::repeat_n(1.0, rows)),
    }
    match layout.time {
        Some(field) => {
            let series = column(field)?;
            match series.dtype() {
                DataType::Float64 => builder.out.timestamp.extend(
                    series
                        .f64()
                        .map_err(polars_error)?
                        .into_no_null_iter()
                        .map(|t| t as i64),
                ),
                _ => builder
                    .out
                    .timestamp
                    .extend(series.i64().map_err(polars_error)?.into_no_null_iter()),
            }
        }
        // No time column: file order is the chronological order.
        None => builder
            .out
            .timestamp
            .extend((start_row..start_row + rows).map(|r| r as i64)),
    }
    Ok(())
}

/// Describes the first line of `chunk` that breaks the layout, or what polars said when no line
/// does.
fn diagnose_delimited(
    path: &Path,
    format: Format,
    layout: &Layout,
    chunk: &[u8],
    first_line: usize,
    polars_message: Option<String>,
) -> DataError {
    find_bad_line(path, format, layout, chunk, first_line).unwrap_or_else(|| {
        DataError::malformed(
            path,
            first_line,
            format!(
                "could not parse the lines from here on as {}: {}",
                layout.expected_line(),
                polars_message.unwrap_or_else(|| "missing values".into())
            ),
        )
    })
}

/// The first line of `chunk` that breaks the layout, as an error naming it.
fn find_bad_line(
    path: &Path,
    format: Format,
    layout: &Layout,
    chunk: &[u8],
    first_line: usize,
) -> Option<DataError> {
    let separator = if layout.doubled_separator {
        format!("{0}{0}", layout.separator as char)
    } else {
        (layout.separator as char).to_string()
    };
    for (index, raw) in chunk.split(|&b| b == b'\n').enumerate() {
        let line_number = first_line + index;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            continue;
        }
        let line = match std::str::from_utf8(raw) {
            Ok(line) => line,
            Err(e) => {
                return Some(DataError::InvalidUtf8 {
                    path: path.to_path_buf(),
                    line: line_number,
                    offset: e.valid_up_to(),
                });
            }
        };
        let fields: Vec<&str> = line.split(separator.as_str()).collect();
        if fields.len() != layout.fields.len() {
            return Some(DataError::malformed(
                path,
                line_number,
                format!(
                    "expected {} ({format}), found {} field{}: `{}`",
                    layout.expected_line(),
                    fields.len(),
                    if fields.len() == 1 { "" } else { "s" },
                    truncate(line)
                ),
            ));
        }
        for (value, (name, kind)) in fields.iter().zip(&layout.fields) {
            let value = value.trim_matches('"');
            let ok = match kind {
                FieldKind::Id(IdKind::Integer) | FieldKind::Integer => value.parse::<i64>().is_ok(),
                FieldKind::Id(IdKind::Token) => !value.is_empty(),
                FieldKind::Float | FieldKind::FloatSeconds => value.parse::<f64>().is_ok(),
                FieldKind::Ignored => true,
            };
            if !ok {
                let expected = match kind {
                    FieldKind::Id(IdKind::Integer) | FieldKind::Integer => "an integer",
                    FieldKind::Id(IdKind::Token) => "a non-empty id",
                    _ => "a number",
                };
                return Some(DataError::malformed(
                    path,
                    line_number,
                    format!(
                        "field `{name}`: expected {expected}, found `{}`",
                        truncate(value)
                    ),
                ));
            }
        }
    }
    None
}

fn truncate(text: &str) -> String {
    const LIMIT: usize = 80;
    if text.chars().count() <= LIMIT {
        text.to_string()
    } else {
        let cut: String = text.chars().take(LIMIT).collect();
        format!("{cut}…")
    }
}

/// Field names of the JSON-lines formats: user, item, rating, time, and the time unit divisor.
fn json_fields(format: Format) -> (&'static str, &'static str, &'static str, &'static str, i64) {
    match format {
        Format::Amazon2023Jsonl => ("user_id", "parent_asin", "rating", "timestamp", 1000),
        _ => ("reviewerID", "asin", "overall", "unixReviewTime", 1),
    }
}

fn read_json_lines(path: &Path, format: Format, mut reader: Box<dyn Read>) -> Result<Interactions> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, e))?;
    let (user, item, rating, time, divisor) = json_fields(format);
    let schema = Schema::from_iter([
        Field::new(user.into(), DataType::String),
        Field::new(item.into(), DataType::String),
        Field::new(rating.into(), DataType::Float64),
        Field::new(time.into(), DataType::Int64),
    ]);
    let parsed = JsonReader::new(Cursor::new(strip_bom(&bytes)))
        .with_json_format(JsonFormat::JsonLines)
        .with_schema(Arc::new(schema))
        .finish();
    let frame = match parsed {
        Ok(frame) if columns_complete(&frame) => frame,
        Ok(_) | Err(_) => {
            let polars_message = parsed.err().map(|e| e.to_string());
            return Err(diagnose_json(path, format, &bytes, polars_message));
        }
    };
    let mut builder = Builder::new();
    builder.reserve(frame.height());
    let diagnose = |e: PolarsError| diagnose_json(path, format, &bytes, Some(e.to_string()));
    let users = frame
        .column(user)
        .and_then(|c| c.str().cloned())
        .map_err(diagnose)?;
    let items = frame
        .column(item)
        .and_then(|c| c.str().cloned())
        .map_err(diagnose)?;
    let ratings = frame
        .column(rating)
        .and_then(|c| c.f64().cloned())
        .map_err(diagnose)?;
    let times = frame
        .column(time)
        .and_then(|c| c.i64().cloned())
        .map_err(diagnose)?;
    for id in users.no_null_iter() {
        let code = builder.users.token(id);
        builder.out.user.push(code);
    }
    for id in items.no_null_iter() {
        let code = builder.items.token(id);
        builder.out.item.push(code);
    }
    builder
        .out
        .rating
        .extend(ratings.into_no_null_iter().map(|r| r as f32));
    builder
        .out
        .timestamp
        .extend(times.into_no_null_iter().map(|t| t.div_euclid(divisor)));
    Ok(builder.finish())
}

/// A JSON field, what it must be, and the test of that.
type JsonCheck<'a> = (&'a str, &'a str, fn(&serde_json::Value) -> bool);

fn diagnose_json(
    path: &Path,
    format: Format,
    bytes: &[u8],
    polars_message: Option<String>,
) -> DataError {
    let (user, item, rating, time, _) = json_fields(format);
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_number = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let line = match std::str::from_utf8(raw) {
            Ok(line) => line,
            Err(e) => {
                return DataError::InvalidUtf8 {
                    path: path.to_path_buf(),
                    line: line_number,
                    offset: e.valid_up_to(),
                };
            }
        };
        let value: serde_json::Value = match serde_json::from_str(line) {
            Ok(value) => value,
            Err(e) => {
                return DataError::malformed(
                    path,
                    line_number,
                    format!(
                        "expected {}, but the line is not JSON ({e})",
                        format.line_shape()
                    ),
                );
            }
        };
        let checks: [JsonCheck; 4] = [
            (user, "a string", serde_json::Value::is_string),
            (item, "a string", serde_json::Value::is_string),
            (rating, "a number", serde_json::Value::is_number),
            (time, "an integer", |v| v.is_i64() || v.is_u64()),
        ];
        for (field, expected, ok) in checks {
            match value.get(field) {
                Some(v) if ok(v) => {}
                Some(v) => {
                    return DataError::malformed(
                        path,
                        line_number,
                        format!(
                            "field `{field}`: expected {expected}, found `{}`",
                            truncate(&v.to_string())
                        ),
                    );
                }
                None => {
                    return DataError::malformed(
                        path,
                        line_number,
                        format!(
                            "field `{field}` is missing; expected {}",
                            format.line_shape()
                        ),
                    );
                }
            }
        }
    }
    DataError::malformed(
        path,
        1,
        format!(
            "could not parse the file as {}: {}",
            format.line_shape(),
            polars_message.unwrap_or_else(|| "missing values".into())
        ),
    )
}

/// Reads item titles keyed by the original item id: MovieLens `u.item` (latin-1, `|`),
/// `movies.dat` (`::`, latin-1 in ml-1m), `movies.csv` (quoted CSV with header), a RecBole
/// atomic `*.item` file (`item_id:token` and a `*title*` column), or Amazon metadata JSON lines
/// (`asin` or `parent_asin`, and `title`; plain or gzip).
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
