//! Hand-computed cases for every metric, ties, masking, merging, baselines, the bootstrap and the
//! collapse monitor.

use latentr3_eval::baselines::{MostPopular, UniformRandom};
use latentr3_eval::{
    Case, CollapseConfig, CollapseMonitor, EvalConfig, EvalError, Evaluator, ItemStats, Scorer,
    compare_ranks, paired_bootstrap,
};

/// Five items: head = {1, 2} (10 + 6 = 16 of 20 interactions = 80%), tail = {3, 4, 5}.
fn stats() -> ItemStats {
    ItemStats {
        counts: vec![0, 10, 6, 3, 1, 0],
        is_tail: vec![false, false, false, true, true, true],
        train_users: 4,
    }
}

/// Case A (user 0): history [1], target 3. Case B (user 1): no history, target 2.
fn table_scorer(cases: &[Case<'_>], out: &mut [f32]) {
    let table = [
        [0.0, 0.9, 0.8, 0.7, 0.1, 0.2],
        [0.0, 0.5, 0.4, 0.4, 0.9, 0.1],
    ];
    for (case, row) in cases.iter().zip(out.chunks_mut(6)) {
        row.copy_from_slice(&table[case.user as usize]);
    }
}

const HISTORY_A: [u32; 1] = [1];

fn cases() -> Vec<Case<'static>> {
    vec![
        Case {
            user: 0,
            history: &HISTORY_A,
            seen: &HISTORY_A,
            target: 3,
        },
        Case {
            user: 1,
            history: &[],
            seen: &[],
            target: 2,
        },
    ]
}

fn close(actual: Option<f64>, expected: f64, name: &str) {
    let actual = actual.unwrap_or_else(|| panic!("{name} missing"));
    assert!(
        (actual - expected).abs() < 1e-6,
        "{name}: {actual} != {expected}"
    );
}

#[test]
fn every_metric_on_a_hand_computed_case() {
    let evaluator = Evaluator::new(
        EvalConfig {
            ks: vec![2, 1],
            ..EvalConfig::default()
        },
        stats(),
    )
    .unwrap();
    let evaluation = evaluator.evaluate(&table_scorer, &cases(), "test").unwrap();
    // A: item 1 masked; item 2 (0.8) beats the target (0.7): rank 2, list [2, 3].
    // B: items 1 (0.5), 3 (0.4, a tie) and 4 (0.9) count against target 2: rank 4, list [4, 1].
    assert_eq!(evaluation.ranks, [2, 4]);
    assert_eq!(evaluation.tail_targets, [true, false]);
    let m = |name: &str| evaluation.report.metric(name);
    close(m("HR@1"), 0.0, "HR@1");
    close(m("HR@2"), 0.5, "HR@2");
    close(m("NDCG@2"), 0.5 / 3f64.log2(), "NDCG@2");
    close(m("MRR@2"), 0.25, "MRR@2");
    close(m("TailHR@2"), 1.0, "TailHR@2");
    close(m("TailNDCG@2"), 1.0 / 3f64.log2(), "TailNDCG@2");
    close(m("HeadHR@2"), 0.0, "HeadHR@2");
    close(m("HeadNDCG@2"), 0.0, "HeadNDCG@2");
    // Exposure at K=2: items 1-4 once each, item 5 never.
    close(m("ItemCoverage@2"), 0.8, "ItemCoverage@2");
    close(m("ItemCoverage@1"), 0.4, "ItemCoverage@1");
    // Sorted [0,1,1,1,1]: (-4·0 - 2·1 + 0·1 + 2·1 + 4·1) / (5·4) = 0.2.
    close(m("Gini@2"), 0.2, "Gini@2");
    close(m("Entropy@2"), 4f64.ln(), "Entropy@2");
    close(m("EntropyNorm@2"), 4f64.ln() / 5f64.ln(), "EntropyNorm@2");
    // ARP: A (6 + 3) / 2, B (1 + 10) / 2.
    close(m("ARP@2"), 5.0, "ARP@2");
    // APLT: one tail item in each list of 2.
    close(m("APLT@2"), 0.5, "APLT@2");
    let novelty = |c: f64| -((c + 1.0) / 5.0).log2();
    close(
        m("Novelty@2"),
        (novelty(6.0) + novelty(3.0) + novelty(1.0) + novelty(10.0)) / 4.0,
        "Novelty@2",
    );
    let p = &evaluation.report.protocol;
    assert_eq!(
        (p.ks.clone(), p.cases, p.head_cases, p.tail_cases),
        (vec![1, 2], 2, 1, 1)
    );
    assert!(p.mask_history);
}

