//! End-to-end tests of the `latentr3` binary on small files the tests write themselves.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn latentr3(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_latentr3"))
        .args(args)
        .current_dir(dir)
        .env_remove("LATENTR3_MOVIELENS_URL")
        .output()
        .expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// 40 users × 12 items each over 30 items, rating 1-5, one user below the 5-core.
fn small_u_data(dir: &Path) -> PathBuf {
    let mut text = String::new();
    for user in 1..=40 {
        for step in 0..12 {
            let item = (user * 11 + step * 7) % 30 + 1;
            text.push_str(&format!(
                "{user}\t{item}\t{}\t{}\n",
                (user + step) % 5 + 1,
                1000 + user * 50 + step
            ));
        }
    }
    text.push_str("99\t1\t5\t5000\n");
    let path = dir.join("u.data");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn data_stats_json_has_counts_before_and_after_filtering() {
    let dir = tempfile::tempdir().unwrap();
    small_u_data(dir.path());
    let output = latentr3(&["data", "stats", "u.data", "--json"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let stats: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(stats["raw"]["users"], 41);
    assert_eq!(stats["raw"]["interactions"], 481);
    assert_eq!(
        stats["users"], 40,
        "the 1-interaction user is removed by the 5-core"
    );
    assert_eq!(stats["interactions"], 480);
    assert_eq!(stats["items"], 30);
    assert!(stats["head_items"].as_u64().unwrap() + stats["tail_items"].as_u64().unwrap() == 30);
    // The table form names the same figures.
    let table = latentr3(&["data", "stats", "u.data"], dir.path());
    assert!(
        stdout(&table).contains("item popularity Gini"),
        "{}",
        stdout(&table)
    );
}

#[test]
fn experiment_with_an_unknown_key_fails_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    small_u_data(dir.path());
    std::fs::write(
        dir.path().join("x.toml"),
        "[data]\npath = \"u.data\"\n\n[data.filter]\nusercore = 3\n",
    )
    .unwrap();
    let output = latentr3(&["data", "stats", "x.toml"], dir.path());
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("x.toml") && message.contains("usercore") && message.contains("line 5"),
        "{message}"
    );
}

#[test]
fn invalid_rl_settings_fail_before_training_and_train_init_checks_its_source() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("x.toml"),
        "[data.synthetic]\nusers = 50\nitems = 30\n\n[rl]\nrewards = []\n",
    )
    .unwrap();
    let output = latentr3(
        &["train", "--config", "x.toml", "--out", "runs/x"],
        dir.path(),
    );
    let message = stderr(&output);
    assert!(
        !output.status.success() && message.contains("[rl] rewards is empty"),
        "{message}"
    );
    assert!(!dir.path().join("runs/x").exists(), "nothing is written");
    // Data that cannot be read: an error, and no run directory left behind.
    std::fs::write(
        dir.path().join("nodata.toml"),
        "[data]\npath = \"missing.csv\"\n",
    )
    .unwrap();
    let missing = latentr3(
        &["train", "--config", "nodata.toml", "--out", "nodata"],
        dir.path(),
    );
    assert!(!missing.status.success(), "{}", stderr(&missing));
    assert!(!dir.path().join("nodata").exists(), "nothing is left");
    // A reward that needs item categories, on data without them: refused before SFT.
    let mut ratings = String::new();
    for user in 1..=20 {
        for step in 0..6 {
            ratings.push_str(&format!(
                "{user}\t{}\t5\t{}\n",
                (user * 3 + step) % 40 + 1,
                step
            ));
        }
    }
    std::fs::write(dir.path().join("u.data"), ratings).unwrap();
    std::fs::write(
        dir.path().join("plain.toml"),
        "[data]\npath = \"u.data\"\n\n[data.filter]\nuser_core = 0\nitem_core = 0\n\n[rl]\nrewards = [{ kind = \"calibration\" }]\n",
    )
    .unwrap();
    let refused = latentr3(
        &["train", "--config", "plain.toml", "--out", "plain"],
        dir.path(),
    );
    let message = stderr(&refused);
    assert!(
        !refused.status.success() && message.contains("calibration@10 needs item categories"),
        "{message}"
    );
    assert!(
        !message.contains("sft epoch"),
        "refused before SFT: {message}"
    );
    assert!(!dir.path().join("plain").exists(), "nothing is left");
    // A setting that once reached an assertion in the batcher: a message, no panic.
    let zero = latentr3(
        &["train", "--config", "x.toml", "--set", "sft.batch_size=0"],
        dir.path(),
    );
    let message = stderr(&zero);
    assert!(
        !zero.status.success()
            && message.starts_with("error: x.toml: [sft] epochs (200) and batch_size (0)")
            && !message.contains("panicked"),
        "{message}"
    );
    let unknown = latentr3(
        &[
            "train",
            "--config",
            "x.toml",
            "--set",
            "rl.rewards=[{kind=\"ctr\"}]",
        ],
        dir.path(),
    );
    assert!(
        !unknown.status.success() && stderr(&unknown).contains("ctr"),
        "{}",
        stderr(&unknown)
    );
    let init = latentr3(
        &[
            "train",
            "--config",
            "x.toml",
            "--set",
            "rl.rewards=[{kind=\"log_prob\"}]",
            "--init",
            "runs/none",
        ],
        dir.path(),
    );
    assert!(
        !init.status.success() && stderr(&init).contains("--init runs/none"),
        "{}",
        stderr(&init)
    );
    assert!(!dir.path().join("runs").exists(), "nothing is written");
}

