//! `bucket_mutation`: structured mutations of a committed vector bucket, run
//! through the whole engine, with a soundness oracle.
//!
//! The bucket of `test-vectors/vectors/clean_chain_valid` (5 signed hourly
//! digests, 10 logs, a metadata sidecar per digest) is loaded once, then each
//! fuzz case applies up to [`MAX_MUTATIONS`] [`Mutation`]s to a copy and
//! verifies it with [`verify_in_memory`] over the original chain's whole
//! extent (explicit `--start-time`/`--end-time`, fixed `now`).
//!
//! # The oracle: `valid` only if everything vouched for is intact
//!
//! The original bucket verifies `valid` with every digest and every log
//! counted valid, so everything in it is vouched for. After the mutations,
//! the verdict may be `valid` only if [`Original::intact`] holds:
//!
//! 1. **Every original digest and log is still at its key with the same
//!    content**: the bytes are identical, or they are one complete gzip
//!    member (nothing after it, as decoded by flate2's own reader) that
//!    inflates to the identical bytes. What CloudTrail signs and hashes is
//!    the *inflated* content, so gzip header fields (MTIME, OS, a file name),
//!    another compression level or an unused deflate padding bit change the
//!    object but not what was vouched for: such a copy may stay `valid`.
//! 2. **No metadata signature was changed**: where the sidecar of an
//!    original digest (as `Metadata::from_sidecar` reads it) has a
//!    `signature`, it decodes (hex, surrounding whitespace ignored, any case:
//!    what the engine reads) to the original signature bytes.
//! 3. **The newest digest keeps its metadata signature.** Every other digest
//!    is also vouched for by its successor's `previousDigestSignature`, so
//!    removing its sidecar, making it unreadable, or dropping its
//!    `signature` may stay `valid` (docs/usage.md: "ctverify does not need it
//!    except for the newest digest"); the newest one has nothing else.
//!
//! Keys that differ only in empty segments (`/K`, `a//b`, `K/`) name one
//! object for ctverify: a local copy cannot tell them apart (`aws s3 sync`
//! writes them to one file), so `digest_moved` compares keys with runs of
//! `/` collapsed (docs/verification.md, "Unsafe keys"). A digest found at such a variant of
//! its key is in place by design, so a bucket holding a variant of an
//! original key (or of its sidecar) is not judged by the oracle; it is still
//! verified, for panics and the report checks below.
//!
//! Anything else may legitimately stay `valid`: other metadata entries
//! (`signature-algorithm` is checked, but stricter than the oracle needs),
//! and new objects whose names are not CloudTrail names, or logs nobody lists
//! (a `log_unreferenced` notice).
//!
//! The range is explicit on purpose: without it the range is the extent of
//! the digests present, so deleting the newest digest and its logs is
//! documented to stay `valid` (docs/verification.md, "Default range is per chain").
//!
//! Also checked on every run: the counts add up, a `valid` report counts
//! nothing invalid or unverified, and the JSON report parses.

use crate::engine::{verify_in_memory, Run, SIDECAR};
use crate::{flate2_member, gz};
use arbitrary::Arbitrary;
use ctverify_core::digest::Digest;
use ctverify_core::keys::Keyring;
use ctverify_core::layout::{collapse_slashes, ChainId, DigestKeyName};
use ctverify_core::report::Counts;
use ctverify_core::time::{Timestamp, HOUR};
use ctverify_core::verify::Metadata;
use ctverify_core::Verdict;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// The vector whose bucket is mutated.
pub const VECTOR: &str = "clean_chain_valid";
/// Mutations applied per case (more are ignored).
pub const MAX_MUTATIONS: usize = 4;