#[test]
fn masking_is_part_of_the_protocol_and_changes_ranks() {
    let config = EvalConfig {
        ks: vec![2],
        mask_history: false,
        ..EvalConfig::default()
    };
    let evaluation = Evaluator::new(config, stats())
        .unwrap()
        .evaluate(&table_scorer, &cases(), "test")
        .unwrap();
    assert_eq!(
        evaluation.ranks,
        [3, 4],
        "unmasked, history item 1 (0.9) outranks the target"
    );
    assert!(!evaluation.report.protocol.mask_history);
    assert!(evaluation.report.to_string().contains("not masked"));
}

fn catalogue(n: usize) -> ItemStats {
    // Power-law-ish counts; head/tail by the 80% rule computed by hand here.
    let mut counts = vec![0u64];
    counts.extend((1..=n as u64).map(|i| 1000 / i));
    let total: u64 = counts.iter().sum();
    let mut held = 0;
    let is_tail = counts
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i == 0 {
                return false;
            }
            let tail = held as f64 >= 0.8 * total as f64;
            held += c;
            tail
        })
        .collect();
    ItemStats {
        counts,
        is_tail,
        train_users: 500,
    }
}

fn synthetic_cases(n: usize, count: usize) -> (Vec<Vec<u32>>, Vec<u32>) {
    let histories = (0..count)
        .map(|u| vec![(u % n + 1) as u32, ((u * 7) % n + 1) as u32])
        .collect();
    let targets = (0..count).map(|u| ((u * 13 + 5) % n + 1) as u32).collect();
    (histories, targets)
}

fn as_cases<'a>(histories: &'a [Vec<u32>], targets: &[u32]) -> Vec<Case<'a>> {
    histories
        .iter()
        .zip(targets)
        .enumerate()
        .map(|(u, (h, &t))| Case {
            user: u as u32,
            history: h,
            seen: h,
            target: t,
        })
        .collect()
}

