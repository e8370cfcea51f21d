//! JSON-lines formats (Amazon 2014/2018 reviews, Amazon 2023), read by polars with a schema.

use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use super::delimited::columns_complete;
use super::ids::*;
use super::*;
use crate::error::{DataError, Result};
use crate::format::{Format, Reading};

/// Field names of a JSON-lines format (user, item, rating, time) and its time-unit divisor,
/// from its descriptor.
pub(super) fn json_fields(
    format: Format,
) -> (&'static str, &'static str, &'static str, &'static str, i64) {
    match format.descriptor().reading {
        Reading::JsonLines {
            user,
            item,
            rating,
            time,
            divisor,
        } => (user, item, rating, time, divisor),
        _ => unreachable!("{format} is not a JSON-lines format"),
    }
}

pub(super) fn read_json_lines(
    path: &Path,
    format: Format,
    reader: Box<dyn Read>,
) -> Result<Interactions> {
    let bytes = read_all(path, reader)?;
    // Line numbers in errors come from `bytes`; polars reads `lines`, without blank lines.
    let compacted = check_lines_are_json(path, format, &bytes)?;
    let lines = compacted.as_deref().unwrap_or(&bytes);
    if lines.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Interactions::default());
    }
    let (user, item, rating, time, divisor) = json_fields(format);
    let schema = Schema::from_iter([
        Field::new(user.into(), DataType::String),
        Field::new(item.into(), DataType::String),
        Field::new(rating.into(), DataType::Float64),
        Field::new(time.into(), DataType::Int64),
    ]);
    // Valid JSON lines should not make polars panic; if one does, it is an error of this file,
    // named by `diagnose_json` below, not a crash of the caller.
    // AssertUnwindSafe: after a panic only the bytes, read-only, are used again.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        JsonReader::new(Cursor::new(strip_bom(lines)))
            .with_json_format(JsonFormat::JsonLines)
            .with_schema(Arc::new(schema))
            .finish()
    }))
    .unwrap_or_else(|_| Err(polars_err!(ComputeError: "the JSON-lines reader failed")));
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

/// Checks that every line is one JSON value before polars reads the file: polars' JSON-lines
/// reader panics on some malformed lines (an index out of range in polars-io 0.55) and recurses
/// once per nesting level (a line of 100,000 `[` overflows its thread's stack and aborts the
/// process). serde_json validates without building values and refuses nesting beyond 128
/// levels with an error; the first bad line is then named by [`diagnose_json`].
/// The deepest nesting of arrays and objects a line may have. Review records nest 3–4 levels;
/// polars' reader recurses once per level, and a line nested a million deep (a few MB) would
/// overflow its thread's stack, which no error handling can catch.
const MAX_JSON_DEPTH: usize = 64;

/// Whether `raw` (one line) nests arrays and objects deeper than [`MAX_JSON_DEPTH`]: a scan of
/// its brackets outside strings, cheaper than parsing.
fn too_deep(raw: &[u8]) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in raw {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Checks every line before polars sees the file: UTF-8, a JSON object, not nested too deep.
/// polars' reader panics on some lines that are not objects and on blank lines at the start;
/// returns the file without its blank lines, stray carriage returns and leading whitespace
/// when it has any (`None` when it has none), so polars never sees one.
fn check_lines_are_json(path: &Path, format: Format, bytes: &[u8]) -> Result<Option<Vec<u8>>> {
    use rayon::prelude::*;
    let is_blank = |raw: &[u8]| raw.iter().all(|b| b.is_ascii_whitespace());
    let invalid = |raw: &[u8]| {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let starts_an_object = raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        !starts_an_object
            || std::str::from_utf8(raw).is_err()
            || too_deep(raw)
            || serde_json::from_slice::<serde::de::IgnoredAny>(raw).is_err()
    };
    // The piece after a final line end is not a line.
    let bytes = strip_bom(bytes);
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    // polars also reads a carriage return as a line end: a line with one anywhere but at its
    // end, or with leading whitespace, is rewritten too.
    let untidy = |raw: &[u8]| {
        let inner = raw.strip_suffix(b"\r").unwrap_or(raw);
        inner.contains(&b'\r') || inner.first().is_some_and(u8::is_ascii_whitespace)
    };
    let (bad, rewrite) = body
        .par_split(|&b| b == b'\n')
        .map(|raw| {
            let blank = is_blank(raw);
            (!blank && invalid(raw), blank || untidy(raw))
        })
        .reduce(|| (false, false), |a, b| (a.0 || b.0, a.1 || b.1));
    if bad {
        return Err(diagnose_json(path, format, bytes, None));
    }
    // A carriage return inside a valid JSON line lies between tokens (JSON strings cannot hold
    // one raw), where a space means the same.
    Ok(rewrite.then(|| {
        let mut compact = Vec::with_capacity(bytes.len());
        for raw in body.split(|&b| b == b'\n').filter(|raw| !is_blank(raw)) {
            compact.extend(
                raw.trim_ascii()
                    .iter()
                    .map(|&b| if b == b'\r' { b' ' } else { b }),
            );
            compact.push(b'\n');
        }
        compact
    }))
}

/// A JSON field, what it must be, and the test of that.
type JsonCheck<'a> = (&'a str, &'a str, fn(&serde_json::Value) -> bool);

pub(super) fn diagnose_json(
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
        if too_deep(raw) {
            return DataError::malformed(
                path,
                line_number,
                format!(
                    "expected {}, but the line nests arrays or objects more than \
                     {MAX_JSON_DEPTH} levels deep",
                    format.line_shape()
                ),
            );
        }
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
