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

/// The tags the hparams plugin reads (`tensorboard/plugins/hparams/metadata.py`).
#[cfg(feature = "tensorboard")]
const HPARAMS_EXPERIMENT: &str = "_hparams_/experiment";
#[cfg(feature = "tensorboard")]
const HPARAMS_SESSION_START: &str = "_hparams_/session_start_info";
#[cfg(feature = "tensorboard")]
const HPARAMS_SESSION_END: &str = "_hparams_/session_end_info";

/// A TOML table as dotted keys and their leaf values, in key order.
pub fn flatten(table: &toml::Table) -> Vec<(String, toml::Value)> {
    fn walk(prefix: &str, value: &toml::Value, out: &mut Vec<(String, toml::Value)>) {
        match value {
            toml::Value::Table(table) => {
                for (key, value) in table {
                    let name = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&name, value, out);
                }
            }
            leaf => out.push((prefix.to_string(), leaf.clone())),
        }
    }
    let mut out = Vec::new();
    walk("", &toml::Value::Table(table.clone()), &mut out);
    out
}

/// A setting as the hparams plugin's value: numbers and booleans as themselves, the rest
/// (strings, arrays, dates) as text.
#[cfg(feature = "tensorboard")]
fn hparam_value(value: &toml::Value) -> protobuf::well_known_types::Value {
    let mut out = protobuf::well_known_types::Value::new();
    match value {
        toml::Value::Integer(i) => out.set_number_value(*i as f64),
        toml::Value::Float(f) => out.set_number_value(*f),
        toml::Value::Boolean(b) => out.set_bool_value(*b),
        toml::Value::String(s) => out.set_string_value(s.clone()),
        other => out.set_string_value(other.to_string()),
    }
    out
}

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

    /// Numeric hyper-parameters as `hparams/<key>` scalars at step 0, to plot beside the
    /// curves; the HParams dashboard reads [`Board::session_start`]. The full resolved config
    /// is `config.toml` in the run directory.
    pub fn hyperparameters(&mut self, table: &toml::Table) {
        for (key, value) in flatten(table) {
            let number = match value {
                toml::Value::Integer(i) => i as f64,
                toml::Value::Float(f) => f,
                toml::Value::Boolean(b) => f64::from(u8::from(b)),
                _ => continue,
            };
            self.scalar(&format!("hparams/{key}"), number, 0);
        }
    }

    /// The HParams dashboard's record of a session starting: every setting of `table`
    /// (flattened to dotted keys: numbers, booleans and strings; arrays as their TOML text), so
    /// that TensorBoard lists the run with its settings and the final scalars it wrote.
    #[cfg_attr(not(feature = "tensorboard"), allow(unused_variables))]
    pub fn session_start(&mut self, table: &toml::Table) {
        #[cfg(feature = "tensorboard")]
        {
            use tensorboard_proto::plugin_hparams::{HParamsPluginData, SessionStartInfo};
            let mut start = SessionStartInfo::new();
            for (key, value) in flatten(table) {
                start.mut_hparams().insert(key, hparam_value(&value));
            }
            start.set_start_time_secs(wall_time());
            let mut data = HParamsPluginData::new();
            data.set_session_start_info(start);
            self.hparams_summary(HPARAMS_SESSION_START, data);
        }
    }

    /// The HParams dashboard's record of a session that finished (successfully, or not).
    #[cfg_attr(not(feature = "tensorboard"), allow(unused_variables))]
    pub fn session_end(&mut self, success: bool) {
        #[cfg(feature = "tensorboard")]
        {
            use tensorboard_proto::api::Status;
            use tensorboard_proto::plugin_hparams::{HParamsPluginData, SessionEndInfo};
            let mut end = SessionEndInfo::new();
            end.set_status(if success {
                Status::STATUS_SUCCESS
            } else {
                Status::STATUS_FAILURE
            });
            end.set_end_time_secs(wall_time());
            let mut data = HParamsPluginData::new();
            data.set_session_end_info(end);
            self.hparams_summary(HPARAMS_SESSION_END, data);
        }
    }

    /// The HParams dashboard's experiment: which settings and which scalar tags (metrics) its
    /// table shows, over the sessions (runs) below this board's directory. Without it the
    /// dashboard shows every setting and every scalar of every session.
    #[cfg_attr(not(feature = "tensorboard"), allow(unused_variables))]
    pub fn hparams_experiment(&mut self, name: &str, hparams: &[String], metrics: &[String]) {
        #[cfg(feature = "tensorboard")]
        {
            use tensorboard_proto::api::{Experiment, HParamInfo, MetricInfo, MetricName};
            use tensorboard_proto::plugin_hparams::HParamsPluginData;
            let mut experiment = Experiment::new();
            experiment.set_name(name.to_string());
            experiment.set_time_created_secs(wall_time());
            for key in hparams {
                let mut info = HParamInfo::new();
                info.set_name(key.clone());
                experiment.mut_hparam_infos().push(info);
            }
            for tag in metrics {
                let mut metric = MetricName::new();
                metric.set_tag(tag.clone());
                let mut info = MetricInfo::new();
                info.set_name(metric);
                experiment.mut_metric_infos().push(info);
            }
            let mut data = HParamsPluginData::new();
            data.set_experiment(experiment);
            self.hparams_summary(HPARAMS_EXPERIMENT, data);
        }
    }

    /// A summary as the hparams plugin writes it: its data in the metadata's plugin content,
    /// and the plugin's placeholder tensor (a float 0) as the value.
    #[cfg(feature = "tensorboard")]
    fn hparams_summary(
        &mut self,
        tag: &str,
        mut data: tensorboard_proto::plugin_hparams::HParamsPluginData,
    ) {
        use tensorboard_proto::summary::{
            Summary, Summary_Value, SummaryMetadata, SummaryMetadata_PluginData,
        };
        use tensorboard_proto::tensor::TensorProto;
        use tensorboard_proto::types::DataType;
        data.set_version(0);
        let content = match data.write_to_bytes() {
            Ok(content) => content,
            Err(error) => return self.fail(std::io::Error::other(error)),
        };
        let mut plugin = SummaryMetadata_PluginData::new();
        plugin.set_plugin_name("hparams".to_string());
        plugin.set_content(content);
        let mut metadata = SummaryMetadata::new();
        metadata.set_plugin_data(plugin);
        let mut tensor = TensorProto::new();
        tensor.set_dtype(DataType::DT_FLOAT);
        tensor.set_float_val(vec![0.0]);
        let mut value = Summary_Value::new();
        value.set_tag(tag.to_string());
        value.set_metadata(metadata);
        value.set_tensor(tensor);
        let mut summary = Summary::new();
        summary.mut_value().push(value);
        let mut event = Event::new();
        event.set_wall_time(wall_time());
        event.set_summary(summary);
        self.write(&event);
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
