//! Benchmark data and the hashing bound it is measured against.
//!
//! `bench-data --out DIR [--hours H] [--logs-per-digest N] [--log-mb M]`
//! writes one signed chain (one digest per hour) whose logs hold uniform
//! CloudTrail-like records, `M` MB uncompressed each (about 9:1 with gzip).
//! Logs are generated and written one at a time, so memory stays small
//! whatever the total size.
//!
//! `--seed LABEL` (synthetic logs) gives other log content under the same
//! digest keys: a forked chain, for the state tests.
//!
//! `bench-data --realistic [--size-kb MIN:MAX] ...` uses the varied records
//! of [`crate::realistic`] (about 1.5 KB each, about 10:1) instead, with
//! compressed log sizes drawn log-uniformly between `MIN` and `MAX` KiB
//! (default 2:5120; `--size-kb 1000` for fixed sizes). Each log has its own
//! seed, so logs are generated on all cores and the output is the same
//! whatever their number. A size summary is printed on stderr.
//!
//! `bound DIR` gunzips and SHA-256-hashes every log under `DIR` with
//! nothing else around it, on all cores: the physical bound that the
//! `ctverify` run over the same files is compared with (`bench/local.sh`).
//! It uses the same inflater (zlib-rs through flate2, same features) and
//! SHA-256 as ctverify.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use flate2::{Compression, GzBuilder};
use sha2::{Digest as _, Sha256};

use crate::crypto::{sha256_hex, KeyEncoding, Keys};
use crate::prng::SplitMix64 as Prng;
use crate::realistic::{self, Records, World};
use crate::time::{date_path, digest_stamp, iso, log_stamp, parse};

const BUCKET: &str = "ctv-bench-bucket";
const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";

/// Parameters of `bench-data`.
struct Params {
    out: PathBuf,
    hours: usize,
    logs_per_digest: usize,
    /// Uncompressed size of each synthetic log.
    log_bytes: usize,
    /// Realistic records, sizes drawn from `size_kb` (compressed).
    realistic: bool,
    /// Compressed log size range in KiB, log-uniform (realistic only).
    size_kb: (f64, f64),
    /// Seed label of the synthetic logs: another seed gives a chain with
    /// the same digest keys and other content (a fork, for state tests).
    seed: String,
    /// `--org O --accounts N --regions R`: an organization trail, one chain
    /// per member account and region (else the one chain of ACCOUNT, REGION).
    org: Option<String>,
    accounts: usize,
    regions: usize,
    /// The chain being written: `AWSLogs/[ORG/]ACCOUNT`, account, region.
    root: String,
    account: String,
    region: String,
}

/// The delivery regions of an organization bench trail, in order.
const ORG_REGIONS: [&str; 8] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
    "ap-northeast-1",
    "sa-east-1",
    "ca-central-1",
];

