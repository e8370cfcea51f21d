//! Progress output on stderr: the library's [`Observer`] drawn as spinners and progress bars,
//! and status lines. Without a terminal (a log file, a batch job) the bars are hidden and a
//! long epoch instead prints one progress line every 30 seconds (`LATENTR3_LOG_EVERY_SECS` sets
//! another interval): steps done, rate, time left in the epoch, and the step's status.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use latentr3::Observer;

/// A spinner with a message, finished with a closing line.
pub fn spinner(message: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]").expect("valid template"),
    );
    bar.set_message(message.into());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A bar over an epoch's batches, labelled `{label} {epoch}`.
fn epoch_bar(label: &str, epoch: usize, batches: usize) -> ProgressBar {
    let bar = ProgressBar::new(batches as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{label} {{prefix:>3}} [{{bar:30}}] {{pos}}/{{len}} {{msg}} [{{elapsed}}]"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(epoch.to_string());
    bar
}

/// How often a hidden bar reports in the log.
fn log_every() -> Duration {
    let seconds = std::env::var("LATENTR3_LOG_EVERY_SECS").ok();
    Duration::from_secs(seconds.and_then(|s| s.parse().ok()).unwrap_or(30))
}

/// Draws what the library reports.
#[derive(Default)]
pub struct Bars {
    spinner: Option<ProgressBar>,
    bar: Option<ProgressBar>,
    /// The hidden bar's label, its last line in the log and the interval between lines.
    logged: Option<(String, Instant, Duration)>,
}

impl Observer for Bars {
    fn message(&mut self, line: &str) {
        match &self.bar {
            // Above a visible bar; a hidden bar (no terminal) would swallow the line.
            Some(bar) if !bar.is_hidden() => bar.println(line),
            _ => eprintln!("{line}"),
        }
    }

    fn busy(&mut self, what: &str) {
        self.spinner = Some(spinner(what));
    }

    fn idle(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }

    fn epoch_start(&mut self, label: &str, epoch: usize, steps: usize) {
        let bar = epoch_bar(label, epoch, steps);
        self.logged = bar
            .is_hidden()
            .then(|| (format!("{label} {epoch}"), Instant::now(), log_every()));
        self.bar = Some(bar);
    }

    fn step(&mut self, status: &str) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(status.to_string());
            if let Some((label, last, every)) = &mut self.logged
                && last.elapsed() >= *every
            {
                *last = Instant::now();
                let (done, total) = (bar.position(), bar.length().unwrap_or(0));
                eprintln!(
                    "{label}: {done}/{total} steps, {:.2} steps/s, {}s left in the epoch, {status}",
                    bar.per_sec(),
                    bar.eta().as_secs()
                );
            }
        }
    }

    fn epoch_end(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
