#!/usr/bin/env bash
# Everything CI checks: KUnit, the end-to-end scenario and the quick series
# checks.  Counts every KUnit case, every e2e phase and every check, and ends
# with one line 'N passed, N failed'.  Exits non-zero on any failure.
set -uo pipefail
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
	if [ -z "$line" ]; then
		p=0 f=1
		echo "$2: no result line: counted as 1 failure"
	else
		p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
		f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	fi
	total_p=$((total_p + p))
	total_f=$((total_f + f))
}

note "KUnit"
"$TOP/scripts/kunit.sh" 2>&1 | tee "$OUT/test-kunit.log"
count "$OUT/test-kunit.log" kunit

# The scenario on the three emulators (plain guest), then on the debug guest.
# E2E_RUNS overrides the list (QEMU:GUEST words).
for r in ${E2E_RUNS:-7.2:plain 10:plain 11.1:plain 10:debug}; do
	q=${r%%:*} g=${r#*:}
	note "end-to-end scenario: QEMU $q, $g guest"
	"$TOP/scripts/e2e.sh" --qemu "$q" --guest "$g" 2>&1 | tee "$OUT/test-e2e-qemu$q-$g.log"
	count "$OUT/test-e2e-qemu$q-$g.log" e2e
done

note "series checks"
"$TOP/scripts/check.sh" 2>&1 | tee "$OUT/test-check.log"
count "$OUT/test-check.log" check

echo
echo "$total_p passed, $total_f failed"
[ "$total_f" = 0 ]
