// SPDX-License-Identifier: GPL-2.0
/*
 * The workloads of 'make bench', run by /init instead of the scenario when
 * the kernel command line says e2e.bench=all (every workload),
 * e2e.bench=boot (only the first DMA, for more samples of the boot time) or
 * e2e.bench=pair (two SMMUs, QEMU 11.1: the first DMA, then the VFIO churn
 * with both nvmes in one container).
 *
 * Same console protocol as the scenario (init.c), read by
 * scripts/bench-report.py:
 *   @@E2E WINDOW <name>          the trace lines that follow belong to <name>
 *   @@E2E INFO units:<name> <n>  units of work (I/Os, switches, unmaps) done
 *                                in the windows called <name>
 *   @@E2E INFO t:<metric>:<rep> <ns>  one repetition's latency
 *   @@E2E RESULT <n> PASS|FAIL <reason>   workload n's data check
 *   @@E2E DONE
 * Latencies are taken with CLOCK_MONOTONIC in the guest; under TCG they only
 * mean something as ratios between kernels run on the same host.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"

#define IO_REPS		6	/* repetitions of each I/O workload */
#define IO_LARGE	(1 * MIB)	/* request size of io-large */
#define IO_LARGE_BYTES	(16 * MIB)
#define IO_SMALL	4096
#define IO_SMALL_BYTES	(2 * MIB)
#define SWITCH_CYCLES	5	/* DMA -> identity -> DMA -> blocked -> DMA */
#define SWITCH_BYTES	(1 * MIB)
#define VFIO_ROUNDS	"10"	/* vfio-nvme --churn: rounds over its cases */
#define DMAB_REPS	5
#define DMAB_SECONDS	1
#define SEED_BENCH	0x5eed00000000be00ULL

enum { W_BOOT = 1, W_IO_LARGE, W_IO_SMALL, W_SWITCH, W_VFIO, W_DMAB, W_PAIR };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sample(const char *metric, int rep, uint64_t ns)
{
	say("@@E2E INFO t:%s:%d %llu", metric, rep, (unsigned long long)ns);
}

/* ---- 1: boot to the first DMA ---- */

/*
 * The first DMA user space sees: a 4 KiB O_DIRECT read of the virtio disk
 * as soon as it can be opened.  CLOCK_MONOTONIC counts from the kernel's
 * start, so the sample is the time from boot to that read's completion.
 */
static bool bench_boot(char *dev, size_t len)
{
	struct phase p = { .num = W_BOOT };
	int fd = -1;

	if (!wait_blockdev(virtio_bdf, dev, len, 30)) {
		fail(&p, "no block device under %s", virtio_bdf);
	} else {
		fd = open(dev, O_RDONLY | O_DIRECT);
		if (fd < 0 || pread(fd, dma_buf, 4096, 0) != 4096)
			fail(&p, "first read of %s failed: %s", dev, strerror(errno));
	}
	if (!p.failed)
		sample("boot", 1, now_ns());
	if (fd >= 0)
		close(fd);
	say("@@E2E INFO units:boot 1");
	report(&p, "the virtio disk answered its first O_DIRECT read");
	return !p.failed;
}

/* ---- 2, 3: sequential O_DIRECT I/O, data verified ---- */

/*
 * Write @bytes in requests of @req, then read them back in requests of
 * @req and compare; the time per request covers both directions.  The
 * buffer is init.c's dma_buf, a huge page: a 1 MiB request is one segment.
 */
