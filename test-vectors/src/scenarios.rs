//! The scenarios, one function each. A scenario builds a bucket, tampers with
//! it and plants the violations a correct verifier must report;
//! `chain_restart` and `coverage_gap` findings are derived by
//! [`crate::expect`] from which digests remain authenticated.

use anyhow::{anyhow, Result};

use crate::crypto::{gzip, KeyEncoding};
use crate::expect::Kind;
use crate::json::Json;
use crate::model::{first_start, flip_hex, hourly, DigestPlan, Edit, Scenario, SigHash, Trail};
use crate::time::{self, Time, DAY, HOUR, MINUTE};

/// Builds one scenario into an empty [`Scenario`].
pub type Build = fn(&mut Scenario<'_>) -> Result<()>;

/// Every scenario, in the order of `INDEX.md`.
pub const ALL: &[(&str, Build)] = &[
    ("clean_chain_valid", clean_chain_valid),
    ("clean_range_cuts_chain_valid", clean_range_cuts_chain_valid),
    ("log_modified_detected", log_modified_detected),
    ("log_missing_detected", log_missing_detected),
    ("log_not_gzip_malformed", log_not_gzip_malformed),
    ("log_truncated_trailer_malformed", log_truncated_trailer_malformed),
    ("log_trailing_member_malformed", log_trailing_member_malformed),
    ("log_bad_crc_malformed", log_bad_crc_malformed),
    ("log_empty_object_malformed", log_empty_object_malformed),
    ("log_truncated_deflate_malformed", log_truncated_deflate_malformed),
    ("log_unreferenced_notice", log_unreferenced_notice),
    ("log_key_dotdot_read_error", log_key_dotdot_read_error),
    ("digest_missing_middle_detected", digest_missing_middle_detected),
    (
        "digest_missing_two_consecutive_detected",
        digest_missing_two_consecutive_detected,
    ),
    (
        "digest_missing_three_consecutive_detected",
        digest_missing_three_consecutive_detected,
    ),
    (
        "digest_missing_oldest_with_start_time",
        digest_missing_oldest_with_start_time,
    ),
    ("digest_newest_deleted_end_time_gap", digest_newest_deleted_end_time_gap),
    ("digest_modified_signature_invalid", digest_modified_signature_invalid),
    (
        "digest_metadata_signature_corrupt_middle",
        digest_metadata_signature_corrupt_middle,
    ),
    (
        "digest_metadata_signature_corrupt_newest",
        digest_metadata_signature_corrupt_newest,
    ),
    ("digest_moved_detected", digest_moved_detected),
    ("digest_not_gzip_malformed", digest_not_gzip_malformed),
    ("digest_trailing_data_malformed", digest_trailing_data_malformed),
    ("digest_missing_field_malformed", digest_missing_field_malformed),
    ("digest_json_array_malformed", digest_json_array_malformed),
    ("digest_logfiles_missing_resigned", digest_logfiles_missing_resigned),
    (
        "log_entry_without_hashvalue_resigned",
        log_entry_without_hashvalue_resigned,
    ),
    ("log_hash_uppercase_valid", log_hash_uppercase_valid),
    (
        "digest_gzip_trailing_garbage_newest",
        digest_gzip_trailing_garbage_newest,
    ),
    ("digest_newest_no_metadata_unsigned", digest_newest_no_metadata_unsigned),
    ("no_metadata_sync_copy_incomplete", no_metadata_sync_copy_incomplete),
    ("injected_digest_forged_signature", injected_digest_forged_signature),
    ("digest_signature_odd_hex_invalid", digest_signature_odd_hex_invalid),
    ("digest_sha1_signature_invalid", digest_sha1_signature_invalid),
    ("chain_hash_mismatch_resigned", chain_hash_mismatch_resigned),
    ("chain_signature_mismatch_resigned", chain_signature_mismatch_resigned),
    ("chain_restart_gap_incomplete", chain_restart_gap_incomplete),
    ("chain_restart_gap_allow_gaps_valid", chain_restart_gap_allow_gaps_valid),
    ("range_end_beyond_newest_gap", range_end_beyond_newest_gap),
    ("key_unknown_incomplete", key_unknown_incomplete),
    (
        "key_fingerprint_mislisted_incomplete",
        key_fingerprint_mislisted_incomplete,
    ),
    ("key_rotation_valid", key_rotation_valid),
    ("key_spki_encoded_valid", key_spki_encoded_valid),
    ("keys_iso_timestamps_valid", keys_iso_timestamps_valid),
    ("public_keys_pem_file", public_keys_pem_file),
    ("multi_region_valid", multi_region_valid),
    ("multi_region_filter_region", multi_region_filter_region),
    ("org_trail_valid", org_trail_valid),
    ("org_trail_account_filter", org_trail_account_filter),
    ("prefix_valid", prefix_valid),
    ("several_trails_one_bucket_valid", several_trails_one_bucket_valid),
    ("trail_name_collision_filtered", trail_name_collision_filtered),
    ("trail_name_collision_detects", trail_name_collision_detects),
    (
        "multi_trail_multi_region_org_prefix_valid",
        multi_trail_multi_region_org_prefix_valid,
    ),
    ("backfill_valid", backfill_valid),
    ("backfill_log_modified_detected", backfill_log_modified_detected),
    ("empty_digests_valid", empty_digests_valid),
    ("escaped_slashes_valid", escaped_slashes_valid),
    // Hardening (issue 6): each pins a rule an attack broke.
    (
        "backfill_newest_regular_deleted_gap",
        backfill_newest_regular_deleted_gap,
    ),
    (
        "backfill_middle_regular_deleted_detected",
        backfill_middle_regular_deleted_detected,
    ),
    (
        "backfill_generated_before_end_unverifiable",
        backfill_generated_before_end_unverifiable,
    ),
    (
        "backfill_generated_after_now_unverifiable",
        backfill_generated_after_now_unverifiable,
    ),
    ("decoy_digests_outvote_bucket_valid", decoy_digests_outvote_bucket_valid),
    (
        "log_listed_by_forged_digest_unreferenced",
        log_listed_by_forged_digest_unreferenced,
    ),
    ("digest_duplicate_key_malformed", digest_duplicate_key_malformed),
    ("digest_after_now_incomplete", digest_after_now_incomplete),
    (
        "log_folder_off_pattern_objects_unreferenced",
        log_folder_off_pattern_objects_unreferenced,
    ),
    ("log_decompression_bomb_read_error", log_decompression_bomb_read_error),
    ("prefix_deep_valid", prefix_deep_valid),
];

/// End of hour `n` of the default chain (`FIRST_START + n h`).
fn hour(n: i64) -> Result<Time> {
    Ok(first_start()? + n * HOUR)
}

/// Key of the first log of digest `idx`.
fn first_log(s: &Scenario<'_>, idx: usize) -> Result<String> {
    s.digest(idx)
        .logs
        .first()
        .cloned()
        .ok_or_else(|| anyhow!("digest {idx} lists no logs"))
}

/// Organization of the org-trail scenarios.
const ORG: &str = "o-abc123def4";
/// Second member account of the org-trail scenarios.
const MEMBER: &str = "444455556666";
/// Start of the us-west-2 chain of the multi-region scenarios.
const WEST_START: &str = "2024-03-01T00:36:49Z";
/// Start of the `audit_us-east-1_x` chain.
const X_START: &str = "2024-03-01T00:41:05Z";
/// Organization of the multi-trail scenario.
const ORG2: &str = "o-zz9876zz98";
/// Start of its us-east-1 chains.
const ORG2_EAST_START: &str = "2024-03-01T00:05:11Z";
/// Start of its eu-west-1 chains.
const ORG2_WEST_START: &str = "2024-03-01T00:48:02Z";

/// The first `logFiles` entry of a digest's JSON, mutably.
fn first_entry(json: &mut Json) -> Option<&mut Json> {
    json.get_mut("logFiles")
        .and_then(Json::as_array_mut)
        .and_then(|l| l.first_mut())
}

// ----- clean chains ---------------------------------------------------------

/// 5 untouched digests, no arguments.
fn clean_chain_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("An untouched 5-hour chain; only the chain_restart notice of its starting digest is expected.");
    s.write_default_chain(&Trail::default(), 5)?;
    Ok(())
}

