#!/usr/bin/env bash
# Installs mcpvisor from the release build into a temporary prefix, builds
# examples/word-tools against that prefix alone (pkg-config), and runs the
# SDK client tests on it. Appends "<suite> <passed> <failed>" to RESULTS.
#
#   tests/example.sh NODE RESULTS_FILE LOG_DIR
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
node=$1
results=$2
logs=$3
prefix=$(mktemp -d /tmp/mcpvisor-prefix-XXXXXX)
work=$(mktemp -d /tmp/mcpvisor-example-XXXXXX)
trap 'rm -rf "$prefix" "$work"' EXIT
log="$logs/example.log"

fail() {
  echo "  example: $1 (see $log)" >&2
  tail -n 20 "$log" >&2
  echo "example 0 1" >> "$results"
  printf '%-28s %4s passed, %s failed\n' example 0 1
  exit 0
}

{
  # a new prefix changes where `meson install` puts things, not what is built
  meson configure build --prefix="$prefix" &&
  meson install -C build --quiet
} > "$log" 2>&1 || fail "meson install failed"
libdir=$(dirname "$(find "$prefix" -name mcpvisor.pc | head -n 1)")
[ -n "$libdir" ] || fail "no mcpvisor.pc was installed"
# the example sees nothing of this checkout: only the installed prefix
cp -r examples/word-tools "$work/src"
{
  PKG_CONFIG_PATH="$libdir" meson setup "$work/build" "$work/src" --wrap-mode=nofallback &&
  ninja -C "$work/build"
} >> "$log" 2>&1 || fail "building the example against the prefix failed"
ldir=$(dirname "$libdir")
EXAMPLE_BIN="$work/build/word-tools" LD_LIBRARY_PATH="$ldir" \
  timeout 300 "$node" --test --test-reporter=spec "$root/tests/node/example.test.mjs" \
  >> "$log" 2>&1
passed=$(grep -E '^ℹ pass ' "$log" | awk '{print $3}')
failed=$(grep -E '^ℹ fail ' "$log" | awk '{print $3}')
[ -n "$passed" ] || fail "the tests did not run"
[ "$failed" -ne 0 ] && grep -B2 -A12 '✖' "$log" | head -n 60 >&2
echo "example $passed $failed" >> "$results"
printf '%-28s %4s passed, %s failed\n' example "$passed" "$failed"
