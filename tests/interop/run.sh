#!/usr/bin/env bash
# Venafi's own Python SDK, pyVenafi (pinned in requirements.txt), drives the simulator's TPP side
# over https, unchanged: see test_pyvenafi.py for what is checked.
#
#   bash tests/interop/run.sh
#
# Needs python3 (3.11+, pyVenafi's minimum) and the Rust toolchain; reaches only PyPI. The venv
# lives in target/interop-venv (INTEROP_VENV overrides) and is reused while requirements.txt and
# the Python version are unchanged. `cargo build --release --locked` runs first (a no-op when the
# binary is fresh); INTEROP_GATE_BIN=path skips it and uses that binary. Two simulators are
# served: sim.toml as is, and with a 3-second token lifetime for the refresh checks. The last
# line printed is always `N passed, M failed`; the exit status is non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/tests/interop
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
VENV=${INTEROP_VENV:-$TARGET/interop-venv}
PYTHON=${PYTHON:-python3}
SHORT_TOKEN_SECS=3

WORK=$(mktemp -d "${TMPDIR:-/tmp}/codesign-gate-interop.XXXXXX")
SIM_PIDS=()
SUMMARY_PRINTED=0

cleanup() {
  local pid i
  for pid in "${SIM_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SIM_PIDS[@]}"; do
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
  echo "interop: $*" >&2
  if [ "$SUMMARY_PRINTED" = 0 ]; then echo "0 passed, 1 failed"; fi
  exit 1
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- Python: a venv with the pinned SDK ----------------------------------------------------------

command -v "$PYTHON" >/dev/null 2>&1 || fail "$PYTHON not found; install python3 (3.11 or later)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || fail "$("$PYTHON" --version 2>&1) is too old: pyVenafi needs Python 3.11 or later"
PYVER=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
STAMP="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.version)' | head -1)"
VPY=$VENV/bin/python

make_venv() {
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" >"$WORK/venv.log" 2>&1 && "$VPY" -m pip --version >/dev/null 2>&1
}

if [ -x "$VPY" ] && [ "$(cat "$VENV/.interop-stamp" 2>/dev/null)" = "$STAMP" ] \
  && "$VPY" -c 'import pyvenafi' 2>/dev/null; then
  echo "interop: reusing $VENV (pyVenafi already installed)"
else
  if ! make_venv; then
    # Debian and Ubuntu ship venv (ensurepip) separately from python3.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "interop: python3 -m venv failed; installing python$PYVER-venv with apt-get"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >"$WORK/apt.log" 2>&1 || true
      apt-get install -y -qq "python$PYVER-venv" >>"$WORK/apt.log" 2>&1 \
        || apt-get install -y -qq python3-venv >>"$WORK/apt.log" 2>&1 \
        || { cat "$WORK/apt.log" >&2; fail "could not install python3-venv"; }
      make_venv || { cat "$WORK/venv.log" >&2; fail "python3 -m venv still fails after installing python3-venv"; }
    else
      cat "$WORK/venv.log" >&2
      fail "python3 -m venv failed; install the venv module (Debian/Ubuntu: apt-get install python3-venv)"
    fi
  fi
  started=$(now)
  "$VPY" -m pip install --disable-pip-version-check --no-input -q -r "$HERE/requirements.txt" \
    || fail "pip install -r tests/interop/requirements.txt failed"
  echo "$STAMP" >"$VENV/.interop-stamp"
  echo "interop: pip install took $(since "$started")s"
fi
"$VPY" -c 'import importlib.metadata as m; print("interop: pyVenafi", m.version("pyvenafi"))'

# ---- The simulator, from the gate binary ---------------------------------------------------------

if [ -n "${INTEROP_GATE_BIN:-}" ]; then
  BIN=$INTEROP_GATE_BIN
else
  started=$(now)
  cargo build --release --locked --bin codesign-gate || fail "cargo build --release --locked failed"
  echo "interop: cargo build took $(since "$started")s"
  BIN=$TARGET/release/codesign-gate
fi
[ -x "$BIN" ] || fail "$BIN is not an executable"

sed "s/^token_lifetime_secs = .*/token_lifetime_secs = $SHORT_TOKEN_SECS/" "$HERE/sim.toml" >"$WORK/short.toml"
grep -q "^token_lifetime_secs = $SHORT_TOKEN_SECS\$" "$WORK/short.toml" || fail "sim.toml has no token_lifetime_secs line"

# Starts `codesign-gate simulator` on a port the kernel picks, and sets SIM_HOST (HOST:PORT) and
# SIM_CA once it answers GET /__sim/state over https with its own CA. The port is read from the
# line the simulator prints ("... listening on https://127.0.0.1:PORT"), so no port is guessed
# and none can be taken by another process in between.
start_sim() {
  local name=$1 config=$2 log=$WORK/$1.log ca=$WORK/$1-ca.pem host="" pid deadline
  "$BIN" simulator --listen 127.0.0.1:0 --config "$config" --tls-ca-out "$ca" >"$log" 2>&1 &
  pid=$!
  SIM_PIDS+=("$pid")
  deadline=$(( $(date +%s) + 30 ))
  while [ -z "$host" ]; do
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "the $name simulator exited"; }
    [ "$(date +%s)" -lt "$deadline" ] || { cat "$log" >&2; fail "the $name simulator printed no address in 30s"; }
    host=$(grep -o -m1 'https://127\.0\.0\.1:[0-9]*' "$log" 2>/dev/null | sed 's#https://##' || true)
    [ -n "$host" ] || sleep 0.1
  done
  "$VPY" - "$host" "$ca" <<'EOF' || { cat "$log" >&2; fail "the $name simulator did not answer over https"; }
import sys, time, requests
host, ca = sys.argv[1:]
deadline = time.monotonic() + 30
while True:
    try:
        requests.get(f"https://{host}/__sim/state", verify=ca, timeout=5).raise_for_status()
        break
    except Exception as e:
        if time.monotonic() > deadline:
            sys.exit(f"GET https://{host}/__sim/state: {e}")
        time.sleep(0.1)
EOF
  SIM_HOST=$host
  SIM_CA=$ca
}

started=$(now)
start_sim main "$HERE/sim.toml"
MAIN_HOST=$SIM_HOST MAIN_CA=$SIM_CA
start_sim short "$WORK/short.toml"
SHORT_HOST=$SIM_HOST SHORT_CA=$SIM_CA
echo "interop: simulators up in $(since "$started")s: https://$MAIN_HOST, https://$SHORT_HOST (tokens live ${SHORT_TOKEN_SECS}s)"

# ---- The SDK -----------------------------------------------------------------------------------

started=$(now)
set +e
"$VPY" "$HERE/test_pyvenafi.py" --main "$MAIN_HOST" --main-ca "$MAIN_CA" --short "$SHORT_HOST" --short-ca "$SHORT_CA" \
  >"$WORK/results.txt" 2>&1
status=$?
set -e
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$WORK/results.txt" | tail -1 || true)
grep -v -E '^[0-9]+ passed, [0-9]+ failed$' "$WORK/results.txt" || true
echo "interop: pyVenafi checks took $(since "$started")s"
[ -n "$summary" ] || fail "test_pyvenafi.py exited with $status without a summary"
SUMMARY_PRINTED=1
echo "$summary"
if [ "$status" != 0 ]; then exit 1; fi
case $summary in *" 0 failed") ;; *) exit 1 ;; esac
