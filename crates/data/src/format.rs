//! The interaction-file formats latentr3 reads, and how a format is told from a file name.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// A known interaction-file format. Each loads to the same four columns: user, item, rating,
/// timestamp (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// MovieLens 100K `u.data`: `user \t item \t rating \t timestamp`, no header.
    MovielensTab,
    /// MovieLens 1M / 10M `ratings.dat`: `user::item::rating::timestamp`, no header.
    MovielensDat,
    /// MovieLens 20M / 25M / 32M / latest-small `ratings.csv`: header
    /// `userId,movieId,rating,timestamp`.
    MovielensCsv,
    /// RecBole atomic `*.inter`: tab-separated with a typed header such as `user_id:token`.
    RecboleInter,
    /// Amazon reviews 2014 / 2018 JSON lines (`reviewerID`, `asin`, `overall`,
    /// `unixReviewTime`), plain or gzip.
    AmazonJson,
    /// Amazon ratings-only CSV: `user,item,rating,timestamp`, no header.
    AmazonRatingsCsv,
    /// Amazon reviews 2023 JSON lines (`user_id`, `parent_asin`, `rating`, `timestamp` in
    /// milliseconds), plain or gzip.
    Amazon2023Jsonl,
    /// `user item` per line, separated by a space or a tab, in time order, no timestamps (the
    /// SASRec authors' data files, such as `Beauty.txt`). A `.txt` file whose lines all have
    /// two fields.
    SasrecPairs,
    /// `user item item …` per line, one line per user, items in time order, no timestamps (the
    /// S3-Rec / ICLRec data files). A `.txt` file with longer lines.
    UserSequences,
    /// LC-Rec / TIGER / LETTER `<Name>.inter.json`: one JSON object mapping each user to its
    /// items in time order, no timestamps; titles come from `<Name>.item.json`.
    LcrecInterJson,
    /// The D3 / BIGRec / LatentR³ CSV splits: `train/<Name>.csv`, `valid/<Name>.csv` and
    /// `test/<Name>.csv`, one sample a row (`user_id`, `history_item_id`, `item_id`,
    /// `history_timestamp`, `timestamp`, …), with titles in `info/<Name>.txt` (`title \t id`).
    /// A predefined split; told from other `.csv` files by its header.
    D3Csv,
    /// RecBole's benchmark files `<name>.train.inter`, `<name>.valid.inter` and
    /// `<name>.test.inter`: one interaction a row, or one sample a row with an
    /// `item_id_list:token_seq` history. A predefined split.
    RecboleBenchmark,
}

impl Format {
    /// Every format, in the order they are documented.
    pub const ALL: [Format; 12] = [
        Format::MovielensTab,
        Format::MovielensDat,
        Format::MovielensCsv,
        Format::RecboleInter,
        Format::AmazonJson,
        Format::AmazonRatingsCsv,
        Format::Amazon2023Jsonl,
        Format::SasrecPairs,
        Format::UserSequences,
        Format::LcrecInterJson,
        Format::D3Csv,
        Format::RecboleBenchmark,
    ];

    /// The name used in configs (`format = "movielens-tab"`).
    pub fn name(self) -> &'static str {
        self.descriptor().name
    }

    /// Tells the format from a file name, for example `u.data`, `ratings.dat`,
    /// `ratings.csv`, `ml-100k.inter`, `ml-100k.train.inter`, `Toys_and_Games_5.json.gz`,
    /// `Toys.csv`, `Toys_and_Games.jsonl` or `Instruments.inter.json`; a `.txt` file from its
    /// first lines as well (`user item` pairs, or one sequence a line), and a `.csv` file whose
    /// header names `history_item_id` is a D3-style split.
    pub fn detect(path: &Path) -> Result<Format> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let base = name.strip_suffix(".gz").unwrap_or(&name);
        let format = DESCRIPTORS
            .iter()
            .find(|d| (d.matches)(base))
            .map(|d| d.format)
            .ok_or_else(|| DataError::UnknownFormat {
                path: path.to_path_buf(),
                known: Format::ALL.map(Format::name).join(", "),
            })?;
        if format == Format::AmazonRatingsCsv && crate::load::is_d3_csv(path) {
            return Ok(Format::D3Csv);
        }
        if format != Format::UserSequences {
            return Ok(format);
        }
        match crate::load::txt_shape(path)? {
            crate::load::TxtShape::Pairs => Ok(Format::SasrecPairs),
            crate::load::TxtShape::Sequences => Ok(Format::UserSequences),
            crate::load::TxtShape::Table(fields) => Err(DataError::AmbiguousFormat {
                path: path.to_path_buf(),
                fields,
                known: Format::ALL.map(Format::name).join(", "),
            }),
        }
    }

    /// Whether files of this format carry their own train/valid/test split.
    pub fn has_own_split(self) -> bool {
        matches!(self.descriptor().reading, Reading::Predefined)
    }

    /// What one line of this format looks like, for error messages.
    pub(crate) fn line_shape(self) -> &'static str {
        self.descriptor().line_shape
    }

    /// How files of this format are told apart and read.
    pub(crate) fn descriptor(self) -> &'static Descriptor {
        DESCRIPTORS
            .iter()
            .find(|d| d.format == self)
            .expect("every format has a descriptor")
    }
}

