//! Progress bars on stderr, only when stderr is a terminal (SPEC §4):
//! digests loaded and logs verified, with MB/s of log data.

use ctverify_core::report::{Finding, Sink};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

/// The bars of one run, driven by the core's [`Sink`] events (findings are
/// printed from the report at the end, sorted).
pub struct ProgressSink {
    multi: Option<MultiProgress>,
    digests: Option<ProgressBar>,
    logs: Option<ProgressBar>,
    bytes: u64,
    started: Instant,
}

impl ProgressSink {
    /// Bars for a run that loads `digests` digests (0: not known yet), or
    /// nothing when stderr is not a terminal.
    pub fn new(digests: u64) -> Self {
        let multi = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let mut s = ProgressSink {
            multi,
            digests: None,
            logs: None,
            bytes: 0,
            started: Instant::now(),
        };
        if digests > 0 {
            s.digests_planned(digests);
        }
        s
    }

    /// The number of digests to load is known.
    pub fn digests_planned(&mut self, total: u64) {
        self.digests = self.bar(total, "{spinner} digests {bar:30} {pos}/{len}");
    }

    fn bar(&self, total: u64, template: &str) -> Option<ProgressBar> {
        let multi = self.multi.as_ref()?;
        let bar = multi.add(ProgressBar::new(total));
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        Some(bar)
    }

    /// Removes the bars.
    pub fn finish(&self) {
        for b in [&self.digests, &self.logs].into_iter().flatten() {
            b.finish_and_clear();
        }
    }
}

impl Sink for ProgressSink {
    fn finding(&mut self, _finding: &Finding) {}

    fn digest_loaded(&mut self) {
        if let Some(b) = &self.digests {
            b.inc(1);
        }
    }

    fn logs_planned(&mut self, vouched: u64) {
        if let Some(b) = &self.digests {
            b.finish();
        }
        self.started = Instant::now();
        self.logs = self.bar(vouched, "{spinner} logs    {bar:30} {pos}/{len} {msg} (eta {eta})");
    }

    fn log_done(&mut self, bytes: u64) {
        self.bytes += bytes;
        if let Some(b) = &self.logs {
            b.inc(1);
            let secs = self.started.elapsed().as_secs_f64().max(1e-3);
            b.set_message(format!("{:.1} MB/s", self.bytes as f64 / 1e6 / secs));
        }
    }
}
