#!/usr/bin/env bash
# Finds the prebuilt codesign-gate for this runner and verifies it against the SHA-256 that the
# action's own commit carries (action/release/, written by .github/workflows/release.yml before
# it tags that commit). Nothing fetched is trusted: only those checksums are.
#
# Writes `path=<binary>` to $GITHUB_OUTPUT when the commit is a release, `build=true` when it
# carries no checksums (uses: ./ or a development branch) and the workflow opted in with
# CODESIGN_GATE_BUILD_FROM_SOURCE=true on the step, and fails the step on anything else: a commit
# without checksums is refused by default, and a checksum mismatch never falls back to a build.
#
# CODESIGN_GATE_DOWNLOAD_URL replaces the release's download folder (an https:// or file:// URL
# of a folder holding the assets), for a mirror or for the action's own tests. The checksums
# still come from the action's commit.
set -euo pipefail

error() {
  # Workflow command data: %, CR and LF escaped.
  local message="${1//%/%25}"
  message="${message//$'\r'/%0D}"
  message="${message//$'\n'/%0A}"
  echo "::error title=codesign-gate::${message}"
  exit 1
}

# Reads stdin, so that no file name (backslashes on Windows) changes the output format.
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 | cut -d' ' -f1; }
elif command -v openssl >/dev/null 2>&1; then
  sha256() { openssl dgst -sha256 -r | cut -d' ' -f1; }
else
  error "no sha256sum, shasum or openssl on this runner: the binary cannot be verified"
fi

download() { # url dest
  if command -v curl >/dev/null 2>&1; then
    curl --fail --silent --show-error --location --retry 3 --proto '=https,file' --proto-redir '=https' \
      --output "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    case "$1" in
      file://*) cp "${1#file://}" "$2" ;;
      https://*) wget --quiet --https-only --tries=3 --output-document="$2" "$1" ;;
      *) return 1 ;;
    esac
  else
    error "neither curl nor wget is installed: cannot download the codesign-gate binary (container jobs: install curl, or use the codesign-gate image)"
  fi
}

: "${GITHUB_ACTION_PATH:?}" "${GITHUB_OUTPUT:?}" "${RUNNER_OS:?}" "${RUNNER_ARCH:?}" "${RUNNER_TEMP:?}"
release="${GITHUB_ACTION_PATH}/action/release"

# A commit without checksums has no verified binary: building it runs the source's and every
# dependency's build scripts on this runner, so it happens only when the workflow asks for it.
if [ ! -f "${release}/SHA256SUMS" ]; then
  case "${CODESIGN_GATE_BUILD_FROM_SOURCE:-false}" in
    true | True | TRUE)
      echo "build=true" >> "${GITHUB_OUTPUT}"
      exit 0
      ;;
    false | False | FALSE | "") ;;
    *) error "CODESIGN_GATE_BUILD_FROM_SOURCE must be true or false" ;;
  esac
  error "this commit of the action carries no release checksums (uses: ./, a branch, or a commit that is not a release), so there is no verified codesign-gate binary for it, and nothing was built. Pin a release by the full commit SHA of its tag, as its release notes show: uses: ${GITHUB_ACTION_REPOSITORY:-<owner>/codesign-gate}@<40-hex commit SHA> # vX.Y.Z. Or, to compile this commit on the runner (about 6-7 minutes, needs cargo, and runs the build scripts of every dependency as the runner's user), set CODESIGN_GATE_BUILD_FROM_SOURCE: 'true' in the env: of this step."
fi

version="$(tr -d '[:space:]' < "${release}/version")"
repository="$(tr -d '[:space:]' < "${release}/repository")"
case "${version}" in
  v[0-9]*) ;;
  *) error "action/release/version holds no version (${version})" ;;
esac

ext=""
[ "${RUNNER_OS}" = Windows ] && ext=".exe"
asset="codesign-gate-${RUNNER_OS}-${RUNNER_ARCH}${ext}"
expected="$(awk -v a="${asset}" '$2 == a || $2 == "*" a { print $1 }' "${release}/SHA256SUMS")"
if [ -z "${expected}" ]; then
  published="$(awk '{ sub(/^\*/, "", $2); print $2 }' "${release}/SHA256SUMS" | tr '\n' ' ')"
  error "codesign-gate ${version} publishes no binary for ${RUNNER_OS} ${RUNNER_ARCH} (published: ${published}). Run on one of those runners, or run the codesign-gate container image."
fi
printf '%s' "${expected}" | grep -Eq '^[0-9a-f]{64}$' || error "action/release/SHA256SUMS: malformed entry for ${asset}"

base="${CODESIGN_GATE_DOWNLOAD_URL:-https://github.com/${repository}/releases/download/${version}}"
dir="$(mktemp -d "${RUNNER_TEMP}/codesign-gate.XXXXXX")"
file="${dir}/${asset}"
if ! download "${base%/}/${asset}" "${file}"; then
  error "cannot download ${base%/}/${asset} (codesign-gate ${version} for ${RUNNER_OS} ${RUNNER_ARCH})"
fi

actual="$(sha256 < "${file}")"
if [ "${actual}" != "${expected}" ]; then
  rm -f "${file}"
  error "the downloaded ${asset} does not match the SHA-256 recorded in this commit of the action (expected ${expected}, got ${actual}): the release asset was replaced or corrupted. Nothing was run; report this to the action's maintainers."
fi

chmod +x "${file}"
echo "codesign-gate ${version} (${asset}, sha256 ${actual}) verified against the action's commit"
echo "path=${file}" >> "${GITHUB_OUTPUT}"
