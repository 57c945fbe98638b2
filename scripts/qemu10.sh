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

# The machine's Debian mirror: the first deb source serving suite 'bookworm',
# in deb822 (.sources) or one-line (.list) form, with its keyring if named.
shopt -s nullglob
mirror="" keyring=""
for f in /etc/apt/sources.list.d/*.sources; do
	mirror=$(awk -v RS= '/(^|\n)Suites:[^\n]*[ \t]bookworm([ \t]|\n|$)/ && /(^|\n)Types:[^\n]*deb([ \t]|\n|$)/ {
		if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { s = substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", s); print s; exit } }' "$f")
	if [ -n "$mirror" ]; then
		keyring=$(awk -v RS= -v m="$mirror" 'index($0, m) && match($0, /Signed-By:[ \t]*[^ \t\n]+/) {
			s = substr($0, RSTART, RLENGTH); sub(/Signed-By:[ \t]*/, "", s); print s; exit }' "$f")
		break
	fi
done
if [ -z "$mirror" ]; then
	lists=()
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && lists+=("$f")
	done
	# deb [opt=v opt=v] URI SUITE COMPONENTS...: options out first, their
	# signed-by kept.
	line=$( ((${#lists[@]})) && awk '$1 == "deb" {
		opts = ""; if (match($0, /\[[^]]*\]/)) { opts = substr($0, RSTART, RLENGTH); sub(/\[[^]]*\][ \t]*/, "") }
		if ($3 == "bookworm") { k = ""; if (match(opts, /signed-by=[^] \t]+/)) k = substr(opts, RSTART + 10, RLENGTH - 10)
			print $2, k; exit } }' "${lists[@]}" || true)
	mirror=${line%% *}
	[ "$line" = "${line#* }" ] || keyring=${line#* }
fi
[ -n "$mirror" ] || die "no Debian bookworm source in the machine's apt configuration"
keyring=${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}

work=$CACHE/qemu-10.apt
rm -rf "$work" "$dir.new"
mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/cache" "$dir.new"
echo "deb [signed-by=$keyring] $mirror bookworm-backports main" > "$work/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
	-o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
	-o "Dir::Cache::Archives=$work/archives"
	-o "APT::Default-Release=bookworm-backports" -o "APT::Sandbox::User=root")
note "fetching qemu-system-arm from bookworm-backports ($mirror)"
apt-get "${apt_opts[@]}" update -qq >/dev/null || die "apt-get update for bookworm-backports failed"
ver=$(apt-cache "${apt_opts[@]}" policy qemu-system-arm | awk '/Candidate:/ { print $2 }')
case $ver in 1:10.*) ;; *) die "bookworm-backports offers qemu-system-arm '$ver', not 10.x" ;; esac
(cd "$work/archives" && apt-get "${apt_opts[@]}" download -qq "qemu-system-arm=$ver" >/dev/null) ||
	die "apt-get download qemu-system-arm=$ver failed"
dpkg -x "$work"/archives/qemu-system-arm_*.deb "$dir.new"
missing=$(ldd "$dir.new/usr/bin/qemu-system-aarch64" | grep 'not found' || true)
[ -z "$missing" ] || die "QEMU 10 needs libraries bookworm's QEMU did not bring: $missing"
rm -rf "$dir" && mv "$dir.new" "$dir"
rm -rf "$work"
"$bin" --version | head -1 >&2
echo "$bin"
