// One fuzz input to a reader call, shared by the fuzz target (fuzz/src/bin/readers.rs, through
// `include!`) and the regression test of what it found (tests/hostile.rs): the first byte picks
// the file name (and so the format), the second the chunk size, the rest is the file.

/// Interaction files, then titles files.
pub const FUZZ_NAMES: [&str; 15] = [
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
const FUZZ_TITLES_FROM: usize = 9;

/// Predefined splits, picked by a first byte of 240 or more (added after the inputs in
/// tests/fuzz_found were found; their first bytes are below 240, so they keep their names):
/// the test part of a D3-style split, and of a RecBole benchmark split.
pub const FUZZ_SPLIT_NAMES: [&str; 2] = ["test/Toys_5.csv", "x.test.inter"];
const FUZZ_SPLITS_FROM: u8 = 240;

/// Writes the file `data` describes into `dir` and reads it; `None` for inputs too short.
/// Returns whether it loaded, or the error's message.
pub fn read_fuzz_input(dir: &std::path::Path, data: &[u8]) -> Option<Result<(), String>> {
    let [which, chunk, file @ ..] = data else {
        return None;
    };
    let index = usize::from(*which) % FUZZ_NAMES.len();
    let name = if *which >= FUZZ_SPLITS_FROM {
        FUZZ_SPLIT_NAMES[usize::from(*which - FUZZ_SPLITS_FROM) % FUZZ_SPLIT_NAMES.len()]
    } else {
        FUZZ_NAMES[index]
    };
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent()?).ok()?;
    std::fs::write(&path, file).ok()?;
    let outcome = if *which < FUZZ_SPLITS_FROM && index >= FUZZ_TITLES_FROM {
        latentr3_data::read_categories(&path)
            .and_then(|_| latentr3_data::read_titles(&path).map(|_| ()))
    } else {
        latentr3_data::Format::detect(&path).and_then(|format| {
            let options = latentr3_data::ReadOptions {
                chunk_bytes: 64 << (usize::from(*chunk) % 16),
            };
            latentr3_data::read_interactions(&path, format, &options).map(|_| ())
        })
    };
    Some(outcome.map_err(|e| e.to_string()))
}