/// One format, described once: its config name, what a line looks like, which file names it
/// claims, and how it is read. Adding a format is adding an entry to [`DESCRIPTORS`].
pub(crate) struct Descriptor {
    pub(crate) format: Format,
    pub(crate) name: &'static str,
    pub(crate) line_shape: &'static str,
    /// Whether a lower-case file name (without `.gz`) is of this format; the entries are tried
    /// in order, so the more specific names come first.
    pub(crate) matches: fn(&str) -> bool,
    pub(crate) reading: Reading,
}

/// How a format's lines become user, item, rating and timestamp.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reading {
    /// Four delimited fields (user, item, rating, timestamp). `doubled`: the separator is
    /// written twice (`::`).
    Delimited {
        separator: u8,
        doubled: bool,
        quote: Option<u8>,
        header: bool,
        /// Ids are integers (else any token).
        integer_ids: bool,
    },
    /// RecBole's typed header says which column is what.
    TypedHeader,
    /// Whitespace-separated `user item…` lines, no rating or time; `pairs`: exactly one item a
    /// line.
    SequenceLines { pairs: bool },
    /// One JSON object: user → list of items.
    UserItemsJson,
    /// A predefined split: the train, valid and test files beside the named one.
    Predefined,
    /// JSON objects, one a line, with these field names; timestamps are divided by `divisor`
    /// to make seconds.
    JsonLines {
        user: &'static str,
        item: &'static str,
        rating: &'static str,
        time: &'static str,
        divisor: i64,
    },
}

