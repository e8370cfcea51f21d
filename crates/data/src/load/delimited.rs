//! Delimited formats (tab, `::`, CSV, RecBole atomic files), read in chunks of whole lines by
//! polars; a rejected chunk is checked line by line to name the offending line.

use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use super::ids::*;
use super::layout::*;
use super::*;
use crate::error::{DataError, Result};
use crate::format::Format;

/// The longest line a delimited file may have: interaction lines are tens of bytes, RecBole
/// atomic files with review text a few KB.
const MAX_LINE_BYTES: usize = 16 << 20;

pub(super) fn read_delimited(
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
                // A single line longer than the chunk: read more before parsing, up to a bound
                // no interaction line comes near (a file without line ends, or binary data,
                // would otherwise be read whole and parsed as one line).
                None if buffer.len() > MAX_LINE_BYTES => {
                    return Err(DataError::malformed(
                        path,
                        first_line,
                        format!(
                            "the line is longer than {} MiB (expected {}); is this an interaction file?",
                            MAX_LINE_BYTES >> 20,
                            format.line_shape()
                        ),
                    ));
                }
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

pub(super) fn check_csv_header(path: &Path, layout: &Layout, header: &str) -> Result<()> {
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

pub(super) fn parse_delimited_chunk(
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
    // polars' parser indexes out of a field that is a lone quote (it strips the quotes of a
    // field that starts with one). Such a chunk has a bad line; find it without polars.
    if let Some(quote) = layout.quote
        && has_lone_quote_field(chunk, layout.separator, quote)
    {
        return Err(diagnose_delimited(
            path,
            format,
            layout,
            chunk,
            first_line,
            Some("a quoted field is not closed".into()),
        ));
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

/// Whether some field of `chunk` is a single quote character: a quote after a separator or a
/// line start, followed by a separator, a line end or the end of the chunk.
fn has_lone_quote_field(chunk: &[u8], separator: u8, quote: u8) -> bool {
    let boundary =
        |b: Option<&u8>| matches!(b, None | Some(b'\n' | b'\r')) || b == Some(&separator);
    chunk.iter().enumerate().any(|(at, &b)| {
        b == quote
            && boundary(at.checked_sub(1).and_then(|p| chunk.get(p)))
            && boundary(chunk.get(at + 1))
    })
}

pub(super) fn columns_complete(frame: &DataFrame) -> bool {
    frame.columns().iter().all(|c| c.null_count() == 0)
}

pub(super) fn append_frame(
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
        None => {
            builder.out.untimed = true;
            builder
                .out
                .timestamp
                .extend((start_row..start_row + rows).map(|r| r as i64));
        }
    }
    Ok(())
}

/// Describes the first line of `chunk` that breaks the layout, or what polars said when no line
/// does.
pub(super) fn diagnose_delimited(
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
pub(super) fn find_bad_line(
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
