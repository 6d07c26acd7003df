//! Benchmark data and the hashing bound it is measured against.
//!
//! `bench-data --out DIR [--hours H] [--logs-per-digest N] [--log-mb M]`
//! writes one signed chain whose logs hold realistic CloudTrail records
//! (compressing about 10:1, like real logs). Logs are generated and written
//! one at a time, so memory stays small whatever the total size.
//!
//! `bound DIR` gunzips and SHA-256-hashes every log under `DIR` with
//! nothing else around it, on all cores: the physical bound that the
//! `ctverify` run over the same files is compared with (`bench/local.sh`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use flate2::{Compression, GzBuilder};
use sha2::{Digest as _, Sha256};

use crate::crypto::{sha256_hex, KeyEncoding, Keys};
use crate::prng::SplitMix64 as Prng;
use crate::time::{date_path, digest_stamp, iso, log_stamp, parse};

const BUCKET: &str = "ctv-bench-bucket";
const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";

/// Parameters of `bench-data`.
struct Params {
    out: PathBuf,
    hours: usize,
    logs_per_digest: usize,
    log_bytes: usize,
}

fn params(args: &[String]) -> Result<Params> {
    let mut p = Params {
        out: PathBuf::new(),
        hours: 24,
        logs_per_digest: 12,
        log_bytes: 4 << 20,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().context("flag needs a value");
        match a.as_str() {
            "--out" => p.out = PathBuf::from(val()?),
            "--hours" => p.hours = val()?.parse()?,
            "--logs-per-digest" => p.logs_per_digest = val()?.parse()?,
            "--log-mb" => p.log_bytes = (val()?.parse::<f64>()? * 1048576.0) as usize,
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

/// `bench-data`: writes the chain, prints the total uncompressed log size.
pub fn bench_data(args: &[String], keys: &Keys) -> Result<()> {
    let p = params(args)?;
    let key = keys.get("a")?;
    let bucket = p.out.join("bucket");
    let mut rng = Prng::from_label("bench-data");
    let t0 = parse("2024-03-01T00:17:28Z")?;
    let folder = format!("AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}");
    let mut prev: Option<(String, String, String)> = None; // key, signature, sha256
    let mut total = 0u64;
    for h in 0..p.hours {
        let (start, end) = (t0 + h as i64 * 3600, t0 + (h as i64 + 1) * 3600);
        let mut logs = Vec::new();
        for j in 0..p.logs_per_digest {
            let t = start + (j as i64 + 1) * 3600 / (p.logs_per_digest as i64 + 1);
            let unique: String = (0..16).map(|_| (b'a' + (rng.next_u64() % 26) as u8) as char).collect();
            let key = format!(
                "AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{}/{ACCOUNT}_CloudTrail_{REGION}_{}_{unique}.json.gz",
                date_path(t),
                log_stamp(t)
            );
            let body = log_body(&mut rng, t, p.log_bytes);
            total += body.len() as u64;
            write(&bucket.join(&key), &gz(&body)?)?;
            logs.push(format!(
                "{{\"s3Bucket\":\"{BUCKET}\",\"s3Object\":\"{key}\",\"hashValue\":\"{}\",\"hashAlgorithm\":\"SHA-256\",\"newestEventTime\":\"{}\",\"oldestEventTime\":\"{}\"}}",
                sha256_hex(&body),
                iso(t),
                iso(t - 300)
            ));
        }
        let dkey = format!(
            "{folder}/{}/{ACCOUNT}_CloudTrail-Digest_{REGION}_bench_{REGION}_{}.json.gz",
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
            "{{\"awsAccountId\":\"{ACCOUNT}\",\"digestStartTime\":\"{}\",\"digestEndTime\":\"{}\",\"digestS3Bucket\":\"{BUCKET}\",\"digestS3Object\":\"{dkey}\",\"digestPublicKeyFingerprint\":\"{}\",\"digestSignatureAlgorithm\":\"SHA256withRSA\",\"newestEventTime\":\"{}\",\"oldestEventTime\":\"{}\",{previous},\"logFiles\":[{}]}}",
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
    let der = key.public_der(KeyEncoding::Pkcs1);
    let keys_json = format!(
        "{{\"PublicKeyList\":[{{\"Value\":\"{}\",\"ValidityStartTime\":{},\"ValidityEndTime\":{},\"Fingerprint\":\"{}\"}}]}}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der),
        t0 - 30 * 86400,
        t0 + 60 * 86400,
        key.fingerprint(KeyEncoding::Pkcs1)
    );
    write(&p.out.join("public-keys.json"), keys_json.as_bytes())?;
    println!("{total}");
    Ok(())
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
