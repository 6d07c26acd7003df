#!/usr/bin/env python3
"""Runs the real `aws cloudtrail validate-logs` (aws-cli v1) offline over a
local copy of a bucket, for ctverify's differential test.

Everything of aws-cli runs for real (argument parsing, CloudTrailValidateLogs,
DigestTraverser, DigestProvider, the RSA validator, clidriver's error
handling); only the AWS client factory is replaced by stubs that answer from
local files, in the layout ctverify's --local mode reads:

  BUCKET_DIR/KEY                 object s3://B/KEY (for any bucket B)
  BUCKET_DIR/KEY.metadata.json   its S3 user metadata (not an object itself)

Usage (run with the virtualenv's python that has awscli installed):

  awscli_offline.py JOB.json

JOB.json: {"bucket_dir": "...", "public_keys": ["keys.json", ...],
           "trail": {"arn": "...", "bucket": "...", "prefix": null, "org_id": null},
           "now": "2026-01-01T00:00:00Z", "args": ["--trail-arn", ...]}

stdout, stderr and the exit status are aws-cli's own, byte for byte.
"""
import base64
import datetime as _dt
import hashlib
import io
import json
import os
import sys

UTC = _dt.timezone.utc


def _client_error(code, message, op):
    from botocore.exceptions import ClientError
    return ClientError({'Error': {'Code': code, 'Message': message}}, op)


def _list_keys(root):
    keys = []
    for dirpath, _dirs, files in os.walk(root):
        for fn in files:
            rel = os.path.relpath(os.path.join(dirpath, fn), root)
            key = rel.replace(os.sep, '/')
            if not key.endswith('.metadata.json'):
                keys.append(key)
    return keys


def _safe_path(root, key):
    """The file of object KEY, or None when KEY cannot be a file under root
    (S3 does not normalise keys: such an object simply does not exist)."""
    parts = key.split('/')
    if any(p in ('', '.', '..') for p in parts) or '\x00' in key:
        return None
    path = os.path.join(root, *parts)
    real = os.path.realpath(path)
    if not real.startswith(os.path.realpath(root) + os.sep):
        return None
    return path


class _Pages:
    def __init__(self, keys):
        self._keys = keys

    def search(self, expression):
        assert expression == 'Contents[*].Key', expression
        if not self._keys:
            yield None  # botocore yields None for a page without Contents
            return
        for k in self._keys:
            yield k


class StubS3:
    def __init__(self, job):
        self._root = job['bucket_dir']

    def get_bucket_location(self, Bucket):
        return {'LocationConstraint': None}

    def get_paginator(self, name):
        assert name == 'list_objects', name
        return self

    def paginate(self, Bucket, Marker='', Prefix=''):
        mb = Marker.encode('utf-8')
        keys = [k for k in _list_keys(self._root)
                if k.startswith(Prefix) and k.encode('utf-8') > mb]
        keys.sort(key=lambda k: k.encode('utf-8'))  # S3: UTF-8 binary order
        return _Pages(keys)

    def get_object(self, Bucket, Key):
        path = _safe_path(self._root, Key)
        if path is None or not os.path.isfile(path):
            raise _client_error('NoSuchKey', 'The specified key does not exist.', 'GetObject')
        meta = {}
        if os.path.isfile(path + '.metadata.json'):
            with open(path + '.metadata.json', 'rb') as f:
                meta = {k: v for k, v in json.loads(f.read().decode('utf-8')).items()
                        if isinstance(v, str)}
        with open(path, 'rb') as f:
            data = f.read()
        return {'Body': io.BytesIO(data), 'Metadata': meta, 'ContentLength': len(data)}


def _epoch(v):
    if v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(v)
    except ValueError:
        from dateutil import parser
        d = parser.parse(v)
        if d.tzinfo is None:
            d = d.replace(tzinfo=UTC)
        return d.timestamp()