/// 8 digests, range strictly inside on full hours.
fn clean_range_cuts_chain_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("An untouched 8-hour chain validated over 02:00-06:00, strictly inside it: no chain_restart (the starting digest is outside the range) and no gap.");
    s.write_default_chain(&Trail::default(), 8)?;
    s.args.start = Some(time::parse("2024-03-01T02:00:00Z")?);
    s.args.end = Some(time::parse("2024-03-01T06:00:00Z")?);
    Ok(())
}

// ----- log tampering -------------------------------------------------------

/// Content of a listed log changed.
fn log_modified_detected(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The content of one log listed by the middle digest is changed (re-gzipped): log_modified on it.");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let log = first_log(s, d[2])?;
    s.modify_log(&log)?;
    s.expect(Kind::LogModified, &log);
    Ok(())
}

/// A listed log deleted.
fn log_missing_detected(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("One log listed by the middle digest is deleted: log_missing on it.");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let log = first_log(s, d[2])?;
    s.delete_object(&log)?;
    s.expect(Kind::LogMissing, &log);
    Ok(())
}

/// A log stored uncompressed.
fn log_not_gzip_malformed(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("One listed log is replaced by its uncompressed JSON (not gzip): log_malformed on it.");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let log = first_log(s, d[2])?;
    let raw = s.log_raw(&log)?;
    s.replace_object(&log, raw)?;
    s.expect(Kind::LogMalformed, &log);
    Ok(())
}

/// A log whose gzip trailer is cut.
fn log_truncated_trailer_malformed(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("One listed log loses the last 4 bytes of its gzip trailer (ISIZE): log_malformed on it.");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let log = first_log(s, d[2])?;
    let mut bytes = s.object(&log)?.to_vec();
    bytes.truncate(bytes.len() - 4);
    s.replace_object(&log, bytes)?;
    s.expect(Kind::LogMalformed, &log);
    Ok(())
}

