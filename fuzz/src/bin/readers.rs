//! One fuzz target for every reader of files from outside: the first input byte picks the file
//! name (and so the format), the second the chunk size; the rest is the file. A reader may load
//! it or return an error; a panic or an abort is a crash AFL++ records.

use std::path::PathBuf;

use latentr3_data::{Format, ReadOptions, read_interactions, read_titles};

/// Interaction files, then titles files.
const NAMES: [&str; 15] = [
    "u.data",
    "ratings.dat",
    "ratings.csv",
    "x.inter",
    "Toys_5.json",
    "Toys.csv",
    "Toys.jsonl",
    "Beauty.txt",
    "Instruments.inter.json",
    "u.item",
    "movies.dat",
    "movies.csv",
    "ml.item",
    "meta_Toys.jsonl",
    "Instruments.item.json",
];
const TITLES_FROM: usize = 9;

fn main() {
    let dir = PathBuf::from(format!("/dev/shm/latentr3-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory in /dev/shm");
    afl::fuzz!(|data: &[u8]| {
        let [which, chunk, file @ ..] = data else {
            return;
        };
        let index = usize::from(*which) % NAMES.len();
        let path = dir.join(NAMES[index]);
        if std::fs::write(&path, file).is_err() {
            return;
        }
        if index >= TITLES_FROM {
            let _ = read_titles(&path);
        } else if let Ok(format) = Format::detect(&path) {
            let options = ReadOptions {
                chunk_bytes: 64 << (usize::from(*chunk) % 16),
            };
            let _ = read_interactions(&path, format, &options);
        }
    });
}
