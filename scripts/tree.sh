#!/usr/bin/env bash
# Build build/linux: a git tree whose tag 'base' is the pristine content of
# the base package and whose commits on top are patches/series, applied in
# order with 'git am'.
#
# Debian's top-level .gitignore ends with a block that ignores '/*' (every
# top-level entry but debian/), so any file a patch adds would be invisible
# to 'git status' and 'git add'.  The base commit keeps that file exactly as
# packaged; the work tree then gets a copy without the Debian block (plus
# '!.kunitconfig', which the generic '.*' rule would hide) and is told to
# ignore that local difference with 'git update-index --skip-worktree'.  No
# patch ever carries the change, and new files are tracked normally.
#
# With an existing tree: refuses to touch uncommitted work, otherwise resets
# to 'base' and re-applies the queue (use 'make export' first to keep commits
# made in the tree).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

apply_queue() {
	local p n=0
	git -C "$TREE" am --abort >/dev/null 2>&1 || true
	while read -r p; do
		case "$p" in '' | \#*) continue ;; esac
		n=$((n + 1))
		[ -f "$PATCHES/$p" ] || die "patches/series names $p, which does not exist"
		if ! git -C "$TREE" am -q --keep-cr "$PATCHES/$p"; then
			die "patch $n ($p) does not apply; the tree is left in build/linux for inspection ('git am --abort' to drop it)"
		fi
	done < "$PATCHES/series"
	note "applied $n patches on top of base"
}

local_gitignore() {
	# Drop Debian's block (from its comment to the end) and un-hide .kunitconfig.
	sed -i '/^# Debian packaging: ignore everything at the top level/,$d' "$TREE/.gitignore"
	sed -i -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$TREE/.gitignore"
	sed -i '${/^#$/d}' "$TREE/.gitignore"
	printf '\n# Local to this work tree (see scripts/tree.sh)\n!.kunitconfig\n' >> "$TREE/.gitignore"
	git -C "$TREE" update-index --skip-worktree .gitignore
}

if [ -d "$TREE/.git" ] && git -C "$TREE" rev-parse -q --verify base >/dev/null; then
	if [ -n "$(git -C "$TREE" status --porcelain --untracked-files=no)" ]; then
		die "build/linux has uncommitted changes: commit them (and 'make export') or discard them first"
	fi
	if [ -z "${FORCE:-}" ] && [ "$(git -C "$TREE" rev-list --count base..HEAD)" -gt 0 ]; then
		# Refuse to drop commits that are not in the queue.
		tmp=$(mktemp -d)
		git -C "$TREE" format-patch -q --no-signature --zero-commit -o "$tmp" base..HEAD
		for f in "$tmp"/*.patch; do
			sum=$(git -C "$TREE" patch-id --stable < "$f" | cut -d' ' -f1)
			found=0
			for q in "$PATCHES"/*.patch; do
				[ -f "$q" ] || continue
				[ "$(git -C "$TREE" patch-id --stable < "$q" | cut -d' ' -f1)" = "$sum" ] && found=1 && break
			done
			[ $found = 1 ] || { rm -rf "$tmp"; die "commit '$(sed -n 's/^Subject: //p' "$f" | head -1)' in build/linux is not in patches/: 'make export' first, or FORCE=1 to drop it"; }
		done
		rm -rf "$tmp"
	fi
	note "resetting build/linux to base and re-applying the queue"
	git -C "$TREE" update-index --no-skip-worktree .gitignore
	git -C "$TREE" checkout -q -f .gitignore
	git -C "$TREE" checkout -q -B work base
	local_gitignore
	apply_queue
	exit 0
fi

ensure_deps
deb=$("$TOP/scripts/fetch-base.sh")
rm -rf "$TREE" "$TREE.new"
mkdir -p "$TREE.new"
note "unpacking $BASE_DEB"
dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/src/$BASE_PKG.tar.xz |
	tar -xJ -C "$TREE.new" --strip-components=1 ||
	{ rm -rf "$TREE.new"; die "could not unpack $BASE_DEB"; }
(
	cd "$TREE.new"
	git init -q -b work
	git config user.name "$(git -C "$TOP" config user.name || echo builder)"
	git config user.email "$(git -C "$TOP" config user.email || echo builder@localhost)"
	git config core.autocrlf false
	git config gc.auto 0
	git add -A -f .
	# Fixed identity and dates: the base commit has the same hash on every
	# machine, so the mail-ready series' base-commit means something.
	GIT_AUTHOR_NAME="Debian kernel source" GIT_AUTHOR_EMAIL="debian-kernel@lists.debian.org" \
	GIT_COMMITTER_NAME="Debian kernel source" GIT_COMMITTER_EMAIL="debian-kernel@lists.debian.org" \
	GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
		git commit -q -m "Debian $BASE_PKG $BASE_VERSION" \
		-m "Pristine content of /usr/src/$BASE_PKG.tar.xz from $BASE_DEB (sha256 $BASE_SHA256)."
	git tag base
) || { rm -rf "$TREE.new"; die "could not create the base commit"; }
mv "$TREE.new" "$TREE"
local_gitignore
apply_queue
