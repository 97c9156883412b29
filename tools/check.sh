#!/bin/bash
# make check: build twice (warnings as errors, and with sanitizers), run
# the Check unit suites under both, the integration scripts (the runtime's
# also under the sanitizers), the fuzz harnesses over their seeds, lint
# the man pages, and end with one line
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
failures=()

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "FAIL: $1"; }

build() {
	local dir=$1; shift
	echo "== build ($dir $*)"
	if make -s -j"$jobs" BUILD="$dir" "$@" all unit-tests; then
		pass
	else
		fail "build $dir"
		return 1
	fi
}

# Run one Check suite; count its checks.  Check prints
# "NN%: Checks: N, Failures: F, Errors: E".
run_unit() {
	local bin=$1 label=$2 out n f e
	out=$(CK_DEFAULT_TIMEOUT=60 "$bin" 2>&1)
	local rc=$?
	echo "$out" | grep -E '^[0-9]+%:|:[EF]:' | sed "s|^|  $label: |"
	n=$(echo "$out" | sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' | tail -1)
	if [ -z "$n" ]; then
		fail "$label (no Check summary, exit $rc)"
		echo "$out" | tail -20
		return
	fi
	set -- $n
	passed=$((passed + $1 - $2 - $3))
	local bad=$(($2 + $3))
	local i
	for ((i = 0; i < bad; i++)); do fail "$label"; done
	[ "$rc" -eq 0 ] || [ "$bad" -gt 0 ] || fail "$label (exit $rc)"
}

for dir in build build-san; do
	if [ "$dir" = build ]; then
		build build DEVELOPER=1 || continue
	else
		build build-san SANITIZE=address,undefined || continue
	fi
	for t in "$dir"/tests/check_*; do
		[ -x "$t" ] || continue
		run_unit "$t" "$dir/$(basename "$t")"
	done
done

# Integration scripts print TAP lines: "ok N - what" / "not ok N - what".
run_integration() {
	local t=$1 label=$2 out rc ok nok i
	echo "== $label"
	local t0=$SECONDS
	out=$(timeout 600 bash "$t" 2>&1)
	rc=$?
	echo "$out" | sed 's/^/  /'
	echo "  # $((SECONDS - t0)) s"
	ok=$(echo "$out" | grep -c '^ok ')
	nok=$(echo "$out" | grep -c '^not ok ')
	passed=$((passed + ok))
	for ((i = 0; i < nok; i++)); do fail "$label"; done
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		fail "$label (exit $rc)"
	fi
	# A sanitizer report fails the script even where the test's own
	# checks passed.
	if echo "$out" | grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:'; then
		fail "$label (sanitizer report)"
	fi
}

export CLUSTER_BUILD=$PWD/build
for t in tests/integration/[0-9]*.t; do
	[ -f "$t" ] || continue
	run_integration "$t" "$t"
done
# The runtime's real process paths once more under the sanitizers: the
# CLI, configuration, batch runs, refused connections and the HTTP API.
if [ -x build-san/bin/cluster ] && [ -x build-san/bin/cluster-rank ]; then
	export CLUSTER_BUILD=$PWD/build-san
	for t in tests/integration/0010-cli.t tests/integration/0020-config.t \
		 tests/integration/0100-rank-batch.t \
		 tests/integration/0102-rank-auth.t tests/integration/0200-api-cli.t; do
		run_integration "$t" "$t (sanitizers)"
	done
fi
[ -x tests/integration/slurm.sh ] && tests/integration/slurm.sh stop >/dev/null 2>&1

# Fuzz harnesses, once over their seed corpora (make fuzz-regress): one
# check per harness.
echo "== fuzz regressions"
fuzzers=()
for f in tests/fuzz/fuzz_*.c; do
	[ -f "$f" ] && fuzzers+=("$(basename "$f" .c)")
done
if [ "${#fuzzers[@]}" -gt 0 ]; then
	if out=$(make -s -j"$jobs" fuzz-build 2>&1); then
		for h in "${fuzzers[@]}"; do
			if out=$(timeout 300 make -s fuzz-regress FUZZ_NAMES="$h" 2>&1); then
				echo "$out" | grep '^Done ' | sed "s/^/  $h: /"
				pass
			else
				echo "$out" | tail -30 | sed 's/^/  /'
				fail "fuzz-regress $h"
			fi
		done
	else
		echo "$out" | tail -30 | sed 's/^/  /'
		for h in "${fuzzers[@]}"; do fail "fuzz-regress $h (build)"; done
	fi
fi

# Man pages: mandoc's lint must have nothing to say above style level.
echo "== man pages"
for m in man/*.[1-8]; do
	[ -f "$m" ] || continue
	if out=$(mandoc -Tlint -Wwarning "$m" 2>&1) && [ -z "$out" ]; then
		pass
	else
		echo "$out"
		fail "lint $m"
	fi
done

if [ "$failed" -gt 0 ]; then
	echo
	echo "failures:"
	printf '  %s\n' "${failures[@]}"
fi
echo
echo "# $SECONDS s in all"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
