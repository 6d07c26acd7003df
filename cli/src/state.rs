//! The `--state FILE` of scheduled runs: where each chain's verified
//! history ends (its checkpoint), where the rolling re-verification
//! (`--recheck`) stands, and the scope the file belongs to.
//!
//! The file is a trust anchor: the next run believes that everything up to
//! a checkpoint was verified. So it is never trusted silently:
//!
//! - one run at a time: an exclusive lock on `FILE.lock` (held for the whole
//!   run; a second run exits 2);
//! - written atomically, only when a run completes ([`crate::atomic`]);
//! - versioned, with a SHA-256 of its body: a corrupt, truncated or edited
//!   file, one of another version, or one written for another scope is an
//!   error naming the file (exit 2), never a silent restart. `--state-reset`
//!   starts over deliberately.
//!
//! The checksum catches accidents (a truncated copy, a hand edit), not an
//! attacker: keep the file where the bucket's writers cannot write.

use anyhow::{bail, Context, Result};
use ctverify_core::layout::ChainId;
use ctverify_core::time::Timestamp;
use ctverify_core::verify::Checkpoint;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The state format this build reads and writes.
pub const VERSION: u32 = 1;
/// The `format` marker of a state file.
const FORMAT: &str = "ctverify-state";
/// Larger state files are refused (about 10,000 chains).
const MAX_STATE_BYTES: u64 = 16 << 20;

/// The options that define what a state file is about; a later run must
/// have the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// `--trail-arn`.
    pub trail_arn: Option<String>,
    /// `--s3-bucket`.
    pub bucket: Option<String>,
    /// `--s3-prefix` (without a trailing `/`).
    pub prefix: Option<String>,
    /// `--region`, sorted.
    pub regions: Vec<String>,
    /// `--account-id`, sorted.
    pub accounts: Vec<String>,
}

impl Scope {
    /// The differences from `other`, for the error message.
    pub fn differences(&self, other: &Scope) -> Vec<String> {
        let mut out = vec![];
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        let list = |v: &[String]| if v.is_empty() { "(all)".to_string() } else { v.join(",") };
        if self.trail_arn != other.trail_arn {
            out.push(format!(
                "--trail-arn {} (file: {})",
                show(&other.trail_arn),
                show(&self.trail_arn)
            ));
        }
        if self.bucket != other.bucket {
            out.push(format!(
                "--s3-bucket {} (file: {})",
                show(&other.bucket),
                show(&self.bucket)
            ));
        }
        if self.prefix != other.prefix {
            out.push(format!(
                "--s3-prefix {} (file: {})",
                show(&other.prefix),
                show(&self.prefix)
            ));
        }
        if self.regions != other.regions {
            out.push(format!(
                "--region {} (file: {})",
                list(&other.regions),
                list(&self.regions)
            ));
        }
        if self.accounts != other.accounts {
            out.push(format!(
                "--account-id {} (file: {})",
                list(&other.accounts),
                list(&self.accounts)
            ));
        }
        out
    }
}

/// One chain's place in the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainState {
    /// The chain.
    pub chain: ChainId,
    /// Where its verification began (the start of its first run).
    pub since: Timestamp,
    /// The last digest of its longest fully verified prefix.
    pub checkpoint: Option<Checkpoint>,
    /// `--recheck`: where the next re-verification starts.
    pub recheck_next: Option<Timestamp>,
    /// `--recheck`: completed passes over the whole history.
    pub recheck_rounds: u64,
}

/// The body of a state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// What the file is about.
    pub scope: Scope,
    /// The first run's `--start-time` (chains first seen later start
    /// there when no `--start-time` is given and no chain has a place yet).
    pub origin: Option<Timestamp>,
    /// When the last run completed (its "now").
    pub updated: Timestamp,
    /// Completed runs.
    pub runs: u64,
    /// The chains, sorted.
    pub chains: Vec<ChainState>,
}

impl State {
    /// A new state for `scope`.
    pub fn new(scope: Scope, origin: Option<Timestamp>, now: Timestamp) -> State {
        State {
            scope,
            origin,
            updated: now,
            runs: 0,
            chains: vec![],
        }
    }

    /// The entry of `chain`, created (starting at `since`) when missing.
    pub fn chain_mut(&mut self, chain: &ChainId, since: Timestamp) -> &mut ChainState {
        let i = match self.chains.iter().position(|c| &c.chain == chain) {
            Some(i) => i,
            None => {
                self.chains.push(ChainState {
                    chain: chain.clone(),
                    since,
                    checkpoint: None,
                    recheck_next: None,
                    recheck_rounds: 0,
                });
                self.chains.sort_by(|a, b| a.chain.cmp(&b.chain));
                self.chains.iter().position(|c| &c.chain == chain).unwrap_or(0)
            }
        };
        &mut self.chains[i]
    }
}

/// The envelope of a state file: the body's exact bytes are hashed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    format: String,
    version: u32,
    sha256: String,
    #[serde(borrow)]
    body: &'a serde_json::value::RawValue,
}

/// An open, locked state file.
pub struct StateFile {
    path: PathBuf,
    /// Held until the run ends (dropped: released; the kernel releases it
    /// when the process dies).
    _lock: File,
    /// The lock on the state file itself (when it existed).
    _own: Option<File>,
}

