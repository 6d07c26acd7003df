//! Prometheus metrics of a `ctverify validate` run, for node_exporter's
//! textfile collector (text exposition format 0.0.4).
//!
//! [`render`] is pure: it turns a [`RunMetrics`] into the file's contents;
//! writing it (atomically, to a `*.prom` file in the collector's directory)
//! is the caller's job. Every family is a gauge with `# HELP` and `# TYPE`
//! lines, no sample carries a timestamp (the collector refuses them), and the
//! output is the same bytes for the same input:
//!
//! | Family | Labels | Present |
//! |---|---|---|
//! | `ctverify_last_run_timestamp_seconds` | | always |
//! | `ctverify_last_run_duration_seconds` | | always |
//! | `ctverify_exit_code` | | always |
//! | `ctverify_verdict` (one-hot) | `verdict` = `valid`, `invalid`, `incomplete`, `error` | always, all four |
//! | `ctverify_findings` | `kind`, `class`: every kind of the vocabulary but `valid` | with a report |
//! | `ctverify_findings_by_class` | `class` = `violation`, `unverifiable`, `notice` | with a report |
//! | `ctverify_digests`, `ctverify_logs` | `result` = `total`, `valid`, `invalid`, `unverified` | with a report |
//! | `ctverify_log_bytes_hashed` | | with a report |
//! | `ctverify_objects_read`, `ctverify_bytes_read` | | when known |
//! | `ctverify_checkpoint_timestamp_seconds`, `ctverify_checkpoint_age_seconds` | `chain` | per chain with a checkpoint |
//! | `ctverify_chains_without_checkpoint` | | always |
//!
//! When the run could not run at all (no report, verdict `error`), the
//! families that come from the report are left out rather than written as
//! 0: an absent series means "unknown", while `ctverify_findings 0` would
//! claim that the trail was checked and nothing was found. Alert on
//! `ctverify_verdict{verdict="error"} == 1` (or on the timestamp getting old)
//! for those runs.
//!
//! Series of a family are written in a fixed order: finding kinds in the
//! core's declaration order, classes and results as listed above, chains
//! sorted by description. Chain entries with the same description are
//! written once (a duplicate series would make the file invalid), with the
//! oldest of their checkpoints.

use ctverify_core::report::{Class, Counts, Kind, Report, Verdict};
use std::collections::BTreeMap;

/// What one run produced, for the metrics file.
#[derive(Debug, Clone)]
pub struct RunMetrics<'a> {
    /// Unix time (seconds) the run finished.
    pub finished_unix: i64,
    /// Wall-clock duration of the run, seconds.
    pub duration_secs: f64,
    /// The report, or None when the run could not run at all (exit 2 error).
    pub report: Option<&'a Report>,
    /// The process exit code.
    pub exit_code: u8,
    /// One entry per chain in the state file: (chain description, Some(unix
    /// time of the checkpoint digest's digestEndTime) or None when the chain
    /// has no checkpoint yet).
    pub checkpoints: Vec<(String, Option<i64>)>,
    /// Digest and log objects read (GETs / files opened) from the source, when known.
    pub objects_read: Option<u64>,
    /// Bytes read from the source, when known.
    pub bytes_read: Option<u64>,
}

/// The classes written as `ctverify_findings_by_class` series, in output order.
const CLASSES: [Class; 3] = [Class::Violation, Class::Unverifiable, Class::Notice];

/// A sample value.
#[derive(Debug, Clone, Copy)]
enum Num {
    /// A signed integer.
    I(i64),
    /// An unsigned integer.
    U(u64),
    /// A float.
    F(f64),
}

impl Num {
    /// The value as the exposition format writes it. Integers are exact
    /// decimal; floats use Rust's shortest round-trip form (never an
    /// exponent), and `NaN`, `+Inf`, `-Inf` for the non-finite values.
    fn text(self) -> String {
        match self {
            Num::I(v) => v.to_string(),
            Num::U(v) => v.to_string(),
            Num::F(v) if v.is_nan() => "NaN".to_string(),
            Num::F(v) if v.is_infinite() => if v > 0.0 { "+Inf" } else { "-Inf" }.to_string(),
            Num::F(v) => v.to_string(),
        }
    }
}

