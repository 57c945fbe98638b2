#!/usr/bin/env bash
# Everything CI checks, for each queue (QUEUE=6.1|6.12 for one, both by
# default): KUnit, the end-to-end scenario and the series checks.  Counts
# every KUnit case, every e2e phase and every check, and ends with one line
# 'N passed, N failed'.  Exits non-zero on any failure.
# E2E_RUNS overrides a queue's end-to-end runs (QEMU:GUEST words,
# E2E_RUNS_DEFAULT in lib.sh).
set -uo pipefail

if [ -z "${QUEUE:-}" ]; then
	. "$(dirname "$0")/lib.sh"
	mkdir -p "$TOP/out"
	total_p=0 total_f=0
	for q in $QUEUES; do
		QUEUE=$q "$TOP/scripts/test.sh" | tee "$TOP/out/test-$q.log"
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$TOP/out/test-$q.log" | tail -1)
		p=${line%% passed*} f=${line#*passed, }
		f=${f%% failed*}
		[ -n "$line" ] || { p=0 f=1; }
		echo "queue $q: ${p} passed, ${f} failed"
		total_p=$((total_p + p)) total_f=$((total_f + f))
	done
	echo
	echo "$total_p passed, $total_f failed"
	[ "$total_f" = 0 ]
	exit
fi

. "$(dirname "$0")/lib.sh"
mkdir -p "$OUT"
ensure_deps
if [ ! -d "$TREE/.git" ]; then
	"$TOP/scripts/tree.sh" || { echo "0 passed, 1 failed"; exit 1; }
fi

total_p=0 total_f=0
count() { # log-file prefix: add the 'prefix: N passed, N failed' line of a log
	local line p f
	line=$(grep -E "^$2: [0-9]+ passed, [0-9]+ failed" "$1" | tail -1)
	# The counts are the first two numbers: what follows (the names of
	# skipped phases) may say "failed" too
	if [[ $line =~ ^$2:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
	else
		p=0 f=1
		echo "$2: no result line: counted as 1 failure"
	fi
	total_p=$((total_p + p))
	total_f=$((total_f + f))
}
step() { # what: note it and the time since the last step
	local now
	now=$(date +%s)
	[ -z "${last:-}" ] || note "(${prev}: $((now - last)) s)"
	last=$now prev=$1
	note "queue $QUEUE: $1"
}

step KUnit
"$TOP/scripts/kunit.sh" 2>&1 | tee "$OUT/test-kunit.log"
count "$OUT/test-kunit.log" kunit

for r in ${E2E_RUNS:-$E2E_RUNS_DEFAULT}; do
	q=${r%%:*} g=${r#*:}
	step "end-to-end scenario: QEMU $q, $g guest"
	"$TOP/scripts/e2e.sh" --qemu "$q" --guest "$g" 2>&1 | tee "$OUT/test-e2e-qemu$q-$g.log"
	count "$OUT/test-e2e-qemu$q-$g.log" e2e
done

step "series checks"
"$TOP/scripts/check.sh" 2>&1 | tee "$OUT/test-check.log"
count "$OUT/test-check.log" check
step done

echo
echo "$total_p passed, $total_f failed"
[ "$total_f" = 0 ]
