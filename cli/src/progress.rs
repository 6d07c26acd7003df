//! Progress bar on stderr, only when stderr is a terminal (SPEC §4).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// A progress bar shared by the hashing workers.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar for `total` logs, or nothing when stderr is not a terminal.
    pub fn new(total: u64) -> Self {
        if !std::io::stderr().is_terminal() || total == 0 {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} hashing logs {bar:40} {pos}/{len} ({per_sec}, eta {eta})")
        {
            bar.set_style(style);
        }
        Progress { bar: Some(bar) }
    }

    /// One more log done.
    pub fn inc(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
