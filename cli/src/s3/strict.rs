//! A strict-mode run over S3: the setup S3 needs (the trail, its bucket and
//! region, its public keys) around the CLI's one strict run
//! ([`crate::run::strict`]) over the bucket as a [`Source`](crate::run::Source)
//! ([`S3Source`], or [`Exporting`] for `export`). No verification rule lives
//! here.

use super::client::{Aws, Connection};
use super::export::Exporter;
use super::source::{Exporting, S3Source};
use super::store::S3Store;
use super::trail;
use crate::config::{Config, S3Settings};
use crate::run::Outcome;
use anyhow::{bail, Context, Result};
use ctverify_core::compat::ArnParts;
use ctverify_core::keys::{Keyring, ListedKey};
use ctverify_core::layout::DigestKeyName;
use ctverify_core::time::HOUR;
use ctverify_core::verify::{CheckedOptions, Options, LOAD_MARGIN};
use std::collections::BTreeSet;
use tokio::task::JoinSet;

pub use super::source::not_a_digest;

/// The bucket a run reads and the options completed from the trail.
pub struct Target {
    /// The clients.
    pub aws: Aws,
    /// The bucket, in its region.
    pub store: S3Store,
    /// Core options with bucket and prefix set.
    pub options: CheckedOptions,
}

/// Connects, looks the trail up (unless `--s3-bucket`), finds the bucket's
/// region.
pub async fn target(config: &Config, s3: &S3Settings) -> Result<Target> {
    let home = s3.trail_arn.as_deref().map(|a| ArnParts::of(a).home_region.to_string());
    let aws = Aws::connect(&Connection {
        profile: s3.profile.clone(),
        endpoint_url: s3.endpoint_url.clone(),
        region: home,
        limits: s3.limits,
    })
    .await;
    let mut options = config.options.clone();
    if options.bucket.is_none() {
        let Some(arn) = s3.trail_arn.as_deref() else {
            bail!("S3 mode needs --trail-arn (or --s3-bucket)");
        };
        let info = trail::describe_trail(&aws, arn).await?;
        if options.prefix.is_some() && options.prefix != info.prefix {
            eprintln!("ctverify: warning: --s3-prefix is ignored without --s3-bucket (the trail's prefix is used, as aws-cli does)");
        }
        if config.options.verbose {
            eprintln!(
                "ctverify: trail {arn}: s3://{}/{}{}{}",
                info.bucket,
                info.prefix.as_deref().map(|p| format!("{p}/")).unwrap_or_default(),
                if info.multi_region { ", multi-region" } else { "" },
                if info.organization { ", organization trail" } else { "" }
            );
        }
        options = options.amend(|o| {
            o.bucket = Some(info.bucket);
            o.prefix = info.prefix;
        })?;
    }
    let bucket = options.bucket.clone().unwrap_or_default();
    let region = aws.bucket_region(&bucket).await?;
    let store = S3Store::new(aws.s3(Some(&region)), &bucket, s3.jobs, s3.limits);
    Ok(Target { aws, store, options })
}

/// The S3 run's source and options (the trail's bucket and prefix, its
/// last digest delivery), and the clients.
pub async fn prepare(config: &Config, s3: &S3Settings) -> Result<(S3Source, CheckedOptions, Aws)> {
    let Target { aws, store, options } = target(config, s3).await?;
    let options = match &s3.trail_arn {
        // Before the listing: every digest delivered by then is listed.
        Some(arn) => {
            let delivered = trail::latest_digest_delivery(&aws, arn).await;
            options.amend(|o| o.latest_digest_delivery = delivered)?
        }
        None => options,
    };
    Ok((S3Source::new(store, s3.jobs), options, aws))
}

/// The keyring of an S3 run, once the digests to load are known: the given
/// keys, else `ListPublicKeys` in their regions (written into the export
/// folder when exporting).
pub fn keyring(
    aws: Aws,
    options: CheckedOptions,
    given: Option<Keyring>,
    export: Option<Exporter>,
) -> impl FnOnce(Vec<String>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Keyring>> + Send>> {
    move |to_load: Vec<String>| {
        Box::pin(async move {
            let keyring = match given {
                Some(k) => k,
                None => {
                    let listed = fetch_keys(&aws, &to_load, &options).await?;
                    if let Some(x) = &export {
                        x.write_file("public-keys.json", trail::keys_json(&listed).as_bytes())?;
                    }
                    let mut ring = Keyring::new();
                    for k in listed {
                        if let Err(e) = ring.add_listed(k) {
                            eprintln!("ctverify: warning: public key skipped: {e}");
                        }
                    }
                    ring
                }
            };
            if keyring.is_empty() {
                eprintln!("ctverify: warning: no usable public key: no digest can be verified (digest_key_unknown)");
            }
            Ok(keyring)
        })
    }
}

/// Runs strict validation of `config` over S3; with `export`, every object
/// read (and everything else listed) is also written into the export folder.
pub async fn run(config: &Config, s3: &S3Settings, export: Option<&Exporter>) -> Result<Outcome> {
    let (source, options, aws) = prepare(config, s3).await?;
    let keys = keyring(aws, options.clone(), config.keyring.clone(), export.cloned());
    match export {
        Some(x) => crate::run::strict(options, &Exporting::new(source, x.clone()), keys).await,
        None => crate::run::strict(options, &source, keys).await,
    }
}

/// The delivery regions of the digests to load, and their keys from
/// `ListPublicKeys` over the run's window (with margin: a backfill digest
/// may have been signed up to now), before any log work starts.
async fn fetch_keys(aws: &Aws, keys: &[String], options: &Options) -> Result<Vec<ListedKey>> {
    let regions: BTreeSet<String> = keys
        .iter()
        .filter_map(|k| DigestKeyName::parse(k))
        .map(|n| n.chain.region)
        .collect();
    let start = options
        .listing_window()
        .0
        .unwrap_or(options.now)
        .add_secs(-LOAD_MARGIN - HOUR);
    let end = options.end.unwrap_or(options.now).max(options.now).add_secs(2 * HOUR);
    let mut set = JoinSet::new();
    for r in regions {
        let aws = aws.clone();
        set.spawn(async move { trail::public_keys(&aws, &r, start, end).await });
    }
    let mut all = Vec::new();
    while let Some(res) = set.join_next().await {
        all.extend(res.context("ListPublicKeys task failed")??);
    }
    Ok(all)
}