fn params(args: &[String]) -> Result<Params> {
    let mut p = Params {
        out: PathBuf::new(),
        hours: 24,
        logs_per_digest: 12,
        log_bytes: 4 << 20,
        realistic: false,
        size_kb: (2.0, 5120.0),
        seed: "bench-data".to_string(),
        org: None,
        accounts: 1,
        regions: 1,
        root: format!("AWSLogs/{ACCOUNT}"),
        account: ACCOUNT.to_string(),
        region: REGION.to_string(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().context("flag needs a value");
        match a.as_str() {
            "--out" => p.out = PathBuf::from(val()?),
            "--hours" => p.hours = val()?.parse()?,
            "--logs-per-digest" => p.logs_per_digest = val()?.parse()?,
            "--log-mb" => p.log_bytes = (val()?.parse::<f64>()? * 1048576.0) as usize,
            "--realistic" => p.realistic = true,
            "--seed" => p.seed = val()?.clone(),
            "--org" => p.org = Some(val()?.clone()),
            "--accounts" => p.accounts = val()?.parse()?,
            "--regions" => p.regions = val()?.parse::<usize>()?.clamp(1, ORG_REGIONS.len()),
            "--size-kb" => {
                let v = val()?;
                let (lo, hi) = v.split_once(':').unwrap_or((v, v));
                p.size_kb = (lo.parse()?, hi.parse()?);
                if !(p.size_kb.0 > 0.0 && p.size_kb.0 <= p.size_kb.1) {
                    bail!("--size-kb MIN:MAX needs 0 < MIN <= MAX");
                }
            }
            other => bail!("unknown bench-data argument {other:?}"),
        }
    }
    if p.out.as_os_str().is_empty() {
        bail!("bench-data needs --out DIR");
    }
    Ok(p)
}

/// One log's uncompressed content: `{"Records":[...]}` of about `size` bytes.
fn log_body(rng: &mut Prng, t: i64, size: usize) -> Vec<u8> {
    const NAMES: [&str; 6] = [
        "GetObject",
        "PutObject",
        "AssumeRole",
        "DescribeInstances",
        "ListBuckets",
        "Decrypt",
    ];
    const SOURCES: [&str; 4] = [
        "s3.amazonaws.com",
        "sts.amazonaws.com",
        "ec2.amazonaws.com",
        "kms.amazonaws.com",
    ];
    let mut out = Vec::with_capacity(size + 2048);
    out.extend_from_slice(b"{\"Records\":[");
    let mut first = true;
    while out.len() < size {
        if !first {
            out.push(b',');
        }
        first = false;
        let r = rng.next_u64();
        let ev = NAMES[(r % 6) as usize];
        let src = SOURCES[((r >> 8) % 4) as usize];
        let rec = format!(
            "{{\"eventVersion\":\"1.08\",\"userIdentity\":{{\"type\":\"AssumedRole\",\"principalId\":\"AROA{:016X}:session-{}\",\"arn\":\"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/session-{}\",\"accountId\":\"{ACCOUNT}\"}},\"eventTime\":\"{}\",\"eventSource\":\"{src}\",\"eventName\":\"{ev}\",\"awsRegion\":\"{REGION}\",\"sourceIPAddress\":\"10.{}.{}.{}\",\"userAgent\":\"aws-sdk-go-v2/1.30.{}\",\"requestParameters\":{{\"bucketName\":\"data-{}\",\"key\":\"obj/{:x}\"}},\"responseElements\":null,\"requestID\":\"{:016X}{:016X}\",\"eventID\":\"{:08x}-{:04x}-{:04x}\",\"readOnly\":{},\"eventType\":\"AwsApiCall\",\"managementEvent\":false,\"recipientAccountId\":\"{ACCOUNT}\"}}",
            r >> 3,
            r % 97,
            r % 97,
            iso(t - (r % 300) as i64),
            (r >> 16) % 256,
            (r >> 24) % 256,
            (r >> 32) % 256,
            (r >> 40) % 20,
            (r >> 44) % 50,
            r >> 20,
            rng.next_u64(),
            rng.next_u64(),
            r as u32,
            (r >> 32) as u16,
            (r >> 48) as u16,
            r.is_multiple_of(2),
        );
        out.extend_from_slice(rec.as_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn gz(data: &[u8]) -> Result<Vec<u8>> {
    let mut enc = GzBuilder::new().mtime(0).write(Vec::new(), Compression::new(6));
    enc.write_all(data)?;
    Ok(enc.finish()?)
}

/// A written log, as its digest lists it.
struct LogEntry {
    key: String,
    sha256: String,
    /// newestEventTime (oldestEventTime is 300 s earlier).
    time: i64,
    compressed: u64,
    inflated: u64,
}

fn log_key(p: &Params, t: i64, unique: &str) -> String {
    format!(
        "{}/CloudTrail/{}/{}/{}_CloudTrail_{}_{}_{unique}.json.gz",
        p.root,
        p.region,
        date_path(t),
        p.account,
        p.region,
        log_stamp(t)
    )
}

/// The event time of log `j` of hour `h`.
fn log_time(p: &Params, t0: i64, h: usize, j: usize) -> i64 {
    t0 + h as i64 * 3600 + (j as i64 + 1) * 3600 / (p.logs_per_digest as i64 + 1)
}

/// The synthetic logs: one sequential stream of records, `log_bytes` each.
fn synthetic_logs(p: &Params, bucket: &Path, t0: i64) -> Result<Vec<LogEntry>> {
    let mut rng = Prng::from_label(&format!("{}{}", p.seed, p.seed_suffix()));
    let mut logs = Vec::with_capacity(p.hours * p.logs_per_digest);
    for h in 0..p.hours {
        for j in 0..p.logs_per_digest {
            let t = log_time(p, t0, h, j);
            let unique: String = (0..16).map(|_| (b'a' + (rng.next_u64() % 26) as u8) as char).collect();
            let key = log_key(p, t, &unique);
            let body = log_body(&mut rng, t, p.log_bytes);
            let z = gz(&body)?;
            write(&bucket.join(&key), &z)?;
            logs.push(LogEntry {
                key,
                sha256: sha256_hex(&body),
                time: t,
                compressed: z.len() as u64,
                inflated: body.len() as u64,
            });
        }
    }
    Ok(logs)
}

/// Writes `SHA-256 + gzip` of everything written to it into a file.
struct HashingGz {
    gz: flate2::write::GzEncoder<std::io::BufWriter<std::fs::File>>,
    sha: Sha256,
    inflated: u64,
}

impl HashingGz {
    fn push(&mut self, data: &[u8]) -> Result<()> {
        self.sha.update(data);
        self.inflated += data.len() as u64;
        Ok(self.gz.write_all(data)?)
    }
}

/// Small logs compress less than large ones (less context), so below this
/// compressed target a log is built in memory and resized until its
/// compressed size is within 10 % of the target.
const EXACT_BELOW: f64 = 256.0 * 1024.0;

/// `{"Records":[...]}` of [`Records`] from `seed`, at least `size` bytes
/// (and at least one record).
fn realistic_body(world: &World, seed: u64, t: i64, size: usize) -> Vec<u8> {
    let mut records = Records::new(world, Prng::from_seed(seed));
    let mut body = String::with_capacity(size + 4096);
    body.push_str("{\"Records\":[");
    let mut first = true;
    while first || body.len() < size {
        if !first {
            body.push(',');
        }
        first = false;
        records.next(t, &mut body);
    }
    body.push_str("]}");
    body.into_bytes()
}

/// Realistic log number `i`, of a compressed size drawn log-uniformly from
/// `size_kb`: records of [`Records`] until the uncompressed size reaches the
/// target times [`realistic::RATIO`]. Large logs are streamed to disk (a
/// 5 MB log is ~50 MB of JSON); small ones are sized exactly.
fn realistic_log(p: &Params, world: &World, bucket: &Path, t0: i64, i: usize) -> Result<LogEntry> {
    let mut rng = Prng::from_label(&format!("bench-realistic-log-{i}{}", p.seed_suffix()));
    let t = log_time(p, t0, i / p.logs_per_digest, i % p.logs_per_digest);
    let key = log_key(p, t, &rng.alnum(16));
    let (lo, hi) = (p.size_kb.0.ln(), p.size_kb.1.ln());
    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let target = (lo + u * (hi - lo)).exp() * 1024.0;
    let seed = rng.next_u64();
    let path = bucket.join(&key);
    std::fs::create_dir_all(path.parent().context("log path")?)?;
    if target < EXACT_BELOW {
        let mut size = target * realistic::RATIO;
        let (mut body, mut z);
        let mut pass = 0;
        loop {
            body = realistic_body(world, seed, t, size as usize);
            z = gz(&body)?;
            let off = z.len() as f64 / target;
            pass += 1;
            if (off - 1.0).abs() < 0.1 || pass == 4 {
                break;
            }
            size /= off;
        }
        write(&path, &z)?;
        return Ok(LogEntry {
            key,
            sha256: sha256_hex(&body),
            time: t,
            compressed: z.len() as u64,
            inflated: body.len() as u64,
        });
    }
    let target = (target * realistic::RATIO) as u64;
    let file = std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?;
    let mut out = HashingGz {
        gz: GzBuilder::new()
            .mtime(0)
            .write(std::io::BufWriter::with_capacity(256 * 1024, file), Compression::new(6)),
        sha: Sha256::new(),
        inflated: 0,
    };
    let mut records = Records::new(world, Prng::from_seed(seed));
    let mut buf = String::with_capacity(96 * 1024);
    buf.push_str("{\"Records\":[");
    let mut first = true;
    while first || out.inflated + (buf.len() as u64) < target {
        if !first {
            buf.push(',');
        }
        first = false;
        records.next(t, &mut buf);
        if buf.len() >= 64 * 1024 {
            out.push(buf.as_bytes())?;
            buf.clear();
        }
    }
    buf.push_str("]}");
    out.push(buf.as_bytes())?;
    let inflated = out.inflated;
    let sha = out.sha.finalize();
    let mut file = out.gz.finish()?;
    file.flush()?;
    let compressed = file.get_ref().metadata()?.len();
    Ok(LogEntry {
        key,
        sha256: hex::encode(sha),
        time: t,
        compressed,
        inflated,
    })
}

/// The realistic logs, generated on all cores (each log has its own seed,
/// so the output does not depend on the number of threads).
fn realistic_logs(p: &Params, bucket: &Path, t0: i64) -> Result<Vec<LogEntry>> {
    let world = World::new(&p.account, &p.region);
    let n = p.hours * p.logs_per_digest;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, LogEntry)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<Vec<(usize, LogEntry)>> {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            return Ok(mine);
                        }
                        mine.push((i, realistic_log(p, &world, bucket, t0, i)?));
                    }
                })
            })
            .collect();
        let mut all = Vec::with_capacity(n);
        for h in handles {
            all.extend(h.join().map_err(|_| anyhow::anyhow!("generator panicked"))??);
        }
        Ok::<_, anyhow::Error>(all)
    })?;
    done.sort_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, e)| e).collect())
}

