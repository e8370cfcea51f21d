//! Every supported format, read from tiny files the tests write, and every kind of bad input.

use std::io::Write;
use std::path::{Path, PathBuf};

use latentr3_data::{
    CacheUse, DataConfig, DataError, FilterConfig, Format, Interactions, ReadOptions,
    read_interactions, read_titles,
};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn read(path: &Path) -> latentr3_data::Result<Interactions> {
    read_interactions(path, Format::detect(path)?, &ReadOptions::default())
}

/// (original user, original item, rating, time) of every row.
fn rows(data: &Interactions) -> Vec<(String, String, f32, i64)> {
    (0..data.len())
        .map(|r| {
            (
                data.user_ids[data.user[r] as usize].clone(),
                data.item_ids[data.item[r] as usize].clone(),
                data.rating[r],
                data.timestamp[r],
            )
        })
        .collect()
}

fn expected() -> Vec<(String, String, f32, i64)> {
    vec![
        ("196".into(), "242".into(), 3.0, 881250949),
        ("186".into(), "302".into(), 3.5, 891717742),
        ("196".into(), "377".into(), 1.0, 878887116),
    ]
}

#[test]
fn movielens_100k_tab() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "u.data",
        b"196\t242\t3\t881250949\n186\t302\t3.5\t891717742\n196\t377\t1\t878887116\n",
    );
    let data = read(&path).unwrap();
    assert_eq!(rows(&data), expected());
    assert_eq!(
        data.user_ids,
        ["196", "186"],
        "users coded in order of first appearance"
    );
}

#[test]
fn movielens_1m_double_colon_with_crlf() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "ratings.dat",
        b"196::242::3::881250949\r\n186::302::3.5::891717742\r\n196::377::1::878887116\r\n",
    );
    assert_eq!(rows(&read(&path).unwrap()), expected());
}

#[test]
fn movielens_csv_with_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "ratings.csv",
        b"userId,movieId,rating,timestamp\n196,242,3.0,881250949\n186,302,3.5,891717742\n196,377,1.0,878887116\n",
    );
    assert_eq!(rows(&read(&path).unwrap()), expected());
}

#[test]
fn recbole_atomic_inter() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "ml-100k.inter",
        b"user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t242\t3\t881250949\n186\t302\t3.5\t891717742\n196\t377\t1\t878887116\n",
    );
    assert_eq!(rows(&read(&path).unwrap()), expected());
}

#[test]
fn recbole_without_rating_or_time_uses_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "x.inter",
        b"item_id:token\tuser_id:token\nA\tu1\nB\tu1\n",
    );
    let data = read(&path).unwrap();
    assert_eq!(data.timestamp, [0, 1]);
    assert_eq!(data.item_ids, ["A", "B"]);
}

const AMAZON_2018: &str = r#"{"overall": 3.0, "verified": true, "reviewerID": "196", "asin": "242", "style": {"Format:": " Kindle"}, "unixReviewTime": 881250949, "helpful": [0, 0]}
{"overall": 3.5, "reviewerID": "186", "asin": "302", "unixReviewTime": 891717742, "reviewText": "Fine.\nReally"}
{"overall": 1.0, "reviewerID": "196", "asin": "377", "unixReviewTime": 878887116}
"#;

#[test]
fn amazon_json_lines_plain_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let plain = write(dir.path(), "Toys_and_Games_5.json", AMAZON_2018.as_bytes());
    assert_eq!(rows(&read(&plain).unwrap()), expected());
    let gz = write(
        dir.path(),
        "Toys_and_Games_5.json.gz",
        &gzip(AMAZON_2018.as_bytes()),
    );
    assert_eq!(rows(&read(&gz).unwrap()), expected());
}

#[test]
fn amazon_ratings_only_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "Toys_and_Games.csv",
        b"196,242,3.0,881250949\n186,302,3.5,891717742\n196,377,1.0,878887116\n",
    );
    assert_eq!(rows(&read(&path).unwrap()), expected());
}

