//! Every interaction format's reader fed generated hostile inputs (seeded): truncations, byte
//! flips and insertions, binary junk, enormous fields and lines, ids beyond 2^32, JSON nested
//! 100,000 deep, corrupted and
//! truncated gzip streams, read whole and in tiny chunks. Each input must end in a correct load
//! or a named error, never a panic.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use latentr3_data::{Format, ReadOptions, read_interactions};
use rand::rngs::Xoshiro256PlusPlus as StdRng;
use rand::{RngExt, SeedableRng};

/// One valid file per format (name, contents before compression, gzip it).
fn samples() -> Vec<(&'static str, &'static str, bool)> {
    vec![
        (
            "u.data",
            "196\t242\t3\t881250949\n186\t302\t3\t891717742\n",
            false,
        ),
        (
            "ratings.dat",
            "1::1193::5::978300760\n1::661::3::978302109\n",
            false,
        ),
        (
            "ratings.csv",
            "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.0,964981247\n",
            false,
        ),
        (
            "x.inter",
            "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t2\t3\t4\n5\t6\t7\t8\n",
            false,
        ),
        (
            "Toys_5.json",
            "{\"overall\": 3.0, \"reviewerID\": \"A\", \"asin\": \"B\", \"unixReviewTime\": 881250949}\n\
             {\"overall\": 1.0, \"reviewerID\": \"C\", \"asin\": \"D\", \"unixReviewTime\": 881250950}\n",
            false,
        ),
        ("Toys.csv", "A,B,3.0,881250949\nC,D,1.0,881250950\n", false),
        (
            "Toys.jsonl.gz",
            "{\"rating\": 3.0, \"user_id\": \"A\", \"parent_asin\": \"B\", \"timestamp\": 881250949000}\n",
            true,
        ),
        (
            "test/Toys_5.csv",
            "user_id,history_item_id,item_id,history_item_title,history_timestamp,timestamp\n\
             A1,\"[3, 4]\",5,\"['x, \"\"y\"\"', 'z']\",\"[10, 11]\",12\n\
             A1,\"[3, 4, 5]\",6,\"['a']\",\"[10, 11, 12]\",13\n",
            false,
        ),
        (
            "x.test.inter",
            "user_id:token\titem_id_list:token_seq\titem_id:token\ttimestamp:float\n1\t2 3\t4\t9\n1\t2 3 4\t5\t10\n",
            false,
        ),
    ]
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A hostile variant of `text`.
fn mutate(text: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut bytes = text.to_vec();
    match rng.random_range(0..9) {
        0 => bytes.truncate(rng.random_range(0..=bytes.len())),
        1 => {
            for _ in 0..rng.random_range(1..8) {
                let at = rng.random_range(0..bytes.len());
                bytes[at] = rng.random();
            }
        }
        2 => {
            let junk = [
                &b"\0"[..],
                b"\xff\xfe",
                b"\"",
                b"{",
                b"}",
                b"[[[[",
                b"\n\n",
                b"\t\t\t",
                b"::",
                b",,,",
                b"-",
                b"1e999",
                b"NaN",
                b"99999999999999999999999",
            ];
            for _ in 0..rng.random_range(1..6) {
                let at = rng.random_range(0..=bytes.len());
                let piece = junk[rng.random_range(0..junk.len())];
                bytes.splice(at..at, piece.iter().copied());
            }
        }
        3 => {
            bytes = (0..rng.random_range(0..4096))
                .map(|_| rng.random())
                .collect()
        }
        // An enormous field.
        4 => {
            let at = rng.random_range(0..=bytes.len());
            let digit = b'0' + rng.random_range(0..10u8);
            bytes.splice(at..at, std::iter::repeat_n(digit, 1 << 20));
        }
        // Ids and times beyond 2^32 and 2^63 in place of every number.
        5 => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let huge = ["4294967296", "18446744073709551617", "-9223372036854775809"];
            let pick = huge[rng.random_range(0..huge.len())];
            bytes = text.replace("1", pick).into_bytes();
        }
        // One line repeated many times.
        6 => {
            let line_end = bytes
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |p| p + 1);
            let line = bytes[..line_end].to_vec();
            for _ in 0..rng.random_range(1..2000) {
                bytes.extend_from_slice(&line);
            }
        }
        // A deeply nested JSON value, sometimes after an unterminated string.
        7 => {
            let at = rng.random_range(0..=bytes.len());
            if rng.random_range(0..2) == 0 {
                bytes.splice(at..at, *b"\"open\n");
            }
            let depth = 100_000;
            let nested: Vec<u8> = std::iter::repeat_n(b'[', depth)
                .chain(std::iter::repeat_n(b']', depth))
                .collect();
            bytes.splice(at..at, nested);
        }
        // Lines without their ends, and ends without lines.
        _ => {
            bytes.retain(|&b| b != b'\n');
            bytes.extend(std::iter::repeat_n(b'\n', rng.random_range(0..50)));
        }
    }
    bytes
}

