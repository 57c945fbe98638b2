// SPDX-License-Identifier: GPL-2.0
/*
 * Phase 11: one VFIO container, two SMMUs (QEMU 11.1).
 *
 * The nvme of the first root complex (behind SMMU 0) and the nvme of the
 * second (behind SMMU 1) go to vfio-pci and into one type1 container, the
 * first one first. On 6.1, type1 makes a domain for the second group and
 * then tries the container's existing domain on it: with the series that
 * domain, a stage-1 one of SMMU 0, serves the masters of both SMMUs (its
 * invalidation array lists both); the pristine base refuses it and keeps
 * one domain per SMMU, as 6.12 and upstream do (the 6.12 queue's runs
 * expect that: E2E_CROSS=per-smmu). vfio-nvme --pair then has each
 * controller write Identify data into one shared buffer (checked), unmaps
 * that buffer once and has each controller try again: nothing may land.
 *
 * Windows: p11-prepare (block I/O on both, the switch to vfio-pci),
 * p11-vfio (container, groups, mappings, Identify through each),
 * p11-unmap (the one unmap and both faulting Identifies), p11-teardown,
 * p11-rebind (both back on the nvme driver, data checked). The host checks
 * that p11-unmap holds, on each SMMU, one TLB invalidation and one
 * CMD_SYNC and nothing else (one ASID for both, or one per SMMU), and a
 * translation fault of each nvme.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "e2e.h"

#define P11_BYTES	(1 * MIB)
#define SEED_11A	0x5eed0000000011a0ULL
#define SEED_11B	0x5eed0000000011b0ULL

void phase_two_smmus(void)
{
	struct phase p = { .num = 11 };
	const char *bdf[2] = { nvme_bdf, nvme2_bdf };
	uint64_t seed[2] = { SEED_11A, SEED_11B };
	struct phase scratch = { .num = 0 };
	char dev[320], drv[32];
	int i, rc;

	window("p11-prepare");
	for (i = 0; i < 2; i++) {
		if (!wait_blockdev(bdf[i], dev, sizeof(dev), 30)) {
			fail(&p, "no nvme block device under %s", bdf[i]);
			goto out;
		}
		disk_roundtrip(&p, dev, seed[i], P11_BYTES);
		if (p.failed || !pci_to_vfio(&p, bdf[i]))
			goto out;
	}

	window("p11-vfio");
	{
		char *argv[] = { "/vfio-nvme", "--window", "p11", "--pair", nvme2_bdf,
				 nvme2_serial, nvme_bdf, nvme_serial, NULL };

		rc = run(argv);
		if (rc)
			fail(&p, "vfio-nvme --pair exited with %d", rc);
	}

	window("p11-rebind");
	for (i = 0; i < 2; i++) {
		if (!pci_from_vfio(&p, bdf[i], dev, sizeof(dev)))
			goto out;
		check_pattern(&p, dev, seed[i], P11_BYTES);
	}
out:
	/* Whatever failed, leave both nvmes on their driver */
	for (i = 0; i < 2; i++) {
		pci_driver(bdf[i], drv, sizeof(drv));
		if (strcmp(drv, "nvme"))
			pci_from_vfio(&scratch, bdf[i], dev, sizeof(dev));
	}
	report(&p, "both nvmes in one container: Identify through each, one unmap, DMA to it faulted on both, data intact");
}
