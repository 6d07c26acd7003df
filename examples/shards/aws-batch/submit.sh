#!/usr/bin/env bash
# Plans a sharded run and submits it to AWS Batch: the array job of shards,
# then the merge job that depends on it. Run where /partials is the same
# EFS file system the job definitions mount (e.g. from a small EC2 host or
# a one-off Batch job), with the validate policy (../../iam/validate.json).
#
#   bash submit.sh QUEUE TRAIL_ARN START END SHARDS
set -euo pipefail
queue=$1 arn=$2 start=$3 end=$4 shards=$5
ctverify plan --trail-arn "$arn" --start-time "$start" --end-time "$end" --shards "$shards" --out /partials/plan.json
n=$(python3 -c 'import json; print(len(json.load(open("/partials/plan.json"))["shards"]))')
array=$(aws batch submit-job --job-name ctverify-shards --job-queue "$queue" --job-definition ctverify-shard \
  --array-properties size="$n" --query jobId --output text)
aws batch submit-job --job-name ctverify-merge --job-queue "$queue" --job-definition ctverify-merge \
  --depends-on jobId="$array" --query jobId --output text
