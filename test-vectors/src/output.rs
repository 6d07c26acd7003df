//! Writes a finished scenario to disk: `bucket/` (objects and
//! `.metadata.json` sidecars), the public keys and `expected.json`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use base64::Engine as _;

use crate::crypto::pem;
use crate::expect::{findings_json, Verdict};
use crate::json::Json;
use crate::model::{Scenario, Trail};
use crate::time::{self, Time};

/// One row of `INDEX.md`.
pub struct IndexRow {
    /// Scenario name.
    pub name: &'static str,
    /// Expected verdict.
    pub verdict: Verdict,
    /// What it plants.
    pub description: String,
}

/// Writes `bytes` to `path`, creating parent folders.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Joins a relative `/`-separated path under `base`, refusing `..`.
fn join(base: &Path, rel: &str) -> Result<std::path::PathBuf> {
    let mut p = base.to_path_buf();
    for c in rel.split('/') {
        if c.is_empty() || c == "." || c == ".." {
            bail!("refusing path {rel:?}");
        }
        p.push(c);
    }
    Ok(p)
}

/// A validity time as an epoch number (`1706745600.0`) or an ISO string.
fn validity_time(t: Time, iso: bool) -> Json {
    if iso {
        Json::str(time::iso(t))
    } else {
        Json::Num(format!("{t}.0"))
    }
}