/// Every format, in the order file names are matched.
pub(crate) const DESCRIPTORS: [Descriptor; 12] = [
    Descriptor {
        format: Format::MovielensTab,
        name: "movielens-tab",
        line_shape: "4 tab-separated fields: user, item, rating, timestamp",
        matches: |base| base == "u.data" || base.ends_with(".data"),
        reading: Reading::Delimited {
            separator: b'\t',
            doubled: false,
            quote: None,
            header: false,
            integer_ids: true,
        },
    },
    Descriptor {
        format: Format::MovielensDat,
        name: "movielens-dat",
        line_shape: "4 fields separated by `::`: user, item, rating, timestamp",
        matches: |base| base.ends_with(".dat"),
        reading: Reading::Delimited {
            separator: b':',
            doubled: true,
            quote: None,
            header: false,
            integer_ids: true,
        },
    },
    Descriptor {
        format: Format::RecboleBenchmark,
        name: "recbole-benchmark",
        line_shape: "tab-separated fields matching the typed header (user_id:token, item_id:token, optionally item_id_list:token_seq and timestamp:float)",
        matches: |base| {
            [".train.inter", ".valid.inter", ".test.inter"]
                .iter()
                .any(|suffix| base.ends_with(suffix))
        },
        reading: Reading::Predefined,
    },
    Descriptor {
        format: Format::RecboleInter,
        name: "recbole-inter",
        line_shape: "tab-separated fields matching the typed header",
        matches: |base| base.ends_with(".inter"),
        reading: Reading::TypedHeader,
    },
    Descriptor {
        format: Format::LcrecInterJson,
        name: "lcrec-inter-json",
        line_shape: "one JSON object mapping each user to a list of items",
        matches: |base| base.ends_with(".inter.json"),
        reading: Reading::UserItemsJson,
    },
    Descriptor {
        format: Format::UserSequences,
        name: "user-sequences",
        line_shape: "a user then its items, separated by spaces or tabs",
        matches: |base| base.ends_with(".txt"),
        reading: Reading::SequenceLines { pairs: false },
    },
    // Told from `user-sequences` by content (see `Format::detect`), never by name alone.
    Descriptor {
        format: Format::SasrecPairs,
        name: "sasrec-pairs",
        line_shape: "2 fields separated by a space or a tab: user, item",
        matches: |_| false,
        reading: Reading::SequenceLines { pairs: true },
    },
    Descriptor {
        format: Format::Amazon2023Jsonl,
        name: "amazon-2023-jsonl",
        line_shape: "a JSON object with user_id, parent_asin, rating and timestamp (ms)",
        matches: |base| base.ends_with(".jsonl"),
        reading: Reading::JsonLines {
            user: "user_id",
            item: "parent_asin",
            rating: "rating",
            time: "timestamp",
            divisor: 1000,
        },
    },
    Descriptor {
        format: Format::AmazonJson,
        name: "amazon-json",
        line_shape: "a JSON object with reviewerID, asin, overall and unixReviewTime",
        matches: |base| base.ends_with(".json"),
        reading: Reading::JsonLines {
            user: "reviewerID",
            item: "asin",
            rating: "overall",
            time: "unixReviewTime",
            divisor: 1,
        },
    },
    Descriptor {
        format: Format::MovielensCsv,
        name: "movielens-csv",
        line_shape: "4 comma-separated fields: userId, movieId, rating, timestamp",
        matches: |base| base == "ratings.csv",
        reading: Reading::Delimited {
            separator: b',',
            doubled: false,
            quote: Some(b'"'),
            header: true,
            integer_ids: true,
        },
    },
    // Told from `amazon-ratings-csv` by its header (see `Format::detect`), never by name alone.
    Descriptor {
        format: Format::D3Csv,
        name: "d3-csv",
        line_shape: "a CSV row with user_id, history_item_id (a list such as [3, 17]), item_id, history_timestamp and timestamp",
        matches: |_| false,
        reading: Reading::Predefined,
    },
    Descriptor {
        format: Format::AmazonRatingsCsv,
        name: "amazon-ratings-csv",
        line_shape: "4 comma-separated fields: user, item, rating, timestamp",
        matches: |base| base.ends_with(".csv"),
        reading: Reading::Delimited {
            separator: b',',
            doubled: false,
            quote: Some(b'"'),
            header: false,
            integer_ids: false,
        },
    },
];

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_every_documented_name() {
        let cases = [
            ("ml-100k/u.data", Format::MovielensTab),
            ("ml-1m/ratings.dat", Format::MovielensDat),
            ("ml-20m/ratings.csv", Format::MovielensCsv),
            ("ml-100k.inter", Format::RecboleInter),
            ("ml-100k.train.inter", Format::RecboleBenchmark),
            ("data/ml-100k.test.inter", Format::RecboleBenchmark),
            ("reviews_Toys_and_Games_5.json.gz", Format::AmazonJson),
            ("Toys_and_Games.json", Format::AmazonJson),
            ("Toys_and_Games.csv", Format::AmazonRatingsCsv),
            ("Toys_and_Games.jsonl.gz", Format::Amazon2023Jsonl),
        ];
        for (name, expected) in cases {
            assert_eq!(Format::detect(Path::new(name)).unwrap(), expected, "{name}");
        }
    }

    #[test]
    fn every_format_has_one_descriptor() {
        for format in Format::ALL {
            let count = DESCRIPTORS.iter().filter(|d| d.format == format).count();
            assert_eq!(count, 1, "{format:?}");
        }
        assert_eq!(DESCRIPTORS.len(), Format::ALL.len());
    }

    #[test]
    fn unknown_name_lists_the_formats() {
        let err = Format::detect(Path::new("ratings.parquet")).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("ratings.parquet"), "{message}");
        assert!(message.contains("movielens-csv"), "{message}");
    }
}
