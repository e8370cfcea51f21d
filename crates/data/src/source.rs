//! Where interactions come from. A file in one of the [`Format`]s and the synthetic generator
//! are [`InteractionSource`]s; a program implements the trait for its own source (a database, a
//! format latentr3 does not read) and still gets filtering, caching and splitting through
//! [`DataConfig::load_from`](crate::DataConfig::load_from).
//!
//! ```
//! use latentr3_data::{DataConfig, FilterConfig, Interactions, InteractionSource, Split};
//!
//! /// Three users with four items each, in memory.
//! struct Mine;
//! impl InteractionSource for Mine {
//!     fn name(&self) -> String {
//!         "mine".into()
//!     }
//!     fn read(&self) -> latentr3_data::Result<Interactions> {
//!         let rows: Vec<(u32, u32, i64)> = (0..3u32)
//!             .flat_map(|u| (0..4u32).map(move |s| (u, (u + s) % 4, i64::from(s))))
//!             .collect();
//!         Ok(Interactions {
//!             user: rows.iter().map(|r| r.0).collect(),
//!             item: rows.iter().map(|r| r.1).collect(),
//!             rating: vec![5.0; rows.len()],
//!             timestamp: rows.iter().map(|r| r.2).collect(),
//!             user_ids: vec!["ann".into(), "bob".into(), "cid".into()],
//!             item_ids: vec!["w".into(), "x".into(), "y".into(), "z".into()],
//!             untimed: false,
//!             parts: None,
//!         })
//!     }
//! }
//!
//! let config = DataConfig {
//!     filter: FilterConfig { user_core: 3, item_core: 3, ..FilterConfig::default() },
//!     ..DataConfig::default()
//! };
//! let dataset = config.load_from(&Mine)?.dataset;
//! let split = Split::new(&dataset, &config.split)?;
//! assert_eq!(split.test.len(), 3);
//! # Ok::<(), latentr3_data::DataError>(())
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::cache;
use crate::error::{DataError, Result};
use crate::format::Format;
use crate::load::{
    Interactions, ReadOptions, d3_titles_file, part_files, read_categories, read_d3_titles,
    read_interactions, read_titles,
};
use crate::synthetic::{SyntheticConfig, generate};

/// What identifies a source's content for the dataset cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey {
    /// The start of the cache file's name.
    pub stem: String,
    /// A fingerprint of the content (for a file, a hash of its bytes).
    pub content: u128,
    /// The source's own settings that change what it yields (format, titles).
    pub settings: String,
}

/// A source of raw interactions.
pub trait InteractionSource {
    /// The dataset's name in reports.
    fn name(&self) -> String;
    /// What errors call the source (a file path); the name by default.
    fn describe(&self) -> String {
        self.name()
    }
    /// The key of the source's content for the dataset cache; `None` (the default) never
    /// caches.
    fn cache_key(&self) -> Result<Option<CacheKey>> {
        Ok(None)
    }
    /// Every interaction, in the source's order (equal timestamps keep it).
    fn read(&self) -> Result<Interactions>;
    /// Titles by original item id, when the source has them.
    fn titles(&self) -> Result<Option<HashMap<String, String>>> {
        Ok(None)
    }
    /// Categories by original item id (genres, store categories), when the source has them.
    fn categories(&self) -> Result<Option<HashMap<String, Vec<String>>>> {
        Ok(None)
    }
}

/// An interaction file and, optionally, a titles file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSource {
    pub path: PathBuf,
    pub format: Format,
    pub titles: Option<PathBuf>,
}

impl InteractionSource for FileSource {
    /// The file's folder (`ml-100k` for `data/ml-100k/u.data`), else its stem; for a
    /// predefined split, the name its files share (`Toys` for `test/Toys.csv`, `ml-100k` for
    /// `ml-100k.test.inter`).
    fn name(&self) -> String {
        if let Some(name) = self.split_name() {
            return name;
        }
        self.path
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| stem(&self.path))
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn cache_key(&self) -> Result<Option<CacheKey>> {
        self.check_exists()?;
        let titles = match &self.titles {
            Some(t) => Some(format!("{:032x}", cache::fingerprint_file(t)?)),
            None => None,
        };
        // A predefined split is all of its files.
        let mut content = cache::fingerprint_file(&self.path)?;
        if self.split_name().is_some() {
            for (_, file) in part_files(&self.path, self.format)? {
                content = content.rotate_left(7) ^ cache::fingerprint_file(&file)?;
            }
        }
        Ok(Some(CacheKey {
            stem: stem(&self.path),
            content,
            settings: serde_json::json!({ "format": self.format, "titles": titles }).to_string(),
        }))
    }

    fn read(&self) -> Result<Interactions> {
        self.check_exists()?;
        read_interactions(&self.path, self.format, &ReadOptions::default())
    }

    fn titles(&self) -> Result<Option<HashMap<String, String>>> {
        match (&self.titles, self.format) {
            (Some(titles), _) => read_titles(titles).map(Some),
            // A D3-style split keeps its titles in `info/<Name>.txt`.
            (None, Format::D3Csv) => d3_titles_file(&self.path)
                .map(|file| read_d3_titles(&file))
                .transpose(),
            (None, _) => Ok(None),
        }
    }

    /// The categories in the titles file, if it has any.
    fn categories(&self) -> Result<Option<HashMap<String, Vec<String>>>> {
        match &self.titles {
            Some(titles) => {
                read_categories(titles).map(|found| (!found.is_empty()).then_some(found))
            }
            None => Ok(None),
        }
    }
}

impl FileSource {
    /// The name a predefined split's files share, when the format is one.
    fn split_name(&self) -> Option<String> {
        let name = self.path.file_name()?.to_string_lossy().into_owned();
        match self.format {
            Format::D3Csv => Some(name.strip_suffix(".csv").unwrap_or(&name).to_string()),
            Format::RecboleBenchmark => {
                let lower = name.to_lowercase();
                [".train.inter", ".valid.inter", ".test.inter"]
                    .iter()
                    .find_map(|suffix| {
                        lower
                            .strip_suffix(suffix)
                            .map(|s| name[..s.len()].to_string())
                    })
            }
            _ => None,
        }
    }

    fn check_exists(&self) -> Result<()> {
        if self.path.exists() {
            return Ok(());
        }
        Err(DataError::io(
            &self.path,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file (see data/README.md for how to get it)",
            ),
        ))
    }
}

fn stem(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().replace(['.', ' '], "_"))
        .unwrap_or_else(|| "data".into())
}

impl InteractionSource for SyntheticConfig {
    fn name(&self) -> String {
        "synthetic".into()
    }

    fn describe(&self) -> String {
        "synthetic data".into()
    }

    fn read(&self) -> Result<Interactions> {
        generate(self)
    }

    /// Each item's topic (items are dealt round-robin into topics).
    fn categories(&self) -> Result<Option<HashMap<String, Vec<String>>>> {
        Ok(Some(
            (0..self.items)
                .map(|item| {
                    (
                        format!("i{item}"),
                        vec![format!("topic {}", item % self.topics)],
                    )
                })
                .collect(),
        ))
    }
}