/// A second gzip member appended to a log.
fn log_trailing_member_malformed(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("A second gzip member ({\"Records\":[]}) is appended to one listed log: log_malformed on it (not log_modified).");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let log = first_log(s, d[2])?;
    let mut bytes = s.object(&log)?.to_vec();
    bytes.extend(gzip(br#"{"Records":[]}"#)?);
    s.replace_object(&log, bytes)?;
    s.expect(Kind::LogMalformed, &log);
    Ok(())
}

/// A log whose CRC-32 is wrong.
fn log_bad_crc_malformed(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The CRC-32 in one listed log's gzip trailer is corrupted (content intact): log_malformed on it.");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let log = first_log(s, d[2])?;
    let mut bytes = s.object(&log)?.to_vec();
    let crc = bytes.len() - 8;
    bytes[crc] ^= 0xff;
    s.replace_object(&log, bytes)?;
    s.expect(Kind::LogMalformed, &log);
    Ok(())
}

/// A listed log replaced by an empty object.
fn log_empty_object_malformed(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("One listed log is replaced by a 0-byte file: log_malformed on it.");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let log = first_log(s, d[2])?;
    s.replace_object(&log, Vec::new())?;
    s.expect(Kind::LogMalformed, &log);
    Ok(())
}

/// A log cut in the middle of its deflate data.
fn log_truncated_deflate_malformed(s: &mut Scenario<'_>) -> Result<()> {
    s.describe(
        "One listed log keeps only the first half of its bytes (cut inside the deflate data): log_malformed on it.",
    );
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let log = first_log(s, d[2])?;
    let mut bytes = s.object(&log)?.to_vec();
    let half = bytes.len() / 2;
    // 10-byte gzip header before, 8-byte trailer after the deflate data.
    if half <= 10 || half >= bytes.len() - 8 {
        return Err(anyhow!("log {log} too small to cut inside its deflate data"));
    }
    bytes.truncate(half);
    s.replace_object(&log, bytes)?;
    s.expect(Kind::LogMalformed, &log);
    Ok(())
}

/// A log that no digest lists.
fn log_unreferenced_notice(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("An extra log file (name timestamp 02:47, well inside the covered range) is placed in the trail's log folder and listed by no digest: log_unreferenced notice, verdict valid.");
    let trail = Trail::default();
    s.write_default_chain(&trail, 5)?;
    let extra = s.add_log(&trail, hour(2)? + 30 * MINUTE)?;
    s.expect(Kind::LogUnreferenced, &extra.key);
    Ok(())
}

/// A signed digest lists a log key with `..`.
fn log_key_dotdot_read_error(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("A validly signed digest lists the log key AWSLogs/../../escape.json.gz, and a matching file really exists there (outside bucket/): it must never be read, read_error on that key, verdict incomplete.");
    let trail = Trail::default();
    let key = "AWSLogs/../../escape.json.gz";
    let (entry, gz) = s.detached_log(&trail, hour(2)? + 50 * MINUTE, key)?;
    s.put_outside("escape.json.gz", gz);
    let mut plans = hourly(first_start()?, 5);
    plans[2].extra_logs.push(entry);
    s.write_chain(&trail, &plans)?;
    s.expect(Kind::ReadError, key);
    Ok(())
}

// ----- missing and deleted digests ------------------------------------------

/// Deletes digests `deleted` of a chain of `n` and plants `digest_missing`
/// for each (their keys are exactly the hourly-cadence keys).
fn delete_digests(s: &mut Scenario<'_>, n: usize, deleted: &[usize]) -> Result<()> {
    let d = s.write_default_chain(&Trail::default(), n)?;
    for &i in deleted {
        let key = s.digest(d[i]).key.clone();
        s.delete_digest(d[i])?;
        s.expect(Kind::DigestMissing, &key);
    }
    Ok(())
}

/// One middle digest deleted.
fn digest_missing_middle_detected(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The middle digest (and its metadata) of a 5-hour chain is deleted: digest_missing on its key and coverage_gap for its hour.");
    delete_digests(s, 5, &[2])
}

/// Two consecutive digests deleted.
fn digest_missing_two_consecutive_detected(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("Two consecutive digests (hours 2 and 3 of 6) are deleted: digest_missing on both keys (the second found through the hourly cadence) and one coverage_gap for both hours.");
    delete_digests(s, 6, &[2, 3])
}

/// Three consecutive digests deleted.
fn digest_missing_three_consecutive_detected(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("Three consecutive digests (hours 2-4 of 7) are deleted: digest_missing on all three keys and one coverage_gap for the three hours.");
    delete_digests(s, 7, &[2, 3, 4])
}

/// The oldest digest deleted, range starting at its start.
fn digest_missing_oldest_with_start_time(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The oldest (starting) digest is deleted and --start-time is its digestStartTime: digest_missing on its key (named by its successor) and coverage_gap for its hour; no chain_restart.");
    delete_digests(s, 5, &[0])?;
    s.args.start = Some(first_start()?);
    Ok(())
}

/// The newest digest deleted, `--end-time` at its end.
fn digest_newest_deleted_end_time_gap(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The newest digest is deleted and --end-time is its digestEndTime: nothing names it, so no digest_missing, only coverage_gap for its hour.");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    s.delete_digest(d[4])?;
    s.args.end = Some(hour(5)?);
    Ok(())
}

// ----- digest tampering ------------------------------------------------------

/// Digest content changed to hide a modified log.
fn digest_modified_signature_invalid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("A log is modified and the middle digest's hashValue for it is updated to match (metadata untouched): digest_signature_invalid and chain_hash_mismatch on the digest, coverage_gap for its hour, and no log finding (its logs are unverified).");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let log = first_log(s, d[2])?;
    let new_hash = s.modify_log(&log)?;
    s.rewrite_digest(d[2], |json| {
        if let Some(first) = json
            .get_mut("logFiles")
            .and_then(Json::as_array_mut)
            .and_then(|l| l.first_mut())
        {
            first.set("hashValue", Json::str(new_hash));
        }
    })?;
    s.mark_unauthenticated(d[2]);
    let key = s.digest(d[2]).key.clone();
    s.expect(Kind::DigestSignatureInvalid, &key);
    s.expect(Kind::ChainHashMismatch, &key);
    Ok(())
}

/// Metadata signature of a middle digest corrupted.
fn digest_metadata_signature_corrupt_middle(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The metadata signature of the middle digest is corrupted (content intact): digest_signature_invalid and chain_signature_mismatch on it; its successor still authenticates it, so no gap.");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let key = s.digest(d[2]).key.clone();
    s.corrupt_metadata_signature(&key)?;
    s.expect(Kind::DigestSignatureInvalid, &key);
    s.expect(Kind::ChainSignatureMismatch, &key);
    Ok(())
}

/// Metadata signature of the newest digest corrupted.
fn digest_metadata_signature_corrupt_newest(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The metadata signature of the newest digest is corrupted: digest_signature_invalid on it and coverage_gap for its hour (nothing else vouches for it).");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let key = s.digest(d[4]).key.clone();
    s.corrupt_metadata_signature(&key)?;
    s.mark_unauthenticated(d[4]);
    s.expect(Kind::DigestSignatureInvalid, &key);
    Ok(())
}

/// A digest moved to another key.
fn digest_moved_detected(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The middle digest and its metadata are moved to a key 32 s later in the same folder: digest_moved where it was found and digest_missing where the chain names it (SPEC §6: each one is reported); its content is authentic, so its hour stays covered.");
    let trail = Trail::default();
    let d = s.write_default_chain(&trail, 5)?;
    let moved = s.digest(d[2]).end + 32;
    let old_key = s.digest(d[2]).key.clone();
    let new_key = trail.digest_key(moved, false);
    s.move_digest(d[2], &new_key)?;
    s.expect(Kind::DigestMoved, &new_key);
    s.expect(Kind::DigestMissing, &old_key);
    Ok(())
}

/// A digest stored uncompressed.
fn digest_not_gzip_malformed(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The middle digest is stored as its uncompressed JSON (not gzip; metadata kept): digest_malformed on it and coverage_gap for its hour.");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let rec = s.digest(d[2]);
    let (key, raw) = (rec.key.clone(), rec.raw.clone());
    s.replace_object(&key, raw)?;
    s.mark_malformed(d[2]);
    s.expect(Kind::DigestMalformed, &key);
    Ok(())
}

/// Bytes appended after a digest's gzip stream.
fn digest_trailing_data_malformed(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("Bytes are appended after the middle digest's gzip stream: digest_malformed on it and coverage_gap for its hour.");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let key = s.digest(d[2]).key.clone();
    let mut bytes = s.object(&key)?.to_vec();
    bytes.extend_from_slice(b"trailing data after the gzip stream\n");
    s.replace_object(&key, bytes)?;
    s.mark_malformed(d[2]);
    s.expect(Kind::DigestMalformed, &key);
    Ok(())
}

/// A signed digest without `digestEndTime`.
fn digest_missing_field_malformed(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The middle digest is written and signed without its required digestEndTime field (the chain links to it normally): digest_malformed on it and coverage_gap for its hour.");
    let mut plans = hourly(first_start()?, 5);
    plans[2].edits.push(Edit::Remove("digestEndTime"));
    let d = s.write_chain(&Trail::default(), &plans)?;
    let key = s.digest(d[2]).key.clone();
    s.mark_malformed(d[2]);
    s.expect(Kind::DigestMalformed, &key);
    Ok(())
}

/// A digest whose JSON is an array.
fn digest_json_array_malformed(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The middle digest's object is replaced by gzip of [1,2] (valid JSON, but not an object; metadata kept): digest_malformed on it and coverage_gap for its hour.");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let key = s.digest(d[2]).key.clone();
    s.replace_object(&key, gzip(b"[1,2]")?)?;
    s.mark_malformed(d[2]);
    s.expect(Kind::DigestMalformed, &key);
    Ok(())
}

/// A signed digest without `logFiles`.
fn digest_logfiles_missing_resigned(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The middle digest is written and signed without its logFiles field (no log files are written for its hour; the chain links to it normally): digest_malformed on it and coverage_gap for its hour. (aws-cli aborts with 'logFiles'.)");
    let mut plans = hourly(first_start()?, 5);
    plans[2].logs = 0;
    plans[2].edits.push(Edit::Remove("logFiles"));
    let d = s.write_chain(&Trail::default(), &plans)?;
    let key = s.digest(d[2]).key.clone();
    s.mark_malformed(d[2]);
    s.expect(Kind::DigestMalformed, &key);
    Ok(())
}

/// A signed digest with a `logFiles` entry lacking `hashValue`.
fn log_entry_without_hashvalue_resigned(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The middle digest is written and signed with its first logFiles entry lacking hashValue (the chain links to it normally): digest_malformed on it and coverage_gap for its hour; its logs lie in the uncovered hour, so no log finding.");
    let mut plans = hourly(first_start()?, 5);
    plans[2].edits.push(Edit::Apply(|json| {
        if let Some(entry) = first_entry(json) {
            entry.remove("hashValue");
        }
    }));
    let d = s.write_chain(&Trail::default(), &plans)?;
    let key = s.digest(d[2]).key.clone();
    s.mark_malformed(d[2]);
    s.expect(Kind::DigestMalformed, &key);
    Ok(())
}

/// A signed digest with an uppercase `hashValue`.
fn log_hash_uppercase_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The middle digest is written and signed with its first logFiles hashValue in UPPERCASE hex (same value; the log is untouched): hex is case-insensitive, valid. (aws-cli says hash value doesn't match.)");
    let mut plans = hourly(first_start()?, 5);
    plans[2].edits.push(Edit::Apply(|json| {
        if let Some(entry) = first_entry(json) {
            if let Some(h) = entry.get("hashValue").and_then(Json::as_str) {
                let upper = h.to_ascii_uppercase();
                entry.set("hashValue", Json::str(upper));
            }
        }
    }));
    s.write_chain(&Trail::default(), &plans)?;
    Ok(())
}

/// The newest digest with garbage after its gzip stream.
fn digest_gzip_trailing_garbage_newest(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The 7 bytes GARBAGE are appended after the newest digest's gzip stream (no --end-time): digest_malformed on it and coverage_gap for its hour (the default range ends at its key timestamp).");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let key = s.digest(d[4]).key.clone();
    let mut bytes = s.object(&key)?.to_vec();
    bytes.extend_from_slice(b"GARBAGE");
    s.replace_object(&key, bytes)?;
    s.mark_malformed(d[4]);
    s.expect(Kind::DigestMalformed, &key);
    Ok(())
}

/// The newest digest without metadata.
fn digest_newest_no_metadata_unsigned(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The newest digest has no metadata sidecar: digest_unsigned on it and coverage_gap for its hour.");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let key = s.digest(d[4]).key.clone();
    s.delete_sidecar(&key)?;
    s.mark_unauthenticated(d[4]);
    s.expect(Kind::DigestUnsigned, &key);
    Ok(())
}

/// A copy without any metadata.
fn no_metadata_sync_copy_incomplete(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("No digest has a metadata sidecar (a plain sync copy): every digest but the newest is authenticated by its successor; digest_unsigned and coverage_gap for the newest only.");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    for &i in &d {
        let key = s.digest(i).key.clone();
        s.delete_sidecar(&key)?;
    }
    s.mark_unauthenticated(d[4]);
    let newest = s.digest(d[4]).key.clone();
    s.expect(Kind::DigestUnsigned, &newest);
    Ok(())
}

/// An injected digest signed by an attacker claiming key a.
fn injected_digest_forged_signature(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("An extra digest (end 30 min after digest 2's, in the chain's folder, linking to digest 2, no logs) is signed with the attacker's key while naming key a's fingerprint: digest_signature_invalid on it, nothing else.");
    let trail = Trail::default();
    let d = s.write_default_chain(&trail, 5)?;
    let start = s.digest(d[2]).end;
    let mut plan = DigestPlan::new(start, start + 30 * MINUTE);
    plan.logs = 0;
    plan.signer = Some("attacker".to_owned());
    let forged = s.write_digest(&trail, &plan, Some(d[2]))?;
    s.mark_unauthenticated(forged);
    let key = s.digest(forged).key.clone();
    s.expect(Kind::DigestSignatureInvalid, &key);
    Ok(())
}

/// Metadata signature of odd length.
fn digest_signature_odd_hex_invalid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The middle digest's metadata signature loses its last hex character (odd-length hex; content intact): digest_signature_invalid and chain_signature_mismatch on it; its successor still authenticates it, so no gap.");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let key = s.digest(d[2]).key.clone();
    s.map_metadata_signature(&key, |sig| {
        let mut cut = sig.to_owned();
        cut.pop();
        cut
    })?;
    s.expect(Kind::DigestSignatureInvalid, &key);
    s.expect(Kind::ChainSignatureMismatch, &key);
    Ok(())
}

