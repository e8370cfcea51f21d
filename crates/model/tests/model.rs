//! Model behaviour: the thought cache equals a full re-run, modes, the loss, and SFT training
//! (determinism is checked in `determinism.rs`, a process of its own).

mod common;

use burn::prelude::*;
use common::{fixture, small};
use latentr3_model::loss::cross_entropy;
use latentr3_model::sft::SftConfig;
use latentr3_model::{
    Backbone, BackboneKind, Inputs, Mode, ModelConfig, Positions, Recommender, SequenceBackbone,
    TrainError,
};

const BACKBONES: [BackboneKind; 2] = [BackboneKind::Sasrec, BackboneKind::Gru4rec];

fn max_abs_difference(a: Tensor<2>, b: Tensor<2>) -> f32 {
    (a - b).abs().max().into_scalar::<f32>()
}

#[test]
fn a_thought_on_the_cache_equals_a_full_rerun() {
    let device = Device::default();
    device.seed(1);
    let config = ModelConfig {
        thoughts: 2,
        ..small(Mode::Latent)
    };
    let model = Recommender::new(&config, 30, &device).valid();
    let Backbone::Sasrec(sasrec) = &model.backbone else {
        panic!("SASRec is the default backbone")
    };
    let histories: Vec<&[u32]> = vec![&[1, 2, 3, 4, 5, 6], &[7, 8], &[9]];
    let inputs = Inputs::from_histories(&histories, 6, &device);
    let encoded = model.encode(&inputs);
    let head = model.head.as_ref().unwrap();
    let thought = head.forward(&encoded);
    let cached = model.backbone.append_thought(&encoded, thought.clone());

    // The same positions run from scratch, history and slot together, with the slot's mask row
    // seeing every real position.
    let embedded = Tensor::cat(
        vec![
            sasrec.embed(inputs.ids.clone()),
            sasrec.embed_thought(thought, 0),
        ],
        1,
    );
    let mut ids: Vec<i64> = inputs
        .ids
        .clone()
        .into_data()
        .try_into_vec_as::<i64>()
        .unwrap();
    let with_slot: Vec<i64> = ids
        .chunks_mut(6)
        .flat_map(|row| row.iter().copied().chain([1]))
        .collect();
    let full_inputs = Inputs::new(&with_slot, 3, 7, &device);
    let (hidden, _) = sasrec.forward_embedded(embedded, full_inputs.blocked);
    let full_last = hidden.narrow(1, 6, 1).reshape([3, 16]);
    let difference = max_abs_difference(cached.last(), full_last);
    assert!(
        difference < 1e-4,
        "cached vs full re-run differ by {difference}"
    );

    // Chained thoughts extend the same cache: history + two slots.
    let second = model.think(encoded);
    assert_eq!(second.len(), 8);
    assert_eq!(second.thoughts, 2);
}

#[test]
fn modes_share_the_backbone_and_score_every_item() {
    let device = Device::default();
    device.seed(3);
    let latent = Recommender::new(&small(Mode::Latent), 30, &device).valid();
    let backbone = Recommender::new(&small(Mode::Backbone), 30, &device).valid();
    assert_eq!(latent.mode(), Mode::Latent);
    assert!(backbone.head.is_none() && backbone.thoughts() == 0);
    let histories: Vec<&[u32]> = vec![&[1, 2, 3], &[4]];
    let inputs = Inputs::from_histories(&histories, 6, &device);
    assert_eq!(latent.scores(&inputs).dims(), [2, 31]);
    assert_eq!(backbone.scores(&inputs).dims(), [2, 31]);
    // Backbone mode scores from the last history position.
    let encoded = backbone.encode(&inputs);
    let direct = backbone.backbone.score(encoded.last());
    assert!(max_abs_difference(direct, backbone.scores(&inputs)) < 1e-6);
}

