//! Files of the field's preprocessed benchmarks that hold item sequences without timestamps:
//! the SASRec authors' `user item` lines, the S3-Rec / ICLRec `user item item …` lines and the
//! LC-Rec / TIGER / LETTER `<Name>.inter.json` (user → items). Their order is the time order;
//! the row number stands in for the timestamp and the data are marked untimed.

use std::io::Read;
use std::path::Path;

use super::ids::Builder;
use super::*;

/// Reads `user item` lines (`pairs`) or `user item item …` lines, separated by spaces or tabs.
pub(super) fn read_sequence_lines(
    path: &Path,
    format: Format,
    reader: Box<dyn Read>,
    pairs: bool,
) -> Result<Interactions> {
    let bytes = read_all(path, reader)?;
    let text = std::str::from_utf8(strip_bom(&bytes)).map_err(|e| {
        let line = bytecount(&bytes[..e.valid_up_to()]) + 1;
        let start = bytes[..e.valid_up_to()]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        DataError::InvalidUtf8 {
            path: path.to_path_buf(),
            line,
            offset: e.valid_up_to() - start,
        }
    })?;
    let mut builder = Builder::new();
    for (index, line) in text.lines().enumerate() {
        let mut fields = line.split_ascii_whitespace();
        let Some(user) = fields.next() else {
            continue;
        };
        let items: Vec<&str> = fields.collect();
        let expected = |found: String| {
            DataError::malformed(
                path,
                index + 1,
                format!("expected {}, found {found}", format.line_shape()),
            )
        };
        if items.is_empty() {
            return Err(expected(format!("only `{}`", truncate(user))));
        }
        if pairs && items.len() > 1 {
            return Err(expected(format!("{} fields", items.len() + 1)));
        }
        let user = builder.users.token(user);
        for item in items {
            let item = builder.items.token(item);
            builder.push_untimed(user, item);
        }
    }
    Ok(builder.finish_untimed())
}

/// Reads an LC-Rec `<Name>.inter.json`: one JSON object mapping each user to its items in time
/// order (`{"0": [12, 5, …], …}`); ids may be numbers or strings.
pub(super) fn read_user_items_json(
    path: &Path,
    format: Format,
    reader: Box<dyn Read>,
) -> Result<Interactions> {
    let bytes = read_all(path, reader)?;
    let malformed = |message: String| DataError::malformed(path, 1, message);
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(strip_bom(&bytes)).map_err(|e| {
            DataError::malformed(
                path,
                e.line(),
                format!("expected {}, but it is not ({e})", format.line_shape()),
            )
        })?;
    let mut builder = Builder::new();
    // Users in the file's key order as serde_json keeps it (sorted); each user's items in order.
    for (user, items) in &object {
        let Some(items) = items.as_array() else {
            return Err(malformed(format!(
                "user `{}`: expected a list of items, found {}",
                truncate(user),
                kind(items)
            )));
        };
        let user_code = builder.users.token(user);
        for item in items {
            let id = match item {
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::String(s) => s.clone(),
                other => {
                    return Err(malformed(format!(
                        "user `{}`: expected item ids (numbers or strings), found {}",
                        truncate(user),
                        kind(other)
                    )));
                }
            };
            let item_code = builder.items.token(&id);
            builder.push_untimed(user_code, item_code);
        }
    }
    Ok(builder.finish_untimed())
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

/// What the first lines of a `.txt` file look like.
pub(crate) enum TxtShape {
    /// Every line has two fields: `user item` pairs.
    Pairs,
    /// Lines of several lengths: one sequence a line.
    Sequences,
    /// Every line has the same number of fields, 3 to 5: a table (such as `u.data` renamed)
    /// rather than sequences; the caller must say what it is.
    Table(usize),
}

/// The shape of a `.txt` file from its first 64 KiB.
pub(crate) fn txt_shape(path: &Path) -> Result<TxtShape> {
    let mut head = Vec::with_capacity(1 << 16);
    open(path)?
        .take(1 << 16)
        .read_to_end(&mut head)
        .map_err(|e| DataError::io(path, e))?;
    // Only whole lines: the last one may be cut.
    let end = head
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(head.len(), |p| p + 1);
    let text = String::from_utf8_lossy(&head[..end]);
    let counts: Vec<usize> = text
        .lines()
        .map(|l| l.split_ascii_whitespace().count())
        .filter(|&n| n > 0)
        .collect();
    Ok(match counts.first() {
        Some(&2) if counts.iter().all(|&n| n == 2) => TxtShape::Pairs,
        Some(&n) if (3..=5).contains(&n) && counts.len() > 1 && counts.iter().all(|&c| c == n) => {
            TxtShape::Table(n)
        }
        _ => TxtShape::Sequences,
    })
}
