#!/usr/bin/env bash
# The composite action's shell logic (action/fetch.sh, action/build.sh) on every runner the
# release serves, simulated with RUNNER_OS/RUNNER_ARCH against a local release folder: the
# verified download, a tampered binary, a platform without a binary, a commit without
# checksums (refused unless the workflow opts in to a source build), and a source build that
# must see no token: not in cargo's environment, nor in its parent's.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL $1"; shift; printf '     %s\n' "$@"; }

# An action checkout (GITHUB_ACTION_PATH) whose commit carries release data, and the release's
# assets in a local folder reached through the download URL.
action="${work}/action-checkout"
assets="${work}/assets"
mkdir -p "${action}/action/release" "${assets}"
cp "${root}"/action/*.sh "${action}/action/"
platforms="Linux-X64 Linux-ARM64 Windows-X64 Windows-ARM64 macOS-X64 macOS-ARM64"
for p in ${platforms}; do
  ext=""
  case "${p}" in Windows-*) ext=".exe" ;; esac
  head -c 4096 /dev/urandom > "${assets}/codesign-gate-${p}${ext}"
done
(cd "${assets}" && sha256sum codesign-gate-* > "${action}/action/release/SHA256SUMS")
echo "v9.9.9" > "${action}/action/release/version"
echo "acme/codesign-gate" > "${action}/action/release/repository"

# One step of the action: a fresh runner temp and output file; prints the exit code.
step() { # script os arch [env...]
  local script="$1" os="$2" arch="$3"
  shift 3
  rm -rf "${work}/temp" && mkdir -p "${work}/temp"
  : > "${work}/output"
  set +e
  env GITHUB_ACTION_PATH="${action}" GITHUB_OUTPUT="${work}/output" RUNNER_TEMP="${work}/temp" \
    RUNNER_OS="${os}" RUNNER_ARCH="${arch}" CODESIGN_GATE_DOWNLOAD_URL="file://${assets}" "$@" \
    bash "${action}/action/${script}" > "${work}/log" 2>&1
  echo $? > "${work}/code"
  set -e
}
code() { cat "${work}/code"; }
output() { sed -n "s/^$1=//p" "${work}/output"; }

# Every platform: the verified binary, executable, byte for byte the release's.
for p in ${platforms}; do
  os="${p%-*}" arch="${p#*-}" ext=""
  [ "${os}" = Windows ] && ext=".exe"
  step fetch.sh "${os}" "${arch}"
  path="$(output path)"
  if [ "$(code)" = 0 ] && [ -n "${path}" ] && [ -x "${path}" ] \
    && cmp -s "${path}" "${assets}/codesign-gate-${p}${ext}" && grep -q "verified" "${work}/log"; then
    ok "fetch ${os} ${arch}: verified binary at ${path#"${work}"/}"
  else
    not_ok "fetch ${os} ${arch}" "exit $(code)" "$(cat "${work}/log" "${work}/output")"
  fi
done

# A tampered asset fails the step with a clear error, hands no path on and leaves no file.
cp "${assets}/codesign-gate-Linux-X64" "${work}/original"
printf 'x' >> "${assets}/codesign-gate-Linux-X64"
step fetch.sh Linux X64
if [ "$(code)" = 1 ] && [ -z "$(output path)" ] && [ -z "$(output build)" ] \
  && grep -q '^::error title=codesign-gate::the downloaded codesign-gate-Linux-X64 does not match' "${work}/log" \
  && [ -z "$(find "${work}/temp" -type f)" ]; then
  ok "fetch: a tampered binary fails the step and nothing falls back to a build"
else
  not_ok "fetch: tampered binary" "exit $(code)" "$(cat "${work}/log" "${work}/output")"
fi
cp "${work}/original" "${assets}/codesign-gate-Linux-X64"

# A missing asset (unreachable release) fails the step.
mv "${assets}/codesign-gate-macOS-ARM64" "${work}/moved"
step fetch.sh macOS ARM64
if [ "$(code)" = 1 ] && [ -z "$(output path)" ] && grep -q '^::error title=codesign-gate::cannot download' "${work}/log"; then
  ok "fetch: an asset that cannot be downloaded fails the step"
else
  not_ok "fetch: missing asset" "exit $(code)" "$(cat "${work}/log")"
fi
mv "${work}/moved" "${assets}/codesign-gate-macOS-ARM64"

# A platform the release does not serve is told so, with the list of those it does.
step fetch.sh Linux ARM
if [ "$(code)" = 1 ] && grep -q 'publishes no binary for Linux ARM (published: codesign-gate-Linux-ARM64' "${work}/log"; then
  ok "fetch: a platform without a binary is refused clearly"
else
  not_ok "fetch: unknown platform" "exit $(code)" "$(cat "${work}/log")"
fi

# Plain http is not a way to fetch the binary.
step fetch.sh Linux X64 CODESIGN_GATE_DOWNLOAD_URL="http://127.0.0.1:9/assets"
if [ "$(code)" = 1 ] && [ -z "$(output path)" ]; then
  ok "fetch: an http:// download URL is refused"
else
  not_ok "fetch: http URL" "exit $(code)" "$(cat "${work}/log")"
fi

# A commit without checksums: no build unless the workflow asks for one, and a clear way out.
mv "${action}/action/release" "${work}/release-data"
step fetch.sh Linux X64
if [ "$(code)" = 1 ] && [ -z "$(output build)" ] && [ -z "$(output path)" ] \
  && grep -q '^::error title=codesign-gate::this commit of the action carries no release checksums' "${work}/log" \
  && grep -q "Pin a release by the full commit SHA of its tag" "${work}/log" \
  && grep -q "set CODESIGN_GATE_BUILD_FROM_SOURCE: 'true' in the env: of this step" "${work}/log"; then
  ok "fetch: a commit without checksums is refused unless a source build is asked for"
else
  not_ok "fetch: no checksums, no opt-in" "exit $(code)" "$(cat "${work}/log" "${work}/output")"
fi

step fetch.sh Linux X64 CODESIGN_GATE_BUILD_FROM_SOURCE=yes
if [ "$(code)" = 1 ] && [ -z "$(output build)" ] \
  && grep -q '^::error title=codesign-gate::CODESIGN_GATE_BUILD_FROM_SOURCE must be true or false' "${work}/log"; then
  ok "fetch: CODESIGN_GATE_BUILD_FROM_SOURCE other than true or false is refused"
else
  not_ok "fetch: bad opt-in value" "exit $(code)" "$(cat "${work}/log" "${work}/output")"
fi

step fetch.sh Linux X64 CODESIGN_GATE_BUILD_FROM_SOURCE=true
if [ "$(code)" = 0 ] && [ "$(output build)" = true ] && [ -z "$(output path)" ]; then
  ok "fetch: a commit without checksums builds from source when CODESIGN_GATE_BUILD_FROM_SOURCE=true"
else
  not_ok "fetch: no checksums, opted in" "exit $(code)" "$(cat "${work}/log" "${work}/output")"
fi

# The source build: without the opt-in, nothing runs; without cargo, a clear error; with it, a
# stand-in cargo records its environment, its parent's and its session, and leaves a process
# running behind it.
mkdir -p "${work}/fake-cargo"
cat > "${work}/fake-cargo/cargo" <<'CARGO'
#!/usr/bin/env bash
out="$(dirname "$0")/record"
env > "${out}.env"
echo "$@" > "${out}.args"
if [ -r "/proc/${PPID}/environ" ]; then tr '\0' '\n' < "/proc/${PPID}/environ" > "${out}.parent-env"; fi
if [ -r "/proc/$$/stat" ]; then awk '{ print $6 }' "/proc/$$/stat" > "${out}.session"; fi
sleep 30 > /dev/null 2>&1 &
echo "$!" > "${out}.leftover"
CARGO
chmod +x "${work}/fake-cargo/cargo"
record="${work}/fake-cargo/record"

step build.sh Linux X64 PATH="${work}/fake-cargo:${PATH}"
if [ "$(code)" = 1 ] && [ ! -e "${record}.args" ] && [ -z "$(output path)" ] \
  && grep -q "^::error title=codesign-gate::building codesign-gate from source needs CODESIGN_GATE_BUILD_FROM_SOURCE: 'true'" "${work}/log"; then
  ok "build: without CODESIGN_GATE_BUILD_FROM_SOURCE, nothing is built"
else
  not_ok "build: no opt-in" "exit $(code)" "$(cat "${work}/log" "${work}/output")"
fi

mkdir -p "${work}/no-cargo"
for tool in bash env awk cat mkdir rm sed; do ln -sf "$(command -v "${tool}")" "${work}/no-cargo/${tool}"; done
step build.sh Linux X64 PATH="${work}/no-cargo" CODESIGN_GATE_BUILD_FROM_SOURCE=true
if [ "$(code)" = 1 ] && grep -q '^::error title=codesign-gate::cargo: command not found. Building codesign-gate from source needs the Rust toolchain' "${work}/log" \
  && grep -q '^::notice title=codesign-gate::.*6-7 minutes.*needs cargo' "${work}/log"; then
  ok "build: without cargo, a clear error that says how to get the binary"
else
  not_ok "build: no cargo" "exit $(code)" "$(cat "${work}/log")"
fi

step build.sh Linux X64 PATH="${work}/fake-cargo:${PATH}" CODESIGN_GATE_BUILD_FROM_SOURCE=true \
  GH_TOKEN=secret-gh-token GITHUB_TOKEN=secret-github-token ACTIONS_ID_TOKEN_REQUEST_TOKEN=secret-oidc \
  ACTIONS_ID_TOKEN_REQUEST_URL=https://oidc.invalid/secret-url ACTIONS_RUNTIME_TOKEN=secret-runtime \
  "INPUT_TPP-PASSWORD=secret-tpp-password" AWS_SECRET_ACCESS_KEY=secret-aws CARGO_REGISTRY_TOKEN=secret-registry \
  SIGNING_KEY_PEM=secret-custom-name DEPLOY=secret-plain-name
if [ "$(code)" = 0 ] && [ -f "${record}.env" ] && ! grep -q secret "${record}.env" \
  && ! grep -q -e '^GITHUB_' -e '^RUNNER_' "${record}.env" && grep -q '^PATH=' "${record}.env" \
  && grep -q -- "--release --locked" "${record}.args" \
  && [ "$(output path)" = "${work}/temp/codesign-gate-target/release/codesign-gate" ]; then
  ok "build: cargo runs in a fresh environment: no token, password, secret or runner file"
else
  not_ok "build: environment" "exit $(code)" "$(cat "${work}/log" "${work}/output")" \
    "$(grep -e secret -e '^GITHUB_' -e '^RUNNER_' "${record}.env" 2>/dev/null || true)"
fi

if [ ! -r /proc/self/environ ]; then
  ok "build: no /proc here, so no parent environment to check (skipped)"
elif [ -f "${record}.parent-env" ] && grep -q '^PATH=' "${record}.parent-env" \
  && ! grep -q -e secret -e '^GITHUB_' "${record}.parent-env"; then
  ok "build: cargo's parent process holds no secret either (/proc/\$PPID/environ)"
else
  not_ok "build: parent environment" "$(grep -e secret -e '^GITHUB_' "${record}.parent-env" 2>/dev/null || echo "not recorded")"
fi

leftover="$(cat "${record}.leftover")"
# A killed process whose parent is gone stays a zombie where PID 1 reaps nothing (a container).
running() { [ -r "/proc/$1/stat" ] && [ "$(awk '{ print $3 }' "/proc/$1/stat")" != Z ]; }
if ! command -v setsid >/dev/null 2>&1 || [ ! -r /proc/self/stat ]; then
  kill "${leftover}" 2>/dev/null || true
  ok "build: no setsid here, so the build shares the step's session (skipped)"
elif [ "$(cat "${record}.session")" != "$(awk '{ print $6 }' /proc/$$/stat)" ] \
  && ! running "${leftover}" \
  && grep -q '^::warning title=codesign-gate::the build of codesign-gate left processes running; they were stopped' "${work}/log"; then
  ok "build: cargo runs in a session of its own, and what it leaves running is stopped"
else
  kill "${leftover}" 2>/dev/null || true
  not_ok "build: session" "build session $(cat "${record}.session" 2>/dev/null), ours $(awk '{ print $6 }' /proc/$$/stat)" \
    "$(cat "${work}/log")"
fi
mv "${work}/release-data" "${action}/action/release"

echo "action: ${passed} passed, ${failed} failed"
[ "${failed}" = 0 ]
