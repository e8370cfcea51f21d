//! SFT determinism, in its own test binary: burn's device random state is process-wide, so
//! trainings running concurrently in one test process would draw from each other's stream.

mod common;

use common::{cases, fixture, sft};
use latentr3_eval::baselines::MostPopular;
use latentr3_model::Mode;

#[test]
fn sft_learns_beats_popularity_and_is_deterministic() {
    let f = fixture();
    let test = cases(&f, false);
    let popular = f
        .evaluator
        .evaluate(&MostPopular::new(&f.counts), &test, "test")
        .unwrap()
        .report;
    let (valid_a, test_a) = sft(Mode::Latent, 10, &f);
    let (valid_b, test_b) = sft(Mode::Latent, 10, &f);
    assert_eq!(
        (valid_a, test_a),
        (valid_b, test_b),
        "same seed, same metrics"
    );
    let floor = popular.metric("NDCG@10").unwrap();
    assert!(
        test_a > floor,
        "trained NDCG@10 {test_a} does not beat most-popular {floor}"
    );
}
