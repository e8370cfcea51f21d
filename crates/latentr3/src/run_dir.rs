//! The run directory: where a run's settings, checkpoints, reports and TensorBoard files live,
//! and how they are written so that an interruption never leaves a half-written file.
//!
//! ```text
//! <run>/config.toml                  the resolved experiment (what --resume and eval --run read)
//! <run>/checkpoints/model.json       the model card: architecture, item ids, format version
//! <run>/checkpoints/sft.bpk          the best SFT epoch
//! <run>/checkpoints/last/            model.bpk, optimizer.bpk, progress.json after the last epoch
//! <run>/checkpoints/sft-done.json    the finished SFT stage and its test report
//! <run>/checkpoints/rl.bpk           the best validated RL step
//! <run>/checkpoints/rl-last/         model.bpk, optimizer.bpk, progress.json after the last
//!                                    RL validation
//! <run>/checkpoints/**/*.bpk.sha256  each checkpoint's SHA-256, checked before it is loaded
//! <run>/report.json                  the test reports (written when the run completes)
//! <run>/events.out.tfevents.*        TensorBoard scalars
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use latentr3_eval::Report;
use latentr3_grpo::{RlProgress, RlState};
use latentr3_model::sft::{self, EpochState, Progress, Resume};
use latentr3_model::{Recommender, TrainError};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::Experiment;

/// Which checkpoint of a run to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The best SFT epoch (`checkpoints/sft.bpk`).
    Sft,
    /// The best RL step (`checkpoints/rl.bpk`).
    Rl,
}

/// The layout of one run directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

