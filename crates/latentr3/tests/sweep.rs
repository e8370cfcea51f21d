//! `latentr3::sweep`: a small study trained, tabulated, and read again without training. One
//! test at a time: the device's random generator is global.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use latentr3::burn::prelude::Device;
use latentr3::sweep::{EPOCH_SECONDS, MOST_POPULAR, Sweep, SweepRow};

fn one_at_a_time() -> MutexGuard<'static, ()> {
    static DEVICE: Mutex<()> = Mutex::new(());
    DEVICE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn study(dir: &Path) -> Sweep {
    let config = dir.join("tiny.toml");
    std::fs::write(
        &config,
        "[data]\ncache = false\n[data.synthetic]\nusers = 60\nitems = 30\n\
         min_length = 6\nmax_length = 12\n[sft]\nepochs = 2\nseed = 7\n[rl]\nepochs = 1\n",
    )
    .unwrap();
    let rows = [
        SweepRow::parse("backbone: model.mode=backbone").unwrap(),
        SweepRow::parse("latent").unwrap(),
        SweepRow::parse("pg: rl.objective=\"gaussian_pg\"; rl.advantage=\"group\"").unwrap(),
    ];
    Sweep {
        config,
        overrides: vec![],
        rows: SweepRow::product(&rows, &[]).unwrap(),
        seeds: 2,
        most_popular: true,
        baseline: Some("backbone".into()),
        metrics: None,
        out: dir.join("study"),
    }
}

#[test]
fn a_sweep_trains_every_row_and_seed_then_reads_them_back_without_training() {
    let _device = one_at_a_time();
    let device = Device::default();
    let dir = tempfile::tempdir().unwrap();
    let sweep = study(dir.path());
    let first = latentr3::sweep::run(&sweep, &device, &mut latentr3::Silent).unwrap();
    assert_eq!((first.trained, first.skipped), (6, 0));
    assert_eq!(first.seeds, [7, 8]);
    let names: Vec<&str> = first.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            MOST_POPULAR,
            "backbone",
            "latent [sft]",
            "latent [rl]",
            "pg [rl]"
        ]
    );
    // The RL-only row took the latent row's SFT stage (same seed, same settings but [rl]).
    for seed in [7, 8] {
        let report = |row: &str| -> latentr3::RunReport {
            let path = sweep
                .out
                .join(format!("runs/{row}/seed-{seed}/report.json"));
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
        };
        assert_eq!(
            report("pg").sft.metrics,
            report("latent").sft.metrics,
            "seed {seed}"
        );
        let config =
            std::fs::read_to_string(sweep.out.join(format!("runs/pg/seed-{seed}/config.toml")))
                .unwrap();
        assert!(config.contains("gaussian_pg"), "{config}");
    }
    for seed in [7, 8] {
        let run = sweep.out.join(format!("runs/latent/seed-{seed}"));
        let report: latentr3::RunReport =
            serde_json::from_slice(&std::fs::read(run.join("report.json")).unwrap()).unwrap();
        let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
        assert!(config.contains(&format!("seed = {seed}")), "{config}");
        // The table's per-seed values are the runs' own reports.
        let row = &first.rows[2];
        assert_eq!(
            row.seeds[&seed]["NDCG@10"], report.sft.metrics["NDCG@10"],
            "seed {seed}"
        );
        assert_eq!(
            first.rows[3].seeds[&seed]["NDCG@10"],
            report.rl.as_ref().unwrap().metrics["NDCG@10"]
        );
        assert!(row.seeds[&seed][EPOCH_SECONDS] > 0.0);
    }
    // Mean over the two seeds, and a Student-t interval around it (t(0.975, 1) = 12.706).
    let latent = &first.rows[2];
    let values: Vec<f64> = latent.seeds.values().map(|m| m["NDCG@10"]).collect();
    let summary = latent.summary["NDCG@10"];
    assert!((summary.mean - (values[0] + values[1]) / 2.0).abs() < 1e-12);
    let half = 12.7062 * (values[0] - values[1]).abs() / 2.0;
    assert!(((summary.high - summary.mean) - half).abs() < 1e-3 * half.max(1e-9));
    // Against the baseline: every row but the baseline, on HR and NDCG at each K.
    assert!(first.rows[1].versus_baseline.is_empty());
    for row in [
        &first.rows[0],
        &first.rows[2],
        &first.rows[3],
        &first.rows[4],
    ] {
        assert_eq!(row.versus_baseline.len(), 6, "{}", row.name);
        let ndcg = row
            .versus_baseline
            .iter()
            .find(|v| v.metric == "NDCG@10")
            .unwrap();
        let expected = row.summary["NDCG@10"].mean - first.rows[1].summary["NDCG@10"].mean;
        assert!((ndcg.difference - expected).abs() < 1e-9, "{}", row.name);
        assert!(ndcg.low <= ndcg.difference && ndcg.difference <= ndcg.high);
    }
    for file in ["sweep.md", "sweep.csv", "sweep-runs.csv", "sweep.json"] {
        assert!(sweep.out.join(file).exists(), "{file}");
    }
    let markdown = std::fs::read_to_string(sweep.out.join("sweep.md")).unwrap();
    assert!(markdown.contains("| latent [rl] |"), "{markdown}");
    assert!(markdown.contains("Against backbone"), "{markdown}");

    // A second run trains nothing and tabulates the same numbers.
    let again = latentr3::sweep::run(&sweep, &device, &mut latentr3::Silent).unwrap();
    assert_eq!((again.trained, again.skipped), (0, 6));
    assert_eq!(
        serde_json::to_value(&again.rows).unwrap(),
        serde_json::to_value(&first.rows).unwrap()
    );

    // A run directory of other settings under a row's name is refused, not mixed in.
    let mut changed = sweep.clone();
    changed.rows[1].overrides.push("model.hidden=32".into());
    let error = latentr3::sweep::run(&changed, &device, &mut latentr3::Silent)
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("runs/latent/seed-7") && error.contains("other settings"),
        "{error}"
    );
}

#[test]
fn a_sweep_refuses_what_it_cannot_tabulate_before_training() {
    let _device = one_at_a_time();
    let device = Device::default();
    let dir = tempfile::tempdir().unwrap();
    let mut sweep = study(dir.path());
    sweep.baseline = Some("latent".into());
    let error = latentr3::sweep::run(&sweep, &device, &mut latentr3::Silent)
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("\"latent [sft]\"") && error.contains("not a row"),
        "{error}"
    );
    sweep.baseline = None;
    sweep.rows[1]
        .overrides
        .push("eval.mask_history=false".into());
    let error = latentr3::sweep::run(&sweep, &device, &mut latentr3::Silent)
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("mask_history"), "{error}");
    sweep.rows[1].overrides = vec!["model.no_such_key=1".into()];
    assert!(latentr3::sweep::run(&sweep, &device, &mut latentr3::Silent).is_err());
    // Nothing was trained.
    assert!(!sweep.out.join("runs").exists());
}