/// The file being written.
#[derive(Debug, Default)]
struct Out {
    text: String,
}

impl Out {
    /// Starts a family: its `# HELP` and `# TYPE ... gauge` lines.
    fn family(&mut self, name: &str, help: &str) {
        self.text.push_str("# HELP ");
        self.text.push_str(name);
        self.text.push(' ');
        for c in help.chars() {
            match c {
                '\\' => self.text.push_str("\\\\"),
                '\n' => self.text.push_str("\\n"),
                c => self.text.push(c),
            }
        }
        self.text.push_str("\n# TYPE ");
        self.text.push_str(name);
        self.text.push_str(" gauge\n");
    }

    /// One sample line of the family just started.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: Num) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, label_value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                self.text.push_str(label);
                self.text.push_str("=\"");
                push_label_value(&mut self.text, label_value);
                self.text.push('"');
            }
            self.text.push('}');
        }
        self.text.push(' ');
        self.text.push_str(&value.text());
        self.text.push('\n');
    }

    /// A family with a single unlabelled sample.
    fn single(&mut self, name: &str, help: &str, value: Num) {
        self.family(name, help);
        self.sample(name, &[], value);
    }
}

/// Appends a label value escaped per the exposition format: `\` as `\\`,
/// `"` as `\"`, newline as `\n`.
fn push_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// The `ctverify_verdict` series that is 1.
fn outcome(report: Option<&Report>) -> &'static str {
    match report.map(|r| r.verdict) {
        Some(Verdict::Valid) => "valid",
        Some(Verdict::Invalid) => "invalid",
        Some(Verdict::Incomplete) => "incomplete",
        None => "error",
    }
}

/// The `result` series of a [`Counts`].
fn counts(out: &mut Out, name: &str, help: &str, c: &Counts) {
    out.family(name, help);
    for (result, n) in [
        ("total", c.total),
        ("valid", c.valid),
        ("invalid", c.invalid),
        ("unverified", c.unverified),
    ] {
        out.sample(name, &[("result", result)], Num::U(n));
    }
}

/// The families that come from the report.
fn report_families(out: &mut Out, report: &Report) {
    let mut by_kind: BTreeMap<Kind, u64> = BTreeMap::new();
    let mut by_class: BTreeMap<Class, u64> = BTreeMap::new();
    for f in &report.findings {
        *by_kind.entry(f.kind).or_default() += 1;
        *by_class.entry(f.class).or_default() += 1;
    }

    let name = "ctverify_findings";
    out.family(name, "Findings of the last run, by kind (0 when none).");
    for kind in Kind::vocabulary() {
        let n = by_kind.get(&kind).copied().unwrap_or(0);
        out.sample(
            name,
            &[("kind", kind.name()), ("class", kind.class().name())],
            Num::U(n),
        );
    }

    let name = "ctverify_findings_by_class";
    out.family(name, "Findings of the last run, by class (valid objects not counted).");
    for class in CLASSES {
        let n = by_class.get(&class).copied().unwrap_or(0);
        out.sample(name, &[("class", class.name())], Num::U(n));
    }

    counts(
        out,
        "ctverify_digests",
        "Digest files of the last run, by result (missing digests count as invalid).",
        &report.summary.digests,
    );
    counts(
        out,
        "ctverify_logs",
        "Log files of the last run, by result.",
        &report.summary.logs,
    );
    out.single(
        "ctverify_log_bytes_hashed",
        "Uncompressed log bytes hashed by the last run.",
        Num::U(report.log_bytes_hashed),
    );
}

