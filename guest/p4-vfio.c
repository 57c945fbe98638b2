// SPDX-License-Identifier: GPL-2.0
/*
 * Phase 4: VFIO.  A pattern written through the nvme driver, the nvme
 * bound to vfio-pci; vfio-nvme (type1) runs Identify Controller at fixed
 * IOVAs, then unmaps the buffer and submits again: nothing may land, and
 * the host must see an F_TRANSLATION event for the nvme.  Back on the nvme
 * driver the pattern must read back.
 */
#define _GNU_SOURCE

#include "e2e.h"

#define NVME_BYTES	(2 * MIB)
#define SEED_N	0x5eed0000000000d4ULL

void phase_vfio(void)
{
	struct phase p = { .num = 4 };
	char dev[320];
	int rc;

	window("p4-prepare");
	if (!wait_blockdev(nvme_bdf, dev, sizeof(dev), 30)) {
		fail(&p, "no nvme block device under %s", nvme_bdf);
		goto out;
	}
	say("@@E2E INFO nvme-disk %s", dev);
	disk_roundtrip(&p, dev, SEED_N, NVME_BYTES);
	if (p.failed || !nvme_to_vfio(&p))
		goto out;

	window("p4-vfio");
	{
		char *argv[] = { "/vfio-nvme", nvme_bdf, nvme_serial, NULL };

		rc = run(argv);
		if (rc)
			fail(&p, "vfio-nvme exited with %d", rc);
	}

	window("p4-rebind");
	if (nvme_from_vfio(&p, dev, sizeof(dev)))
		check_pattern(&p, dev, SEED_N, NVME_BYTES);
out:
	report(&p, "VFIO identify ok, unmapped IOVA faulted without data, nvme works again");
}
