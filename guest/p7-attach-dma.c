// SPDX-License-Identifier: GPL-2.0
/*
 * Phase 7: attaches that fail from the DMA default domain.
 *
 * With the virtio disk bound and its group on its DMA domain, the test
 * module smmu_e2e_attach.ko attaches a new unmanaged domain with
 * iommu_attach_device(), failing its n-th allocation, for n = 1, 2, ...
 * until an attach succeeds with no allocation failed (it then detaches).
 * On 6.1 a failed attach makes the core set the group's domain to NULL and
 * attach the DMA domain again: the driver must see that the master is
 * already there. After each try the device must still be on its DMA domain
 * and read the pattern back through it; the host checks the trace (no
 * configuration write for a failed attach, translated accesses only, no
 * event) and the console (no kernel warning: the guest kernel has
 * CONFIG_DEBUG_LIST, which reports a double list_add).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "e2e.h"

#define ATTACH_NTH_MAX	50
#define ATTACH_BYTES	(2 * MIB)
#define SEED_ATTACH	0x5eed0000000000a7ULL

static int try_attach(unsigned int n, char *res, size_t len)
{
	char params[96];

	snprintf(params, sizeof(params), "bdf=%s nth=%u", virtio_bdf, n);
	return test_module("smmu_e2e_attach", params, res, len);
}

void phase_attach_from_dma(void)
{
	struct phase p = { .num = 7 };
	int group = pci_group(virtio_bdf), failed = 0, absorbed = 0, ret, inj;
	char dev[320], type[32], res[96], where[16], name[48];
	char failed_list[96] = "";
	unsigned int n;

	window("p7-setup");
	if (fault_injection_setup(&p))
		goto out;
	virtio_restore(group);
	if (!wait_blockdev(virtio_bdf, dev, sizeof(dev), 10)) {
		fail(&p, "the virtio disk is not bound to virtio-pci");
		goto out;
	}
	group_type(group, type, sizeof(type));
	if (strcmp(type, "DMA")) {
		fail(&p, "the virtio disk's group is %s, not DMA", type);
		goto out;
	}
	disk_roundtrip(&p, dev, SEED_ATTACH, ATTACH_BYTES);
	if (p.failed)
		goto out;

	for (n = 1; n <= ATTACH_NTH_MAX; n++) {
		snprintf(name, sizeof(name), "p7-try-%u", n);
		window(name);
		ret = try_attach(n, res, sizeof(res));
		if (ret) {
			fail(&p, "n=%u: the test module: %s", n, strerror(-ret));
			break;
		}
		if (sscanf(res, "attach=%d injected=%d domain=%15s", &ret, &inj,
			   where) != 3) {
			fail(&p, "n=%u: the test module said '%s'", n, res);
			break;
		}
		if (strcmp(where, "default")) {
			fail(&p, "n=%u: attach returned %d and left the device on the %s domain",
			     n, ret, where);
			break;
		}
		if (!ret && !inj)
			break;		/* no allocation of the attach failed */
		if (ret && !inj) {
			fail(&p, "n=%u: the attach failed (%d) with no allocation failed", n, ret);
			break;
		}
		if (ret) {
			size_t l = strlen(failed_list);

			failed++;
			snprintf(failed_list + l, sizeof(failed_list) - l, " %u", n);
		} else {
			absorbed++;
		}
		snprintf(name, sizeof(name), "p7-check-%u", n);
		window(name);
		group_type(group, type, sizeof(type));
		if (strcmp(type, "DMA")) {
			fail(&p, "n=%u: the group's type now reads %s", n, type);
			break;
		}
		check_pattern(&p, dev, SEED_ATTACH, ATTACH_BYTES);
		if (p.failed) {
			say("e2e: n=%u: the failed attach (%d) broke the DMA domain", n, ret);
			break;
		}
	}
	say("@@E2E INFO p7-failed%s", failed ? failed_list : " none");
	if (p.failed)
		goto out;
	if (n > ATTACH_NTH_MAX) {
		fail(&p, "the attach still failed with fail-nth %d", ATTACH_NTH_MAX);
		goto out;
	}
	if (!failed) {
		fail(&p, "no failed allocation made the attach fail (fault injection inactive?)");
		goto out;
	}
	window("p7-dma");
	disk_roundtrip(&p, dev, SEED_ATTACH + 1, ATTACH_BYTES);
	if (!p.failed)
		snprintf(p.reason, sizeof(p.reason),
			 "%d attaches failed (n=%s), %d absorbed, n=%u attached; "
			 "DMA domain and data kept",
			 failed, failed_list + 1, absorbed, n);
out:
	window("p7-end");
	say("@@E2E RESULT %d %s %s", p.num, p.failed ? "FAIL" : "PASS",
	    p.reason);
}
