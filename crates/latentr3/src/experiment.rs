//! Experiment files: TOML with one section per crate, `deny_unknown_fields` everywhere, and
//! `--set section.key=value` overrides applied before validation.

use std::path::Path;

use latentr3_data::DataConfig;
use latentr3_eval::{CollapseConfig, EvalConfig};
use latentr3_grpo::RlConfig;
use latentr3_model::{BackboneKind, Mode, ModelConfig, SftConfig};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A whole experiment: the `[data]`, `[eval]`, `[collapse]`, `[model]`, `[sft]` and `[rl]`
/// sections of a TOML file, each the configuration of one member crate.
///
/// ```no_run
/// let experiment = latentr3::Experiment::load(
///     "experiments/ml-100k.toml".as_ref(),
///     &["model.mode=backbone".to_string()],
/// )?;
/// experiment.validate()?;
/// # Ok::<(), latentr3::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// A name for the run (defaults to the file stem).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub data: DataConfig,
    #[serde(default)]
    pub eval: EvalConfig,
    #[serde(default)]
    pub collapse: CollapseConfig,
    #[serde(default)]
    pub model: ModelConfig,
    #[serde(default)]
    pub sft: SftConfig,
    #[serde(default)]
    pub rl: RlConfig,
}

/// A short name of the model, for run names and reports: the mode (`backbone`, `latent`),
/// prefixed by the encoder when it is not the default SASRec (`gru4rec-latent`).
pub trait ModeName {
    fn mode_name(&self) -> String;
}

impl ModeName for ModelConfig {
    fn mode_name(&self) -> String {
        let mode = match self.mode {
            Mode::Backbone => "backbone",
            Mode::Latent => "latent",
        };
        match self.backbone {
            BackboneKind::Sasrec => mode.to_string(),
            other => format!("{other}-{mode}"),
        }
    }
}

impl Experiment {
    /// Reads an experiment file and applies `key=value` overrides (dotted keys, TOML values;
    /// a value that is not valid TOML is taken as a string).
    pub fn load(path: &Path, overrides: &[String]) -> Result<Experiment> {
        let text =
            std::fs::read_to_string(path).map_err(Error::io("read the experiment file", path))?;
        let invalid = |message: String| Error::Experiment {
            path: path.to_path_buf(),
            message,
        };
        // Parsing the text itself first gives errors with the file's line and column.
        let mut experiment: Experiment =
            toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if !overrides.is_empty() {
            let mut table: toml::Table =
                toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
            for assignment in overrides {
                apply_override(&mut table, assignment)?;
            }
            experiment = Experiment::deserialize(toml::Value::Table(table))
                .map_err(|e| invalid(format!("with --set {}: {e}", overrides.join(" --set "))))?;
        }
        if experiment.name.is_none() {
            experiment.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        Ok(experiment)
    }

    /// An experiment over one data file with default settings (a file that carries its own
    /// split gets it, with no filter; see `DataConfig::from_path`) and `key=value` overrides,
    /// as `latentr3 data stats <file>` reads it.
    pub fn for_file(path: &Path, overrides: &[String]) -> Result<Experiment> {
        let mut experiment = Experiment {
            name: path.file_stem().map(|s| s.to_string_lossy().into_owned()),
            data: DataConfig::from_path(path),
            ..Experiment::default()
        };
        if !overrides.is_empty() {
            let invalid = |message: String| Error::Experiment {
                path: path.to_path_buf(),
                message,
            };
            let mut table: toml::Table =
                toml::from_str(&experiment.to_toml()).map_err(|e| invalid(e.to_string()))?;
            for assignment in overrides {
                apply_override(&mut table, assignment)?;
            }
            experiment = Experiment::deserialize(toml::Value::Table(table))
                .map_err(|e| invalid(format!("with --set {}: {e}", overrides.join(" --set "))))?;
        }
        Ok(experiment)
    }

    /// Checks the settings before any work starts, naming the section and the setting:
    ///
    /// | section | refused |
    /// |---|---|
    /// | `[model]` | `hidden` not a positive multiple of `heads`, or odd; `max_len`, `layers`, `inner` 0; `dropout` outside [0, 1); latent mode with `thoughts = 0`; GRU4Rec with `gru_state` or `gru_layers` 0 |
    /// | `[sft]` | `epochs` or `batch_size` 0; `lr` not a positive number; `weight_decay`, `grad_clip`, `thought_loss_weight` negative or not finite; `min_lr_ratio` outside [0, 1] |
    /// | `[rl]` | `batch_size`, `group_size`, `iterations` 0; `sigma`, `lr` not positive; empty `rewards`; rewards' `k` 0 (see `RlConfig::validate`) |
    /// | `[collapse]` | `k` not one of `eval.ks` (the monitor would watch metrics nobody computes) |
    ///
    /// Data settings are checked when the data loads, and `eval.ks` against the catalogue when
    /// the evaluator is built: both before training.
    pub fn validate(&self) -> Result<()> {
        let setting = |section: &'static str| move |message| Error::Setting { section, message };
        self.model.validate().map_err(setting("model"))?;
        self.sft.validate().map_err(setting("sft"))?;
        self.rl.validate().map_err(setting("rl"))?;
        if !self.eval.ks.contains(&self.collapse.k) {
            return Err(setting("collapse")(format!(
                "k = {} is not one of eval.ks {:?}: the monitor watches ItemCoverage@k, Gini@k \
                 and APLT@k, which the evaluator computes only at those K",
                self.collapse.k, self.eval.ks
            )));
        }
        Ok(())
    }

    /// The resolved experiment as TOML, for run directories.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("an experiment always serialises to TOML")
    }
}

