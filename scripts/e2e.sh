#!/usr/bin/env bash
# The end-to-end scenario: build the guest kernel (from build/linux, the
# series applied) and the guest programs, boot QEMU's virt,iommu=smmuv3
# machine with a virtio-blk-pci disk and an nvme, and judge what the guest
# reports together with what QEMU's SMMUv3 trace shows.
#
#   e2e.sh [--label NAME] [--qemu 7.2|10|11.1] [--guest plain|debug]
#
# --qemu picks the emulator: 7.2 is bookworm's qemu-system-aarch64 (SMMUv3
# stage 1 only), 10 is bookworm-backports' QEMU 10.0 unpacked under cache/
# by qemu10.sh (stage 1 and stage 2: the stage-2 phase and the stress
# phase's stage-2 state run only there and on 11.1), 11.1 is
# trixie-backports' QEMU 11.1 unpacked by qemu11.sh: two SMMUs under ACPI
# (UEFI boot, see boot_virt in lib.sh) and the two-SMMU phases 11 and 12.  --guest debug boots the debug
# guest kernel (guest/kernel-debug.config: lockdep, KASAN, kmemleak...).
# The report is out/QUEUE/e2e/NAME/qemuVER-GUEST/report.txt; it is compared with
# queues/QUEUE/baseline/baseline-base-qemuVER.json, the pristine base's figures on the same
# emulator (plain guest), when that file exists.
# The phases the queue's kernel cannot run (SKIP_PHASES in lib.sh: "N reason"
# entries, separated by newlines or ';') go to the guest as /e2e-skip; it
# reports them SKIP with the reason, and so does the report, which counts
# them neither passed nor failed.
# Environment: SRC/KOUT as for guest-kernel.sh; E2E_TIMEOUT (seconds);
# E2E_STRESS (transitions of the stress phase, default 1000); E2E_SEED;
# E2E_SKIP (instead of SKIP_PHASES; empty: run every phase).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

label=series qemu=7.2 guest=plain
while [ $# -gt 0 ]; do
	case $1 in
	--label) label=$2; shift 2 ;;
	--qemu) qemu=$2; shift 2 ;;
	--guest) guest=$2; shift 2 ;;
	*) die "usage: e2e.sh [--label NAME] [--qemu 7.2|10|11.1] [--guest plain|debug]" ;;
	esac
done
case $qemu in
7.2) qemu_bin=$(command -v qemu-system-aarch64 || true) ;;
10) qemu_bin=$("$TOP/scripts/qemu10.sh") ;;
11.1) qemu_bin=$("$TOP/scripts/qemu11.sh") ;;
*) die "--qemu must be 7.2, 10 or 11.1" ;;
esac
smmus=1
[ "$qemu" = 11.1 ] && smmus=2
case $guest in plain | debug) ;; *) die "--guest must be plain or debug" ;; esac
ensure_deps
[ -n "$qemu_bin" ] || die "no qemu-system-aarch64"
qemu_version=$("$qemu_bin" --version | head -1)
case $qemu_version in
"QEMU emulator version $qemu".*) ;;
*) die "$qemu_bin is not QEMU $qemu: $qemu_version" ;;
esac
[ -d "$TREE/.git" ] || "$TOP/scripts/tree.sh"
if [ "$guest" = debug ]; then
	KOUT=${KOUT:-$BUILD/guest-debug}
else
	KOUT=${KOUT:-$BUILD/guest}
fi
export KOUT
image=$(GUEST=$guest "$TOP/scripts/guest-kernel.sh")

run=qemu$qemu-$guest
work=$BUILD/e2e/$label/$run
res=$OUT/e2e/$label/$run
rm -rf "$work" "$res"
mkdir -p "$work/root" "$res"

