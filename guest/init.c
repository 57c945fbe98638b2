// SPDX-License-Identifier: GPL-2.0
/*
 * /init of the end-to-end guest: runs the SMMUv3 scenario and powers off
 * (or, with e2e.bench=..., the workloads of 'make bench': bench.c).
 *
 * It talks to the host through the console, one line at a time:
 *   @@E2E WINDOW <name>            trace lines that follow belong to <name>
 *   @@E2E INFO <key> <value>       facts the host needs (BDFs, groups)
 *   @@E2E RESULT <phase> PASS|FAIL <reason>
 *   @@E2E DONE
 * Every marker is drained to the UART before the work it announces starts,
 * so QEMU's trace lines (same output file) fall in the right window.
 *
 * The host passes the device addresses on the kernel command line:
 *   e2e.virtio=<bdf> e2e.nvme=<bdf> e2e.serial=<nvme serial>
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "e2e.h"

#define DISK_BYTES	(8 * MIB)	/* pattern size on each disk */
#define NVME_BYTES	(2 * MIB)

char virtio_bdf[32];
char nvme_bdf[32], nvme_serial[64];
char nvme2_bdf[32], nvme2_serial[64];

static void drain(void)
{
	fflush(stdout);
	tcdrain(STDOUT_FILENO);
}

void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	drain();
}

void window(const char *name)
{
	say("@@E2E WINDOW %s", name);
}

void fail(struct phase *p, const char *fmt, ...)
{
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
	say("e2e: phase %d: %s", p->num, p->reason);
}

void report(struct phase *p, const char *ok_reason)
{
	say("@@E2E RESULT %d %s %s", p->num, p->failed ? "FAIL" : "PASS",
	    p->failed ? p->reason : ok_reason);
}

int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;
	int err = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

void msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

bool wait_for_path(const char *path, int seconds)
{
	for (int i = 0; i < seconds * 10; i++) {
		if (exists(path))
			return true;
		msleep(100);
	}
	return false;
}

void cmdline_arg(const char *cmdline, const char *key, char *out, size_t len)
{
	const char *p = strstr(cmdline, key);

	out[0] = 0;
	if (!p)
		return;
	p += strlen(key);
	snprintf(out, len, "%.*s", (int)strcspn(p, " \n"), p);
}

/* The IOMMU group number of a PCI device, or -1. */
int pci_group(const char *bdf)
{
	char path[512], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = 0;
	return atoi(strrchr(link, '/') + 1);
}

int group_type(int group, char *buf, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/type", group);
	return read_file(path, buf, len);
}

void pci_driver(const char *bdf, char *buf, size_t len)
{
	char path[512], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		snprintf(buf, len, "none");
		return;
	}
	link[n] = 0;
	snprintf(buf, len, "%s", strrchr(link, '/') + 1);
}

/* The block device node (/dev/xxx) that sits below a PCI device. */
static bool pci_blockdev(const char *bdf, char *out, size_t len)
{
	char cmd[256];
	DIR *d;
	struct dirent *e;
	const char *subdirs[] = { "block", "nvme" };

	/* virtio: <bdf>/virtioN/block/vdX; nvme: <bdf>/nvme/nvmeN/nvmeNn1 */
	snprintf(cmd, sizeof(cmd), "/sys/bus/pci/devices/%s", bdf);
	d = opendir(cmd);
	if (!d)
		return false;
	while ((e = readdir(d))) {
		char sub[800];
		DIR *sd;
		struct dirent *se;

		if (!strncmp(e->d_name, "virtio", 6))
			snprintf(sub, sizeof(sub), "%s/%s/%s", cmd, e->d_name, subdirs[0]);
		else if (!strcmp(e->d_name, "nvme"))
			snprintf(sub, sizeof(sub), "%s/%s", cmd, e->d_name);
		else
			continue;
		sd = opendir(sub);
		if (!sd)
			continue;
		while ((se = readdir(sd))) {
			if (se->d_name[0] == '.')
				continue;
			if (!strncmp(e->d_name, "virtio", 6)) {
				snprintf(out, len, "/dev/%s", se->d_name);
			} else {
				/* nvme/nvme0 -> namespace nvme0n1 */
				snprintf(out, len, "/dev/%sn1", se->d_name);
			}
			closedir(sd);
			closedir(d);
			return true;
		}
		closedir(sd);
	}
	closedir(d);
	return false;
}