/// Text that occurs in digests, logs, keys and metadata, for edits that
/// reach past the JSON syntax into field checks.
const SNIPPETS: &[&str] = &[
    "\\/",
    "/",
    "null",
    "\"",
    ",",
    " ",
    "0",
    "f",
    "F",
    "{",
    "}",
    "[",
    "]",
    "SHA-256",
    "SHA256withRSA",
    "us-east-1",
    "us-west-2",
    "111122223333",
    "444455556666",
    "ctv-test-bucket",
    "demo",
    "2024-03-01T",
    "T01:17:28Z",
    "T02:17:28Z",
    "T05:17:28Z",
    "hashValue",
    "logFiles",
    "s3Object",
    "previousDigestSignature",
    "previousDigestHashValue",
    "previousDigestS3Object",
    "digestS3Object",
    "digestStartTime",
    "digestEndTime",
    "_backfill",
    ".json.gz",
    "CloudTrail",
    "CloudTrail-Digest",
    "signature",
    "SIGNATURE",
    "x-amz-meta-",
];

/// One fuzz case.
#[derive(Debug, Arbitrary)]
pub struct Case {
    /// `--verbose`.
    pub verbose: bool,
    /// Size of the pieces logs are hashed in (0 is taken as 1).
    pub chunk: u16,
    /// Applied in order (at most [`MAX_MUTATIONS`]).
    pub mutations: Vec<Mutation>,
}

/// A change to the bucket. `u8` object indices pick among the keys present
/// at that point, in key order (modulo their number); digest indices pick
/// among the original digests.
#[derive(Debug, Arbitrary)]
pub enum Mutation {
    /// Edit the stored bytes of one object (digest, log or sidecar).
    Bytes {
        /// Which object.
        object: u8,
        /// The edit.
        edit: Edit,
    },
    /// Edit the inflated content of a gzip object and compress it again
    /// (reaches the JSON, signature and hash checks, not only the framing).
    Content {
        /// Which object.
        object: u8,
        /// The edit.
        edit: Edit,
    },
    /// Compress the same content again with other settings (the content,
    /// which is what is vouched for, is unchanged).
    Recompress {
        /// Which object.
        object: u8,
        /// Compression level (modulo 10).
        level: u8,
        /// Gzip header file name.
        name: Option<String>,
        /// Gzip header comment.
        comment: Option<String>,
        /// Gzip header extra field.
        extra: Option<Vec<u8>>,
        /// Gzip header MTIME.
        mtime: u32,
    },
    /// Delete an object.
    Remove {
        /// Which object.
        object: u8,
    },
    /// Move an object to another key (replacing what is there).
    Rename {
        /// Which object.
        object: u8,
        /// Where to.
        to: Key,
    },
    /// Copy an object to another key (replacing what is there).
    Duplicate {
        /// Which object.
        object: u8,
        /// Where to.
        to: Key,
    },
    /// Put a new object (replacing what is there).
    Add {
        /// Where.
        key: Key,
        /// What.
        content: Content,
    },
    /// Change the metadata sidecar of an original digest.
    Metadata {
        /// Which original digest.
        digest: u8,
        /// The change.
        edit: MetaEdit,
    },
}

