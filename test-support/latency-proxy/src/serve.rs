//! `--serve DIR --bucket NAME`: a static, read-only S3 endpoint over a local
//! bucket copy (path-style): `HeadBucket`, `GetBucketLocation`,
//! `ListObjects` (v1) and `ListObjectsV2` (prefix, delimiter, marker /
//! start-after, continuation, 1,000 keys a page), and `GetObject` with the
//! `KEY.metadata.json` sidecar as `x-amz-meta-*` headers. Only for the
//! benchmark: the servers the tests use (moto) answer a few hundred requests
//! a second, and would be what is measured.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Request, Response, StatusCode};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The objects served: key -> file, sorted.
pub struct Store {
    bucket: String,
    dir: PathBuf,
    keys: BTreeMap<String, u64>,
}

const MAX_KEYS: usize = 1000;

impl Store {
    /// Indexes `dir` (sidecars of existing objects are metadata, not objects).
    pub fn open(dir: &Path, bucket: &str) -> std::io::Result<Store> {
        let mut files = BTreeMap::new();
        walk(dir, dir, &mut files)?;
        let keys = files
            .iter()
            .filter(|(k, _)| !k.strip_suffix(".metadata.json").is_some_and(|o| files.contains_key(o)))
            .map(|(k, n)| (k.clone(), *n))
            .collect();
        Ok(Store {
            bucket: bucket.to_string(),
            dir: dir.to_path_buf(),
            keys,
        })
    }

    /// Answers one S3 request.
    pub async fn answer<B>(&self, req: &Request<B>) -> Response<Full<Bytes>> {
        let path = decode(req.uri().path());
        let query = parse_query(req.uri().query().unwrap_or(""));
        let rest = path.trim_start_matches('/');
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket != self.bucket {
            return error(StatusCode::NOT_FOUND, "NoSuchBucket");
        }
        if key.is_empty() {
            if req.method() == hyper::Method::HEAD {
                return reply(
                    StatusCode::OK,
                    vec![("x-amz-bucket-region", "us-east-1".into())],
                    Bytes::new(),
                );
            }
            if query.contains_key("location") {
                return xml("<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>".into());
            }
            return xml(self.list(&query));
        }
        let Some(&size) = self.keys.get(key) else {
            return error(StatusCode::NOT_FOUND, "NoSuchKey");
        };
        let file = self.dir.join(key);
        let mut headers = vec![
            ("content-type", "application/octet-stream".to_string()),
            ("etag", format!("\"{size:x}\"")),
            ("last-modified", "Fri, 01 Mar 2024 00:00:00 GMT".into()),
        ];
        if let Ok(side) = tokio::fs::read(format!("{}.metadata.json", file.display())).await {
            if let Ok(serde_like) = parse_flat_json(&side) {
                for (k, v) in serde_like {
                    headers.push((leak(format!("x-amz-meta-{k}")), v));
                }
            }
        }
        if req.method() == hyper::Method::HEAD {
            headers.push(("content-length", size.to_string()));
            return reply(StatusCode::OK, headers, Bytes::new());
        }
        match tokio::fs::read(&file).await {
            Ok(bytes) => reply(StatusCode::OK, headers, Bytes::from(bytes)),
            Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
        }
    }

