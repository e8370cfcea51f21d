//! Resuming runs that were killed at awkward moments. A process of its own, and its tests one
//! at a time: the device's random generator is global, and a test training beside another
//! would change its draws.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

/// Held by each test for its whole length.
fn one_at_a_time() -> MutexGuard<'static, ()> {
    static DEVICE: Mutex<()> = Mutex::new(());
    DEVICE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

use latentr3::burn::prelude::Device;

/// A run killed before its first epoch finished, or between the two renames that replace
/// `checkpoints/last/`, still resumes, to the same report as an uninterrupted run.
#[test]
fn a_run_killed_before_its_first_epoch_or_between_renames_resumes() {
    let _device = one_at_a_time();
    let device = Device::default();
    let options = latentr3::Options::default();
    let run = |start| {
        latentr3::train(start, &device, &options, &mut latentr3::Silent)
            .unwrap()
            .report
    };
    let fresh = |dir: &Path| {
        let path = dir.join("config.toml");
        std::fs::write(
            &path,
            "[data]\ncache = false\n[data.synthetic]\nusers = 50\nitems = 30\n\
             min_length = 6\nmax_length = 12\n[sft]\nepochs = 2\n[rl]\nepochs = 1\n",
        )
        .unwrap();
        let experiment = latentr3::Experiment::load(&path, &[]).unwrap();
        latentr3::Start::New {
            experiment,
            out: Some(dir.join("run")),
            init: None,
        }
    };
    let whole = tempfile::tempdir().unwrap();
    let expected = run(fresh(whole.path())).unwrap();

    let stopped = |dir: &Path| {
        let stop = latentr3::Options {
            stop_after_epochs: Some(1),
            ..latentr3::Options::default()
        };
        let trained = latentr3::train(fresh(dir), &device, &stop, &mut latentr3::Silent).unwrap();
        assert!(trained.report.is_none());
        trained.run
    };
    // Killed during the first epoch: the run directory holds its settings and no epoch.
    let early = tempfile::tempdir().unwrap();
    let killed = stopped(early.path());
    std::fs::remove_dir_all(killed.checkpoints()).unwrap();
    let resumed = run(latentr3::Start::Resume(killed.path().to_path_buf())).unwrap();
    assert_eq!(resumed.sft.metrics, expected.sft.metrics);
    assert_eq!(
        resumed.rl.unwrap().metrics,
        expected.rl.clone().unwrap().metrics
    );

    // Killed between the renames: only `last.old/` holds the last finished epoch.
    let between = tempfile::tempdir().unwrap();
    let killed = stopped(between.path());
    std::fs::rename(killed.last(), killed.checkpoints().join("last.old")).unwrap();
    let resumed = run(latentr3::Start::Resume(killed.path().to_path_buf())).unwrap();
    assert_eq!(resumed.sft.metrics, expected.sft.metrics);
    assert_eq!(resumed.rl.unwrap().metrics, expected.rl.unwrap().metrics);

    // Not only the metrics: the weights after the last epoch (trained after the resume, so
    // through the restored optimiser state and schedule), the best SFT and RL checkpoints and
    // the progress are those of the uninterrupted run, to the byte.
    let uninterrupted = latentr3::RunDir::new(whole.path().join("run"));
    let read =
        |run: &latentr3::RunDir, file: &str| std::fs::read(run.checkpoints().join(file)).unwrap();
    for file in ["last/model.bpk", "sft.bpk", "rl.bpk"] {
        assert!(
            weights(&read(&killed, file)) == weights(&read(&uninterrupted, file)),
            "{file}: the weights differ"
        );
    }
    assert_eq!(
        text(read(&killed, "last/progress.json")),
        text(read(&uninterrupted, "last/progress.json"))
    );
}

/// The tensor bytes of a burnpack file: after the magic `NRUB`, a 2-byte version and a 4-byte
/// little-endian header length, the header (names, shapes and each parameter's random id,
/// which differ between two processes) and then the data.
fn weights(file: &[u8]) -> &[u8] {
    assert_eq!(&file[..4], b"NRUB", "not a burnpack file");
    let header = u32::from_le_bytes(file[6..10].try_into().unwrap()) as usize;
    &file[10 + header..]
}

/// Trains `settings` (small synthetic data) in `dir/run`, first without interruption, then
/// stopped as `stop` says and resumed until it finishes; returns both runs.
fn whole_and_resumed(
    dir: &Path,
    settings: &str,
    stop: latentr3::Options,
) -> (latentr3::RunDir, latentr3::RunDir, usize) {
    let device = Device::default();
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[data]\ncache = false\n[data.synthetic]\nusers = 80\nitems = 40\n\
             min_length = 6\nmax_length = 16\n{settings}"
        ),
    )
    .unwrap();
    let start = |out: &str| latentr3::Start::New {
        experiment: latentr3::Experiment::load(&path, &[]).unwrap(),
        out: Some(dir.join(out)),
        init: None,
    };
    let options = latentr3::Options::default();
    let whole = latentr3::train(start("whole"), &device, &options, &mut latentr3::Silent).unwrap();
    assert!(whole.report.is_some());
    let mut trained =
        latentr3::train(start("resumed"), &device, &stop, &mut latentr3::Silent).unwrap();
    let mut stops = 0;
    while trained.report.is_none() {
        stops += 1;
        let resume = latentr3::Start::Resume(trained.run.path().to_path_buf());
        trained = latentr3::train(resume, &device, &stop, &mut latentr3::Silent).unwrap();
    }
    (whole.run, trained.run, stops)
}