#[test]
fn amazon_2023_jsonl_milliseconds() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{"rating": 3.0, "title": "ok", "user_id": "196", "parent_asin": "242", "asin": "x", "timestamp": 881250949000}
{"rating": 3.5, "user_id": "186", "parent_asin": "302", "timestamp": 891717742123}
{"rating": 1.0, "user_id": "196", "parent_asin": "377", "timestamp": 878887116999}
"#;
    let path = write(
        dir.path(),
        "Toys_and_Games.jsonl.gz",
        &gzip(text.as_bytes()),
    );
    assert_eq!(rows(&read(&path).unwrap()), expected());
}

#[test]
fn small_chunks_give_the_same_rows_and_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for row in 0..5000 {
        text.push_str(&format!("{}\t{}\t4\t{}\n", row % 97, row % 13, 1000 + row));
    }
    let path = write(dir.path(), "u.data", text.as_bytes());
    let whole = read(&path).unwrap();
    let chunked = read_interactions(
        &path,
        Format::MovielensTab,
        &ReadOptions { chunk_bytes: 1024 },
    )
    .unwrap();
    assert_eq!(whole, chunked);
    // A line longer than a whole chunk (an id with 2,000 leading zeros), and blank lines at the end.
    let mut text_long = text.clone();
    text_long.push_str(&format!(
        "777\t{}5\t4\t7\n1\t1\t4\t1\n\n\n",
        "0".repeat(2000)
    ));
    let path_long = write(dir.path(), "long.data", text_long.as_bytes());
    let data = read_interactions(
        &path_long,
        Format::MovielensTab,
        &ReadOptions { chunk_bytes: 1024 },
    )
    .unwrap();
    assert_eq!(data.len(), 5002);
    text.push_str("1\t2\tthree\t4\n");
    let path = write(dir.path(), "u.data", text.as_bytes());
    let err = read_interactions(
        &path,
        Format::MovielensTab,
        &ReadOptions { chunk_bytes: 1024 },
    )
    .unwrap_err();
    assert!(err.to_string().contains("u.data:5001:"), "{err}");
}

#[test]
fn titles_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    // u.item is latin-1: 0xE9 is é.
    let item = write(dir.path(), "u.item", b"1|Toy Story (1995)|01-Jan-1995||http://x|0|0\n2|Les Mis\xe9rables (1995)|01-Jan-1995||http://y|0|1\n");
    let titles = read_titles(&item).unwrap();
    assert_eq!(titles["2"], "Les Misérables (1995)");
    let dat = write(
        dir.path(),
        "movies.dat",
        b"1::Star Wars: Episode IV (1977)::Action|Sci-Fi\n",
    );
    assert_eq!(
        read_titles(&dat).unwrap()["1"],
        "Star Wars: Episode IV (1977)"
    );
    let csv = write(
        dir.path(),
        "movies.csv",
        b"movieId,title,genres\n11,\"American President, The (1995)\",Comedy\n",
    );
    assert_eq!(
        read_titles(&csv).unwrap()["11"],
        "American President, The (1995)"
    );
    let meta = write(dir.path(), "meta_Toys.json.gz", &gzip(b"{\"asin\": \"B1\", \"title\": \"Yo-yo\"}\n{\"parent_asin\": \"B2\", \"title\": \"Kite\"}\n"));
    let titles = read_titles(&meta).unwrap();
    assert_eq!(
        (titles["B1"].as_str(), titles["B2"].as_str()),
        ("Yo-yo", "Kite")
    );
    let recbole = write(
        dir.path(),
        "ml-100k.item",
        b"item_id:token\tmovie_title:token_seq\trelease_year:token\n1\tToy Story\t1995\n",
    );
    assert_eq!(read_titles(&recbole).unwrap()["1"], "Toy Story");
}