def _key_entries(path, region):
    """ListPublicKeys entries from a saved key file (list-public-keys JSON,
    a {region: ...} map, or PEM/DER keys)."""
    with open(path, 'rb') as f:
        raw = f.read()
    text = raw.strip()
    if text.startswith(b'{') or text.startswith(b'['):
        doc = json.loads(text.decode('utf-8'))
        if isinstance(doc, dict) and not ('PublicKeyList' in doc or 'publicKeyList' in doc):
            doc = doc.get(region, [])
        if isinstance(doc, dict):
            doc = doc.get('PublicKeyList', doc.get('publicKeyList', []))
        return [e for e in doc if isinstance(e, dict)]
    ders = []
    if text.startswith(b'-----BEGIN'):
        body = []
        for line in text.decode('ascii').splitlines():
            if line.startswith('-----BEGIN'):
                body = []
            elif line.startswith('-----END'):
                ders.append(base64.b64decode(''.join(body)))
            else:
                body.append(line.strip())
    else:
        ders.append(raw)
    return [{'Fingerprint': hashlib.md5(d).hexdigest(),
             'Value': base64.b64encode(d).decode()} for d in ders]


class StubCloudTrail:
    def __init__(self, job, region):
        self._job = job
        self._region = region

    def describe_trails(self, **kw):
        t = self._job['trail']
        info = {'Name': t['arn'].split('/')[-1], 'S3BucketName': t['bucket'],
                'TrailARN': t['arn'], 'HomeRegion': t['arn'].split(':')[3],
                'IsMultiRegionTrail': True, 'LogFileValidationEnabled': True,
                'IsOrganizationTrail': bool(t.get('org_id'))}
        if t.get('prefix'):
            info['S3KeyPrefix'] = t['prefix']
        return {'trailList': [info]}

    def list_public_keys(self, StartTime=None, EndTime=None, **kw):
        s, e = StartTime.timestamp(), EndTime.timestamp()
        out = []
        for path in self._job['public_keys']:
            for k in _key_entries(path, self._region):
                vs, ve = _epoch(k.get('ValidityStartTime')), _epoch(k.get('ValidityEndTime'))
                if (vs is not None and vs > e) or (ve is not None and ve < s):
                    continue
                out.append(dict(k))
        return {'PublicKeyList': out}


class StubOrganizations:
    def __init__(self, job):
        self._job = job

    def describe_organization(self):
        org = self._job['trail'].get('org_id')
        if not org:
            raise _client_error('AWSOrganizationsNotInUseException',
                                'Your account is not a member of an organization.',
                                'DescribeOrganization')
        return {'Organization': {'Id': org}}


def main():
    with open(sys.argv[1], 'rb') as f:
        job = json.loads(f.read().decode('utf-8'))
    # Isolate from the user's AWS configuration; a region comes from --region
    # (or AWS_DEFAULT_REGION, if the caller sets it).
    os.environ['AWS_CONFIG_FILE'] = os.devnull
    os.environ['AWS_SHARED_CREDENTIALS_FILE'] = os.devnull
    for v in ('AWS_PROFILE', 'AWS_DEFAULT_PROFILE'):
        os.environ.pop(v, None)

    import awscli  # noqa: F401  (installs the botocore alias)
    from botocore.exceptions import NoRegionError
    import awscli.customizations.cloudtrail.validation as V

    def fake_create_nested_client(session, service_name, **kwargs):
        region = kwargs.get('region_name') or session.get_config_variable('region')
        if region is None and service_name != 's3':
            raise NoRegionError()
        if service_name == 's3':
            return StubS3(job)
        if service_name == 'cloudtrail':
            return StubCloudTrail(job, region)
        return StubOrganizations(job)

    V.create_nested_client = fake_create_nested_client
    from dateutil import parser
    now = parser.parse(job['now']).astimezone(UTC).replace(tzinfo=None)
    V.get_current_datetime = lambda remove_tzinfo=True: now

    from awscli.clidriver import create_clidriver
    sys.argv[0] = 'aws'
    rc = create_clidriver().main(['cloudtrail', 'validate-logs'] + list(job['args']))
    sys.stdout.flush()
    sys.stderr.flush()
    return rc


if __name__ == '__main__':
    sys.exit(main())
