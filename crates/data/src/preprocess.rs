//! Filtering and sequence building: rating threshold, time window, de-duplication, iterative
//! k-core, dense id remapping and chronological per-user sequences.

use std::collections::HashSet;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, InteractionStats, Sequences};
use crate::error::{DataError, Result};
use crate::load::Interactions;

/// How raw interactions become sequences. Steps run in this order: rating threshold, time
/// window, de-duplication, k-core, truncation to `max_sequence_length`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilterConfig {
    /// Keep interactions rated at least this (implicit feedback). `None` keeps every rating.
    pub min_rating: Option<f32>,
    /// Keep only the first (earliest) interaction of each user with each item.
    pub dedup: bool,
    /// Iterative k-core: every kept user has at least this many interactions (0 or 1: off).
    pub user_core: usize,
    /// Iterative k-core: every kept item has at least this many interactions (0 or 1: off).
    pub item_core: usize,
    /// Keep interactions at or after this time (seconds since the epoch).
    pub time_start: Option<i64>,
    /// Keep interactions before this time (seconds since the epoch).
    pub time_end: Option<i64>,
    /// Keep only each user's most recent interactions, after k-core (`None`: all).
    pub max_sequence_length: Option<usize>,
}

impl Default for FilterConfig {
    fn default() -> Self {
        FilterConfig {
            min_rating: None,
            dedup: true,
            user_core: 5,
            item_core: 5,
            time_start: None,
            time_end: None,
            max_sequence_length: None,
        }
    }
}

impl FilterConfig {
    /// The settings under which every interaction of a source passes unchanged.
    pub fn none() -> Self {
        FilterConfig {
            min_rating: None,
            dedup: false,
            user_core: 0,
            item_core: 0,
            time_start: None,
            time_end: None,
            max_sequence_length: None,
        }
    }

    /// A predefined split is the benchmark's own samples: a filter would drop some of them and
    /// shift the others' histories, so every filter must be off.
    fn check_neutral_for_predefined(&self, source: &str) -> Result<()> {
        let refuse = |field: &'static str, value: String, neutral: &str| {
            Err(DataError::InvalidSetting {
                field,
                message: format!(
                    "{source} carries its own train/valid/test split, which is used as published; set data.filter.{} = {neutral} (it is {value}); a predefined split needs dedup = false, user_core = 0 and item_core = 0 and no other filter",
                    field.trim_start_matches("filter."),
                ),
            })
        };
        if let Some(rating) = self.min_rating {
            return refuse(
                "filter.min_rating",
                rating.to_string(),
                "nothing (remove it)",
            );
        }
        if self.dedup {
            return refuse("filter.dedup", "true".into(), "false");
        }
        if self.user_core > 1 {
            return refuse("filter.user_core", self.user_core.to_string(), "0");
        }
        if self.item_core > 1 {
            return refuse("filter.item_core", self.item_core.to_string(), "0");
        }
        if let Some(start) = self.time_start {
            return refuse(
                "filter.time_start",
                start.to_string(),
                "nothing (remove it)",
            );
        }
        if let Some(end) = self.time_end {
            return refuse("filter.time_end", end.to_string(), "nothing (remove it)");
        }
        if let Some(length) = self.max_sequence_length {
            return refuse(
                "filter.max_sequence_length",
                length.to_string(),
                "nothing (remove it)",
            );
        }
        Ok(())
    }

    /// Checks the settings for values that cannot work.
    pub fn validate(&self) -> Result<()> {
        if let (Some(start), Some(end)) = (self.time_start, self.time_end)
            && start >= end
        {
            return Err(DataError::InvalidSetting {
                field: "time_start",
                message: format!("{start} is not before time_end {end}"),
            });
        }
        if self.max_sequence_length == Some(0) {
            return Err(DataError::InvalidSetting {
                field: "max_sequence_length",
                message: "must be at least 1".into(),
            });
        }
        if self.min_rating.is_some_and(|r| !r.is_finite()) {
            return Err(DataError::InvalidSetting {
                field: "min_rating",
                message: "must be a finite number".into(),
            });
        }
        Ok(())
    }
}

/// Statistics of raw interactions (before filtering).
pub fn raw_stats(raw: &Interactions) -> InteractionStats {
    let mut user_lengths = vec![0usize; raw.user_ids.len()];
    for &u in &raw.user {
        user_lengths[u as usize] += 1;
    }
    let mut item_counts = vec![0u64; raw.item_ids.len()];
    for &i in &raw.item {
        item_counts[i as usize] += 1;
    }
    InteractionStats::from_counts(user_lengths, &item_counts)
}