/// Every leaf of a TOML value as `a.b.c = value`.
fn flatten(
    prefix: &str,
    value: &toml::Value,
    out: &mut std::collections::BTreeMap<String, String>,
) {
    match value {
        toml::Value::Table(table) => {
            for (key, value) in table {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, value, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// Held while a process trains in a run directory ([`RunDir::lock`]).
#[derive(Debug)]
pub struct RunLock {
    _file: std::fs::File,
}

impl RunDir {
    /// Claims the directory (creating it) for one training process: a second `train` or
    /// `--resume` of it is refused while the first runs. The claim is an OS file lock on
    /// `<run>/.lock`, released when the [`RunLock`] drops or its process dies, so a killed run
    /// leaves nothing that blocks its resumption.
    pub fn lock(&self) -> Result<RunLock> {
        std::fs::create_dir_all(&self.path).map_err(Error::io("create", &self.path))?;
        let path = self.path.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Error::io("open", &path))?;
        match file.try_lock() {
            Ok(()) => Ok(RunLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Run(format!(
                "{} is in use by another latentr3 process; wait for it to finish, or choose another --out",
                self.path.display()
            ))),
            Err(std::fs::TryLockError::Error(error)) => Err(Error::io("lock", &path)(error)),
        }
    }

    pub fn new(path: impl Into<PathBuf>) -> RunDir {
        RunDir { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The resolved experiment.
    pub fn config(&self) -> PathBuf {
        self.path.join("config.toml")
    }

    /// The settings the run started with (`checkpoints/settings.toml`, never edited): a
    /// resumed run is checked against it.
    pub fn settings_at_start(&self) -> PathBuf {
        self.checkpoints().join("settings.toml")
    }

    /// Refuses to continue a run whose `config.toml` says something else than the settings it
    /// started with (a resumed run would silently mix two experiments), naming what changed.
    /// Runs that predate `settings.toml` are not checked.
    pub fn check_settings_unchanged(&self, experiment: &Experiment) -> Result<()> {
        let path = self.settings_at_start();
        let Ok(started) = std::fs::read_to_string(&path) else {
            return Ok(());
        };
        let now = experiment.to_toml();
        if started == now {
            return Ok(());
        }
        let flat = |text: &str| {
            let mut values = std::collections::BTreeMap::new();
            if let Ok(table) = text.parse::<toml::Table>() {
                flatten("", &toml::Value::Table(table), &mut values);
            }
            values
        };
        let (before, after) = (flat(&started), flat(&now));
        let changed: std::collections::BTreeSet<&str> = before
            .keys()
            .chain(after.keys())
            .filter(|key| before.get(*key) != after.get(*key))
            .map(String::as_str)
            .collect();
        let changed: Vec<&str> = changed.into_iter().collect();
        Err(Error::Run(format!(
            "{} changed since the run started ({}); restore it from {}, or resume with --allow-changed-settings",
            self.config().display(),
            changed.join(", "),
            path.display()
        )))
    }

    pub fn checkpoints(&self) -> PathBuf {
        self.path.join("checkpoints")
    }

    /// The checkpoint of a stage.
    pub fn checkpoint(&self, stage: Stage) -> PathBuf {
        self.checkpoints().join(match stage {
            Stage::Sft => "sft.bpk",
            Stage::Rl => "rl.bpk",
        })
    }

    /// The state `--resume` continues SFT from.
    pub fn last(&self) -> PathBuf {
        self.checkpoints().join("last")
    }

    /// The state `--resume` continues the RL stage from.
    pub fn rl_last(&self) -> PathBuf {
        self.checkpoints().join("rl-last")
    }

    /// Whether SFT can continue from a finished epoch. `checkpoints/last/` is replaced by two
    /// renames (old state aside, new state in); a run killed between them has only
    /// `last.old/`, which is put back here. `false` when no epoch finished: `--resume` then
    /// starts SFT from its first epoch.
    pub fn has_resumable_epoch(&self) -> Result<bool> {
        has_resumable_state(&self.last())
    }

    /// Whether the RL stage can continue from a validation (`checkpoints/rl-last/`, restored
    /// from `rl-last.old/` as [`has_resumable_epoch`](Self::has_resumable_epoch) does).
    pub fn has_resumable_rl_state(&self) -> Result<bool> {
        has_resumable_state(&self.rl_last())
    }

    /// Marks a finished SFT stage and holds its test report.
    pub fn sft_done(&self) -> PathBuf {
        self.checkpoints().join("sft-done.json")
    }

    /// The model card: architecture, catalogue and ids of the checkpoints ([`ModelCard`]).
    ///
    /// [`ModelCard`]: crate::card::ModelCard
    pub fn card(&self) -> PathBuf {
        self.checkpoints().join("model.json")
    }

    /// The final report, written when the run completes.
    pub fn report(&self) -> PathBuf {
        self.path.join("report.json")
    }

    /// Whether the directory holds a run (its `config.toml`).
    pub fn holds_run(&self) -> bool {
        self.config().exists()
    }

    /// The run's experiment, with `overrides` applied.
    pub fn experiment(&self, overrides: &[String]) -> Result<Experiment> {
        if !self.holds_run() {
            return Err(Error::Run(format!(
                "{} is not a run directory (no config.toml); runs are written by `latentr3 train`",
                self.path.display()
            )));
        }
        Experiment::load(&self.config(), overrides)
    }

    /// The checkpoint `stage` picks: as asked, else RL when the run has one, else SFT.
    pub fn stage(&self, stage: Option<Stage>) -> Stage {
        stage.unwrap_or(if self.checkpoint(Stage::Rl).exists() {
            Stage::Rl
        } else {
            Stage::Sft
        })
    }
}

/// Whether `state` (a directory written by [`save_state`]) holds a complete state, after
/// putting back `<state>.old` when a kill came between the two renames.
fn has_resumable_state(state: &Path) -> Result<bool> {
    if state.join("progress.json").exists() {
        return Ok(true);
    }
    let old = state.with_extension("old");
    if old.join("progress.json").exists() {
        if state.exists() {
            std::fs::remove_dir_all(state).map_err(Error::io("remove", state))?;
        }
        std::fs::rename(&old, state).map_err(Error::io("restore", state))?;
        return Ok(true);
    }
    Ok(false)
}

/// Writes `bytes` to `path` through a temporary file in the same directory, so readers see the
/// old file or the new one, never part of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(Error::io("write in", dir))?;
    temp.write_all(bytes).map_err(Error::io("write", path))?;
    temp.persist(path)
        .map_err(|e| Error::io("write", path)(e.error))?;
    Ok(())
}

/// `<checkpoint>.sha256`: the SHA-256 digests (hex, one per line) its bytes may have. One
/// digest, except while the checkpoint is being replaced: then both the old and the new file's,
/// so that a kill at any moment leaves a checkpoint its record accepts.
pub fn checksum_path(checkpoint: &Path) -> PathBuf {
    let mut name = checkpoint.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

fn sha256(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut file = std::fs::File::open(path)?;
    std::io::copy(&mut file, &mut hasher)?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// Refuses a checkpoint whose bytes match none of the digests recorded beside it. Checkpoints
/// without a record (written before checksums, or the record deleted) are not checked.
pub fn verify_checkpoint(path: &Path) -> Result<()> {
    let sidecar = checksum_path(path);
    let Ok(recorded) = std::fs::read_to_string(&sidecar) else {
        return Ok(());
    };
    let found = sha256(path).map_err(Error::io("read", path))?;
    if recorded.lines().any(|line| line.trim() == found) {
        return Ok(());
    }
    Err(Error::Damaged {
        path: path.to_path_buf(),
        sidecar,
        found,
    })
}

fn write_checksum(path: &Path, digests: &[String]) -> Result<(), TrainError> {
    let sidecar = checksum_path(path);
    let dir = sidecar.parent().unwrap_or(Path::new("."));
    let mut temp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| io_error("write in", dir, e))?;
    temp.write_all((digests.join("\n") + "\n").as_bytes())
        .map_err(|e| io_error("write", &sidecar, e))?;
    temp.persist(&sidecar)
        .map_err(|e| io_error("write", &sidecar, e.error))?;
    Ok(())
}

fn io_error(what: &str, path: &Path, error: impl std::fmt::Display) -> TrainError {
    TrainError::Io(format!("cannot {what} {}: {error}", path.display()))
}

/// Saves a model checkpoint to `path` (`.bpk`) through a temporary name.
pub fn save_checkpoint(model: &Recommender, path: &Path) -> Result<(), TrainError> {
    let temp = path.with_extension("tmp.bpk");
    let written = model
        .clone()
        .save_file(&temp)
        .map_err(|e| io_error("write", &temp, e))
        .and_then(|()| replace_checked(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Moves the finished file `temp` to `path` and records its digest, in an order that leaves a
/// file its record accepts at every moment (see [`checksum_path`]).
fn replace_checked(temp: &Path, path: &Path) -> Result<(), TrainError> {
    let new = sha256(temp).map_err(|e| io_error("read", temp, e))?;
    let mut accepted = vec![new.clone()];
    if path.exists() {
        accepted.push(sha256(path).map_err(|e| io_error("read", path, e))?);
    }
    write_checksum(path, &accepted)?;
    std::fs::rename(temp, path).map_err(|e| io_error("write", path, e))?;
    write_checksum(path, &[new])
}

/// Writes the resumable SFT state (`last/`: model, optimiser, progress).
pub fn save_last(checkpoints: &Path, state: &EpochState<'_>) -> Result<(), TrainError> {
    save_state(
        &checkpoints.join("last"),
        state.model,
        state.optimizer,
        state.progress,
    )
}

/// Writes the resumable RL state (`rl-last/`: model, optimiser, progress).
pub fn save_rl_last(checkpoints: &Path, state: &RlState<'_>) -> Result<(), TrainError> {
    save_state(
        &checkpoints.join("rl-last"),
        state.model,
        state.optimizer,
        state.progress,
    )
}

/// The files of a resumable state, in `dir`.
fn write_state(
    dir: &Path,
    model: &Recommender,
    optimizer: &burn::optim::ModuleOptimizer,
    progress: &impl Serialize,
) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|e| io_error("create", dir, e))?;
    let model_path = dir.join("model.bpk");
    model
        .clone()
        .save_file(&model_path)
        .map_err(|e| io_error("write", &model_path, e))?;
    let optimizer_path = dir.join("optimizer.bpk");
    optimizer
        .save(&optimizer_path)
        .map_err(|e| io_error("write", &optimizer_path, e))?;
    for path in [&model_path, &optimizer_path] {
        write_checksum(
            path,
            &[sha256(path).map_err(|e| io_error("read", path, e))?],
        )?;
    }
    let progress_path = dir.join("progress.json");
    let progress =
        serde_json::to_vec_pretty(progress).map_err(|e| io_error("encode", &progress_path, e))?;
    std::fs::write(&progress_path, progress).map_err(|e| io_error("write", &progress_path, e))
}

/// Writes a resumable state as a whole: into a fresh directory `<state>.tmp` that then
/// replaces `state` (old state aside to `<state>.old`, new state in), so an interruption
/// leaves one complete state ([`RunDir::has_resumable_epoch`] restores `.old`).
fn save_state(
    state: &Path,
    model: &Recommender,
    optimizer: &burn::optim::ModuleOptimizer,
    progress: &impl Serialize,
) -> Result<(), TrainError> {
    let staging = state.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&staging);
    let written = write_state(&staging, model, optimizer, progress);
    if written.is_err() {
        // A full disk: leave no partial state behind (the previous one is untouched).
        let _ = std::fs::remove_dir_all(&staging);
    }
    written?;
    let old = state.with_extension("old");
    let _ = std::fs::remove_dir_all(&old);
    if state.exists() {
        std::fs::rename(state, &old).map_err(|e| io_error("replace", state, e))?;
    }
    std::fs::rename(&staging, state).map_err(|e| io_error("replace", state, e))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// A model of `experiment`'s architecture over `num_items` items with the weights at `path`.
/// Callers check the run's model card first ([`ModelCard::read`](crate::card::ModelCard::read)
/// refuses another checkpoint format with a message, where burn would list missing tensors).
pub fn load_model(
    path: &Path,
    experiment: &Experiment,
    num_items: usize,
    device: &Device,
) -> Result<Recommender> {
    verify_checkpoint(path)?;
    Recommender::new(&experiment.model, num_items, device)
        .try_load_file(path)
        .map_err(Error::checkpoint("load", path))
}

/// The state `--resume` continues SFT from.
pub fn load_resume(
    run: &RunDir,
    experiment: &Experiment,
    num_items: usize,
    device: &Device,
) -> Result<Resume> {
    let last = run.last();
    let progress_path = last.join("progress.json");
    let bytes = std::fs::read(&progress_path).map_err(Error::io(
        "resume: no resumable state, cannot read",
        &progress_path,
    ))?;
    let progress: Progress = serde_json::from_slice(&bytes).map_err(Error::json(&progress_path))?;
    let optimizer_path = last.join("optimizer.bpk");
    verify_checkpoint(&optimizer_path)?;
    let optimizer = sft::optimizer(&experiment.sft)
        .load(&optimizer_path)
        .map_err(Error::checkpoint("load", &optimizer_path))?;
    Ok(Resume {
        model: load_model(&last.join("model.bpk"), experiment, num_items, device)?,
        optimizer,
        best: load_model(&run.checkpoint(Stage::Sft), experiment, num_items, device)?,
        progress,
    })
}

/// The state `--resume` continues the RL stage from; its best head is `rl.bpk`.
pub fn load_rl_resume(
    run: &RunDir,
    experiment: &Experiment,
    num_items: usize,
    device: &Device,
) -> Result<latentr3_grpo::Resume> {
    let last = run.rl_last();
    let progress_path = last.join("progress.json");
    let bytes = std::fs::read(&progress_path).map_err(Error::io(
        "resume: no resumable RL state, cannot read",
        &progress_path,
    ))?;
    let progress: RlProgress =
        serde_json::from_slice(&bytes).map_err(Error::json(&progress_path))?;
    let optimizer_path = last.join("optimizer.bpk");
    verify_checkpoint(&optimizer_path)?;
    let optimizer = latentr3_grpo::optimizer(&experiment.rl)
        .load(&optimizer_path)
        .map_err(Error::checkpoint("load", &optimizer_path))?;
    Ok(latentr3_grpo::Resume {
        model: load_model(&last.join("model.bpk"), experiment, num_items, device)?,
        optimizer,
        best: load_model(&run.checkpoint(Stage::Rl), experiment, num_items, device)?,
        progress,
    })
}

/// What the SFT stage hands to the RL stage and the report (`checkpoints/sft-done.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SftStage {
    /// The best SFT checkpoint on the test split.
    pub test: Report,
    /// Optimisation steps taken.
    pub steps: usize,
    /// Wall time of each epoch's steps in the invocation that finished the stage.
    pub epoch_seconds: Vec<f64>,
}

impl SftStage {
    pub(crate) fn read(run: &RunDir) -> Result<SftStage> {
        let path = run.sft_done();
        let bytes = std::fs::read(&path).map_err(Error::io("read", &path))?;
        serde_json::from_slice(&bytes).map_err(Error::json(&path))
    }

    pub(crate) fn write(&self, run: &RunDir) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(Error::json(run.sft_done()))?;
        write_atomic(&run.sft_done(), &bytes)
    }
}

/// Checks that run `source` has a finished SFT stage of the same data, protocol and model
/// settings (for `train --init`), before anything is written.
pub fn check_init_source(source: &RunDir, experiment: &Experiment) -> Result<()> {
    let shown = source.path().display();
    if !source.holds_run() {
        return Err(Error::Run(format!(
            "--init {shown}: not a run directory (no config.toml)"
        )));
    }
    let theirs = Experiment::load(&source.config(), &[])?;
    let differences = experiment.protocol_differences(&theirs);
    if !differences.is_empty() {
        return Err(Error::Protocol {
            what: format!(
                "--init {shown}: its SFT stage was selected and tested under another protocol than this experiment's (this vs its)"
            ),
            differences,
        });
    }
    if theirs.model != experiment.model {
        return Err(Error::Run(format!(
            "--init {shown}: its [model] settings differ from this experiment's; the RL stage must start from an SFT model of the same architecture"
        )));
    }
    for path in [source.checkpoint(Stage::Sft), source.sft_done()] {
        if !path.exists() {
            return Err(Error::Run(format!(
                "--init {shown}: {} is missing (its SFT stage did not finish)",
                path.display()
            )));
        }
    }
    // Its checkpoints must be of a format this version reads.
    crate::card::ModelCard::read(source)?;
    Ok(())
}

/// Copies the finished SFT stage of run `source` into `run`.
pub fn copy_sft_stage(source: &RunDir, run: &RunDir) -> Result<()> {
    let checkpoint = source.checkpoint(Stage::Sft);
    verify_checkpoint(&checkpoint)?;
    let record = checksum_path(&checkpoint);
    let mut files = vec![
        (checkpoint, run.checkpoint(Stage::Sft)),
        (source.sft_done(), run.sft_done()),
    ];
    if record.exists() {
        files.push((record, checksum_path(&run.checkpoint(Stage::Sft))));
    }
    for (from, to) in files {
        let bytes = std::fs::read(&from).map_err(Error::io("read", &from))?;
        write_atomic(&to, &bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn experiment_file(dir: &Path, extra: &str) -> Experiment {
        let text = format!("[data.synthetic]\nusers = 50\nitems = 30\n{extra}");
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("config.toml"), text).unwrap();
        Experiment::load(&dir.join("config.toml"), &[]).unwrap()
    }

    #[test]
    fn atomic_writes_replace_whole_files_and_leave_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/report.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let files: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(files.len(), 1, "{files:?}");
    }

    #[test]
    fn a_directory_without_config_is_not_a_run() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        assert!(!run.holds_run());
        let message = run.experiment(&[]).err().unwrap().to_string();
        assert!(message.contains("not a run directory"), "{message}");
    }

    #[test]
    fn the_default_stage_is_rl_when_the_run_has_it() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        assert_eq!(run.stage(None), Stage::Sft);
        std::fs::create_dir_all(run.checkpoints()).unwrap();
        std::fs::write(run.checkpoint(Stage::Rl), b"").unwrap();
        assert_eq!(run.stage(None), Stage::Rl);
        assert_eq!(run.stage(Some(Stage::Sft)), Stage::Sft);
    }

    #[test]
    fn init_needs_a_finished_sft_stage_of_the_same_protocol_and_model() {
        let dir = tempfile::tempdir().unwrap();
        let ours = experiment_file(&dir.path().join("ours"), "");
        let source = RunDir::new(dir.path().join("source"));
        let missing = check_init_source(&source, &ours).unwrap_err().to_string();
        assert!(missing.contains("not a run directory"), "{missing}");

        experiment_file(source.path(), "[eval]\nmask_history = false\n");
        let mixed = check_init_source(&source, &ours).unwrap_err();
        assert!(
            matches!(&mixed, Error::Protocol { differences, .. }
                if differences == &["eval.mask_history: true vs false".to_string()]),
            "{mixed}"
        );

        experiment_file(source.path(), "[model]\nhidden = 16\nheads = 2\n");
        let model = check_init_source(&source, &ours).unwrap_err().to_string();
        assert!(model.contains("[model] settings differ"), "{model}");

        experiment_file(source.path(), "");
        let unfinished = check_init_source(&source, &ours).unwrap_err().to_string();
        assert!(unfinished.contains("did not finish"), "{unfinished}");
        std::fs::create_dir_all(source.checkpoints()).unwrap();
        std::fs::write(source.checkpoint(Stage::Sft), b"weights").unwrap();
        std::fs::write(source.sft_done(), b"{}").unwrap();
        // Finished, but without a model card: written before checkpoint format 2.
        let old = check_init_source(&source, &ours).unwrap_err().to_string();
        assert!(old.contains("older latentr3"), "{old}");

        let run = RunDir::new(dir.path().join("new"));
        copy_sft_stage(&source, &run).unwrap();
        assert_eq!(
            std::fs::read(run.checkpoint(Stage::Sft)).unwrap(),
            b"weights"
        );
    }

    #[test]
    fn a_run_is_neither_overwritten_nor_resumed_once_finished() {
        let dir = tempfile::tempdir().unwrap();
        let experiment = experiment_file(dir.path(), "");
        let device = Device::default();
        let options = crate::Options::default();
        let again = crate::train(
            crate::Start::New {
                experiment,
                out: Some(dir.path().to_path_buf()),
                init: None,
            },
            &device,
            &options,
            &mut crate::Silent,
        );
        let message = again.err().unwrap().to_string();
        assert!(message.contains("already holds a run"), "{message}");

        std::fs::write(dir.path().join("report.json"), b"{}").unwrap();
        let resumed = crate::train(
            crate::Start::Resume(dir.path().to_path_buf()),
            &device,
            &options,
            &mut crate::Silent,
        );
        let message = resumed.err().unwrap().to_string();
        assert!(message.contains("already finished"), "{message}");
    }

    #[test]
    fn a_run_whose_settings_changed_is_resumed_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let experiment = experiment_file(
            &dir.path().join("settings"),
            "min_length = 6\nmax_length = 12\n[data]\ncache = false\n[sft]\nepochs = 3\n",
        );
        let device = Device::default();
        let stop = crate::Options {
            stop_after_epochs: Some(1),
            ..crate::Options::default()
        };
        let start = crate::Start::New {
            experiment,
            out: Some(dir.path().join("run")),
            init: None,
        };
        let run = crate::train(start, &device, &stop, &mut crate::Silent)
            .unwrap()
            .run;
        let text = std::fs::read_to_string(run.config()).unwrap();
        let edited = text.replace("lr = 0.001", "lr = 0.01");
        assert_ne!(edited, text);
        std::fs::write(run.config(), edited).unwrap();
        let resume = || crate::Start::Resume(run.path().to_path_buf());
        let refused = crate::train(resume(), &device, &stop, &mut crate::Silent);
        let message = refused.err().unwrap().to_string();
        assert!(
            message.contains("(sft.lr)") && message.contains("--allow-changed-settings"),
            "{message}"
        );
        let allowed = crate::Options {
            allow_changed_settings: true,
            ..stop
        };
        crate::train(resume(), &device, &allowed, &mut crate::Silent).unwrap();
    }

    #[test]
    fn a_run_of_an_older_checkpoint_format_is_not_resumed() {
        let dir = tempfile::tempdir().unwrap();
        experiment_file(dir.path(), "");
        // An SFT checkpoint and no model card: written before checkpoint format 2.
        let run = RunDir::new(dir.path());
        std::fs::create_dir_all(run.checkpoints()).unwrap();
        std::fs::write(run.checkpoint(Stage::Sft), b"weights").unwrap();
        let resumed = crate::train(
            crate::Start::Resume(dir.path().to_path_buf()),
            &Device::default(),
            &crate::Options::default(),
            &mut crate::Silent,
        );
        let message = resumed.err().unwrap().to_string();
        assert!(message.contains("older latentr3"), "{message}");
        assert!(!RunDir::new(dir.path()).card().exists(), "no card written");
    }

    #[test]
    fn a_run_in_use_is_refused_and_its_lock_goes_with_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let experiment = experiment_file(&dir.path().join("settings"), "");
        let run = RunDir::new(dir.path().join("run"));
        let held = run.lock().unwrap();
        let again = run.lock().err().unwrap().to_string();
        assert!(again.contains("in use by another"), "{again}");
        let start = crate::Start::New {
            experiment,
            out: Some(run.path().to_path_buf()),
            init: None,
        };
        let device = Device::default();
        let options = crate::Options::default();
        let refused = crate::train(start, &device, &options, &mut crate::Silent);
        let message = refused.err().unwrap().to_string();
        assert!(message.contains("in use by another"), "{message}");
        assert!(!run.holds_run(), "nothing written into a run in use");
        drop(held);
        run.lock().unwrap();
    }

    #[test]
    fn a_damaged_checkpoint_is_refused_before_burn_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let experiment = experiment_file(
            &dir.path().join("settings"),
            "min_length = 6\nmax_length = 12\n[data]\ncache = false\n[sft]\nepochs = 3\n",
        );
        let stop = crate::Options {
            stop_after_epochs: Some(1),
            ..crate::Options::default()
        };
        let start = crate::Start::New {
            experiment: experiment.clone(),
            out: Some(dir.path().join("run")),
            init: None,
        };
        let device = Device::default();
        let run = crate::train(start, &device, &stop, &mut crate::Silent)
            .unwrap()
            .run;
        let sft = run.checkpoint(Stage::Sft);
        let num_items = crate::card::ModelCard::read(&run).unwrap().num_items;
        load_model(&sft, &experiment, num_items, &device).unwrap();
        let good = std::fs::read(&sft).unwrap();

        // One flipped bit in the tensor data (burn alone would load it silently), then a
        // truncated file: both named, with the record that caught them.
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        std::fs::write(&sft, &flipped).unwrap();
        let damaged = load_model(&sft, &experiment, num_items, &device)
            .err()
            .unwrap();
        assert!(
            matches!(&damaged, Error::Damaged { path, .. } if path == &sft),
            "{damaged}"
        );
        assert!(damaged.to_string().contains("sft.bpk.sha256"), "{damaged}");
        std::fs::write(&sft, &good[..good.len() / 2]).unwrap();
        let truncated = load_model(&sft, &experiment, num_items, &device)
            .err()
            .unwrap();
        assert!(matches!(truncated, Error::Damaged { .. }), "{truncated}");
        std::fs::write(&sft, &good).unwrap();

        // The resumable state's files are checked too: `--resume` refuses, naming the file.
        let optimizer = run.last().join("optimizer.bpk");
        let mut bytes = std::fs::read(&optimizer).unwrap();
        bytes[100] ^= 0x40;
        std::fs::write(&optimizer, bytes).unwrap();
        let resume = crate::Start::Resume(run.path().to_path_buf());
        let refused = crate::train(resume, &device, &stop, &mut crate::Silent);
        let message = refused.err().unwrap().to_string();
        assert!(message.contains("optimizer.bpk is damaged"), "{message}");
    }

    #[test]
    fn a_checkpoint_being_replaced_is_accepted_in_either_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rl.bpk");
        let temp = dir.path().join("rl.tmp.bpk");
        std::fs::write(&path, b"old weights").unwrap();
        write_checksum(&path, &[sha256(&path).unwrap()]).unwrap();
        std::fs::write(&temp, b"new weights").unwrap();
        replace_checked(&temp, &path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new weights");
        verify_checkpoint(&path).unwrap();
        let record = std::fs::read_to_string(checksum_path(&path)).unwrap();
        assert_eq!(record.lines().count(), 1, "{record}");
        // Killed between the record of both digests and the rename: the old file is accepted,
        // and so is the new one after the rename; a third content is not.
        let both = [sha256(&path).unwrap(), {
            std::fs::write(&temp, b"old weights").unwrap();
            sha256(&temp).unwrap()
        }];
        write_checksum(&path, &both).unwrap();
        verify_checkpoint(&path).unwrap();
        std::fs::rename(&temp, &path).unwrap();
        verify_checkpoint(&path).unwrap();
        std::fs::write(&path, b"other weights").unwrap();
        assert!(matches!(
            verify_checkpoint(&path),
            Err(Error::Damaged { .. })
        ));
    }

    /// A loss that turns non-finite (here: a learning rate of 1e30 from the second epoch on)
    /// stops SFT naming the step; the last good state stays loadable and, with the settings
    /// put back, the run resumes from it.
    #[test]
    fn a_non_finite_loss_stops_sft_and_keeps_the_last_good_state() {
        let dir = tempfile::tempdir().unwrap();
        let experiment = experiment_file(
            &dir.path().join("settings"),
            "min_length = 6\nmax_length = 12\n[data]\ncache = false\n[sft]\nepochs = 3\nbatch_size = 4\n",
        );
        let device = Device::default();
        let stop = crate::Options {
            stop_after_epochs: Some(1),
            ..crate::Options::default()
        };
        let start = crate::Start::New {
            experiment,
            out: Some(dir.path().join("run")),
            init: None,
        };
        let run = crate::train(start, &device, &stop, &mut crate::Silent)
            .unwrap()
            .run;
        let good = std::fs::read(run.last().join("progress.json")).unwrap();
        let text = std::fs::read_to_string(run.config()).unwrap();
        std::fs::write(run.config(), text.replace("lr = 0.001", "lr = 1e30")).unwrap();
        let allowed = crate::Options {
            allow_changed_settings: true,
            ..crate::Options::default()
        };
        let resume = || crate::Start::Resume(run.path().to_path_buf());
        let stopped = crate::train(resume(), &device, &allowed, &mut crate::Silent);
        let error = stopped.err().unwrap();
        assert!(
            matches!(
                &error,
                Error::Stopped {
                    source: TrainError::NonFinite { epoch: 1, .. },
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(format!("{error:?}").contains("step"), "{error:?}");
        assert_eq!(
            std::fs::read(run.last().join("progress.json")).unwrap(),
            good
        );
        std::fs::write(run.config(), text).unwrap();
        let finished = crate::train(
            resume(),
            &device,
            &crate::Options::default(),
            &mut crate::Silent,
        )
        .unwrap();
        assert!(finished.report.is_some());
    }
}
