// SPDX-License-Identifier: GPL-2.0
/*
 * Phase 8: stage 2 end to end, and the nvme's switch between its DMA domain
 * (stage 1) and a stage-2 domain and back.
 *
 * On 6.1, VFIO type1 set to VFIO_TYPE1_NESTING_IOMMU calls
 * iommu_enable_nesting() on its new domain before attaching it: the SMMUv3
 * driver makes that domain a stage-2 one (ARM_SMMU_DOMAIN_NESTED), or a
 * stage-1 one on an SMMU without stage 2 (QEMU 7.2).  The nvme goes
 *   nvme driver (DMA domain, S1 STE) -> vfio-pci + nesting container
 *   (S2 STE) -> nvme driver (S1 STE)
 * with its data checked on both sides: the kernel's block I/O before and
 * after, vfio-nvme's Identify through stage 2 in between.  6.1's core
 * passes through the group's blocking domain on the way (DMA ownership is
 * claimed when the container is set, released when it is closed), so the
 * STE goes S1 -> abort -> S2 -> abort -> S1; the direct S1 <-> S2 pairs are
 * KUnit's (arm-smmu-v3-test).
 *
 * Windows: p8-s1-a (block I/O, DMA domain), p8-switch, p8-s2 (vfio-nvme
 * set-up and Identify), p8-s2-unmap (the data buffer unmapped, a second
 * Identify that must land nothing), p8-s2-teardown, p8-s1-b.  The host
 * checks that p8-s2* show stage-2 translations and commands only, and a
 * translation fault of StreamID 0x18 in p8-s2-unmap.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "e2e.h"

#define S2_BYTES	(2 * MIB)
#define SEED_S2A	0x5eed0000000052a1ULL
#define SEED_S2B	0x5eed0000000052b2ULL

void phase_stage2(bool stage2)
{
	struct phase p = { .num = 8 };
	char dev[320], drv[32];
	struct phase scratch = { .num = 0 };
	int rc;

	say("@@E2E INFO stage2 %s", stage2 ? "yes" : "no");
	window("p8-s1-a");
	if (!wait_blockdev(nvme_bdf, dev, sizeof(dev), 30)) {
		fail(&p, "no nvme block device under %s", nvme_bdf);
		goto out;
	}
	disk_roundtrip(&p, dev, SEED_S2A, S2_BYTES);
	if (p.failed)
		goto out;

	window("p8-switch");
	if (!nvme_to_vfio(&p))
		goto out;

	window("p8-s2");
	{
		char *argv[] = { "/vfio-nvme", "--nesting", "--window", "p8-s2",
				 nvme_bdf, nvme_serial, NULL };

		rc = run(argv);
		if (rc)
			fail(&p, "vfio-nvme --nesting exited with %d", rc);
	}

	window("p8-switch");
	if (!nvme_from_vfio(&p, dev, sizeof(dev)))
		goto out;
	window("p8-s1-b");
	check_pattern(&p, dev, SEED_S2A, S2_BYTES);
	if (!p.failed)
		disk_roundtrip(&p, dev, SEED_S2B, S2_BYTES);
out:
	/* Whatever failed, leave the nvme on its driver for the next phase. */
	pci_driver(nvme_bdf, drv, sizeof(drv));
	if (strcmp(drv, "nvme"))
		nvme_from_vfio(&scratch, dev, sizeof(dev));
	report(&p, stage2 ?
	       "nvme DMA domain -> stage 2 (Identify ok, unmapped IOVA faulted) -> DMA domain, data intact" :
	       "no stage 2 on this SMMU: the nesting request fell back to stage 1, Identify ok, data intact");
}