/// A byte-level edit.
#[derive(Debug, Arbitrary)]
pub enum Edit {
    /// XOR one byte (a zero mask is taken as 1).
    Flip {
        /// Position (modulo the length).
        at: u16,
        /// XOR mask.
        mask: u8,
    },
    /// Insert bytes.
    Insert {
        /// Position (modulo the length + 1).
        at: u16,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Delete up to `len` bytes.
    Delete {
        /// Position (modulo the length).
        at: u16,
        /// How many.
        len: u16,
    },
    /// Append bytes (data after the end of a gzip stream).
    Append(Vec<u8>),
    /// Cut the object to `len` bytes (modulo the length).
    Truncate {
        /// New length.
        len: u16,
    },
    /// Replace the `nth` occurrence (modulo their number) of a text.
    Replace {
        /// Text to find.
        find: Text,
        /// Which occurrence.
        nth: u8,
        /// Replacement.
        with: Text,
    },
}

/// A text for [`Edit::Replace`].
#[derive(Debug, Arbitrary)]
pub enum Text {
    /// One of the snippets of the formats (modulo their number).
    Snippet(u8),
    /// Any text.
    Any(String),
}

/// Where an object goes.
#[derive(Debug, Arbitrary)]
pub enum Key {
    /// An existing key.
    Existing(u8),
    /// The sidecar key of an existing key.
    SidecarOf(u8),
    /// A digest key some hours (and `secs`) after the first original
    /// digest, in the original chain or a look-alike.
    Digest {
        /// Hours after the first digest's end time: `hours % 12 - 3`
        /// (around the chain, inside the window the engine loads).
        hours: u8,
        /// Seconds more.
        secs: i16,
        /// Which chain.
        chain: ChainTweak,
        /// With the `_backfill` suffix.
        backfill: bool,
    },
    /// A log key in the trail's log folder, `minutes` after the first
    /// digest's start time.
    Log {
        /// Minutes after the first digest's start time.
        minutes: i16,
        /// Unique part of the name.
        unique: u8,
    },
    /// An existing key, spelled differently.
    Variant {
        /// Which key.
        of: u8,
        /// How.
        how: KeyTweak,
    },
    /// Any key.
    Any(String),
}

/// A chain like the original one.
#[derive(Debug, Arbitrary, Clone, Copy)]
pub enum ChainTweak {
    /// The original chain.
    Same,
    /// Trail `demo_us-east-1_x` (a name the aws-cli regex confuses with `demo`).
    LookAlikeTrail,
    /// Another trail name.
    OtherTrail,
    /// Another delivery region.
    OtherRegion,
    /// Another home region.
    OtherHomeRegion,
    /// Another account.
    OtherAccount,
    /// Under a key prefix.
    Prefix,
    /// An organization trail.
    Org,
}

/// Another spelling of a key.
#[derive(Debug, Arbitrary, Clone, Copy)]
pub enum KeyTweak {
    /// `/KEY`.
    LeadingSlash,
    /// The first `/` doubled.
    DoubleSlash,
    /// `KEY/`.
    TrailingSlash,
    /// `p/KEY`.
    Prefix,
    /// A `./` segment after the first `/`.
    DotSegment,
    /// `.json.gz` -> `_backfill.json.gz`.
    Backfill,
    /// ASCII upper case.
    Upper,
}

/// The bytes of a new object.
#[derive(Debug, Arbitrary)]
pub enum Content {
    /// As given.
    Raw(Vec<u8>),
    /// Gzip-compressed.
    Gzip(Vec<u8>),
    /// The bytes of an existing object.
    CopyOf(u8),
    /// The inflated content of an existing object, edited, compressed again.
    Edited {
        /// Which object.
        of: u8,
        /// The edit.
        edit: Edit,
    },
}

/// A change to a metadata sidecar.
#[derive(Debug, Arbitrary)]
pub enum MetaEdit {
    /// Delete the sidecar.
    Remove,
    /// Replace it with these bytes.
    Raw(Vec<u8>),
    /// Set one entry (the sidecar is rewritten as a JSON object).
    Set {
        /// Entry name.
        name: MetaName,
        /// Value.
        value: MetaValue,
    },
    /// Remove one entry.
    Unset(MetaName),
}

/// A metadata entry name.
#[derive(Debug, Arbitrary)]
pub enum MetaName {
    /// `signature`.
    Signature,
    /// `signature-algorithm`.
    SignatureAlgorithm,
    /// `backfill-generation-timestamp`.
    BackfillTimestamp,
    /// `x-amz-meta-signature` (header style).
    HeaderSignature,
    /// `Signature`.
    UpperSignature,
    /// Any name.
    Any(String),
}

/// A metadata entry value.
#[derive(Debug, Arbitrary)]
pub enum MetaValue {
    /// Any text.
    Any(String),
    /// The signature of an original digest (modulo their number).
    SignatureOf(u8),
    /// This digest's own signature, respelled or damaged.
    Own(SigForm),
    /// A JSON value that is not a string (`null`, a number, a list).
    NotAString(u8),
}

/// A form of a digest's own signature.
#[derive(Debug, Arbitrary, Clone, Copy)]
pub enum SigForm {
    /// Upper-case hex (the same signature).
    Upper,
    /// Surrounded by whitespace (the same signature).
    Spaced,
    /// With a leading `00` byte.
    LeadingZero,
    /// Without its last `n` bytes (at least one).
    Truncated(u8),
    /// One hex digit changed.
    Nibble(u16),
}

/// The original bucket and what the oracle needs to know about it.
pub struct Original {
    /// Key -> bytes.
    pub objects: BTreeMap<String, Vec<u8>>,
    /// Its public keys.
    pub keyring: Keyring,
    /// Range = the chain's extent, fixed `now`.
    pub run: Run,
    /// Inflated content of every vouched object (digests and logs).
    content: BTreeMap<String, Vec<u8>>,
    /// Digest key -> the signature bytes in its sidecar.
    signatures: BTreeMap<String, Vec<u8>>,
    /// Digests that no other digest names as its predecessor.
    newest: BTreeSet<String>,
    /// The chain, for generating keys.
    chain: ChainId,
    /// `digestStartTime` and `digestEndTime` of the first digest.
    first: (Timestamp, Timestamp),
    /// Every original key (sidecars too) by its form with `/` runs collapsed.
    collapsed: BTreeMap<String, String>,
}

static ORIGINAL: LazyLock<Original> = LazyLock::new(Original::load);

/// The original bucket (loaded and checked on first use).
pub fn original() -> &'static Original {
    &ORIGINAL
}

