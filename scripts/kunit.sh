#!/usr/bin/env bash
# Run the driver's KUnit suites under QEMU (arm64) with kunit.py and print
# the counts of each run and their sum.  The queue's runs are KUNIT_RUNS
# (lib.sh); the 6.1 queue's are described here, the 6.12 queue runs only
# software-debug, with queues/6.12/configs/kunit.config (6.12's own suite
# and the queue's).  One kernel (build dir build/QUEUE/kunit,
# drivers/iommu/arm/arm-smmu-v3/.kunitconfig, configured by the series'
# tools/testing/kunit/qemu_configs/arm64_smmuv3.py) boots three times:
#   software  --arch=arm64 (two CPUs): virt without an SMMU, the suites on
#             fake SMMUs (arm-smmu-v3-*, iommu-sva), the model check among
#             them; arm-smmu-v3-hw skips there;
#   hw-7.2    --arch=arm64_smmuv3 on QEMU 7.2: arm-smmu-v3-hw against the
#             emulated SMMUv3 and a pci-testdev (stage 2 skipped: 7.2 has
#             none);
#   hw-10     the same on QEMU 10 (scripts/qemu10.sh), stage 2 included.
# A second kernel (build dir build/kunit-debug), the same configuration plus
# the kernel's checkers (DEBUG_KCONFIG below: lockdep, PROVE_RCU, KASAN,
# DEBUG_LIST, DEBUG_ATOMIC_SLEEP), runs software and hw-10 again as
# software-debug and hw-10-debug; there any report of a checker in the
# kernel log (DEBUG_REPORTS below) is a failure too.
# In the hw runs a skipped case is a failure (the device or the SMMU was
# not found), except stage 2 on 7.2.  Logs and JSON: out/QUEUE/kunit/.
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
common=(--cross_compile="$CROSS_COMPILE" --build_dir="$kdir" --kunitconfig="$KUNIT_CONFIG")

# The debug kernel's additions; kunit.py fails the build if one does not
# end up in the configuration.
DEBUG_KCONFIG="CONFIG_DEBUG_KERNEL=y CONFIG_PROVE_LOCKING=y CONFIG_PROVE_RCU=y
CONFIG_DEBUG_LIST=y CONFIG_DEBUG_ATOMIC_SLEEP=y CONFIG_KASAN=y CONFIG_KASAN_GENERIC=y"
dkdir=$BUILD/kunit-debug
dcommon=(--cross_compile="$CROSS_COMPILE" --build_dir="$dkdir" --kunitconfig="$KUNIT_CONFIG")
dadd=()
for o in $DEBUG_KCONFIG; do dadd+=(--kconfig_add "$o"); done

build() { # label build-dir kunit.py-options...
	local label=$1 dir=$2
	shift 2
	note "kunit.py build --arch=$KUNIT_ARCH (build dir ${dir#"$TOP"/})"
	if ! (cd "$TREE" && with_kbuild_lock python3 tools/testing/kunit/kunit.py build --arch="$KUNIT_ARCH" \
		"$@" --jobs="$JOBS" --make_options "CC=$KCC" --make_options "HOSTCC=$HOSTCC_CMD") \
		> "$res/build$label.out" 2>&1; then
		tail -40 "$res/build$label.out" >&2
		echo "kunit: build failed (out/kunit/build$label.out)"
		echo "kunit: 0 passed, 1 failed"
		exit 1
	fi
}
# Only the kernels the queue's runs use (KUNIT_RUNS in lib.sh)
case " $KUNIT_RUNS " in *" software "* | *" hw-7.2 "* | *" hw-10 "*)
	build "" "$kdir" "${common[@]}" ;;
esac
case " $KUNIT_RUNS " in *-debug" "*)
	build -debug "$dkdir" "${dcommon[@]}" "${dadd[@]}" ;;
esac

# QEMU 10 for kunit.py, which runs qemu-system-aarch64 from PATH.
q10dir=$BUILD/kunit-qemu10
mkdir -p "$q10dir"
case " $KUNIT_RUNS " in *" hw-10"*)
	ln -sf "$("$TOP/scripts/qemu10.sh")" "$q10dir/qemu-system-aarch64" ;;
