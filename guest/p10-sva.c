// SPDX-License-Identifier: GPL-2.0
/*
 * Phase 10: SVA is refused cleanly where there are no substreams.
 *
 * QEMU's SMMUv3 has SSIDSIZE 0 and its nvme no PASID capability: the test
 * module smmu_e2e_sva.ko enables IOMMU_DEV_FEAT_SVA and binds the loading
 * process's mm to the nvme, as a driver of an SVA device would. Both must
 * fail (the feature with -EINVAL: the master has no SSIDs; the bind with
 * -ENODEV: the device has no PASID to bind at), the nvme must stay on its
 * DMA domain and keep its data. The host checks that the bind window
 * (p10-bind) has no SMMU command at all (nothing was written), and that
 * the nvme's accesses are translated before and after, without event.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <unistd.h>

#include "e2e.h"

#define SVA_BYTES	(2 * MIB)
#define SEED_SVA	0x5eed00000000050aULL

static int try_bind(char *res, size_t len)
{
	char params[96];

	snprintf(params, sizeof(params), "bdf=%s", nvme_bdf);
	return test_module("smmu_e2e_sva", params, res, len);
}

void phase_sva(void)
{
	struct phase p = { .num = 10 };
	int group = pci_group(nvme_bdf), feat, bind, ret, want_bind = ENODEV;
	char dev[320], type[32], res[96], where[16], cmdline[1024], arg[16] = "";

	window("p10-before");
	if (!wait_blockdev(nvme_bdf, dev, sizeof(dev), 30)) {
		fail(&p, "no nvme block device under %s", nvme_bdf);
		goto out;
	}
	disk_roundtrip(&p, dev, SEED_SVA, SVA_BYTES);
	if (p.failed)
		goto out;

	/*
	 * The refusal's errno is the kernel's: the 6.1 queue's core says
	 * -ENODEV (no PASID at the device), 6.12's -ENOSPC (no PASID can be
	 * allocated for it); the host passes the one it expects.
	 */
	read_file("/proc/cmdline", cmdline, sizeof(cmdline));
	cmdline_arg(cmdline, "e2e.sva_bind_errno=", arg, sizeof(arg));
	if (arg[0])
		want_bind = atoi(arg);

	window("p10-bind");
	ret = try_bind(res, sizeof(res));
	if (ret) {
		fail(&p, "the test module: %s", strerror(-ret));
		goto out;
	}
	if (sscanf(res, "feat=%d bind=%d domain=%15s", &feat, &bind, where) != 3) {
		fail(&p, "the test module said '%s'", res);
		goto out;
	}
	say("@@E2E INFO p10-result %s", res);
	if (feat != -EINVAL)
		fail(&p, "enabling SVA returned %d, not -EINVAL", feat);
	if (bind != -want_bind)
		fail(&p, "the bind returned %d, not %d", bind, -want_bind);
	if (strcmp(where, "default"))
		fail(&p, "the nvme is on the %s domain after the bind", where);
	if (p.failed)
		goto out;

	window("p10-after");
	group_type(group, type, sizeof(type));
	if (strcmp(type, "DMA")) {
		fail(&p, "the nvme's group is %s, not DMA", type);
		goto out;
	}
	check_pattern(&p, dev, SEED_SVA, SVA_BYTES);
	if (!p.failed)
		disk_roundtrip(&p, dev, SEED_SVA + 1, SVA_BYTES);
out:
	window("p10-end");
	report(&p, "SVA feature refused (-EINVAL), bind refused, nvme kept its DMA domain and data");
}
