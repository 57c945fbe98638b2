#!/usr/bin/env bash
# Run the driver's KUnit suites under QEMU (arm64) with kunit.py and print
# the counts of each run and their sum.  One kernel (build dir build/kunit,
# drivers/iommu/arm/arm-smmu-v3/.kunitconfig, configured by the series'
# tools/testing/kunit/qemu_configs/arm64_smmuv3.py) boots three times:
#   software  --arch=arm64: virt without an SMMU, the suites on fake SMMUs
#             (arm-smmu-v3-*, iommu-sva); arm-smmu-v3-hw skips there;
#   hw-7.2    --arch=arm64_smmuv3 on QEMU 7.2: arm-smmu-v3-hw against the
#             emulated SMMUv3 and a pci-testdev (stage 2 skipped: 7.2 has
#             none);
#   hw-10     the same on QEMU 10 (scripts/qemu10.sh), stage 2 included.
# In the hw runs a skipped case is a failure (the device or the SMMU was
# not found), except stage 2 on 7.2.  Logs and JSON: out/kunit/.
# Extra arguments go to every kunit.py exec (e.g. --raw_output).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ensure_deps
[ -d "$TREE/.git" ] || "$TOP/scripts/tree.sh"
kdir=$BUILD/kunit
res=$OUT/kunit
mkdir -p "$kdir" "$res"
rm -f "$res"/*.log "$res"/*.json "$res"/*.out "$res/summary"

kunit() { # kunit.py with the common options, in the tree
	(cd "$TREE" && python3 tools/testing/kunit/kunit.py "$@")
}
common=(--cross_compile="$CROSS_COMPILE" --build_dir="$kdir" --kunitconfig=drivers/iommu/arm/arm-smmu-v3)

note "kunit.py build --arch=arm64_smmuv3 (build dir build/kunit)"
if ! (cd "$TREE" && with_kbuild_lock python3 tools/testing/kunit/kunit.py build --arch=arm64_smmuv3 \
	"${common[@]}" --jobs="$JOBS" --make_options "CC=$KCC" --make_options "HOSTCC=$HOSTCC_CMD") \
	> "$res/build.out" 2>&1; then
	tail -40 "$res/build.out" >&2
	echo "kunit: build failed (out/kunit/build.out)"
	echo "kunit: 0 passed, 1 failed"
	exit 1
fi

# QEMU 10 for kunit.py, which runs qemu-system-aarch64 from PATH.
q10dir=$BUILD/kunit-qemu10
mkdir -p "$q10dir"
ln -sf "$("$TOP/scripts/qemu10.sh")" "$q10dir/qemu-system-aarch64"

runs=(software hw-7.2 hw-10)
for r in "${runs[@]}"; do
	case $r in
	software) args=(--arch=arm64) path=$PATH ;;
	hw-7.2) args=(--arch=arm64_smmuv3 arm-smmu-v3-hw) path=$PATH ;;
	hw-10) args=(--arch=arm64_smmuv3 arm-smmu-v3-hw) path=$q10dir:$PATH ;;
	esac
	note "kunit.py exec ${args[*]} ($r)"
	set +e
	PATH=$path kunit exec "${common[@]}" --timeout=600 --json="$res/$r.json" \
		"${args[@]}" "$@" > "$res/$r.out" 2>&1
	echo $? > "$res/$r.rc"
	set -e
	cp "$kdir/test.log" "$res/$r.log" 2>/dev/null || true
	grep -v '^{' "$res/$r.out" | grep -v '^ *"' | grep -vE '^\[[0-9:]+\] +\[(PASSED|SKIPPED)\]' | tail -25 >&2 || true
done

# The property suites' pair counts and seed (replay: kunit.py exec
# --kernel_args arm_smmu_v3_test.seed=SEED arm-smmu-v3-entry-property)
grep -hoE '(STE|CD): [0-9]+ random pairs, seed [0-9]+.*' "$res/software.log" 2>/dev/null |
	sed 's/^/kunit property: /' || true

python3 - "$res" "${runs[@]}" <<'PY' | tee "$res/summary"
import json, sys
res, runs = sys.argv[1], sys.argv[2:]
total_p = total_f = 0
for run in runs:
    rc = int(open(f"{res}/{run}.rc").read())
    passed = failed = skipped = 0
    bad_skips = []
    def walk(g, suite=""):
        global passed, failed, skipped
        for t in g.get("test_cases", []) + g.get("tests", []):
            s = t.get("status", "")
            name = f'{g.get("name", suite)}.{t.get("name", "")}'
            if s == "PASS":
                passed += 1
            elif s == "SKIP":
                # On the SMMU, only stage 2 on QEMU 7.2 may be skipped
                if run.startswith("hw") and not (run == "hw-7.2" and name.endswith("stage2")):
                    bad_skips.append(name)
                    failed += 1
                else:
                    skipped += 1
            else:
                failed += 1
        for s in g.get("sub_groups", []):
            walk(s, g.get("name", suite))
    try:
        with open(f"{res}/{run}.json") as f:
            walk(json.load(f))
    except (OSError, ValueError):
        pass
    if passed + failed == 0 or rc != 0 and failed == 0:
        failed += 1          # the run itself failed (crash, timeout, no tests)
    extra = f" (skipped where they must not be: {', '.join(bad_skips)})" if bad_skips else ""
    print(f"kunit {run}: {passed} passed, {failed} failed, {skipped} skipped{extra}")
    total_p += passed
    total_f += failed
print(f"kunit: {total_p} passed, {total_f} failed (logs and JSON: out/kunit/)")
PY
grep -qE '^kunit: [0-9]+ passed, 0 failed' "$res/summary"
