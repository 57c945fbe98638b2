// SPDX-License-Identifier: GPL-2.0
/*
 * Phase 6: a failed attach leaves the old domain working.  With the virtio
 * disk unbound and its group at identity, for n = 1, 2, ... the guest fails
 * the n-th allocation (failslab, fail_page_alloc through
 * /proc/self/fail-nth) of one write of DMA to the group's type: a failed
 * write must leave the type at identity and the disk working through it,
 * an absorbed failure must leave a working DMA domain; the loop ends at
 * the first n whose write succeeds with no allocation failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

#define FAIL_NTH_MAX	200
#define FAIL_BYTES	(2 * MIB)
#define SEED_F		0x5eed0000000000f6ULL

/*
 * Fail the @n-th fault-injection point (failslab, fail_page_alloc) of one
 * write of @val to @fd; returns 0 or the write's errno, and in *left what
 * was left of the count (0: the n-th point was reached and failed).
 */
static int write_nth(int nth_fd, int fd, unsigned int n, const char *val,
		     unsigned int *left)
{
	char num[16];
	int len = snprintf(num, sizeof(num), "%u", n), err = 0;
	ssize_t r;

	if (pwrite(nth_fd, num, len, 0) != len)
		return -errno;	/* distinct from any write errno: negative */
	/* Nothing in between: every allocation of this task now counts. */
	r = pwrite(fd, val, strlen(val), 0);
	if (r < 0)
		err = errno;
	len = pread(nth_fd, num, sizeof(num) - 1, 0);
	num[len > 0 ? len : 0] = 0;
	*left = strtoul(num, NULL, 10);
	if (pwrite(nth_fd, "0", 1, 0) != 1)
		return -errno;
	return err;
}

void phase_failed_attach(void)
{
	struct phase p = { .num = 6 };
	int group = pci_group(virtio_bdf);
	char dev[320], name[64], path[512], type[32], errs[128] = "", step[128];
	char absorbed[128] = "";
	int type_fd = -1, nth_fd = -1, failed = 0, nabsorbed = 0, nomem = 0, n, err;
	unsigned int left = 0;

	window("p6-setup");
	if (fault_injection_setup(&p))
		goto out;
	nth_fd = open("/proc/self/fail-nth", O_RDWR);
	if (nth_fd < 0) {
		fail(&p, "no /proc/self/fail-nth: %s", strerror(errno));
		goto out;
	}
	virtio_restore(group);
	if (!wait_blockdev(virtio_bdf, dev, sizeof(dev), 10)) {
		fail(&p, "the virtio disk is not bound to virtio-pci");
		goto out;
	}
	disk_roundtrip(&p, dev, SEED_F, FAIL_BYTES);
	if (p.failed || !virtio_down(&p, group, "identity"))
		goto out;
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/type", group);
	type_fd = open(path, O_WRONLY);
	if (type_fd < 0) {
		fail(&p, "cannot open %s: %s", path, strerror(errno));
		goto out;
	}

	for (n = 1; n <= FAIL_NTH_MAX; n++) {
		snprintf(name, sizeof(name), "p6-try-%d", n);
		window(name);
		err = write_nth(nth_fd, type_fd, n, "DMA", &left);
		if (err < 0) {
			fail(&p, "n=%d: /proc/self/fail-nth: %s", n, strerror(-err));
			goto out;
		}
		if (!err && left)
			break;	/* no allocation of the switch was failed: done */
		if (!err) {
			/*
			 * The n-th allocation failed and the switch succeeded
			 * anyway (a fallback absorbed the failure): the DMA
			 * domain must work; back to identity, and on.
			 */
			size_t l = strlen(absorbed);

			snprintf(absorbed + l, sizeof(absorbed) - l, " %d", n);
			nabsorbed++;
			snprintf(name, sizeof(name), "p6-absorbed-%d", n);
			window(name);
			group_type(group, type, sizeof(type));
			if (strcmp(type, "DMA")) {
				fail(&p, "n=%d: writing DMA succeeded but the group type reads %s",
				     n, type);
				break;
			}
			snprintf(step, sizeof(step),
				 "n=%d (writing DMA succeeded with the allocation failed)", n);
			if (!virtio_up(&p, dev, sizeof(dev), step))
				break;
			check_pattern(&p, dev, SEED_F, FAIL_BYTES);
			if (p.failed || !virtio_down(&p, group, "identity"))
				break;
			continue;
		}
		failed++;
		if (err == ENOMEM) {
			nomem++;
		} else {
			size_t l = strlen(errs);

			snprintf(errs + l, sizeof(errs) - l, " n=%d:%s", n, strerror(err));
		}
		snprintf(name, sizeof(name), "p6-fail-%d", n);
		window(name);
		if (left) {
			fail(&p, "n=%d: writing DMA failed (%s) but no allocation was failed",
			     n, strerror(err));
			break;
		}
		group_type(group, type, sizeof(type));
		if (strcmp(type, "identity")) {
			fail(&p, "n=%d: writing DMA failed (%s) and the group type reads %s",
			     n, strerror(err), type);
			break;
		}
		snprintf(step, sizeof(step), "n=%d (writing DMA failed: %s; type still identity)",
			 n, strerror(err));
		if (!virtio_up(&p, dev, sizeof(dev), step))
			break;
		check_pattern(&p, dev, SEED_F, FAIL_BYTES);
		if (p.failed) {
			say("e2e: n=%d: the failed attach (%s) broke the identity domain",
			    n, strerror(err));
			break;
		}
		if (!virtio_down(&p, group, NULL))
			break;
	}
	say("@@E2E INFO fail-nth-count %d", failed + nabsorbed);
	say("@@E2E INFO fail-nth-failed %d: ENOMEM %d%s", failed, nomem, errs);
	say("@@E2E INFO fail-nth-absorbed %d:%s", nabsorbed, nabsorbed ? absorbed : " none");
	if (p.failed)
		goto out;
	if (n > FAIL_NTH_MAX) {
		fail(&p, "writing DMA still failed with fail-nth %d", FAIL_NTH_MAX);
		goto out;
	}
	if (!failed) {
		fail(&p, "no failed allocation made the switch fail (fault injection inactive?)");
		goto out;
	}

	window("p6-dma");
	group_type(group, type, sizeof(type));
	if (strcmp(type, "DMA")) {
		fail(&p, "n=%d: writing DMA succeeded but the group type reads %s", n, type);
		goto out;
	}
	if (virtio_up(&p, dev, sizeof(dev), "p6-dma")) {
		check_pattern(&p, dev, SEED_F, FAIL_BYTES);
		disk_roundtrip(&p, dev, SEED_F + 1, FAIL_BYTES);
	}
out:
	if (type_fd >= 0)
		close(type_fd);
	if (nth_fd >= 0)
		close(nth_fd);
	window("p6-end");
	virtio_restore(group);
	if (failed && !p.failed)
		snprintf(p.reason, sizeof(p.reason),
			 "%d allocations failed one by one: %d failed the switch (identity and "
			 "data kept), %d absorbed; n=%d switched to DMA",
			 failed + nabsorbed, failed, nabsorbed, n);
	say("@@E2E RESULT %d %s %s", p.num, p.failed ? "FAIL" : "PASS",
	    p.failed ? p.reason : p.reason[0] ? p.reason : "ok");
}