/// A digest signed with SHA-1.
fn digest_sha1_signature_invalid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The middle digest is signed with RSASSA-PKCS1-v1_5 SHA-1 by key a over the usual string to sign (labels still SHA256withRSA); its metadata and its successor's previousDigestSignature carry that signature: only SHA-256 is accepted, digest_signature_invalid on it and coverage_gap for its hour. (aws-cli v1 accepts it.)");
    let mut plans = hourly(first_start()?, 5);
    plans[2].sig_hash = SigHash::Sha1;
    let d = s.write_chain(&Trail::default(), &plans)?;
    let key = s.digest(d[2]).key.clone();
    s.mark_unauthenticated(d[2]);
    s.expect(Kind::DigestSignatureInvalid, &key);
    Ok(())
}

// ----- broken links ----------------------------------------------------------

/// Successor re-signed with a wrong previous hash.
fn chain_hash_mismatch_resigned(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("Digest 3 is validly signed but records a wrong previousDigestHashValue (digest 4 chains to it normally): chain_hash_mismatch on digest 2, the previous digest.");
    let mut plans = hourly(first_start()?, 5);
    plans[3].edits.push(Edit::Map("previousDigestHashValue", flip_hex));
    let d = s.write_chain(&Trail::default(), &plans)?;
    let prev = s.digest(d[2]).key.clone();
    s.expect(Kind::ChainHashMismatch, &prev);
    Ok(())
}

