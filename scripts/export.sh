#!/usr/bin/env bash
# Export the commits base..HEAD of build/linux as the queue: patches/*.patch
# and patches/series, numbered as a mail series.  File names come from the
# subjects, so they are stable;
# no version signature, zeroed commit hashes and fixed-width index lines, so
# that exporting an unchanged tree changes nothing.
#   export.sh [SRC_TREE [DEST_DIR]]     (defaults: build/linux, patches/)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

src=${1:-$TREE}
dest=${2:-$PATCHES}
[ -d "$src/.git" ] || [ -f "$src/.git" ] || die "no git tree in $src (run 'make tree')"
git -C "$src" rev-parse -q --verify base >/dev/null || die "$src has no tag 'base'"
if [ -n "$(git -C "$src" status --porcelain --untracked-files=no)" ]; then
	die "$src has uncommitted changes: commit them first"
fi
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git -C "$src" format-patch -q --no-signature --zero-commit --abbrev=12 \
	--no-cover-letter -o "$tmp" base..HEAD
rm -f "$dest"/*.patch
: > "$dest/series.new"
for f in "$tmp"/*.patch; do
	[ -e "$f" ] || continue
	b=$(basename "$f")
	mv "$f" "$dest/$b"
	echo "$b" >> "$dest/series.new"
done
mv "$dest/series.new" "$dest/series"
note "exported $(grep -c . "$dest/series" || true) patches to ${dest#"$TOP"/}"