#[test]
fn categories_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // u.item: 19 genre flags after five fields (Action and Sci-Fi; none for item 2).
    let mut flags = vec!["0"; 19];
    flags[1] = "1";
    flags[15] = "1";
    let item = write(
        dir.path(),
        "u.item",
        format!(
            "1|Star Wars (1977)|01-Jan-1977||http://x|{}\n2|Nothing (1990)|01-Jan-1990||http://y|{}\n",
            flags.join("|"),
            ["0"; 19].join("|")
        )
        .as_bytes(),
    );
    let found = latentr3_data::read_categories(&item).unwrap();
    assert_eq!(found["1"], strings(&["Action", "Sci-Fi"]));
    assert!(!found.contains_key("2"));
    let dat = write(
        dir.path(),
        "movies.dat",
        b"1::Heat (1995)::Action|Crime|Thriller\n",
    );
    assert_eq!(
        latentr3_data::read_categories(&dat).unwrap()["1"],
        strings(&["Action", "Crime", "Thriller"])
    );
    let csv = write(
        dir.path(),
        "movies.csv",
        b"movieId,title,genres\n11,\"American President, The (1995)\",Comedy|Drama|Romance\n12,X,(no genres listed)\n",
    );
    let found = latentr3_data::read_categories(&csv).unwrap();
    assert_eq!(found["11"], strings(&["Comedy", "Drama", "Romance"]));
    assert!(!found.contains_key("12"));
    // Amazon 2014 paths (the root, the store's own category, left out), 2018 lists.
    let meta = write(
        dir.path(),
        "meta_Toys.json",
        b"{\"asin\": \"B1\", \"categories\": [[\"Toys & Games\", \"Puzzles\"], [\"Toys & Games\", \"Kids\"]]}\n{\"asin\": \"B2\", \"category\": [\"Toys & Games\", \"Kites\"]}\n",
    );
    let found = latentr3_data::read_categories(&meta).unwrap();
    assert_eq!(found["B1"], strings(&["Puzzles", "Kids"]));
    assert_eq!(found["B2"], strings(&["Kites"]));
    let lcrec = write(
        dir.path(),
        "Instruments.item.json",
        b"{\"7\": {\"title\": \"Pick\", \"categories\": \"Guitar,Accessories\"}}",
    );
    assert_eq!(
        latentr3_data::read_categories(&lcrec).unwrap()["7"],
        strings(&["Guitar", "Accessories"])
    );
    let recbole = write(
        dir.path(),
        "ml-100k.item",
        b"item_id:token\tmovie_title:token_seq\tgenre:token_seq\n1\tToy Story\tAnimation Comedy\n",
    );
    assert_eq!(
        latentr3_data::read_categories(&recbole).unwrap()["1"],
        strings(&["Animation", "Comedy"])
    );
    // A titles file without categories gives none.
    let plain = write(
        dir.path(),
        "x.item",
        b"item_id:token\ttitle:token_seq\n1\tA\n",
    );
    assert!(latentr3_data::read_categories(&plain).unwrap().is_empty());
}

/// Categories reach the dataset by dense id: from the titles file, and the synthetic topics.
#[test]
fn categories_attach_to_dense_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "u.data", rows_for_cache().as_bytes());
    let mut item = Vec::new();
    for id in 1..=20 {
        let mut flags = vec!["0"; 19];
        flags[1 + id % 3] = "1";
        item.extend_from_slice(format!("{id}|Movie {id}|d||u|{}\n", flags.join("|")).as_bytes());
    }
    let config = DataConfig {
        titles: Some(write(dir.path(), "u.item", &item)),
        cache: false,
        filter: FilterConfig {
            user_core: 2,
            item_core: 2,
            ..FilterConfig::default()
        },
        ..DataConfig::from_path(&path)
    };
    let dataset = config.load().unwrap().dataset;
    let categories = dataset.categories.as_ref().expect("u.item has genres");
    assert_eq!(categories.names, ["Action", "Adventure", "Animation"]);
    for item in 1..=dataset.num_items() as u32 {
        let original: usize = dataset.item_ids[item as usize].parse().unwrap();
        let names: Vec<&str> = categories
            .of(item)
            .iter()
            .map(|&g| categories.names[g as usize].as_str())
            .collect();
        assert_eq!(names, [["Action", "Adventure", "Animation"][original % 3]]);
    }
    let synthetic = DataConfig {
        synthetic: Some(latentr3_data::SyntheticConfig {
            users: 50,
            items: 40,
            topics: 4,
            min_length: 5,
            max_length: 20,
            ..Default::default()
        }),
        ..DataConfig::default()
    }
    .load()
    .unwrap()
    .dataset;
    let topics = synthetic.categories.as_ref().unwrap();
    assert_eq!(topics.names.len(), 4);
    for item in 1..=synthetic.num_items() as u32 {
        let original: usize = synthetic.item_ids[item as usize][1..].parse().unwrap();
        assert_eq!(
            topics.names[topics.of(item)[0] as usize],
            format!("topic {}", original % 4)
        );
    }
}