/// Successor re-signed with a wrong previous signature.
fn chain_signature_mismatch_resigned(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("Digest 3 is validly signed but records a wrong (well-formed) previousDigestSignature (digest 4 chains to it normally): chain_signature_mismatch on digest 2, whose metadata signature differs.");
    let mut plans = hourly(first_start()?, 5);
    plans[3].edits.push(Edit::Map("previousDigestSignature", flip_hex));
    let d = s.write_chain(&Trail::default(), &plans)?;
    let prev = s.digest(d[2]).key.clone();
    s.expect(Kind::ChainSignatureMismatch, &prev);
    Ok(())
}

// ----- restarts and ranges ---------------------------------------------------

/// 3 digests, stop 3 h, new starting digest, 3 digests.
fn write_restarted_chain(s: &mut Scenario<'_>) -> Result<()> {
    let mut plans = hourly(first_start()?, 3);
    let mut second = hourly(hour(6)?, 3);
    second[0].restart = true;
    plans.extend(second);
    s.write_chain(&Trail::default(), &plans)?;
    Ok(())
}

/// Logging stopped for 3 hours, then restarted.
fn chain_restart_gap_incomplete(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("Logging stops for 3 hours after digest 2 and restarts with a new starting digest: chain_restart on both starting digests and coverage_gap 03:17:28-06:17:28.");
    write_restarted_chain(s)
}

/// The same with `--allow-gaps`.
fn chain_restart_gap_allow_gaps_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The restarted chain of chain_restart_gap_incomplete with --allow-gaps: the coverage_gap is still listed but the verdict is valid.");
    write_restarted_chain(s)?;
    s.args.allow_gaps = true;
    Ok(())
}

/// `--end-time` 3 h after the newest digest.
fn range_end_beyond_newest_gap(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("--end-time is 3 hours after the newest digest's end: coverage_gap for those 3 hours.");
    s.write_default_chain(&Trail::default(), 5)?;
    s.args.end = Some(hour(8)?);
    Ok(())
}

// ----- keys ------------------------------------------------------------------

/// The newest digests signed by a key that is not listed.
fn key_unknown_incomplete(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The two newest digests are signed by key c, which public-keys.json does not list: digest_key_unknown on both and coverage_gap for their two hours.");
    let mut plans = hourly(first_start()?, 5);
    for p in &mut plans[3..] {
        p.key = "c".to_owned();
    }
    let d = s.write_chain(&Trail::default(), &plans)?;
    s.key_list.names = Some(vec!["a".to_owned()]);
    for &i in &d[3..] {
        s.mark_unauthenticated(i);
        let key = s.digest(i).key.clone();
        s.expect(Kind::DigestKeyUnknown, &key);
    }
    Ok(())
}

/// The key list gives key a with key b's fingerprint.
fn key_fingerprint_mislisted_incomplete(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("Every digest is signed by key a but names key b's fingerprint; public-keys.json lists key a's Value with key b's Fingerprint, which is not the MD5 of that key, so the entry is rejected: digest_key_unknown on every digest and one coverage_gap over the whole range. (aws-cli never checks fingerprints and validates.)");
    let mut plans = hourly(first_start()?, 5);
    for p in &mut plans {
        p.key = "b".to_owned();
        p.signer = Some("a".to_owned());
    }
    let d = s.write_chain(&Trail::default(), &plans)?;
    s.key_list.names = Some(vec!["a".to_owned()]);
    s.key_list.fingerprint_as.insert("a".to_owned(), "b".to_owned());
    for &i in &d {
        s.mark_unauthenticated(i);
        let key = s.digest(i).key.clone();
        s.expect(Kind::DigestKeyUnknown, &key);
    }
    Ok(())
}

