#!/usr/bin/env python3
"""Builds a hostile local copy of at most ~100 MB for the cost bound of
issue 6 rule 5 ("any hostile local folder of <= 100 MB finishes in <= 60 s
and <= 1 GiB RSS"). Starts from the signed vector clean_chain_valid and adds:

- every listed log replaced by a gzip bomb (zeros, ~1000:1);
- digest-named gzip bombs in the chain's digest folder;
- digest-named, valid-looking digests whose logFiles list is huge and
  repetitive (each inflates to the 16 MiB cap, ~1000:1);
- a digest of deeply nested JSON, and metadata sidecars that are bombs;
- thousands of small injected objects in the log folder.

Usage: hostile.py VECTOR_DIR OUT_DIR [TOTAL_MB]
"""
import gzip, io, json, os, random, shutil, sys, zlib

src, out = sys.argv[1], sys.argv[2]
total_mb = int(sys.argv[3]) if len(sys.argv) > 3 else 100
shutil.rmtree(out, ignore_errors=True)
shutil.copytree(src, out)
bucket = os.path.join(out, "bucket")
budget = total_mb * 1_000_000


def gz(data: bytes) -> bytes:
    b = io.BytesIO()
    with gzip.GzipFile(fileobj=b, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(data)
    return b.getvalue()


def zeros_bomb(inflated_mb: int) -> bytes:
    """gzip of zeros (~1030:1), built in 1 MiB pieces."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    zero = b"\0" * (1 << 20)
    parts = [c.compress(zero) for _ in range(inflated_mb)]
    parts.append(c.flush())
    return b"".join(parts)


used = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
logs, digests = [], []
for d, _, fs in os.walk(bucket):
    for f in fs:
        p = os.path.join(d, f)
        if "/CloudTrail/" in p and f.endswith(".json.gz"):
            logs.append(p)
        elif "/CloudTrail-Digest/" in p and f.endswith(".json.gz"):
            digests.append(p)
logs.sort(); digests.sort()
digest_dir = os.path.dirname(digests[0])
log_dir = os.path.dirname(logs[0])
name = os.path.basename(digests[0])
stem = name[: -len("20240301T011728Z.json.gz")]

# 1. Log bombs (1 MB each, ~1 GB inflated): every listed log, plus 20
#    injected ones nobody lists (never read, only reported).
bomb = zeros_bomb(1000)
for p in logs:
    with open(p, "wb") as f:
        f.write(bomb)
    used += len(bomb)
for i in range(20):
    with open(os.path.join(log_dir, f"111122223333_CloudTrail_us-east-1_20240301T02{i:02d}Z_bomb{i:011d}.json.gz"), "wb") as f:
        f.write(bomb)
    used += len(bomb)

# 2. Digest-named gzip bombs: 10 x 1 MB.
for i in range(10):
    with open(os.path.join(digest_dir, f"{stem}20240301T{i:02d}0000Z_backfill.json.gz"), "wb") as f:
        f.write(bomb)
    used += len(bomb)

# 3. Valid-looking digests with a huge logFiles list of distinct entries
#    (random hashes: compresses ~7:1, so each passes the ratio cap and
#    inflates to just under the 16 MiB cap): the most log entries a folder
#    of this size can make a run hold.
rng = random.Random(6)
def huge_digest(n_entries: int) -> bytes:
    files = []
    for j in range(n_entries):
        files.append({"s3Bucket": "b",
                      "s3Object": f"AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01/111122223333_CloudTrail_us-east-1_20240301T0100Z_{rng.getrandbits(64):016x}.json.gz",
                      "hashValue": f"{rng.getrandbits(256):064x}", "hashAlgorithm": "SHA-256",
                      "newestEventTime": "2024-03-01T01:00:00Z", "oldestEventTime": "2024-03-01T00:00:00Z"})
    doc = {"awsAccountId": "111122223333", "digestStartTime": "2024-03-01T00:17:28Z",
           "digestEndTime": "2024-03-01T01:17:28Z", "digestS3Bucket": "b", "digestS3Object": "x",
           "digestPublicKeyFingerprint": "0" * 32, "digestSignatureAlgorithm": "SHA256withRSA",
           "previousDigestS3Bucket": None, "previousDigestS3Object": None, "previousDigestHashValue": None,
           "previousDigestHashAlgorithm": None, "previousDigestSignature": None, "logFiles": files}
    return gz(json.dumps(doc).encode())
probe_n = 4_000
probe = len(zlib.decompress(huge_digest(probe_n), 31))
big = huge_digest(int(probe_n * 16_000_000 / probe))  # just under the 16 MiB cap
i = 0
while used + len(big) < budget * 0.9:
    with open(os.path.join(digest_dir, f"{stem}20240302T{i % 24:02d}{i // 24:02d}00Z.json.gz"), "wb") as f:
        f.write(big)
    used += len(big)
    i += 1

# 4. Deep nesting, and sidecar bombs next to every real digest.
deep = gz(b"[" * 5_000_000)
with open(os.path.join(digest_dir, f"{stem}20240303T000000Z.json.gz"), "wb") as f:
    f.write(deep)
used += len(deep)
side = b'{"signature": "' + b"a" * 900_000 + b'"}'
for p in digests:
    with open(p + ".metadata.json", "wb") as f:
        f.write(side)
    used += len(side)

# 5. Many small injected objects in the log folder.
i = 0
while used < budget - 200_000 and i < 20_000:
    with open(os.path.join(log_dir, f"injected-{i}.json"), "wb") as f:
        f.write(b'{"Records":[]}')
    used += 14
    i += 1
print(f"hostile copy: {used / 1e6:.1f} MB in {out}")