fn error_of(name: &str, bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), name, bytes);
    read(&path).unwrap_err().to_string()
}

#[test]
fn wrong_field_count_names_file_line_and_shape() {
    let message = error_of("u.data", b"1\t2\t3\t4\n1\t2\t3\n");
    assert!(message.contains("u.data:2:"), "{message}");
    assert!(
        message.contains("expected 4 tab-separated fields"),
        "{message}"
    );
    let message = error_of("u.data", b"1\t2\t3\t4\n1\t2\t3\t4\t5\n");
    assert!(
        message.contains("u.data:2:") && message.contains("found 5 fields"),
        "{message}"
    );
    let message = error_of("ratings.dat", b"1::2::3::4\n1::2::3\n");
    assert!(
        message.contains("ratings.dat:2:") && message.contains("`::`"),
        "{message}"
    );
}

#[test]
fn non_numeric_fields_name_the_field() {
    let message = error_of("u.data", b"1\t2\t3\t4\nx\t2\t3\t4\n");
    assert!(
        message.contains("u.data:2:") && message.contains("`user`") && message.contains("integer"),
        "{message}"
    );
    let message = error_of(
        "ratings.csv",
        b"userId,movieId,rating,timestamp\n1,2,3,4\n1,2,good,4\n",
    );
    assert!(
        message.contains("ratings.csv:3:") && message.contains("`rating`"),
        "{message}"
    );
    let message = error_of("Toys.csv", b"a,b,3,4\na,b,3,yesterday\n");
    assert!(
        message.contains("Toys.csv:2:") && message.contains("`timestamp`"),
        "{message}"
    );
}

#[test]
fn json_errors_name_line_and_field() {
    let message = error_of("x.json", b"{\"reviewerID\": \"a\", \"asin\": \"b\", \"overall\": 5.0, \"unixReviewTime\": 1}\n{\"reviewerID\": \"a\", \"overall\": 5.0, \"unixReviewTime\": 2}\n");
    assert!(
        message.contains("x.json:2:") && message.contains("`asin`"),
        "{message}"
    );
    let message = error_of(
        "x.json",
        b"{\"reviewerID\": \"a\", \"asin\": \"b\", \"overall\": \"five\", \"unixReviewTime\": 1}\n",
    );
    assert!(
        message.contains("x.json:1:") && message.contains("`overall`"),
        "{message}"
    );
    let message = error_of("x.jsonl", b"{\"user_id\": \"a\"\n");
    assert!(
        message.contains("x.jsonl:1:") && message.contains("not JSON"),
        "{message}"
    );
}

#[test]
fn invalid_utf8_names_the_line() {
    let message = error_of("Toys.csv", b"a,b,3,4\n\xff\xfe,b,3,4\n");
    assert!(
        message.contains("Toys.csv:2:") && message.contains("UTF-8"),
        "{message}"
    );
    let message = error_of(
        "x.json",
        b"{\"reviewerID\": \"\xff\", \"asin\": \"b\", \"overall\": 1.0, \"unixReviewTime\": 1}\n",
    );
    assert!(
        message.contains("x.json:1:") && message.contains("UTF-8"),
        "{message}"
    );
}

