//! Data-pipeline benchmark: `pipeline generate <out.csv> [rows]` writes a MovieLens-20M-shaped
//! `ratings.csv` (seeded); `pipeline run <ratings.csv>` times load + 5-core + sequences +
//! leave-one-out split and prints one JSON line with rows/s and peak RSS. `benches/run.sh`
//! runs it beside the pandas implementation in `benches/pandas_pipeline.py`.

use std::io::{BufWriter, Write};
use std::time::Instant;

use latentr3_data::{DataConfig, Split};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, LogNormal, Zipf};

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// ML-20M shape: 138,493 users, 26,744 items, Zipf item popularity, log-normal user activity
/// (at least 20 ratings each), half-star ratings, increasing timestamps per user.
fn generate(path: &str, rows: usize) -> std::io::Result<()> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(20);
    let (users, items) = (138_493usize, 26_744usize);
    let activity = LogNormal::new(0.0, 1.0).expect("valid");
    let mut weights: Vec<f64> = (0..users).map(|_| activity.sample(&mut rng)).collect();
    let total: f64 = weights.iter().sum();
    let extra = rows - 20 * users;
    let mut lengths: Vec<usize> = weights
        .iter_mut()
        .map(|w| 20 + (*w / total * extra as f64) as usize)
        .collect();
    let mut assigned: usize = lengths.iter().sum();
    let mut u = 0;
    while assigned < rows {
        lengths[u % users] += 1;
        assigned += 1;
        u += 1;
    }
    let popularity = Zipf::new(items as f64, 1.0).expect("valid");
    let mut out = BufWriter::with_capacity(1 << 22, std::fs::File::create(path)?);
    writeln!(out, "userId,movieId,rating,timestamp")?;
    let mut line = Vec::with_capacity(64);
    for (user, &length) in lengths.iter().enumerate() {
        let mut time: i64 = rng.random_range(789_652_009..1_300_000_000);
        for _ in 0..length {
            let item = popularity.sample(&mut rng) as usize;
            let rating = rng.random_range(1..=10u32);
            time += rng.random_range(0..200_000);
            line.clear();
            write!(
                line,
                "{},{},{}.{},{}",
                user + 1,
                item,
                rating / 2,
                if rating % 2 == 1 { 5 } else { 0 },
                time
            )?;
            line.push(b'\n');
            out.write_all(&line)?;
        }
    }
    out.flush()
}

fn run(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let file_bytes = std::fs::metadata(path)?.len();
    let started = Instant::now();
    let config = DataConfig {
        cache: false,
        ..DataConfig::from_path(path)
    };
    let dataset = config.load()?.dataset;
    let split = Split::new(&dataset, &config.split)?;
    let seconds = started.elapsed().as_secs_f64();
    let rows = dataset.raw.interactions;
    println!(
        "{{\"impl\":\"latentr3\",\"rows\":{rows},\"seconds\":{seconds:.3},\"rows_per_s\":{:.0},\"peak_rss_bytes\":{},\"file_bytes\":{file_bytes},\"users\":{},\"items\":{},\"interactions\":{},\"train_samples\":{},\"valid\":{},\"test\":{}}}",
        rows as f64 / seconds,
        peak_rss_bytes(),
        dataset.num_users(),
        dataset.num_items(),
        dataset.num_interactions(),
        split.train.len(),
        split.valid.len(),
        split.test.len()
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["generate", path] => generate(path, 20_000_000)?,
        ["generate", path, rows] => generate(path, rows.parse()?)?,
        ["run", path] => run(path)?,
        _ => eprintln!("usage: pipeline generate <out.csv> [rows] | pipeline run <ratings.csv>"),
    }
    Ok(())
}