    fn list(&self, q: &BTreeMap<String, String>) -> String {
        let v2 = q.get("list-type").is_some_and(|t| t == "2");
        let prefix = q.get("prefix").cloned().unwrap_or_default();
        let delimiter = q.get("delimiter").cloned().filter(|d| !d.is_empty());
        let after = if v2 {
            q.get("continuation-token").or_else(|| q.get("start-after"))
        } else {
            q.get("marker")
        }
        .cloned()
        .unwrap_or_default();
        let max = q
            .get("max-keys")
            .and_then(|m| m.parse().ok())
            .unwrap_or(MAX_KEYS)
            .min(MAX_KEYS);
        let mut contents = String::new();
        let mut prefixes = String::new();
        let mut last_prefix: Option<String> = None;
        let (mut n, mut truncated, mut next) = (0, false, String::new());
        for (key, size) in self
            .keys
            .range::<str, _>((std::ops::Bound::Excluded(after.as_str()), std::ops::Bound::Unbounded))
        {
            if !key.starts_with(&prefix) {
                if key.as_str() > prefix.as_str() && !prefix.is_empty() {
                    break;
                }
                continue;
            }
            let folded = delimiter.as_ref().and_then(|d| {
                let rest = &key[prefix.len()..];
                rest.find(d.as_str())
                    .map(|i| format!("{prefix}{}", &rest[..i + d.len()]))
            });
            if let Some(cp) = &folded {
                if last_prefix.as_ref() == Some(cp) {
                    continue;
                }
            }
            if n == max {
                truncated = true;
                break;
            }
            n += 1;
            match folded {
                Some(cp) => {
                    prefixes.push_str(&format!(
                        "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                        esc(&cp)
                    ));
                    next = cp.clone();
                    last_prefix = Some(cp);
                }
                None => {
                    contents.push_str(&format!(
                        "<Contents><Key>{}</Key><LastModified>2024-03-01T00:00:00.000Z</LastModified><ETag>\"{size:x}\"</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass></Contents>",
                        esc(key)
                    ));
                    next = key.clone();
                }
            }
        }
        // A folded prefix is skipped past by continuing after its last key.
        let next = match &last_prefix {
            Some(cp) if *cp == next => format!("{cp}\u{10FFFF}"),
            _ => next,
        };
        let mut out = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>{}</Name><Prefix>{}</Prefix><MaxKeys>{max}</MaxKeys><IsTruncated>{truncated}</IsTruncated>",
            esc(&self.bucket),
            esc(&prefix)
        );
        if let Some(d) = &delimiter {
            out.push_str(&format!("<Delimiter>{}</Delimiter>", esc(d)));
        }
        if v2 {
            out.push_str(&format!("<KeyCount>{n}</KeyCount>"));
            if truncated {
                out.push_str(&format!(
                    "<NextContinuationToken>{}</NextContinuationToken>",
                    esc(&next)
                ));
            }
        } else {
            out.push_str(&format!("<Marker>{}</Marker>", esc(&after)));
            if truncated {
                out.push_str(&format!("<NextMarker>{}</NextMarker>", esc(&next)));
            }
        }
        out.push_str(&contents);
        out.push_str(&prefixes);
        out.push_str("</ListBucketResult>");
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, u64>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let t = e.file_type()?;
        if t.is_dir() {
            walk(root, &e.path(), out)?;
        } else if t.is_file() {
            if let Ok(rel) = e.path().strip_prefix(root) {
                out.insert(rel.to_string_lossy().replace('\\', "/"), e.metadata()?.len());
            }
        }
    }
    Ok(())
}

/// Header names live as long as the process (a handful of metadata names).
fn leak(s: String) -> &'static str {
    static NAMES: std::sync::Mutex<BTreeMap<String, &'static str>> = std::sync::Mutex::new(BTreeMap::new());
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = names.get(&s) {
        return n;
    }
    let n: &'static str = Box::leak(s.clone().into_boxed_str());
    names.insert(s, n);
    n
}

/// A sidecar: a flat JSON object of strings.
fn parse_flat_json(bytes: &[u8]) -> Result<Vec<(String, String)>, ()> {
    let text = std::str::from_utf8(bytes).map_err(|_| ())?;
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or(())?;
    let mut out = vec![];
    for pair in inner.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = pair.split_once(':').ok_or(())?;
        let unq = |s: &str| s.trim().trim_matches('"').to_string();
        out.push((unq(k).to_ascii_lowercase(), unq(v)));
    }
    Ok(out)
}

fn parse_query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|&c| hex(c)),
            b.get(i + 2).and_then(|&c| hex(c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn reply(status: StatusCode, headers: Vec<(&'static str, String)>, body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::builder().status(status);
    for (k, v) in headers {
        r = r.header(k, v);
    }
    r.body(Full::new(body))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn xml(body: String) -> Response<Full<Bytes>> {
    reply(
        StatusCode::OK,
        vec![("content-type", "application/xml".into())],
        Bytes::from(body),
    )
}

fn error(status: StatusCode, code: &str) -> Response<Full<Bytes>> {
    reply(
        status,
        vec![("content-type", "application/xml".into())],
        Bytes::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message></Error>"
        )),
    )
}