#[test]
fn hostile_inputs_end_in_a_load_or_a_named_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(2026);
    let mut tried = 0;
    let mut loaded = 0;
    for (name, text, compressed) in samples() {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        for round in 0..120 {
            let plain = mutate(text.as_bytes(), &mut rng);
            let bytes = match (compressed, round % 3) {
                (false, _) => plain,
                // The gzip stream itself damaged or cut short.
                (true, 0) => {
                    let mut gz = gzip(&plain);
                    let cut = rng.random_range(0..gz.len());
                    gz.truncate(cut);
                    gz
                }
                (true, 1) => {
                    let mut gz = gzip(&plain);
                    let at = rng.random_range(0..gz.len());
                    gz[at] ^= 0x5a;
                    gz
                }
                (true, _) => gzip(&plain),
            };
            std::fs::write(&path, &bytes).unwrap();
            for chunk_bytes in [64, 1 << 20] {
                tried += 1;
                let outcome = catch_unwind(AssertUnwindSafe(|| read(&path, chunk_bytes)));
                match outcome {
                    Ok(Ok(_)) => loaded += 1,
                    Ok(Err(error)) => assert!(!error.to_string().is_empty()),
                    Err(_) => panic!(
                        "{name}, round {round}, chunks of {chunk_bytes}: the reader panicked on \
                         {} bytes starting {:?}",
                        bytes.len(),
                        String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                    ),
                }
            }
        }
    }
    // Some variants stay valid (a flipped digit is still a number): the test also sees loads.
    assert!(loaded > 0 && loaded < tried, "{loaded} of {tried} loaded");
}

fn read(path: &Path, chunk_bytes: usize) -> latentr3_data::Result<latentr3_data::Interactions> {
    read_interactions(path, Format::detect(path)?, &ReadOptions { chunk_bytes })
}

/// A gzip bomb: 400 MB of one repeated byte (or of one valid line) in a few hundred KB. It is
/// refused with a named error once it expands past the bound, without reading it whole.
#[test]
fn a_gzip_bomb_is_refused_before_it_takes_the_memory() {
    let dir = tempfile::tempdir().unwrap();
    let line = b"{\"rating\": 3.0, \"user_id\": \"A\", \"parent_asin\": \"B\", \"timestamp\": 1}\n";
    for (name, unit) in [
        ("ratings.csv.gz", &b"\0"[..]),
        ("Toys.jsonl.gz", &line[..]),
        ("u.data.gz", &b"1\t2\t3\t4\n"[..]),
    ] {
        let path = dir.path().join(name);
        let file = std::fs::File::create(&path).unwrap();
        let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::best());
        let block: Vec<u8> = unit.iter().copied().cycle().take(1 << 20).collect();
        for _ in 0..400 {
            encoder.write_all(&block).unwrap();
        }
        encoder.finish().unwrap();
        let compressed = std::fs::metadata(&path).unwrap().len();
        assert!(compressed < 4 << 20, "{name}: {compressed} bytes");
        let error = read(&path, 64 << 20).err().unwrap().to_string();
        // Zero bytes have no line end: the line-length bound may stop them first.
        assert!(
            error.contains(name) && (error.contains("gzip bomb") || error.contains("longer than")),
            "{name}: {error}"
        );
    }
}

/// JSON nested two million deep (4 MB) in each JSON-lines format: a named error, not a stack
/// overflow in the JSON reader (which would abort the process, not panic).
#[test]
fn json_nested_millions_deep_is_a_named_error() {
    let dir = tempfile::tempdir().unwrap();
    let depth = 2_000_000;
    let mut nested: Vec<u8> = std::iter::repeat_n(b'[', depth)
        .chain(std::iter::repeat_n(b']', depth))
        .collect();
    nested.push(b'\n');
    for name in ["Toys_5.json", "Toys.jsonl"] {
        let path = dir.path().join(name);
        std::fs::write(&path, &nested).unwrap();
        let error = read(&path, 64 << 20).err().unwrap().to_string();
        assert!(
            error.contains(&format!("{name}:1:")) && error.contains("levels deep"),
            "{error}"
        );
    }
}

