//! Predefined splits: D3-style `train/valid/test` CSVs and RecBole benchmark files, written by
//! the tests the way their publishers' scripts write them, read back sample for sample.

use std::path::{Path, PathBuf};

use latentr3_data::{
    DataConfig, Dataset, FilterConfig, Format, Split, SplitConfig, SplitKind, SplitPart,
};

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

fn predefined(path: &Path) -> DataConfig {
    DataConfig {
        cache: false,
        filter: FilterConfig::none(),
        split: SplitConfig {
            kind: SplitKind::Predefined,
            max_history: 10,
            ..SplitConfig::default()
        },
        ..DataConfig::from_path(path)
    }
}

/// One published sample: user, history (item, time), target, time.
#[derive(Debug, Clone)]
struct Sample {
    user: String,
    history: Vec<(u32, i64)>,
    item: u32,
    time: i64,
}

/// Samples the way the D3 / LatentR³ preprocessing script makes them: every position of every
/// user's time-sorted sequence with a history of at most 10, sorted by target time (stable), cut
/// 80/10/10.
fn d3_samples(users: usize, items: u32, seed: u64) -> [Vec<Sample>; 3] {
    let mut state = seed;
    let mut next = move |bound: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % bound
    };
    let mut all = Vec::new();
    for user in 0..users {
        let length = 5 + next(20) as usize;
        let mut time = 1_500_000_000 + next(1_000_000) as i64;
        let mut sequence = Vec::new();
        for _ in 0..length {
            // Few distinct times, so equal timestamps straddle the cuts.
            time += next(3) as i64 * 86_400;
            sequence.push((next(u64::from(items)) as u32, time));
        }
        for position in 1..length {
            let start = position.saturating_sub(10);
            all.push(Sample {
                user: format!("A{user:03}X"),
                history: sequence[start..position].to_vec(),
                item: sequence[position].0,
                time: sequence[position].1,
            });
        }
    }
    all.sort_by_key(|s| s.time);
    let n = all.len();
    let (train_end, valid_end) = ((n as f64 * 0.8) as usize, (n as f64 * 0.9) as usize);
    let test = all.split_off(valid_end);
    let valid = all.split_off(train_end);
    [all, valid, test]
}

/// A D3-style CSV of `samples`, with the columns the paper's files have (titles with commas and
/// quotes, so the CSV quoting is exercised).
fn d3_csv(samples: &[Sample]) -> String {
    let mut out = String::from(
        "user_id,item_asins,item_asin,history_item_id,item_id,history_item_title,item_title,history_rating,rating,history_timestamp,timestamp\n",
    );
    let list = |values: Vec<String>| format!("\"[{}]\"", values.join(", "));
    for s in samples {
        let ids = s.history.iter().map(|h| h.0.to_string()).collect();
        let asins = s.history.iter().map(|h| format!("'B{:05}'", h.0)).collect();
        let titles = s
            .history
            .iter()
            .map(|h| format!("\"\"Title {}, \"\"vol\"\" 2\"\"", h.0))
            .collect();
        let ratings = s.history.iter().map(|_| "5.0".to_string()).collect();
        let times = s.history.iter().map(|h| h.1.to_string()).collect();
        out.push_str(&format!(
            "{},{},B{:05},{},{},{},\"Title {}, \"\"vol\"\" 2\",{},5.0,{},{}\n",
            s.user,
            list(asins),
            s.item,
            list(ids),
            s.item,
            list(titles),
            s.item,
            list(ratings),
            list(times),
            s.time
        ));
    }
    out
}

fn write_d3(root: &Path, parts: &[Vec<Sample>; 3], items: u32) -> PathBuf {
    for (name, samples) in ["train", "valid", "test"].iter().zip(parts) {
        write(&root.join(name).join("Toys_5.csv"), &d3_csv(samples));
    }
    let info: String = (0..items).map(|i| format!("Title {i}\t{i}\n")).collect();
    write(&root.join("info").join("Toys_5.txt"), &info);
    root.join("test").join("Toys_5.csv")
}

