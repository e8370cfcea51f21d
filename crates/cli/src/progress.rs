//! Progress output on stderr: spinners for work of unknown length, silent when stderr is not a
//! terminal so logs stay clean.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

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
pub fn epoch_bar(label: &str, epoch: usize, batches: usize) -> ProgressBar {
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
