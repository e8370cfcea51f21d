//! The layout of each delimited format: which field holds what, and how it is parsed.

use std::path::Path;

use polars::prelude::*;

use crate::error::{DataError, Result};
use crate::format::{Format, Reading};

/// How an id column is typed in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IdKind {
    Integer,
    Token,
}

/// How a field of a delimited line is checked and parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldKind {
    Id(IdKind),
    Float,
    Integer,
    /// RecBole's `float` timestamps: a number, kept as whole seconds.
    FloatSeconds,
    Ignored,
}

/// The layout of a delimited format: which field holds what.
#[derive(Debug, Clone)]
pub(super) struct Layout {
    pub(super) separator: u8,
    /// A field separator of two bytes (`::`) is read as two one-byte separators with an empty
    /// field between them, because polars only splits on single bytes.
    pub(super) doubled_separator: bool,
    pub(super) quote: Option<u8>,
    pub(super) header: bool,
    pub(super) fields: Vec<(String, FieldKind)>,
    pub(super) user: usize,
    pub(super) item: usize,
    pub(super) rating: Option<usize>,
    pub(super) time: Option<usize>,
}

impl Layout {
    /// The layout of a format with four fixed fields (`None` for the others).
    pub(super) fn fixed(format: Format) -> Option<Layout> {
        let Reading::Delimited {
            separator,
            doubled,
            quote,
            header,
            integer_ids,
        } = format.descriptor().reading
        else {
            return None;
        };
        let id = FieldKind::Id(if integer_ids {
            IdKind::Integer
        } else {
            IdKind::Token
        });
        Some(Layout {
            separator,
            doubled_separator: doubled,
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
        })
    }

    /// Number of single-byte-separated columns polars sees.
    pub(super) fn polars_columns(&self) -> usize {
        if self.doubled_separator {
            self.fields.len() * 2 - 1
        } else {
            self.fields.len()
        }
    }

    pub(super) fn polars_index(&self, field: usize) -> usize {
        if self.doubled_separator {
            field * 2
        } else {
            field
        }
    }

    pub(super) fn separator_text(&self) -> String {
        match (self.separator, self.doubled_separator) {
            (b'\t', _) => "tab".into(),
            (s, true) => format!("`{0}{0}`", s as char),
            (s, false) => format!("`{}`", s as char),
        }
    }

    pub(super) fn expected_line(&self) -> String {
        let names: Vec<&str> = self.fields.iter().map(|(n, _)| n.as_str()).collect();
        format!(
            "{} {}-separated fields ({})",
            self.fields.len(),
            self.separator_text(),
            names.join(", ")
        )
    }

    pub(super) fn polars_schema(&self) -> Schema {
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
    pub(super) fn recbole(path: &Path, header: &str) -> Result<Layout> {
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
