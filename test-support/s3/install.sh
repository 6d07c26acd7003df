#!/usr/bin/env bash
# Installs the S3 test tools into the throwaway virtualenv .venv/moto (moto's
# standalone server plus boto3, at pinned versions). Idempotent: does nothing
# when the venv already has the pinned moto.
#
#   bash test-support/s3/install.sh        # prints "moto X" at the end
set -euo pipefail
cd "$(dirname "$0")/../.."

moto_version=5.2.5
boto3_version=1.44.8 # boto3 and botocore release in lockstep
venv=.venv/moto

if ! "$venv/bin/python" -c "import moto, boto3, sys; sys.exit(moto.__version__ != '$moto_version' or boto3.__version__ != '$boto3_version')" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "moto[server]==$moto_version" "boto3==$boto3_version" "botocore==$boto3_version"
fi
"$venv/bin/python" -c 'import moto; print("moto", moto.__version__)'