/// The dataset's view of a sample: (user, history, target).
fn example(
    dataset: &Dataset,
    split: &Split,
    sample: latentr3_data::Sample,
) -> (String, Vec<String>, String) {
    let example = split.example(dataset, sample);
    let name = |item: u32| dataset.item_ids[item as usize].clone();
    (
        dataset.user_ids[example.user as usize].clone(),
        example.history.iter().map(|&i| name(i)).collect(),
        name(example.target),
    )
}

fn published(sample: &Sample) -> (String, Vec<String>, String) {
    (
        sample.user.clone(),
        sample.history.iter().map(|h| h.0.to_string()).collect(),
        sample.item.to_string(),
    )
}

#[test]
fn d3_csv_split_is_read_sample_for_sample() {
    let dir = tempfile::tempdir().unwrap();
    let parts = d3_samples(40, 60, 7);
    let path = write_d3(dir.path(), &parts, 60);
    assert_eq!(Format::detect(&path).unwrap(), Format::D3Csv);
    let config = predefined(&path);
    let dataset = config.load().unwrap().dataset;
    assert_eq!(dataset.name, "Toys_5");
    assert!(!dataset.untimed);
    let split = Split::new(&dataset, &config.split).unwrap();
    for (part, (read, written)) in [&split.train, &split.valid, &split.test]
        .into_iter()
        .zip(&parts)
        .enumerate()
    {
        // Every published sample, as published; order aside (the split lists samples by user).
        let mut got: Vec<_> = read.iter().map(|&s| example(&dataset, &split, s)).collect();
        let mut want: Vec<_> = written.iter().map(published).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "part {part}");
    }
    // Titles come from info/Toys_5.txt, by the split's item ids.
    let item = dataset.item_by_original_id("7").unwrap();
    assert_eq!(dataset.title(item), Some("Title 7"));
    // What counts as seen is the user's whole earlier sequence, longer than the history of 10.
    let long = split
        .test
        .iter()
        .find(|&&s| s.position > 10)
        .expect("a user with more than 10 earlier items");
    assert_eq!(split.seen(&dataset, *long).len(), long.position as usize);
    // Training popularity counts nothing from the held-out parts.
    for (user, part) in split.training_part(&dataset) {
        let start = dataset.sequences.offsets[user as usize];
        let parts = dataset.parts.as_ref().unwrap();
        assert!(
            parts[start..start + part.len()]
                .iter()
                .all(|&p| p == SplitPart::Context || p == SplitPart::Train)
        );
    }
    // Any of the three files names the same split.
    let from_train = predefined(&dir.path().join("train").join("Toys_5.csv"))
        .load()
        .unwrap()
        .dataset;
    assert_eq!(from_train.sequences, dataset.sequences);
}

#[test]
fn d3_split_without_its_train_file_loads_but_has_nothing_to_train() {
    let dir = tempfile::tempdir().unwrap();
    let parts = d3_samples(30, 40, 3);
    let path = write_d3(dir.path(), &parts, 40);
    std::fs::remove_file(dir.path().join("train").join("Toys_5.csv")).unwrap();
    let config = predefined(&path);
    let dataset = config.load().unwrap().dataset;
    let parts_read = dataset.parts.as_ref().unwrap();
    let count = |part| parts_read.iter().filter(|&&p| p == part).count();
    assert_eq!(count(SplitPart::Valid), parts[1].len());
    assert_eq!(count(SplitPart::Test), parts[2].len());
    assert_eq!(count(SplitPart::Train), 0);
    let error = Split::new(&dataset, &config.split).unwrap_err().to_string();
    assert!(error.contains("train file missing"), "{error}");
}

