# Shared settings and helpers for the project's scripts.  Sourced, not run.
# shellcheck shell=bash

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The pinned base: Debian's linux-source-6.1 package.
BASE_PKG=linux-source-6.1
BASE_VERSION=6.1.192-2
BASE_SHA256=ae95fe63d4c553f8d0e6c86cb1ab566f3894a43743eb19ab585cd97d82f26514
BASE_DEB=${BASE_PKG}_${BASE_VERSION}_all.deb

CACHE=${CACHE:-$TOP/cache}          # kept by 'make clean'
BUILD=${BUILD:-$TOP/build}          # removed by 'make clean'
TREE=$BUILD/linux                   # git tree: tag 'base' + the queue
PATCHES=$TOP/patches
OUT=${OUT:-$TOP/out}                # reports, logs, mail-ready series

ARCH=arm64
CROSS_COMPILE=${CROSS_COMPILE:-aarch64-linux-gnu-}
JOBS=${JOBS:-$(nproc)}
export ARCH CROSS_COMPILE

# ccache is used automatically when it is installed.
CCACHE_DIR=${CCACHE_DIR:-$HOME/.ccache}
# Out-of-tree kernel builds name sources by absolute path: rewriting paths
# below build/ as relative ones lets every clone of the project (and CI on
# the same machine) share the cache.
CCACHE_BASEDIR=${CCACHE_BASEDIR:-$BUILD}
CCACHE_NOHASHDIR=1
export CCACHE_DIR CCACHE_BASEDIR CCACHE_NOHASHDIR
if command -v ccache >/dev/null 2>&1; then
	KCC="ccache ${CROSS_COMPILE}gcc"
	HOSTCC_CMD="ccache gcc"
else
	KCC="${CROSS_COMPILE}gcc"
	HOSTCC_CMD=gcc
fi

# Kernel builds are serialised: the machine has two cores and two builds at
# once only make both slower.
KBUILD_LOCK=${KBUILD_LOCK:-/tmp/smmu-series-kbuild.lock}

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
note() { printf '==> %s\n' "$*" >&2; }

# The Debian packages every target may need.
REQUIRED_PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm sparse ccache bc flex bison \
libssl-dev libelf-dev cpio rsync python3 xz-utils git make gcc perl python3-ply python3-git"

# Packages are checked by the commands they provide.
pkg_missing() {
	local missing="" p cmd
	for p in $REQUIRED_PKGS; do
		case $p in
		gcc-aarch64-linux-gnu) cmd=aarch64-linux-gnu-gcc ;;
		libc6-dev-arm64-cross) # the guest programs' headers and static libc
			[ -f /usr/aarch64-linux-gnu/include/bits/wordsize.h ] &&
				[ -f /usr/aarch64-linux-gnu/lib/libc.a ] && continue
			missing="$missing $p"; continue ;;
		qemu-system-arm) cmd=qemu-system-aarch64 ;;
		libssl-dev) [ -f /usr/include/openssl/ssl.h ] && continue; missing="$missing $p"; continue ;;
		libelf-dev) [ -f /usr/include/libelf.h ] && continue; missing="$missing $p"; continue ;;
		xz-utils) cmd=xz ;;
		python3-ply | python3-git) # checkpatch's SPDX check, under Debian's python3
			/usr/bin/python3 -c "import ${p#python3-}" 2>/dev/null && continue
			missing="$missing $p"; continue ;;
		*) cmd=$p ;;
		esac
		command -v "$cmd" >/dev/null 2>&1 || missing="$missing $p"
	done
	printf '%s' "${missing# }"
}

ensure_deps() {
	local missing
	missing=$(pkg_missing)
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" = 0 ]; then
		note "installing: $missing"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
			die "apt-get update failed"
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
			die "apt-get install $missing failed"
	else
		printf 'Missing packages. Install them with:\n  sudo apt-get install %s\n' "$missing" >&2
		exit 1
	fi
}

with_kbuild_lock() {
	flock "$KBUILD_LOCK" "$@"
}
