//! Evaluates scores another program wrote to disk: any model becomes a [`Scorer`] in a few lines.
//!
//! ```sh
//! cargo run -p latentr3-eval --example score_file -- DIR
//! ```
//!
//! `DIR/cases.json` holds `{"ks": [10], "mask_history": true, "counts": [...], "is_tail":
//! [...], "train_users": 943, "cases": [{"seen": [3, 8], "target": 5}, ...]}` (item ids from 1;
//! index 0 of `counts` and `is_tail` is padding) and `DIR/scores.f32` one row of `items + 1`
//! little-endian `f32` per case. Prints the report as JSON. `benches/numpy_eval.py` writes such
//! a directory and checks numpy's figures against this one's.

use std::path::PathBuf;

use latentr3_eval::{Case, EvalConfig, Evaluator, ItemStats};
use serde::Deserialize;

#[derive(Deserialize)]
struct CaseFile {
    ks: Vec<usize>,
    mask_history: bool,
    counts: Vec<u64>,
    is_tail: Vec<bool>,
    train_users: usize,
    cases: Vec<StoredCase>,
}

#[derive(Deserialize)]
struct StoredCase {
    seen: Vec<u32>,
    target: u32,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: score_file DIR")?);
    let file: CaseFile = serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json"))?)?;
    let slots = file.counts.len();
    let bytes = std::fs::read(dir.join("scores.f32"))?;
    if bytes.len() != file.cases.len() * slots * 4 {
        return Err(format!(
            "scores.f32 has {} bytes; expected {} cases x {slots} slots x 4",
            bytes.len(),
            file.cases.len()
        )
        .into());
    }
    let scores: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();

    // The scorer: case `user` reads row `user` of the file.
    let scorer = |cases: &[Case<'_>], out: &mut [f32]| {
        for (case, row) in cases.iter().zip(out.chunks_mut(slots)) {
            let start = case.user as usize * slots;
            row.copy_from_slice(&scores[start..start + slots]);
        }
    };
    let cases: Vec<Case<'_>> = file
        .cases
        .iter()
        .enumerate()
        .map(|(row, c)| Case {
            user: row as u32,
            history: &c.seen,
            seen: &c.seen,
            target: c.target,
        })
        .collect();
    let config = EvalConfig {
        ks: file.ks,
        mask_history: file.mask_history,
        ..EvalConfig::default()
    };
    let stats = ItemStats {
        counts: file.counts,
        is_tail: file.is_tail,
        train_users: file.train_users,
    };
    let evaluation = Evaluator::new(config, stats)?.evaluate(&scorer, &cases, "test")?;
    println!("{}", serde_json::to_string_pretty(&evaluation.report)?);
    Ok(())
}