/// Key rotation in the middle of a chain.
fn key_rotation_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("Digests 0-2 are signed by key a and 3-5 by key b; both keys are listed with overlapping validity windows: valid.");
    let start = first_start()?;
    let mut plans = hourly(start, 6);
    for p in &mut plans[3..] {
        p.key = "b".to_owned();
    }
    s.write_chain(&Trail::default(), &plans)?;
    s.key_list
        .validity
        .insert("a".to_owned(), (start - 25 * DAY, start + 5 * DAY));
    s.key_list
        .validity
        .insert("b".to_owned(), (start - 5 * DAY, start + 25 * DAY));
    Ok(())
}

/// Public key listed as SPKI.
fn key_spki_encoded_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe(
        "The public key is listed as SubjectPublicKeyInfo DER and digests name the MD5 of those SPKI bytes: valid.",
    );
    s.key_encoding = KeyEncoding::Spki;
    s.write_default_chain(&Trail::default(), 5)?;
    Ok(())
}

/// Key validity as ISO strings.
fn keys_iso_timestamps_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe(
        "public-keys.json gives ValidityStartTime/ValidityEndTime as ISO 8601 strings instead of epoch numbers: valid.",
    );
    s.key_list.iso_times = true;
    s.write_default_chain(&Trail::default(), 5)?;
    Ok(())
}

/// The key given as a PEM file.
fn public_keys_pem_file(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The public key is given as a PEM file (-----BEGIN RSA PUBLIC KEY-----) instead of a key list: valid.");
    s.key_list.pem_file = true;
    s.write_default_chain(&Trail::default(), 5)?;
    Ok(())
}

// ----- several chains --------------------------------------------------------

/// A us-east-1 and a us-west-2 chain of the same trail; returns the chains'
/// digest indices.
fn write_two_regions(s: &mut Scenario<'_>) -> Result<(Vec<usize>, Vec<usize>)> {
    let east = Trail::default();
    let west = Trail::default().in_region("us-west-2");
    let e = s.write_default_chain(&east, 5)?;
    let mut plans = hourly(time::parse(WEST_START)?, 5);
    for p in &mut plans {
        p.key = "b".to_owned();
    }
    let w = s.write_chain(&west, &plans)?;
    Ok((e, w))
}

/// Multi-region trail.
fn multi_region_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("A multi-region trail (home us-east-1) delivers a us-east-1 chain at :17:28 (key a) and a us-west-2 chain at :36:49 (key b): chain_restart for each, valid.");
    write_two_regions(s)?;
    Ok(())
}

/// Region filter excludes the tampered region.
fn multi_region_filter_region(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("As multi_region_valid, with a modified log in us-east-1, validated with --region us-west-2: the us-east-1 chain is not checked, valid.");
    let (e, w) = write_two_regions(s)?;
    let log = first_log(s, e[2])?;
    s.modify_log(&log)?;
    s.args.region = Some("us-west-2".to_owned());
    s.main_trail = Some(s.digest(w[0]).trail.clone());
    Ok(())
}

/// Organization trail with two member accounts; returns both chains.
fn write_org(s: &mut Scenario<'_>) -> Result<(Vec<usize>, Vec<usize>)> {
    let mgmt = Trail::default().org_member(ORG, crate::model::ACCOUNT);
    let member = Trail::default().org_member(ORG, MEMBER);
    let a = s.write_default_chain(&mgmt, 5)?;
    let b = s.write_default_chain(&member, 5)?;
    Ok((a, b))
}

/// Organization trail.
fn org_trail_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("An organization trail delivers under AWSLogs/o-abc123def4/ for accounts 111122223333 and 444455556666: chain_restart for each, valid.");
    write_org(s)?;
    Ok(())
}

/// Account filter excludes the tampered account.
fn org_trail_account_filter(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("As org_trail_valid, with a modified log in account 111122223333, validated with --account-id 444455556666: only the member chain is checked, valid.");
    let (a, b) = write_org(s)?;
    let log = first_log(s, a[2])?;
    s.modify_log(&log)?;
    s.args.account = Some(MEMBER.to_owned());
    s.main_trail = Some(s.digest(b[0]).trail.clone());
    Ok(())
}

/// Trail with an S3 key prefix.
fn prefix_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The trail delivers under the S3 key prefix my/pfx: valid.");
    s.write_default_chain(&Trail::default().with_prefix("my/pfx"), 5)?;
    Ok(())
}

/// Trails `audit` and `audit_us-east-1_x` in one bucket and region;
/// returns both chains.
fn write_colliding_trails(s: &mut Scenario<'_>) -> Result<(Vec<usize>, Vec<usize>)> {
    let audit = Trail::default().named("audit");
    let x = Trail::default().named("audit_us-east-1_x");
    let a = s.write_default_chain(&audit, 5)?;
    let b = s.write_chain(&x, &hourly(time::parse(X_START)?, 5))?;
    s.main_trail = Some(audit);
    Ok((a, b))
}

/// Two trails in one bucket.
fn several_trails_one_bucket_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("Trails audit (:17:28) and audit_us-east-1_x (:41:05) deliver to the same bucket, account and region, with no filter: chain_restart for each, valid.");
    write_colliding_trails(s)?;
    Ok(())
}

/// Trail filter must not match the colliding name.
fn trail_name_collision_filtered(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("As several_trails_one_bucket_valid, with a modified log in trail audit_us-east-1_x, validated with --trail-arn of trail audit: the other trail is not checked (its logs are listed by its own digests), valid.");
    let (a, b) = write_colliding_trails(s)?;
    let log = first_log(s, b[2])?;
    s.modify_log(&log)?;
    s.args.trail_arn = Some(s.digest(a[0]).trail.arn());
    Ok(())
}

/// Trail filter still checks its own trail.
fn trail_name_collision_detects(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("As several_trails_one_bucket_valid, with a modified log in trail audit, validated with --trail-arn of trail audit: log_modified on it.");
    let (a, _) = write_colliding_trails(s)?;
    let log = first_log(s, a[2])?;
    s.modify_log(&log)?;
    s.args.trail_arn = Some(s.digest(a[0]).trail.arn());
    s.expect(Kind::LogModified, &log);
    Ok(())
}

