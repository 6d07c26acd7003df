//! A real S3-compatible server for the S3-mode tests: moto's standalone
//! server (installed by `scripts/test.sh` into `.venv/moto`) on 127.0.0.1,
//! with the fault-injecting proxy of `test-support/s3/proxy.py` in front of
//! it, and `upload.py` to load a vector's bucket copy with its metadata.
//! Every server is a child of the test and dies with it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The moto virtualenv's python; panics with the install command when
/// missing (the test command installs it).
pub fn python() -> PathBuf {
    let p = repo().join(".venv/moto/bin/python");
    assert!(
        p.exists(),
        "moto is not installed: run `bash test-support/s3/install.sh` (scripts/test.sh does)"
    );
    p
}

/// A child process killed on drop.
pub struct Server {
    child: Child,
    /// Its `http://127.0.0.1:PORT` URL.
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `child`'s `stream` lines until `find` extracts a port.
fn port_from(lines: impl BufRead + Send + 'static, find: fn(&str) -> Option<u16>) -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in lines.lines().map_while(Result::ok) {
            if !sent {
                if let Some(p) = find(&line) {
                    let _ = tx.send(p);
                    sent = true;
                }
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("server did not start in 60 s")
}

/// Starts moto's server on a free loopback port (account 111122223333, the
/// vectors' account).
pub fn moto() -> Server {
    let bin = repo().join(".venv/moto/bin/moto_server");
    python();
    let mut child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", "0"])
        .env("MOTO_ACCOUNT_ID", "111122223333")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start moto_server");
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let port = port_from(stderr, |l| {
        l.split("Running on http://127.0.0.1:")
            .nth(1)?
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    });
    Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// Starts the proxy in front of `upstream` with extra `args`
/// (`--fault-rate`, `--public-keys`, ...).
pub fn proxy(upstream: &Server, args: &[&str]) -> Server {
    let mut child = Command::new(python())
        .arg(repo().join("test-support/s3/proxy.py"))
        .args(["--upstream", &upstream.url])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start proxy.py");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let port = port_from(stdout, |l| l.strip_prefix("PORT ")?.trim().parse().ok());
    Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// Clears the server and uploads `dir` as `bucket` (sidecars become user
/// metadata); `extra` may create a trail (`--trail NAME ...`).
pub fn upload(server: &Server, bucket: &str, dir: &Path, extra: &[&str]) {
    let out = credentials(&mut Command::new(python()))
        .arg(repo().join("test-support/s3/upload.py"))
        .args(["--endpoint", &server.url, "--reset", "--bucket", bucket])
        .args(extra)
        .arg(dir)
        .output()
        .expect("run upload.py");
    assert!(
        out.status.success(),
        "upload failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The proxy's counters (`GET /__proxy/stats`).
pub fn stats(proxy: &Server) -> serde_json::Value {
    let out = Command::new(python())
        .args([
            "-c",
            "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1] + '/__proxy/stats').read().decode())",
        ])
        .arg(&proxy.url)
        .output()
        .expect("stats");
    serde_json::from_slice(&out.stdout).expect("stats JSON")
}

/// Dummy credentials (moto checks no signature, but wants one) and no
/// ambient AWS configuration.
pub fn credentials(cmd: &mut Command) -> &mut Command {
    for v in [
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
}

/// `ctverify ARGS` with the test credentials: (exit code, stdout, stderr).
/// Retries back off 20 ms instead of 1 s (`CTVERIFY_S3_BACKOFF_MS`, docs/s3.md
/// "Faults"): the production limits run in `s3_faults.rs`.
pub fn ctverify(args: &[String]) -> (i32, String, String) {
    let started = Instant::now();
    let out = credentials(&mut Command::new(env!("CARGO_BIN_EXE_ctverify")))
        .env("CTVERIFY_S3_BACKOFF_MS", "20")
        .args(args)
        .output()
        .expect("run ctverify");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "ctverify took over 2 minutes"
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `s` as a regular expression that matches it literally (for the proxy's
/// `--fail-always`).
pub fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

/// Every file below `dir`, sorted.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