/*
 * The disk's node appears (device_add) before the disk can be opened
 * (bdev_add comes later in add_disk: ENXIO until then): wait for an open.
 */
bool wait_blockdev(const char *bdf, char *out, size_t len, int seconds)
{
	for (int i = 0; i < seconds * 10; i++) {
		if (pci_blockdev(bdf, out, len)) {
			int fd = open(out, O_RDONLY);

			if (fd >= 0) {
				close(fd);
				return true;
			}
		}
		msleep(100);
	}
	return false;
}

/* xorshift64 pattern, a function of (seed, offset), so any block can be checked. */
void fill(uint64_t *buf, size_t bytes, uint64_t seed, uint64_t off)
{
	for (size_t i = 0; i < bytes / 8; i++) {
		uint64_t x = seed ^ ((off / 8 + i) * 0x9e3779b97f4a7c15ULL);

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = x;
	}
}

static int drop_caches(void)
{
	/*
	 * With a driver bind stuck (stuck_pid), sync() waits for that device
	 * for ever; the reads are O_DIRECT anyway, and every write was
	 * fsync()ed on its own descriptor, so only the page cache is dropped.
	 */
	if (!stuck_pid)
		sync();
	return write_file("/proc/sys/vm/drop_caches", "3");
}

#define CHUNK	(1 * MIB)

/*
 * The buffer the disks DMA to and from.  virtio maps every segment of a
 * request on its own, so the number of map/unmap calls, and hence of TLB
 * invalidations, follows the physical layout of the buffer.  A huge page
 * makes each 1 MiB chunk one physically contiguous segment, so the command
 * counts of the report do not depend on how memory happened to be laid out.
 */
void *dma_buf;

static int dma_buf_init(void)
{
	dma_buf = mmap(NULL, 2 * MIB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	if (dma_buf != MAP_FAILED)
		return 0;
	say("e2e: no huge page (%s): command counts will vary from run to run",
	    strerror(errno));
	if (posix_memalign(&dma_buf, 4096, CHUNK))
		return -ENOMEM;
	return 0;
}

/* Write the pattern with O_DIRECT; 0 or a negative errno. */
static int disk_write(const char *dev, uint64_t seed, size_t bytes)
{
	void *buf = dma_buf;
	int fd, err = 0;

	fd = open(dev, O_WRONLY | O_DIRECT);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < bytes && !err; off += CHUNK) {
		fill(buf, CHUNK, seed, off);
		if (pwrite(fd, buf, CHUNK, off) != CHUNK)
			err = errno ? -errno : -EIO;
	}
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

/*
 * Read back with O_DIRECT (through the device's DMA, not the page cache) and
 * compare; returns 0, a negative errno, or the 1-based index of the first
 * bad MiB.
 */
static int disk_verify(const char *dev, uint64_t seed, size_t bytes)
{
	void *buf = dma_buf, *want = malloc(CHUNK);
	int fd, ret = 0;

	if (!want)
		return -ENOMEM;
	drop_caches();
	fd = open(dev, O_RDONLY | O_DIRECT);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	for (size_t off = 0; off < bytes && !ret; off += CHUNK) {
		memset(buf, 0, CHUNK);
		if (pread(fd, buf, CHUNK, off) != CHUNK) {
			ret = errno ? -errno : -EIO;
			break;
		}
		fill(want, CHUNK, seed, off);
		if (memcmp(buf, want, CHUNK))
			ret = off / CHUNK + 1;
	}
	close(fd);
out:
	free(want);
	return ret;
}

/* Write then verify; records a failure in @p. */
void disk_roundtrip(struct phase *p, const char *dev, uint64_t seed, size_t bytes)
{
	int err = disk_write(dev, seed, bytes);

	if (err) {
		fail(p, "write to %s failed: %s", dev, strerror(-err));
		return;
	}
	err = disk_verify(dev, seed, bytes);
	if (err < 0)
		fail(p, "read back from %s failed: %s", dev, strerror(-err));
	else if (err)
		fail(p, "data read back from %s differs in MiB %d", dev, err - 1);
}

void check_pattern(struct phase *p, const char *dev, uint64_t seed, size_t bytes)
{
	int err = disk_verify(dev, seed, bytes);

	if (err < 0)
		fail(p, "read from %s failed: %s", dev, strerror(-err));
	else if (err)
		fail(p, "data on %s differs in MiB %d", dev, err - 1);
}

/* ---- phase 1: probe ---- */
static void phase_probe(void)
{
	struct phase p = { .num = 1 };
	DIR *d = opendir("/sys/class/iommu");
	struct dirent *e;
	int smmus = 0, endpoints = 0;

	window("p1-probe");
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		say("@@E2E INFO iommu %s", e->d_name);
		smmus++;
	}
	if (d)
		closedir(d);
	if (!smmus)
		fail(&p, "no IOMMU registered in /sys/class/iommu");

	d = opendir("/sys/bus/pci/devices");
	if (!d) {
		fail(&p, "no PCI bus");
	} else {
		while ((e = readdir(d))) {
			char path[512], cls[32], type[32];
			int group;

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", e->d_name);
			if (read_file(path, cls, sizeof(cls)))
				continue;
			/* Bridges are not endpoints (0x0600xx host, 0x0604xx PCI). */
			if (!strncmp(cls, "0x0600", 6) || !strncmp(cls, "0x0604", 6))
				continue;
			endpoints++;
			group = pci_group(e->d_name);
			if (group < 0) {
				fail(&p, "PCI endpoint %s (class %s) is in no IOMMU group", e->d_name, cls);
				continue;
			}
			if (group_type(group, type, sizeof(type))) {
				fail(&p, "cannot read the type of group %d", group);
				continue;
			}
			say("@@E2E INFO group %s %d %s", e->d_name, group, type);
			if (strcmp(type, "DMA"))
				fail(&p, "group %d of %s has default domain type %s, not DMA",
				     group, e->d_name, type);
		}
		closedir(d);
	}
	if (endpoints < 2)
		fail(&p, "expected the virtio disk and the nvme, found %d endpoints", endpoints);
	report(&p, "SMMU probed, every PCI endpoint in a group of type DMA");
}

