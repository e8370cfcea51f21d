//! placeholder while the backbone lands