static void io_rep(struct phase *p, const char *dev, size_t req, size_t bytes,
		   uint64_t seed, uint64_t *ns)
{
	uint64_t *want = malloc(req), t0;
	int fd = open(dev, O_RDWR | O_DIRECT);

	if (fd < 0 || !want) {
		fail(p, "cannot open %s: %s", dev, strerror(errno));
		goto out;
	}
	t0 = now_ns();
	for (size_t off = 0; off < bytes; off += req) {
		fill(dma_buf, req, seed, off);
		if (pwrite(fd, dma_buf, req, off) != (ssize_t)req) {
			fail(p, "write of %zu bytes at %zu failed: %s", req, off, strerror(errno));
			goto out;
		}
	}
	if (fsync(fd)) {
		fail(p, "fsync of %s failed: %s", dev, strerror(errno));
		goto out;
	}
	for (size_t off = 0; off < bytes; off += req) {
		memset(dma_buf, 0, req);
		if (pread(fd, dma_buf, req, off) != (ssize_t)req) {
			fail(p, "read of %zu bytes at %zu failed: %s", req, off, strerror(errno));
			goto out;
		}
		fill(want, req, seed, off);
		if (memcmp(dma_buf, want, req)) {
			fail(p, "data read back at offset %zu differs", off);
			goto out;
		}
	}
	*ns = now_ns() - t0;
out:
	if (fd >= 0)
		close(fd);
	free(want);
}

static void bench_io(int num, const char *name, const char *dev, size_t req, size_t bytes)
{
	struct phase p = { .num = num };
	unsigned int ios = 2 * (bytes / req);
	uint64_t ns = 0;

	window(name);
	for (int r = 1; r <= IO_REPS && !p.failed; r++) {
		io_rep(&p, dev, req, bytes, SEED_BENCH + num * 16 + r, &ns);
		if (!p.failed)
			sample(name, r, ns / ios);
	}
	say("@@E2E INFO units:%s %u", name, IO_REPS * ios);
	window("idle");
	report(&p, "every request's data read back intact");
}

/* ---- 4: domain switching, a data check at every step ---- */

static void switch_data(struct phase *p, const char *dev, uint64_t *seed)
{
	window("switch-data");
	check_pattern(p, dev, *seed, SWITCH_BYTES);
	if (!p->failed)
		disk_roundtrip(p, dev, ++*seed, SWITCH_BYTES);
}

/* Unbind the disk, give its group @type, bind it again: one switch. */
static bool switch_to(struct phase *p, int group, const char *type, char *dev,
		      size_t len, uint64_t *ns)
{
	uint64_t t0 = now_ns();

	window("switch");
	if (!virtio_down(p, group, type) || !virtio_up(p, dev, len, type))
		return false;
	*ns += now_ns() - t0;
	return true;
}

/*
 * Into the blocked domain: the disk on vfio-pci, its group in a VFIO
 * container without an IOMMU type (as phase 5 of the scenario), then back
 * to virtio-pci in the DMA domain.
 */
static bool switch_blocked(struct phase *p, int group, char *dev, size_t len,
			   uint64_t *ns)
{
	uint64_t t0 = now_ns();
	char path[64], drv[32];
	int err;

	window("switch");
	if (!virtio_down(p, group, NULL))
		return false;
	if (set_override(virtio_bdf, "vfio-pci")) {
		fail(p, "cannot set driver_override of %s", virtio_bdf);
		return false;
	}
	err = bind_driver(virtio_bdf, "vfio-pci");
	pci_driver(virtio_bdf, drv, sizeof(drv));
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	if (err || strcmp(drv, "vfio-pci") || !wait_for_path(path, 5)) {
		fail(p, "binding vfio-pci to %s failed (driver %s)", virtio_bdf, drv);
		return false;
	}
	vfio_block(p, group, 0);
	if (p->failed)
		return false;
	if (unbind_driver(virtio_bdf) || set_override(virtio_bdf, NULL)) {
		fail(p, "releasing %s from vfio-pci failed", virtio_bdf);
		return false;
	}
	if (!virtio_up(p, dev, len, "blocked -> DMA"))
		return false;
	*ns += now_ns() - t0;
	return true;
}

