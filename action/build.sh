#!/usr/bin/env bash
# Builds codesign-gate from the action's source, for a commit of the action that carries no
# release checksums (uses: ./, a development branch), and only when the workflow asked for it
# with CODESIGN_GATE_BUILD_FROM_SOURCE=true on the step (action/fetch.sh refuses otherwise). A
# release (a tag, or its full commit SHA) gets the verified prebuilt binary instead.
#
# The build runs the build scripts of every dependency. cargo starts in a fresh environment
# (`env -i` and an allow-list: what cargo, rustup and a C compiler need), under a clean parent
# shell, in a session of its own where setsid exists; whatever the build leaves running in that
# session is stopped when it ends. So no token, password or secret of the job is in the
# environment of cargo, of its build scripts or of their parent process. This is no sandbox: the
# build runs as the runner's user, who can read the environment of every other process of that
# user (/proc/<pid>/environ of the step's own shells) and every file that user can read.
set -euo pipefail
: "${GITHUB_ACTION_PATH:?}" "${GITHUB_OUTPUT:?}" "${RUNNER_TEMP:?}"

error() {
  # Workflow command data: %, CR and LF escaped.
  local message="${1//%/%25}"
  message="${message//$'\r'/%0D}"
  message="${message//$'\n'/%0A}"
  echo "::error title=codesign-gate::${message}"
  exit 1
}

case "${CODESIGN_GATE_BUILD_FROM_SOURCE:-false}" in
  true | True | TRUE) ;;
  *) error "building codesign-gate from source needs CODESIGN_GATE_BUILD_FROM_SOURCE: 'true' in the env: of the step; or pin a release of the action by its full commit SHA, which downloads a verified prebuilt binary" ;;
esac

echo "::notice title=codesign-gate::This commit of the action carries no release checksums (uses: ./ or a development branch), so codesign-gate is built from source as CODESIGN_GATE_BUILD_FROM_SOURCE asks: about 6-7 minutes on a 2-core runner, and it needs cargo (Rust). Pin a release by its full commit SHA to get the verified prebuilt binary in seconds."

if ! command -v cargo >/dev/null 2>&1; then
  error "cargo: command not found. Building codesign-gate from source needs the Rust toolchain (https://rustup.rs) in an earlier step; or pin a release of the action (a tag or its commit SHA), which downloads a verified prebuilt binary, or run the codesign-gate container image."
fi

# The build's whole environment: only these variables, when set. No INPUT_*, ACTIONS_*, GITHUB_*
# or RUNNER_* variable (tokens, and the runner's files that later steps trust), nothing the
# workflow put in env:. Proxy variables pass, as cargo needs them to reach crates.io behind one.
allowed=(
  PATH HOME USER LOGNAME TMPDIR LANG CARGO_HOME RUSTUP_HOME RUSTUP_TOOLCHAIN
  HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy SSL_CERT_FILE SSL_CERT_DIR
  CC CXX AR DEVELOPER_DIR SDKROOT MACOSX_DEPLOYMENT_TARGET
  SYSTEMROOT SystemRoot SYSTEMDRIVE SystemDrive WINDIR windir COMSPEC ComSpec PATHEXT TEMP TMP
  USERPROFILE APPDATA LOCALAPPDATA PROGRAMDATA ProgramData PROGRAMFILES ProgramFiles ProgramW6432
  'ProgramFiles(x86)' 'PROGRAMFILES(X86)' CommonProgramFiles 'CommonProgramFiles(x86)'
  NUMBER_OF_PROCESSORS PROCESSOR_ARCHITECTURE OS VSINSTALLDIR VCINSTALLDIR VCToolsInstallDir
  INCLUDE LIB LIBPATH
)
keep=()
for name in "${allowed[@]}"; do
  if [[ "${name}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    if [ -n "${!name+set}" ]; then keep+=("${name}=${!name}"); fi
  elif command -v printenv >/dev/null 2>&1 && value="$(printenv "${name}")"; then
    keep+=("${name}=${value}")
  fi
done

# A session of its own: no controlling terminal, and one id to stop whatever the build leaves
# behind. Where setsid is missing (macOS, Git Bash), the build runs in the step's session.
session=()
if command -v setsid >/dev/null 2>&1 && setsid --wait true >/dev/null 2>&1; then
  session=(setsid --wait)
fi

ext=""
[ "${RUNNER_OS:-}" = Windows ] && ext=".exe"
target="${RUNNER_TEMP}/codesign-gate-target"
start="${SECONDS}"

# cargo's parent is a shell started with the clean environment, not this script (whose
# environment is the step's): `; exit` keeps that shell from exec'ing into cargo.
# shellcheck disable=SC2016 # expanded by that shell
env -i ${keep[@]+"${keep[@]}"} ${session[@]+"${session[@]}"} "${BASH:-bash}" -c 'cargo "$@"; exit "$?"' cargo \
  build --release --locked --quiet \
  --manifest-path "${GITHUB_ACTION_PATH}/Cargo.toml" --target-dir "${target}" --bin codesign-gate &
build=$!

# Signals every process of the build's session (setsid made the build's pid its id).
signal_session() { # signal; succeeds when a process was signalled
  [ "${#session[@]}" -gt 0 ] || return 1
  if command -v pkill >/dev/null 2>&1; then
    pkill "-$1" -s "${build}" 2>/dev/null
  else
    kill "-$1" -- "-${build}" 2>/dev/null
  fi
}
trap 'signal_session TERM || true; exit 143' TERM
trap 'signal_session INT || true; exit 130' INT

status=0
wait "${build}" || status=$?
trap - TERM INT
if signal_session KILL; then
  echo "::warning title=codesign-gate::the build of codesign-gate left processes running; they were stopped"
fi
[ "${status}" = 0 ] || error "cargo build failed (exit ${status})"
echo "codesign-gate built from source in $((SECONDS - start)) s"
echo "path=${target}/release/codesign-gate${ext}" >> "${GITHUB_OUTPUT}"