/* ---- phase 2: DMA through translation ---- */
#define SEED_A	0x5eed0000000000a1ULL
#define SEED_B	0x5eed0000000000b2ULL
#define SEED_C	0x5eed0000000000c3ULL
#define SEED_N	0x5eed0000000000d4ULL

static bool phase_dma(void)
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

/* ---- phase 3: domain switching ---- */
int rebind(struct phase *p, const char *bdf, const char *driver, int group,
		  const char *type)
{
	char path[512], cur[32];

	pci_driver(bdf, cur, sizeof(cur));
	if (strcmp(cur, "none")) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
		if (write_file(path, bdf)) {
			fail(p, "unbinding %s from %s failed", bdf, cur);
			return -1;
		}
	}
	if (type) {
		snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/type", group);
		if (write_file(path, type)) {
			fail(p, "setting group %d type to %s failed: %s", group, type,
			     strerror(errno));
			return -1;
		}
		group_type(group, cur, sizeof(cur));
		if (strcmp(cur, type)) {
			fail(p, "group %d type reads %s after writing %s", group, cur, type);
			return -1;
		}
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	if (write_file(path, bdf)) {
		fail(p, "binding %s to %s failed", bdf, driver);
		return -1;
	}
	return 0;
}

static void phase_switch(void)
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

/* ---- an nvme handed to VFIO and back (phases 4, 8, 9 and 11) ---- */

/* Bind a PCI device to vfio-pci; its group's VFIO node must appear. */
bool pci_to_vfio(struct phase *p, const char *bdf)
{
	int group = pci_group(bdf);
	char path[64], drv[32];

	if (set_override(bdf, "vfio-pci")) {
		fail(p, "cannot set driver_override of %s", bdf);
		return false;
	}
	if (rebind(p, bdf, "vfio-pci", group, NULL))
		return false;
	pci_driver(bdf, drv, sizeof(drv));
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	if (strcmp(drv, "vfio-pci") || !wait_for_path(path, 5)) {
		fail(p, "%s not bound to vfio-pci (driver %s) or no %s", bdf, drv, path);
		return false;
	}
	return true;
}

