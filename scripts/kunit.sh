#!/usr/bin/env bash
# Run the driver's KUnit suites under QEMU (arm64) with kunit.py, keep the
# KTAP log and the JSON results in out/kunit/, and print the counts.
# Extra arguments go to kunit.py (e.g. a filter glob).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ensure_deps
[ -d "$TREE/.git" ] || "$TOP/scripts/tree.sh"
kdir=$BUILD/kunit
res=$OUT/kunit
mkdir -p "$kdir" "$res"
rm -f "$res/ktap.log" "$res/results.json" "$res/summary"

note "kunit.py run --arch=arm64 (build dir build/kunit)"
set +e
(
	cd "$TREE"
	with_kbuild_lock python3 tools/testing/kunit/kunit.py run \
		--arch=arm64 --cross_compile="$CROSS_COMPILE" \
		--kunitconfig=drivers/iommu/arm/arm-smmu-v3 \
		--build_dir="$kdir" --jobs="$JOBS" --timeout=600 \
		--make_options "CC=$KCC" --make_options "HOSTCC=$HOSTCC_CMD" \
		--json="$res/results.json" "$@"
) > "$res/kunit.out" 2>&1
rc=$?
set -e
cp "$kdir/test.log" "$res/ktap.log" 2>/dev/null || true
grep -v '^{' "$res/kunit.out" | grep -v '^ *"' | tail -40 >&2 || true

python3 - "$res/results.json" "$rc" > "$res/summary" <<'PY'
import json, sys
path, rc = sys.argv[1], int(sys.argv[2])
passed = failed = skipped = 0
def walk(g):
    global passed, failed, skipped
    for t in g.get("test_cases", []) + g.get("tests", []):
        s = t.get("status", "")
        if s == "PASS": passed += 1
        elif s == "SKIP": skipped += 1
        else: failed += 1
    for s in g.get("sub_groups", []):
        walk(s)
try:
    with open(path) as f:
        walk(json.load(f))
except (OSError, ValueError):
    pass
if passed + failed == 0 or rc != 0 and failed == 0:
    failed += 1          # the run itself failed (build error, crash, no tests)
print(f"{passed} {failed} {skipped}")
PY
read -r p f s < "$res/summary"
echo "kunit: $p passed, $f failed, $s skipped (log: out/kunit/ktap.log, json: out/kunit/results.json)"
[ "$f" = 0 ]