static void bench_switch(char *dev, size_t len)
{
	struct phase p = { .num = W_SWITCH };
	int group = pci_group(virtio_bdf);
	uint64_t seed = SEED_BENCH + 0x100;
	int c;

	window("switch-data");
	disk_roundtrip(&p, dev, seed, SWITCH_BYTES);
	for (c = 1; c <= SWITCH_CYCLES && !p.failed; c++) {
		uint64_t ns = 0;

		if (!switch_to(&p, group, "identity", dev, len, &ns))
			break;
		switch_data(&p, dev, &seed);
		if (p.failed || !switch_to(&p, group, "DMA", dev, len, &ns))
			break;
		switch_data(&p, dev, &seed);
		/* DMA -> blocked -> DMA counts as two switches */
		if (p.failed || !switch_blocked(&p, group, dev, len, &ns))
			break;
		switch_data(&p, dev, &seed);
		if (!p.failed)
			sample("switch", c, ns / 4);
	}
	say("@@E2E INFO units:switch %d", 4 * SWITCH_CYCLES);
	window("idle");
	virtio_restore(group);
	report(&p, "DMA -> identity -> DMA -> blocked -> DMA, data intact at every step");
}

/* ---- 5: VFIO type1 map/unmap churn (vfio-nvme --churn) ---- */

static void bench_vfio(void)
{
	struct phase p = { .num = W_VFIO };
	char *argv[] = { "/vfio-nvme", "--churn", VFIO_ROUNDS, nvme_bdf, nvme_serial, NULL };
	int rc;

	window("vfio-setup");
	if (nvme_to_vfio(&p)) {
		rc = run(argv);	/* windows vfio-churn, vfio-teardown */
		if (rc)
			fail(&p, "vfio-nvme --churn exited with %d", rc);
	}
	window("idle");
	report(&p, "every mapped IOVA took the DMA, every unmapped one faulted without data");
}

/*
 * ---- 7: the same churn with the nvme of the second SMMU in the container
 * (vfio-nvme --churn --pair): every unmap must reach both SMMUs ----
 */
static void bench_vfio_pair(void)
{
	struct phase p = { .num = W_PAIR };
	char *argv[] = { "/vfio-nvme", "--churn", VFIO_ROUNDS, "--window", "pair",
			 "--pair", nvme2_bdf, nvme2_serial, nvme_bdf, nvme_serial, NULL };
	struct phase scratch = { .num = 0 };
	char dev[320];
	int rc;

	window("pair-setup");
	if (nvme_to_vfio(&p) && pci_to_vfio(&p, nvme2_bdf)) {
		rc = run(argv);	/* windows pair-churn, pair-teardown */
		if (rc)
			fail(&p, "vfio-nvme --churn --pair exited with %d", rc);
	}
	window("idle");
	pci_from_vfio(&scratch, nvme2_bdf, dev, sizeof(dev));
	nvme_from_vfio(&scratch, dev, sizeof(dev));
	report(&p, "every mapped IOVA took the DMA, every unmapped one faulted without data, both SMMUs in the container");
}

/* ---- 6: dma_map_benchmark on the nvme, strict and lazy ---- */

/* include/linux/map_benchmark.h (the same in 6.1 and 6.12) */
struct map_benchmark {
	uint64_t avg_map_100ns, map_stddev, avg_unmap_100ns, unmap_stddev;
	uint32_t threads, seconds;
	int32_t node;
	uint32_t dma_bits, dma_dir, dma_trans_ns, granule;
	uint8_t expansion[76];
};
#define DMA_MAP_BENCHMARK	_IOWR('d', 1, struct map_benchmark)

/* The nvme on the dma_map_benchmark driver, its group of @type. */
static bool nvme_to_dmab(struct phase *p, const char *type)
{
	int group = pci_group(nvme_bdf), err;
	char path[512], cur[32];

	if (unbind_driver(nvme_bdf) || set_override(nvme_bdf, "dma_map_benchmark")) {
		fail(p, "cannot unbind %s for dma_map_benchmark", nvme_bdf);
		return false;
	}
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/type", group);
	err = write_file(path, type);
	group_type(group, cur, sizeof(cur));
	if (err || strcmp(cur, type)) {
		fail(p, "group %d type %s after writing %s (%s)", group, cur, type,
		     strerror(-err));
		return false;
	}
	err = bind_driver(nvme_bdf, "dma_map_benchmark");
	if (err || !wait_for_path("/sys/kernel/debug/dma_map_benchmark", 5)) {
		fail(p, "binding dma_map_benchmark to %s failed: %s", nvme_bdf, strerror(-err));
		return false;
	}
	return true;
}

