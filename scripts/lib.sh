# Shared settings and helpers for the project's scripts.  Sourced, not run.
# shellcheck shell=bash

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The queues: each is a base (a Debian linux-source package, pinned by
# version and sha256) and the patches on it, in queues/$QUEUE/ (patches/ with
# the series file and cover letter, configs/, baseline/).  Every target works
# on QUEUE (default 6.1), in build/$QUEUE/ and out/$QUEUE/.
QUEUES="6.1 6.12"
QUEUE=${QUEUE:-6.1}
case $QUEUE in
6.1)
	BASE_PKG=linux-source-6.1
	BASE_VERSION=6.1.192-2
	BASE_SHA256=ae95fe63d4c553f8d0e6c86cb1ab566f3894a43743eb19ab585cd97d82f26514
	# The guest phases that need what the kernel lacks (none: 6.1 is
	# where the scenario started).
	SKIP_PHASES=""
	E2E_APPEND=""
	# Phases 11-12: stage-1 domains shared across SMMUs (patch 52); the
	# report and the guest judge that (e2e-report.py --cross)
	E2E_CROSS=shared
	# KUnit (kunit.sh): the queue's .kunitconfig and QEMU configuration
	# (arm64_smmuv3: virt with an SMMUv3 and a pci-testdev), and the runs.
	KUNIT_CONFIG=drivers/iommu/arm/arm-smmu-v3
	KUNIT_ARCH=arm64_smmuv3
	KUNIT_RUNS="software hw-7.2 hw-10 software-debug hw-10-debug"
	# make test's end-to-end runs (QEMU:GUEST words)
	E2E_RUNS_DEFAULT="7.2:plain 10:plain 11.1:plain 10:debug"
	BISECT_ARCHS_DEFAULT="arm64 x86_64"
	;;
6.12)
	# bookworm-security's build of the 6.12 LTS (Debian 13's kernel), the
	# suite a bookworm machine's own apt lists already serve.
	BASE_PKG=linux-source-6.12
	BASE_VERSION=6.12.117-1~deb12u1
	BASE_SHA256=e849faf31ca3555757f3a8877cb01af92122f744f75d1f3102734651c4e14703
	# Phase 8: 6.12 has the interface but it cannot work. Phase 6: a bug
	# of the core that upstream 7.3 still has, outside this driver's queue.
	SKIP_PHASES="8 VFIO type1 cannot give a stage-2 domain: for VFIO_TYPE1_NESTING_IOMMU it calls iommu_enable_nesting() (vfio_iommu_type1.c:2206) on a domain from iommu_paging_domain_alloc(dev) (:2141), which arm-smmu-v3 finalises at allocation (arm-smmu-v3.c:2356), so arm_smmu_enable_nesting() returns -EPERM
6 the core oopses after an absorbed allocation failure: a group type write cannot fail on iommu_setup_dma_ops() (iommu.c:3095), and iommu_dma_init_domain() keeps start_pfn when iova_domain_init_rcaches() fails (dma-iommu.c:714-717), so the device's next MSI mapping dereferences the missing rcaches (alloc_iova_fast), and upstream 7.3 has the same code"
	# What the guest expects where the kernels differ: 6.12's core refuses
	# an SVA bind of a device without PASIDs with -ENOSPC (iommu-sva.c:42)
	E2E_APPEND="e2e.sva_bind_errno=28"
	# Phases 11-12: a domain per SMMU, as upstream (6.1 queue: shared)
	E2E_CROSS=per-smmu
	KUNIT_CONFIG=$TOP/queues/6.12/configs/kunit.config
	KUNIT_ARCH=arm64
	# One kernel, the debug one (lockdep, KASAN...): the 6.12 suites run
	# on fake SMMUs only, and CI's time goes to the 6.1 queue's runs.
	KUNIT_RUNS="software-debug"
	E2E_RUNS_DEFAULT="10:plain 11.1:plain"
	BISECT_ARCHS_DEFAULT="arm64"
	;;