/// The titles readers (MovieLens `u.item`, `movies.dat`, `movies.csv`, RecBole `*.item`, Amazon
/// metadata JSON lines) fed the same hostile variants: a load or a named error, never a panic.
#[test]
fn hostile_titles_files_end_in_a_load_or_a_named_error() {
    let samples = [
        (
            "u.item",
            "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n2|GoldenEye (1995)|x||y|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0\n",
        ),
        (
            "movies.dat",
            "1::Toy Story (1995)::Animation\n2::Jumanji (1995)::Adventure\n",
        ),
        (
            "movies.csv",
            "movieId,title,genres\n1,\"Toy Story, The (1995)\",Animation\n2,Jumanji (1995),Adventure\n",
        ),
        (
            "ml.item",
            "item_id:token\tmovie_title:token_seq\trelease_year:token\tgenre:token_seq\n1\tToy Story\t1995\tAnimation Comedy\n",
        ),
        (
            "meta_Toys.jsonl",
            "{\"parent_asin\": \"B1\", \"title\": \"A toy\", \"categories\": [\"Toys\", \"Kites\"]}\n{\"parent_asin\": \"B2\", \"title\": \"B\", \"categories\": [[\"Toys\", \"Puzzles\"]]}\n",
        ),
        (
            "Instruments.item.json",
            "{\"1\": {\"title\": \"Pick\", \"categories\": \"Guitar,Bass\"}, \"2\": {\"title\": \"Capo\"}}",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let (mut tried, mut loaded) = (0, 0);
    for (name, text) in samples {
        for gzipped in [false, true] {
            let file = if gzipped {
                format!("{name}.gz")
            } else {
                name.to_string()
            };
            let path = dir.path().join(&file);
            for round in 0..60 {
                let plain = mutate(text.as_bytes(), &mut rng);
                let bytes = if gzipped { gzip(&plain) } else { plain };
                std::fs::write(&path, &bytes).unwrap();
                tried += 1;
                // Titles and categories come from the same files, by two readers.
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    latentr3_data::read_categories(&path)?;
                    latentr3_data::read_titles(&path)
                }));
                match outcome {
                    Ok(Ok(_)) => loaded += 1,
                    Ok(Err(error)) => assert!(!error.to_string().is_empty()),
                    Err(_) => panic!(
                        "{file}, round {round}: the titles reader panicked on {} bytes starting {:?}",
                        bytes.len(),
                        String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                    ),
                }
            }
        }
    }
    assert!(loaded > 0 && loaded < tried, "{loaded} of {tried} loaded");
}

/// A delimited file with a 40 MiB line (a file without line ends): a named error once the line
/// passes the bound, without reading it whole (with chunks smaller than the line; a file within
/// one chunk is parsed whole and its line named all the same).
#[test]
fn an_enormous_line_is_a_named_error() {
    let dir = tempfile::tempdir().unwrap();
    for (name, head) in [
        ("ratings.csv", "userId,movieId,rating,timestamp\n"),
        ("u.data", "1\t2\t3\t4\n"),
    ] {
        let path = dir.path().join(name);
        let mut bytes = head.as_bytes().to_vec();
        bytes.extend(std::iter::repeat_n(b'7', 40 << 20));
        std::fs::write(&path, &bytes).unwrap();
        for chunk_bytes in [1 << 20, 4 << 20] {
            let error = read(&path, chunk_bytes).err().unwrap().to_string();
            assert!(
                error.contains(&format!("{name}:2:")) && error.contains("longer than 16 MiB"),
                "{error}"
            );
        }
    }
}

#[path = "common/fuzz_input.rs"]
mod fuzz_input;

/// Every input the coverage-guided fuzzer (fuzz/, AFL++) found crashing a reader, replayed:
/// polars' JSON-lines reader panicked on blank lines at the start and on lines that are JSON
/// but not objects (caught, but printed), its CSV reader on a field that is a lone quote. Each ends in a
/// load or a named error now, without a panic, caught or not.
#[test]
fn inputs_the_fuzzer_found_end_without_a_panic() {
    let found = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_found");
    let mut inputs: Vec<_> = std::fs::read_dir(&found)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 13, "{inputs:?}");
    let dir = tempfile::tempdir().unwrap();
    // A panic caught inside a reader would still print: count them instead.
    let panics = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = panics.clone();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |_| {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }));
    let mut outcomes = Vec::new();
    for input in &inputs {
        let bytes = std::fs::read(input).unwrap();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            fuzz_input::read_fuzz_input(dir.path(), &bytes)
        }));
        outcomes.push((
            input.clone(),
            outcome.is_ok(),
            panics.load(std::sync::atomic::Ordering::SeqCst),
        ));
    }
    std::panic::set_hook(hook);
    let mut before = 0;
    for (input, returned, count) in outcomes {
        assert!(
            returned && count == before,
            "{}: a reader panicked",
            input.display()
        );
        before = count;
    }
}

/// A JSON-lines file with blank lines between its records loads them all.
#[test]
fn json_lines_with_blank_lines_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Toys.jsonl");
    let line = "{\"rating\": 3.0, \"user_id\": \"A\", \"parent_asin\": \"B\", \"timestamp\": 1000}";
    std::fs::write(&path, format!("\n{line}\n\n  \n{line}\n\n")).unwrap();
    assert_eq!(read(&path, 64 << 20).unwrap().len(), 2);
}
