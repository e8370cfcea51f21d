//! The one place TensorBoard event files are written, so swapping the writer touches nothing
//! else. Records are framed by tensorboard-rs's `RecordWriter` and summaries built with its
//! `summary` module; the file itself is written here, not by its `SummaryWriter`, whose writer
//! thread panics on any I/O error (a full disk would abort the run). Without the `tensorboard`
//! feature a [`Board`] writes nothing.

use std::path::{Path, PathBuf};

#[cfg(feature = "tensorboard")]
use protobuf::Message;
#[cfg(feature = "tensorboard")]
use tensorboard_proto::event::Event;
#[cfg(feature = "tensorboard")]
use tensorboard_rs::record_writer::RecordWriter;

/// Scalars to a TensorBoard log directory. Writing never panics: the first I/O error is kept
/// (see [`Board::check`]) and nothing more is written.
pub struct Board {
    #[cfg(feature = "tensorboard")]
    writer: Option<RecordWriter<std::io::BufWriter<std::fs::File>>>,
    path: PathBuf,
    error: Option<std::io::Error>,
}

fn wall_time() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Board {
    /// A new event file in `dir` (created if needed), named as TensorBoard expects
    /// (`events.out.tfevents.<time>.<host>.<pid>.0`).
    pub fn new(dir: &Path) -> std::io::Result<Board> {
        std::fs::create_dir_all(dir)?;
        let name = format!(
            "events.out.tfevents.{:010}.latentr3.{}.0",
            wall_time() as u64,
            std::process::id()
        );
        let path = dir.join(name);
        #[cfg(feature = "tensorboard")]
        {
            let file = std::fs::File::create(&path)?;
            let mut board = Board {
                writer: Some(RecordWriter::new(std::io::BufWriter::new(file))),
                path,
                error: None,
            };
            let mut header = Event::new();
            header.set_wall_time(wall_time());
            header.set_file_version("brain.Event:2".to_string());
            board.write(&header);
            board.flush();
            board.check()?;
            Ok(board)
        }
        #[cfg(not(feature = "tensorboard"))]
        Ok(Board { path, error: None })
    }

    /// The event file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The first write error to [`path`](Self::path), if any; after it the board writes
    /// nothing.
    pub fn check(&mut self) -> std::io::Result<()> {
        self.error.take().map_or(Ok(()), Err)
    }

    #[cfg(feature = "tensorboard")]
    fn write(&mut self, event: &Event) {
        let Some(writer) = &mut self.writer else {
            return;
        };
        let result = event
            .write_to_bytes()
            .map_err(std::io::Error::other)
            .and_then(|bytes| writer.write(&bytes));
        if let Err(error) = result {
            self.fail(error);
        }
    }

    #[cfg(feature = "tensorboard")]
    fn fail(&mut self, error: std::io::Error) {
        self.writer = None;
        self.error.get_or_insert(error);
    }

    /// One scalar; NaN and infinite values are skipped (TensorBoard draws them as gaps anyway).
    #[cfg_attr(not(feature = "tensorboard"), allow(unused_variables))]
    pub fn scalar(&mut self, tag: &str, value: f64, step: usize) {
        #[cfg(feature = "tensorboard")]
        if value.is_finite() {
            let mut event = Event::new();
            event.set_wall_time(wall_time());
            event.set_step(step as i64);
            event.set_summary(tensorboard_rs::summary::scalar(tag, value as f32));
            self.write(&event);
        }
    }

    /// Every metric of a report under `prefix/` (`valid/NDCG@10`).
    pub fn report(&mut self, prefix: &str, report: &latentr3_eval::Report, step: usize) {
        for (name, value) in &report.metrics {
            self.scalar(&format!("{prefix}/{name}"), *value, step);
        }
    }

    /// Numeric hyper-parameters as `hparams/<key>` scalars at step 0 (tensorboard-rs has no
    /// hparams plugin writer); the full resolved config is `config.toml` in the run directory.
    pub fn hyperparameters(&mut self, table: &toml::Table) {
        fn walk(board: &mut Board, prefix: &str, value: &toml::Value) {
            match value {
                toml::Value::Table(table) => {
                    for (key, value) in table {
                        let name = if prefix.is_empty() {
                            key.clone()
                        } else {
                            format!("{prefix}.{key}")
                        };
                        walk(board, &name, value);
                    }
                }
                toml::Value::Integer(i) => board.scalar(&format!("hparams/{prefix}"), *i as f64, 0),
                toml::Value::Float(f) => board.scalar(&format!("hparams/{prefix}"), *f, 0),
                toml::Value::Boolean(b) => {
                    board.scalar(&format!("hparams/{prefix}"), f64::from(u8::from(*b)), 0)
                }
                _ => {}
            }
        }
        walk(self, "", &toml::Value::Table(table.clone()));
    }

    pub fn flush(&mut self) {
        #[cfg(feature = "tensorboard")]
        if let Some(writer) = &mut self.writer
            && let Err(error) = writer.flush()
        {
            self.fail(error);
        }
    }
}
