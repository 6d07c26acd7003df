#!/usr/bin/env python3
"""Proves that moto_server, proxy.py and upload.py work together (loopback only).

Starts moto_server (account 111122223333, like the vectors) and the proxy in
front of it, uploads the backfill_valid vector through the proxy, then checks
with boto3: listing, user metadata, HeadBucket, DescribeTrails/GetTrailStatus,
paginated ListPublicKeys (per region, ISO times), raw HTTP plumbing (chunked
upload, Expect: 100-continue, HEAD, a 12 MB streamed body); every object still
reads intact through --fault-rate 1.0 with 503, reset and truncate faults; and
--fail-always gives 403 AccessDenied every time; the hostile server's kinds
(corrupt, --strip-checksums, non-NoSuchKey 404s, lying and cut listings,
stall-body) do what the fault tests rely on. Exits non-zero on failure.

  bash test-support/s3/install.sh && .venv/moto/bin/python test-support/s3/selftest.py
"""

import base64
import datetime
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VECTOR = ROOT / "test-vectors/vectors/backfill_valid"
ISO_KEYS = ROOT / "test-vectors/vectors/keys_iso_timestamps_valid/public-keys.json"
ROTATION_KEYS = ROOT / "test-vectors/vectors/key_rotation_valid/public-keys.json"
BUCKET, ACCOUNT, REGION = "ctv-test-bucket", "111122223333", "us-east-1"
TRAIL_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/demo"
AUTH = {"Authorization": f"AWS4-HMAC-SHA256 Credential=testing/20240301/{REGION}/s3/aws4_request, "
                         "SignedHeaders=host, Signature=00"}  # moto checks no signature
BIN = Path(sys.executable).parent
TMP = Path(tempfile.mkdtemp(prefix="ctv-s3-selftest-"))
children = []


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok   {what}")


def start_moto():
    log = open(TMP / "moto.log", "w+")
    env = dict(os.environ, MOTO_ACCOUNT_ID=ACCOUNT)
    proc = subprocess.Popen([BIN / "moto_server", "-H", "127.0.0.1", "-p", "0"],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    children.append(proc)
    deadline = time.time() + 30
    while time.time() < deadline:  # werkzeug logs "Running on http://127.0.0.1:PORT"
        log.seek(0)
        if m := re.search(r"Running on http://127\.0\.0\.1:(\d+)", log.read()):
            return f"http://127.0.0.1:{m.group(1)}"
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError(f"moto_server did not start: {(TMP / 'moto.log').read_text()}")


def start_proxy(upstream, *args):
    port_file = TMP / "proxy.port"
    port_file.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, HERE / "proxy.py", "--upstream", upstream,
                             "--port-file", port_file, "--log", TMP / "proxy.log", *args],
                            stdout=subprocess.PIPE, text=True)
    children.append(proc)
    line = proc.stdout.readline()
    check(line.startswith("PORT ") and port_file.read_text().strip() == line.split()[1],
          f"proxy {' '.join(map(str, args))} listening ({line.strip()}, port file agrees)")
    return proc, f"http://127.0.0.1:{line.split()[1]}"


def stop(proc):
    proc.terminate()
    proc.wait(10)
    children.remove(proc)


def clients(endpoint, region=REGION, attempts=1):
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    cfg = botocore.config.Config(s3={"addressing_style": "path"},
                                 retries={"mode": "standard", "max_attempts": attempts})
    return (boto3.client("s3", endpoint_url=endpoint, region_name=region, config=cfg),
            boto3.client("cloudtrail", endpoint_url=endpoint, region_name=region, config=cfg))


def stats(endpoint):
    conn = http.client.HTTPConnection(endpoint.removeprefix("http://"))
    conn.request("GET", "/__proxy/stats")
    return json.loads(conn.getresponse().read())


def local_objects():
    """key -> bytes of the bucket copy, and key -> user metadata (sidecars)."""
    root = VECTOR / "bucket"
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    meta = {k[:-14]: json.loads(v) for k, v in files.items()
            if k.endswith(".metadata.json") and k[:-14] in files}
    return {k: v for k, v in files.items() if k[:-14] not in meta}, meta