/// `bench-data`: writes the chain, prints the total uncompressed log size
/// (and a summary of the sizes on stderr).
pub fn bench_data(args: &[String], keys: &Keys) -> Result<()> {
    let mut p = params(args)?;
    let key = keys.get("a")?;
    let t0 = parse("2024-03-01T00:17:28Z")?;
    let mut all = vec![];
    match p.org.clone() {
        None => all.extend(bench_chain(&p, key, t0)?),
        Some(org) => {
            for a in 0..p.accounts {
                for r in ORG_REGIONS.iter().take(p.regions) {
                    p.account = format!("{:012}", 200_000_000_000u64 + a as u64);
                    p.region = r.to_string();
                    p.root = format!("AWSLogs/{org}/{}", p.account);
                    all.extend(bench_chain(&p, key, t0)?);
                }
            }
        }
    }
    let der = key.public_der(KeyEncoding::Pkcs1);
    // Valid from 30 days before the first digest to 30 days after the last
    // one (at least 60 days after the first).
    let valid_to = (t0 + 60 * 86400).max(t0 + p.hours as i64 * 3600 + 30 * 86400);
    let keys_json = format!(
        "{{\"PublicKeyList\":[{{\"Value\":\"{}\",\"ValidityStartTime\":{},\"ValidityEndTime\":{},\"Fingerprint\":\"{}\"}}]}}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der),
        t0 - 30 * 86400,
        valid_to,
        key.fingerprint(KeyEncoding::Pkcs1)
    );
    write(&p.out.join("public-keys.json"), keys_json.as_bytes())?;
    summary(&all);
    println!("{}", all.iter().map(|l| l.inflated).sum::<u64>());
    Ok(())
}