impl Experiment {
    /// What makes two experiments' evaluations incomparable, one line per difference (dotted
    /// setting, both values): the data and its split (which cases, which candidates, which
    /// inputs) and whether seen items are masked. Empty when a paired comparison is meaningful.
    pub fn protocol_differences(&self, other: &Experiment) -> Vec<String> {
        let mut out = Vec::new();
        let as_value = |e: &Experiment| {
            serde_json::json!({
                "data": e.data,
                "eval": { "mask_history": e.eval.mask_history },
            })
        };
        differences("", &as_value(self), &as_value(other), &mut out);
        out
    }
}

/// Appends `path: a vs b` for every leaf where `a` and `b` differ.
fn differences(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                differences(
                    &child,
                    x.get(key).unwrap_or(&Value::Null),
                    y.get(key).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if a != b => out.push(format!("{path}: {a} vs {b}")),
        _ => {}
    }
}

fn apply_override(table: &mut toml::Table, assignment: &str) -> Result<()> {
    let fail = |message: &str| Error::Override {
        assignment: assignment.to_string(),
        message: message.to_string(),
    };
    let Some((key, raw)) = assignment.split_once('=') else {
        return Err(fail(
            "expected key=value, such as --set data.filter.user_core=10",
        ));
    };
    let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let mut parts: Vec<&str> = key.trim().split('.').collect();
    let last = parts.pop().filter(|p| !p.is_empty());
    let Some(last) = last else {
        return Err(fail("the key is empty"));
    };
    let mut current = table;
    for part in parts {
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry
            .as_table_mut()
            .ok_or_else(|| fail(&format!("`{part}` is not a section")))?;
    }
    current.insert(last.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn unknown_keys_name_the_file_and_key() {
        let file = write("[data]\npath = \"u.data\"\nuser_cores = 5\n");
        let message = Experiment::load(file.path(), &[]).unwrap_err().to_string();
        assert!(
            message.contains(&file.path().display().to_string()),
            "{message}"
        );
        assert!(
            message.contains("user_cores") && message.contains("line 3"),
            "{message}"
        );
    }

    #[test]
    fn a_data_file_alone_takes_overrides_and_its_own_split() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("u.data");
        std::fs::write(&plain, "1\t1\t5\t1\n").unwrap();
        let experiment = Experiment::for_file(&plain, &["data.filter.user_core=2".into()]).unwrap();
        assert_eq!(experiment.data.filter.user_core, 2);
        assert_eq!(
            experiment.data.split.kind,
            latentr3_data::SplitKind::LeaveOneOut
        );
        let error = Experiment::for_file(&plain, &["data.filter.user_cores=2".into()]);
        assert!(error.unwrap_err().to_string().contains("user_cores"));
        // A RecBole benchmark file carries its split: no filter, split.kind = "predefined".
        let split = dir.path().join("ml.test.inter");
        std::fs::write(&split, "user_id:token\titem_id:token\n1\t2\n").unwrap();
        let experiment = Experiment::for_file(&split, &[]).unwrap();
        assert_eq!(
            experiment.data.split.kind,
            latentr3_data::SplitKind::Predefined
        );
        assert_eq!(experiment.data.filter, latentr3_data::FilterConfig::none());
    }

    #[test]
    fn overrides_set_nested_values_with_toml_types() {
        let file = write("[data]\npath = \"u.data\"\n");
        let experiment = Experiment::load(
            file.path(),
            &[
                "data.filter.user_core=10".into(),
                "data.filter.min_rating=4.0".into(),
                "eval.ks=[1, 3]".into(),
            ],
        )
        .unwrap();
        assert_eq!(experiment.data.filter.user_core, 10);
        assert_eq!(experiment.data.filter.min_rating, Some(4.0));
        assert_eq!(experiment.eval.ks, [1, 3]);
        assert!(Experiment::load(file.path(), &["data.filter.bogus=1".into()]).is_err());
        assert!(Experiment::load(file.path(), &["novalue".into()]).is_err());
    }

    /// Every row of `validate`'s table, refused with its section named.
    #[test]
    fn settings_that_cannot_work_are_refused_naming_their_section() {
        let file = write("[data]\npath = \"u.data\"\n");
        assert!(
            Experiment::load(file.path(), &[])
                .unwrap()
                .validate()
                .is_ok()
        );
        let refused = [
            ("model.hidden=33", "[model]"),
            ("model.max_len=0", "[model]"),
            ("model.dropout=1.0", "[model]"),
            ("model.thoughts=0", "[model]"),
            ("model.backbone=\"gru4rec\"\nmodel.gru_state=0", "[model]"),
            ("sft.epochs=0", "[sft]"),
            ("sft.batch_size=0", "[sft]"),
            ("sft.lr=-0.001", "[sft]"),
            ("sft.lr=nan", "[sft]"),
            ("sft.weight_decay=-1.0", "[sft]"),
            ("sft.grad_clip=-1.0", "[sft]"),
            ("sft.thought_loss_weight=inf", "[sft]"),
            ("sft.min_lr_ratio=1.5", "[sft]"),
            ("rl.group_size=0", "[rl]"),
            ("rl.batch_size=0", "[rl]"),
            ("rl.sigma=0.0", "[rl]"),
            ("rl.lr=-1.0", "[rl]"),
            ("rl.rewards=[]", "[rl]"),
            ("collapse.k=15", "[collapse]"),
        ];
        for (overrides, section) in refused {
            let overrides: Vec<String> = overrides.split('\n').map(str::to_string).collect();
            let experiment = Experiment::load(file.path(), &overrides).unwrap();
            let message = experiment
                .validate()
                .err()
                .unwrap_or_else(|| panic!("{overrides:?} was accepted"))
                .to_string();
            assert!(message.starts_with(section), "{overrides:?}: {message}");
        }
    }

    #[test]
    fn protocol_differences_name_the_setting() {
        let file = write("[data]\npath = \"u.data\"\n");
        let a = Experiment::load(file.path(), &[]).unwrap();
        let same = Experiment::load(file.path(), &["sft.lr=0.5".into()]).unwrap();
        assert!(
            a.protocol_differences(&same).is_empty(),
            "training settings are not protocol"
        );
        let b = Experiment::load(
            file.path(),
            &[
                "eval.mask_history=false".into(),
                "data.split.kind=\"temporal\"".into(),
            ],
        )
        .unwrap();
        let found = a.protocol_differences(&b);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("data.split.kind: \"leave-one-out\" vs \"temporal\""));
        assert_eq!(found[1], "eval.mask_history: true vs false");
    }

    #[test]
    fn shipped_experiments_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let experiment = Experiment::load(&path, &[])
                    .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
                names.push(experiment.name.unwrap());
            }
        }
        names.sort();
        assert_eq!(
            names,
            [
                "amazon-2018-toys",
                "instruments",
                "ml-100k",
                "ml-100k-gru4rec",
                "ml-1m",
                "synthetic"
            ]
        );
    }
}
