#!/usr/bin/env bash
# QEMU 10.0 from Debian's bookworm-backports, kept beside bookworm's QEMU 7.2.
#
# Both emulators are needed: 7.2 (the qemu-system-arm package installed by
# 'make deps') has a stage-1-only SMMUv3; 10.0's has stage 1 and stage 2.
# Installing the backports package would replace 7.2 (same package name),
# so it is downloaded and unpacked under cache/qemu-10/ instead.  The
# machine's apt configuration is left as it is: a private sources list,
# derived from the Debian source the machine already uses (same URI, suite
# bookworm-backports), and a private lists directory serve this one
# download.  The unpacked binary runs against bookworm's libraries, the
# ones 7.2 already pulled in (checked with ldd below).
#
# Prints the path of the QEMU 10 qemu-system-aarch64.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir=$CACHE/qemu-10
bin=$dir/usr/bin/qemu-system-aarch64
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "version 10\."; then
	echo "$bin"
	exit 0
fi
ensure_deps

work=$CACHE/qemu-10.apt
rm -rf "$dir.new"
mkdir -p "$dir.new"
private_apt "$work" bookworm-backports
apt_opts+=(-o "APT::Default-Release=bookworm-backports")
ver=$(apt-cache "${apt_opts[@]}" policy qemu-system-arm | awk '/Candidate:/ { print $2 }')
case $ver in 1:10.*) ;; *) die "bookworm-backports offers qemu-system-arm '$ver', not 10.x" ;; esac
apt_fetch "$work" "qemu-system-arm=$ver"
dpkg -x "$work"/archives/qemu-system-arm_*.deb "$dir.new"
missing=$(ldd "$dir.new/usr/bin/qemu-system-aarch64" | grep 'not found' || true)
[ -z "$missing" ] || die "QEMU 10 needs libraries bookworm's QEMU did not bring: $missing"
rm -rf "$dir" && mv "$dir.new" "$dir"
rm -rf "$work"
"$bin" --version | head -1 >&2
echo "$bin"