impl Scenario<'_> {
    /// Key names to list: explicit, or every key a digest names, sorted.
    fn listed_keys(&self) -> Vec<String> {
        match &self.key_list.names {
            Some(names) => names.clone(),
            None => {
                let fps: std::collections::BTreeSet<&str> = self
                    .digests
                    .iter()
                    .filter_map(|d| d.json.get("digestPublicKeyFingerprint"))
                    .filter_map(Json::as_str)
                    .collect();
                let mut names = Vec::new();
                for name in self.keys().names() {
                    let key = self.keys().get(name).ok();
                    if key.is_some_and(|k| fps.contains(k.fingerprint(self.key_encoding).as_str())) {
                        names.push(name.to_owned());
                    }
                }
                names
            }
        }
    }

    /// The `Fingerprint` written for key `name`.
    fn listed_fingerprint(&self, name: &str) -> Result<String> {
        let as_name = self.key_list.fingerprint_as.get(name).map_or(name, String::as_str);
        Ok(self.keys().get(as_name)?.fingerprint(self.key_encoding))
    }

    /// Writes the key list; returns the `public_keys` entries of
    /// `expected.json`.
    fn write_keys(&self, dir: &Path) -> Result<Vec<String>> {
        let names = self.listed_keys();
        if self.key_list.pem_file {
            let [name] = names.as_slice() else {
                bail!("{}: a PEM key file holds exactly one key", self.name);
            };
            let der = self.keys().get(name)?.public_der(self.key_encoding);
            write_file(&dir.join("key.pem"), pem("RSA PUBLIC KEY", der).as_bytes())?;
            return Ok(vec!["key.pem".to_owned()]);
        }
        let mut list = Vec::new();
        for name in &names {
            let key = self.keys().get(name)?;
            let der = key.public_der(self.key_encoding);
            let (from, to) = self
                .key_list
                .validity
                .get(name)
                .copied()
                .unwrap_or_else(|| self.default_validity());
            list.push(Json::obj([
                (
                    "Value",
                    Json::str(base64::engine::general_purpose::STANDARD.encode(der)),
                ),
                ("ValidityStartTime", validity_time(from, self.key_list.iso_times)),
                ("ValidityEndTime", validity_time(to, self.key_list.iso_times)),
                ("Fingerprint", Json::str(self.listed_fingerprint(name)?)),
            ]));
        }
        let doc = Json::obj([("PublicKeyList", Json::Arr(list))]);
        write_file(&dir.join("public-keys.json"), doc.to_pretty().as_bytes())?;
        Ok(vec!["public-keys.json".to_owned()])
    }

    /// How to run aws-cli on the same data: main trail, its delivery region,
    /// first start and last end of its standard digests, extra flags.
    fn compat(&self) -> Result<Json> {
        let main: &Trail = match &self.main_trail {
            Some(t) => t,
            None => match self.digests.first() {
                Some(d) => &d.trail,
                None => bail!("{}: no digests", self.name),
            },
        };
        let own = self.digests.iter().filter(|d| &d.trail == main && !d.backfill);
        let start = own.clone().map(|d| d.start).min().unwrap_or(0);
        let end = own.map(|d| d.end).max().unwrap_or(0);
        let mut extra = Vec::new();
        if main.org.is_some() {
            extra.extend(["--account-id".to_owned(), main.account.clone()]);
        }
        if let Some(p) = &main.prefix {
            extra.extend([
                "--s3-bucket".to_owned(),
                main.bucket.clone(),
                "--s3-prefix".to_owned(),
                p.clone(),
            ]);
        }
        Ok(Json::obj([
            ("trail_arn", Json::str(main.arn())),
            ("region", Json::str(&main.region)),
            ("start", Json::str(time::iso(start))),
            ("end", Json::str(time::iso(end))),
            ("extra_args", Json::Arr(extra.into_iter().map(Json::Str).collect())),
            // What DescribeTrails/DescribeOrganization would say of the trail.
            ("bucket", Json::str(&main.bucket)),
            ("prefix", Json::opt_str(main.prefix.clone())),
            ("org_id", Json::opt_str(main.org.clone())),
        ]))
    }

    /// Writes the whole scenario under `dir` (which must not exist yet).
    pub fn write(&self, dir: &Path) -> Result<IndexRow> {
        let public_keys = self.write_files(dir)?;
        let expected = self.expected()?;
        self.write_expected(
            dir,
            public_keys,
            Json::str(expected.verdict.name()),
            Json::Num(expected.verdict.exit_code().to_string()),
            findings_json(&expected.findings),
        )?;
        Ok(IndexRow {
            name: self.name,
            verdict: expected.verdict,
            description: self.description.clone(),
        })
    }

    /// Writes the scenario like [`Scenario::write`] but with placeholder
    /// strict expectations (verdict `unknown`, exit code -1, no findings):
    /// for random scenarios, whose `compat` block is all that is checked.
    pub fn write_unchecked(&self, dir: &Path) -> Result<()> {
        let public_keys = self.write_files(dir)?;
        self.write_expected(
            dir,
            public_keys,
            Json::str("unknown"),
            Json::Num("-1".to_owned()),
            Json::Arr(Vec::new()),
        )
    }

    /// Writes `bucket/` (objects and sidecars), the files outside it and the
    /// key list; returns the `public_keys` entries of `expected.json`.
    fn write_files(&self, dir: &Path) -> Result<Vec<String>> {
        if self.description.is_empty() {
            bail!("{}: no description", self.name);
        }
        let bucket = dir.join("bucket");
        // Also when every object was deleted: an empty bucket is a bucket.
        std::fs::create_dir_all(&bucket).with_context(|| format!("creating {}", bucket.display()))?;
        for (key, bytes) in &self.objects {
            write_file(&join(&bucket, key)?, bytes)?;
        }
        for (key, meta) in &self.sidecars {
            let path = join(&bucket, &format!("{key}.metadata.json"))?;
            write_file(&path, meta.to_pretty().as_bytes())?;
        }
        for (rel, bytes) in &self.outside {
            write_file(&join(dir, rel)?, bytes)?;
        }
        self.write_keys(dir)
    }

    /// Writes `expected.json` with the given strict expectations.
    fn write_expected(
        &self,
        dir: &Path,
        public_keys: Vec<String>,
        verdict: Json,
        exit_code: Json,
        findings: Json,
    ) -> Result<()> {
        let doc = Json::obj([
            ("description", Json::str(&self.description)),
            (
                "args",
                Json::Arr(self.args.to_cli().into_iter().map(Json::Str).collect()),
            ),
            (
                "public_keys",
                Json::Arr(public_keys.into_iter().map(Json::Str).collect()),
            ),
            ("verdict", verdict),
            ("exit_code", exit_code),
            ("findings", findings),
            ("compat", self.compat()?),
        ]);
        write_file(&dir.join("expected.json"), doc.to_pretty().as_bytes())
    }
}
