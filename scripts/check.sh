#!/usr/bin/env bash
# The series checks.  Each prints 'check: <name>: PASS|FAIL ...'; the last
# line is 'check: N passed, N failed'.
#   check.sh            all: queue/series, round trip, checkpatch, sparse,
#                       kernel-doc, the docs build
#   check.sh --quick    the same (sparse reuses the existing build dirs)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

pass=0 failn=0
result() { # name status detail
	if [ "$2" = PASS ]; then pass=$((pass + 1)); else failn=$((failn + 1)); fi
	echo "check: $1: $2${3:+ $3}"
}
logdir=$OUT/check
mkdir -p "$logdir"

# 1. patches/series and the files agree.
bad=""
while read -r p; do
	case "$p" in '' | \#*) continue ;; esac
	[ -f "$PATCHES/$p" ] || bad="$bad missing:$p"
done < "$PATCHES/series"
for f in "$PATCHES"/*.patch; do
	[ -e "$f" ] || continue
	grep -qxF "$(basename "$f")" "$PATCHES/series" || bad="$bad unlisted:$(basename "$f")"
done
[ -z "$bad" ] && result series PASS "($(grep -c . "$PATCHES/series" || true) patches)" || result series FAIL "$bad"

[ -d "$TREE/.git" ] || "$TOP/scripts/tree.sh" >&2 || { result tree FAIL "make tree failed"; echo "check: $pass passed, $failn failed"; exit 1; }

# 2. Round trip: the queue applied to base and exported again is the queue.
wt=$BUILD/roundtrip
git -C "$TREE" worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"
git -C "$TREE" worktree prune
if git -C "$TREE" worktree add -q --detach "$wt" base 2>"$logdir/roundtrip.log"; then
	ok=1
	while read -r p; do
		case "$p" in '' | \#*) continue ;; esac
		git -C "$wt" am -q "$PATCHES/$p" >>"$logdir/roundtrip.log" 2>&1 || { ok=0; echo "does not apply: $p" >>"$logdir/roundtrip.log"; break; }
	done < "$PATCHES/series"
	if [ $ok = 1 ] && "$TOP/scripts/export.sh" "$wt" "$BUILD/roundtrip-out" 2>>"$logdir/roundtrip.log" &&
		diff -r -x '*.txt' "$PATCHES" "$BUILD/roundtrip-out" >>"$logdir/roundtrip.log" 2>&1; then
		result roundtrip PASS "(tree from the queue exports to the same files)"
	else
		result roundtrip FAIL "(see out/$QUEUE/check/roundtrip.log)"
	fi
	git -C "$TREE" worktree remove --force "$wt" >/dev/null 2>&1
	rm -rf "$BUILD/roundtrip-out"
else
	result roundtrip FAIL "(cannot create a worktree)"
fi

# 3. checkpatch --strict on every patch.  FILE_PATH_CHANGES ("does
#    MAINTAINERS need updating?") fires for every added file; instead of
#    trusting or ignoring it blindly, each added file must have a maintainer
#    in MAINTAINERS (get_maintainer.pl).  UNKNOWN_COMMIT_ID: the base is a
#    source package without upstream history, so the upstream commits that
#    Fixes: tags and messages name are never found in it.  checkpatch runs
#    its SPDX check with Debian's python3 (python3-ply, python3-git), hence
#    the PATH.
cpbad=""
: > "$logdir/checkpatch.log"
while read -r p; do
	case "$p" in '' | \#*) continue ;; esac
	out=$(cd "$TREE" && PATH=/usr/bin:$PATH perl scripts/checkpatch.pl --strict --terse \
		--show-types --ignore FILE_PATH_CHANGES,UNKNOWN_COMMIT_ID "$PATCHES/$p" 2>&1)
	printf '%s\n' "$out" >> "$logdir/checkpatch.log"
	printf '%s\n' "$out" | grep -qE '(ERROR|WARNING|CHECK)|Traceback' && cpbad="$cpbad $p"
	for f in $(awk '/^--- \/dev\/null/ { getline; sub("^\\+\\+\\+ b/", ""); print }' "$PATCHES/$p"); do
		# A file a later patch removes (or splits) is not in the tree
		# at the end of the queue, where get_maintainer.pl looks.
		[ -e "$TREE/$f" ] || continue
		if ! (cd "$TREE" && perl scripts/get_maintainer.pl --no-git --no-git-fallback -f "$f" 2>/dev/null) | grep -q '(maintainer:'; then
			echo "$p: $f: no maintainer in MAINTAINERS" >> "$logdir/checkpatch.log"
			cpbad="$cpbad $p"
		fi
	done
done < "$PATCHES/series"
[ -z "$cpbad" ] && result checkpatch PASS "(--strict, every patch; added files have maintainers)" || result checkpatch FAIL "on:$cpbad (see out/$QUEUE/check/checkpatch.log)"

# 4. sparse (C=2) on the driver's objects, series applied, in each build dir
#    configured for it: build/QUEUE/guest (driver + SVA) and the KUnit
#    builds (+ tests; the 6.12 queue has only the debug one).
sp_any=0 sp_bad=0
: > "$logdir/sparse.log"
for kout in "$BUILD/guest" "$BUILD/kunit" "$BUILD/kunit-debug"; do
	[ -f "$kout/.config" ] || continue
	grep -q '^CONFIG_ARM_SMMU_V3=y' "$kout/.config" || continue
	sp_any=1
	if ! with_kbuild_lock make -s -C "$TREE" O="$kout" ARCH=arm64 CROSS_COMPILE="$CROSS_COMPILE" \
		CC="$KCC" HOSTCC="$HOSTCC_CMD" -j"$JOBS" C=2 drivers/iommu/arm/arm-smmu-v3/ \
		> "$logdir/sparse-$(basename "$kout").log" 2>&1; then
		sp_bad=1
	fi
	cat "$logdir/sparse-$(basename "$kout").log" >> "$logdir/sparse.log"
done
if [ $sp_any = 0 ]; then
	result sparse FAIL "(no build dir configured: run 'make kunit' or 'make e2e' first)"
elif [ $sp_bad = 1 ] || grep -qE 'arm-smmu-v3/.*(warning|error):' "$logdir/sparse.log"; then
	result sparse FAIL "$(grep -cE 'arm-smmu-v3/.*(warning|error):' "$logdir/sparse.log") warnings (see out/$QUEUE/check/sparse.log)"
else
	result sparse PASS "(C=2 on drivers/iommu/arm/arm-smmu-v3/)"
fi

# 5. sparse (C=2) on every other C file the series touches (the IOMMU core,
#    PCI, the other SVA users), on x86_64 with queues/QUEUE/configs/bisect-x86_64.config,
#    where they are all built (build/check-x86: the headers are prepared once).
others=$(git -C "$TREE" diff --name-only --diff-filter=d base..HEAD -- '*.c' |
	grep -v '^drivers/iommu/arm/arm-smmu-v3/' || true)
if [ -z "$others" ]; then
	result sparse-core PASS "(no C file outside the driver touched)"
else
	xo=$BUILD/check-x86
	frag=$CONFIGS/bisect-x86_64.config
	xmake() {
		make -s -C "$TREE" O="$xo" ARCH=x86_64 CROSS_COMPILE= CC="$HOSTCC_CMD" \
			HOSTCC="$HOSTCC_CMD" -j"$JOBS" "$@"
	}
	objs=$(printf '%s\n' $others | sed 's/\.c$/.o/')
	mkdir -p "$xo"
	{
		if ! cmp -s "$frag" "$xo/.fragment"; then
			xmake allnoconfig >/dev/null &&
				"$TREE/scripts/kconfig/merge_config.sh" -m -O "$xo" "$xo/.config" "$frag" >/dev/null &&
				xmake olddefconfig >/dev/null && cp "$frag" "$xo/.fragment"
		fi
		# shellcheck disable=SC2086
		with_kbuild_lock bash -c "$(declare -f xmake); TREE='$TREE' xo='$xo' HOSTCC_CMD='$HOSTCC_CMD' JOBS='$JOBS'
			xmake prepare && xmake C=2 $(echo $objs)"
	} > "$logdir/sparse-core.log" 2>&1
	rc=$?
	# A warning counts when its line is one the series added or changed
	# (git diff -U0 base..HEAD); one on a line the base already had is the
	# base's (e.g. idxd's "return POLLNVAL"), listed but not counted.
	split=$(python3 - "$TREE" "$logdir/sparse-core.log" <<'PY'
import re, subprocess, sys
tree, log = sys.argv[1:3]
added = {}
def lines_added(path):
    if path not in added:
        out = subprocess.run(["git", "-C", tree, "diff", "-U0", "base..HEAD", "--", path],
                             capture_output=True, text=True).stdout
        s = set()
        for m in re.finditer(r"^@@ -\S+ \+(\d+)(?:,(\d+))? @@", out, re.M):
            start, n = int(m.group(1)), int(m.group(2) or 1)
            s.update(range(start, start + n))
        added[path] = s
    return added[path]
new = old = 0
for l in open(log, errors="replace"):
    m = re.search(r"(?:^|/)((?:drivers|include|arch|kernel|mm|lib)/[^:]+):(\d+):\d+: (?:warning|error):", l)
    if not m:
        continue
    if int(m.group(2)) in lines_added(m.group(1)):
        new += 1
    else:
        old += 1
        print("check: sparse-core: the base's own: " + l.strip().split(tree + "/")[-1], file=sys.stderr)
print(new, old)
PY
)
	n=${split% *}
	nbase=${split#* }
	if [ $rc != 0 ] || [ "$n" != 0 ]; then
		result sparse-core FAIL "$n warnings on changed lines, exit $rc (see out/$QUEUE/check/sparse-core.log)"
	else
		result sparse-core PASS "(C=2, x86_64: $(echo $others | wc -w) files; $nbase warnings on lines the base already had)"
	fi
fi

# 6. kernel-doc on every C file and header the series touches: no warning.
#    6.1's kernel-doc has no -Wall; its -v adds the same checks (missing
#    Return: descriptions, short descriptions, contents before sections)
#    that later kernels split into -Wreturn etc. and group under -Wall.
kd_bad="" kd_n=0
: > "$logdir/kernel-doc.log"
for f in $(git -C "$TREE" diff --name-only --diff-filter=d base..HEAD -- '*.c' '*.h'); do
	kd_n=$((kd_n + 1))
	out=$(cd "$TREE" && perl scripts/kernel-doc -none -v "$f" 2>&1 | grep -E ': (warning|error):' || true)
	[ -z "$out" ] && continue
	printf '%s\n' "$out" >> "$logdir/kernel-doc.log"
	kd_bad="$kd_bad $f"
done
[ -z "$kd_bad" ] && result kernel-doc PASS "(-none -v on $kd_n files)" ||
	result kernel-doc FAIL "on:$kd_bad (see out/$QUEUE/check/kernel-doc.log)"

# 7. The pages the series adds or changes build with Sphinx (Debian's) and
#    not one warning: make htmldocs restricted to the directories of the
#    .rst files the series touches (SPHINXDIRS), in build/htmldocs.  A
#    directory whose subdirectory is built is left out: its change is the
#    toctree line that links the new pages in (driver-api/index.rst), and
#    building it would build every driver-api page.
docdirs=$(git -C "$TREE" diff --name-only --diff-filter=d base..HEAD -- 'Documentation/*.rst' |
	sed -E 's|^Documentation/||; s|/[^/]*$||' | grep -v '\.rst$' | sort -u |
	awk '{ d[NR] = $0 } END { for (i = 1; i <= NR; i++) { keep = 1
		for (j = 1; j <= NR; j++) if (index(d[j], d[i] "/") == 1) keep = 0
		if (keep) printf "%s ", d[i] } }')
if [ -z "$docdirs" ]; then
	result htmldocs PASS "(no page touched)"
else
	rm -rf "$BUILD/htmldocs"
	make -C "$TREE" O="$BUILD/htmldocs" SPHINXDIRS="$docdirs" htmldocs > "$logdir/htmldocs.log" 2>&1
	rc=$?
	nw=$(grep -cE 'WARNING|ERROR|CRITICAL' "$logdir/htmldocs.log" || true)
	if [ $rc = 0 ] && [ "$nw" = 0 ]; then
		result htmldocs PASS "(SPHINXDIRS=\"${docdirs% }\": no warning; HTML in build/htmldocs/Documentation/output/)"
	else
		result htmldocs FAIL "exit $rc, $nw warnings (see out/$QUEUE/check/htmldocs.log)"
	fi
fi

echo "check: $pass passed, $failn failed"
[ $failn = 0 ]