def keys_of(src):
    """(fingerprint, start, end, DER) of each key: of a JSON file, or of a boto3
    ListPublicKeys response (datetimes, Value decoded from base64)."""
    entries = json.loads(Path(src).read_text())["PublicKeyList"] if isinstance(src, Path) else src["PublicKeyList"]
    def epoch(t):
        if isinstance(t, str):
            t = datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
        return t.timestamp() if isinstance(t, datetime.datetime) else float(t)
    return [(e["Fingerprint"], epoch(e["ValidityStartTime"]), epoch(e["ValidityEndTime"]),
             e["Value"] if isinstance(e["Value"], bytes) else base64.b64decode(e["Value"])) for e in entries]


def list_keys(s3, **kw):
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, PaginationConfig={"PageSize": 5}, **kw)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def get_retrying(s3, key, tries=5):
    """GetObject, re-requested when the body stream breaks: SDK retries cover
    the request, never the body read (boto3 and the Rust SDK alike)."""
    for attempt in range(tries):
        try:
            return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        except (botocore.exceptions.ResponseStreamingError,
                botocore.exceptions.IncompleteReadError) as e:
            if attempt == tries - 1:
                raise
            print(f"     body of {key.rsplit('/', 1)[-1]} broke ({type(e).__name__}), again")


def test_plain(moto):
    objects, meta = local_objects()
    proxy, ep = start_proxy(moto, "--public-keys", VECTOR / "public-keys.json")
    out = subprocess.run([sys.executable, HERE / "upload.py", "--endpoint", ep, "--reset",
                          "--bucket", BUCKET, "--trail", "demo", "--start-logging", VECTOR / "bucket"],
                         check=True, capture_output=True, text=True).stdout
    check(f"uploaded {len(objects)} objects ({len(meta)} with metadata)" in out and TRAIL_ARN in out,
          f"upload.py: {out.strip()}")
    s3, ct = clients(ep)

    check(sorted(list_keys(s3)) == sorted(objects), f"ListObjectsV2 (5 per page) lists the {len(objects)} objects")
    digest = next(k for k in sorted(meta) if "CloudTrail-Digest" in k)
    got = s3.get_object(Bucket=BUCKET, Key=digest)
    check(got["Body"].read() == objects[digest] and got["Metadata"] == meta[digest],
          "GetObject returns the digest and its user metadata (signature, signature-algorithm)")
    check(s3.head_object(Bucket=BUCKET, Key=digest)["Metadata"]["signature"] == meta[digest]["signature"],
          "HeadObject returns the signature")
    region = s3.head_bucket(Bucket=BUCKET)["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region")
    check(region == REGION, f"HeadBucket x-amz-bucket-region: {region}")

    trails = ct.describe_trails()["trailList"]
    check([t["TrailARN"] for t in trails] == [TRAIL_ARN] and trails[0]["S3BucketName"] == BUCKET,
          "DescribeTrails returns the trail")
    check(ct.get_trail_status(Name=TRAIL_ARN)["IsLogging"], "GetTrailStatus by ARN: IsLogging")

    want = keys_of(VECTOR / "public-keys.json")
    pages = list(ct.get_paginator("list_public_keys").paginate())
    check([keys_of(p) for p in pages] == [want], "ListPublicKeys returns the key (Value as base64 blob)")
    start = want[0][1]
    check(ct.list_public_keys(EndTime=start - 1)["PublicKeyList"] == [] and
          len(ct.list_public_keys(StartTime=start, EndTime=start + 1)["PublicKeyList"]) == 1,
          "ListPublicKeys filters by StartTime/EndTime overlap")
    check(stats(ep)["list_public_keys"] == 3, "stats count ListPublicKeys")
    stop(proxy)

    regions = TMP / "keys-by-region.json"
    regions.write_text(json.dumps({"us-east-1": json.loads(ROTATION_KEYS.read_text()),
                                   "us-west-2": json.loads(ISO_KEYS.read_text())["PublicKeyList"]}))
    proxy, ep = start_proxy(moto, "--public-keys", regions)
    pages = list(clients(ep)[1].get_paginator("list_public_keys").paginate())
    check(len(pages) == 2 and sum((keys_of(p) for p in pages), []) == keys_of(ROTATION_KEYS),
          "ListPublicKeys paginator: 2 keys over 2 pages (NextToken)")
    check(keys_of(clients(ep, "us-west-2")[1].list_public_keys()) == keys_of(ISO_KEYS) and
          clients(ep, "eu-west-1")[1].list_public_keys()["PublicKeyList"] == [],
          "ListPublicKeys per region (from the SigV4 scope), ISO 8601 times")
    test_raw_http(ep)
    stop(proxy)
    return objects, meta