#[test]
fn d3_errors_name_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let parts = d3_samples(10, 20, 5);
    let path = write_d3(dir.path(), &parts, 20);
    let good = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let error = |text: &str| {
        write(&path, text);
        predefined(&path).load().unwrap_err().to_string()
    };
    // A broken history list on line 3.
    let mut bad = lines.clone();
    // The second list of the row is history_item_id (the first is item_asins).
    let at = bad[2].match_indices("\"[").nth(1).unwrap().0;
    let broken = format!("{}\"({}", &bad[2][..at], &bad[2][at + 2..]);
    bad[2] = &broken;
    let message = error(&(bad.join("\n") + "\n"));
    assert!(message.contains("Toys_5.csv:3"), "{message}");
    assert!(message.contains("history_item_id"), "{message}");
    // A row with a field too few, on line 2.
    let mut bad = lines.clone();
    let short = bad[1].rsplit_once(',').unwrap().0.to_string();
    bad[1] = &short;
    let message = error(&(bad.join("\n") + "\n"));
    assert!(message.contains("Toys_5.csv:2"), "{message}");
    assert!(
        message.contains("10 fields, the header has 11"),
        "{message}"
    );
    // An invalid UTF-8 byte on line 3.
    let mut bytes = [lines[0], lines[1], "A9,"].join("\n").into_bytes();
    bytes.push(0xff);
    std::fs::write(&path, &bytes).unwrap();
    let message = predefined(&path).load().unwrap_err().to_string();
    assert!(message.contains("Toys_5.csv:3"), "{message}");
    assert!(message.contains("UTF-8"), "{message}");
    // An unclosed quote.
    let message = error(&format!("{}\nA1,\"[1, 2\n", lines[0]));
    assert!(message.contains("Toys_5.csv:2"), "{message}");
    assert!(message.contains("not closed"), "{message}");
    // A history that does not continue the user's sequence: shuffle a user's test samples.
    write(&path, &good);
    let test_rows: Vec<&Sample> = parts[2].iter().collect();
    let user = &test_rows
        .iter()
        .find(|s| test_rows.iter().filter(|t| t.user == s.user).count() >= 2)
        .expect("a user with two test samples")
        .user;
    let mut reordered: Vec<Sample> = parts[2].clone();
    let positions: Vec<usize> = (0..reordered.len())
        .filter(|&i| &reordered[i].user == user)
        .collect();
    reordered.swap(positions[0], positions[positions.len() - 1]);
    let message = error(&d3_csv(&reordered));
    assert!(message.contains("does not continue"), "{message}");
    assert!(message.contains(user.as_str()), "{message}");
    // A split file outside a train/valid/test folder.
    let loose = write(&dir.path().join("elsewhere").join("Toys_5.csv"), &good);
    let message = predefined(&loose).load().unwrap_err().to_string();
    assert!(
        message.contains("folder named train, valid or test"),
        "{message}"
    );
}

#[test]
fn a_predefined_split_refuses_filters_and_other_sources_refuse_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_d3(dir.path(), &d3_samples(10, 20, 1), 20);
    let five_core = DataConfig {
        filter: FilterConfig {
            user_core: 5,
            ..FilterConfig::none()
        },
        ..predefined(&path)
    };
    let message = five_core.load().unwrap_err().to_string();
    assert!(message.contains("filter.user_core"), "{message}");
    let defaults = DataConfig {
        filter: FilterConfig::default(),
        ..predefined(&path)
    };
    let message = defaults.load().unwrap_err().to_string();
    assert!(message.contains("filter.dedup"), "{message}");
    // A file without its own split refuses split.kind = "predefined".
    let plain = write(
        &dir.path().join("u.data"),
        "1\t1\t5\t10\n1\t2\t5\t20\n1\t3\t5\t30\n",
    );
    let config = predefined(&plain);
    let dataset = config.load().unwrap().dataset;
    let message = Split::new(&dataset, &config.split).unwrap_err().to_string();
    assert!(message.contains("has none"), "{message}");
}

