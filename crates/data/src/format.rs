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
}

impl Format {
    /// Every format, in the order they are documented.
    pub const ALL: [Format; 7] = [
        Format::MovielensTab,
        Format::MovielensDat,
        Format::MovielensCsv,
        Format::RecboleInter,
        Format::AmazonJson,
        Format::AmazonRatingsCsv,
        Format::Amazon2023Jsonl,
    ];

    /// The name used in configs (`format = "movielens-tab"`).
    pub fn name(self) -> &'static str {
        match self {
            Format::MovielensTab => "movielens-tab",
            Format::MovielensDat => "movielens-dat",
            Format::MovielensCsv => "movielens-csv",
            Format::RecboleInter => "recbole-inter",
            Format::AmazonJson => "amazon-json",
            Format::AmazonRatingsCsv => "amazon-ratings-csv",
            Format::Amazon2023Jsonl => "amazon-2023-jsonl",
        }
    }

    /// Tells the format from a file name, for example `u.data`, `ratings.dat`,
    /// `ratings.csv`, `ml-100k.inter`, `Toys_and_Games_5.json.gz`, `Toys.csv` or
    /// `Toys_and_Games.jsonl`.
    pub fn detect(path: &Path) -> Result<Format> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let base = name.strip_suffix(".gz").unwrap_or(&name);
        let format = if base == "u.data" || base.ends_with(".data") {
            Some(Format::MovielensTab)
        } else if base.ends_with(".dat") {
            Some(Format::MovielensDat)
        } else if base.ends_with(".inter") {
            Some(Format::RecboleInter)
        } else if base.ends_with(".jsonl") {
            Some(Format::Amazon2023Jsonl)
        } else if base.ends_with(".json") {
            Some(Format::AmazonJson)
        } else if base == "ratings.csv" {
            Some(Format::MovielensCsv)
        } else if base.ends_with(".csv") {
            Some(Format::AmazonRatingsCsv)
        } else {
            None
        };
        format.ok_or_else(|| DataError::UnknownFormat {
            path: path.to_path_buf(),
            known: Format::ALL.map(Format::name).join(", "),
        })
    }

    /// What one line of this format looks like, for error messages.
    pub(crate) fn line_shape(self) -> &'static str {
        match self {
            Format::MovielensTab => "4 tab-separated fields: user, item, rating, timestamp",
            Format::MovielensDat => "4 fields separated by `::`: user, item, rating, timestamp",
            Format::MovielensCsv => "4 comma-separated fields: userId, movieId, rating, timestamp",
            Format::RecboleInter => "tab-separated fields matching the typed header",
            Format::AmazonJson => "a JSON object with reviewerID, asin, overall and unixReviewTime",
            Format::AmazonRatingsCsv => "4 comma-separated fields: user, item, rating, timestamp",
            Format::Amazon2023Jsonl => {
                "a JSON object with user_id, parent_asin, rating and timestamp (ms)"
            }
        }
    }
}

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
    fn unknown_name_lists_the_formats() {
        let err = Format::detect(Path::new("ratings.parquet")).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("ratings.parquet"), "{message}");
        assert!(message.contains("movielens-csv"), "{message}");
    }
}
