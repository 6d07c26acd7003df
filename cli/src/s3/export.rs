//! `ctverify export`: the objects a run reads, written into the SPEC §3
//! local layout (`DIR/KEY`, `DIR/KEY.metadata.json` for user metadata,
//! `DIR/public-keys.json`) so the evidence can be verified offline.
//!
//! Every file is written under a temporary name in `DIR/.ctverify-partial/`
//! and renamed into place once complete: an interrupted export never leaves
//! a half-written file under an object's name. Keys that cannot be mapped
//! safely into `DIR` (`..`, `.`, NUL, backslash) are never written.

use anyhow::{bail, Context, Result};
use ctverify_core::layout::safe_segments;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Folder of the temporary files, inside the export folder.
const PARTIAL_DIR: &str = ".ctverify-partial";

/// Writes objects into an export folder.
#[derive(Clone)]
pub struct Exporter {
    dir: PathBuf,
    next: Arc<AtomicU64>,
    /// Objects written by this run.
    pub written: Arc<AtomicU64>,
    /// Objects already present with the listed size (not fetched again).
    pub kept: Arc<AtomicU64>,
}

/// A file being written; [`commit`](Partial::commit) gives it its name.
pub struct Partial {
    tmp: PathBuf,
    target: PathBuf,
    file: File,
    /// Counted in [`Exporter::written`] (objects, not the keys file).
    written: Option<Arc<AtomicU64>>,
}

impl Exporter {
    /// Creates (or reuses) the export folder.
    pub fn create(dir: &Path) -> Result<Exporter> {
        std::fs::create_dir_all(dir.join(PARTIAL_DIR)).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Exporter {
            dir: dir.to_path_buf(),
            next: Arc::default(),
            written: Arc::default(),
            kept: Arc::default(),
        })
    }

    /// The export folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where `key` goes, if it can go anywhere safely.
    pub fn path_of(&self, key: &str) -> Result<PathBuf> {
        let Some(segs) = safe_segments(key) else {
            bail!("key {key:?} cannot be written safely into the export folder");
        };
        if segs.first() == Some(&PARTIAL_DIR) {
            bail!("key {key:?} uses the export's reserved folder name");
        }
        let mut path = self.dir.clone();
        for (i, s) in segs.iter().enumerate() {
            path.push(s);
            // Never follow a symlink out of the folder.
            if let Ok(m) = std::fs::symlink_metadata(&path) {
                if m.file_type().is_symlink() || (i + 1 < segs.len() && !m.is_dir()) {
                    bail!("{} is in the way of key {key:?}", path.display());
                }
            }
        }
        Ok(path)
    }

    /// True when `key` is already exported with `size` bytes (a resumed
    /// export does not fetch it again; it is verified from the file).
    pub fn has(&self, key: &str, size: Option<i64>) -> bool {
        let (Ok(path), Some(size)) = (self.path_of(key), size) else {
            return false;
        };
        std::fs::symlink_metadata(path).is_ok_and(|m| m.is_file() && i64::try_from(m.len()) == Ok(size))
    }

    /// Starts writing `key`.
    pub fn partial(&self, key: &str) -> Result<Partial> {
        let target = self.path_of(key)?;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let tmp = self.dir.join(PARTIAL_DIR).join(format!("{}-{n}", std::process::id()));
        let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        Ok(Partial {
            tmp,
            target,
            file,
            written: Some(self.written.clone()),
        })
    }

    /// Writes a whole small object (a digest) and its metadata sidecar.
    pub fn write_object(&self, key: &str, bytes: &[u8], metadata: Option<&BTreeMap<String, String>>) -> Result<()> {
        if let Some(m) = metadata.filter(|m| !m.is_empty()) {
            let mut p = self.partial(&format!("{key}.metadata.json"))?;
            p.write(serde_json::to_string_pretty(m)?.as_bytes())?;
            p.commit()?;
        }
        let mut p = self.partial(key)?;
        p.write(bytes)?;
        p.commit()
    }

    /// Writes `DIR/NAME` (not an object: the public keys).
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let mut p = self.partial(name)?;
        p.written = None;
        p.write(bytes)?;
        p.commit()
    }

    /// Removes the temporary folder (when empty: a concurrent export may
    /// still be using it).
    pub fn finish(&self) {
        let _ = std::fs::remove_dir(self.dir.join(PARTIAL_DIR));
    }
}

impl Partial {
    /// Appends bytes.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.file
            .write_all(bytes)
            .with_context(|| format!("writing {}", self.tmp.display()))
    }

    /// Flushes the file to disk and renames it to the object's name.
    pub fn commit(self) -> Result<()> {
        self.file.sync_all()?;
        if let Some(parent) = self.target.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::rename(&self.tmp, &self.target).with_context(|| format!("writing {}", self.target.display()))?;
        if let Some(w) = &self.written {
            w.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        // Not committed (or already renamed: then this finds nothing).
        let _ = std::fs::remove_file(&self.tmp);
    }
}