/// Turns raw interactions into a [`Dataset`] (without titles). `source` names the data in errors.
pub fn preprocess(
    raw: Interactions,
    config: &FilterConfig,
    name: &str,
    source: &str,
) -> Result<Dataset> {
    config.validate()?;
    let raw_stats = raw_stats(&raw);
    let Interactions {
        user,
        item,
        rating,
        timestamp,
        user_ids,
        item_ids,
        untimed,
        parts,
    } = raw;
    if parts.is_some() {
        config.check_neutral_for_predefined(source)?;
    }
    if untimed && (config.time_start.is_some() || config.time_end.is_some()) {
        return Err(DataError::InvalidSetting {
            field: "data.time_start / data.time_end",
            message: format!(
                "{source} has no timestamps (its order is the time order); remove the time filters"
            ),
        });
    }

    // Row filters that need no grouping.
    let keep = |row: usize| {
        config.min_rating.is_none_or(|m| rating[row] >= m)
            && config.time_start.is_none_or(|s| timestamp[row] >= s)
            && config.time_end.is_none_or(|e| timestamp[row] < e)
    };

    // Group kept rows by user with a counting sort: rows stay in file order within a user.
    let num_users = user_ids.len();
    let mut offsets = vec![0usize; num_users + 1];
    for row in 0..user.len() {
        if keep(row) {
            offsets[user[row] as usize + 1] += 1;
        }
    }
    for u in 0..num_users {
        offsets[u + 1] += offsets[u];
    }
    let mut rows = vec![0u32; offsets[num_users]];
    {
        let mut next = offsets.clone();
        for row in 0..user.len() {
            if keep(row) {
                let slot = &mut next[user[row] as usize];
                rows[*slot] = row as u32;
                *slot += 1;
            }
        }
    }
    // Only item and time are needed from here on: free the rest before the sequences grow.
    drop(rating);
    drop(user);
    if rows.is_empty() {
        return Err(empty(
            source,
            "the rating threshold or time window removed every interaction",
        ));
    }

    // Chronological order per user; the sort is stable, so equal timestamps keep file order.
    // A source with its own split already gives each user's rows in sequence order (its parts
    // depend on that order), so it is kept.
    let mut user_rows = split_by_offsets(&mut rows, &offsets);
    if parts.is_none() {
        user_rows
            .par_iter_mut()
            .for_each(|slice| slice.sort_by_key(|&r| timestamp[r as usize]));
    }
    let mut lengths: Vec<usize> = user_rows.iter().map(|s| s.len()).collect();
    if config.dedup {
        lengths = user_rows
            .par_iter_mut()
            .map(|slice| {
                let mut seen = HashSet::with_capacity(slice.len());
                let mut kept = 0;
                for index in 0..slice.len() {
                    let row = slice[index];
                    if seen.insert(item[row as usize]) {
                        slice[kept] = row;
                        kept += 1;
                    }
                }
                kept
            })
            .collect();
    }
    drop(user_rows);

    let (alive_users, alive_items) = k_core(
        &rows,
        &offsets,
        &lengths,
        &item,
        item_ids.len(),
        config.user_core,
        config.item_core,
    );

    // Dense ids: items 1..=n and users 0..m, in order of first appearance in the file.
    let mut item_map = vec![0u32; item_ids.len()];
    let mut kept_item_ids = vec!["<pad>".to_string()];
    for (code, alive) in alive_items.iter().enumerate() {
        if *alive {
            item_map[code] = kept_item_ids.len() as u32;
            kept_item_ids.push(item_ids[code].clone());
        }
    }
    let mut sequences = Sequences {
        offsets: vec![0],
        items: Vec::new(),
        times: Vec::new(),
    };
    let mut kept_user_ids = Vec::new();
    let mut kept_parts = parts.as_ref().map(|_| Vec::new());
    for u in 0..num_users {
        if !alive_users[u] {
            continue;
        }
        let user_slice = &rows[offsets[u]..offsets[u] + lengths[u]];
        let alive: Vec<u32> = user_slice
            .iter()
            .copied()
            .filter(|&r| alive_items[item[r as usize] as usize])
            .collect();
        let skip = config
            .max_sequence_length
            .map_or(0, |m| alive.len().saturating_sub(m));
        for &r in &alive[skip..] {
            sequences.items.push(item_map[item[r as usize] as usize]);
            sequences.times.push(timestamp[r as usize]);
        }
        if let (Some(kept), Some(parts)) = (kept_parts.as_mut(), parts.as_ref()) {
            kept.extend(alive[skip..].iter().map(|&r| parts[r as usize]));
        }
        sequences.offsets.push(sequences.items.len());
        kept_user_ids.push(user_ids[u].clone());
    }
    if sequences.items.is_empty() {
        return Err(empty(
            source,
            &format!(
                "the {}-core filter (user_core = {}, item_core = {}) removed every interaction; lower them",
                config.user_core.max(config.item_core),
                config.user_core,
                config.item_core
            ),
        ));
    }
    let filtered = stats_of(&sequences, kept_item_ids.len());
    Ok(Dataset {
        name: name.to_string(),
        sequences,
        user_ids: kept_user_ids,
        item_ids: kept_item_ids,
        titles: None,
        raw: raw_stats,
        filtered,
        untimed,
        parts: kept_parts,
        categories: None,
    })
}