/// `test-vectors/vectors/NAME`.
pub fn vector_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../test-vectors/vectors")
        .join(name)
}

/// The files under `dir/bucket` as key -> bytes.
pub fn load_bucket(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let root = dir.join("bucket");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for e in entries {
            let p = e.expect("directory entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(&root).expect("under the root");
                let key = rel.iter().map(|s| s.to_string_lossy()).collect::<Vec<_>>().join("/");
                out.insert(
                    key,
                    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
                );
            }
        }
    }
    out
}

impl Original {
    /// Loads [`VECTOR`] and checks the harness's preconditions: it verifies
    /// `valid` with everything counted valid, every object is a digest or a
    /// log one of them lists, and every digest has a metadata signature.
    fn load() -> Original {
        let dir = vector_dir(VECTOR);
        let objects = load_bucket(&dir);
        let mut keyring = Keyring::new();
        let keys = std::fs::read(dir.join("public-keys.json")).expect("public-keys.json");
        keyring.add_file("public-keys.json", &keys).expect("usable key file");

        let mut digests = BTreeMap::new();
        for (key, bytes) in &objects {
            if DigestKeyName::parse(key).is_some() {
                digests.insert(
                    key.clone(),
                    Digest::parse_object(bytes).expect("original digest parses"),
                );
            }
        }
        let named: BTreeSet<&str> = digests
            .values()
            .filter_map(|d| d.previous.as_ref().map(|p| p.object.as_str()))
            .collect();
        let newest = digests
            .keys()
            .filter(|k| !named.contains(k.as_str()))
            .cloned()
            .collect();
        let listed: BTreeSet<&str> = digests
            .values()
            .flat_map(|d| d.log_files.iter().map(|l| l.object.as_str()))
            .collect();
        let mut content = BTreeMap::new();
        let mut signatures = BTreeMap::new();
        for (key, bytes) in &objects {
            if key.ends_with(SIDECAR) {
                continue;
            }
            assert!(
                digests.contains_key(key) || listed.contains(key.as_str()),
                "{key} is not vouched for"
            );
            let (inflated, after) = flate2_member(bytes).expect("original object is gzip");
            assert_eq!(after, 0);
            content.insert(key.clone(), inflated);
            if digests.contains_key(key) {
                let sig = match objects
                    .get(&format!("{key}{SIDECAR}"))
                    .map(|b| Metadata::from_sidecar(b))
                {
                    Some(Metadata::Present(m)) => m.get("signature").and_then(|s| hex::decode(s.trim()).ok()),
                    _ => None,
                };
                signatures.insert(key.clone(), sig.expect("original digest has a metadata signature"));
            }
        }
        let first = digests.values().min_by_key(|d| d.start).expect("digests");
        let first_key = DigestKeyName::parse(&first.s3_object).expect("digest key");
        let start = digests.values().map(|d| d.start).min().expect("digests");
        let end = digests.values().map(|d| d.end).max().expect("digests");
        let run = Run {
            now: Timestamp::parse_user("2026-01-01").expect("date"),
            start: Some(start),
            end: Some(end),
            verbose: false,
            chunk: 1000,
        };
        let original = Original {
            keyring,
            run,
            content,
            signatures,
            newest,
            chain: first_key.chain,
            first: (first.start, first.end),
            collapsed: objects.keys().map(|k| (collapse_slashes(k), k.clone())).collect(),
            objects,
        };
        let report = verify_in_memory(&original.objects, &original.keyring, &run).expect("clean bucket runs");
        assert_eq!(report.verdict, Verdict::Valid, "clean bucket: {:#?}", report.findings);
        let s = &report.summary;
        assert_eq!(s.digests.valid, digests.len() as u64);
        assert_eq!(s.logs.valid, (original.content.len() - digests.len()) as u64);
        assert!(all_valid(&s.digests) && all_valid(&s.logs));
        original
    }