static void dmab_run(struct phase *p, int fd, const char *mode, int threads, int pages)
{
	char name[64], metric[80];

	snprintf(name, sizeof(name), "dmab-%s-%dt-%dk", mode, threads, pages * 4);
	window(name);
	for (int r = 1; r <= DMAB_REPS && !p->failed; r++) {
		struct map_benchmark mb = {
			.threads = threads, .seconds = DMAB_SECONDS, .node = -1,
			.dma_bits = 32, .dma_dir = 0, .granule = pages,
		};

		if (ioctl(fd, DMA_MAP_BENCHMARK, &mb)) {
			fail(p, "%s: DMA_MAP_BENCHMARK failed: %s", name, strerror(errno));
			break;
		}
		snprintf(metric, sizeof(metric), "%s-map", name);
		sample(metric, r, mb.avg_map_100ns * 100);
		snprintf(metric, sizeof(metric), "%s-unmap", name);
		sample(metric, r, mb.avg_unmap_100ns * 100);
	}
	window("idle");
}

static void bench_dmab(void)
{
	static const char *const modes[][2] = { { "strict", "DMA" }, { "lazy", "DMA-FQ" } };
	struct phase p = { .num = W_DMAB };
	char dev[320];

	for (unsigned int m = 0; m < 2 && !p.failed; m++) {
		int fd;

		window("dmab-setup");
		if (!nvme_to_dmab(&p, modes[m][1]))
			break;
		fd = open("/sys/kernel/debug/dma_map_benchmark", O_RDWR);
		if (fd < 0) {
			fail(&p, "cannot open dma_map_benchmark: %s", strerror(errno));
			break;
		}
		for (int threads = 1; threads <= 2; threads++) {
			dmab_run(&p, fd, modes[m][0], threads, 1);
			dmab_run(&p, fd, modes[m][0], threads, 16);
		}
		close(fd);
	}
	window("dmab-setup");
	unbind_driver(nvme_bdf);
	set_override(nvme_bdf, NULL);
	{
		char path[512];

		snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/type",
			 pci_group(nvme_bdf));
		write_file(path, "DMA");
	}
	if (bind_driver(nvme_bdf, "nvme") || !wait_blockdev(nvme_bdf, dev, sizeof(dev), 30))
		fail(&p, "the nvme did not come back on its driver");
	window("idle");
	report(&p, "every dma_map_benchmark run completed, the nvme works again");
}

void bench_main(const char *what)
{
	char dev[320];
	cpu_set_t cpu0;
	bool ok;

	/*
	 * The workloads on one vCPU: whether the submitter and the completion
	 * run on the same vCPU or not changes a request's time under TCG, and
	 * the scheduler's choice differed from boot to boot.
	 */
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	if (sched_setaffinity(0, sizeof(cpu0), &cpu0))
		say("bench: cannot pin to CPU 0: %s", strerror(errno));
	window("boot");
	ok = bench_boot(dev, sizeof(dev));
	window("idle");
	if (!strcmp(what, "pair") && nvme2_bdf[0])
		bench_vfio_pair();
	if (strcmp(what, "all"))
		return;
	if (ok) {
		bench_io(W_IO_LARGE, "io-large", dev, IO_LARGE, IO_LARGE_BYTES);
		bench_io(W_IO_SMALL, "io-4k", dev, IO_SMALL, IO_SMALL_BYTES);
		bench_switch(dev, sizeof(dev));
	}
	bench_vfio();
	bench_dmab();
}
