#!/usr/bin/env bash
# Fetch the pinned base package into the cache and verify its checksum.
# Prints the path of the verified .deb (QUEUE's base: BASE_* in lib.sh).
# Nothing is left half-downloaded:
# the package is fetched into a temporary folder and moved into the cache
# only once its checksum is right.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# = 0 ] || die "usage: [QUEUE=6.1|6.12] fetch-base.sh"
deb=$CACHE/$BASE_DEB
verify() { echo "$BASE_SHA256  $1" | sha256sum -c --status; }

if [ -f "$deb" ]; then
	if verify "$deb"; then
		echo "$deb"
		exit 0
	fi
	note "cached $BASE_DEB has the wrong checksum: fetching it again"
	rm -f "$deb"
fi

mkdir -p "$CACHE"
tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
note "fetching $BASE_PKG=$BASE_VERSION with apt-get download"
if ! (cd "$tmp" && apt-get download -q "$BASE_PKG=$BASE_VERSION" >/dev/null 2>"$tmp/err"); then
	sed 's/^/  /' "$tmp/err" >&2
	die "could not download $BASE_PKG=$BASE_VERSION (no network, or the package is not in the apt lists: run 'apt-get update' as root)"
fi
[ -f "$tmp/$BASE_DEB" ] || die "apt-get download did not produce $BASE_DEB"
if ! verify "$tmp/$BASE_DEB"; then
	die "checksum mismatch for $BASE_DEB: expected $BASE_SHA256, got $(sha256sum "$tmp/$BASE_DEB" | cut -d' ' -f1)"
fi
mv "$tmp/$BASE_DEB" "$deb"
echo "$deb"
