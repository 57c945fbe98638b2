// SPDX-License-Identifier: GPL-2.0
/*
 * Phase 5: domain cycling.  The virtio disk goes DMA -> identity -> DMA ->
 * blocked -> DMA, 5 times; at every DMA and identity step the previous
 * pattern is checked and a new one written and read back.  Blocked is
 * vfio-pci with the group in a VFIO container and no IOMMU type
 * (vfio_block()).  One window per step: the host checks translation only
 * in the DMA windows, bypass only in the identity windows, nothing of the
 * disk's getting through in the blocked ones, and no SMMU event.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "e2e.h"

#define CYCLES		5
#define CYCLE_BYTES	(2 * MIB)
#define SEED_CYCLE	0x5eed00000000c000ULL

/* One data step: the previous pattern must be there, then a new one. */
static void cycle_data(struct phase *p, const char *dev, uint64_t *seed, bool check)
{
	if (check)
		check_pattern(p, dev, *seed, CYCLE_BYTES);
	if (!p->failed)
		disk_roundtrip(p, dev, ++*seed, CYCLE_BYTES);
}

void phase_cycle(void)
{
	struct phase p = { .num = 5 };
	int group = pci_group(virtio_bdf);
	uint64_t seed = SEED_CYCLE;
	char dev[320], name[64], drv[32], path[64];
	int err;

	window("p5-switch");
	say("@@E2E INFO cycles %d", CYCLES);
	virtio_restore(group);
	pci_driver(virtio_bdf, drv, sizeof(drv));
	window("p5-start");
	if (strcmp(drv, "virtio-pci") || !wait_blockdev(virtio_bdf, dev, sizeof(dev), 10))
		fail(&p, "the virtio disk is not bound to virtio-pci in a DMA domain");
	else
		cycle_data(&p, dev, &seed, false);

	for (int c = 1; c <= CYCLES && !p.failed; c++) {
		/* DMA -> identity */
		window("p5-switch");
		if (!virtio_down(&p, group, "identity"))
			break;
		snprintf(name, sizeof(name), "p5-c%d-identity", c);
		window(name);
		if (!virtio_up(&p, dev, sizeof(dev), name))
			break;
		cycle_data(&p, dev, &seed, true);

		/* identity -> DMA */
		window("p5-switch");
		if (p.failed || !virtio_down(&p, group, "DMA"))
			break;
		snprintf(name, sizeof(name), "p5-c%d-dma-a", c);
		window(name);
		if (!virtio_up(&p, dev, sizeof(dev), name))
			break;
		cycle_data(&p, dev, &seed, true);

		/* DMA -> blocked: vfio-pci, group in a container, no IOMMU type */
		window("p5-switch");
		if (p.failed || !virtio_down(&p, group, NULL))
			break;
		if (set_override(virtio_bdf, "vfio-pci")) {
			fail(&p, "cannot set driver_override of %s", virtio_bdf);
			break;
		}
		err = bind_driver(virtio_bdf, "vfio-pci");
		pci_driver(virtio_bdf, drv, sizeof(drv));
		snprintf(path, sizeof(path), "/dev/vfio/%d", group);
		if (err || strcmp(drv, "vfio-pci") || !wait_for_path(path, 5)) {
			fail(&p, "cycle %d: binding vfio-pci: %s (driver %s), %s %s", c,
			     err ? strerror(-err) : "ok", drv, path,
			     exists(path) ? "exists" : "missing");
			break;
		}
		snprintf(name, sizeof(name), "p5-c%d-blocked", c);
		window(name);
		vfio_block(&p, group, 200);

		/* blocked -> DMA */
		window("p5-switch");
		err = unbind_driver(virtio_bdf);
		if (err || set_override(virtio_bdf, NULL)) {
			fail(&p, "cycle %d: releasing %s from vfio-pci failed", c, virtio_bdf);
			break;
		}
		if (p.failed)
			break;
		snprintf(name, sizeof(name), "p5-c%d-dma-b", c);
		window(name);
		if (!virtio_up(&p, dev, sizeof(dev), name))
			break;
		cycle_data(&p, dev, &seed, true);
	}
	window("p5-switch");
	virtio_restore(group);
	report(&p, "5 cycles DMA -> identity -> DMA -> blocked -> DMA, data intact at every step");
}
