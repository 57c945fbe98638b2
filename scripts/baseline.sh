#!/usr/bin/env bash
# Run the end-to-end scenario on the pristine base (tag 'base', no patch) and
# keep its figures in queues/$QUEUE/baseline/, one set per emulator:
#   baseline-base-qemuVER.json  per-phase command and event counts, read by
#                               every later report on that emulator
#   baseline-base-qemuVER.txt   the report
# and what the debug guest (lockdep, KASAN, kmemleak...) finds in the base
# itself, when the queue's runs have one:
#   base-debug-qemu10.txt       the debug guest's report on the base
# BASELINE_RUNS overrides the list (QEMU:GUEST words, as E2E_RUNS of test.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ensure_deps
[ -d "$TREE/.git" ] || "$TOP/scripts/tree.sh"
wt=$BUILD/linux-base
base_worktree "$TREE" "$wt"
# The queue's make test runs, on the base
for r in ${BASELINE_RUNS:-$E2E_RUNS_DEFAULT}; do
	q=${r%%:*} g=${r#*:}
	kout=$BUILD/guest-base
	[ "$g" = plain ] || kout=$BUILD/guest-base-$g
	set +e
	SRC=$wt KOUT=$kout "$TOP/scripts/e2e.sh" --label base --qemu "$q" --guest "$g"
	rc=$?
	set -e
	res=$OUT/e2e/base/qemu$q-$g
	[ -f "$res/counts.json" ] || die "the scenario produced no figures on the base (${res#"$TOP"/})"
	# The figures are kept even when a phase fails on the base: the
	# failed-attach phase shows a 6.1 bug that the series fixes (see README).
	[ $rc = 0 ] || note "phases failed on the pristine base (QEMU $q, $g guest): $(grep -E '^phase [0-9]+ .* FAIL ' "$res/report.txt" | sed -E 's/ +FAIL .*//' | paste -sd';')"
	if [ "$g" = plain ]; then
		cp "$res/counts.json" "$BASELINE/baseline-base-qemu$q.json"
		cp "$res/report.txt" "$BASELINE/baseline-base-qemu$q.txt"
		note "baseline kept in ${BASELINE#"$TOP"/}/baseline-base-qemu$q.{json,txt}"
	else
		cp "$res/report.txt" "$BASELINE/base-$g-qemu$q.txt"
		note "the $g guest's findings on the base kept in ${BASELINE#"$TOP"/}/base-$g-qemu$q.txt"
	fi
done
