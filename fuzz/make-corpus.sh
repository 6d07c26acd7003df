#!/usr/bin/env bash
# Rebuilds the committed seed corpus fuzz/corpus/<target>/ from the test
# vectors (deterministic; a few small files per target).
#
#   bash fuzz/make-corpus.sh
set -euo pipefail
cd "$(dirname "$0")"
V=../test-vectors/vectors
C=corpus
D=AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/111122223333_CloudTrail-Digest_us-east-1_demo_us-east-1
L=AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01/111122223333_CloudTrail_us-east-1
first="$V/clean_chain_valid/bucket/${D}_20240301T011728Z.json.gz"
second="$V/clean_chain_valid/bucket/${D}_20240301T021728Z.json.gz"
log="$V/clean_chain_valid/bucket/${L}_20240301T0137Z_U2QLvxdTYyE30fTI.json.gz"
one() { find "$V/$1/bucket" -type f -name "$2" | sort | head -n 1; }

rm -rf "$C"
mkdir -p "$C"/{gzip,log_hasher,digest_json,key_file,metadata_sidecar,object_keys,times,arn,bucket_mutation}

# gzip, log_hasher: one chunking byte (low 3 bits: largest piece), then the object.
prefixed() { { printf "\\x$1"; cat "$2"; } >"$3"; }
prefixed 00 "$log" "$C/gzip/log-1-byte-pieces"
prefixed 05 "$first" "$C/gzip/digest-1k-pieces"
prefixed 02 "$(one log_trailing_member_malformed '*T0237Z_*')" "$C/gzip/log-trailing-member"
prefixed 03 "$(one log_truncated_trailer_malformed '*T0237Z_*')" "$C/gzip/log-truncated-trailer"
prefixed 04 "$(one digest_gzip_trailing_garbage_newest '*T051728Z.json.gz')" "$C/gzip/digest-trailing-garbage"
prefixed 01 "$log" "$C/log_hasher/log-2-byte-pieces"
prefixed 06 "$(one log_bad_crc_malformed '*T0237Z_*')" "$C/log_hasher/log-bad-crc"
prefixed 07 "$(one log_truncated_deflate_malformed '*T0237Z_*')" "$C/log_hasher/log-truncated-deflate"

# digest_json: inflated digests (a starting one, a linked one, escaped slashes), one compressed.
gzip -dc "$first" >"$C/digest_json/starting.json"
gzip -dc "$second" >"$C/digest_json/linked.json"
gzip -dc "$(one escaped_slashes_valid '*T021728Z.json.gz')" >"$C/digest_json/escaped-slashes.json"
cp "$second" "$C/digest_json/linked.json.gz"

# key_file: list-public-keys JSON (epoch and ISO times, SPKI, mislisted), PEM.
cp "$V/clean_chain_valid/public-keys.json" "$C/key_file/list-epoch.json"
cp "$V/keys_iso_timestamps_valid/public-keys.json" "$C/key_file/list-iso.json"
cp "$V/key_spki_encoded_valid/public-keys.json" "$C/key_file/list-spki.json"
cp "$V/key_fingerprint_mislisted_incomplete/public-keys.json" "$C/key_file/list-mislisted.json"
cp "$V/public_keys_pem_file/key.pem" "$C/key_file/key.pem"

# metadata_sidecar: real sidecars, and the header-style spelling.
cp "$first.metadata.json" "$C/metadata_sidecar/sidecar.json"
sed 's/"signature/"x-amz-meta-signature/' "$second.metadata.json" >"$C/metadata_sidecar/header-names.json"
printf '{"signature": null, "n": 1}' >"$C/metadata_sidecar/not-strings.json"

# object_keys: digest, log, organization, prefix, backfill, unsafe.
key() { printf '%s' "$2" >"$C/object_keys/$1"; }
key digest "${D}_20240301T011728Z.json.gz"
key log "${L}_20240301T0137Z_U2QLvxdTYyE30fTI.json.gz"
key org "$(cd "$V/org_trail_valid/bucket" && find AWSLogs -name '*T011728Z.json.gz' | sort | head -n 1)"
key prefix "my/pfx//${D}_20240301T011728Z.json.gz"
key backfill "${D}_20240301T011728Z_backfill.json.gz"
key dotdot "AWSLogs/../../etc/passwd"

# times: digest, key, log-key, user forms.
t() { printf '%s' "$2" >"$C/times/$1"; }
t digest "2024-03-01T00:17:28Z"
t fraction "2024-03-01T00:17:28.123Z"
t key-form "20240301T001728Z"
t log-key-form "20240301T0035Z"
t offset "2024-01-01T05:30:00+05:30"
t date "2024-01-01"

# arn
a() { printf '%s' "$2" >"$C/arn/$1"; }
a demo "arn:aws:cloudtrail:us-east-1:111122223333:trail/demo"
a look-alike "arn:aws:cloudtrail:us-east-1:111122223333:trail/demo_us-east-1_x"
a gov "arn:aws-us-gov:cloudtrail:us-gov-west-1:111122223333:trail/a:b"

# bucket_mutation: inputs are decoded with `arbitrary` (see src/bucket.rs):
# no mutation, and compressed bytes of the vectors as fixed pseudo-random
# input (each decodes to a few mutations).
: >"$C/bucket_mutation/no-mutation"
tail -c 96 "$log" >"$C/bucket_mutation/bytes-96"
tail -c 256 "$first" >"$C/bucket_mutation/bytes-256"
tail -c 512 "$second" >"$C/bucket_mutation/bytes-512"