*) echo "error: QUEUE=$QUEUE: the queues are $QUEUES" >&2; exit 1 ;;
esac
export QUEUE
BASE_DEB=${BASE_PKG}_${BASE_VERSION}_all.deb
QDIR=$TOP/queues/$QUEUE
PATCHES=$QDIR/patches
CONFIGS=$QDIR/configs
BASELINE=$QDIR/baseline

# QEMU 11.1 (two SMMUs under ACPI): trixie-backports' qemu-system-arm, and
# the packages of trixie it needs beyond bookworm's libraries (qemu11.sh).
QEMU11_VERSION=1:11.1.3+ds-2~bpo13+1
QEMU11_SHA256=9cdab89cb159099f413a078fcd64e42d2694ffaad357a3bb2ccd12469377e91f
QEMU11_LIBS="libc6 libcapstone5 libfuse3-4 libaio1t64 libnettle8t64 libhogweed6t64"

# UEFI firmware for the ACPI boot of the QEMU 11.1 run (qemu-efi-aarch64).
QEMU_EFI=/usr/share/qemu-efi-aarch64/QEMU_EFI.fd

CACHE=${CACHE:-$TOP/cache}          # kept by 'make clean'
BUILD=$TOP/build/$QUEUE             # removed by 'make clean'
TREE=$BUILD/linux                   # git tree: tag 'base' + the queue
OUT=$TOP/out/$QUEUE                 # reports, logs, mail-ready series

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
libssl-dev libelf-dev cpio rsync python3 xz-utils git make gcc perl python3-ply python3-git \
python3-sphinx python3-sphinx-rtd-theme graphviz qemu-efi-aarch64"

# What 'make bench' needs on top: a plotting tool for its chart.
BENCH_PKGS="gnuplot-nox"

# Packages (default REQUIRED_PKGS) are checked by the commands they provide.
pkg_missing() {
	local missing="" p cmd m
	for p in ${*:-$REQUIRED_PKGS}; do
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
		gnuplot-nox) cmd=gnuplot ;;
		graphviz) cmd=dot ;; # make htmldocs: kfigure warns without it
		qemu-efi-aarch64) # the UEFI firmware of the QEMU 11.1 run (ACPI)
			[ -f "$QEMU_EFI" ] && continue
			missing="$missing $p"; continue ;;
		python3-ply | python3-git) # checkpatch's SPDX check, under Debian's python3
			/usr/bin/python3 -c "import ${p#python3-}" 2>/dev/null && continue
			missing="$missing $p"; continue ;;
		python3-sphinx | python3-sphinx-rtd-theme) # make htmldocs (check.sh)
			m=${p#python3-}
			/usr/bin/python3 -c "import ${m//-/_}" 2>/dev/null && continue
			missing="$missing $p"; continue ;;
		*) cmd=$p ;;
		esac
		command -v "$cmd" >/dev/null 2>&1 || missing="$missing $p"
	done
	printf '%s' "${missing# }"
}