#[test]
fn a_constant_scorer_never_gets_a_hit_and_random_gets_about_k_over_n() {
    let n = 100;
    let (histories, targets) = synthetic_cases(n, 3000);
    let cases = as_cases(&histories, &targets);
    let config = EvalConfig {
        ks: vec![10],
        mask_history: false,
        ..EvalConfig::default()
    };
    let evaluator = Evaluator::new(config, catalogue(n)).unwrap();
    let constant = |cases: &[Case<'_>], out: &mut [f32]| out[..cases.len() * (n + 1)].fill(1.0);
    let report = evaluator
        .evaluate(&constant, &cases, "test")
        .unwrap()
        .report;
    // Every other item ties with the target and counts against it: rank n.
    assert_eq!(report.metric("HR@10"), Some(0.0));
    let random = evaluator
        .evaluate(&UniformRandom { seed: 1 }, &cases, "test")
        .unwrap()
        .report;
    let hr = random.metric("HR@10").unwrap();
    assert!(
        (hr - 0.1).abs() < 0.03,
        "random HR@10 = {hr}, expected about K/n = 0.1"
    );
}

#[test]
fn k_larger_than_the_catalogue_is_a_clear_error() {
    let err = Evaluator::new(
        EvalConfig {
            ks: vec![5, 10],
            ..EvalConfig::default()
        },
        stats(),
    )
    .unwrap_err();
    assert_eq!(err, EvalError::KTooLarge { k: 10, items: 5 });
    assert!(err.to_string().contains("K = 10") && err.to_string().contains("number of items (5)"));
    let bad_target = [Case {
        user: 0,
        history: &[],
        seen: &[],
        target: 6,
    }];
    let evaluator = Evaluator::new(
        EvalConfig {
            ks: vec![1],
            ..EvalConfig::default()
        },
        stats(),
    )
    .unwrap();
    assert!(matches!(
        evaluator.evaluate(&table_scorer, &bad_target, "test"),
        Err(EvalError::BadTarget { .. })
    ));
}

#[test]
fn coverage_is_a_fraction_and_most_popular_is_the_floor() {
    let n = 200;
    let (histories, targets) = synthetic_cases(n, 1000);
    let cases = as_cases(&histories, &targets);
    let stats = catalogue(n);
    let evaluator = Evaluator::new(EvalConfig::default(), stats.clone()).unwrap();
    let popular = evaluator
        .evaluate(&MostPopular::new(&stats.counts), &cases, "test")
        .unwrap()
        .report;
    // A "personalised" scorer: prefers items near the user's last history item.
    let near = |cases: &[Case<'_>], out: &mut [f32]| {
        for (case, row) in cases.iter().zip(out.chunks_mut(n + 1)) {
            let last = *case.history.last().unwrap() as f32;
            for (item, slot) in row.iter_mut().enumerate() {
                *slot = -(item as f32 - last).abs();
            }
        }
    };
    let scorers: [(&str, &dyn Scorer); 2] =
        [("random", &UniformRandom { seed: 3 }), ("near", &near)];
    for (name, scorer) in scorers {
        let report = evaluator.evaluate(scorer, &cases, "test").unwrap().report;
        for k in [5, 10, 20] {
            let coverage = report.metric(&format!("ItemCoverage@{k}")).unwrap();
            assert!(
                (0.0..=1.0).contains(&coverage),
                "{name} coverage {coverage}"
            );
            let floor = popular.metric(&format!("ItemCoverage@{k}")).unwrap();
            assert!(
                floor < coverage,
                "{name}: most-popular coverage {floor} is not below {coverage}"
            );
        }
    }
}

#[test]
fn merged_batch_counters_equal_one_pass() {
    let n = 150;
    let (histories, targets) = synthetic_cases(n, 777);
    let cases = as_cases(&histories, &targets);
    let scorer = UniformRandom { seed: 9 };
    let evaluator = Evaluator::new(
        EvalConfig {
            batch_size: 1000,
            ..EvalConfig::default()
        },
        catalogue(n),
    )
    .unwrap();

    // One pass, by hand, on one buffer.
    let mut one = evaluator.new_counters();
    let mut parts = [
        evaluator.new_counters(),
        evaluator.new_counters(),
        evaluator.new_counters(),
    ];
    let mut top = Vec::new();
    let mut row = vec![0f32; n + 1];
    for (index, case) in cases.iter().enumerate() {
        scorer.score(std::slice::from_ref(case), &mut row);
        evaluator.count_case(case, &mut row.clone(), &mut top, &mut one);
        evaluator.count_case(case, &mut row, &mut top, &mut parts[index % 3]);
    }
    let [mut merged, b, c] = parts;
    merged.merge(&b);
    merged.merge(&c);
    let (a, b) = (
        evaluator.report(&one, "test"),
        evaluator.report(&merged, "test"),
    );
    for (name, value) in &a.metrics {
        assert!(
            (value - b.metrics[name]).abs() < 1e-12,
            "{name}: {value} vs {}",
            b.metrics[name]
        );
    }

    // The parallel, batched evaluator agrees with the one pass too, whatever the batch size.
    for batch_size in [1, 64] {
        let batched = Evaluator::new(
            EvalConfig {
                batch_size,
                ..EvalConfig::default()
            },
            catalogue(n),
        )
        .unwrap();
        let report = batched.evaluate(&scorer, &cases, "test").unwrap().report;
        for (name, value) in &a.metrics {
            assert!(
                (value - report.metrics[name]).abs() < 1e-12,
                "batch {batch_size} {name}"
            );
        }
    }
}

#[test]
fn bootstrap_interval_contains_the_true_difference() {
    // B is better than A by exactly 0.05 on average: alternating +0.15 / -0.05 per case.
    let a: Vec<f64> = (0..2000).map(|i| (i % 7) as f64 / 10.0).collect();
    let b: Vec<f64> = a
        .iter()
        .enumerate()
        .map(|(i, x)| x + if i % 2 == 0 { 0.15 } else { -0.05 })
        .collect();
    let comparison = paired_bootstrap("NDCG@10", &a, &b, 2000, 7).unwrap();
    assert!((comparison.difference - 0.05).abs() < 1e-12);
    assert!(
        comparison.low < 0.05 && 0.05 < comparison.high,
        "{comparison:?}"
    );
    assert!(
        comparison.low > 0.0,
        "a real difference is detected: {comparison:?}"
    );
    assert_eq!(comparison.verdict(), "B better");
    assert_eq!(
        comparison,
        paired_bootstrap("NDCG@10", &a, &b, 2000, 7).unwrap(),
        "seeded"
    );
    // Identical runs: the interval is [0, 0].
    let same = compare_ranks("HR@10", &[1, 5, 20], &[1, 5, 20], 500, 1).unwrap();
    assert_eq!((same.low, same.high), (0.0, 0.0));
    assert!(compare_ranks("HR@10", &[1], &[1, 2], 10, 1).is_err());
    assert!(compare_ranks("Recall@10", &[1], &[1], 10, 1).is_err());
}

#[test]
fn collapse_monitor_raises_named_alarms() {
    let n = 200;
    let (histories, targets) = synthetic_cases(n, 500);
    let cases = as_cases(&histories, &targets);
    let stats = catalogue(n);
    let evaluator = Evaluator::new(EvalConfig::default(), stats.clone()).unwrap();
    let reference = evaluator
        .evaluate(&UniformRandom { seed: 5 }, &cases, "valid")
        .unwrap()
        .report;
    let monitor = CollapseMonitor::new(
        CollapseConfig {
            stop_on_alarm: true,
            ..CollapseConfig::default()
        },
        reference.clone(),
    );
    assert!(monitor.check(&reference).is_empty());
    let mut collapsed = evaluator
        .evaluate(&MostPopular::new(&stats.counts), &cases, "valid")
        .unwrap()
        .report;
    assert!(
        monitor.observe(&mut collapsed),
        "an alarm stops training when configured"
    );
    let names: Vec<&str> = collapsed.alarms.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["coverage_drop", "gini_rise", "aplt_drop"]);
    let coverage = &collapsed.alarms[0];
    assert_eq!(coverage.metric, "ItemCoverage@10");
    assert!(
        (coverage.bound - 0.5 * coverage.reference).abs() < 1e-12
            && coverage.value < coverage.bound
    );
    assert!(collapsed.to_string().contains("ALARM coverage_drop"));
    // Ratio alarms need a reference worth dropping from: with every reference APLT below
    // min_reference, the APLT drop is not an alarm.
    let lenient = CollapseMonitor::new(
        CollapseConfig {
            min_reference: 1.1,
            ..CollapseConfig::default()
        },
        reference,
    );
    let names: Vec<String> = lenient
        .check(&collapsed)
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["gini_rise"]);
}

