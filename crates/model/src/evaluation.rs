//! The data → evaluation bridge, re-exported from `latentr3_data::evaluation` (where it lives,
//! usable without burn).

pub use latentr3_data::evaluation::{cases, item_stats};
