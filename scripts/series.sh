#!/usr/bin/env bash
# A mail-ready series in out/series/: cover letter (from
# queues/QUEUE/patches/cover-letter.txt, with the base described and base-commit set)
# and the numbered patches, generated from the queue applied to 'base'.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -d "$TREE/.git" ] || "$TOP/scripts/tree.sh"
n=$(git -C "$TREE" rev-list --count base..HEAD)
[ "$n" -gt 0 ] || die "the queue is empty"
dest=$OUT/series
rm -rf "$dest"
mkdir -p "$dest"
git -C "$TREE" format-patch -q --no-signature --cover-letter --thread=shallow \
	--base=base -o "$dest" base..HEAD
cover=$(ls "$dest"/0000-cover-letter.patch)
title=$(sed -n '1p' "$PATCHES/cover-letter.txt")
body=$(sed '1,2d' "$PATCHES/cover-letter.txt"
	echo
	echo "Base: Debian $BASE_PKG $BASE_VERSION, the content of"
	echo "/usr/src/$BASE_PKG.tar.xz in $BASE_DEB"
	echo "(sha256 $BASE_SHA256);"
	echo "'make tree' recreates the base commit named below byte for byte.")
python3 - "$cover" "$title" "$body" <<'PY'
import sys
path, title, body = sys.argv[1:]
s = open(path).read()
s = s.replace("*** SUBJECT HERE ***", title).replace("*** BLURB HERE ***", body)
open(path, "w").write(s)
PY
note "mail-ready series: ${dest#"$TOP"/} ($n patches + cover letter)"
ls "$dest"
