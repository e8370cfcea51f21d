//! Writes what `benches/recbole_parity.py` needs to check the backbone against RecBole's own
//! SASRec layers: a freshly initialised backbone's parameters (by module path), four full-length
//! histories with targets, the last position's hidden state, the scores, the cross-entropy and
//! its gradient with respect to the item embeddings (dropout 0, so both sides are deterministic).
//!
//! ```text
//! cargo run -p latentr3-model --example recbole_parity -- /tmp/parity.json
//! python benches/recbole_parity.py /tmp/parity.json   # in an environment with RecBole
//! ```

use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use latentr3_model::loss::cross_entropy;
use latentr3_model::{Backbone, Inputs, Mode, ModelConfig, Recommender, SequenceBackbone};
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

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "recbole_parity.json".into());
    let device = Device::default();
    device.seed(7);
    let config = ModelConfig {
        mode: Mode::Backbone,
        dropout: 0.0,
        ..ModelConfig::default()
    };
    let model = Recommender::new(&config, ITEMS, &device);
    // Paths as `backbone.<parameter>`, without the encoder's variant name.
    let Backbone::Sasrec(sasrec) = &model.backbone else {
        unreachable!("SASRec is the default backbone")
    };
    let mut parameters = Parameters {
        path: vec!["backbone".into()],
        ..Parameters::default()
    };
    sasrec.visit(&mut parameters);

    // Full histories: with no padding, our positions and RecBole's coincide (0..max_len).
    let len = config.max_len;
    let mut state = 12_345u64;
    let ids: Vec<i64> = (0..ROWS * len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) % ITEMS as u64 + 1) as i64
        })
        .collect();
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
    let Backbone::Sasrec(trained) = &training.backbone else {
        unreachable!("SASRec is the default backbone")
    };
    let item_gradient = trained
        .items
        .weight
        .grad(&gradients)
        .expect("the item embeddings take part in the loss");

    let report = json!({
        "max_len": len,
        "hidden_size": config.hidden,
        "params": parameters.found,
        "ids": ids,
        "targets": targets,
        "hidden": values(hidden),
        "scores": values(scores),
        "loss": loss.into_scalar::<f32>(),
        "item_gradient": values(item_gradient),
    });
    std::fs::write(&out, report.to_string()).expect("writable output path");
    eprintln!("wrote {out}");
}