#[test]
fn cross_entropy_matches_log_softmax() {
    let device = Device::default();
    let logits = Tensor::<2>::from_data([[1.0f32, 2.0, 3.0], [0.0, 0.0, 10.0]], &device);
    let targets = Tensor::<1, Int>::from_data([2, 0], &device);
    let expected = {
        let row = |l: [f64; 3], t: usize| {
            let lse = l.iter().map(|x| x.exp()).sum::<f64>().ln();
            lse - l[t]
        };
        (row([1.0, 2.0, 3.0], 2) + row([0.0, 0.0, 10.0], 0)) / 2.0
    };
    let actual = f64::from(cross_entropy(logits, targets).into_scalar::<f32>());
    assert!((actual - expected).abs() < 1e-4, "{actual} vs {expected}");
}

#[test]
fn a_diverging_loss_stops_with_the_step() {
    let f = fixture();
    let device = Device::default();
    let model = Recommender::new(&small(Mode::Backbone), f.dataset.num_items(), &device);
    let settings = SftConfig {
        epochs: 3,
        lr: 1e30,
        warmup_steps: 0,
        grad_clip: 0.0,
        ..SftConfig::default()
    };
    match f.train(model, &device, &settings) {
        Err(TrainError::NonFinite { step, .. }) => {
            let message = TrainError::NonFinite {
                step,
                epoch: 0,
                value: f64::NAN,
            }
            .to_string();
            assert!(message.contains(&format!("step {step}")));
        }
        other => panic!(
            "expected a non-finite loss error, got {:?}",
            other.map(|o| o.best_epoch)
        ),
    }
}

/// Sequences where the next item is always the previous one plus one: any working sequence model
/// drives the loss close to zero; one that ignores the history cannot go below ln(items).
#[test]
fn learns_a_deterministic_successor_rule() {
    use latentr3_data::{Dataset, Sequences};
    let items = 40u32;
    let mut sequences = Sequences {
        offsets: vec![0],
        ..Default::default()
    };
    for user in 0..200u32 {
        for step in 0..12u32 {
            sequences.items.push((user * 7 + step) % items + 1);
            sequences.times.push(i64::from(step));
        }
        sequences.offsets.push(sequences.items.len());
    }
    let dataset = Dataset {
        name: "successor".into(),
        sequences,
        user_ids: (0..200).map(|u| u.to_string()).collect(),
        item_ids: (0..=items).map(|i| i.to_string()).collect(),
        ..Default::default()
    };
    let f = common::harness(dataset, vec![1, 10]);
    let settings = [
        (BackboneKind::Sasrec, Mode::Backbone),
        (BackboneKind::Sasrec, Mode::Latent),
        (BackboneKind::Gru4rec, Mode::Backbone),
        (BackboneKind::Gru4rec, Mode::Latent),
    ];
    for (backbone, mode) in settings {
        let device = Device::default();
        device.seed(11);
        let config = ModelConfig {
            backbone,
            max_len: 12,
            hidden: 32,
            heads: 2,
            inner: 64,
            dropout: 0.0,
            ..small(mode)
        };
        let model = Recommender::new(&config, items as usize, &device);
        let settings = SftConfig {
            epochs: 30,
            batch_size: 32,
            lr: 5e-3,
            warmup_steps: 10,
            patience: 100,
            ..SftConfig::default()
        };
        let outcome = f.train(model, &device, &settings).unwrap();
        let hr1 = outcome.best_valid.metric("HR@1").unwrap();
        assert!(
            hr1 > 0.9,
            "{backbone} {mode:?}: HR@1 {hr1} on a deterministic successor rule"
        );
    }
}

#[test]
fn alternative_thoughts_equal_each_thought_appended_alone() {
    for backbone in BACKBONES {
        alternative_thoughts_of(backbone);
    }
}