fn report(run: &latentr3::RunDir) -> serde_json::Value {
    let mut report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.report()).unwrap()).unwrap();
    // Wall times differ between any two runs.
    if let Some(stage) = report.get_mut("rl_stage") {
        stage["rl_epoch_seconds"] = serde_json::Value::Null;
        stage["sft_epoch_seconds"] = serde_json::Value::Null;
    }
    report
}

fn read(run: &latentr3::RunDir, file: &str) -> Vec<u8> {
    std::fs::read(run.checkpoints().join(file)).unwrap()
}

/// A run stopped in the middle of its RL stage, several times, continues it exactly: the best
/// RL step comes after the first stop, the last RL state's weights and progress and the best
/// head are those of the uninterrupted run to the byte, and so is the report.
#[test]
fn a_run_stopped_inside_its_rl_stage_resumes_exactly() {
    let _device = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let stop = latentr3::Options {
        stop_after_rl_steps: Some(2),
        ..latentr3::Options::default()
    };
    let (whole, resumed, stops) = whole_and_resumed(
        dir.path(),
        "[sft]\nepochs = 2\n[rl]\nepochs = 2\nbatch_size = 16\neval_every = 2\n\
         lr = 0.01\nwarmup_steps = 0\nrewards = [{ kind = \"ndcg\", weight = 1.0, k = 10 }]\n",
        stop,
    );
    let expected = report(&whole);
    let stage = &expected["rl_stage"];
    let steps = stage["steps"].as_u64().unwrap();
    assert!(stops >= 3, "stopped {stops} times in {steps} RL steps");
    assert!(
        stage["best_step"].as_u64().unwrap() > 2,
        "the best RL step must come after the first stop: {stage}"
    );
    assert_eq!(report(&resumed), expected);
    // The weights were trained after the resumes, through the restored optimiser state and
    // schedule (the optimiser's own file orders its records by per-process parameter ids).
    for file in ["rl-last/model.bpk", "rl.bpk"] {
        assert!(
            weights(&read(&resumed, file)) == weights(&read(&whole, file)),
            "{file}: the weights differ"
        );
    }
    let progress = |run: &latentr3::RunDir| {
        let mut progress: serde_json::Value =
            serde_json::from_slice(&read(run, "rl-last/progress.json")).unwrap();
        progress["epoch_train_seconds"] = serde_json::Value::Null;
        progress["current_epoch_seconds"] = serde_json::Value::Null;
        progress
    };
    assert_eq!(progress(&resumed), progress(&whole));
}

/// Patience counts across a resume, in both stages: stopped after every SFT epoch and every
/// second RL step, the run stops early at the same epoch and step as the uninterrupted one.
#[test]
fn patience_fires_across_resumes() {
    let _device = one_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let stop = latentr3::Options {
        stop_after_epochs: Some(1),
        stop_after_rl_steps: Some(1),
        ..latentr3::Options::default()
    };
    let (whole, resumed, _) = whole_and_resumed(
        dir.path(),
        "[sft]\nepochs = 40\npatience = 2\nlr = 0.01\n\
         [rl]\nepochs = 6\nbatch_size = 16\neval_every = 1\npatience = 2\nlr = 0.05\n",
        stop,
    );
    let sft_done = |run: &latentr3::RunDir| -> serde_json::Value {
        serde_json::from_slice(&read(run, "sft-done.json")).unwrap()
    };
    let steps = sft_done(&whole)["steps"].as_u64().unwrap();
    let progress: serde_json::Value =
        serde_json::from_slice(&read(&whole, "last/progress.json")).unwrap();
    let epochs = progress["next_epoch"].as_u64().unwrap();
    assert!(epochs < 40, "SFT must stop early: {progress}");
    assert!(
        progress["best_epoch"].as_u64().unwrap() + 2 < epochs,
        "SFT patience must fire after a stop: {progress}"
    );
    assert_eq!(sft_done(&resumed)["steps"].as_u64().unwrap(), steps);
    assert_eq!(
        text(read(&resumed, "last/progress.json")),
        text(read(&whole, "last/progress.json"))
    );
    let expected = report(&whole);
    assert_eq!(expected["rl_stage"]["stop"], "patience", "{expected}");
    assert_eq!(report(&resumed), expected);
}