def test_raw_http(ep):
    """Chunked upload with Expect: 100-continue, HEAD, and a 12 MB streamed body."""
    host = ep.removeprefix("http://")
    conn = http.client.HTTPConnection(host)
    conn.putrequest("PUT", f"/{BUCKET}/raw/chunked.txt")
    for k, v in {**AUTH, "Transfer-Encoding": "chunked", "Expect": "100-continue"}.items():
        conn.putheader(k, v)
    conn.endheaders()
    for part in (b"hello ", b"chunked ", b"world"):
        conn.send(b"%x\r\n%s\r\n" % (len(part), part))
    conn.send(b"0\r\n\r\n")
    resp = conn.getresponse()
    resp.read()
    check(resp.status == 200, "raw PUT with Transfer-Encoding: chunked and Expect: 100-continue")
    conn.request("HEAD", f"/{BUCKET}/raw/chunked.txt", headers=AUTH)  # same kept-alive connection
    resp = conn.getresponse()
    resp.read()
    check(resp.status == 200 and resp.getheader("Content-Length") == "19", "HEAD keeps Content-Length: 19, no body")
    conn.request("GET", f"/{BUCKET}/raw/chunked.txt", headers=AUTH)
    check(conn.getresponse().read() == b"hello chunked world", "GET on the same keep-alive connection")

    big = os.urandom(12 << 20)
    s3, _ = clients(ep)
    s3.put_object(Bucket=BUCKET, Key="raw/big.bin", Body=big)
    t = time.time()
    check(s3.get_object(Bucket=BUCKET, Key="raw/big.bin")["Body"].read() == big,
          f"12 MB object round trip ({time.time() - t:.2f} s to read)")
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "raw/big.bin"}, {"Key": "raw/chunked.txt"}]})