    /// Keys of the original digests, in order.
    fn digest_key(&self, i: u8) -> &str {
        let keys: Vec<&String> = self.signatures.keys().collect();
        keys[usize::from(i) % keys.len()]
    }

    /// True when a key of `objects` is another spelling of an original key
    /// (differs only in empty segments): the oracle does not apply.
    pub fn has_slash_variant(&self, objects: &BTreeMap<String, Vec<u8>>) -> bool {
        objects
            .keys()
            .any(|k| self.collapsed.get(&collapse_slashes(k)).is_some_and(|o| o != k))
    }

    /// `Ok` when everything the original bucket vouched for is intact in
    /// `objects` (see the module documentation), else what is not.
    pub fn intact(&self, objects: &BTreeMap<String, Vec<u8>>) -> Result<(), String> {
        for (key, content) in &self.content {
            match objects.get(key) {
                None => return Err(format!("{key} was removed")),
                Some(now) if *now == self.objects[key] => {}
                Some(now) => match flate2_member(now) {
                    Some((c, 0)) if c == *content => {}
                    _ => return Err(format!("the content of {key} changed")),
                },
            }
        }
        for (key, sig) in &self.signatures {
            let meta = objects
                .get(&format!("{key}{SIDECAR}"))
                .map_or(Metadata::Absent, |b| Metadata::from_sidecar(b));
            let text = match &meta {
                Metadata::Present(m) => m.get("signature"),
                _ => None,
            };
            match text {
                None if self.newest.contains(key) => {
                    return Err(format!("the newest digest {key} lost its metadata signature"))
                }
                None => {}
                Some(t) if hex::decode(t.trim()).ok().as_ref() == Some(sig) => {}
                Some(_) => return Err(format!("the metadata signature of {key} changed")),
            }
        }
        Ok(())
    }
}

fn all_valid(c: &Counts) -> bool {
    c.valid == c.total && c.invalid == 0 && c.unverified == 0
}

