//! Writes what `benches/recbole_parity.py` needs to check both encoders against RecBole's own
//! SASRec layers and GRU4Rec forward: for each, a freshly initialised backbone's parameters (by
//! module path), four histories with targets (full-length for SASRec; 50, 17, 3 and 1 items,
//! left-padded, for GRU4Rec), the last position's hidden state, the scores, the cross-entropy
//! and its gradient with respect to the item embeddings (dropout 0, so both sides are
//! deterministic).
//!
//! ```text
//! cargo run -p latentr3-model --example recbole_parity -- /tmp/parity.json
//! python benches/recbole_parity.py /tmp/parity.json   # in an environment with RecBole
//! ```

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use latentr3_model::loss::cross_entropy;
use latentr3_model::{
    Backbone, BackboneKind, Inputs, Mode, ModelConfig, Recommender, SequenceBackbone,
};
use serde_json::{Map, Value, json};

const ITEMS: usize = 1682;
const ROWS: usize = 4;

/// Collects every float parameter under its dotted module path.
#[derive(Default)]
struct Parameters {
    path: Vec<String>,
    found: Map<String, Value>,
}

impl ModuleVisitor for Parameters {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let tensor = param.val();
        let shape = tensor.dims().to_vec();
        self.found.insert(
            self.path.join("."),
            json!({ "shape": shape, "data": values(tensor) }),
        );
    }
}

fn values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .try_to_vec::<f32>()
        .expect("float tensor")
}

/// Random item ids from a fixed generator: `lengths[r]` items at the end of row `r`, padding
/// (0) before them.
fn histories(lengths: &[usize], len: usize) -> Vec<i64> {
    let mut state = 12_345u64;
    let mut ids = Vec::with_capacity(lengths.len() * len);
    for &length in lengths {
        for column in 0..len {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let item = ((state >> 33) % ITEMS as u64 + 1) as i64;
            ids.push(if column + length >= len { item } else { 0 });
        }
    }
    ids
}

/// Everything the Python side compares, for one encoder.
fn dump(config: &ModelConfig, lengths: &[usize]) -> Value {
    let device = Device::default();
    device.seed(7);
    let model = Recommender::new(config, ITEMS, &device);
    // Paths as `backbone.<parameter>`, without the encoder's variant name.
    let mut parameters = Parameters {
        path: vec!["backbone".into()],
        ..Parameters::default()
    };
    match &model.backbone {
        Backbone::Sasrec(encoder) => encoder.visit(&mut parameters),
        Backbone::Gru4Rec(encoder) => encoder.visit(&mut parameters),
    }
    let len = config.max_len;
    let ids = histories(lengths, len);
    let targets: Vec<i64> = vec![5, 77, 1000, ITEMS as i64];

    let evaluation = model.clone().valid();
    let hidden = evaluation
        .encode(&Inputs::new(&ids, ROWS, len, &device))
        .last();
    let scores = evaluation.backbone.score(hidden.clone());

    let training_device = device.clone().autodiff();
    let training = model.fork(&training_device).train();
    let last = training
        .encode(&Inputs::new(&ids, ROWS, len, &training_device))
        .last();
    let loss = cross_entropy(
        training.backbone.score(last),
        Tensor::from_data(TensorData::new(targets.clone(), [ROWS]), &training_device),
    );
    let gradients = loss.backward();
    let item_gradient = training
        .backbone
        .item_embeddings()
        .grad(&gradients)
        .expect("the item embeddings take part in the loss");
    json!({
        "max_len": len,
        "hidden_size": config.hidden,
        "state_size": config.gru_state,
        "lengths": lengths,
        "params": parameters.found,
        "ids": ids,
        "targets": targets,
        "hidden": values(hidden),
        "scores": values(scores),
        "loss": loss.into_scalar::<f32>(),
        "item_gradient": values(item_gradient),
    })
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "recbole_parity.json".into());
    let sasrec = ModelConfig {
        mode: Mode::Backbone,
        dropout: 0.0,
        ..ModelConfig::default()
    };
    let gru4rec = ModelConfig {
        backbone: BackboneKind::Gru4rec,
        ..sasrec.clone()
    };
    // With no padding, our positions and RecBole's coincide (0..max_len).
    let mut report = dump(&sasrec, &[sasrec.max_len; ROWS]);
    report["gru4rec"] = dump(&gru4rec, &[50, 17, 3, 1]);
    std::fs::write(&out, report.to_string()).expect("writable output path");
    eprintln!("wrote {out}");
}