impl Params {
    /// Seeds of an organization's chains differ per chain; the single
    /// chain keeps the seeds it always had.
    fn seed_suffix(&self) -> String {
        match &self.org {
            None => String::new(),
            Some(_) => format!("-{}-{}", self.account, self.region),
        }
    }
}

/// Writes one chain (`p.root`, `p.account`, `p.region`): its logs, its
/// signed digests with their metadata; returns its logs.
fn bench_chain(p: &Params, key: &crate::crypto::TestKey, t0: i64) -> Result<Vec<LogEntry>> {
    let bucket = p.out.join("bucket");
    let all = if p.realistic {
        realistic_logs(p, &bucket, t0)?
    } else {
        synthetic_logs(p, &bucket, t0)?
    };
    let folder = format!("{}/CloudTrail-Digest/{}", p.root, p.region);
    let (account, region) = (p.account.as_str(), p.region.as_str());
    let mut prev: Option<(String, String, String)> = None; // key, signature, sha256
    for (h, hour) in all.chunks(p.logs_per_digest.max(1)).enumerate() {
        let (start, end) = (t0 + h as i64 * 3600, t0 + (h as i64 + 1) * 3600);
        let logs: Vec<String> = hour
            .iter()
            .map(|l| {
                format!(
                    "{{\"s3Bucket\":\"{BUCKET}\",\"s3Object\":\"{}\",\"hashValue\":\"{}\",\"hashAlgorithm\":\"SHA-256\",\"newestEventTime\":\"{}\",\"oldestEventTime\":\"{}\"}}",
                    l.key,
                    l.sha256,
                    iso(l.time),
                    iso(l.time - 300)
                )
            })
            .collect();
        let dkey = format!(
            "{folder}/{}/{account}_CloudTrail-Digest_{region}_bench_{REGION}_{}.json.gz",
            date_path(end),
            digest_stamp(end)
        );
        let previous = match &prev {
            Some((k, s, h)) => format!(
                "\"previousDigestS3Bucket\":\"{BUCKET}\",\"previousDigestS3Object\":\"{k}\",\"previousDigestHashValue\":\"{h}\",\"previousDigestHashAlgorithm\":\"SHA-256\",\"previousDigestSignature\":\"{s}\""
            ),
            None => "\"previousDigestS3Bucket\":null,\"previousDigestS3Object\":null,\"previousDigestHashValue\":null,\"previousDigestHashAlgorithm\":null,\"previousDigestSignature\":null".to_string(),
        };
        let digest = format!(
            "{{\"awsAccountId\":\"{account}\",\"digestStartTime\":\"{}\",\"digestEndTime\":\"{}\",\"digestS3Bucket\":\"{BUCKET}\",\"digestS3Object\":\"{dkey}\",\"digestPublicKeyFingerprint\":\"{}\",\"digestSignatureAlgorithm\":\"SHA256withRSA\",\"newestEventTime\":\"{}\",\"oldestEventTime\":\"{}\",{previous},\"logFiles\":[{}]}}",
            iso(start),
            iso(end),
            key.fingerprint(KeyEncoding::Pkcs1),
            iso(end),
            iso(start),
            logs.join(",")
        );
        let sha = sha256_hex(digest.as_bytes());
        let prev_sig = prev.as_ref().map_or("null", |p| p.1.as_str()).to_string();
        let sig = key.sign_hex(format!("{}\n{BUCKET}/{dkey}\n{sha}\n{prev_sig}", iso(end)).as_bytes())?;
        write(&bucket.join(&dkey), &gz(digest.as_bytes())?)?;
        write(
            &bucket.join(format!("{dkey}.metadata.json")),
            format!("{{\"signature\": \"{sig}\", \"signature-algorithm\": \"SHA256withRSA\"}}").as_bytes(),
        )?;
        prev = Some((dkey, sig, sha));
    }
    Ok(all)
}