def test_faults(moto, objects, meta):
    proxy, ep = start_proxy(moto, "--fault-rate", "1.0", "--faults", "503,reset,truncate", "--seed", "7")
    s3, _ = clients(ep, attempts=5)
    check(sorted(list_keys(s3)) == sorted(objects), "listing survives a fault on every first request")
    for key, data in objects.items():
        if get_retrying(s3, key) != data:
            raise AssertionError(f"{key} differs")
    check(True, f"all {len(objects)} objects read intact through the faults")
    for key in meta:
        if s3.head_object(Bucket=BUCKET, Key=key)["Metadata"] != meta[key]:
            raise AssertionError(f"metadata of {key} differs")
    check(True, f"HeadObject metadata of {len(meta)} digests intact")
    faults = stats(ep)["faults"]
    check(all(faults[k] > 0 for k in ("503", "reset", "truncate")), f"faults of each kind injected: {faults}")
    stop(proxy)

    proxy, ep = start_proxy(moto, "--fail-always", "CloudTrail-Digest", "--fail-always-kind", "403")
    s3, _ = clients(ep, attempts=5)
    digest = next(iter(meta))
    for _ in range(2):
        try:
            s3.get_object(Bucket=BUCKET, Key=digest)
            raise AssertionError("GetObject on a digest passed")
        except botocore.exceptions.ClientError as e:
            err = e.response["Error"]
            check(e.response["ResponseMetadata"]["HTTPStatusCode"] == 403 and err["Code"] == "AccessDenied"
                  and err["Message"] == "Access Denied", "GetObject on a digest: 403 AccessDenied")
    log = next(k for k in objects if "/CloudTrail/" in k)
    check(s3.get_object(Bucket=BUCKET, Key=log)["Body"].read() == objects[log], "a log still reads")
    check(len(list_keys(s3, Prefix=f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/")) > 0,
          "listing the digest prefix passes (the regex sees the path, not the query)")
    check(stats(ep)["faults"]["403"] == 2, "stats: 2 x 403")
    stop(proxy)


def raw_get(ep, target):
    """(status, headers, body) of one plain GET through the proxy (SigV4-looking,
    unsigned: moto checks no signature)."""
    conn = http.client.HTTPConnection(ep.removeprefix("http://"), timeout=30)
    conn.request("GET", target, headers={**AUTH, "x-amz-checksum-mode": "ENABLED"})
    r = conn.getresponse()
    body = b""
    try:
        while chunk := r.read1(65536):
            body += chunk
    except (OSError, http.client.HTTPException):
        pass  # a cut body: what arrived
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def test_hostile(moto, objects):
    """The hostile server's fault kinds do what the tests rely on."""
    key = max((k for k in objects if "/CloudTrail/" in k), key=lambda k: len(objects[k]))
    obj = f"/{BUCKET}/{key}"
    lst = f"/{BUCKET}?list-type=2&prefix=AWSLogs/"
    proxy, ep = start_proxy(moto, "--fail-always", key + "$", "--fail-always-kind", "corrupt")
    status, headers, body = raw_get(ep, obj)
    diff = [i for i, (a, b) in enumerate(zip(body, objects[key])) if a != b]
    check(status == 200 and len(body) == len(objects[key]) and len(diff) == 1
          and any(h.startswith("x-amz-checksum-") for h in headers),
          "corrupt: one byte changed, length and checksum header kept")
    stop(proxy)
    proxy, ep = start_proxy(moto, "--strip-checksums")
    status, headers, body = raw_get(ep, obj)
    check(body == objects[key] and not any(h.startswith("x-amz-checksum-") for h in headers),
          "--strip-checksums: the body intact, no checksum header")
    stop(proxy)
    for kind, what in [("404-html", lambda st, h, b: st == 404 and b"<html>" in b),
                       ("404-bucket", lambda st, h, b: st == 404 and b"NoSuchBucket" in b)]:
        proxy, ep = start_proxy(moto, "--fail-always", key + "$", "--fail-always-kind", kind)
        check(what(*raw_get(ep, obj)), f"{kind}: a 404 that is not NoSuchKey")
        stop(proxy)
    cases = [
        ("list-no-token", lambda b: b"<IsTruncated>true</IsTruncated>" in b and b"NextContinuationToken" not in b),
        ("list-same-token", lambda b: b"<NextContinuationToken>ctv-same</NextContinuationToken>" in b),
        ("list-cycle", lambda b: b"<NextContinuationToken>ctv-A</NextContinuationToken>" in b),
        ("list-cut", lambda b: not b.rstrip().endswith(b"</ListBucketResult>")),
        ("list-count", lambda b: b.count(b"<Contents>") + b.count(b"<CommonPrefixes>") + 1
         == int(re.search(rb"<KeyCount>(\d+)</KeyCount>", b).group(1))),
    ]
    for kind, ok in cases:
        proxy, ep = start_proxy(moto, "--fail-list-prefix", "^AWSLogs/$", "--fail-always-kind", kind)
        status, _, body = raw_get(ep, lst)
        check(status == 200 and ok(body), f"{kind}: the listing lies as described")
        status, _, body = raw_get(ep, obj)
        check(body == objects[key], f"{kind}: objects pass untouched")
        stop(proxy)
    proxy, ep = start_proxy(moto, "--fail-always", key + "$", "--fail-always-kind", "stall-body",
                            "--stall-seconds", "2")
    t = time.time()
    status, _, body = raw_get(ep, obj)
    check(len(body) < len(objects[key]) and time.time() - t >= 1.5, "stall-body: half the body, then nothing")
    stop(proxy)


def main():
    t = time.time()
    try:
        moto = start_moto()
        objects, meta = test_plain(moto)
        test_faults(moto, objects, meta)
        test_hostile(moto, objects)
    finally:
        for proc in children:
            proc.kill()
            proc.wait()
    print(f"selftest passed in {time.time() - t:.1f} s")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still kill the children
    try:
        main()
    except Exception as e:
        print(f"FAIL {type(e).__name__}: {e} (logs in {TMP})", file=sys.stderr)
        sys.exit(1)