/* Give an nvme back to its driver and find its block device. */
bool pci_from_vfio(struct phase *p, const char *bdf, char *dev, size_t len)
{
	set_override(bdf, NULL);
	if (rebind(p, bdf, "nvme", pci_group(bdf), NULL))
		return false;
	if (!wait_blockdev(bdf, dev, len, 30)) {
		fail(p, "the block device of %s did not come back after VFIO", bdf);
		return false;
	}
	return true;
}

bool nvme_to_vfio(struct phase *p)
{
	return pci_to_vfio(p, nvme_bdf);
}

bool nvme_from_vfio(struct phase *p, char *dev, size_t len)
{
	return pci_from_vfio(p, nvme_bdf, dev, len);
}

/*
 * Load the test module /NAME.ko with PARAMS, read its verdict (the
 * read-only parameter "result") into RES and unload it: 0, or -errno of
 * the step that failed.
 */
int test_module(const char *name, const char *params, char *res, size_t len)
{
	char path[128];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/%s.ko", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, params, 0))
		err = -errno;
	close(fd);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/sys/module/%s/parameters/result", name);
	err = read_file(path, res, len);
	if (syscall(SYS_delete_module, name, O_NONBLOCK) && !err)
		err = -errno;
	return err;
}

/* ---- phase 4: VFIO ---- */
int run(char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void phase_vfio(void)
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

/* ---- helpers for phases 5 and 6 ---- */

/*
 * A driver probe whose DMA goes nowhere (an aborting STE, say) never
 * returns: it waits for the partition scan while holding the device lock.
 * Drivers are therefore bound from a child process; if one does not come
 * back, its pid is kept here and nothing may touch that device again (nor
 * sync, nor power off, which would wait for the same lock).
 */
pid_t stuck_pid;

/* Bind @bdf to @driver; 0, a negative errno, or -ETIMEDOUT (stuck_pid set). */
int bind_driver(const char *bdf, const char *driver)
{
	char path[512];
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", driver);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(-write_file(path, bdf) & 0xff);
	for (int i = 0; i < BIND_TIMEOUT * 50; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? -WEXITSTATUS(status) : -EINTR;
		if (r < 0)
			return -errno;
		msleep(20);
	}
	stuck_pid = pid;
	return -ETIMEDOUT;
}

/* What the stuck binder is doing, for the console. */
void show_stuck(void)
{
	char path[64], buf[512];

	if (!stuck_pid)
		return;
	snprintf(path, sizeof(path), "/proc/%d/wchan", stuck_pid);
	if (read_file(path, buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "?");
	say("e2e: the driver bind (pid %d) is stuck in %s", stuck_pid, buf);
}

int unbind_driver(const char *bdf)
{
	char path[512], cur[32];

	pci_driver(bdf, cur, sizeof(cur));
	if (!strcmp(cur, "none"))
		return 0;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
	return write_file(path, bdf);
}

int set_override(const char *bdf, const char *driver)
{
	char path[512];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	return write_file(path, driver ? driver : "\n");
}

/* Unbind the virtio disk and give its group the default domain @type. */
bool virtio_down(struct phase *p, int group, const char *type)
{
	char path[512], cur[32];
	int err = unbind_driver(virtio_bdf);

	if (err) {
		fail(p, "unbinding %s failed: %s", virtio_bdf, strerror(-err));
		return false;
	}
	if (!type)
		return true;
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/type", group);
	err = write_file(path, type);
	if (err) {
		fail(p, "setting group %d type to %s failed: %s", group, type, strerror(-err));
		return false;
	}
	group_type(group, cur, sizeof(cur));
	if (strcmp(cur, type)) {
		fail(p, "group %d type reads %s after writing %s", group, cur, type);
		return false;
	}
	return true;
}

/* Bind virtio-pci to the virtio disk and find its block device. */
bool virtio_up(struct phase *p, char *dev, size_t len, const char *step)
{
	int err = bind_driver(virtio_bdf, "virtio-pci");

	if (err == -ETIMEDOUT) {
		show_stuck();
		fail(p, "%s: binding virtio-pci did not return in %d s (the disk's DMA goes nowhere)",
		     step, BIND_TIMEOUT);
		return false;
	}
	if (err) {
		fail(p, "%s: binding virtio-pci failed: %s", step, strerror(-err));
		return false;
	}
	if (!wait_blockdev(virtio_bdf, dev, len, 10)) {
		fail(p, "%s: no block device after binding virtio-pci", step);
		return false;
	}
	return true;
}

/* Leave the virtio disk bound to virtio-pci in a DMA domain, if it is not. */
void virtio_restore(int group)
{
	struct phase scratch = { .num = 0, .failed = true };
	char drv[32], type[32], dev[320];

	if (stuck_pid)
		return;
	set_override(virtio_bdf, NULL);
	pci_driver(virtio_bdf, drv, sizeof(drv));
	group_type(group, type, sizeof(type));
	if (!strcmp(drv, "virtio-pci") && !strcmp(type, "DMA"))
		return;
	if (virtio_down(&scratch, group, strcmp(type, "DMA") ? "DMA" : NULL))
		virtio_up(&scratch, dev, sizeof(dev), "restore");
}

/* ---- phase 5: domain cycling ---- */
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

/*
 * Blocked: the group owned by VFIO without a domain.  Setting the container
 * claims DMA ownership, which attaches the group's blocking domain (no IOMMU
 * type is set, so no other domain replaces it), held @hold_ms; closing
 * releases it.
 */
void vfio_block(struct phase *p, int group, int hold_ms)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];
	int container, fd;

	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0) {
		fail(p, "cannot open /dev/vfio/vfio: %s", strerror(errno));
		return;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		fail(p, "cannot open %s: %s", path, strerror(errno));
		close(container);
		return;
	}
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		fail(p, "VFIO API version mismatch");
	else if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st))
		fail(p, "VFIO_GROUP_GET_STATUS: %s", strerror(errno));
	else if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		fail(p, "VFIO group %d is not viable", group);
	else if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &container))
		fail(p, "VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
	else if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) ||
		 !(st.flags & VFIO_GROUP_FLAGS_CONTAINER_SET))
		fail(p, "group %d has no container after VFIO_GROUP_SET_CONTAINER", group);
	else
		msleep(hold_ms);	/* the device has no driver to DMA */
	close(fd);
	close(container);
}

