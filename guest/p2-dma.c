// SPDX-License-Identifier: GPL-2.0
/*
 * Phase 2: DMA through translation.  An 8 MiB pattern written to the
 * virtio disk and read back with O_DIRECT (phase 3 reads it again); the
 * host checks that StreamID 0x10's accesses were translated, never
 * bypassed.
 */
#define _GNU_SOURCE
#include <stdbool.h>

#include "e2e.h"

bool phase_dma(void)
{
	struct phase p = { .num = 2 };
	char dev[320];

	window("p2-dma");
	if (!wait_blockdev(virtio_bdf, dev, sizeof(dev), 10)) {
		fail(&p, "no block device under %s", virtio_bdf);
	} else {
		say("@@E2E INFO virtio-disk %s", dev);
		disk_roundtrip(&p, dev, SEED_A, DISK_BYTES);
	}
	report(&p, "8 MiB pattern written and read back with O_DIRECT");
	return !p.failed;
}