#[test]
fn malformed_and_missing_files_fail_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("u.data"), "1\t2\t5\t100\n1\t2\tfive\t101\n").unwrap();
    let output = latentr3(&["data", "stats", "u.data"], dir.path());
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("u.data:2:") && stderr(&output).contains("`rating`"),
        "{}",
        stderr(&output)
    );
    assert!(
        !dir.path().join("data/cache").exists()
            || std::fs::read_dir(dir.path().join("data/cache"))
                .unwrap()
                .count()
                == 0
    );

    let output = latentr3(&["data", "stats", "nothing.csv"], dir.path());
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("nothing.csv"),
        "{}",
        stderr(&output)
    );

    std::fs::write(
        dir.path().join("few.inter"),
        "user_id:token\titem_id:token\na\tb\n",
    )
    .unwrap();
    let output = latentr3(&["data", "stats", "few.inter"], dir.path());
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("no interactions left"),
        "{}",
        stderr(&output)
    );
}

fn synthetic_experiment(dir: &Path) -> PathBuf {
    let path = dir.join("synthetic.toml");
    std::fs::write(
        &path,
        "[data.synthetic]\nusers = 300\nitems = 200\ntopics = 10\nmin_length = 10\nmax_length = 30\n\n[eval]\nks = [5, 10]\n",
    )
    .unwrap();
    path
}

fn eval_json(baseline: &str, dir: &Path) -> serde_json::Value {
    let output = latentr3(
        &[
            "eval",
            "--baseline",
            baseline,
            "--config",
            "synthetic.toml",
            "--json",
        ],
        dir,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).unwrap()
}

#[test]
fn baseline_evaluation_reports_protocol_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    synthetic_experiment(dir.path());
    let pop = eval_json("pop", dir.path());
    let random = eval_json("random", dir.path());
    assert_eq!(pop["protocol"]["mask_history"], true);
    assert_eq!(pop["protocol"]["cases"], 300);
    for key in ["NDCG@10", "HR@10", "ItemCoverage@10", "Gini@10", "APLT@10"] {
        assert!(pop["metrics"][key].is_number(), "{key} missing");
    }
    let coverage = |r: &serde_json::Value| r["metrics"]["ItemCoverage@10"].as_f64().unwrap();
    assert!(coverage(&pop) < coverage(&random));
    let hr = |r: &serde_json::Value| r["metrics"]["HR@10"].as_f64().unwrap();
    assert!(
        hr(&pop) > hr(&random),
        "popularity beats random on power-law data"
    );
    let table = latentr3(
        &["eval", "--baseline", "pop", "--config", "synthetic.toml"],
        dir.path(),
    );
    assert!(
        stdout(&table).contains("NDCG") && stdout(&table).contains("masked"),
        "{}",
        stdout(&table)
    );
}

