//! CloudTrail calls: the trail lookup (as aws-cli does it), the latest
//! digest delivery time, and the public keys of each delivery region.

use super::client::Aws;
use anyhow::{anyhow, bail, Result};
use aws_sdk_cloudtrail::error::DisplayErrorContext;
use aws_sdk_cloudtrail::primitives::DateTime;
use ctverify_core::keys::ListedKey;
use ctverify_core::time::Timestamp;

/// What DescribeTrails says about the trail.
#[derive(Debug, Clone)]
pub struct TrailInfo {
    /// `S3BucketName`.
    pub bucket: String,
    /// `S3KeyPrefix`.
    pub prefix: Option<String>,
    /// `IsOrganizationTrail`.
    pub organization: bool,
    /// `IsMultiRegionTrail`.
    pub multi_region: bool,
}

/// `DescribeTrails` in the client region (shadow trails included, like
/// aws-cli), the entry whose `TrailARN` is `arn`.
pub async fn describe_trail(aws: &Aws, arn: &str) -> Result<TrailInfo> {
    let out = aws
        .cloudtrail(None)
        .describe_trails()
        .send()
        .await
        .map_err(|e| anyhow!("DescribeTrails failed: {}", DisplayErrorContext(e)))?;
    let Some(t) = out.trail_list().iter().find(|t| t.trail_arn() == Some(arn)) else {
        bail!("A trail could not be found for {arn}");
    };
    let Some(bucket) = t.s3_bucket_name() else {
        bail!("trail {arn} has no S3 bucket");
    };
    Ok(TrailInfo {
        bucket: bucket.to_string(),
        prefix: t.s3_key_prefix().filter(|p| !p.is_empty()).map(str::to_string),
        organization: t.is_organization_trail() == Some(true),
        multi_region: t.is_multi_region_trail() == Some(true),
    })
}

/// `GetTrailStatus`'s `LatestDigestDeliveryTime`; `None` when the call is
/// not permitted or fails (the check it feeds is an extra, skipped quietly).
pub async fn latest_digest_delivery(aws: &Aws, arn: &str) -> Option<Timestamp> {
    let out = aws.cloudtrail(None).get_trail_status().name(arn).send().await.ok()?;
    out.latest_digest_delivery_time()
        .map(|t| Timestamp::from_unix(t.secs()))
}

/// ListPublicKeys pages at most (AWS has a handful of keys per region).
const MAX_KEY_PAGES: usize = 20;

/// Every public key of `region` valid at some time in `[start, end]`
/// (`ListPublicKeys`, every page).
pub async fn public_keys(aws: &Aws, region: &str, start: Timestamp, end: Timestamp) -> Result<Vec<ListedKey>> {
    let deadline = aws.limits().deadline;
    tokio::time::timeout(deadline, public_keys_paged(aws, region, start, end))
        .await
        .unwrap_or_else(|_| {
            bail!(
                "ListPublicKeys in {region} failed: no complete answer within {} s",
                deadline.as_secs()
            )
        })
}

async fn public_keys_paged(aws: &Aws, region: &str, start: Timestamp, end: Timestamp) -> Result<Vec<ListedKey>> {
    let client = aws.cloudtrail(Some(region));
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    loop {
        let mut call = client
            .list_public_keys()
            .start_time(DateTime::from_secs(start.unix()))
            .end_time(DateTime::from_secs(end.unix()));
        if let Some(t) = &token {
            call = call.next_token(t);
        }
        let out = call
            .send()
            .await
            .map_err(|e| anyhow!("ListPublicKeys in {region} failed: {}", DisplayErrorContext(e)))?;
        for k in out.public_key_list() {
            let (Some(value), Some(fp)) = (k.value(), k.fingerprint()) else {
                continue;
            };
            keys.push(ListedKey {
                fingerprint: fp.to_string(),
                der: value.as_ref().to_vec(),
                valid_from: k.validity_start_time().map(|t| Timestamp::from_unix(t.secs())),
                valid_to: k.validity_end_time().map(|t| Timestamp::from_unix(t.secs())),
                region: Some(region.to_string()),
                source: format!("ListPublicKeys {region}"),
            });
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => {
                // A token seen before: pagination that would never end.
                if !seen.insert(t.to_string()) || seen.len() > MAX_KEY_PAGES {
                    bail!("ListPublicKeys in {region} failed: its pagination does not end (token {t:?} again, or over {MAX_KEY_PAGES} pages)");
                }
                token = Some(t.to_string());
            }
            _ => break,
        }
    }
    Ok(keys)
}

/// The keys as `list-public-keys` JSON per region (`{region: {"PublicKeyList":
/// [...]}}`), the form `--public-keys` reads: the export's `public-keys.json`.
pub fn keys_json(keys: &[ListedKey]) -> String {
    use base64::Engine;
    let mut by_region: std::collections::BTreeMap<String, Vec<serde_json::Value>> = Default::default();
    for k in keys {
        by_region
            .entry(k.region.clone().unwrap_or_default())
            .or_default()
            .push(serde_json::json!({
                "Value": base64::engine::general_purpose::STANDARD.encode(&k.der),
                "ValidityStartTime": k.valid_from.map(|t| t.to_string()),
                "ValidityEndTime": k.valid_to.map(|t| t.to_string()),
                "Fingerprint": k.fingerprint,
            }));
    }
    let map: serde_json::Map<String, serde_json::Value> = by_region
        .into_iter()
        .map(|(r, list)| (r, serde_json::json!({ "PublicKeyList": list })))
        .collect();
    serde_json::to_string_pretty(&map).unwrap_or_default()
}