fn alternative_thoughts_of(backbone: BackboneKind) {
    let device = Device::default();
    device.seed(3);
    let config = ModelConfig {
        backbone,
        ..small(Mode::Latent)
    };
    let model = Recommender::new(&config, 30, &device).valid();
    let histories: Vec<&[u32]> = vec![&[1, 2, 3, 4, 5, 6], &[7, 8], &[9]];
    let inputs = Inputs::from_histories(&histories, 6, &device);
    let encoded = model.encode(&inputs);
    let thought = model.head.as_ref().unwrap().forward(&encoded);
    let [batch, d] = thought.dims();
    let group = 4;
    let noise = Tensor::<3>::random(
        [batch, group, d],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    let candidates = thought.unsqueeze_dim::<3>(1) + noise;
    let together = model
        .backbone
        .alternative_thoughts(&encoded, candidates.clone());
    for k in 0..group {
        let alone = model
            .backbone
            .append_thought(
                &encoded,
                candidates.clone().narrow(1, k, 1).reshape([batch, d]),
            )
            .last();
        let joint = together.clone().narrow(1, k, 1).reshape([batch, d]);
        let difference = max_abs_difference(alone, joint);
        assert!(difference < 1e-4, "{backbone}, candidate {k}: {difference}");
    }
}

#[test]
fn thoughts_after_every_position_match_the_last_thought_and_are_causal() {
    for backbone in BACKBONES {
        thoughts_after_every_position_of(backbone);
    }
}

fn thoughts_after_every_position_of(backbone: BackboneKind) {
    let device = Device::default();
    device.seed(5);
    let config = ModelConfig {
        backbone,
        ..small(Mode::Latent)
    };
    let model = Recommender::new(&config, 30, &device).valid();
    let head = model.head.as_ref().unwrap();
    let slots_of = |histories: Vec<&[u32]>| {
        let inputs = Inputs::from_histories(&histories, 6, &device);
        let encoded = model.encode(&inputs);
        let thoughts = head.forward_every_prefix(encoded.hidden.clone(), inputs.blocked.clone());
        let slots = model
            .backbone
            .thoughts_after_every_position(&encoded, thoughts, &inputs);
        (slots, model.think_once(&encoded).last())
    };
    let (slots, last) = slots_of(vec![&[1, 2, 3, 4, 5, 6][..], &[7, 8], &[9]]);
    let [batch, len, d] = slots.dims();
    // The slot after the last position is the ordinary thought.
    let after_last = slots.clone().narrow(1, len - 1, 1).reshape([batch, d]);
    assert!(max_abs_difference(after_last, last) < 1e-4, "{backbone}");
    // Slot t does not see later items: changing them leaves slots 0..=2 of row 0 unchanged.
    let (changed, _) = slots_of(vec![&[1, 2, 3, 10, 11, 12][..], &[7, 8], &[9]]);
    let early = |s: Tensor<3>| s.narrow(0, 0, 1).narrow(1, 0, 3).reshape([3, d]);
    assert!(
        max_abs_difference(early(slots.clone()), early(changed.clone())) < 1e-4,
        "{backbone}"
    );
    let late = |s: Tensor<3>| s.narrow(0, 0, 1).narrow(1, 3, 3).reshape([3, d]);
    assert!(
        max_abs_difference(late(slots), late(changed)) > 1e-3,
        "{backbone}"
    );
}

/// GRU4Rec reads a thought slot as one more recurrent step: a slot whose input is item `x`'s
/// embedding equals reading `x` as the next item, and left padding leaves the state at zero, so
/// the same history padded to any length ends in the same state.
#[test]
fn gru4rec_thought_slots_continue_the_recurrence_and_padding_is_skipped() {
    let device = Device::default();
    device.seed(9);
    let config = ModelConfig {
        backbone: BackboneKind::Gru4rec,
        gru_layers: 2,
        gru_state: 24,
        ..small(Mode::Latent)
    };
    let model = Recommender::new(&config, 30, &device).valid();
    let Backbone::Gru4Rec(gru) = &model.backbone else {
        panic!("built a GRU4Rec")
    };
    let histories: Vec<&[u32]> = vec![&[1, 2, 3, 4, 5], &[7, 8], &[9]];
    let inputs = Inputs::from_histories(&histories, 6, &device);
    let encoded = model.encode(&inputs);
    let next = Tensor::<1, Int>::from_data([11, 12, 13], &device);
    let as_thought = gru.items.forward(next.reshape([3, 1])).reshape([3, 16]);
    let slot = model.backbone.append_thought(&encoded, as_thought).last();
    let longer: Vec<&[u32]> = vec![&[1, 2, 3, 4, 5, 11], &[7, 8, 12], &[9, 13]];
    let read = model
        .encode(&Inputs::from_histories(&longer, 6, &device))
        .last();
    assert!(max_abs_difference(slot, read) < 1e-5);
    let padded = model
        .encode(&Inputs::from_histories(&histories, 11, &device))
        .last();
    assert!(max_abs_difference(encoded.last(), padded) < 1e-5);
}

/// Hidden states of the real positions of a single history, `[items, d]`.
fn history_states(model: &Recommender, history: &[u32], len: usize) -> Tensor<2> {
    let device = Device::default();
    let inputs = Inputs::from_histories(&[history], len, &device);
    let hidden = model.encode(&inputs).hidden;
    let [_, seen, d] = hidden.dims();
    hidden
        .narrow(1, seen - history.len(), history.len())
        .reshape([history.len(), d])
}

#[test]
fn positions_from_start_keep_a_prefix_unchanged_when_items_are_appended() {
    let device = Device::default();
    for (positions, unchanged) in [(Positions::FromStart, true), (Positions::FromEnd, false)] {
        device.seed(5);
        let config = ModelConfig {
            positions,
            ..small(Mode::Backbone)
        };
        let model = Recommender::new(&config, 30, &device).valid();
        let prefix = history_states(&model, &[7, 8], 6);
        let longer = history_states(&model, &[7, 8, 9], 6).narrow(0, 0, 2);
        let difference = max_abs_difference(prefix, longer);
        assert_eq!(
            difference < 1e-5,
            unchanged,
            "{positions:?}: prefix states moved by {difference}"
        );
    }
}

#[test]
fn dropout_acts_on_the_training_device_only() {
    let device = Device::default();
    device.seed(9);
    let config = ModelConfig {
        dropout: 0.2,
        ..small(Mode::Backbone)
    };
    let model = Recommender::new(&config, 30, &device);
    let histories: Vec<&[u32]> = vec![&[1, 2, 3, 4], &[5, 6]];
    let last = |model: &Recommender, device: &Device| {
        model
            .encode(&Inputs::from_histories(&histories, 6, device))
            .last()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    };
    let training_device = device.clone().autodiff();
    let training = model.fork(&training_device).train();
    assert_ne!(
        last(&training, &training_device),
        last(&training, &training_device),
        "two training passes should draw different dropout masks"
    );
    let evaluation = training.valid();
    assert_eq!(last(&evaluation, &device), last(&evaluation, &device));
}

#[test]
fn random_offsets_train_every_epoch_layout_and_refuse_a_stride() {
    let f = fixture();
    let device = Device::default();
    device.seed(11);
    let config = ModelConfig {
        max_len: 10,
        ..small(Mode::Backbone)
    };
    let settings = SftConfig {
        epochs: 2,
        batch_size: 16,
        random_offsets: true,
        patience: 100,
        seed: 3,
        ..SftConfig::default()
    };
    let model = Recommender::new(&config, f.dataset.num_items(), &device);
    let outcome = f.train(model.clone(), &device, &settings).unwrap();
    let batcher = latentr3_model::sft::windows(&f.dataset, &f.split, 10, &settings);
    let expected: usize = (0..2).map(|e| batcher.num_batches_in(3 + e)).sum();
    assert_eq!(outcome.steps, expected);
    assert_ne!(batcher.num_batches_in(3), 0);

    let strided = SftConfig {
        window_stride: 5,
        ..settings
    };
    let message = f.train(model, &device, &strided).unwrap_err().to_string();
    assert!(message.contains("window_stride = 5"), "{message}");
}