/// Runs one case: mutate, verify, check the report and the oracle.
pub fn check(case: &Case) {
    let orig = original();
    let objects = mutated(orig, case);
    let run = Run {
        verbose: case.verbose,
        chunk: usize::from(case.chunk).max(1),
        ..orig.run
    };
    // With an explicit range the engine always reports (no `RunError`);
    // should that change, a run that does not report is not `valid` either.
    let Ok(report) = verify_in_memory(&objects, &orig.keyring, &run) else {
        return;
    };
    for c in [&report.summary.digests, &report.summary.logs] {
        assert_eq!(
            c.total,
            c.valid + c.invalid + c.unverified,
            "counts do not add up: {c:?}"
        );
    }
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("the JSON report parses");
    assert_eq!(json["verdict"], report.verdict.name());
    if report.verdict != Verdict::Valid {
        return;
    }
    assert!(
        all_valid(&report.summary.digests) && all_valid(&report.summary.logs),
        "a valid report counts something invalid or unverified: {:?}",
        report.summary
    );
    if orig.has_slash_variant(&objects) {
        return;
    }
    if let Err(why) = orig.intact(&objects) {
        panic!(
            "verdict valid, but {why}\nmutations: {:#?}\nfindings: {:#?}",
            &case.mutations[..case.mutations.len().min(MAX_MUTATIONS)],
            report.findings
        );
    }
}

/// A copy of the original bucket with the case's mutations applied.
pub fn mutated(orig: &Original, case: &Case) -> BTreeMap<String, Vec<u8>> {
    let mut objects = orig.objects.clone();
    for m in case.mutations.iter().take(MAX_MUTATIONS) {
        apply(orig, &mut objects, m);
    }
    objects
}

/// The key at index `i` (modulo their number) of `objects`.
fn pick(objects: &BTreeMap<String, Vec<u8>>, i: u8) -> Option<String> {
    if objects.is_empty() {
        return None;
    }
    objects.keys().nth(usize::from(i) % objects.len()).cloned()
}

/// Applies one mutation.
fn apply(orig: &Original, objects: &mut BTreeMap<String, Vec<u8>>, m: &Mutation) {
    match m {
        Mutation::Bytes { object, edit } => {
            if let Some(bytes) = pick(objects, *object).and_then(|k| objects.get_mut(&k)) {
                apply_edit(bytes, edit);
            }
        }
        Mutation::Content { object, edit } => {
            let Some(key) = pick(objects, *object) else { return };
            if let Some(new) = edited(&objects[&key], edit) {
                objects.insert(key, new);
            }
        }
        Mutation::Recompress {
            object,
            level,
            name,
            comment,
            extra,
            mtime,
        } => {
            let Some(key) = pick(objects, *object) else { return };
            let Some((content, _)) = flate2_member(&objects[&key]) else {
                return;
            };
            let mut b = flate2::GzBuilder::new().mtime(*mtime);
            // The header's name and comment are NUL-terminated.
            if let Some(n) = name {
                b = b.filename(n.replace('\0', ""));
            }
            if let Some(c) = comment {
                b = b.comment(c.replace('\0', ""));
            }
            if let Some(x) = extra {
                b = b.extra(x[..x.len().min(usize::from(u16::MAX))].to_vec());
            }
            let mut e = b.write(Vec::new(), flate2::Compression::new(u32::from(*level % 10)));
            e.write_all(&content).expect("gzip into a Vec");
            objects.insert(key, e.finish().expect("gzip into a Vec"));
        }
        Mutation::Remove { object } => {
            if let Some(k) = pick(objects, *object) {
                objects.remove(&k);
            }
        }
        Mutation::Rename { object, to } | Mutation::Duplicate { object, to } => {
            let Some(from) = pick(objects, *object) else { return };
            let Some(to) = key(orig, objects, to) else { return };
            let bytes = if matches!(m, Mutation::Rename { .. }) {
                objects.remove(&from)
            } else {
                objects.get(&from).cloned()
            };
            objects.insert(to, bytes.unwrap_or_default());
        }
        Mutation::Add { key: k, content } => {
            let Some(to) = key(orig, objects, k) else { return };
            let bytes = match content {
                Content::Raw(b) => Some(b.clone()),
                Content::Gzip(b) => Some(gz(b)),
                Content::CopyOf(i) => pick(objects, *i).map(|k| objects[&k].clone()),
                Content::Edited { of, edit } => pick(objects, *of).and_then(|k| edited(&objects[&k], edit)),
            };
            if let Some(b) = bytes {
                objects.insert(to, b);
            }
        }
        Mutation::Metadata { digest, edit } => {
            let key = orig.digest_key(*digest);
            let sidecar = format!("{key}{SIDECAR}");
            let own = hex::encode(&orig.signatures[key]);
            match edit {
                MetaEdit::Remove => {
                    objects.remove(&sidecar);
                }
                MetaEdit::Raw(b) => {
                    objects.insert(sidecar, b.clone());
                }
                MetaEdit::Set { name, value } => {
                    let mut map = sidecar_map(objects.get(&sidecar));
                    let value = match value {
                        MetaValue::Any(s) => serde_json::Value::String(s.clone()),
                        MetaValue::SignatureOf(i) => {
                            serde_json::Value::String(hex::encode(&orig.signatures[orig.digest_key(*i)]))
                        }
                        MetaValue::Own(form) => serde_json::Value::String(respell(&own, *form)),
                        MetaValue::NotAString(n) => match n % 3 {
                            0 => serde_json::Value::Null,
                            1 => serde_json::json!(n),
                            _ => serde_json::json!([own]),
                        },
                    };
                    map.insert(meta_name(name), value);
                    objects.insert(sidecar, serde_json::to_vec_pretty(&map).expect("JSON"));
                }
                MetaEdit::Unset(name) => {
                    let mut map = sidecar_map(objects.get(&sidecar));
                    map.remove(&meta_name(name));
                    objects.insert(sidecar, serde_json::to_vec_pretty(&map).expect("JSON"));
                }
            }
        }
    }
}

