#!/usr/bin/env bash
# Lints the scheduled-run examples (systemd units, crontab, Kubernetes
# manifest, IAM policies) and checks that every flag they pass to ctverify
# exists in the binary. Fails (exit 1) on any problem; never skips a check
# silently: a missing tool is a failure that says how to install it.
#
#   CTVERIFY_BIN=target/release/ctverify bash examples/lint.sh [CHECK...]
#
# Run from the repository root. CHECK is any of: systemd k8s iam crontab
# flags shards (default: all). EXAMPLES_DIR=DIR lints another copy of examples/.
set -euo pipefail

export EXAMPLES_DIR=${EXAMPLES_DIR:-examples}
CHECKS=(systemd k8s iam crontab flags shards)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() {
  printf 'lint: %s\n' "$*" >&2
  exit 1
}

need_file() {
  [[ -f $1 ]] || die "missing file $1"
}

need_bin() {
  [[ -n ${CTVERIFY_BIN:-} ]] \
    || die "CTVERIFY_BIN is not set: CTVERIFY_BIN=path/to/ctverify bash examples/lint.sh"
  [[ -f $CTVERIFY_BIN && -x $CTVERIFY_BIN ]] \
    || die "CTVERIFY_BIN=$CTVERIFY_BIN is not an executable file (cargo build --release -p ctverify)"
}

# Any Python 3 (JSON, unit files, crontab).
plain_python() {
  command -v python3 >/dev/null 2>&1 || die "python3 not found (apt-get install python3)"
  echo python3
}

# A Python with PyYAML: the moto virtualenv of scripts/test.sh (moto[server]
# depends on PyYAML), else the system python3.
yaml_python() {
  local py
  for py in "$ROOT/.venv/moto/bin/python" python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import yaml' 2>/dev/null; then
      echo "$py"
      return 0
    fi
  done
  die "no Python with PyYAML: run bash test-support/s3/install.sh (puts moto and PyYAML in .venv/moto), or apt-get install python3-yaml"
}

# The arguments of ExecStart= of a unit file, one per line (continuation
# lines joined, systemd's quoting rules are those of shlex for our lines).
exec_start_argv() {
  local py
  py=$(plain_python)
  "$py" - "$1" <<'PY'
import re, shlex, sys
text = open(sys.argv[1]).read()
text = re.sub(r"\\\n", " ", text)
lines = [l for l in text.splitlines() if l.startswith("ExecStart=")]
if len(lines) != 1:
    sys.exit(f"{sys.argv[1]}: expected one ExecStart= line, found {len(lines)}")
value = lines[0][len("ExecStart="):].lstrip("-@:+!")
print("\n".join(shlex.split(value)))
PY
}

