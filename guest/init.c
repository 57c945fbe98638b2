// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the end-to-end guest: runs the SMMUv3 scenario's phases (one
 * guest/pN-*.c each, their helpers in lib.c) in order and powers off (or,
 * with e2e.bench=..., the workloads of 'make bench': bench.c).
 *
 * It talks to the host through the console, one line at a time:
 *   @@E2E WINDOW <name>            trace lines that follow belong to <name>
 *   @@E2E INFO <key> <value>       facts the host needs (BDFs, groups)
 *   @@E2E RESULT <phase> PASS|FAIL|SKIP <reason>
 *   @@E2E DONE
 * Every marker is drained to the UART before the work it announces starts,
 * so QEMU's trace lines (same output file) fall in the right window.
 *
 * The host passes the device addresses on the kernel command line:
 *   e2e.virtio=<bdf> e2e.nvme=<bdf> e2e.serial=<nvme serial>
 * and the phases the kernel cannot run in /e2e-skip ("N reason" a line).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "e2e.h"

int main(void)
{
	char cmdline[1024], arg[16];
	bool virtio_ok, stage2, kmemleak;
	const char *no_virtio;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	/* The kernel opened /dev/console as stdio if the initramfs has it. */
	if (fcntl(STDOUT_FILENO, F_GETFD) < 0) {
		int fd = open("/dev/console", O_RDWR);

		for (int i = 0; fd >= 0 && i < 3; i++)
			if (i != fd)
				dup2(fd, i);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	read_file("/proc/cmdline", cmdline, sizeof(cmdline));
	cmdline_arg(cmdline, "e2e.virtio=", virtio_bdf, sizeof(virtio_bdf));
	cmdline_arg(cmdline, "e2e.nvme=", nvme_bdf, sizeof(nvme_bdf));
	cmdline_arg(cmdline, "e2e.serial=", nvme_serial, sizeof(nvme_serial));
	cmdline_arg(cmdline, "e2e.nvme2=", nvme2_bdf, sizeof(nvme2_bdf));
	cmdline_arg(cmdline, "e2e.serial2=", nvme2_serial, sizeof(nvme2_serial));
	cmdline_arg(cmdline, "e2e.stage2=", arg, sizeof(arg));
	stage2 = !strcmp(arg, "1");
	cmdline_arg(cmdline, "e2e.kmemleak=", arg, sizeof(arg));
	kmemleak = !strcmp(arg, "1");
	read_skips("/e2e-skip");
	say("@@E2E INFO virtio-bdf %s", virtio_bdf);
	say("@@E2E INFO nvme-bdf %s", nvme_bdf);
	if (nvme2_bdf[0])
		say("@@E2E INFO nvme2-bdf %s", nvme2_bdf);

	if (dma_buf_init()) {
		say("e2e: out of memory");
		power_off(POWER_OFF_TIMEOUT);
		return 1;
	}
	cmdline_arg(cmdline, "e2e.bench=", arg, sizeof(arg));
	if (arg[0]) {
		/* 'make bench': the workloads of bench.c instead of the phases */
		bench_main(arg);
		goto end;
	}
	/*
	 * The phases in their order.  8, 10, 11, 12 and 9 run before 6 and 7:
	 * on the pristine base, phase 6 leaves the virtio disk's probe stuck,
	 * and the base's figures of the stage-2, SVA, two-SMMU and stress
	 * phases are wanted too.  A phase named in /e2e-skip (SKIP_PHASES) is
	 * reported SKIP with the kernel's reason, one whose device is not in
	 * order FAIL.
	 */
	if (phase_due(1, NULL))
		phase_probe();
	virtio_ok = phase_due(2, NULL) && phase_dma();
	no_virtio = virtio_ok ? NULL : "phase 2 failed";
	if (phase_due(3, no_virtio))
		phase_switch();
	if (phase_due(4, NULL))
		phase_vfio();
	if (phase_due(5, no_virtio))
		phase_cycle();
	if (phase_due(8, NULL))
		phase_stage2(stage2);
	if (phase_due(10, NULL))
		phase_sva();
	/* QEMU 11.1: an nvme behind each of two SMMUs */
	if (nvme2_bdf[0] && phase_due(11, NULL))
		phase_two_smmus();
	if (nvme2_bdf[0] && phase_due(12, NULL))
		phase_cross_refused();
	/*
	 * Phase 9's stage-2 state asks VFIO for the nesting type as phase 8
	 * does: where the kernel cannot give phase 8 its stage-2 domain, phase
	 * 9 moves between the other states only.
	 */
	if (stage2 && skip_reason(8))
		say("@@E2E INFO p9-no-s2 phase 8 skipped: %s", skip_reason(8));
	if (phase_due(9, no_virtio))
		phase_stress(cmdline, stage2 && !skip_reason(8));
	if (phase_due(6, no_virtio))
		phase_failed_attach();
	/*
	 * A bind left stuck by phase 6 (the pristine base) holds the virtio
	 * disk's device lock: phase 7 would wait on it forever.
	 */
	if (phase_due(7, no_virtio ? no_virtio :
		      stuck_pid ? "a driver bind is stuck since phase 6" : NULL))
		phase_attach_from_dma();
	if (kmemleak)
		kmemleak_report();

end:
	window("end");
	say("@@E2E DONE");
	/*
	 * sync and power-off would wait for a stuck device: end init instead;
	 * the kernel panics and, with panic=-1 and QEMU's -no-reboot, QEMU
	 * exits.  So too if the power-off itself does not finish.
	 */
	if (stuck_pid)
		say("e2e: a driver bind is stuck; ending init instead of powering off");
	else
		power_off(POWER_OFF_TIMEOUT);
	return 1;
}