impl StateFile {
    /// Takes the exclusive lock next to `path` (`PATH.lock`). Fails when
    /// another run holds it.
    pub fn lock(path: &Path) -> Result<StateFile> {
        let lock_path = lock_path(path);
        let mut lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .with_context(|| {
                format!(
                    "--state {}: cannot open the lock file {}",
                    path.display(),
                    lock_path.display()
                )
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
                let holder = holder.trim();
                bail!(
                    "--state {}: another ctverify run holds the lock {}{}; not running twice at once",
                    path.display(),
                    lock_path.display(),
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" ({holder})")
                    }
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(e)
                    .with_context(|| format!("--state {}: cannot lock {}", path.display(), lock_path.display()))
            }
        }
        // Who holds it, for the message a second run prints.
        let _ = lock.set_len(0);
        let _ = writeln!(lock, "pid {}", std::process::id());
        // The state file itself too, when it exists: a tool that locks it
        // (`flock FILE ...`, e.g. a backup) keeps ctverify out, and sees
        // a run in progress.
        let own = match File::open(path) {
            Ok(f) => match f.try_lock() {
                Ok(()) => Some(f),
                Err(TryLockError::WouldBlock) => bail!(
                    "--state {}: the state file is locked by another process; not running while it is",
                    path.display()
                ),
                Err(TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("--state {}: cannot lock it", path.display()))
                }
            },
            Err(_) => None,
        };
        Ok(StateFile {
            path: path.to_path_buf(),
            _lock: lock,
            _own: own,
        })
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the state (`None` when the file does not exist yet). A file
    /// that is not a valid state file of this version is an error naming it.
    pub fn load(&self) -> Result<Option<State>> {
        let bytes = match crate::config::read_bounded(&self.path, MAX_STATE_BYTES) {
            Ok(b) => b,
            Err(e)
                if e.downcast_ref::<std::io::Error>().map(std::io::Error::kind)
                    == Some(std::io::ErrorKind::NotFound) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(e).with_context(|| format!("--state {}", self.path.display())),
        };
        parse(&bytes).map(Some).with_context(|| {
            format!(
                "--state {}: not a usable state file (restore it from a backup, or start over deliberately with --state-reset)",
                self.path.display()
            )
        })
    }

    /// Writes `state` atomically (owner-only permissions).
    pub fn save(&self, state: &State) -> Result<()> {
        crate::atomic::write(&self.path, &render(state)?, 0o600)
    }
}

/// `PATH.lock`.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    path.with_file_name(name)
}

/// The file's bytes for `state`.
pub fn render(state: &State) -> Result<Vec<u8>> {
    let body = serde_json::to_string_pretty(state)?;
    let sha = hex::encode(Sha256::digest(body.as_bytes()));
    Ok(format!(
        "{{\n\"format\": \"{FORMAT}\",\n\"version\": {VERSION},\n\"sha256\": \"{sha}\",\n\"body\": {body}\n}}\n"
    )
    .into_bytes())
}

/// Parses and checks a state file's bytes.
pub fn parse(bytes: &[u8]) -> Result<State> {
    let envelope: Envelope =
        serde_json::from_slice(bytes).context("not a ctverify state file (not the expected JSON)")?;
    if envelope.format != FORMAT {
        bail!("not a ctverify state file (format {:?})", envelope.format);
    }
    if envelope.version != VERSION {
        bail!(
            "state format version {} is not supported (this ctverify reads version {VERSION})",
            envelope.version
        );
    }
    let actual = hex::encode(Sha256::digest(envelope.body.get().as_bytes()));
    if !actual.eq_ignore_ascii_case(&envelope.sha256) {
        bail!("its checksum does not match its content: the file was edited or is corrupt");
    }
    let state: State = serde_json::from_str(envelope.body.get()).context("its content is not a valid state")?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> State {
        let t = Timestamp::parse_user("2024-03-01T00:17:28Z").unwrap();
        let mut s = State::new(
            Scope {
                trail_arn: Some("arn:aws:cloudtrail:us-east-1:111122223333:trail/t".into()),
                bucket: None,
                prefix: None,
                regions: vec![],
                accounts: vec![],
            },
            Some(t),
            t,
        );
        let chain = ChainId {
            prefix: String::new(),
            org: None,
            account: "111122223333".into(),
            region: "us-east-1".into(),
            trail: "t".into(),
            home_region: "us-east-1".into(),
        };
        s.chain_mut(&chain, t).checkpoint = Some(Checkpoint {
            bucket: "b".into(),
            key: "k".into(),
            end: t,
            sha256: "00".repeat(32),
            signature: "ab".into(),
        });
        s
    }

    #[test]
    fn round_trips() {
        let s = sample();
        assert_eq!(parse(&render(&s).unwrap()).unwrap(), s);
    }

    #[test]
    fn edits_truncation_and_versions_are_refused() {
        let text = String::from_utf8(render(&sample()).unwrap()).unwrap();
        let edited = text.replace("\"ab\"", "\"ac\"");
        assert!(format!("{:#}", parse(edited.as_bytes()).unwrap_err()).contains("edited"));
        assert!(parse(&text.as_bytes()[..text.len() / 2]).is_err());
        let v2 = text.replace("\"version\": 1", "\"version\": 2");
        assert!(format!("{:#}", parse(v2.as_bytes()).unwrap_err()).contains("version 2"));
        assert!(parse(b"{}").is_err());
        assert!(parse(b"").is_err());
    }

    #[test]
    fn second_lock_is_refused() {
        let dir = std::env::temp_dir().join(format!("ctverify-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.json");
        let first = StateFile::lock(&path).unwrap();
        let err = StateFile::lock(&path).err().expect("second lock must fail");
        assert!(format!("{err:#}").contains("another ctverify run holds the lock"));
        drop(first);
        assert!(StateFile::lock(&path).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
