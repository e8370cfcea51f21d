//! The one place TensorBoard event files are written (tensorboard-rs behind a small type), so
//! swapping the writer touches nothing else. Without the `tensorboard` feature a [`Board`]
//! writes nothing.

use std::path::Path;

#[cfg(feature = "tensorboard")]
use tensorboard_rs::summary_writer::SummaryWriter;

/// Scalars to a TensorBoard log directory.
pub struct Board {
    #[cfg(feature = "tensorboard")]
    writer: SummaryWriter,
}

impl Board {
    /// Event files go to `dir` (created if needed).
    pub fn new(dir: &Path) -> std::io::Result<Board> {
        std::fs::create_dir_all(dir)?;
        Ok(Board {
            #[cfg(feature = "tensorboard")]
            writer: SummaryWriter::new(dir),
        })
    }

    /// One scalar; NaN and infinite values are skipped (TensorBoard draws them as gaps anyway).
    #[cfg_attr(not(feature = "tensorboard"), allow(unused_variables))]
    pub fn scalar(&mut self, tag: &str, value: f64, step: usize) {
        #[cfg(feature = "tensorboard")]
        if value.is_finite() {
            self.writer.add_scalar(tag, value as f32, step);
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
        self.writer.flush();
    }
}
