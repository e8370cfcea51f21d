//! Resuming runs that were killed at awkward moments. A process of its own: the device's random
//! generator is global, and a test training beside this one would change its draws.

use std::path::Path;

use latentr3::burn::prelude::Device;

/// A run killed before its first epoch finished, or between the two renames that replace
/// `checkpoints/last/`, still resumes, to the same report as an uninterrupted run.
#[test]
fn a_run_killed_before_its_first_epoch_or_between_renames_resumes() {
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
        read(&killed, "last/progress.json"),
        read(&uninterrupted, "last/progress.json")
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
