#!/usr/bin/env bash
# QEMU 11.1 from Debian's trixie-backports, beside bookworm's QEMU 7.2 and
# the QEMU 10.0 of qemu10.sh.
#
# 11.1 has the same SMMUv3 model as 10.0, and user-creatable arm-smmuv3
# devices (one per PCIe root complex, described to the guest by ACPI's
# IORT): the two-SMMU phases need it. It is built against trixie's libc, so
# its binary and the few libraries it needs beyond bookworm's (QEMU11_LIBS,
# taken from trixie) are unpacked under cache/qemu-11/root and run through
# that root's dynamic loader by a wrapper, cache/qemu-11/qemu-system-aarch64;
# everything else resolves from bookworm. The machine's apt configuration
# is left alone (private lists, as for QEMU 10), and the compiled-in module
# directory, which holds bookworm's 7.2 modules, is shadowed by empty files
# of the same names (QEMU_MODULE_DIR): loading a 7.2 module aborts 11.1.
#
# The version is pinned (QEMU11_VERSION, QEMU11_SHA256 in lib.sh); apt
# checks every package against the mirror's signed index, and the QEMU
# package against the pinned checksum too. Prints the wrapper's path.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir=$CACHE/qemu-11
wrap=$dir/qemu-system-aarch64
if [ -x "$wrap" ] && "$wrap" --version 2>/dev/null | grep -q "version 11\.1\."; then
	echo "$wrap"
	exit 0
fi
ensure_deps

work=$CACHE/qemu-11.apt
new=$dir.new
rm -rf "$new"
mkdir -p "$new/root" "$new/modules"
private_apt "$work" trixie trixie-backports
pkgs=("qemu-system-arm=$QEMU11_VERSION")
for p in $QEMU11_LIBS; do
	v=$(apt-cache "${apt_opts[@]}" policy "$p" | awk '/Candidate:/ { print $2 }')
	case $v in '' | '(none)') die "trixie has no package $p (needed by QEMU 11.1)" ;; esac
	pkgs+=("$p=$v")
done
apt_fetch "$work" "${pkgs[@]}"
deb=$(ls "$work"/archives/qemu-system-arm_*.deb)
sum=$(sha256sum "$deb" | cut -d' ' -f1)
[ "$sum" = "$QEMU11_SHA256" ] || die "$(basename "$deb"): sha256 $sum, expected $QEMU11_SHA256"
for d in "$work"/archives/*.deb; do
	dpkg -x "$d" "$new/root"
done
for m in /usr/lib/x86_64-linux-gnu/qemu/*.so; do
	[ -e "$m" ] && : > "$new/modules/$(basename "$m")"
done
lib=$new/root/usr/lib/x86_64-linux-gnu
[ -x "$lib/ld-linux-x86-64.so.2" ] || die "no dynamic loader in trixie's libc6 ($lib)"
cat > "$new/qemu-system-aarch64" <<WRAP
#!/bin/sh
# QEMU $QEMU11_VERSION (trixie-backports) with trixie's loader and libraries
r=$dir/root
QEMU_MODULE_DIR=$dir/modules exec "\$r/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \\
	--library-path "\$r/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu" \\
	"\$r/usr/bin/qemu-system-aarch64" "\$@"
WRAP
chmod +x "$new/qemu-system-aarch64"
rm -rf "$dir" && mv "$new" "$dir"
rm -rf "$work"
# Every symbol must resolve (LD_BIND_NOW), and the SMMU device must be there
LD_BIND_NOW=1 "$wrap" --version | head -1 >&2 || die "QEMU 11.1 does not run with the libraries given"
"$wrap" -device help 2>/dev/null | grep -q '"arm-smmuv3"' || die "QEMU 11.1 has no arm-smmuv3 device"
echo "$wrap"
