#!/usr/bin/env bash
# Build the arm64 kernel at every patch of the queue: the guest configuration
# (driver built in, with SVA) as a full Image, and the driver directory in
# the KUnit configuration (driver + tests), each with W=1 for the driver.
# Uses a separate worktree (build/bisect) so build/linux is left alone.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ensure_deps
[ -d "$TREE/.git" ] || "$TOP/scripts/tree.sh"
[ -f "$BUILD/guest/.config" ] || KOUT=$BUILD/guest "$TOP/scripts/guest-kernel.sh" >/dev/null
[ -f "$BUILD/kunit/.config" ] || "$TOP/scripts/kunit.sh" >/dev/null || true
[ -f "$BUILD/kunit/.config" ] || die "no KUnit configuration in build/kunit"

wt=$BUILD/bisect
git -C "$TREE" worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"
git -C "$TREE" worktree prune
git -C "$TREE" worktree add -q --detach "$wt" base
mkdir -p "$BUILD/bisect-guest" "$BUILD/bisect-kunit" "$OUT/bisect"
cp "$BUILD/guest/.config" "$BUILD/bisect-guest/.config"
cp "$BUILD/kunit/.config" "$BUILD/bisect-kunit/.config"
bmake() {
	make -s -C "$wt" ARCH=arm64 CROSS_COMPILE="$CROSS_COMPILE" CC="$KCC" \
		HOSTCC="$HOSTCC_CMD" -j"$JOBS" "$@"
}

i=0 failed=0
for c in $(git -C "$TREE" rev-list --reverse base..HEAD); do
	i=$((i + 1))
	subj=$(git -C "$TREE" log -1 --format=%s "$c")
	git -C "$wt" checkout -q --detach "$c"
	log=$OUT/bisect/$(printf '%04d' $i).log
	if with_kbuild_lock bash -c "$(declare -f bmake); wt='$wt' CROSS_COMPILE='$CROSS_COMPILE' KCC='$KCC' HOSTCC_CMD='$HOSTCC_CMD' JOBS='$JOBS'
		set -e
		bmake O='$BUILD/bisect-guest' olddefconfig >/dev/null
		bmake O='$BUILD/bisect-guest' Image
		bmake O='$BUILD/bisect-guest' W=1 drivers/iommu/arm/arm-smmu-v3/
		bmake O='$BUILD/bisect-kunit' olddefconfig >/dev/null
		bmake O='$BUILD/bisect-kunit' W=1 drivers/iommu/" > "$log" 2>&1 &&
		! grep -qE 'arm-smmu-v3/.*(warning|error):' "$log"; then
		echo "bisect: $i $subj: PASS"
	else
		echo "bisect: $i $subj: FAIL (see ${log#"$TOP"/})"
		failed=$((failed + 1))
	fi
done
git -C "$TREE" worktree remove --force "$wt" >/dev/null 2>&1 || true
echo "bisect: $((i - failed)) passed, $failed failed"
[ $failed = 0 ]