#[test]
fn missing_file_unknown_format_and_empty_file() {
    let err = read(Path::new("/nonexistent/u.data")).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/u.data"));
    let message = error_of("ratings.xlsx", b"");
    assert!(
        message.contains("ratings.xlsx") && message.contains("format"),
        "{message}"
    );
    let message = error_of("u.data", b"\n");
    assert!(message.contains("no interactions"), "{message}");
    let message = error_of("ratings.csv", b"1,2,3,4\n");
    assert!(
        message.contains("ratings.csv:1:") && message.contains("header"),
        "{message}"
    );
}

fn rows_for_cache() -> String {
    let mut text = String::new();
    for user in 0..30 {
        for step in 0..8 {
            text.push_str(&format!(
                "{user}\t{}\t5\t{}\n",
                (user * 3 + step * 7) % 20 + 1,
                user * 100 + step
            ));
        }
    }
    text
}

#[test]
fn cache_hits_return_the_same_dataset_and_settings_change_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "u.data", rows_for_cache().as_bytes());
    let config = DataConfig {
        cache_dir: dir.path().join("cache"),
        ..DataConfig::from_path(&path)
    };
    let first = config.load().unwrap();
    assert!(
        matches!(first.cache, CacheUse::Stored(_)),
        "{:?}",
        first.cache
    );
    let second = config.load().unwrap();
    assert!(
        matches!(second.cache, CacheUse::Hit(_)),
        "{:?}",
        second.cache
    );
    assert_eq!(first.dataset, second.dataset);

    let other = DataConfig {
        filter: FilterConfig {
            user_core: 3,
            ..FilterConfig::default()
        },
        ..config.clone()
    };
    assert!(matches!(other.load().unwrap().cache, CacheUse::Stored(_)));
    // A changed file is a new entry too.
    std::fs::write(&path, format!("{}29\t1\t5\t99999\n", rows_for_cache())).unwrap();
    assert!(matches!(config.load().unwrap().cache, CacheUse::Stored(_)));
}

#[test]
fn failed_loads_leave_no_cache_file() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("cache");
    for (name, bytes) in [
        ("u.data", &b"1\t2\t3\n"[..]),
        ("ratings.dat", &b"1::1::5::1\n"[..]),
    ] {
        let path = write(dir.path(), name, bytes);
        let config = DataConfig {
            cache_dir: cache_dir.clone(),
            ..DataConfig::from_path(&path)
        };
        assert!(config.load().is_err());
    }
    let leftovers: Vec<_> = std::fs::read_dir(&cache_dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn titles_attach_to_dense_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "u.data", rows_for_cache().as_bytes());
    let mut item = Vec::new();
    for id in 1..=20 {
        item.extend_from_slice(format!("{id}|Movie {id} (1999)|x\n").as_bytes());
    }
    let titles = write(dir.path(), "u.item", &item);
    let config = DataConfig {
        titles: Some(titles),
        cache: false,
        filter: FilterConfig {
            user_core: 2,
            item_core: 2,
            ..FilterConfig::default()
        },
        ..DataConfig::from_path(&path)
    };
    let dataset = config.load().unwrap().dataset;
    for item in 1..=dataset.num_items() as u32 {
        let original = &dataset.item_ids[item as usize];
        assert_eq!(
            dataset.title(item),
            Some(format!("Movie {original} (1999)").as_str())
        );
    }
}

#[test]
fn an_explicit_format_overrides_detection() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "export.txt", rows_for_cache().as_bytes());
    let detected = DataConfig {
        cache: false,
        ..DataConfig::from_path(&path)
    };
    let refused = detected.load().unwrap_err().to_string();
    assert!(
        refused.contains("export.txt")
            && refused.contains("every one of its first lines has 4 fields"),
        "{refused}"
    );
    let explicit = DataConfig {
        format: Some(Format::MovielensTab),
        ..detected
    };
    assert_eq!(explicit.load().unwrap().dataset.num_users(), 30);
}

