#!/usr/bin/env bash
# Conformance suite: the official Ory SDKs (ory-kratos-client, ory-keto-client) and headless
# Chromium against the release binary. Creates or reuses a Python venv, builds the binary, runs
# pytest and exits with its code. Output (server logs, screenshots) goes to conformance/out/.
#   GATEHOUSE_VENV    venv to use (default ~/.cache/gatehouse-venv)
#   CARGO_TARGET_DIR  cargo's target dir (cargo's own default when unset, as for `cargo run`)
#   extra arguments are passed to pytest, e.g. conformance/run.sh -k login
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/.."

venv="${GATEHOUSE_VENV:-$HOME/.cache/gatehouse-venv}"

# The venv, reinstalled only when requirements.txt changed (its digest is kept in the venv).
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  echo "conformance: installing Python requirements into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "$want" > "$venv/.requirements.sha256"
fi

cargo build --release --quiet -p gatehouse
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
export GATEHOUSE_BIN="$target_dir/release/gatehouse"
export GATEHOUSE_CONFORMANCE_OUT="${GATEHOUSE_CONFORMANCE_OUT:-$here/out}"
mkdir -p "$GATEHOUSE_CONFORMANCE_OUT"

set +e
"$venv/bin/python" -m pytest "$here" -q -rA -p no:cacheprovider "$@"
code=$?
set -e
echo "conformance: output in $GATEHOUSE_CONFORMANCE_OUT" >&2
exit "$code"