# ensure_deps [PACKAGES]: install what is missing (default REQUIRED_PKGS).
ensure_deps() {
	local missing
	missing=$(pkg_missing "$@")
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

ensure_bench_deps() {
	# shellcheck disable=SC2086
	ensure_deps $BENCH_PKGS
}

# base_worktree TREE WT: WT is a clean worktree of TREE at its tag 'base'
# (the pristine package), made anew when it is not.
base_worktree() {
	local tree=$1 wt=$2
	if [ "$(git -C "$wt" rev-parse HEAD 2>/dev/null)" != "$(git -C "$tree" rev-parse 'base^{commit}')" ] ||
		[ -n "$(git -C "$wt" status --porcelain 2>/dev/null | head -1)" ]; then
		git -C "$tree" worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"
		git -C "$tree" worktree prune
		git -C "$tree" worktree add -q --detach "$wt" base
	fi
}

with_kbuild_lock() {
	flock "$KBUILD_LOCK" "$@"
}

# debian_source: the machine's Debian mirror and its keyring, "URI KEYRING",
# from the first deb source serving suite 'bookworm' (deb822 .sources or
# one-line .list form). The private downloads below use that mirror, which
# also serves bookworm-backports, trixie and trixie-backports.
debian_source() {
	local f mirror="" keyring="" line lists=()
	shopt -s nullglob
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
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -f "$f" ] && lists+=("$f")
		done
		# deb [opt=v opt=v] URI SUITE COMPONENTS...: options out first,
		# their signed-by kept.
		line=$( ((${#lists[@]})) && awk '$1 == "deb" {
			opts = ""; if (match($0, /\[[^]]*\]/)) { opts = substr($0, RSTART, RLENGTH); sub(/\[[^]]*\][ \t]*/, "") }
			if ($3 == "bookworm") { k = ""; if (match(opts, /signed-by=[^] \t]+/)) k = substr(opts, RSTART + 10, RLENGTH - 10)
				print $2, k; exit } }' "${lists[@]}" || true)
		mirror=${line%% *}
		[ "$line" = "${line#* }" ] || keyring=${line#* }
	fi
	shopt -u nullglob
	[ -n "$mirror" ] || die "no Debian bookworm source in the machine's apt configuration"
	echo "$mirror ${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}"
}

# private_apt DIR SUITE...: a private apt state in DIR (sources list of the
# machine's mirror for the SUITEs, main; lists; archives) and its update.
# Sets the array apt_opts for apt-get/apt-cache; the machine's own apt
# configuration is neither read for sources nor changed.
private_apt() {
	local dir=$1 src suite
	shift
	src=$(debian_source)
	rm -rf "$dir"
	mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/cache"
	for suite in "$@"; do
		echo "deb [signed-by=${src#* }] ${src%% *} $suite main"
	done > "$dir/sources.list"
	apt_opts=(-o "Dir::Etc::SourceList=$dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
		-o "Dir::Cache::Archives=$dir/archives" -o "Dir::Etc::Preferences=/dev/null"
		-o "Dir::Etc::PreferencesParts=/dev/null" -o "APT::Sandbox::User=root")
	note "apt: private lists for $* (${src%% *})"
	apt-get "${apt_opts[@]}" update -qq >/dev/null || die "apt-get update for $* failed"
}

# apt_fetch DIR PACKAGE=VERSION...: download exact versions into
# DIR/archives (apt checks each against the signed index).
apt_fetch() {
	local dir=$1
	shift
	(cd "$dir/archives" && apt-get "${apt_opts[@]}" download -qq "$@" >/dev/null) ||
		die "apt-get download $* failed (not in the mirror's index?)"
}

# The end-to-end machine: QEMU's virt with an SMMUv3, a virtio-blk disk and
# an nvme at fixed PCI addresses (StreamID = RID), as e2e.sh and bench.sh
# boot it.  The virt machine's GICv2m does not isolate MSIs, which VFIO
# type1 refuses unless told to allow it (allow_unsafe_interrupts=1 in
# VIRT_APPEND; the guest programs poll and use no interrupt anyway).
VIRTIO_BDF=0000:00:02.0 VIRTIO_SID=0x10
NVME_BDF=0000:00:03.0 NVME_SID=0x18
NVME_SERIAL=SMMUE2E0042
VIRT_APPEND="console=ttyAMA0 panic=-1 vfio_iommu_type1.allow_unsafe_interrupts=1 e2e.virtio=$VIRTIO_BDF e2e.nvme=$NVME_BDF e2e.serial=$NVME_SERIAL"
# With VIRT_SMMUS=2 (QEMU 11.1 only): two SMMUs, described by ACPI's IORT,
# so the kernel boots through UEFI firmware with GICv3.  SMMU 0 (stages 1
# and 2, as iommu=smmuv3 has them) fronts pcie.0 with the devices above;
# SMMU 1 (stage 1 only) fronts a second root complex (pxb-pcie, buses
# 0x80-) with a second nvme behind a root port.
NVME2_BDF=0000:81:00.0 NVME2_SID=0x8100
NVME2_SERIAL=SMMUE2E0043

# boot_virt LOG TIMEOUT QEMU IMAGE INITRD DISKDIR MEM APPEND [QEMU ARGS...]
# Boots the machine (fresh 64 MiB disk images in DISKDIR) with console and
# QEMU's stderr (the trace) in LOG; returns QEMU's (or timeout's) status.
boot_virt() {
	local log=$1 tmo=$2 qemu=$3 image=$4 initrd=$5 disks=$6 mem=$7 append=$8
	local machine=(-machine virt,iommu=smmuv3) second=()
	shift 8
	rm -f "$disks/virtio.img" "$disks/nvme.img" "$disks/nvme2.img"
	truncate -s 64M "$disks/virtio.img"
	truncate -s 64M "$disks/nvme.img"
	if [ "${VIRT_SMMUS:-1}" = 2 ]; then
		[ -f "$QEMU_EFI" ] || die "no UEFI firmware $QEMU_EFI (package qemu-efi-aarch64)"
		truncate -s 64M "$disks/nvme2.img"
		machine=(-machine virt,gic-version=3 -bios "$QEMU_EFI"
			-device arm-smmuv3,primary-bus=pcie.0,id=smmuv3.0,stage=nested)
		second=(-device pxb-pcie,id=pcie.1,bus_nr=0x80,bus=pcie.0,addr=04.0
			-device arm-smmuv3,primary-bus=pcie.1,id=smmuv3.1,stage=1
			-device pcie-root-port,id=rp1,bus=pcie.1,chassis=1,slot=1
			-drive if=none,id=nv1,file="$disks/nvme2.img",format=raw
			-device nvme,drive=nv1,bus=rp1,serial=$NVME2_SERIAL)
		append="$append e2e.nvme2=$NVME2_BDF e2e.serial2=$NVME2_SERIAL"
	fi
	timeout --foreground -k 10 "$tmo" "$qemu" \
		"${machine[@]}" -cpu cortex-a57 -smp 2 -m "$mem" \
		-nographic -no-reboot -nodefaults -serial stdio \
		-kernel "$image" -initrd "$initrd" -append "$VIRT_APPEND $append" \
		-drive if=none,id=vd0,file="$disks/virtio.img",format=raw \
		-device virtio-blk-pci,drive=vd0,addr=02.0,iommu_platform=on,disable-legacy=on \
		-drive if=none,id=nv0,file="$disks/nvme.img",format=raw \
		-device nvme,drive=nv0,addr=03.0,serial=$NVME_SERIAL \
		"${second[@]}" "$@" < /dev/null > "$log" 2>&1
}

# guest_initramfs DIR GEN_INIT_CPIO [LINE...]: the guest programs, static
# arm64 binaries in DIR/root (/init: init.c, the helpers in lib.c, the
# phases guest/pN-*.c and bench.c; vfio-nvme), and DIR/initramfs.cpio
# holding them and the gen_init_cpio LINEs given (the test modules).
guest_initramfs() {
	local dir=$1 tool=$2
	shift 2
	mkdir -p "$dir/root"
	"${CROSS_COMPILE}gcc" -static -O2 -Wall -Wextra -Werror -I"$TOP/guest" \
		-o "$dir/root/init" "$TOP/guest/init.c" "$TOP/guest/lib.c" \
		"$TOP"/guest/p[0-9]*-*.c "$TOP/guest/bench.c"
	"${CROSS_COMPILE}gcc" -static -O2 -Wall -Wextra -Werror \
		-o "$dir/root/vfio-nvme" "$TOP/guest/vfio-nvme.c"
	printf '%s\n' "dir /dev 0755 0 0" "nod /dev/console 0600 0 0 c 5 1" \
		"dir /proc 0755 0 0" "dir /sys 0755 0 0" \
		"file /init $dir/root/init 0755 0 0" \
		"file /vfio-nvme $dir/root/vfio-nvme 0755 0 0" "$@" > "$dir/initramfs.list"
	"$tool" "$dir/initramfs.list" > "$dir/initramfs.cpio"
}
