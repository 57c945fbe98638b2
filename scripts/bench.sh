#!/usr/bin/env bash
# make bench: the work an IOMMU exists for, on three kernels built from the
# same guest configuration, one after another, on both emulators:
#   base    the pristine base (tag 'base' of build/linux, no patch)
#   series  the base with the queue (build/linux)
#   6.12    Debian's linux-source-6.12 (CMP_* in lib.sh), fetched and
#           verified like the base, unpatched
# Each kernel boots twice per emulator with e2e.bench=all (guest/bench.c:
# boot to the first DMA, O_DIRECT I/O in 1 MiB and 4 KiB requests, domain
# switching, VFIO type1 map/unmap churn, dma_map_benchmark strict and lazy),
# in two passes of opposite kernel order, and BENCH_BOOTS-2 more times with
# e2e.bench=boot (more boot samples).  On QEMU 11.1 (two SMMUs under ACPI,
# boot_virt with VIRT_SMMUS=2) each kernel boots twice with e2e.bench=pair:
# the first DMA and the VFIO churn with an nvme of each SMMU in the one
# container, every unmap for both SMMUs.
# scripts/bench-report.py turns the logs into out/bench/bench.{txt,json,svg}.
# A benchmark, not a test: it fails only when a workload's data check fails
# or a guest does not finish.
# Environment: BENCH_QEMU (default "7.2 10 11.1"), BENCH_KERNELS (default
# "base series 6.12"), BENCH_BOOTS (default 5).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start=$(date +%s)
ensure_deps
ensure_bench_deps
[ -d "$TREE/.git" ] || "$TOP/scripts/tree.sh"

# The sources: the pristine base as a worktree of build/linux at 'base'
# (the path baseline.sh uses, so both share the guest build and ccache),
# 6.12 unpacked from its verified package once.
src_base=$BUILD/linux-base
if [ "$(git -C "$src_base" rev-parse HEAD 2>/dev/null)" != "$(git -C "$TREE" rev-parse 'base^{commit}')" ] ||
	[ -n "$(git -C "$src_base" status --porcelain 2>/dev/null | head -1)" ]; then
	git -C "$TREE" worktree remove --force "$src_base" >/dev/null 2>&1 || rm -rf "$src_base"
	git -C "$TREE" worktree prune
	git -C "$TREE" worktree add -q --detach "$src_base" base
fi
src_cmp=$BUILD/linux-$(echo "$CMP_PKG" | sed 's/^linux-source-//')
if [ "$(cat "$src_cmp/.bench-sha256" 2>/dev/null)" != "$CMP_SHA256" ]; then
	deb=$("$TOP/scripts/fetch-base.sh" --cmp)
	note "unpacking $CMP_PKG $CMP_VERSION into ${src_cmp#"$TOP"/}"
	rm -rf "$src_cmp" "$src_cmp.new"
	mkdir -p "$src_cmp.new"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$CMP_PKG.tar.xz" |
		tar -xJ -C "$src_cmp.new" --strip-components=1 ||
		die "could not unpack $CMP_PKG.tar.xz from $deb"
	echo "$CMP_SHA256" > "$src_cmp.new/.bench-sha256"
	mv "$src_cmp.new" "$src_cmp"
fi

kernels=${BENCH_KERNELS:-base series 6.12}
declare -A image
for k in $kernels; do
	case $k in
	base) src=$src_base kout=$BUILD/guest-base ;;
	series) src=$TREE kout=$BUILD/guest ;;
	6.12) src=$src_cmp kout=$BUILD/guest-6.12 ;;
	*) die "BENCH_KERNELS: unknown kernel '$k' (base, series, 6.12)" ;;
	esac
	note "guest kernel: $k"
	image[$k]=$(SRC=$src KOUT=$kout GUEST=plain "$TOP/scripts/guest-kernel.sh")
	cpio_tool=$kout/usr/gen_init_cpio
done

work=$BUILD/bench
res=$OUT/bench
rm -rf "$work" "$res"
mkdir -p "$work" "$res"
note "building the guest programs"
guest_initramfs "$work" "$cpio_tool"