esac

read -ra runs <<< "$KUNIT_RUNS"
for r in "${runs[@]}"; do
	case $r in
	# Two CPUs: the model check's mapping thread runs beside its attaches
	software*) args=(--arch=arm64 "--qemu_args=-smp 2") path=$PATH ;;
	hw-7.2) args=(--arch=arm64_smmuv3 arm-smmu-v3-hw) path=$PATH ;;
	hw-10*) args=(--arch=arm64_smmuv3 arm-smmu-v3-hw) path=$q10dir:$PATH ;;
	esac
	case $r in
	# The checkers make the model check ~20 times slower: fewer
	# operations there, within KUnit's 300 s per case (5000 took
	# that long, with the world driven through the core's groups,
	# beside a bisect)
	software-debug) opts=("${dcommon[@]}" --kernel_args arm_smmu_v3_test.model_ops=2000) dir=$dkdir ;;
	*-debug) opts=("${dcommon[@]}") dir=$dkdir ;;
	*) opts=("${common[@]}") dir=$kdir ;;
	esac
	note "kunit.py exec ${args[*]} ($r)"
	set +e
	PATH=$path kunit exec "${opts[@]}" --timeout=600 --json="$res/$r.json" \
		"${args[@]}" "$@" > "$res/$r.out" 2>&1
	echo $? > "$res/$r.rc"
	set -e
	cp "$dir/test.log" "$res/$r.log" 2>/dev/null || true
	grep -v '^{' "$res/$r.out" | grep -v '^ *"' | grep -vE '^\[[0-9:]+\] +\[(PASSED|SKIPPED)\]' | tail -25 >&2 || true
done

# The property suites' pair counts and seed (replay: kunit.py exec
# --kernel_args arm_smmu_v3_test.seed=SEED arm-smmu-v3-entry-property)
grep -hoE '(STE|CD): [0-9]+ random pairs, seed [0-9]+.*' "$res/software.log" 2>/dev/null |
	sed 's/^/kunit property: /' || true
# The model check's seeds and operation counts (replay: --kernel_args
# arm_smmu_v3_test.model_seed=SEED arm-smmu-v3-model)
for r in software software-debug; do
	grep -hoE 'arm_smmu_test_model[a-z_]*: seed [0-9]+: [0-9]+ operations.*|and [0-9]+ concurrent map.*' \
		"$res/$r.log" 2>/dev/null | sed "s/^/kunit model ($r): /" || true
done

python3 - "$res" "${runs[@]}" <<'PY' | tee "$res/summary"
import json, re, sys
res, runs = sys.argv[1], sys.argv[2:]
# What the kernel's checkers print when they find something
DEBUG_REPORTS = (r"BUG: |WARNING: |KASAN|possible circular locking|possible recursive locking|"
                 r"inconsistent lock state|suspicious RCU usage|DEBUG_LOCKS_WARN_ON|"
                 r"list_(add|del) corruption|sleeping function called from invalid context|"
                 r"Unable to handle kernel|Kernel panic|lock held when returning")
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
    if run.endswith("-debug"):
        # A checker's report fails the run, whatever the cases said
        try:
            log = open(f"{res}/{run}.log", errors="replace").read().splitlines()
        except OSError:
            log = []
        reports = [l.strip() for l in log if re.search(DEBUG_REPORTS, l)]
        for l in reports[:10]:
            print(f"kunit {run}: checker report: {l}")
        failed += len(reports)
    extra = f" (skipped where they must not be: {', '.join(bad_skips)})" if bad_skips else ""
    print(f"kunit {run}: {passed} passed, {failed} failed, {skipped} skipped{extra}")
    total_p += passed
    total_f += failed
print(f"kunit: {total_p} passed, {total_f} failed (logs and JSON: out/kunit/)")
PY
grep -qE '^kunit: [0-9]+ passed, 0 failed' "$res/summary"
