// SPDX-License-Identifier: GPL-2.0
/*
 * Phase 3: domain switching.  The virtio disk unbound, its group set to
 * identity, bound again: phase 2's pattern must read back and a new one
 * round-trip; then the same back to DMA.  The host checks bypass only in
 * the identity window, translation only in the DMA window.
 */
#define _GNU_SOURCE

#include "e2e.h"

#define SEED_B	0x5eed0000000000b2ULL
#define SEED_C	0x5eed0000000000c3ULL

void phase_switch(void)
{
	struct phase p = { .num = 3 };
	int group = pci_group(virtio_bdf);
	char dev[320];

	window("p3-switch");
	if (rebind(&p, virtio_bdf, "virtio-pci", group, "identity") == 0) {
		if (!wait_blockdev(virtio_bdf, dev, sizeof(dev), 10)) {
			fail(&p, "disk did not come back in the identity domain");
		} else {
			window("p3-identity");
			check_pattern(&p, dev, SEED_A, DISK_BYTES);
			disk_roundtrip(&p, dev, SEED_B, DISK_BYTES);
		}
	}
	window("p3-switch");
	if (rebind(&p, virtio_bdf, "virtio-pci", group, "DMA") == 0) {
		if (!wait_blockdev(virtio_bdf, dev, sizeof(dev), 10)) {
			fail(&p, "disk did not come back in the DMA domain");
		} else {
			window("p3-dma");
			check_pattern(&p, dev, SEED_B, DISK_BYTES);
			disk_roundtrip(&p, dev, SEED_C, DISK_BYTES);
		}
	}
	report(&p, "identity and DMA domains both moved the data intact");
}