# A guest that does not finish is booted once more, and the report lists
# it: about one boot in 300 (pristine base and series alike, QEMU 7.2) hangs
# in the nvme driver's probe, its admin queue read at IOVA 0 or its
# interrupts lost, before any workload runs (README).  A second hang fails.
# Only the command queue and the events are traced: the translations would
# multiply the log by a hundred and slow every DMA.
traces=(-trace smmuv3_cmdq_opcode -trace 'smmuv3_*_event')
boots=${BENCH_BOOTS:-5}
# loglevel=5: warnings and worse still reach the console, the SMMU event
# reports of the VFIO workload's faulting DMAs (info) do not: printing them
# on the emulated UART would slow whatever runs beside them.
append="hugepages=4 loglevel=5"
runs=() failed=0
# boot_once DIR NAME WHAT TIMEOUT: boot $k on $qemu_bin with e2e.bench=WHAT,
# console and trace in DIR/NAME.log; a guest that does not finish is booted
# once more (the first log kept as NAME.tryN.log), a second hang fails.
boot_once() {
	local dir=$1 name=$2 what=$3 tmo=$4 try again rc t0
	for try in 1 2; do
		again=""
		[ "$try" = 1 ] || again=", second try"
		note "QEMU $q, $k kernel, $name (e2e.bench=$what$again)"
		t0=$(date +%s)
		set +e
		VIRT_SMMUS=$smmus boot_virt "$dir/$name.log" "$tmo" "$qemu_bin" "${image[$k]}" \
			"$work/initramfs.cpio" "$work" 1G "$append e2e.bench=$what" "${traces[@]}"
		rc=$?
		set -e
		echo "$(($(date +%s) - t0))" > "$dir/$name.seconds"
		grep -q '@@E2E DONE' "$dir/$name.log" && return 0
		mv "$dir/$name.log" "$dir/$name.try$try.log"
		note "the guest did not finish (QEMU status $rc): ${dir#"$TOP"/}/$name.try$try.log"
	done
	failed=1
}
for q in ${BENCH_QEMU:-7.2 10 11.1}; do
	smmus=1 what=all
	case $q in
	7.2) qemu_bin=$(command -v qemu-system-aarch64) ;;
	10) qemu_bin=$("$TOP/scripts/qemu10.sh") ;;
	11.1) qemu_bin=$("$TOP/scripts/qemu11.sh") smmus=2 what=pair ;;
	*) die "BENCH_QEMU: unknown emulator '$q' (7.2, 10, 11.1)" ;;
	esac
	# Two passes, the kernels in one order then in the other, so that a
	# host that slows down or speeds up during the run does not favour
	# whichever kernel ran last: each kernel's latency samples are the
	# repetitions of both passes.
	for pass in 1 2; do
		order=$kernels
		[ "$pass" = 1 ] || order=$(printf '%s\n' $kernels | tac)
		for k in $order; do
			dir=$res/runs/$k-qemu$q
			mkdir -p "$dir"
			boot_once "$dir" "main$pass" $what 900
			[ "$pass" = 1 ] && [ $what = all ] || continue
			for b in $(seq 3 "$boots"); do
				boot_once "$dir" "boot$b" boot 90
			done
		done
	done
	for k in $kernels; do
		runs+=(--run "$k" "$q" "$res/runs/$k-qemu$q")
	done
done

python3 "$TOP/scripts/bench-report.py" --out "$res" --seconds $(($(date +%s) - start)) \
	"${runs[@]}" || failed=1
gnuplot "$res/bench.gp" > "$res/bench.svg" || die "gnuplot could not draw $res/bench.svg"
# The logs (about 1 GiB, most of it dma_map_benchmark's strict commands)
gzip -1 "$res"/runs/*/*.log
cat "$res/bench.txt"
note "make bench took $(($(date +%s) - start)) s; table, JSON and chart in ${res#"$TOP"/}/"
[ $failed = 0 ] || die "a workload's data check failed or a guest did not finish (see above)"