/// A program's own source: filtered, cached under its key, and split like a file.
#[test]
fn an_own_source_gets_filtering_caching_and_splitting() {
    use latentr3_data::{CacheKey, CacheUse, InteractionSource, Interactions, Split};
    use std::cell::Cell;

    struct InMemory {
        reads: Cell<usize>,
    }
    impl InteractionSource for InMemory {
        fn name(&self) -> String {
            "in-memory".into()
        }
        fn cache_key(&self) -> latentr3_data::Result<Option<CacheKey>> {
            Ok(Some(CacheKey {
                stem: "in_memory".into(),
                content: 7,
                settings: String::new(),
            }))
        }
        fn read(&self) -> latentr3_data::Result<Interactions> {
            self.reads.set(self.reads.get() + 1);
            // 6 users with 4 items each, and one user with a single item (removed by 2-core).
            let mut out = Interactions {
                user_ids: (0..7).map(|u| format!("u{u}")).collect(),
                item_ids: (0..5).map(|i| format!("i{i}")).collect(),
                ..Interactions::default()
            };
            for user in 0..6u32 {
                for step in 0..4u32 {
                    out.user.push(user);
                    out.item.push((user + step) % 5);
                    out.rating.push(4.0);
                    out.timestamp.push(i64::from(step));
                }
            }
            out.user.push(6);
            out.item.push(0);
            out.rating.push(4.0);
            out.timestamp.push(0);
            Ok(out)
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let config = DataConfig {
        filter: latentr3_data::FilterConfig {
            user_core: 2,
            item_core: 2,
            ..Default::default()
        },
        cache_dir: dir.path().to_path_buf(),
        ..DataConfig::default()
    };
    let source = InMemory {
        reads: Cell::new(0),
    };
    let first = config.load_from(&source).unwrap();
    assert!(matches!(first.cache, CacheUse::Stored(_)));
    assert_eq!(first.dataset.name, "in-memory");
    assert_eq!(
        first.dataset.num_users(),
        6,
        "the 1-item user is filtered out"
    );
    let second = config.load_from(&source).unwrap();
    assert!(matches!(second.cache, CacheUse::Hit(_)));
    assert_eq!(
        source.reads.get(),
        1,
        "the second load is served by the cache"
    );
    assert_eq!(second.dataset.sequences, first.dataset.sequences);
    let split = Split::new(&second.dataset, &config.split).unwrap();
    assert_eq!(split.test.len(), 6);
}

/// The field's preprocessed benchmark files: SASRec `user item` lines, S3-Rec / ICLRec
/// sequence lines, LC-Rec `.inter.json`. No timestamps: rows keep the file's order (the row
/// number stands for the time) and the data are marked untimed.
#[test]
fn preprocessed_sequence_files() {
    let dir = tempfile::tempdir().unwrap();
    let untimed = |rows: &[(&str, &str)]| -> Vec<(String, String, f32, i64)> {
        rows.iter()
            .enumerate()
            .map(|(r, (u, i))| (u.to_string(), i.to_string(), 1.0, r as i64))
            .collect()
    };
    let expected = untimed(&[("1", "1"), ("1", "2"), ("1", "3"), ("2", "2"), ("2", "4")]);

    let pairs = write(dir.path(), "Beauty.txt", b"1 1\n1 2\n1 3\n2\t2\n2 4\n");
    assert_eq!(Format::detect(&pairs).unwrap(), Format::SasrecPairs);
    let data = read(&pairs).unwrap();
    assert_eq!(rows(&data), expected);
    assert!(data.untimed);

    let sequences = write(dir.path(), "Sports.txt", b"1 1 2 3\n\n2 2 4\n");
    assert_eq!(Format::detect(&sequences).unwrap(), Format::UserSequences);
    assert_eq!(rows(&read(&sequences).unwrap()), expected);
    let gz = write(dir.path(), "Toys.txt.gz", &gzip(b"1 1 2 3\n2 2 4\n"));
    assert_eq!(Format::detect(&gz).unwrap(), Format::UserSequences);
    assert_eq!(rows(&read(&gz).unwrap()), expected);

    let lcrec = write(
        dir.path(),
        "Instruments.inter.json",
        br#"{"1": [1, 2, 3], "2": ["2", 4]}"#,
    );
    assert_eq!(Format::detect(&lcrec).unwrap(), Format::LcrecInterJson);
    let data = read(&lcrec).unwrap();
    assert_eq!(rows(&data), expected);
    assert!(data.untimed);
    let titles = write(
        dir.path(),
        "Instruments.item.json",
        br#"{"1": {"title": "Guitar strings ", "categories": "a,b"}, "2": {"brand": "x"}}"#,
    );
    let titles = read_titles(&titles).unwrap();
    assert_eq!(titles.get("1").map(String::as_str), Some("Guitar strings"));
    assert_eq!(titles.len(), 1, "an item without a title has none");

    // A RecBole file without a time column is untimed too; timed formats are not.
    let recbole = write(
        dir.path(),
        "x.inter",
        b"user_id:token\titem_id:token\n1\t1\n1\t2\n",
    );
    assert!(read(&recbole).unwrap().untimed);
    let timed = write(dir.path(), "u.data", b"1\t1\t5\t100\n1\t2\t4\t90\n");
    assert!(!read(&timed).unwrap().untimed);
}

#[test]
fn preprocessed_sequence_files_name_their_bad_lines() {
    let cases: [(&str, &[u8], &str); 5] = [
        (
            "Beauty.txt",
            b"1 1\n1 2\n3\n",
            "Beauty.txt:3: expected a user then its items",
        ),
        (
            "Sports.txt",
            b"1 1 2 3\n2 2 4 5 \xff\n",
            "Sports.txt:2: invalid UTF-8",
        ),
        (
            "A.inter.json",
            b"[1, 2]",
            "A.inter.json:1: expected one JSON object",
        ),
        (
            "B.inter.json",
            br#"{"1": 3}"#,
            "user `1`: expected a list of items, found a number",
        ),
        (
            "C.inter.json",
            br#"{"1": [1, {}]}"#,
            "user `1`: expected item ids",
        ),
    ];
    for (name, bytes, expected) in cases {
        let message = error_of(name, bytes);
        assert!(message.contains(expected), "{name}: {message}");
    }
}

/// A file without timestamps refuses the temporal split and time filters, naming the setting;
/// leave-one-out works on it.
#[test]
fn untimed_files_refuse_the_temporal_split_and_time_filters() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    for user in 0..8 {
        lines.push_str(&format!("{user}"));
        for item in 0..6 {
            lines.push_str(&format!(" {}", (user + item) % 7));
        }
        lines.push('\n');
    }
    let path = write(dir.path(), "Beauty.txt", lines.as_bytes());
    let config = |time_start: Option<i64>| DataConfig {
        cache: false,
        filter: FilterConfig {
            user_core: 0,
            item_core: 0,
            time_start,
            ..FilterConfig::default()
        },
        ..DataConfig::from_path(&path)
    };
    let loaded = config(None).load().unwrap();
    assert!(loaded.dataset.untimed);
    let split = latentr3_data::Split::new(&loaded.dataset, &Default::default()).unwrap();
    assert_eq!(split.test.len(), 8);
    let temporal = latentr3_data::SplitConfig {
        kind: latentr3_data::SplitKind::Temporal,
        ..Default::default()
    };
    let refused = latentr3_data::Split::new(&loaded.dataset, &temporal).unwrap_err();
    assert!(refused.to_string().contains("no timestamps"), "{refused}");
    let filtered = config(Some(5)).load().err().unwrap();
    assert!(filtered.to_string().contains("no timestamps"), "{filtered}");
}