/// A sidecar's entries (empty when absent or not a JSON object).
fn sidecar_map(bytes: Option<&Vec<u8>>) -> serde_json::Map<String, serde_json::Value> {
    bytes.and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default()
}

fn meta_name(n: &MetaName) -> String {
    match n {
        MetaName::Signature => "signature".into(),
        MetaName::SignatureAlgorithm => "signature-algorithm".into(),
        MetaName::BackfillTimestamp => "backfill-generation-timestamp".into(),
        MetaName::HeaderSignature => "x-amz-meta-signature".into(),
        MetaName::UpperSignature => "Signature".into(),
        MetaName::Any(s) => s.clone(),
    }
}

/// `own` (hex) in another form.
fn respell(own: &str, form: SigForm) -> String {
    match form {
        SigForm::Upper => own.to_ascii_uppercase(),
        SigForm::Spaced => format!(" \n{own}\t "),
        SigForm::LeadingZero => format!("00{own}"),
        SigForm::Truncated(n) => {
            let cut = (usize::from(n.max(1)) * 2).min(own.len());
            own[..own.len() - cut].to_string()
        }
        SigForm::Nibble(i) => {
            let mut b = own.as_bytes().to_vec();
            if !b.is_empty() {
                let i = usize::from(i) % b.len();
                b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            }
            String::from_utf8(b).expect("hex is ASCII")
        }
    }
}

/// The inflated content of `object` with `edit` applied, compressed again;
/// `None` when `object` is not gzip.
fn edited(object: &[u8], edit: &Edit) -> Option<Vec<u8>> {
    let (mut content, _) = flate2_member(object)?;
    apply_edit(&mut content, edit);
    Some(gz(&content))
}

fn text(t: &Text) -> &str {
    match t {
        Text::Snippet(i) => SNIPPETS[usize::from(*i) % SNIPPETS.len()],
        Text::Any(s) => s,
    }
}

