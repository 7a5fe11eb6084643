#!/usr/bin/env bash
# Builds codesign-gate from the action's source, for a commit of the action that carries no
# release checksums (uses: ./, a development branch). A release (a tag, or its full commit SHA)
# gets the verified prebuilt binary instead (action/fetch.sh).
#
# The build runs the build scripts of every dependency: no token, password or secret of the job
# reaches them, nor the runner's OIDC and runtime tokens.
set -euo pipefail
: "${GITHUB_ACTION_PATH:?}" "${GITHUB_OUTPUT:?}" "${RUNNER_TEMP:?}"

echo "::notice title=codesign-gate::This commit of the action carries no release checksums (uses: ./ or a development branch), so codesign-gate is built from source: about 6-7 minutes on a 2-core runner, and it needs cargo (Rust). Pin a release tag or its commit SHA to get the verified prebuilt binary in seconds."

if ! command -v cargo >/dev/null 2>&1; then
  echo "::error title=codesign-gate::cargo: command not found. Building codesign-gate from source needs the Rust toolchain (https://rustup.rs) in an earlier step; or pin a release of the action (a tag or its commit SHA), which downloads a verified prebuilt binary, or run the codesign-gate container image."
  exit 1
fi

# Names of variables that may hold credentials (names with `-`, as INPUT_TPP-PASSWORD, cannot be
# unset by the shell, hence `env -u`).
strip=()
while IFS= read -r name; do
  strip+=(-u "${name}")
done < <(env | awk -F= '/^[A-Za-z_][A-Za-z0-9_.-]*=/ {
  n = $1; u = toupper(n)
  if (u ~ /TOKEN|SECRET|PASSW|CREDENTIAL|PRIVATE_KEY|API_KEY/ || u ~ /^(INPUT_|ACTIONS_)/) print n
}')

ext=""
[ "${RUNNER_OS:-}" = Windows ] && ext=".exe"
target="${RUNNER_TEMP}/codesign-gate-target"
start="${SECONDS}"
env ${strip[@]+"${strip[@]}"} cargo build --release --locked --quiet \
  --manifest-path "${GITHUB_ACTION_PATH}/Cargo.toml" --target-dir "${target}" --bin codesign-gate
echo "codesign-gate built from source in $((SECONDS - start)) s"
echo "path=${target}/release/codesign-gate${ext}" >> "${GITHUB_OUTPUT}"
