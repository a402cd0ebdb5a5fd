#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Every test pvbridge has, in one run; ends with the line "N passed, N failed".
#
#   devtools/run-tests.sh                    all suites (what `make test` runs)
#   devtools/run-tests.sh --fuzz-only SECS   a longer run of every fuzz target
#
# Stages: the unit and stress suites (gcc, release); the same suites plus
# short fuzz runs built with clang + ASan + UBSan; the end-to-end suites in
# dts/ (pytest, real processes). A failing stage does not stop later ones.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=${BUILD:-build}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
results=$BUILD/test-results
mkdir -p "$results"
rm -f "$results"/*

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

asan_setup() {
	[ -f "$ASAN_BUILD/build.ninja" ] && return 0
	CC=clang meson setup "$ASAN_BUILD" -Dbuildtype=debugoptimized -Dfuzz=true \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fno-sanitize-recover=all >"$results/asan-setup.log" 2>&1 || {
		cat "$results/asan-setup.log"
		return 1
	}
}

# meson test in one build dir; keeps its testlog.json for the summary.
suite() {
	local dir=$1 tag=$2
	shift 2
	echo "== $tag: meson test $*"
	meson test -C "$dir" --print-errorlogs "$@"
	local rc=$?
	cp "$dir/meson-logs/testlog.json" "$results/$tag.testlog.json" 2>/dev/null
	return $rc
}

if [ "${1:-}" = "--fuzz-only" ]; then
	secs=${2:-600}
	asan_setup && ninja -C "$ASAN_BUILD" >/dev/null || exit 1
	for f in "$ASAN_BUILD"/tests/fuzz/fuzz_*; do
		# meson's object directories (fuzz_*.p) match too, and are "executable"
		[ -f "$f" ] && [ -x "$f" ] || continue
		corpus=$BUILD/fuzz-corpus/$(basename "$f")
		mkdir -p "$corpus"
		echo "== $(basename "$f"): ${secs}s, corpus in $corpus"
		"$f" -max_total_time="$secs" -print_final_stats=1 "$corpus" || exit 1
	done
	exit 0
fi

status=0
echo "== build: gcc release ($BUILD)"
suite "$BUILD" gcc --suite unit --suite stress || status=1

echo "== build: clang + ASan + UBSan ($ASAN_BUILD)"
if asan_setup && ninja -C "$ASAN_BUILD" >"$results/asan-build.log" 2>&1; then
	suite "$ASAN_BUILD" asan --suite unit --suite stress --suite fuzz || status=1
else
	cat "$results/asan-build.log" 2>/dev/null | tail -30
	echo "asan-build FAILED" >"$results/asan-build.failed"
	status=1
fi

echo "== dts: end-to-end suites (pytest)"
PVB_BUILD=$top/$BUILD PVB_LCORES=${LCORES:--l 0,1} \
	/usr/bin/python3 -m pytest -q -p no:cacheprovider dts --junitxml="$results/dts.xml"
rc=$?
# pytest exit 5 = no tests collected: that is a failure for us, not a pass
[ $rc -eq 0 ] || status=1
[ -s "$results/dts.xml" ] || echo "pytest rc $rc" >"$results/dts.failed"

/usr/bin/python3 devtools/test-summary.py "$results"
exit $status