/// Renders the metrics file (Prometheus text format 0.0.4, every line
/// `\n`-terminated) for one run; see the module documentation for the
/// families and when each is present.
pub fn render(m: &RunMetrics) -> String {
    let mut out = Out::default();
    out.single(
        "ctverify_last_run_timestamp_seconds",
        "Unix time the last ctverify run finished.",
        Num::I(m.finished_unix),
    );
    out.single(
        "ctverify_last_run_duration_seconds",
        "Wall-clock duration of the last ctverify run in seconds.",
        Num::F(m.duration_secs),
    );
    out.single(
        "ctverify_exit_code",
        "Exit code of the last ctverify run (0 valid, 1 invalid, 2 incomplete or error).",
        Num::U(u64::from(m.exit_code)),
    );

    let name = "ctverify_verdict";
    out.family(
        name,
        "Verdict of the last ctverify run, one-hot (error: it could not run, no report).",
    );
    let is = outcome(m.report);
    for verdict in ["valid", "invalid", "incomplete", "error"] {
        out.sample(name, &[("verdict", verdict)], Num::U(u64::from(verdict == is)));
    }

    if let Some(report) = m.report {
        report_families(&mut out, report);
    }

    if let Some(n) = m.objects_read {
        out.single(
            "ctverify_objects_read",
            "Digest and log objects the last run read from the source.",
            Num::U(n),
        );
    }
    if let Some(n) = m.bytes_read {
        out.single(
            "ctverify_bytes_read",
            "Bytes the last run read from the source.",
            Num::U(n),
        );
    }

    // Per chain description, the oldest checkpoint.
    let mut checkpointed: BTreeMap<&str, i64> = BTreeMap::new();
    let mut without = 0u64;
    for (chain, checkpoint) in &m.checkpoints {
        match checkpoint {
            Some(t) => {
                let oldest = checkpointed.entry(chain.as_str()).or_insert(*t);
                *oldest = (*oldest).min(*t);
            }
            None => without += 1,
        }
    }
    if !checkpointed.is_empty() {
        let name = "ctverify_checkpoint_timestamp_seconds";
        out.family(
            name,
            "Unix time of the digestEndTime of the chain's checkpoint digest in the state file.",
        );
        for (chain, t) in &checkpointed {
            out.sample(name, &[("chain", chain)], Num::I(*t));
        }
        let name = "ctverify_checkpoint_age_seconds";
        out.family(
            name,
            "Seconds from the chain's checkpoint digestEndTime to the end of the last run.",
        );
        for (chain, t) in &checkpointed {
            out.sample(name, &[("chain", chain)], Num::I(m.finished_unix.saturating_sub(*t)));
        }
    }
    out.single(
        "ctverify_chains_without_checkpoint",
        "Chains in the state file that have no checkpoint yet.",
        Num::U(without),
    );
    out.text
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctverify_core::layout::ObjectRef;
    use ctverify_core::report::{Finding, Summary};
    use ctverify_core::time::Timestamp;
    use prometheus_parse::{Scrape, Value};
    use regex::Regex;
    use std::collections::{BTreeSet, HashMap};

    const FINISHED: i64 = 1_709_300_000;

    fn parse(text: &str) -> Scrape {
        let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parse");
        // prometheus-parse silently skips samples whose value it cannot parse.
        let sample_lines = text.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(scrape.samples.len(), sample_lines, "every sample parsed:\n{text}");
        scrape
    }

    /// The value of the one gauge sample `name{labels}` (labels compared
    /// as written, i.e. still escaped: prometheus-parse does not unescape).
    fn gauge(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
        let want: HashMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let found: Vec<&prometheus_parse::Sample> = scrape
            .samples
            .iter()
            .filter(|s| s.metric == name && *s.labels == want)
            .collect();
        assert_eq!(found.len(), 1, "{name}{labels:?}: {found:?}");
        match found[0].value {
            Value::Gauge(v) => v,
            ref v => panic!("{name}{labels:?} is not a gauge: {v:?}"),
        }
    }

    fn has_family(text: &str, name: &str) -> bool {
        text.lines()
            .any(|l| l.starts_with(&format!("{name} ")) || l.starts_with(&format!("{name}{{")))
            || text.contains(&format!("# HELP {name} "))
    }

    /// One sample line: name, unescaped labels, value as written.
    type Series = (String, Vec<(String, String)>, String);

    /// Splits `{a="x",b="y"}`'s inside strictly per the format; unescapes.
    fn strict_labels(inside: &str) -> Vec<(String, String)> {
        let name_re = Regex::new(r"^[a-zA-Z_][a-zA-Z0-9_]*$").unwrap();
        let mut labels = Vec::new();
        let mut rest = inside;
        while !rest.is_empty() {
            let (name, after) = rest.split_once("=\"").expect("label=\"");
            assert!(name_re.is_match(name), "label name {name:?}");
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next().expect("closing quote") {
                    (_, '\\') => match chars.next().expect("escape").1 {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        c => panic!("bad escape \\{c}"),
                    },
                    (i, '"') => break i,
                    (_, '\n') => panic!("raw newline in label value"),
                    (_, c) => value.push(c),
                }
            };
            labels.push((name.to_string(), value));
            rest = &after[end + 1..];
            rest = rest.strip_prefix(',').unwrap_or_else(|| {
                assert!(rest.is_empty(), "junk after label: {rest:?}");
                rest
            });
        }
        labels
    }

    /// The line grammar, HELP and TYPE before each family's samples, each
    /// family once and contiguous, no duplicate series, final newline.
    /// Returns the series as (name, unescaped labels, value text).
    fn check_structure(text: &str) -> Vec<Series> {
        let line_re = Regex::new(r#"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+$"#).unwrap();
        let sample_re = Regex::new(r#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$"#).unwrap();
        assert!(text.ends_with('\n'), "final newline");
        let mut helped = BTreeSet::new();
        let mut typed = BTreeSet::new();
        let mut current: Option<String> = None;
        let mut series = Vec::new();
        let mut seen = BTreeSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("HELP name text");
                assert!(!help.is_empty(), "{line}");
                assert!(helped.insert(name.to_string()), "second HELP for {name}");
                assert!(!typed.contains(name), "HELP after TYPE for {name}");
                current = None;
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, ty) = rest.split_once(' ').expect("TYPE name type");
                assert_eq!(ty, "gauge", "{line}");
                assert!(helped.contains(name), "TYPE before HELP for {name}");
                assert!(typed.insert(name.to_string()), "second TYPE for {name}");
                current = Some(name.to_string());
            } else {
                assert!(line_re.is_match(line), "bad line {line:?}");
                let caps = sample_re.captures(line).expect("sample");
                let name = caps[1].to_string();
                assert_eq!(
                    current.as_deref(),
                    Some(name.as_str()),
                    "sample outside its family: {line}"
                );
                let labels = caps.get(2).map_or_else(Vec::new, |m| strict_labels(m.as_str()));
                let value = caps[3].to_string();
                assert!(value.parse::<f64>().is_ok(), "value {value:?}");
                assert!(seen.insert((name.clone(), labels.clone())), "duplicate series {line}");
                series.push((name, labels, value));
            }
        }
        series
    }

    fn report() -> Report {
        let b = "trail-bucket";
        let t = Timestamp::from_unix(FINISHED - 7200);
        let findings = vec![
            Finding::object(Kind::LogModified, ObjectRef::new(b, "AWSLogs/1.json.gz"), "modified"),
            Finding::object(Kind::LogModified, ObjectRef::new(b, "AWSLogs/2.json.gz"), "modified"),
            Finding::interval(
                Kind::CoverageGap,
                ObjectRef::new(b, "AWSLogs/"),
                t,
                t.add_secs(3600),
                "gap",
            ),
            Finding::object(Kind::ChainRestart, ObjectRef::new(b, "AWSLogs/d.json.gz"), "restart"),
            Finding::object(Kind::Valid, ObjectRef::new(b, "AWSLogs/3.json.gz"), "log verified"),
        ];
        let summary = Summary {
            digests: Counts {
                total: 5,
                valid: 4,
                invalid: 1,
                unverified: 0,
            },
            logs: Counts {
                total: 10,
                valid: 7,
                invalid: 2,
                unverified: 1,
            },
        };
        Report::new(None, Vec::new(), summary, findings, false, 123_456_789)
    }

    #[test]
    fn report_run() {
        let report = report();
        let quoted = "trail \"main\" \\ us-east-1\nsecond line";
        let m = RunMetrics {
            finished_unix: FINISHED,
            duration_secs: 12.5,
            report: Some(&report),
            exit_code: report.verdict.exit_code(),
            checkpoints: vec![
                ("plain".to_string(), Some(FINISHED - 90)),
                (quoted.to_string(), Some(FINISHED - 3600)),
                ("new".to_string(), None),
                ("newer".to_string(), None),
            ],
            objects_read: Some(42),
            bytes_read: Some(9_876_543_210),
        };
        let text = render(&m);
        let series = check_structure(&text);
        let s = parse(&text);

        assert_eq!(gauge(&s, "ctverify_last_run_timestamp_seconds", &[]), FINISHED as f64);
        assert_eq!(gauge(&s, "ctverify_last_run_duration_seconds", &[]), 12.5);
        assert_eq!(gauge(&s, "ctverify_exit_code", &[]), 1.0);
        for (verdict, v) in [("valid", 0.0), ("invalid", 1.0), ("incomplete", 0.0), ("error", 0.0)] {
            assert_eq!(gauge(&s, "ctverify_verdict", &[("verdict", verdict)]), v, "{verdict}");
        }

        let f = |kind: &str, class: &str| gauge(&s, "ctverify_findings", &[("kind", kind), ("class", class)]);
        assert_eq!(f("log_modified", "violation"), 2.0);
        assert_eq!(f("coverage_gap", "unverifiable"), 1.0);
        assert_eq!(f("chain_restart", "notice"), 1.0);
        assert_eq!(f("digest_moved", "violation"), 0.0);
        assert_eq!(f("log_unreferenced", "notice"), 0.0);
        let finding_series: Vec<_> = series.iter().filter(|(n, _, _)| n == "ctverify_findings").collect();
        assert_eq!(finding_series.len(), Kind::vocabulary().count());
        assert!(!text.contains("kind=\"valid\""));
        for (class, v) in [("violation", 2.0), ("unverifiable", 1.0), ("notice", 1.0)] {
            assert_eq!(
                gauge(&s, "ctverify_findings_by_class", &[("class", class)]),
                v,
                "{class}"
            );
        }
        assert!(!text.contains("class=\"valid\""));

        for (result, d, l) in [
            ("total", 5.0, 10.0),
            ("valid", 4.0, 7.0),
            ("invalid", 1.0, 2.0),
            ("unverified", 0.0, 1.0),
        ] {
            assert_eq!(gauge(&s, "ctverify_digests", &[("result", result)]), d, "{result}");
            assert_eq!(gauge(&s, "ctverify_logs", &[("result", result)]), l, "{result}");
        }
        assert_eq!(gauge(&s, "ctverify_log_bytes_hashed", &[]), 123_456_789.0);
        assert_eq!(gauge(&s, "ctverify_objects_read", &[]), 42.0);
        assert_eq!(gauge(&s, "ctverify_bytes_read", &[]), 9_876_543_210.0);

        // The escaped label as written, and what it unescapes to.
        let escaped = r#"trail \"main\" \\ us-east-1\nsecond line"#;
        assert!(text.contains(&format!(
            "ctverify_checkpoint_age_seconds{{chain=\"{escaped}\"}} 3600\n"
        )));
        assert_eq!(
            gauge(&s, "ctverify_checkpoint_age_seconds", &[("chain", escaped)]),
            3600.0
        );
        assert_eq!(
            gauge(&s, "ctverify_checkpoint_age_seconds", &[("chain", "plain")]),
            90.0
        );
        assert_eq!(
            gauge(&s, "ctverify_checkpoint_timestamp_seconds", &[("chain", escaped)]),
            (FINISHED - 3600) as f64
        );
        let chains: Vec<&str> = series
            .iter()
            .filter(|(n, _, _)| n == "ctverify_checkpoint_age_seconds")
            .map(|(_, labels, _)| labels[0].1.as_str())
            .collect();
        assert_eq!(chains, ["plain", quoted]);
        assert_eq!(gauge(&s, "ctverify_chains_without_checkpoint", &[]), 2.0);
    }

    #[test]
    fn error_run() {
        let m = RunMetrics {
            finished_unix: FINISHED,
            duration_secs: 0.25,
            report: None,
            exit_code: 2,
            checkpoints: Vec::new(),
            objects_read: None,
            bytes_read: None,
        };
        let text = render(&m);
        check_structure(&text);
        let s = parse(&text);
        for (verdict, v) in [("valid", 0.0), ("invalid", 0.0), ("incomplete", 0.0), ("error", 1.0)] {
            assert_eq!(gauge(&s, "ctverify_verdict", &[("verdict", verdict)]), v, "{verdict}");
        }
        assert_eq!(gauge(&s, "ctverify_exit_code", &[]), 2.0);
        assert_eq!(gauge(&s, "ctverify_last_run_duration_seconds", &[]), 0.25);
        assert_eq!(gauge(&s, "ctverify_chains_without_checkpoint", &[]), 0.0);
        for absent in [
            "ctverify_findings",
            "ctverify_findings_by_class",
            "ctverify_digests",
            "ctverify_logs",
            "ctverify_log_bytes_hashed",
            "ctverify_objects_read",
            "ctverify_bytes_read",
            "ctverify_checkpoint_timestamp_seconds",
            "ctverify_checkpoint_age_seconds",
        ] {
            assert!(!has_family(&text, absent), "{absent} in\n{text}");
        }
        assert_eq!(s.samples.len(), 8);
    }

    #[test]
    fn labels_round_trip_and_order_is_deterministic() {
        let hard = [
            "a\"b\\c",
            "ends with quote\"",
            "ends with backslash\\",
            "comma, equals= and }brace{",
            "\\n is not a newline",
            "two\n\nnewlines",
            "unicode: zürich ✓",
            "",
        ];
        let mut checkpoints: Vec<(String, Option<i64>)> = hard
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string(), Some(FINISHED - i as i64)))
            .collect();
        // A duplicate description: written once, with the older checkpoint.
        checkpoints.push(("a\"b\\c".to_string(), Some(FINISHED - 1000)));
        let report = report();
        let mut m = RunMetrics {
            finished_unix: FINISHED,
            duration_secs: 1.0,
            report: Some(&report),
            exit_code: 1,
            checkpoints,
            objects_read: None,
            bytes_read: None,
        };
        let text = render(&m);
        let series = check_structure(&text);
        let ages: Vec<(String, String)> = series
            .iter()
            .filter(|(n, _, _)| n == "ctverify_checkpoint_age_seconds")
            .map(|(_, labels, v)| {
                assert_eq!(labels.len(), 1);
                assert_eq!(labels[0].0, "chain");
                (labels[0].1.clone(), v.clone())
            })
            .collect();
        let mut want: Vec<(String, String)> = hard
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_string(), i.to_string()))
            .collect();
        want[0].1 = "1000".to_string();
        want.sort();
        assert_eq!(ages, want);

        m.checkpoints.reverse();
        assert_eq!(render(&m), text, "input order does not matter");
        assert_eq!(render(&m), render(&m));
    }

    #[test]
    fn floats() {
        for (v, s) in [
            (12.5, "12.5"),
            (0.1, "0.1"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1e-7, "0.0000001"),
            (1e21, "1000000000000000000000"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ] {
            assert_eq!(Num::F(v).text(), s);
            let back: f64 = s.parse().unwrap();
            assert!(back == v || (v.is_nan() && back.is_nan()), "{s}");
        }
        assert_eq!(Num::I(i64::MIN).text(), "-9223372036854775808");
        assert_eq!(Num::U(u64::MAX).text(), "18446744073709551615");
        let m = RunMetrics {
            finished_unix: FINISHED,
            duration_secs: f64::NAN,
            report: None,
            exit_code: 2,
            checkpoints: vec![("c".to_string(), Some(i64::MIN))],
            objects_read: Some(u64::MAX),
            bytes_read: Some(0),
        };
        let text = render(&m);
        check_structure(&text);
        let s = parse(&text);
        assert!(gauge(&s, "ctverify_last_run_duration_seconds", &[]).is_nan());
        assert_eq!(
            gauge(&s, "ctverify_checkpoint_age_seconds", &[("chain", "c")]),
            i64::MAX as f64
        );
    }

    /// Every kind of the vocabulary has a series, under a class that has one.
    #[test]
    fn kinds_cover_the_core_vocabulary() {
        let names: BTreeSet<&str> = Kind::vocabulary().map(|k| k.name()).collect();
        assert_eq!(names.len(), Kind::vocabulary().count());
        for k in Kind::vocabulary() {
            assert!(CLASSES.contains(&k.class()), "{k} has class {}", k.class().name());
        }
    }
}