/// An organization trail under a prefix, two accounts, two regions.
fn multi_trail_multi_region_org_prefix_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("Under prefix org/logs, the organization trail org-audit (o-zz9876zz98, home us-east-1) delivers for accounts 111122223333 and 444455556666 in us-east-1 (:05:11, key a) and eu-west-1 (:48:02, key b), 4 hours each, no arguments: chain_restart for each of the 4 chains, valid.");
    let base = Trail::default().named("org-audit").with_prefix("org/logs");
    let mut main = None;
    for account in [crate::model::ACCOUNT, MEMBER] {
        for (region, start, key) in [("us-east-1", ORG2_EAST_START, "a"), ("eu-west-1", ORG2_WEST_START, "b")] {
            let trail = base.clone().org_member(ORG2, account).in_region(region);
            let mut plans = hourly(time::parse(start)?, 4);
            for p in &mut plans {
                p.key = key.to_owned();
            }
            s.write_chain(&trail, &plans)?;
            main.get_or_insert(trail);
        }
    }
    s.main_trail = main;
    Ok(())
}

// ----- backfill and formats ---------------------------------------------------

/// A chain plus a backfill digest for hour 1; returns the backfill index.
fn write_with_backfill(s: &mut Scenario<'_>) -> Result<usize> {
    let trail = Trail::default();
    s.write_default_chain(&trail, 5)?;
    s.write_backfill(&trail, hour(1)?, hour(2)?, 1, hour(5)?)
}

/// A valid backfill digest.
fn backfill_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("A standalone backfill digest (_backfill key, previous* null, generated at the end of the chain) covers hour 1 and lists one extra log: valid, and no chain_restart for it.");
    write_with_backfill(s)?;
    Ok(())
}

/// A backfill digest's log modified.
fn backfill_log_modified_detected(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The log listed by a backfill digest is modified: log_modified on it.");
    let b = write_with_backfill(s)?;
    let log = first_log(s, b)?;
    s.modify_log(&log)?;
    s.expect(Kind::LogModified, &log);
    Ok(())
}

/// Digests without logs.
fn empty_digests_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("Every digest has logFiles [] and null event times (no activity): valid.");
    let mut plans = hourly(first_start()?, 5);
    for p in &mut plans {
        p.logs = 0;
    }
    s.write_chain(&Trail::default(), &plans)?;
    Ok(())
}

/// Digests that escape `/` as `\/`.
fn escaped_slashes_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("Every digest writes each / as \\/ (hashes are over these raw bytes, the string to sign uses decoded values): valid.");
    let mut plans = hourly(first_start()?, 5);
    for p in &mut plans {
        p.escape_slashes = true;
    }
    s.write_chain(&Trail::default(), &plans)?;
    Ok(())
}

// ----- hardening (issue 6) -------------------------------------------------

/// Rule 1: a backfill digest never stands in for a regular one (newest).
fn backfill_newest_regular_deleted_gap(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The newest regular digest (hour 4) is deleted; an authentic backfill digest for the same hour remains: a backfill only supplements its hour, so the hour is a coverage_gap (incomplete), never valid.");
    let trail = Trail::default();
    let d = s.write_default_chain(&trail, 5)?;
    s.write_backfill(&trail, hour(4)?, hour(5)?, 1, hour(5)? + 20 * MINUTE)?;
    s.delete_digest(d[4])?;
    Ok(())
}

/// Rule 1: a backfill digest never stands in for a regular one (middle).
fn backfill_middle_regular_deleted_detected(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The middle regular digest (hour 2) is deleted; an authentic backfill digest for the same hour remains: digest_missing for the regular one, and its hour is a coverage_gap.");
    let trail = Trail::default();
    let d = s.write_default_chain(&trail, 5)?;
    s.write_backfill(&trail, hour(2)?, hour(3)?, 1, hour(5)?)?;
    let key = s.digest(d[2]).key.clone();
    s.delete_digest(d[2])?;
    s.expect(Kind::DigestMissing, &key);
    Ok(())
}

/// Sets a backfill digest's unsigned `backfill-generation-timestamp`.
fn set_generation_time(s: &mut Scenario<'_>, idx: usize, t: Time) -> Result<()> {
    let key = s.digest(idx).key.clone();
    let Some(Json::Obj(fields)) = s.sidecars.get_mut(&key) else {
        return Err(anyhow!("no sidecar for {key}"));
    };
    for (name, value) in fields.iter_mut() {
        if name == "backfill-generation-timestamp" {
            *value = Json::str(time::iso(t));
        }
    }
    Ok(())
}

/// Rule 2: the unsigned generation time is bounded below by the end time.
fn backfill_generated_before_end_unverifiable(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("A backfill digest's unsigned backfill-generation-timestamp metadata is moved before its own digestEndTime (to pick another key): digest_key_unknown (unverifiable), never valid; the log it alone lists is unverified and, inside the covered period, log_unreferenced.");
    backfill_generated_at(s, hour(1)? + 10 * MINUTE)
}

/// Rule 2: the unsigned generation time is bounded above by now.
fn backfill_generated_after_now_unverifiable(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("A backfill digest's backfill-generation-timestamp metadata lies after the current time (2030): digest_key_unknown (unverifiable); the log it alone lists is log_unreferenced.");
    backfill_generated_at(s, time::parse("2030-01-01T00:00:00Z")?)
}

/// A default chain plus a backfill digest for hour 1 whose generation-time
/// metadata says `generated`, a time outside its credible bounds: the
/// backfill is `digest_key_unknown`, and the log only it lists is
/// `log_unreferenced`.
fn backfill_generated_at(s: &mut Scenario<'_>, generated: Time) -> Result<()> {
    let trail = Trail::default();
    s.write_default_chain(&trail, 5)?;
    let b = s.write_backfill(&trail, hour(1)?, hour(2)?, 1, hour(5)?)?;
    set_generation_time(s, b, generated)?;
    s.mark_unauthenticated(b);
    let key = s.digest(b).key.clone();
    let log = first_log(s, b)?;
    s.expect(Kind::DigestKeyUnknown, &key);
    s.expect(Kind::LogUnreferenced, &log);
    Ok(())
}

