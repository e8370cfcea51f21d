//! Dense ids in order of first appearance, and the builder of [`Interactions`].

use std::collections::HashMap;

use super::*;

/// Codes original ids to `0..n` in order of first appearance.
#[derive(Default)]
pub(super) struct IdCoder {
    /// Direct table for small non-negative integer ids (the MovieLens case): `u32::MAX` = unseen.
    pub(super) table: Vec<u32>,
    pub(super) integers: HashMap<i64, u32>,
    pub(super) tokens: HashMap<String, u32>,
    pub(super) keys: Vec<String>,
}

pub(super) const DIRECT_TABLE_LIMIT: i64 = 1 << 26;

impl IdCoder {
    pub(super) fn next_code(&mut self, key: impl FnOnce() -> String) -> u32 {
        let code = self.keys.len() as u32;
        self.keys.push(key());
        code
    }

    pub(super) fn integer(&mut self, id: i64) -> u32 {
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

    pub(super) fn token(&mut self, id: &str) -> u32 {
        if let Some(&code) = self.tokens.get(id) {
            return code;
        }
        let code = self.next_code(|| id.to_string());
        self.tokens.insert(id.to_string(), code);
        code
    }
}

pub(super) struct Builder {
    pub(super) out: Interactions,
    pub(super) users: IdCoder,
    pub(super) items: IdCoder,
}

impl Builder {
    pub(super) fn new() -> Self {
        Builder {
            out: Interactions::default(),
            users: IdCoder::default(),
            items: IdCoder::default(),
        }
    }

    pub(super) fn reserve(&mut self, rows: usize) {
        self.out.user.reserve(rows);
        self.out.item.reserve(rows);
        self.out.rating.reserve(rows);
        self.out.timestamp.reserve(rows);
    }

    /// One event of a file without time: rating 1, the row number as its timestamp.
    pub(super) fn push_untimed(&mut self, user: u32, item: u32) {
        let row = self.out.user.len() as i64;
        self.out.user.push(user);
        self.out.item.push(item);
        self.out.rating.push(1.0);
        self.out.timestamp.push(row);
    }

    /// [`finish`](Self::finish) for files without time.
    pub(super) fn finish_untimed(self) -> Interactions {
        let mut out = self.finish();
        out.untimed = true;
        out
    }

    pub(super) fn finish(mut self) -> Interactions {
        self.out.user_ids = self.users.keys;
        self.out.item_ids = self.items.keys;
        self.out
    }
}
