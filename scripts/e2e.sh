#!/usr/bin/env bash
# The end-to-end scenario: build the guest kernel (from build/linux, the
# series applied) and the guest programs, boot QEMU's virt,iommu=smmuv3
# machine with a virtio-blk-pci disk and an nvme, and judge what the guest
# reports together with what QEMU's SMMUv3 trace shows.
#
#   e2e.sh [--label NAME]      report in out/e2e/NAME/ (default: series)
# Environment: SRC/KOUT as for guest-kernel.sh; E2E_TIMEOUT (seconds).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

label=series
while [ $# -gt 0 ]; do
	case $1 in
	--label) label=$2; shift 2 ;;
	*) die "usage: e2e.sh [--label NAME]" ;;
	esac
done

ensure_deps
[ -d "$TREE/.git" ] || "$TOP/scripts/tree.sh"
KOUT=${KOUT:-$BUILD/guest}
export KOUT
image=$("$TOP/scripts/guest-kernel.sh")

work=$BUILD/e2e/$label
res=$OUT/e2e/$label
rm -rf "$work" "$res"
mkdir -p "$work/root" "$res"

note "building the guest programs and the test module"
# init: the helpers and phases 1-6 in init.c, each later phase in its file.
"${CROSS_COMPILE}gcc" -static -O2 -Wall -Wextra -Werror -I"$TOP/guest" \
	-o "$work/root/init" "$TOP/guest/init.c" "$TOP/guest/p7-attach-dma.c"
"${CROSS_COMPILE}gcc" -static -O2 -Wall -Wextra -Werror \
	-o "$work/root/vfio-nvme" "$TOP/guest/vfio-nvme.c"
mkdir -p "$work/mod"
cp "$TOP"/guest/modules/* "$work/mod/"
with_kbuild_lock make -s -C "${SRC:-$TREE}" O="$KOUT" ARCH=arm64 \
	CROSS_COMPILE="$CROSS_COMPILE" CC="$KCC" M="$work/mod" modules >&2 ||
	die "the test module does not build"
cat > "$work/initramfs.list" <<LIST
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0755 0 0
dir /sys 0755 0 0
file /init $work/root/init 0755 0 0
file /vfio-nvme $work/root/vfio-nvme 0755 0 0
file /smmu_e2e_attach.ko $work/mod/smmu_e2e_attach.ko 0644 0 0
LIST
"$KOUT/usr/gen_init_cpio" "$work/initramfs.list" > "$work/initramfs.cpio"

# The virt machine's GICv2m does not isolate MSIs, which VFIO type1 refuses
# unless told to allow it: allow_unsafe_interrupts=1 below (vfio-nvme polls
# and uses no interrupt anyway).
# Fixed PCI addresses, so that StreamID = RID is known on this side.
VIRTIO_BDF=0000:00:02.0 VIRTIO_SID=0x10
NVME_BDF=0000:00:03.0 NVME_SID=0x18
NVME_SERIAL=SMMUE2E0042
truncate -s 64M "$work/virtio.img"
truncate -s 64M "$work/nvme.img"

timeout_s=${E2E_TIMEOUT:-900}
note "booting QEMU virt,iommu=smmuv3 (timeout ${timeout_s}s); log in out/e2e/$label/qemu.log"
set +e
timeout --foreground -k 10 "$timeout_s" qemu-system-aarch64 \
	-machine virt,iommu=smmuv3 -cpu cortex-a57 -smp 2 -m 1G \
	-nographic -no-reboot -nodefaults -serial stdio \
	-kernel "$image" -initrd "$work/initramfs.cpio" \
	-append "console=ttyAMA0 panic=-1 hugepages=2 vfio_iommu_type1.allow_unsafe_interrupts=1 e2e.virtio=$VIRTIO_BDF e2e.nvme=$NVME_BDF e2e.serial=$NVME_SERIAL" \
	-drive if=none,id=vd0,file="$work/virtio.img",format=raw \
	-device virtio-blk-pci,drive=vd0,addr=02.0,iommu_platform=on,disable-legacy=on \
	-drive if=none,id=nv0,file="$work/nvme.img",format=raw \
	-device nvme,drive=nv0,addr=03.0,serial=$NVME_SERIAL \
	-trace 'smmuv3_cmdq_opcode' -trace 'smmuv3_record_event' \
	-trace 'smmuv3_translate_*' \
	< /dev/null > "$res/qemu.log" 2>&1
qrc=$?
set -e
note "QEMU exited with $qrc"

baseline=()
[ "$label" = base ] || baseline=(--baseline "$TOP/e2e/baseline-base.json")
python3 "$TOP/scripts/e2e-report.py" --log "$res/qemu.log" --qemu-rc "$qrc" \
	--sid virtio="$VIRTIO_SID" --sid nvme="$NVME_SID" "${baseline[@]}" \
	--json "$res/counts.json" | tee "$res/report.txt"