/// Sizes of the generated logs, on stderr.
fn summary(logs: &[LogEntry]) {
    if logs.is_empty() {
        return;
    }
    let mut sizes: Vec<u64> = logs.iter().map(|l| l.compressed).collect();
    sizes.sort_unstable();
    let (z, raw) = logs
        .iter()
        .fold((0u64, 0u64), |(z, r), l| (z + l.compressed, r + l.inflated));
    let pct = |q: f64| sizes[((sizes.len() - 1) as f64 * q) as usize] as f64 / 1024.0;
    eprintln!(
        "{} logs, {:.1} MB compressed, {:.1} MB uncompressed (ratio {:.1}); compressed KiB min {:.1} median {:.1} mean {:.1} max {:.1}",
        logs.len(),
        z as f64 / 1e6,
        raw as f64 / 1e6,
        raw as f64 / z.max(1) as f64,
        pct(0.0),
        pct(0.5),
        z as f64 / logs.len() as f64 / 1024.0,
        pct(1.0)
    );
}

fn log_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            log_files(&p, out)?;
        } else if p.to_string_lossy().contains("_CloudTrail_") && p.to_string_lossy().ends_with(".json.gz") {
            out.push(p);
        }
    }
    Ok(())
}

/// `bound DIR`: prints `BYTES SECONDS` for bare gunzip + SHA-256 of every
/// log under `DIR`, on all cores.
pub fn bound(args: &[String]) -> Result<()> {
    let dir = PathBuf::from(args.first().context("bound needs a directory")?);
    let mut files = Vec::new();
    log_files(&dir, &mut files)?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    let total: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<u64> {
                    let mut bytes = 0u64;
                    let mut buf = vec![0u8; 256 * 1024];
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(f) = files.get(i) else { return Ok(bytes) };
                        let mut dec = flate2::read::GzDecoder::new(std::io::BufReader::with_capacity(
                            256 * 1024,
                            std::fs::File::open(f)?,
                        ));
                        let mut sha = Sha256::new();
                        loop {
                            let n = dec.read(&mut buf)?;
                            if n == 0 {
                                break;
                            }
                            bytes += n as u64;
                            sha.update(&buf[..n]);
                        }
                        std::hint::black_box(sha.finalize());
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow::anyhow!("worker panicked"))?)
            .sum::<Result<u64>>()
    })?;
    println!("{total} {:.6}", started.elapsed().as_secs_f64());
    Ok(())
}