static void phase_cycle(void)
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

/* ---- phase 6: a failed attach leaves the old domain working ---- */
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

static void phase_failed_attach(void)
{
	static const char *const knobs[][2] = {
		{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/failslab/verbose", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
		/* single pages too: page tables, CD tables, new slabs */
		{ "/sys/kernel/debug/fail_page_alloc/min-order", "0" },
	};
	struct phase p = { .num = 6 };
	int group = pci_group(virtio_bdf);
	char dev[320], name[64], path[512], type[32], errs[128] = "", step[128];
	char absorbed[128] = "";
	int type_fd = -1, nth_fd = -1, failed = 0, nabsorbed = 0, nomem = 0, n, err;
	unsigned int left = 0;

	window("p6-setup");
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		err = write_file(knobs[i][0], knobs[i][1]);
		if (err) {
			fail(&p, "cannot write %s to %s: %s", knobs[i][1], knobs[i][0],
			     strerror(-err));
			goto out;
		}
	}
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

/*
 * The debug guest (e2e.kmemleak=1): after the phases, let kmemleak scan
 * twice (an object must stay unreferenced across scans to be reported) and
 * print what it found between markers; the host decides which reports are
 * the IOMMU code's.
 */
static void kmemleak_report(void)
{
	const char *path = "/sys/kernel/debug/kmemleak";
	char buf[4096];
	ssize_t n;
	int fd;

	window("kmemleak");
	if (write_file(path, "scan") || (msleep(6000), write_file(path, "scan"))) {
		say("@@E2E INFO kmemleak unavailable");
		return;
	}
	say("@@E2E KMEMLEAK BEGIN");
	fd = open(path, O_RDONLY);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
		if (fwrite(buf, 1, n, stdout) != (size_t)n)
			break;
	}
	if (fd >= 0)
		close(fd);
	fflush(stdout);
	say("@@E2E KMEMLEAK END");
}

