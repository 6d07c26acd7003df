//! Text and JSON rendering of a strict-mode report.

use crate::args::Format;
use crate::run::Outcome;
use ctverify_core::report::{Class, Counts, Report};
use std::fmt::Write as _;

/// Renders the report for stdout.
pub fn render(outcome: &Outcome, format: Format, verbose: bool) -> String {
    match format {
        Format::Json => {
            let mut s = outcome.report.to_json();
            s.push('\n');
            s
        }
        Format::Text => text(&outcome.report, verbose, outcome),
    }
}

fn text(report: &Report, verbose: bool, outcome: &Outcome) -> String {
    let mut out = String::new();
    for f in &report.findings {
        if f.class == Class::Valid && !verbose {
            continue;
        }
        let object = f.object.as_ref().map_or_else(|| "-".to_string(), ToString::to_string);
        let _ = match (f.start, f.end) {
            (Some(s), Some(e)) => writeln!(
                out,
                "{}\t{}\t{}\t{s} to {e}: {}",
                f.kind,
                f.class.name(),
                object,
                f.message
            ),
            _ => writeln!(out, "{}\t{}\t{}\t{}", f.kind, f.class.name(), object, f.message),
        };
    }
    if !out.is_empty() {
        out.push('\n');
    }
    if let Some(r) = report.requested {
        let _ = writeln!(out, "Results requested for {} to {}", r.start, r.end);
    }
    for c in &report.rechecked {
        let _ = writeln!(out, "Re-verified (--recheck) {} to {}: {}", c.start, c.end, c.chain);
    }
    if report.covered.is_empty() {
        out.push_str("No verified digests cover the requested range\n");
    } else {
        for c in &report.covered {
            let _ = writeln!(out, "Results found for {} to {}: {}", c.start, c.end, c.chain);
        }
    }
    out.push('\n');
    counts(&mut out, "digest", &report.summary.digests);
    counts(&mut out, "log", &report.summary.logs);
    if verbose {
        let secs = outcome.hashing.as_secs_f64();
        let mb = report.log_bytes_hashed as f64 / 1e6;
        let rate = if secs > 0.0 { mb / secs } else { 0.0 };
        let _ = writeln!(
            out,
            "Hashed {mb:.1} MB of uncompressed log data in {secs:.2} s ({rate:.1} MB/s)"
        );
    }
    let _ = writeln!(out, "Verdict: {}", report.verdict.name());
    out
}

fn counts(out: &mut String, name: &str, c: &Counts) {
    let _ = write!(out, "{}/{} {name} files valid", c.valid, c.total);
    if c.invalid > 0 {
        let _ = write!(out, ", {}/{} {name} files INVALID", c.invalid, c.total);
    }
    if c.unverified > 0 {
        let _ = write!(out, ", {}/{} {name} files UNVERIFIED", c.unverified, c.total);
    }
    out.push('\n');
}