fn apply_edit(bytes: &mut Vec<u8>, edit: &Edit) {
    let len = bytes.len();
    match edit {
        Edit::Flip { at, mask } if len > 0 => bytes[usize::from(*at) % len] ^= (*mask).max(1),
        Edit::Insert { at, bytes: new } => {
            let at = usize::from(*at) % (len + 1);
            bytes.splice(at..at, new.iter().copied());
        }
        Edit::Delete { at, len: n } if len > 0 => {
            let at = usize::from(*at) % len;
            let end = at + usize::from(*n).clamp(1, len - at);
            bytes.drain(at..end);
        }
        Edit::Append(new) => bytes.extend_from_slice(new),
        Edit::Truncate { len: n } if len > 0 => bytes.truncate(usize::from(*n) % len),
        Edit::Replace { find, nth, with } => {
            let (find, with) = (text(find).as_bytes(), text(with).as_bytes());
            if find.is_empty() || find.len() > len {
                return;
            }
            let at: Vec<usize> = (0..=len - find.len())
                .filter(|&i| &bytes[i..i + find.len()] == find)
                .collect();
            if let Some(&i) = at.get(usize::from(*nth) % at.len().max(1)) {
                bytes.splice(i..i + find.len(), with.iter().copied());
            }
        }
        _ => {}
    }
}

/// Resolves a [`Key`] against the current objects.
fn key(orig: &Original, objects: &BTreeMap<String, Vec<u8>>, k: &Key) -> Option<String> {
    Some(match k {
        Key::Existing(i) => pick(objects, *i)?,
        Key::SidecarOf(i) => format!("{}{SIDECAR}", pick(objects, *i)?),
        Key::Digest {
            hours,
            secs,
            chain,
            backfill,
        } => {
            let t = orig
                .first
                .1
                .add_secs((i64::from(*hours % 12) - 3) * HOUR + i64::from(*secs));
            let k = tweak_chain(&orig.chain, *chain).digest_key(t);
            if *backfill {
                k.replace(".json.gz", "_backfill.json.gz")
            } else {
                k
            }
        }
        Key::Log { minutes, unique } => {
            let c = &orig.chain;
            let t = orig.first.0.add_secs(i64::from(*minutes) * 60);
            let minute = &t.key_form()[..13];
            format!(
                "{}{}/{}_CloudTrail_{}_{minute}Z_fuzz{unique:02x}.json.gz",
                c.log_folder(),
                t.date_folders(),
                c.account,
                c.region
            )
        }
        Key::Variant { of, how } => {
            let k = pick(objects, *of)?;
            match how {
                KeyTweak::LeadingSlash => format!("/{k}"),
                KeyTweak::DoubleSlash => k.replacen('/', "//", 1),
                KeyTweak::TrailingSlash => format!("{k}/"),
                KeyTweak::Prefix => format!("p/{k}"),
                KeyTweak::DotSegment => k.replacen('/', "/./", 1),
                KeyTweak::Backfill => k.replace(".json.gz", "_backfill.json.gz"),
                KeyTweak::Upper => k.to_ascii_uppercase(),
            }
        }
        Key::Any(s) => s.clone(),
    })
}

fn tweak_chain(c: &ChainId, t: ChainTweak) -> ChainId {
    let mut c = c.clone();
    match t {
        ChainTweak::Same => {}
        ChainTweak::LookAlikeTrail => c.trail = format!("{}_{}_x", c.trail, c.home_region),
        ChainTweak::OtherTrail => c.trail = "other".into(),
        ChainTweak::OtherRegion => c.region = "eu-west-1".into(),
        ChainTweak::OtherHomeRegion => c.home_region = "eu-west-1".into(),
        ChainTweak::OtherAccount => c.account = "444455556666".into(),
        ChainTweak::Prefix => c.prefix = "p".into(),
        ChainTweak::Org => c.org = Some("o-abc123def4".into()),
    }
    c
}