/// RecBole benchmark files of plain interactions: each user's training interactions come
/// first whatever their times, then validation, then test.
#[test]
fn recbole_benchmark_interactions() {
    let dir = tempfile::tempdir().unwrap();
    let header = "user_id:token\titem_id:token\ttimestamp:float\n";
    write(
        &dir.path().join("ml.train.inter"),
        &format!("{header}u1\ti1\t10\nu1\ti2\t30\nu2\ti1\t5\nu2\ti3\t6\nu2\ti4\t7\n"),
    );
    // u1's validation item is older than its second training item.
    write(
        &dir.path().join("ml.valid.inter"),
        &format!("{header}u1\ti3\t20\nu2\ti2\t8\n"),
    );
    let test = write(
        &dir.path().join("ml.test.inter"),
        &format!("{header}u1\ti4\t40\nu2\ti5\t9\n"),
    );
    assert_eq!(Format::detect(&test).unwrap(), Format::RecboleBenchmark);
    let config = predefined(&test);
    let dataset = config.load().unwrap().dataset;
    assert_eq!(dataset.name, "ml");
    let split = Split::new(&dataset, &config.split).unwrap();
    let examples = |part: &[latentr3_data::Sample]| -> Vec<_> {
        part.iter().map(|&s| example(&dataset, &split, s)).collect()
    };
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        examples(&split.valid),
        vec![
            ("u1".into(), strings(&["i1", "i2"]), "i3".into()),
            ("u2".into(), strings(&["i1", "i3", "i4"]), "i2".into()),
        ]
    );
    assert_eq!(
        examples(&split.test),
        vec![
            ("u1".into(), strings(&["i1", "i2", "i3"]), "i4".into()),
            ("u2".into(), strings(&["i1", "i3", "i4", "i2"]), "i5".into()),
        ]
    );
    // The first item of a user has no history: never a sample.
    assert_eq!(split.train.len(), 1 + 2);
}

/// RecBole benchmark files of samples with an `item_id_list` history.
#[test]
fn recbole_benchmark_samples_with_histories() {
    let dir = tempfile::tempdir().unwrap();
    let header = "user_id:token\titem_id_list:token_seq\titem_id:token\n";
    write(
        &dir.path().join("b.train.inter"),
        &format!("{header}7\t1\t2\n7\t1 2\t3\n8\t4\t5\n"),
    );
    write(
        &dir.path().join("b.valid.inter"),
        &format!("{header}7\t1 2 3\t4\n8\t4 5\t6\n"),
    );
    let test = write(
        &dir.path().join("b.test.inter"),
        &format!("{header}7\t2 3 4\t5\n8\t4 5 6\t1\n"),
    );
    let config = predefined(&test);
    let dataset = config.load().unwrap().dataset;
    assert!(dataset.untimed);
    let split = Split::new(&dataset, &config.split).unwrap();
    assert_eq!(
        (split.train.len(), split.valid.len(), split.test.len()),
        (3, 2, 2)
    );
    let (user, history, target) = example(&dataset, &split, split.test[0]);
    assert_eq!((user.as_str(), target.as_str()), ("7", "5"));
    // The history the model reads is the whole known sequence (max_history 10), not only the
    // (truncated) list on the line.
    assert_eq!(history, ["1", "2", "3", "4"]);
    // A list that does not continue the sequence names its line.
    write(
        &dir.path().join("b.valid.inter"),
        &format!("{header}7\t1 2 3\t4\n8\t9 5\t6\n"),
    );
    let message = config.load().unwrap_err().to_string();
    assert!(message.contains("b.valid.inter:3"), "{message}");
    assert!(message.contains("does not continue"), "{message}");
    // Files that disagree on the history column are refused.
    write(
        &dir.path().join("b.valid.inter"),
        "user_id:token\titem_id:token\n7\t4\n8\t6\n",
    );
    let message = config.load().unwrap_err().to_string();
    assert!(message.contains("disagree"), "{message}");
    // A short line.
    write(
        &dir.path().join("b.valid.inter"),
        &format!("{header}7\t1 2 3\n"),
    );
    let message = config.load().unwrap_err().to_string();
    assert!(message.contains("b.valid.inter:2"), "{message}");
}