/// Rule 3: unauthenticated digests have no say in the bucket name.
fn decoy_digests_outvote_bucket_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("Seven forged digests of another trail (decoy), in the same folder, claim the bucket attacker-bucket and outnumber the five real ones; --trail-arn selects demo: the bucket comes only from authenticated digests, so nothing is moved: valid.");
    let trail = Trail::default();
    s.write_default_chain(&trail, 5)?;
    let mut decoy = Trail::default().named("decoy");
    decoy.bucket = "attacker-bucket".to_owned();
    let mut plans = hourly(first_start()?, 7);
    for p in &mut plans {
        p.logs = 0;
        p.signer = Some("attacker".to_owned());
    }
    for d in s.write_chain(&decoy, &plans)? {
        s.mark_unauthenticated(d);
    }
    s.main_trail = Some(trail.clone());
    s.args.trail_arn = Some(trail.arn());
    Ok(())
}

/// Rule 3: only an authenticated digest makes a log referenced.
fn log_listed_by_forged_digest_unreferenced(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("An injected log (02:47) is listed by a forged digest of another trail in the same folder: a log counts as referenced only when an authenticated digest lists it, so log_unreferenced on it (and digest_signature_invalid on the forgery).");
    let trail = Trail::default();
    s.write_default_chain(&trail, 5)?;
    let decoy = Trail::default().named("decoy");
    let mut plan = DigestPlan::new(hour(2)?, hour(3)?);
    plan.logs = 1;
    plan.signer = Some("attacker".to_owned());
    let forged = s.write_digest(&decoy, &plan, None)?;
    s.mark_unauthenticated(forged);
    let key = s.digest(forged).key.clone();
    let log = first_log(s, forged)?;
    s.main_trail = Some(trail);
    s.expect(Kind::DigestSignatureInvalid, &key);
    s.expect(Kind::LogUnreferenced, &log);
    Ok(())
}

/// Rule 6: strict JSON rejects duplicated keys.
fn digest_duplicate_key_malformed(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The middle digest repeats its digestS3Bucket field (first the real bucket, then another; signed as written): strict JSON rejects duplicated keys, so digest_malformed and a coverage_gap for its hour, never \"last one wins\".");
    let mut plans = hourly(first_start()?, 5);
    plans[2].logs = 0;
    plans[2].edits.push(Edit::Apply(|j| {
        if let Json::Obj(fields) = j {
            fields.push(("digestS3Bucket".to_owned(), Json::str("other-bucket")));
        }
    }));
    let d = s.write_chain(&Trail::default(), &plans)?;
    let key = s.digest(d[2]).key.clone();
    s.mark_malformed(d[2]);
    s.expect(Kind::DigestMalformed, &key);
    Ok(())
}

/// Rule 7: a digest that ends after "now" is evidence that the clock is wrong.
fn digest_after_now_incomplete(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("The chain runs past the current time (the tests pin now at 2026-01-01T00:00:00Z): each digest ending after now gets digest_key_unknown and, since the clock is contradicted, nothing is 'not yet due': those hours are a coverage_gap (incomplete).");
    let start = time::parse("2025-12-31T22:17:28Z")?;
    let d = s.write_chain(&Trail::default(), &hourly(start, 4))?;
    for &i in &d[1..] {
        s.mark_unauthenticated(i);
        let key = s.digest(i).key.clone();
        s.expect(Kind::DigestKeyUnknown, &key);
    }
    Ok(())
}

/// Rule 8: off-pattern objects in a log folder are injections too.
fn log_folder_off_pattern_objects_unreferenced(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("Four objects CloudTrail never writes are placed in the trail's log folder: a log name without .gz, a notes.txt and a well-formed log name dated a week later in the 2024/03/01 date folder, and an undated file: log_unreferenced on each.");
    let trail = Trail::default();
    s.write_default_chain(&trail, 5)?;
    let real = trail.log_key(hour(2)? + 30 * MINUTE, "AbCdEfGhIjKlMnOp");
    let plain = real.strip_suffix(".gz").unwrap_or(&real).to_owned();
    let folder = real.rsplit_once('/').map_or(String::new(), |(f, _)| f.to_owned());
    let notes = format!("{folder}/notes.txt");
    let undated = format!("AWSLogs/{}/CloudTrail/{}/readme", trail.account, trail.region);
    // A well-formed log name dated a week later, put in this day's folder.
    let later = trail.log_key(hour(2)? + 7 * DAY, "QrStUvWxYz012345");
    let misfiled = format!("{folder}/{}", later.rsplit_once('/').map_or("", |(_, f)| f));
    for key in [&plain, &notes, &undated, &misfiled] {
        s.put_raw(key, b"{\"Records\":[]}".to_vec())?;
        s.expect(Kind::LogUnreferenced, key);
    }
    Ok(())
}

/// Rule 5: a log over the inflation budget is unverifiable, not judged.
fn log_decompression_bomb_read_error(s: &mut Scenario<'_>) -> Result<()> {
    s.describe("A listed log is replaced by 20 MB of zeros gzipped to ~20 KB (1000:1, over the default 100:1 budget): read_error (unverifiable), neither log_modified nor valid.");
    let d = s.write_default_chain(&Trail::default(), 5)?;
    let log = first_log(s, d[2])?;
    s.replace_object(&log, gzip(&vec![0u8; 20_000_000])?)?;
    s.expect(Kind::ReadError, &log);
    Ok(())
}

/// The listing plan finds `AWSLogs/` below a deep prefix (no --s3-prefix).
fn prefix_deep_valid(s: &mut Scenario<'_>) -> Result<()> {
    s.describe(
        "The trail delivers under a 10-folder key prefix (a/b/c/d/e/f/g/h/i/j), found without --s3-prefix: valid.",
    );
    s.write_default_chain(&Trail::default().with_prefix("a/b/c/d/e/f/g/h/i/j"), 5)?;
    Ok(())
}
