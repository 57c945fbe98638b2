#!/usr/bin/env bash
# make fresh-check: prove that the README's two commands work on a Debian
# bookworm machine that has never had the project's packages.
#
# A clean bookworm root is built with mmdebstrap (variant minbase, plus
# 'make', the one package the README asks for before its commands) from the
# Debian mirrors this machine's apt sources name.  The project's tracked
# files are copied into it, and 'make run' then 'make test' run there as root
# with CI=true, so every package they need has to come from the scripts' own
# install step.  Report and log in out/fresh-check/.
#
# Environment:
#   FRESH_CCACHE=share (default) bind-mounts this machine's ccache directory:
#     object files are no package, and it saves ~10 minutes of compiling.
#     FRESH_CCACHE=cold gives the root an empty cache of its own.
#   FRESH_KEEP=1 keeps the root in build/fresh-root afterwards.
#   FRESH_STEPS="run test" (default): the make targets run in the root, in
#     order, each timed; FRESH_STEPS=test times what CI does on a new machine.
#   FRESH_ENV="VAR=value ...": variables for the targets in the root (the
#     rest of the environment is cleared; values without spaces), e.g.
#     FRESH_ENV="BENCH_QEMU=7.2".
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "fresh-check builds a chroot: run it as root"

root=$TOP/build/fresh-root
res=$TOP/out/fresh-check
log=$res/log
mkdir -p "$res"
: > "$log"

if ! command -v mmdebstrap >/dev/null 2>&1; then
	note "installing mmdebstrap (on this machine, not in the root)"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		mmdebstrap >/dev/null || die "could not install mmdebstrap"
fi

# The Debian mirrors of this machine, one-line format, bookworm suites only.
sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		grep -E '^deb +[^ ]+ +bookworm' "$f" || true
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
		function flush() {
			if (types ~ /(^| )deb( |$)/ && suites ~ /bookworm/)
				for (u in uris) for (s in suiteset)
					print "deb " uris[u] " " suiteset[s] " " comps
			delete uris; delete suiteset; types = suites = comps = ""
		}
		/^[ \t]*$/ { flush(); next }
		/^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
		/^URIs:/ { sub(/^URIs:[ \t]*/, ""); n = split($0, a, " "); for (i = 1; i <= n; i++) uris[i] = a[i] }
		/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0; n = split($0, a, " "); for (i = 1; i <= n; i++) suiteset[i] = a[i] }
		/^Components:/ { sub(/^Components:[ \t]*/, ""); comps = $0 }
		END { flush() }' "$f"
	done
}
mapfile -t mirrors < <(sources | grep -v -e '^#' | sort -u)
[ ${#mirrors[@]} -gt 0 ] || die "no bookworm mirror found in /etc/apt/sources.list*"

mounted=()
cleanup() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount "${mounted[i]}" 2>/dev/null ||
			umount -l "${mounted[i]}" 2>/dev/null || true
	done
	# Never remove through a mount that is still there (/dev, /sys ...).
	if grep -q " $root/" /proc/mounts; then
		echo "warning: mounts left under $root; not removing it" >&2
	elif [ -z "${FRESH_KEEP:-}" ]; then
		rm -rf --one-file-system "$root" ||
			echo "warning: could not remove $root" >&2
	fi
}
trap cleanup EXIT

start=$(date +%s)
grep -q " $root/" /proc/mounts && die "$root still has mounts: unmount them first"
rm -rf --one-file-system "$root"
note "mmdebstrap bookworm (minbase + make) into build/fresh-root"
printf '%s\n' "${mirrors[@]}" | sed 's/^/mirror: /' >> "$log"
mmdebstrap --variant=minbase --include=make --mode=root bookworm "$root" \
	"${mirrors[@]}" >> "$log" 2>&1 || die "mmdebstrap failed (see out/fresh-check/log)"
boot_done=$(date +%s)

cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mkdir -p "$root/root/project"
git -C "$TOP" ls-files -z | (cd "$TOP" && tar --null -T - -cf -) |
	tar -xf - -C "$root/root/project"

bind() { # source target
	mkdir -p "$2"
	mount --bind "$1" "$2"
	mounted+=("$2")
}
mount -t proc proc "$root/proc"; mounted+=("$root/proc")
bind /sys "$root/sys"
bind /dev "$root/dev"
bind /dev/pts "$root/dev/pts"
# Builds in the root take the same lock as builds on this machine.
touch "$KBUILD_LOCK"
touch "$root$KBUILD_LOCK"
mount --bind "$KBUILD_LOCK" "$root$KBUILD_LOCK"; mounted+=("$root$KBUILD_LOCK")
if [ "${FRESH_CCACHE:-share}" = share ]; then
	mkdir -p "$CCACHE_DIR"
	bind "$CCACHE_DIR" "$root/root/.ccache"
fi

# FRESH_STEPS: the targets to run in order (default 'run test'; 'test' alone
# times what CI does on a new machine).  Each step's time goes to the log.
steps=${FRESH_STEPS:-run test}
note "make ${steps// / + make }, in the root as root (log: out/fresh-check/log)"
set +e
# shellcheck disable=SC2086
chroot "$root" /usr/bin/env -i HOME=/root CI=true LANG=C.UTF-8 STEPS="$steps" ${FRESH_ENV:-} \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	bash -c 'cd /root/project || exit 1
		for t in $STEPS; do
			t0=$(date +%s)
			make "$t"; rc=$?
			echo "==> make $t: exit $rc ($(($(date +%s) - t0)) s)"
			[ $rc = 0 ] || exit $rc
		done' \
	>> "$log" 2>&1
rc=$?
set -e
end=$(date +%s)

final=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 || true)
{
	echo "fresh root: mmdebstrap $((boot_done - start)) s, make $steps: $((end - boot_done)) s, total $((end - start)) s"
	echo "ccache: ${FRESH_CCACHE:-share}"
	grep -E '^==> (installing|make [a-z-]+: exit)' "$log" || true
	case " $steps " in *" test "*) echo "make test: ${final:-no result line} (exit $rc)" ;; esac
} | tee "$res/summary"
# Every step must succeed, and 'make test' (when run) print its result line.
case " $steps " in *" test "*) ;; *) final=${final:-none needed} ;; esac
if [ "$rc" = 0 ] && [ -n "$final" ]; then
	echo "fresh-check: 1 passed, 0 failed"
else
	tail -30 "$log" >&2
	echo "fresh-check: 0 passed, 1 failed"
	exit 1
fi
