//! The `[data]` section of an experiment, and loading a dataset from it (with the cache).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::cache;
use crate::dataset::{Categories, Dataset};
use crate::error::{DataError, Result};
use crate::format::Format;
use crate::preprocess::{FilterConfig, preprocess};
use crate::source::{FileSource, InteractionSource};
use crate::split::{SplitConfig, SplitKind};
use crate::synthetic::SyntheticConfig;

/// Where the data comes from and how it is processed. Exactly one of `path` and `synthetic` is
/// set. Relative paths are relative to the working directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// An interaction file in one of the [`Format`]s.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The format of `path`; detected from the file name when absent.
    #[serde(default)]
    pub format: Option<Format>,
    /// An item-title file (`u.item`, `movies.dat`, `movies.csv`, Amazon metadata).
    #[serde(default)]
    pub titles: Option<PathBuf>,
    /// Generate a synthetic dataset instead of reading a file.
    #[serde(default)]
    pub synthetic: Option<SyntheticConfig>,
    #[serde(default)]
    pub filter: FilterConfig,
    #[serde(default)]
    pub split: SplitConfig,
    /// Cache processed datasets (sources with a cache key: files).
    #[serde(default = "default_true")]
    pub cache: bool,
    #[serde(default = "default_cache_dir")]
    pub cache_dir: PathBuf,
}

fn default_true() -> bool {
    true
}

fn default_cache_dir() -> PathBuf {
    PathBuf::from("data/cache")
}

impl Default for DataConfig {
    /// The embedded default: the synthetic dataset with a 5-core filter and leave-one-out.
    fn default() -> Self {
        DataConfig {
            path: None,
            format: None,
            titles: None,
            synthetic: Some(SyntheticConfig::default()),
            filter: FilterConfig::default(),
            split: SplitConfig::default(),
            cache: true,
            cache_dir: default_cache_dir(),
        }
    }
}

impl DataConfig {
    /// A config that reads `path` with default settings; a file that carries its own split
    /// (a D3-style CSV, a RecBole benchmark file) gets that split and no filter.
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let own_split = Format::detect(&path).is_ok_and(Format::has_own_split);
        DataConfig {
            path: Some(path),
            synthetic: None,
            filter: if own_split {
                FilterConfig::none()
            } else {
                FilterConfig::default()
            },
            split: SplitConfig {
                kind: if own_split {
                    SplitKind::Predefined
                } else {
                    SplitKind::default()
                },
                ..SplitConfig::default()
            },
            ..DataConfig::default()
        }
    }

    /// The format of `path`: the explicit one, or the one its name implies.
    pub fn resolved_format(&self, path: &Path) -> Result<Format> {
        match self.format {
            Some(format) => Ok(format),
            None => Format::detect(path),
        }
    }

    /// Loads, filters and sequences the data, using the cache when enabled.
    pub fn load(&self) -> Result<Loaded> {
        match (&self.path, &self.synthetic) {
            (Some(_), Some(_)) | (None, None) => Err(DataError::InvalidSetting {
                field: "data",
                message: "set exactly one of `path` (a file) and `synthetic` (generated data)"
                    .into(),
            }),
            (None, Some(synthetic)) => self.load_from(synthetic),
            (Some(path), None) => self.load_from(&FileSource {
                path: path.clone(),
                format: self.resolved_format(path)?,
                titles: self.titles.clone(),
            }),
        }
    }

    /// Loads `source` with these filters and this cache (`path`, `format`, `titles` and
    /// `synthetic` are not read): a program's own source gets the same preprocessing.
    pub fn load_from(&self, source: &dyn InteractionSource) -> Result<Loaded> {
        self.filter.validate()?;
        self.split.validate()?;
        let started = Instant::now();
        let cache_file = match (self.cache, source.cache_key()?) {
            (true, Some(key)) => {
                let settings = serde_json::json!({
                    "source": key.settings,
                    "filter": self.filter,
                })
                .to_string();
                let file = cache::cache_path(&self.cache_dir, &key.stem, key.content, &settings);
                if let Some(dataset) = cache::read(&file) {
                    return Ok(Loaded {
                        dataset,
                        cache: CacheUse::Hit(file),
                        seconds: started.elapsed().as_secs_f64(),
                    });
                }
                Some(file)
            }
            _ => None,
        };
        let raw = source.read()?;
        let mut dataset = preprocess(raw, &self.filter, &source.name(), &source.describe())?;
        if let Some(categories) = source.categories()? {
            dataset.categories = Some(categories_by_dense_id(&dataset.item_ids, &categories));
        }
        if let Some(titles) = source.titles()? {
            dataset.titles = Some(
                dataset
                    .item_ids
                    .iter()
                    .map(|id| titles.get(id).cloned().unwrap_or_default())
                    .collect(),
            );
        }
        let cache = match cache_file {
            Some(file) => {
                cache::write(&file, &dataset)?;
                CacheUse::Stored(file)
            }
            None => CacheUse::Disabled,
        };
        Ok(Loaded {
            dataset,
            cache,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// Categories by dense item id from categories by original id; names sorted.
fn categories_by_dense_id(
    item_ids: &[String],
    by_original: &HashMap<String, Vec<String>>,
) -> Categories {
    let mut names: Vec<String> = item_ids
        .iter()
        .filter_map(|id| by_original.get(id))
        .flatten()
        .cloned()
        .collect();
    names.sort_unstable();
    names.dedup();
    let lists = item_ids
        .iter()
        .map(|id| {
            by_original.get(id).map_or_else(Vec::new, |list| {
                list.iter()
                    .filter_map(|name| names.binary_search(name).ok())
                    .map(|g| g as u32)
                    .collect()
            })
        })
        .collect();
    Categories::from_lists(names, lists)
}

/// How the cache served a load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheUse {
    /// Read from this cache file.
    Hit(PathBuf),
    /// Built from the source and written to this cache file.
    Stored(PathBuf),
    /// Caching is off (or the source is synthetic).
    Disabled,
}

/// A loaded dataset and how it was obtained.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub dataset: Dataset,
    pub cache: CacheUse,
    /// Wall time of the load.
    pub seconds: f64,
}
