#!/usr/bin/env bash
# Build the small arm64 guest kernel for the end-to-end scenario:
# allnoconfig + guest/kernel.config, out of tree in $KOUT (default
# build/guest), from the source tree $SRC (default build/linux, the series
# applied), with what external modules need (Module.symvers).  Prints the
# path of the Image.
# GUEST=debug adds guest/kernel-debug.config (lockdep, KASAN, kmemleak...)
# and builds in build/guest-debug by default.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SRC=${SRC:-$TREE}
GUEST=${GUEST:-plain}
case $GUEST in
plain) KOUT=${KOUT:-$BUILD/guest}; frags=("$TOP/guest/kernel.config") ;;
debug) KOUT=${KOUT:-$BUILD/guest-debug}
	frags=("$TOP/guest/kernel.config" "$TOP/guest/kernel-debug.config") ;;
*) die "GUEST must be plain or debug, not '$GUEST'" ;;
esac
frag=$KOUT/.fragment.new
mkdir -p "$KOUT"
cat "${frags[@]}" > "$frag"
[ -f "$SRC/Makefile" ] || die "no kernel source in $SRC (run 'make tree')"
kmake() {
	make -s -C "$SRC" O="$KOUT" ARCH=arm64 CROSS_COMPILE="$CROSS_COMPILE" \
		CC="$KCC" HOSTCC="$HOSTCC_CMD" -j"$JOBS" "$@"
}

# Regenerate the configuration when the fragment changed.
if ! cmp -s "$frag" "$KOUT/.fragment" || [ ! -f "$KOUT/.config" ]; then
	note "configuring the guest kernel (allnoconfig + ${frags[*]#"$TOP"/})"
	kmake allnoconfig >/dev/null
	"$SRC/scripts/kconfig/merge_config.sh" -m -O "$KOUT" "$KOUT/.config" "$frag" >/dev/null
	kmake olddefconfig >/dev/null
	bad=""
	while IFS= read -r line; do
		case "$line" in CONFIG_*=*) ;; *) continue ;; esac
		grep -qxF "$line" "$KOUT/.config" || bad="$bad ${line}"
	done < "$frag"
	[ -z "$bad" ] || die "guest config options did not take (missing dependencies?):$bad"
	cp "$frag" "$KOUT/.fragment"
fi
rm -f "$frag"
note "building the guest kernel in ${KOUT#"$TOP"/}"
with_kbuild_lock bash -c "$(declare -f kmake); SRC='$SRC' KOUT='$KOUT' CROSS_COMPILE='$CROSS_COMPILE' KCC='$KCC' HOSTCC_CMD='$HOSTCC_CMD' JOBS='$JOBS' kmake Image modules" >&2
echo "$KOUT/arch/arm64/boot/Image"