# --- systemd: systemd-analyze verify (and security) on a copy of the units
# whose ExecStart= runs $CTVERIFY_BIN, then what the examples promise.
check_systemd() {
  local dir="$EXAMPLES_DIR/systemd" bin n out line py argv rc=0
  local -a ours=()
  need_file "$dir/ctverify.service"
  need_file "$dir/ctverify.timer"
  command -v systemd-analyze >/dev/null 2>&1 \
    || die "systemd-analyze not found: install the apt package systemd (apt-get install systemd); it works without a running systemd"
  need_bin
  bin=$(realpath "$CTVERIFY_BIN")
  [[ $bin =~ ^[A-Za-z0-9._/+-]+$ ]] || die "CTVERIFY_BIN path $bin: use a path without spaces or special characters"

  tmp=$(mktemp -d -t ctverify-lint.XXXXXX) # global: the EXIT trap needs it
  trap 'rm -rf "$tmp"' EXIT
  n=$(grep -cE '^ExecStart=[-@:+!]*/[^[:space:]]*/ctverify([[:space:]]|$)' "$dir/ctverify.service" || true)
  [[ $n == 1 ]] || die "$dir/ctverify.service: expected one ExecStart=/.../ctverify line, found $n"
  sed -E "s#^(ExecStart=[-@:+!]*)/[^[:space:]]*/ctverify([[:space:]]|\$)#\\1${bin}\\2#" \
    "$dir/ctverify.service" >"$tmp/ctverify.service"
  grep -qF "ExecStart=$bin " "$tmp/ctverify.service" || die "could not rewrite ExecStart= to $bin"
  cp "$dir/ctverify.timer" "$tmp/ctverify.timer"

  # No running systemd is needed: verify loads the files given, and the
  # units they reference from /lib/systemd/system. SYSTEMD_LOG_LEVEL=info
  # keeps warnings (unknown keys, bad values) visible whatever the
  # environment says; --man=no and --generators=no avoid man(1) and the
  # generators, --recursive-errors=no keeps other units' errors out of the
  # exit status. Warnings are printed but exit 0: any line about our units
  # is a failure; lines about other units are shown and ignored.
  out=$(SYSTEMD_LOG_LEVEL=info SYSTEMD_LOG_COLOR=0 SYSTEMD_LOG_TARGET=console \
    systemd-analyze verify --man=no --generators=no --recursive-errors=no \
    "$tmp/ctverify.service" "$tmp/ctverify.timer" 2>&1) || rc=$?
  while IFS= read -r line; do
    [[ -n $line ]] || continue
    if [[ $line == *ctverify* || $line == *"$tmp"* ]]; then
      ours+=("$line")
    else
      echo "  ignored (not about the example units): $line"
    fi
  done <<<"$out"
  if ((rc != 0 || ${#ours[@]} > 0)); then
    printf '  %s\n' "${ours[@]}"
    die "systemd-analyze verify: exit $rc, ${#ours[@]} message(s) about the example units"
  fi
  echo "  systemd-analyze verify: no messages"

  # The hardening must stay: overall exposure at most 2.0 ("OK").
  if ! out=$(systemd-analyze security --offline=yes --threshold=20 --no-pager "$tmp/ctverify.service" 2>&1); then
    # The failing settings, or the whole output if it is not a review
    # (--offline needs systemd 250 or newer).
    printf '%s\n' "$out" | grep -E '✗|Overall' | sed 's/^/  /' || printf '%s\n' "$out" | sed 's/^/  /'
    die "systemd-analyze security --offline=yes --threshold=20 failed (exposure above 2.0, or see above)"
  fi
  echo "  systemd-analyze security: $(printf '%s\n' "$out" | grep -o 'exposure level.*' | tail -1)"

  py=$(plain_python)
  argv=$(exec_start_argv "$dir/ctverify.service")
  "$py" - "$dir/ctverify.service" "$dir/ctverify.timer" "$argv" <<'PY'
import re, sys
service, timer, argv = open(sys.argv[1]).read(), open(sys.argv[2]).read(), sys.argv[3].split("\n")
errors = []
def keys(text):
    out = {}
    for line in re.sub(r"\\\n", " ", text).splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if m:
            out.setdefault(m.group(1), []).append(m.group(2).strip())
    return out
s, t = keys(service), keys(timer)
for key, want in [("Type", "oneshot"), ("User", "ctverify"), ("StateDirectory", "ctverify"),
                  ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                  ("PrivateTmp", "yes"), ("ProtectHome", "yes")]:
    if want not in s.get(key, []):
        errors.append(f"service: {key}={want} missing")
for key in ["OnCalendar", "RandomizedDelaySec"]:
    if key not in t:
        errors.append(f"timer: {key}= missing")
if "true" not in t.get("Persistent", []):
    errors.append("timer: Persistent=true missing")
# verify does not check that the timer's Unit= exists: it must be this service.
if t.get("Unit", ["ctverify.service"]) != ["ctverify.service"]:
    errors.append(f"timer: Unit={' '.join(t['Unit'])}, expected ctverify.service (or no Unit=)")
# ProtectSystem=strict: ctverify can write only in StateDirectory= and
# ReadWritePaths=. The state (a trust anchor) must be in StateDirectory=.
state_dirs = ["/var/lib/" + d for v in s.get("StateDirectory", []) for d in v.split()]
rw = state_dirs + [p.lstrip("-") for v in s.get("ReadWritePaths", []) for p in v.split()]
def under(path, dirs):
    return any(path.startswith(d.rstrip("/") + "/") for d in dirs)
for flag in ["--state", "--report", "--metrics"]:
    if flag not in argv:
        errors.append(f"service: ExecStart= lacks {flag}")
        continue
    i = argv.index(flag)
    value = argv[i + 1] if i + 1 < len(argv) else ""
    dirs = state_dirs if flag == "--state" else rw
    if not under(value, dirs):
        errors.append(f"service: {flag} {value} is not under {' or '.join(dirs) or 'a writable directory'}")
if errors:
    sys.exit("\n".join("  " + e for e in errors))
print("  unit settings and writable paths: ok")
PY
}

# --- k8s: every YAML document parses and names itself; the CronJob is
# batch/v1, Forbid, hardened, and keeps --state on the claimed volume.
check_k8s() {
  local file="$EXAMPLES_DIR/kubernetes/cronjob.yaml" py
  need_file "$file"
  py=$(yaml_python)
  echo "  python: $py"
  "$py" - "$file" <<'PY'
import sys, yaml
path = sys.argv[1]
try:
    docs = list(yaml.safe_load_all(open(path)))
except yaml.YAMLError as e:
    sys.exit(f"  {path}: YAML error: {e}")
errors, by_kind = [], {}
for n, d in enumerate(docs, 1):
    if not isinstance(d, dict):
        errors.append(f"document {n}: not a mapping (empty document or stray ---?)")
        continue
    for key in ["apiVersion", "kind"]:
        if not isinstance(d.get(key), str) or not d[key]:
            errors.append(f"document {n}: {key} missing")
    name = (d.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not name:
        errors.append(f"document {n}: metadata.name missing")
    by_kind.setdefault(d.get("kind"), []).append(d)
for kind in ["CronJob", "PersistentVolumeClaim", "ServiceAccount"]:
    if len(by_kind.get(kind, [])) != 1:
        errors.append(f"expected one {kind}, found {len(by_kind.get(kind, []))}")
names = lambda kind: {(d.get("metadata") or {}).get("name") for d in by_kind.get(kind, [])}
for cj in by_kind.get("CronJob", []):
    try:
        spec = cj["spec"]
        pod = spec["jobTemplate"]["spec"]["template"]["spec"]
        containers = pod["containers"]
    except (KeyError, TypeError) as e:
        errors.append(f"CronJob: missing {e}")
        continue
    if cj.get("apiVersion") != "batch/v1":
        errors.append(f"CronJob: apiVersion {cj.get('apiVersion')!r}, expected batch/v1")
    if spec.get("concurrencyPolicy") != "Forbid":
        errors.append(f"CronJob: concurrencyPolicy {spec.get('concurrencyPolicy')!r}, expected Forbid")
    if len(str(spec.get("schedule", "")).split()) != 5:
        errors.append(f"CronJob: schedule {spec.get('schedule')!r} is not 5 fields")
    if pod.get("restartPolicy") not in ("Never", "OnFailure"):
        errors.append("CronJob: restartPolicy must be Never or OnFailure")
    if pod.get("serviceAccountName") not in names("ServiceAccount"):
        errors.append(f"CronJob: serviceAccountName {pod.get('serviceAccountName')!r} is not the ServiceAccount defined here")
    pod_sc = pod.get("securityContext") or {}
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    for v in volumes.values():
        claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
        if "persistentVolumeClaim" in v and claim not in names("PersistentVolumeClaim"):
            errors.append(f"CronJob: volume {v.get('name')!r} claims {claim!r}, not the PVC defined here")
    if not containers:
        errors.append("CronJob: no containers")
    for c in containers:
        cname = c.get("name")
        sc = c.get("securityContext") or {}
        if sc.get("readOnlyRootFilesystem") is not True:
            errors.append(f"container {cname}: readOnlyRootFilesystem is not true")
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
            errors.append(f"container {cname}: runAsNonRoot is not true")
        if sc.get("allowPrivilegeEscalation") is not False:
            errors.append(f"container {cname}: allowPrivilegeEscalation is not false")
        res = c.get("resources") or {}
        if not res.get("requests") or not res.get("limits"):
            errors.append(f"container {cname}: resources.requests and resources.limits required")
        argv = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
        if "--state" not in argv or argv.index("--state") + 1 >= len(argv):
            errors.append(f"container {cname}: no --state FILE")
            continue
        state = argv[argv.index("--state") + 1]
        pvc_mounts = [m["mountPath"] for m in c.get("volumeMounts") or []
                      if "persistentVolumeClaim" in volumes.get(m.get("name"), {})]
        if not any(state.startswith(p.rstrip("/") + "/") for p in pvc_mounts):
            errors.append(f"container {cname}: --state {state} is not on a PersistentVolumeClaim mount {pvc_mounts}")
if errors:
    sys.exit("\n".join("  " + e for e in errors))
print(f"  {len(docs)} documents: " + ", ".join(f"{d['kind']}/{d['metadata']['name']}" for d in docs))
PY
}

# --- iam: each policy is valid JSON of the IAM grammar, and grants exactly
# the read-only actions the S3 mode needs (no wildcard, no write).
check_iam() {
  local dir="$EXAMPLES_DIR/iam" f py
  for f in validate.json validate-compat.json export.json; do
    need_file "$dir/$f"
  done
  py=$(plain_python)
  "$py" - "$dir"/*.json <<'PY'
import json, sys
NEEDED = {"cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus", "cloudtrail:ListPublicKeys",
          "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject"}
failed = False
def strings(v):
    return [v] if isinstance(v, str) else v if isinstance(v, list) and v and all(isinstance(x, str) for x in v) else None
for path in sys.argv[1:]:
    errors = []
    try:
        policy = json.load(open(path))
    except ValueError as e:
        print(f"  {path}: invalid JSON: {e}")
        failed = True
        continue
    if not isinstance(policy, dict) or policy.get("Version") != "2012-10-17":
        errors.append('Version must be "2012-10-17"')
        policy = policy if isinstance(policy, dict) else {}
    stmts = policy.get("Statement")
    if not isinstance(stmts, list) or not stmts:
        errors.append("Statement must be a non-empty list")
        stmts = []
    granted = {}
    for i, st in enumerate(stmts):
        if not isinstance(st, dict):
            errors.append(f"Statement[{i}] is not an object")
            continue
        if st.get("Effect") not in ("Allow", "Deny"):
            errors.append(f"Statement[{i}]: Effect must be Allow or Deny")
        actions, resources = strings(st.get("Action")), strings(st.get("Resource"))
        if actions is None:
            errors.append(f"Statement[{i}]: Action must be a string or a non-empty list of strings")
        if resources is None:
            errors.append(f"Statement[{i}]: Resource must be a string or a non-empty list of strings")
        for key in ("NotAction", "NotResource", "NotPrincipal"):
            if key in st:
                errors.append(f"Statement[{i}]: {key} is not least privilege")
        if st.get("Effect") == "Allow" and actions and resources:
            for a in actions:
                granted.setdefault(a, []).extend(resources)
    extra, missing = set(granted) - NEEDED, NEEDED - set(granted)
    if extra:
        errors.append(f"grants more than S3 mode reads: {sorted(extra)}")
    if missing:
        errors.append(f"lacks {sorted(missing)}")
    for a, res in granted.items():
        for r in res:
            if a in ("s3:ListBucket", "s3:GetBucketLocation") and not (r.startswith("arn:aws:s3:::") and "/" not in r):
                errors.append(f"{a} on {r}: expected the bucket ARN arn:aws:s3:::BUCKET")
            if a == "s3:GetObject" and not (r.startswith("arn:aws:s3:::") and r.endswith("/*") and r.count("/") >= 1):
                errors.append(f"{a} on {r}: expected arn:aws:s3:::BUCKET/* or BUCKET/PREFIX/AWSLogs/*")
            if r == "*" and a.startswith("s3:"):
                errors.append(f"{a} on *: scope it to the trail bucket")
    if errors:
        failed = True
        print(f"  {path}:\n" + "\n".join("    " + e for e in errors))
    else:
        print(f"  {path}: ok")
sys.exit(1 if failed else 0)
PY
}

# --- crontab: environment lines and job lines of 5 time fields + a command.
check_crontab() {
  local file="$EXAMPLES_DIR/cron/ctverify.crontab" py
  need_file "$file"
  py=$(plain_python)
  "$py" - "$file" <<'PY'
import re, sys
path = sys.argv[1]
NAMES = {3: "jan feb mar apr may jun jul aug sep oct nov dec".split(), 4: "sun mon tue wed thu fri sat".split()}
RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
FIELD = ["minute", "hour", "day of month", "month", "day of week"]
def value(tok, i):
    if tok.isdigit():
        return int(tok)
    if tok.lower() in NAMES.get(i, []):
        return NAMES[i].index(tok.lower()) + (1 if i == 3 else 0)
    return None
def field_ok(f, i):
    lo, hi = RANGES[i]
    for item in f.split(","):
        m = re.fullmatch(r"(\*|(\w+)(?:-(\w+))?)(?:/(\d+))?", item)
        if not m or (m.group(4) is not None and int(m.group(4)) == 0):
            return False
        for tok in filter(None, (m.group(2), m.group(3))):
            v = value(tok, i)
            if v is None or not lo <= v <= hi:
                return False
    return True
errors, jobs = [], 0
for n, line in enumerate(open(path), 1):
    line = line.rstrip("\n")
    s = line.strip()
    if not s or s.startswith("#"):
        continue
    if re.match(r"^[A-Za-z_][A-Za-z0-9_]*\s*=", s):
        continue
    parts = s.split(None, 5)
    if len(parts) < 6:
        errors.append(f"line {n}: not 5 time fields and a command: {s}")
        continue
    jobs += 1
    for i, f in enumerate(parts[:5]):
        if not field_ok(f, i):
            errors.append(f"line {n}: bad {FIELD[i]} field {f!r}")
    cmd = parts[5]
    if re.search(r"(?<!\\)%", cmd):
        errors.append(f"line {n}: unescaped % in the command (cron turns it into a newline)")
    if "ctverify" not in cmd:
        errors.append(f"line {n}: the command does not run ctverify")
if jobs == 0:
    errors.append("no job line")
if errors:
    sys.exit("\n".join(f"  {path}: {e}" for e in errors))
print(f"  {path}: {jobs} job line(s) ok")
PY
}

# --- flags: every --flag the examples pass to ctverify is defined in
# `$CTVERIFY_BIN SUBCOMMAND --help`.
check_flags() {
  local py args
  need_bin
  need_file "$EXAMPLES_DIR/systemd/ctverify.service"
  need_file "$EXAMPLES_DIR/cron/ctverify.crontab"
  need_file "$EXAMPLES_DIR/kubernetes/cronjob.yaml"
  py=$(yaml_python)
  args=$(exec_start_argv "$EXAMPLES_DIR/systemd/ctverify.service")
  "$py" - "$CTVERIFY_BIN" "$args" "$EXAMPLES_DIR/cron/ctverify.crontab" "$EXAMPLES_DIR/kubernetes/cronjob.yaml" <<'PY'
import re, shlex, subprocess, sys, yaml
bin_path, service_argv, crontab, manifest = sys.argv[1], sys.argv[2].split("\n"), sys.argv[3], sys.argv[4]
lines = [("systemd/ctverify.service ExecStart=", service_argv)]
for n, line in enumerate(open(crontab), 1):
    s = line.strip()
    if not s or s.startswith("#") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*\s*=", s):
        continue
    lex = shlex.shlex(s.split(None, 5)[5], posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    argv = []
    for tok in lex:
        if re.fullmatch(r"[();<>|&]+", tok):
            break  # the end of the ctverify command: a redirection or ||
        argv.append(tok)
    lines.append((f"cron/ctverify.crontab line {n}", argv))
for doc in yaml.safe_load_all(open(manifest)):
    if isinstance(doc, dict) and doc.get("kind") == "CronJob":
        for c in doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]:
            argv = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
            lines.append((f"kubernetes/cronjob.yaml container {c.get('name')}", argv))
for source in ["systemd", "cron", "kubernetes"]:
    if not any(where.startswith(source) for where, _ in lines):
        sys.exit(f"  no ctverify command line found in {source}")
helps, failed = {}, False
def defined(sub):
    if sub not in helps:
        p = subprocess.run([bin_path, sub, "--help"], capture_output=True, text=True)
        if p.returncode != 0 or not p.stdout.strip():
            sys.exit(f"  {bin_path} {sub} --help failed (exit {p.returncode}): {p.stderr.strip()}")
        # Flag definitions only ("  -x, --flag <V>"), not flags named in help text.
        helps[sub] = set(re.findall(r"(?m)^\s*(?:-[A-Za-z0-9],\s*)?(--[A-Za-z0-9][A-Za-z0-9-]*)(?=[\s=,<\[]|$)", p.stdout))
    return helps[sub]
for where, argv in lines:
    idx = [i for i, a in enumerate(argv) if a == "ctverify" or a.endswith("/ctverify")]
    if not idx or idx[0] + 1 >= len(argv):
        print(f"  {where}: no ctverify SUBCOMMAND in {argv}")
        failed = True
        continue
    sub, rest = argv[idx[0] + 1], argv[idx[0] + 2:]
    used = sorted({a.split("=", 1)[0] for a in rest if a.startswith("--")})
    missing = [f for f in used if f not in defined(sub)]
    if missing:
        failed = True
        print(f"  {where}: not in `ctverify {sub} --help`: {' '.join(missing)}")
    else:
        print(f"  {where}: {len(used)} flags ok")
sys.exit(1 if failed else 0)
PY
}

# --- shards: the sharded-run definitions (AWS Batch, Kubernetes Indexed
# Job, Step Functions Distributed Map) parse, have the structure SPEC §10
# needs (array / indexed / distributed, a merge after the shards, exit 2
# retried, exit 0 not), least-privilege IAM, and every ctverify flag they
# pass exists.
check_shards() {
  local dir="$EXAMPLES_DIR/shards" py
  need_bin
  for f in aws-batch/job-definitions.json aws-batch/iam.json aws-batch/submit.sh kubernetes/indexed-job.yaml \
    step-functions/state-machine.json step-functions/iam.json; do
    need_file "$dir/$f"
  done
  bash -n "$dir/aws-batch/submit.sh" || die "aws-batch/submit.sh: bash syntax"
  py=$(yaml_python)
  "$py" - "$CTVERIFY_BIN" "$dir" <<'PY'
import json, re, shlex, subprocess, sys, yaml
bin_path, d = sys.argv[1], sys.argv[2]
errors, commands = [], []
def load(rel):
    try:
        return json.load(open(f"{d}/{rel}"))
    except ValueError as e:
        sys.exit(f"  {rel}: not JSON: {e}")
batch = load("aws-batch/job-definitions.json")
for name, sub in [("shard", "validate"), ("merge", "merge")]:
    jd = batch.get(name) or {}
    cmd = jd.get("containerProperties", {}).get("command") or []
    if cmd[:2] != ["ctverify", sub]:
        errors.append(f"aws-batch {name}: command must start with ctverify {sub}")
    commands.append((f"aws-batch {name}", cmd))
retry = batch["shard"].get("retryStrategy", {}).get("evaluateOnExit", [])
if not any(r.get("onExitCode") == "2" and r.get("action") == "RETRY" for r in retry):
    errors.append("aws-batch shard: exit 2 (could not run) must be retried")
if "--shard-plan" not in batch["shard"]["containerProperties"]["command"] or "--shard" in batch["shard"]["containerProperties"]["command"]:
    errors.append("aws-batch shard: --shard-plan, and the index from AWS_BATCH_JOB_ARRAY_INDEX (no --shard)")
for n, line in enumerate(open(f"{d}/aws-batch/submit.sh"), 1):
    s = line.strip()
    if s.startswith("ctverify "):
        commands.append((f"aws-batch/submit.sh line {n}", shlex.split(s)))
submit = open(f"{d}/aws-batch/submit.sh").read()
if "--array-properties" not in submit or "--depends-on" not in submit:
    errors.append("aws-batch/submit.sh: an array job and a merge that depends on it")
docs = [x for x in yaml.safe_load_all(open(f"{d}/kubernetes/indexed-job.yaml")) if x]
jobs = {x["metadata"]["name"]: x for x in docs if x.get("kind") == "Job"}
shards = jobs.get("ctverify-shards", {}).get("spec", {})
if shards.get("completionMode") != "Indexed" or not shards.get("completions"):
    errors.append("kubernetes: the shards Job must be Indexed with completions")
rules = shards.get("podFailurePolicy", {}).get("rules", [])
if not any(r.get("action") == "FailIndex" for r in rules):
    errors.append("kubernetes: a podFailurePolicy that fails an index on unexpected exit codes")
if "ctverify-merge" not in jobs:
    errors.append("kubernetes: a merge Job")
for name, job in jobs.items():
    for c in job["spec"]["template"]["spec"]["containers"]:
        commands.append((f"kubernetes {name}/{c['name']}", [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]))
sm = load("step-functions/state-machine.json")
m = sm["States"].get(sm.get("StartAt"), {})
if m.get("Type") != "Map" or m.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode") != "DISTRIBUTED":
    errors.append("step-functions: the start state must be a Distributed Map")
if "ItemReader" not in m:
    errors.append("step-functions: the map reads the plan's shards (ItemReader)")
if "ToleratedFailurePercentage" in json.dumps(sm):
    errors.append("step-functions: no ToleratedFailurePercentage (no shard may be lost; moto's parser also rejects 0)")
if sm["States"].get(m.get("Next"), {}).get("Type") != "Task":
    errors.append("step-functions: a merge task after the map")
def sfn_commands(state, where):
    for co in state.get("Parameters", {}).get("Overrides", {}).get("ContainerOverrides", []):
        if "Command" in co:
            commands.append((where, co["Command"]))
        if "Command.$" in co:
            commands.append((where, re.findall(r"'([^']*)'", co["Command.$"])))
for sname, st in m["ItemProcessor"]["States"].items():
    sfn_commands(st, f"step-functions {sname}")
sfn_commands(sm["States"][m["Next"]], "step-functions merge")
for rel in ["aws-batch/iam.json", "step-functions/iam.json"]:
    for role, pol in load(rel).items():
        if role == "comment":
            continue
        if pol.get("Version") != "2012-10-17" or not pol.get("Statement"):
            errors.append(f"{rel} {role}: a 2012-10-17 policy with statements")
        for st in pol["Statement"]:
            acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            if any(a == "*" or a.endswith(":*") for a in acts):
                errors.append(f"{rel} {role} {st.get('Sid')}: no wildcard actions")
            if any(a.startswith("s3:Put") or a.startswith("s3:Delete") for a in acts) and "TRAIL-BUCKET" in json.dumps(st):
                errors.append(f"{rel} {role} {st.get('Sid')}: never write to the trail bucket")
helps = {}
def defined(sub):
    if sub not in helps:
        p = subprocess.run([bin_path, sub, "--help"], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"  {bin_path} {sub} --help failed: {p.stderr.strip()}")
        helps[sub] = set(re.findall(r"(?m)^\s*(?:-[A-Za-z0-9],\s*)?(--[A-Za-z0-9][A-Za-z0-9-]*)(?=[\s=,<\[]|$)", p.stdout))
    return helps[sub]
for where, argv in commands:
    if len(argv) < 2 or argv[0] != "ctverify":
        errors.append(f"{where}: not a ctverify command: {argv}")
        continue
    used = sorted({a.split("=", 1)[0] for a in argv[2:] if a.startswith("--")})
    missing = [f for f in used if f not in defined(argv[1])]
    if missing:
        errors.append(f"{where}: not in `ctverify {argv[1]} --help`: {' '.join(missing)}")
    else:
        print(f"  {where}: {len(used)} flags ok")
for e in errors:
    print(f"  {e}")
sys.exit(1 if errors else 0)
PY
}

if [[ ${1:-} == --check ]]; then
  # One check in its own process, so that errexit applies inside it.
  "check_$2"
  exit 0
fi

selected=("$@")
((${#selected[@]})) || selected=("${CHECKS[@]}")
for c in "${selected[@]}"; do
  [[ " ${CHECKS[*]} " == *" $c "* ]] || die "unknown check $c (checks: ${CHECKS[*]})"
done
[[ -d $EXAMPLES_DIR ]] || die "EXAMPLES_DIR=$EXAMPLES_DIR is not a directory (run from the repository root)"

failed=()
for c in "${selected[@]}"; do
  echo "== $c"
  if bash "${BASH_SOURCE[0]}" --check "$c"; then
    echo "ok: $c"
  else
    echo "FAIL: $c"
    failed+=("$c")
  fi
done
echo
if ((${#failed[@]})); then
  echo "lint: FAILED: ${failed[*]}"
  exit 1
fi
echo "lint: all ${#selected[@]} checks passed"
