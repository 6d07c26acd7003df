#!/usr/bin/env bash
# A sharded run on a real engine (SPEC §10): a single-node Slurm cluster
# (Debian slurmctld, slurmd, slurm-client, munge; set up as in
# ../shared/reference/scale-out.md, root without systemd) runs
# `ctverify validate --shard-plan` as an array job over a generated
# organization trail (ACCOUNTS x REGIONS x HOURS), then `ctverify merge` as
# a job that depends on the array with `afterany` (`afterok` would never
# start after a shard that failed). The merged report must equal one
# `validate` over the same scope. Installs and starts what is missing;
# leaves the daemons running (the next call reuses them).
#
#   bash scripts/slurm-shards.sh BIN_DIR [SHARDS] [ACCOUNTS] [REGIONS] [HOURS]
set -euo pipefail
bin=$(cd "$1" && pwd)
shards=${2:-8} accounts=${3:-50} regions=${4:-4} hours=${5:-48}
cd "$(dirname "$0")/.."
root=$PWD
now=2026-01-01T00:00:00Z

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null ||
  ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1; apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; }
fi
host=$(hostname)
conf=/etc/slurm/slurm.conf
want=$(cat <<CONF
ClusterName=ct
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
SlurmUser=slurm
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
MaxArraySize=10001
NodeName=$host NodeAddr=127.0.0.1 CPUs=16 RealMemory=8000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
chown slurm:slurm /var/spool/slurmctld /var/log/slurm
chown munge:munge /run/munge
restart=
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
  printf '%s\n' "$want" >"$conf"
  restart=1
fi
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
pgrep -x munged >/dev/null || su -s /bin/sh munge -c /usr/sbin/munged
if [ -n "$restart" ]; then
  for p in /run/slurmd.pid /run/slurmctld.pid; do alive $p && kill "$(cat $p)" && sleep 1; done
fi
alive /run/slurmctld.pid || /usr/sbin/slurmctld
alive /run/slurmd.pid || /usr/sbin/slurmd
for _ in $(seq 1 30); do
  sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix|alloc' && break
  sleep 1
done
sinfo -h -o %T | grep -qE 'idle|mix|alloc' || { echo "slurm: the node did not come up" >&2; sinfo >&2 || true; exit 1; }

data=$root/target/org-trail-$accounts-$regions-$hours
if [ ! -f "$data/public-keys.json" ]; then
  rm -rf "$data"
  "$bin/ctverify-test-vectors" bench-data --out "$data" --hours "$hours" --logs-per-digest 2 --log-mb 0.01 \
    --org o-abc123def4 --accounts "$accounts" --regions "$regions" >/dev/null
fi
work=$(mktemp -d "$root/target/slurm.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=(--local "$data/bucket" --public-keys "$data/public-keys.json")
"$bin/ctverify" plan "${src[@]}" --now "$now" --shards "$shards" --out "$work/plan.json"
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["shards"]))' "$work/plan.json")
started=$(date +%s.%N)
array=$(sbatch --parsable --array=0-$((n - 1)) -o "$work/shard-%a.log" -e "$work/shard-%a.log" \
  --wrap "$bin/ctverify validate --shard-plan $work/plan.json --partials $work/partials --local $data/bucket --public-keys $data/public-keys.json")
merge=$(sbatch --parsable --dependency=afterany:"$array" -o "$work/merged.json" -e "$work/merge.err" \
  --wrap "$bin/ctverify merge --shard-plan $work/plan.json --partials $work/partials --format json; echo \$? > $work/merge.rc")
for _ in $(seq 1 600); do
  [ -f "$work/merge.rc" ] && ! squeue -h -j "$merge" 2>/dev/null | grep -q . && break
  sleep 0.5
done
ended=$(date +%s.%N)
[ -f "$work/merge.rc" ] || { echo "slurm: the merge job did not finish" >&2; squeue >&2; cat "$work"/*.log >&2 || true; exit 1; }
set +e
"$bin/ctverify" validate "${src[@]}" --now "$now" --format json >"$work/single.json"
single_rc=$?
set -e
merge_rc=$(cat "$work/merge.rc")
digests=$(find "$data/bucket" -name '*CloudTrail-Digest*.json.gz' | wc -l)
echo "slurm: $n shards over $digests digests ($accounts accounts x $regions regions x $hours h), array + merge in $(python3 -c "print(f'{$ended - $started:.1f}')") s"
if [ "$merge_rc" != "$single_rc" ] || ! cmp -s "$work/merged.json" "$work/single.json"; then
  echo "slurm: the merged report differs from the single run (exit $merge_rc vs $single_rc)" >&2
  diff <(head -c 2000 "$work/merged.json") <(head -c 2000 "$work/single.json") >&2 || true
  cat "$work/merge.err" >&2 || true
  exit 1
fi
echo "slurm: merged report == single run (exit $merge_rc, $(wc -c <"$work/merged.json") bytes)"