/// Statistics of processed sequences over `num_item_slots` item ids (padding included).
pub(crate) fn stats_of(sequences: &Sequences, num_item_slots: usize) -> InteractionStats {
    let mut item_counts = vec![0u64; num_item_slots];
    for &i in &sequences.items {
        item_counts[i as usize] += 1;
    }
    let lengths = sequences.offsets.windows(2).map(|w| w[1] - w[0]).collect();
    InteractionStats::from_counts(lengths, &item_counts)
}

fn empty(source: &str, hint: &str) -> DataError {
    DataError::Empty {
        context: source.to_string(),
        hint: format!(" after filtering: {hint}"),
    }
}

/// Splits `rows` into one mutable slice per user.
fn split_by_offsets<'a>(mut rows: &'a mut [u32], offsets: &[usize]) -> Vec<&'a mut [u32]> {
    let mut out = Vec::with_capacity(offsets.len() - 1);
    for window in offsets.windows(2) {
        let (head, tail) = rows.split_at_mut(window[1] - window[0]);
        out.push(head);
        rows = tail;
    }
    out
}

/// Iterative k-core: removes users with fewer than `user_core` and items with fewer than
/// `item_core` interactions until both hold. User `u`'s rows are
/// `rows[offsets[u]..offsets[u] + lengths[u]]`. Returns the surviving users and items.
fn k_core(
    rows: &[u32],
    offsets: &[usize],
    lengths: &[usize],
    item: &[u32],
    num_items: usize,
    user_core: usize,
    item_core: usize,
) -> (Vec<bool>, Vec<bool>) {
    let num_users = lengths.len();
    let mut alive_users: Vec<bool> = lengths.iter().map(|&l| l > 0).collect();
    let mut alive_items = vec![true; num_items];
    let user_rows = |u: usize| &rows[offsets[u]..offsets[u] + lengths[u]];
    loop {
        let item_counts = (0..num_users)
            .into_par_iter()
            .filter(|&u| alive_users[u])
            .fold(
                || vec![0u32; num_items],
                |mut counts, u| {
                    for &r in user_rows(u) {
                        let i = item[r as usize] as usize;
                        if alive_items[i] {
                            counts[i] += 1;
                        }
                    }
                    counts
                },
            )
            .reduce(
                || vec![0u32; num_items],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        let user_lengths: Vec<usize> = (0..num_users)
            .into_par_iter()
            .map(|u| {
                if !alive_users[u] {
                    return 0;
                }
                user_rows(u)
                    .iter()
                    .filter(|&&r| alive_items[item[r as usize] as usize])
                    .count()
            })
            .collect();
        let mut changed = false;
        for u in 0..num_users {
            if alive_users[u] && (user_lengths[u] < user_core.max(1)) {
                alive_users[u] = false;
                changed = true;
            }
        }
        for i in 0..num_items {
            if alive_items[i] && (item_counts[i] < item_core.max(1) as u32) {
                alive_items[i] = false;
                changed = true;
            }
        }
        if !changed {
            return (alive_users, alive_items);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interactions(rows: &[(u32, u32, f32, i64)]) -> Interactions {
        let users = rows.iter().map(|r| r.0).max().unwrap() + 1;
        let items = rows.iter().map(|r| r.1).max().unwrap() + 1;
        Interactions {
            user: rows.iter().map(|r| r.0).collect(),
            item: rows.iter().map(|r| r.1).collect(),
            rating: rows.iter().map(|r| r.2).collect(),
            timestamp: rows.iter().map(|r| r.3).collect(),
            user_ids: (0..users).map(|u| format!("u{u}")).collect(),
            item_ids: (0..items).map(|i| format!("i{i}")).collect(),
            untimed: false,
            parts: None,
        }
    }

    fn no_core() -> FilterConfig {
        FilterConfig {
            user_core: 0,
            item_core: 0,
            ..FilterConfig::default()
        }
    }

    #[test]
    fn sequences_are_chronological_with_file_order_tie_break() {
        let raw = interactions(&[
            (0, 3, 5.0, 30),
            (0, 1, 5.0, 10),
            (0, 2, 5.0, 20),
            (0, 4, 5.0, 20),
        ]);
        let data = preprocess(raw, &no_core(), "t", "t").unwrap();
        let originals: Vec<&str> = data
            .sequences
            .items(0)
            .iter()
            .map(|&i| data.item_ids[i as usize].as_str())
            .collect();
        assert_eq!(originals, ["i1", "i2", "i4", "i3"]);
        assert_eq!(data.sequences.times(0), [10, 20, 20, 30]);
    }

    #[test]
    fn dedup_keeps_the_earliest_interaction() {
        let raw = interactions(&[(0, 1, 5.0, 50), (0, 2, 5.0, 20), (0, 1, 5.0, 10)]);
        let data = preprocess(raw, &no_core(), "t", "t").unwrap();
        assert_eq!(data.sequences.times(0), [10, 20]);
        let without = FilterConfig {
            dedup: false,
            ..no_core()
        };
        let raw = interactions(&[(0, 1, 5.0, 50), (0, 2, 5.0, 20), (0, 1, 5.0, 10)]);
        assert_eq!(
            preprocess(raw, &without, "t", "t")
                .unwrap()
                .num_interactions(),
            3
        );
    }

    #[test]
    fn rating_threshold_and_time_window() {
        let raw = interactions(&[
            (0, 1, 2.0, 1),
            (0, 2, 4.0, 2),
            (0, 3, 5.0, 3),
            (0, 4, 5.0, 9),
        ]);
        let config = FilterConfig {
            min_rating: Some(4.0),
            time_end: Some(5),
            ..no_core()
        };
        let data = preprocess(raw, &config, "t", "t").unwrap();
        assert_eq!(data.sequences.times(0), [2, 3]);
        assert_eq!(data.raw.interactions, 4);
        assert_eq!(data.filtered.interactions, 2);
    }

    #[test]
    fn k_core_is_iterative() {
        // With 2-core, user 2 has one interaction and is removed; that drops item 5 to one
        // interaction, which in turn leaves user 1 with one interaction: a single pass would
        // keep user 1.
        let raw = interactions(&[
            (0, 1, 5.0, 1),
            (0, 9, 5.0, 2),
            (0, 1, 5.0, 3),
            (1, 9, 5.0, 1),
            (1, 5, 5.0, 2),
            (2, 5, 5.0, 1),
            (3, 1, 5.0, 1),
            (3, 9, 5.0, 2),
        ]);
        let config = FilterConfig {
            user_core: 2,
            item_core: 2,
            ..FilterConfig::default()
        };
        let data = preprocess(raw, &config, "t", "t").unwrap();
        assert_eq!(data.user_ids, ["u0", "u3"]);
        assert_eq!(data.item_ids, ["<pad>", "i1", "i9"]);
        for (_, items) in data.sequences.iter() {
            assert!(items.len() >= 2);
        }
    }

    #[test]
    fn everything_filtered_is_an_error_naming_the_source() {
        let raw = interactions(&[(0, 1, 5.0, 1), (1, 2, 5.0, 1)]);
        let err = preprocess(raw, &FilterConfig::default(), "t", "data/x.csv").unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("data/x.csv") && message.contains("core"),
            "{message}"
        );
    }

    #[test]
    fn max_sequence_length_keeps_the_most_recent() {
        let raw = interactions(&[(0, 1, 5.0, 1), (0, 2, 5.0, 2), (0, 3, 5.0, 3)]);
        let config = FilterConfig {
            max_sequence_length: Some(2),
            ..no_core()
        };
        let data = preprocess(raw, &config, "t", "t").unwrap();
        assert_eq!(data.sequences.times(0), [2, 3]);
    }
}
