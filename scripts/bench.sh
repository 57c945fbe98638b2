#!/usr/bin/env bash
# make bench: the work an IOMMU exists for, on four kernels built from the
# same guest configuration, one after another, on each emulator:
#   base         the 6.1 queue's pristine base (tag 'base' of build/6.1/linux)
#   series       the 6.1 queue (build/6.1/linux)
#   6.12         the 6.12 queue's pristine base: Debian's linux-source-6.12,
#                unpatched (tag 'base' of build/6.12/linux)
#   6.12-series  the 6.12 queue (build/6.12/linux)
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
# "base series 6.12 6.12-series"), BENCH_BOOTS (default 5).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

start=$(date +%s)
ensure_deps
ensure_bench_deps

# The sources: each queue's tree (build/QUEUE/linux) and its pristine base
# as a worktree of it at 'base' (build/QUEUE/linux-base, the path
# baseline.sh uses, so both share the guest build and ccache).  The 6.12
# queue's base is Debian's 6.12, unpatched.
declare -A src kout
for qq in $QUEUES; do
	qb=$TOP/build/$qq
	[ -d "$qb/linux/.git" ] || QUEUE=$qq "$TOP/scripts/tree.sh"
	base_worktree "$qb/linux" "$qb/linux-base"
done
src[base]=$TOP/build/6.1/linux-base kout[base]=$TOP/build/6.1/guest-base
src[series]=$TOP/build/6.1/linux kout[series]=$TOP/build/6.1/guest
src[6.12]=$TOP/build/6.12/linux-base kout[6.12]=$TOP/build/6.12/guest-base
src[6.12-series]=$TOP/build/6.12/linux kout[6.12-series]=$TOP/build/6.12/guest

kernels=${BENCH_KERNELS:-base series 6.12 6.12-series}
declare -A image
for k in $kernels; do
	[ -n "${src[$k]:-}" ] || die "BENCH_KERNELS: unknown kernel '$k' (base, series, 6.12, 6.12-series)"
	note "guest kernel: $k"
	image[$k]=$(SRC=${src[$k]} KOUT=${kout[$k]} GUEST=plain "$TOP/scripts/guest-kernel.sh")
	cpio_tool=${kout[$k]}/usr/gen_init_cpio
done

work=$TOP/build/bench
res=$TOP/out/bench
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