note "building the guest programs and the test module"
mkdir -p "$work/mod"
cp "$TOP"/guest/modules/* "$work/mod/"
with_kbuild_lock make -s -C "${SRC:-$TREE}" O="$KOUT" ARCH=arm64 \
	CROSS_COMPILE="$CROSS_COMPILE" CC="$KCC" M="$work/mod" modules >&2 ||
	die "the test module does not build"
# The phases to skip, "N reason" a line, checked here.
skip_args=()
: > "$work/skip"
while read -r n why; do
	[ -n "$n" ] || continue
	case $n in
	[1-9] | [1-9][0-9]) ;;
	*) die "SKIP_PHASES: '$n $why' does not start with a phase number" ;;
	esac
	[ -n "$why" ] || die "SKIP_PHASES: phase $n has no reason"
	[ ${#why} -le 500 ] || die "SKIP_PHASES: phase $n: a reason of 500 characters at most, please"
	printf '%s %s\n' "$n" "$why" >> "$work/skip"
	skip_args+=(--skip "$n")
	note "phase $n skipped: $why"
done < <(printf '%s\n' "${E2E_SKIP-$SKIP_PHASES}" | tr ';' '\n')
# init: the phases in order (init.c), each phase in its file (guest/pN-*.c),
# their helpers in lib.c.
guest_initramfs "$work" "$KOUT/usr/gen_init_cpio" \
	"file /e2e-skip $work/skip 0644 0 0" \
	"file /smmu_e2e_attach.ko $work/mod/smmu_e2e_attach.ko 0644 0 0" \
	"file /smmu_e2e_sva.ko $work/mod/smmu_e2e_sva.ko 0644 0 0" \
	"file /smmu_e2e_cross.ko $work/mod/smmu_e2e_cross.ko 0644 0 0"

# The debug guest: kmemleak scanned at the end; KASAN and lockdep make it
# several times slower, hence more memory and a longer timeout.
extra_append="e2e.stress=${E2E_STRESS:-1000}${E2E_SEED:+ e2e.seed=$E2E_SEED} e2e.cross=$E2E_CROSS${E2E_APPEND:+ $E2E_APPEND}"
mem=1G timeout_s=${E2E_TIMEOUT:-2400}
[ "$qemu" = 7.2 ] || extra_append="$extra_append e2e.stage2=1"
if [ "$guest" = debug ]; then
	extra_append="$extra_append e2e.kmemleak=1"
	mem=2G timeout_s=${E2E_TIMEOUT:-4000}
fi
# The stage-2 traces: the page-table walker's invalid PTEs name the stage,
# range invalidations the VMID (QEMU 10 and 11.1; 7.2 ignores unknown ones).
# With two SMMUs, the CPU's MMIO writes say which SMMU a command batch is
# for (its CMDQ_PROD write, by address) and CFGI_STE which StreamID.
traces=(-trace 'smmuv3_cmdq_opcode' -trace 'smmuv3_*_event' -trace 'smmuv3_translate_*'
	-trace 'smmuv3_cmdq_cfgi_ste')
[ "$qemu" = 7.2 ] || traces+=(-trace 'smmu_ptw_invalid_pte' -trace 'smmuv3_range_inval'
	-trace 'smmuv3_cmdq_tlbi_s12_vmid')
[ "$smmus" = 2 ] && traces+=(-trace 'memory_region_ops_write')
note "booting $qemu_version, virt with $smmus SMMU(s), $guest guest (timeout ${timeout_s}s); log in ${res#"$TOP"/}/qemu.log"
start=$(date +%s)
set +e
VIRT_SMMUS=$smmus boot_virt "$res/qemu.log" "$timeout_s" "$qemu_bin" "$image" "$work/initramfs.cpio" "$work" \
	$mem "hugepages=2 $extra_append" "${traces[@]}"
qrc=$?
set -e
secs=$(($(date +%s) - start))
note "QEMU exited with $qrc after ${secs}s"

rep_args=("${skip_args[@]}" --cross "$E2E_CROSS")
[ "${E2E_STRESS:-1000}" -ge 1000 ] || rep_args+=(--short)
bfile=$BASELINE/baseline-base-qemu$qemu.json
[ "$label" = base ] || [ ! -f "$bfile" ] || rep_args+=(--baseline "$bfile")
python3 "$TOP/scripts/e2e-report.py" --log "$res/qemu.log" --qemu-rc "$qrc" \
	--qemu-version "$qemu_version" --guest "$guest" --seconds "$secs" \
	--sid virtio="$VIRTIO_SID" --sid nvme="$NVME_SID" "${rep_args[@]}" \
	$( [ "$smmus" = 1 ] || echo --sid nvme2="$NVME2_SID" --two-smmus) \
	--json "$res/counts.json" | tee "$res/report.txt"
