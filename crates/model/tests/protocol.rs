//! The data → evaluation bridge on sequences much longer than the model's input: masking removes
//! everything the user saw before the target, not only the last `max_history` items. Checked
//! against ranks computed straight from the raw sequences.

use latentr3_data::{
    DataConfig, FilterConfig, Popularity, Split, SplitConfig, SplitKind, SyntheticConfig,
};
use latentr3_eval::baselines::MostPopular;
use latentr3_eval::{EvalConfig, Evaluator};
use latentr3_model::evaluation::{cases, item_stats};

#[test]
fn masked_ranks_cover_the_whole_history_of_long_users() {
    let config = DataConfig {
        synthetic: Some(SyntheticConfig {
            users: 150,
            items: 300,
            min_length: 2,
            max_length: 120,
            ..SyntheticConfig::default()
        }),
        filter: FilterConfig {
            user_core: 0,
            item_core: 0,
            ..FilterConfig::default()
        },
        cache: false,
        ..DataConfig::default()
    };
    let dataset = config.load().unwrap().dataset;
    let longest = dataset
        .sequences
        .iter()
        .map(|(_, s)| s.len())
        .max()
        .unwrap();
    assert!(
        longest > 60,
        "the fixture needs users far longer than max_history"
    );
    for kind in [SplitKind::LeaveOneOut, SplitKind::Temporal] {
        let split = Split::new(
            &dataset,
            &SplitConfig {
                kind,
                max_history: 7,
                ..SplitConfig::default()
            },
        )
        .unwrap();
        let popularity = Popularity::from_split(&dataset, &split);
        let evaluator = Evaluator::new(
            EvalConfig {
                ks: vec![10],
                ..EvalConfig::default()
            },
            item_stats(&popularity),
        )
        .unwrap();
        let test_cases = cases(&dataset, &split, &split.test);
        let evaluation = evaluator
            .evaluate(&MostPopular::new(&popularity.counts), &test_cases, "test")
            .unwrap();
        let score = |i: u32| popularity.counts[i as usize] as f32;
        for (sample, rank) in split.test.iter().zip(&evaluation.ranks) {
            let sequence = dataset.sequences.items(sample.user);
            let p = sample.position as usize;
            let target = sequence[p];
            let seen = &sequence[..p];
            let expected = 1
                + (1..=dataset.num_items() as u32)
                    .filter(|&i| i != target && !seen.contains(&i) && score(i) >= score(target))
                    .count() as u32;
            assert_eq!(*rank, expected, "{kind:?}, user {}", sample.user);
        }
    }
}
