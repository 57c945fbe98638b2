// SPDX-License-Identifier: GPL-2.0
/*
 * Phase 12: a domain refused across SMMUs changes nothing (QEMU 11.1).
 *
 * SMMU 0 has stages 1 and 2, SMMU 1 stage 1 only. The test module
 * smmu_e2e_cross.ko makes a domain, attaches it to the nvme behind SMMU 0
 * and detaches it again (the domain is now SMMU 0's), then attaches it to
 * the nvme behind SMMU 1, on its DMA domain. What the driver must refuse
 * depends on the queue (e2e.cross=, from E2E_CROSS in lib.sh):
 * - shared (the 6.1 queue shares stage-1 domains across SMMUs): a nesting
 *   (stage-2) domain, which SMMU 1 could not walk, refused with -ENXIO
 *   and the driver's message;
 * - per-smmu (6.12, like upstream, keeps a domain per SMMU): a stage-1
 *   domain, refused with -EINVAL.
 * The host checks that the window p12-refuse has no STE invalidation
 * naming the second nvme (its STE was not written) and no command on SMMU
 * 1, and that the nvme's accesses before and after are translated by stage
 * 1, without event; the guest checks the module's verdict and the data.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "e2e.h"

#define P12_BYTES	(1 * MIB)
#define SEED_12A	0x5eed0000000012a0ULL
#define SEED_12B	0x5eed0000000012b0ULL

void phase_cross_refused(void)
{
	struct phase p = { .num = 12 };
	char dev[320], dev0[320], params[128], res[96], cmdline[1024];
	char cross[16] = "", where[16];
	int ret, owner = 1, nest = 1, attach = 0, want;
	bool shared;

	read_file("/proc/cmdline", cmdline, sizeof(cmdline));
	cmdline_arg(cmdline, "e2e.cross=", cross, sizeof(cross));
	shared = strcmp(cross, "per-smmu");
	want = shared ? -ENXIO : -EINVAL;

	window("p12-before");
	if (!wait_blockdev(nvme2_bdf, dev, sizeof(dev), 30) ||
	    !wait_blockdev(nvme_bdf, dev0, sizeof(dev0), 30)) {
		fail(&p, "no nvme block devices under %s and %s", nvme_bdf, nvme2_bdf);
		goto out;
	}
	disk_roundtrip(&p, dev, SEED_12A, P12_BYTES);
	if (p.failed)
		goto out;

	window("p12-refuse");
	snprintf(params, sizeof(params), "owner=%s target=%s nesting=%d", nvme_bdf, nvme2_bdf,
		 shared);
	ret = test_module("smmu_e2e_cross", params, res, sizeof(res));
	if (ret) {
		fail(&p, "smmu_e2e_cross: %s", strerror(-ret));
		goto out;
	}
	res[strcspn(res, "\n")] = '\0';
	say("@@E2E INFO p12-result %s", res);
	if (sscanf(res, "owner=%d nesting=%d attach=%d domain=%15s", &owner, &nest,
		   &attach, where) != 4)
		fail(&p, "unexpected module verdict '%s'", res);
	else if (owner || nest)
		fail(&p, "the domain could not be set up on SMMU 0: %s", res);
	else if (attach >= 0)
		fail(&p, "the domain of SMMU 0 was attached behind SMMU 1: %s", res);
	else if (attach != want)
		fail(&p, "the attach failed, but not with the driver's refusal (%d): %s", want, res);
	else if (strcmp(where, "default"))
		fail(&p, "the refused attach left the nvme on the %s domain", where);

	window("p12-after");
	check_pattern(&p, dev, SEED_12A, P12_BYTES);
	disk_roundtrip(&p, dev, SEED_12B, P12_BYTES);
	disk_roundtrip(&p, dev0, SEED_12B, P12_BYTES);
out:
	report(&p, shared ?
	       "stage-2 domain of SMMU 0 refused behind the stage-1-only SMMU 1 (-ENXIO); the nvme kept its DMA domain and its data" :
	       "stage-1 domain of SMMU 0 refused behind SMMU 1 (-EINVAL: a domain per SMMU); the nvme kept its DMA domain and its data");
}
