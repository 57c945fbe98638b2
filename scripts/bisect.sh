#!/usr/bin/env bash
# Build the kernel at every patch of the queue:
#  - arm64: the guest configuration (driver built in, with SVA) as a full
#    Image, and the driver directory in the KUnit configuration (driver +
#    tests), each with W=1 for the driver. The KUnit configuration is copied
#    again before each patch: olddefconfig at a patch before the tests'
#    Kconfig option exists drops it, and the later patches would then never
#    compile their tests; with queues/QUEUE/configs/bisect-arm64.config,
#    when the queue has one, merged into the guest configuration (6.12: the
#    tegra241 CMDQV driver, which shares the command queue code);
#  - x86_64: allnoconfig + queues/QUEUE/configs/bisect-x86_64.config (VT-d with SVM, idxd
#    with SVM, uacce: the other users of the core's SVA/PASID API) as a full
#    bzImage, with no warning anywhere.
# Uses a separate worktree (build/bisect) so build/linux is left alone.
# BISECT_ARCHS picks the architectures (BISECT_ARCHS_DEFAULT in lib.sh:
# the 6.12 queue touches nothing x86_64 builds).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ensure_deps
[ -d "$TREE/.git" ] || "$TOP/scripts/tree.sh"
[ -f "$BUILD/guest/.config" ] || KOUT=$BUILD/guest "$TOP/scripts/guest-kernel.sh" >/dev/null
# The KUnit configuration: the plain one, or the debug one where the queue
# builds only that (KUNIT_RUNS in lib.sh)
kcfg=$BUILD/kunit/.config
case " $KUNIT_RUNS " in *" software "*) ;; *) kcfg=$BUILD/kunit-debug/.config ;; esac
[ -f "$kcfg" ] || "$TOP/scripts/kunit.sh" >/dev/null || true
[ -f "$kcfg" ] || die "no KUnit configuration in ${kcfg%/.config}"

wt=$BUILD/bisect
git -C "$TREE" worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"
git -C "$TREE" worktree prune
git -C "$TREE" worktree add -q --detach "$wt" base
mkdir -p "$BUILD/bisect-guest" "$BUILD/bisect-kunit" "$BUILD/bisect-x86" "$OUT/bisect"
cp "$BUILD/guest/.config" "$BUILD/bisect-guest/.config"
if [ -f "$CONFIGS/bisect-arm64.config" ]; then
	"$TREE/scripts/kconfig/merge_config.sh" -m -O "$BUILD/bisect-guest" \
		"$BUILD/bisect-guest/.config" "$CONFIGS/bisect-arm64.config" >/dev/null
	make -s -C "$TREE" O="$BUILD/bisect-guest" ARCH=arm64 CROSS_COMPILE="$CROSS_COMPILE" \
		olddefconfig >/dev/null
	while IFS= read -r line; do
		case "$line" in CONFIG_*=*) ;; *) continue ;; esac
		grep -qxF "$line" "$BUILD/bisect-guest/.config" ||
			die "arm64 bisect option did not take: $line"
	done < "$CONFIGS/bisect-arm64.config"
fi
archs=${BISECT_ARCHS:-$BISECT_ARCHS_DEFAULT}
bmake() {
	make -s -C "$wt" ARCH=arm64 CROSS_COMPILE="$CROSS_COMPILE" CC="$KCC" \
		HOSTCC="$HOSTCC_CMD" -j"$JOBS" "$@"
}
xmake() {
	make -s -C "$wt" ARCH=x86_64 CROSS_COMPILE= CC="$HOSTCC_CMD" HOSTCC="$HOSTCC_CMD" \
		-j"$JOBS" "$@"
}
arm64_steps="
		bmake O='$BUILD/bisect-guest' olddefconfig >/dev/null
		bmake O='$BUILD/bisect-guest' Image
		bmake O='$BUILD/bisect-guest' W=1 drivers/iommu/arm/arm-smmu-v3/
		cp '$kcfg' '$BUILD/bisect-kunit/.config'
		bmake O='$BUILD/bisect-kunit' olddefconfig >/dev/null
		bmake O='$BUILD/bisect-kunit' W=1 drivers/iommu/"
x86_steps="
		echo '==> x86_64'
		xmake O='$BUILD/bisect-x86' olddefconfig >/dev/null
		xmake O='$BUILD/bisect-x86' bzImage"
arm64="" x86=""
case " $archs " in *" arm64 "*) arm64=$arm64_steps ;; esac
case " $archs " in *" x86_64 "*)
	x86=$x86_steps
	# The x86_64 configuration, made at the base; every line must take.
	frag=$CONFIGS/bisect-x86_64.config
	if ! cmp -s "$frag" "$BUILD/bisect-x86/.fragment"; then
		xmake O="$BUILD/bisect-x86" allnoconfig >/dev/null
		"$wt/scripts/kconfig/merge_config.sh" -m -O "$BUILD/bisect-x86" \
			"$BUILD/bisect-x86/.config" "$frag" >/dev/null
		xmake O="$BUILD/bisect-x86" olddefconfig >/dev/null
		while IFS= read -r line; do
			case "$line" in CONFIG_*=*) ;; *) continue ;; esac
			grep -qxF "$line" "$BUILD/bisect-x86/.config" ||
				die "x86_64 bisect option did not take: $line"
		done < "$frag"
		cp "$frag" "$BUILD/bisect-x86/.fragment"
	fi ;;
esac

i=0 failed=0
for c in $(git -C "$TREE" rev-list --reverse base..HEAD); do
	i=$((i + 1))
	subj=$(git -C "$TREE" log -1 --format=%s "$c")
	git -C "$wt" checkout -q --detach "$c"
	log=$OUT/bisect/$(printf '%04d' $i).log
	# arm64: no warning in the driver (W=1); x86_64: no warning at all.
	if with_kbuild_lock bash -c "$(declare -f bmake xmake); wt='$wt' CROSS_COMPILE='$CROSS_COMPILE' KCC='$KCC' HOSTCC_CMD='$HOSTCC_CMD' JOBS='$JOBS'
		set -e$arm64$x86" > "$log" 2>&1 &&
		! grep -qE 'arm-smmu-v3/.*(warning|error):' "$log" &&
		! sed -n '/^==> x86_64/,$p' "$log" | grep -qE '(warning|error):'; then
		echo "bisect: $i $subj: PASS"
	else
		echo "bisect: $i $subj: FAIL (see ${log#"$TOP"/})"
		failed=$((failed + 1))
	fi
done
git -C "$TREE" worktree remove --force "$wt" >/dev/null 2>&1 || true
echo "bisect: $((i - failed)) passed, $failed failed"
[ $failed = 0 ]
