#!/usr/bin/env python3
"""Uploads a local bucket copy to an S3 endpoint (moto) with boto3.

Every regular file under DIR becomes the object whose key is its relative path
('/' separators), except a sidecar `K.metadata.json` next to an object `K`
holding a JSON object of strings: that becomes K's S3 user metadata (e.g.
{"signature": "ab12...", "signature-algorithm": "SHA256withRSA"}). Symlinks and
other non-regular files are skipped with a warning. Optionally creates a
CloudTrail trail delivering to the bucket, so DescribeTrails and GetTrailStatus
return it (its ARN's account is moto's: start moto_server with MOTO_ACCOUNT_ID).

  upload.py --endpoint URL [--reset] [--region us-east-1] --bucket NAME DIR
            [--trail NAME [--trail-region R] [--s3-prefix P] [--multi-region]
             [--start-logging]]

Run it with .venv/moto/bin/python (see install.sh).
"""

import argparse
import concurrent.futures
import json
import os
import stat
import sys
import urllib.request

import boto3
import botocore.config
import botocore.exceptions

SIDECAR = ".metadata.json"


def client(service, endpoint, region):
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    config = botocore.config.Config(
        s3={"addressing_style": "path"},
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=16,
    )
    return boto3.client(service, endpoint_url=endpoint, region_name=region, config=config)


def scan(root):
    """Relative keys of the regular files under root ('/' separators)."""
    keys = []
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(root, rel)) as it:
            for entry in it:
                key = f"{rel}/{entry.name}" if rel else entry.name
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    stack.append(key)
                elif stat.S_ISREG(mode):
                    keys.append(key)
                else:
                    kind = "symlink" if stat.S_ISLNK(mode) else "non-regular file"
                    print(f"upload.py: warning: skipping {kind} {key}", file=sys.stderr)
    return sorted(keys)


def user_metadata(path):
    """The sidecar's content if it is a JSON object of strings, else None."""
    try:
        with open(path, "rb") as f:
            data = json.load(f)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        return data
    return None


def plan(root):
    """(key, metadata or None) for each object to upload."""
    keys = scan(root)
    present = set(keys)
    metadata, sidecars = {}, set()
    for key in keys:
        obj = key[: -len(SIDECAR)]
        if key.endswith(SIDECAR) and obj in present:
            meta = user_metadata(os.path.join(root, key))
            if meta is not None:
                metadata[obj] = meta
                sidecars.add(key)
    return [(k, metadata.get(k)) for k in keys if k not in sidecars]


def create_bucket(s3, bucket, region):
    kwargs = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**kwargs)
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass


def create_trail(args):
    ct = client("cloudtrail", args.endpoint, args.trail_region or args.region)
    params = {"Name": args.trail, "S3BucketName": args.bucket,
              "IsMultiRegionTrail": args.multi_region, "EnableLogFileValidation": True}
    if args.s3_prefix:
        params["S3KeyPrefix"] = args.s3_prefix
    try:
        trail = ct.create_trail(**params)
    except ct.exceptions.TrailAlreadyExistsException:
        trail = ct.update_trail(**params)
    if args.start_logging:
        ct.start_logging(Name=args.trail)
    return trail["TrailARN"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", required=True, help="e.g. http://127.0.0.1:5000")
    p.add_argument("--reset", action="store_true", help="POST ENDPOINT/moto-api/reset first")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--bucket", required=True)
    p.add_argument("--trail", help="also create this CloudTrail trail for the bucket")
    p.add_argument("--trail-region", help="the trail's home region (default: --region)")
    p.add_argument("--s3-prefix")
    p.add_argument("--multi-region", action="store_true")
    p.add_argument("--start-logging", action="store_true")
    p.add_argument("dir")
    args = p.parse_args()

    if args.reset:
        req = urllib.request.Request(args.endpoint.rstrip("/") + "/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=30).close()

    s3 = client("s3", args.endpoint, args.region)
    create_bucket(s3, args.bucket, args.region)
    objects = plan(args.dir)

    def put(item):
        key, meta = item
        with open(os.path.join(args.dir, key), "rb") as f:
            s3.put_object(Bucket=args.bucket, Key=key, Body=f, Metadata=meta or {})

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(put, objects))
    summary = (f"uploaded {len(objects)} objects ({sum(m is not None for _, m in objects)} "
               f"with metadata) to s3://{args.bucket}")
    if args.trail:
        summary += f"; trail {create_trail(args)}"
    print(summary)


if __name__ == "__main__":
    try:
        main()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, OSError) as e:
        sys.exit(f"upload.py: error: {e}")