int main(void)
{
	char cmdline[1024], arg[16];
	bool virtio_ok, stage2, kmemleak;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	/* The kernel opened /dev/console as stdio if the initramfs has it. */
	if (fcntl(STDOUT_FILENO, F_GETFD) < 0) {
		int fd = open("/dev/console", O_RDWR);

		for (int i = 0; fd >= 0 && i < 3; i++)
			if (i != fd)
				dup2(fd, i);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	read_file("/proc/cmdline", cmdline, sizeof(cmdline));
	cmdline_arg(cmdline, "e2e.virtio=", virtio_bdf, sizeof(virtio_bdf));
	cmdline_arg(cmdline, "e2e.nvme=", nvme_bdf, sizeof(nvme_bdf));
	cmdline_arg(cmdline, "e2e.serial=", nvme_serial, sizeof(nvme_serial));
	cmdline_arg(cmdline, "e2e.nvme2=", nvme2_bdf, sizeof(nvme2_bdf));
	cmdline_arg(cmdline, "e2e.serial2=", nvme2_serial, sizeof(nvme2_serial));
	cmdline_arg(cmdline, "e2e.stage2=", arg, sizeof(arg));
	stage2 = !strcmp(arg, "1");
	cmdline_arg(cmdline, "e2e.kmemleak=", arg, sizeof(arg));
	kmemleak = !strcmp(arg, "1");
	say("@@E2E INFO virtio-bdf %s", virtio_bdf);
	say("@@E2E INFO nvme-bdf %s", nvme_bdf);
	if (nvme2_bdf[0])
		say("@@E2E INFO nvme2-bdf %s", nvme2_bdf);

	if (dma_buf_init()) {
		say("e2e: out of memory");
		reboot(RB_POWER_OFF);
	}
	cmdline_arg(cmdline, "e2e.bench=", arg, sizeof(arg));
	if (arg[0]) {
		/* 'make bench': the workloads of bench.c instead of the phases */
		bench_main(arg);
		window("end");
		say("@@E2E DONE");
		if (stuck_pid)
			return 1;	/* as below */
		sync();
		reboot(RB_POWER_OFF);
		return 0;
	}
	phase_probe();
	virtio_ok = phase_dma();
	if (virtio_ok)
		phase_switch();
	else
		say("@@E2E RESULT 3 FAIL skipped: phase 2 failed");
	phase_vfio();
	/*
	 * Phases 8, 10, 11, 12 and 9 run before 6 and 7: on the pristine
	 * base, phase 6 leaves the virtio disk's probe stuck, and the base's
	 * figures of the stage-2, SVA, two-SMMU and stress phases are wanted
	 * too.
	 */
	if (virtio_ok)
		phase_cycle();
	else
		say("@@E2E RESULT 5 FAIL skipped: phase 2 failed");
	phase_stage2(stage2);
	phase_sva();
	/* QEMU 11.1: an nvme behind each of two SMMUs */
	if (nvme2_bdf[0]) {
		phase_two_smmus();
		phase_cross_refused();
	}
	if (virtio_ok) {
		phase_stress(cmdline, stage2);
		phase_failed_attach();
		/*
		 * A bind left stuck by phase 6 (the pristine base) holds the
		 * virtio disk's device lock: phase 7 would wait on it forever.
		 */
		if (stuck_pid)
			say("@@E2E RESULT 7 FAIL skipped: a driver bind is stuck since phase 6");
		else
			phase_attach_from_dma();
	} else {
		say("@@E2E RESULT 9 FAIL skipped: phase 2 failed");
		say("@@E2E RESULT 6 FAIL skipped: phase 2 failed");
		say("@@E2E RESULT 7 FAIL skipped: phase 2 failed");
	}
	if (kmemleak)
		kmemleak_report();

	window("end");
	say("@@E2E DONE");
	if (stuck_pid) {
		/*
		 * sync and power-off would wait for the stuck device: end init
		 * instead; the kernel panics and, with panic=-1 and QEMU's
		 * -no-reboot, QEMU exits.
		 */
		say("e2e: a driver bind is stuck; ending init instead of powering off");
		return 1;
	}
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