/// Serves `files` (path → body) over HTTP on loopback for a bounded number of requests.
fn serve(files: Vec<(String, Vec<u8>)>, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut request = [0u8; 4096];
            let read = stream.read(&mut request).unwrap_or(0);
            let line = String::from_utf8_lossy(&request[..read])
                .lines()
                .next()
                .unwrap_or_default()
                .to_string();
            let path = line
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            let response = match files.iter().find(|(p, _)| *p == path) {
                Some((_, body)) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(body);
                    r
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    format!("http://{address}")
}

fn zip_with(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in files {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

#[test]
fn data_fetch_downloads_verifies_and_unpacks() {
    use md5::Digest;
    let dir = tempfile::tempdir().unwrap();
    let archive = zip_with(&[
        ("ml-100k/u.data", b"1\t2\t5\t100\n"),
        ("ml-100k/u.item", b"2|Movie|x\n"),
    ]);
    let digest: String = md5::Md5::digest(&archive)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let base = serve(
        vec![
            ("/ml-100k.zip".into(), archive),
            (
                "/ml-100k.zip.md5".into(),
                format!("MD5 (ml-100k.zip) = {digest}\n").into_bytes(),
            ),
        ],
        2,
    );
    let output = Command::new(env!("CARGO_BIN_EXE_latentr3"))
        .args(["data", "fetch", "ml-100k", "--dir", "data"])
        .current_dir(dir.path())
        .env("LATENTR3_MOVIELENS_URL", &base)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(dir.path().join("data/ml-100k/u.data").exists());
}

#[test]
fn data_fetch_offline_says_where_to_put_the_files() {
    let dir = tempfile::tempdir().unwrap();
    // A bound-then-closed port: connections are refused at once.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = Command::new(env!("CARGO_BIN_EXE_latentr3"))
        .args(["data", "fetch", "ml-1m", "--dir", "data"])
        .current_dir(dir.path())
        .env("LATENTR3_MOVIELENS_URL", format!("http://127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("ml-1m.zip") && message.contains("data/ml-1m/ratings.dat"),
        "{message}"
    );
    let output = latentr3(&["data", "fetch", "ml-5m"], dir.path());
    assert!(
        !output.status.success() && stderr(&output).contains("ml-100k"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn train_writes_a_run_that_eval_and_recommend_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tiny.toml"),
        "[data.synthetic]\nusers = 120\nitems = 60\ntopics = 3\nintents_per_user = 1\nmin_length = 8\nmax_length = 16\n\n\
         [data.filter]\nuser_core = 0\nitem_core = 0\n\n[model]\nmax_len = 10\nhidden = 16\nheads = 2\ninner = 32\n\n[sft]\nepochs = 2\nbatch_size = 32\nwarmup_steps = 2\n",
    )
    .unwrap();
    // Not a terminal: the bars are hidden and the log gets progress lines instead.
    let output = Command::new(env!("CARGO_BIN_EXE_latentr3"))
        .args([
            "train",
            "--config",
            "tiny.toml",
            "--out",
            "runs/tiny",
            "--json",
        ])
        .current_dir(dir.path())
        .env("LATENTR3_LOG_EVERY_SECS", "0")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    for line in [
        "epoch 0: 1/",
        "epoch 1: 2/",
        "rl epoch 0: 1/",
        "steps/s, ",
        "s left in the epoch, loss ",
    ] {
        assert!(
            stderr(&output).contains(line),
            "{line}: {}",
            stderr(&output)
        );
    }
    let run = dir.path().join("runs/tiny");
    for file in [
        "config.toml",
        "checkpoints/sft.bpk",
        "checkpoints/last/model.bpk",
        "checkpoints/last/optimizer.bpk",
        "checkpoints/last/progress.json",
        "checkpoints/sft-done.json",
        "checkpoints/rl.bpk",
        "report.json",
    ] {
        assert!(run.join(file).exists(), "{file} missing");
    }
    let events = std::fs::read_dir(&run)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("events.out.tfevents")
        })
        .count();
    assert!(events > 0, "no TensorBoard event file");
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    for stage in ["sft", "rl"] {
        assert!(
            report[stage]["metrics"]["NDCG@10"].is_number()
                && report[stage]["protocol"]["cases"] == 120,
            "{stage}: {report}"
        );
    }
    assert!(
        report["rl_vs_sft"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
    assert!(report["rl_stage"]["steps"].as_u64() > Some(0));

    // Re-evaluating the saved run reproduces the reports written at the end of training: the
    // RL checkpoint by default, the SFT one with --stage sft.
    let again = latentr3(&["eval", "--run", "runs/tiny", "--json"], dir.path());
    assert!(again.status.success(), "{}", stderr(&again));
    let again: serde_json::Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(again["metrics"], report["rl"]["metrics"]);
    let sft = latentr3(
        &["eval", "--run", "runs/tiny", "--stage", "sft", "--json"],
        dir.path(),
    );
    assert!(sft.status.success(), "{}", stderr(&sft));
    let sft: serde_json::Value = serde_json::from_str(&stdout(&sft)).unwrap();
    assert_eq!(sft["metrics"], report["sft"]["metrics"]);

    // Re-ranked lists: λ = 0 is the model itself; a penalty and category diversity change the
    // lists (the synthetic data's topics are its categories); a weight out of range is refused.
    let rerank = |kind: &str, lambda: &str| {
        let output = latentr3(
            &[
                "eval",
                "--run",
                "runs/tiny",
                "--rerank",
                kind,
                "--lambda",
                lambda,
                "--json",
            ],
            dir.path(),
        );
        assert!(output.status.success(), "{}", stderr(&output));
        serde_json::from_str::<serde_json::Value>(&stdout(&output)).unwrap()
    };
    assert_eq!(rerank("diversity", "0")["metrics"], again["metrics"]);
    let diverse = rerank("diversity", "1");
    assert!(
        diverse["protocol"]["split"]
            .as_str()
            .unwrap()
            .contains("re-ranked by Diversity")
    );
    let ild = |report: &serde_json::Value| report["metrics"]["CategoryILD@10"].as_f64().unwrap();
    assert!(
        ild(&diverse) > ild(&again),
        "{} vs {}",
        ild(&diverse),
        ild(&again)
    );
    let penalised = rerank("popularity-penalty", "5");
    let arp = |report: &serde_json::Value| report["metrics"]["ARP@10"].as_f64().unwrap();
    assert!(
        arp(&penalised) < arp(&again),
        "{} vs {}",
        arp(&penalised),
        arp(&again)
    );
    let refused = latentr3(
        &[
            "eval",
            "--run",
            "runs/tiny",
            "--rerank",
            "calibrated",
            "--lambda",
            "1.5",
        ],
        dir.path(),
    );
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("[0, 1]"), "{}", stderr(&refused));

    // A run compared with itself: zero difference, an interval of [0, 0].
    let same = latentr3(
        &[
            "eval",
            "--run",
            "runs/tiny",
            "--compare",
            "runs/tiny",
            "--json",
        ],
        dir.path(),
    );
    assert!(same.status.success(), "{}", stderr(&same));
    let same: serde_json::Value = serde_json::from_str(&stdout(&same)).unwrap();
    // The protocol names the split kind and the model, as `eval --run` does.
    let split = same["protocol"]["split"].as_str().unwrap();
    assert!(
        split.contains("split of") && split.contains("model"),
        "{split}"
    );
    for c in same["comparisons"].as_array().unwrap() {
        assert_eq!(
            (c["low"].as_f64(), c["high"].as_f64()),
            (Some(0.0), Some(0.0)),
            "{c}"
        );
    }
    // Per-user ranks written by one evaluation and compared back: every case pairs, with zero
    // difference; a file for other targets or with bad ranks is refused.
    let written = latentr3(
        &["eval", "--run", "runs/tiny", "--write-ranks", "ranks.json"],
        dir.path(),
    );
    assert!(written.status.success(), "{}", stderr(&written));
    let ranks_file = dir.path().join("ranks.json");
    let ranks: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ranks_file).unwrap()).unwrap();
    assert_eq!(ranks["ranks"].as_array().map(Vec::len), Some(120));
    let round_trip = latentr3(
        &[
            "eval",
            "--run",
            "runs/tiny",
            "--compare-ranks",
            "ranks.json",
            "--json",
        ],
        dir.path(),
    );
    assert!(round_trip.status.success(), "{}", stderr(&round_trip));
    let round_trip: serde_json::Value = serde_json::from_str(&stdout(&round_trip)).unwrap();
    assert!(
        round_trip["cases"]
            .as_str()
            .is_some_and(|c| c.starts_with("120 of 120 cases paired")),
        "{round_trip}"
    );
    for c in round_trip["comparisons"].as_array().unwrap() {
        assert_eq!(c["difference"].as_f64(), Some(0.0), "{c}");
    }
    let mut shifted = ranks.clone();
    for entry in shifted["ranks"].as_array_mut().unwrap() {
        entry["target"] = serde_json::json!("not-an-item");
    }
    std::fs::write(dir.path().join("other.json"), shifted.to_string()).unwrap();
    let other = latentr3(
        &[
            "eval",
            "--run",
            "runs/tiny",
            "--compare-ranks",
            "other.json",
        ],
        dir.path(),
    );
    assert!(
        !other.status.success() && stderr(&other).contains("no user"),
        "{}",
        stderr(&other)
    );
    let mut zero = ranks.clone();
    zero["ranks"][3]["rank"] = serde_json::json!(0);
    std::fs::write(dir.path().join("zero.json"), zero.to_string()).unwrap();
    let zero = latentr3(
        &["eval", "--run", "runs/tiny", "--compare-ranks", "zero.json"],
        dir.path(),
    );
    assert!(
        !zero.status.success() && stderr(&zero).contains("ranks[3]"),
        "{}",
        stderr(&zero)
    );

    // Ranks computed under another protocol (here: masking) are refused, naming it.
    let mut unmasked_ranks = ranks.clone();
    unmasked_ranks["protocol"]["mask_history"] = serde_json::json!(false);
    std::fs::write(dir.path().join("unmasked.json"), unmasked_ranks.to_string()).unwrap();
    let mixed = latentr3(
        &[
            "eval",
            "--run",
            "runs/tiny",
            "--compare-ranks",
            "unmasked.json",
        ],
        dir.path(),
    );
    assert!(
        !mixed.status.success() && stderr(&mixed).contains("mask_history: false"),
        "{}",
        stderr(&mixed)
    );

    let unmasked = latentr3(
        &[
            "eval",
            "--run",
            "runs/tiny",
            "--set",
            "eval.mask_history=false",
            "--json",
        ],
        dir.path(),
    );
    assert!(unmasked.status.success(), "{}", stderr(&unmasked));
    assert!(stdout(&unmasked).contains("\"mask_history\": false"));

    // A copy of the run whose experiment does not mask: comparing the two would mix protocols.
    let copy = dir.path().join("runs/tiny-unmasked");
    std::fs::create_dir_all(copy.join("checkpoints")).unwrap();
    for file in [
        "checkpoints/sft.bpk",
        "checkpoints/sft-done.json",
        "checkpoints/model.json",
    ] {
        std::fs::copy(run.join(file), copy.join(file)).unwrap();
    }
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    let config = config.replace("mask_history = true", "mask_history = false");
    std::fs::write(copy.join("config.toml"), config).unwrap();
    let mixed = latentr3(
        &[
            "eval",
            "--run",
            "runs/tiny",
            "--compare",
            "runs/tiny-unmasked",
            "--compare-stage",
            "sft",
        ],
        dir.path(),
    );
    assert!(
        !mixed.status.success() && stderr(&mixed).contains("eval.mask_history: true vs false"),
        "{}",
        stderr(&mixed)
    );
    let mixed = latentr3(
        &[
            "train",
            "--config",
            "tiny.toml",
            "--init",
            "runs/tiny-unmasked",
            "--out",
            "runs/from-unmasked",
        ],
        dir.path(),
    );
    assert!(
        !mixed.status.success() && stderr(&mixed).contains("eval.mask_history: true vs false"),
        "{}",
        stderr(&mixed)
    );
    let bad = latentr3(
        &["eval", "--run", "runs/tiny", "--set", "model.hidden=8"],
        dir.path(),
    );
    assert!(
        !bad.status.success() && stderr(&bad).contains("eval.*"),
        "{}",
        stderr(&bad)
    );

    let top = latentr3(
        &[
            "recommend",
            "--run",
            "runs/tiny",
            "--history",
            "i1,i2,i3",
            "-k",
            "5",
        ],
        dir.path(),
    );
    assert!(top.status.success(), "{}", stderr(&top));
    let listed = stdout(&top);
    assert_eq!(listed.lines().count(), 7, "{listed}");
    assert!(listed.starts_with("history items masked"), "{listed}");
    // The given history is what the user has seen: none of it is recommended again.
    for line in listed.lines().skip(2) {
        let item = line.split_whitespace().nth(1).unwrap();
        assert!(!["i1", "i2", "i3"].contains(&item), "{listed}");
    }
    let unknown = latentr3(
        &["recommend", "--run", "runs/tiny", "--history", "nope"],
        dir.path(),
    );
    assert!(
        !unknown.status.success() && stderr(&unknown).contains("`nope`"),
        "{}",
        stderr(&unknown)
    );

    // A second train into the same directory refuses to overwrite it.
    let output = latentr3(
        &["train", "--config", "tiny.toml", "--out", "runs/tiny"],
        dir.path(),
    );
    assert!(!output.status.success() && stderr(&output).contains("already holds a run"));
}

#[test]
fn the_library_pipeline_gives_the_binarys_test_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tiny.toml");
    std::fs::write(
        &config,
        "[data.synthetic]\nusers = 80\nitems = 40\ntopics = 3\nmin_length = 8\nmax_length = 14\n\n\
         [data.filter]\nuser_core = 0\nitem_core = 0\n\n[model]\nmax_len = 8\nhidden = 8\nheads = 2\ninner = 16\n\n\
         [sft]\nepochs = 2\nbatch_size = 16\nwarmup_steps = 2\n\n[rl]\nepochs = 1\nbatch_size = 16\n",
    )
    .unwrap();
    let output = latentr3(
        &[
            "train",
            "--config",
            "tiny.toml",
            "--out",
            "runs/binary",
            "--json",
        ],
        dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let binary: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();

    // What a researcher's program does (crates/latentr3/examples/pipeline.rs).
    let experiment = latentr3::Experiment::load(&config, &[]).unwrap();
    let start = latentr3::Start::New {
        experiment,
        out: Some(dir.path().join("runs/library")),
        init: None,
    };
    let device = latentr3::burn::prelude::Device::flex();
    let options = latentr3::Options::default();
    let trained = latentr3::train(start, &device, &options, &mut latentr3::Silent).unwrap();
    // Through the same text as the binary's output: serde_json's default float parsing can be
    // one ulp off, the same way on both sides.
    let text = serde_json::to_string_pretty(&trained.report.unwrap()).unwrap();
    let library: serde_json::Value = serde_json::from_str(&text).unwrap();
    for stage in ["sft", "rl"] {
        assert!(binary[stage]["metrics"]["NDCG@10"].is_number(), "{stage}");
        assert_eq!(
            binary[stage]["metrics"], library[stage]["metrics"],
            "{stage}"
        );
    }
}

#[test]
fn recommend_needs_only_the_run_directory_and_refuses_other_formats() {
    let dir = tempfile::tempdir().unwrap();
    small_u_data(dir.path());
    std::fs::write(
        dir.path().join("file.toml"),
        "[data]\npath = \"u.data\"\ncache = false\n\n[data.filter]\nuser_core = 0\nitem_core = 0\n\n\
         [eval]\nks = [10]\n\n[model]\nmax_len = 6\nhidden = 8\nheads = 2\ninner = 16\n\n[sft]\nepochs = 1\n\n[rl]\nepochs = 0\n",
    )
    .unwrap();
    let trained = latentr3(
        &["train", "--config", "file.toml", "--out", "runs/file"],
        dir.path(),
    );
    assert!(trained.status.success(), "{}", stderr(&trained));
    std::fs::remove_file(dir.path().join("u.data")).unwrap();
    let top = latentr3(
        &[
            "recommend",
            "--run",
            "runs/file",
            "--history",
            "1,8",
            "-k",
            "3",
        ],
        dir.path(),
    );
    assert!(top.status.success(), "{}", stderr(&top));
    assert_eq!(stdout(&top).lines().count(), 5, "{}", stdout(&top));
    // An unknown id is answered with what ids look like in this dataset.
    let unknown = latentr3(
        &["recommend", "--run", "runs/file", "--history", "i1"],
        dir.path(),
    );
    assert!(
        !unknown.status.success() && stderr(&unknown).contains("ids look like"),
        "{}",
        stderr(&unknown)
    );
    let card = dir.path().join("runs/file/checkpoints/model.json");
    let text = std::fs::read_to_string(&card).unwrap();
    std::fs::write(
        &card,
        text.replace(
            &format!("\"format_version\":{}", latentr3::FORMAT_VERSION),
            "\"format_version\":99",
        ),
    )
    .unwrap();
    let refused = latentr3(
        &["recommend", "--run", "runs/file", "--history", "1"],
        dir.path(),
    );
    assert!(
        !refused.status.success() && stderr(&refused).contains("format version 99"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn a_resumed_run_reaches_the_same_metrics_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tiny.toml"),
        "[data.synthetic]\nusers = 120\nitems = 60\ntopics = 3\nintents_per_user = 1\nmin_length = 8\nmax_length = 16\n\n\
         [model]\nmax_len = 10\nhidden = 16\nheads = 2\ninner = 32\ndropout = 0.2\n\n[sft]\nepochs = 4\nbatch_size = 16\nwarmup_steps = 2\npatience = 10\n",
    )
    .unwrap();
    let whole = latentr3(
        &[
            "train",
            "--config",
            "tiny.toml",
            "--out",
            "runs/whole",
            "--json",
        ],
        dir.path(),
    );
    assert!(whole.status.success(), "{}", stderr(&whole));
    let part = latentr3(
        &[
            "train",
            "--config",
            "tiny.toml",
            "--out",
            "runs/split",
            "--stop-after",
            "2",
        ],
        dir.path(),
    );
    assert!(part.status.success(), "{}", stderr(&part));
    assert!(stderr(&part).contains("--resume"), "{}", stderr(&part));
    assert!(!dir.path().join("runs/split/report.json").exists());
    let rest = latentr3(&["train", "--resume", "runs/split", "--json"], dir.path());
    assert!(rest.status.success(), "{}", stderr(&rest));
    assert!(
        stderr(&rest).contains("resuming at epoch 2"),
        "{}",
        stderr(&rest)
    );
    let metrics = |o: &Output, stage: &str| {
        serde_json::from_str::<serde_json::Value>(&stdout(o)).unwrap()[stage]["metrics"].clone()
    };
    for stage in ["sft", "rl"] {
        assert_eq!(metrics(&whole, stage), metrics(&rest, stage), "{stage}");
    }
    let again = latentr3(&["train", "--resume", "runs/split"], dir.path());
    assert!(
        !again.status.success() && stderr(&again).contains("already finished"),
        "{}",
        stderr(&again)
    );

    // Interrupted during RL (SFT finished, no report yet): resuming runs only the RL stage.
    std::fs::remove_file(dir.path().join("runs/whole/report.json")).unwrap();
    let rl_only = latentr3(&["train", "--resume", "runs/whole", "--json"], dir.path());
    assert!(rl_only.status.success(), "{}", stderr(&rl_only));
    assert!(
        stderr(&rl_only).contains("SFT already finished")
            && !stderr(&rl_only).contains("epoch   0:"),
        "{}",
        stderr(&rl_only)
    );
    assert_eq!(metrics(&whole, "rl"), metrics(&rl_only, "rl"));
}

/// One process per run directory: a second `train` on a running run is refused; the claim
/// goes with the process, so after a SIGKILL the run resumes at once.
#[test]
fn a_running_run_is_refused_to_a_second_process_and_freed_by_its_death() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("long.toml"),
        "[data.synthetic]\nusers = 200\nitems = 80\nmin_length = 8\nmax_length = 30\n\n\
         [model]\nmax_len = 10\nhidden = 16\nheads = 2\ninner = 32\n\n\
         [sft]\nepochs = 500\npatience = 500\nbatch_size = 8\n",
    )
    .unwrap();
    let mut first = Command::new(env!("CARGO_BIN_EXE_latentr3"))
        .args(["train", "--config", "long.toml", "--out", "runs/long"])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let config = dir.path().join("runs/long/config.toml");
    let started = std::time::Instant::now();
    while !config.exists() && started.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(config.exists(), "the first run never started");
    let second = latentr3(&["train", "--resume", "runs/long"], dir.path());
    assert!(
        !second.status.success() && stderr(&second).contains("in use by another"),
        "{}",
        stderr(&second)
    );
    first.kill().unwrap();
    first.wait().unwrap();
    let resumed = latentr3(
        &["train", "--resume", "runs/long", "--stop-after", "1"],
        dir.path(),
    );
    assert!(resumed.status.success(), "{}", stderr(&resumed));
}
