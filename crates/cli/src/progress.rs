//! Progress output on stderr: the library's [`Observer`] drawn as spinners and progress bars
//! (hidden when stderr is not a terminal, so logs stay clean) and status lines.

use std::time::Duration;

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

/// Draws what the library reports.
#[derive(Default)]
pub struct Bars {
    spinner: Option<ProgressBar>,
    bar: Option<ProgressBar>,
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
        self.bar = Some(epoch_bar(label, epoch, steps));
    }

    fn step(&mut self, status: &str) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(status.to_string());
        }
    }

    fn epoch_end(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