#[test]
fn report_json_has_protocol_and_named_metrics() {
    let evaluator = Evaluator::new(
        EvalConfig {
            ks: vec![1, 2],
            ..EvalConfig::default()
        },
        stats(),
    )
    .unwrap();
    let report = evaluator
        .evaluate(&table_scorer, &cases(), "test")
        .unwrap()
        .report;
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert_eq!(json["protocol"]["split"], "test");
    assert!(json["metrics"]["NDCG@2"].is_number() && json["metrics"]["APLT@2"].is_number());
    let table = report.to_string();
    assert!(
        table.contains("NDCG") && table.contains("@2") && table.contains("full ranking"),
        "{table}"
    );
}

/// Category metrics by hand. Items 1: {a}, 2: {a, b}, 3: {b}, 4: {c}, 5: none; no masking, so
/// case A lists [1, 2] at K = 2 ([1] at K = 1) and case B lists [4, 1] ([4]).
#[test]
fn category_metrics_on_a_hand_computed_case() {
    let categories = latentr3_eval::Categories::from_lists(
        vec!["a".into(), "b".into(), "c".into()],
        vec![vec![], vec![0], vec![0, 1], vec![1], vec![2], vec![]],
    );
    let config = |batch_size| EvalConfig {
        ks: vec![1, 2],
        mask_history: false,
        batch_size,
    };
    let plain = Evaluator::new(config(8), stats()).unwrap();
    let report = plain
        .evaluate(&table_scorer, &cases(), "test")
        .unwrap()
        .report;
    assert_eq!(
        report.metric("Miscalibration@2"),
        None,
        "no categories, no metric"
    );
    for batch_size in [1, 8] {
        let evaluator = Evaluator::new(config(batch_size), stats())
            .unwrap()
            .with_categories(categories.clone())
            .unwrap();
        let report = evaluator
            .evaluate(&table_scorer, &cases(), "test")
            .unwrap()
            .report;
        // Case A's history [1] is all a; its list [1, 2] is a 0.75, b 0.25; smoothed
        // q̃(a) = 0.99 × 0.75 + 0.01 × 1. Case B has no history: not counted.
        close(
            report.metric("Miscalibration@2"),
            (1.0f64 / 0.7525).ln(),
            "Miscalibration@2",
        );
        close(report.metric("Miscalibration@1"), 0.0, "Miscalibration@1");
        // Jaccard distances: [1, 2] 1 − 1/2, [4, 1] 1.
        close(report.metric("CategoryILD@2"), 0.75, "CategoryILD@2");
        assert_eq!(report.metric("CategoryILD@1"), None, "one item, no pair");
        close(
            report.metric("CategoryCoverage@2"),
            1.0,
            "CategoryCoverage@2",
        );
        close(
            report.metric("CategoryCoverage@1"),
            2.0 / 3.0,
            "CategoryCoverage@1",
        );
    }
    let short = latentr3_eval::Categories::from_lists(vec!["a".into()], vec![vec![], vec![0]]);
    let error = Evaluator::new(config(8), stats())
        .unwrap()
        .with_categories(short)
        .unwrap_err();
    assert!(error.to_string().contains("cover 2 item ids"), "{error}");
}
