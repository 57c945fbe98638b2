// SPDX-License-Identifier: GPL-2.0
/*
 * The helpers of the end-to-end guest's phases (and of bench.c): the
 * console protocol (init.c describes it), files and sysfs, PCI drivers and
 * IOMMU groups, the disks' patterns, VFIO, the test modules.  No phase
 * here: init.c runs them, each from its guest/pN-*.c.
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
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "e2e.h"

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

int dma_buf_init(void)
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

/* Unbind @bdf, set its group's default domain @type (if any), bind @driver. */
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

/* ---- drivers bound under a timeout; the virtio disk down and up ---- */

/*
 * A driver probe whose DMA goes nowhere (an aborting STE, say) never
 * returns: it waits for the partition scan while holding the device lock.
 * A probe that oopses kills the binding process, which never releases that
 * lock either.  Drivers are therefore bound from a child process; if one
 * does not come back, or is killed, its pid is kept here and nothing may
 * touch that device again (nor sync, nor power off, which would wait for
 * the same lock).
 */
pid_t stuck_pid;

/*
 * Bind @bdf to @driver; 0, a negative errno, -ETIMEDOUT or -EOWNERDEAD (the
 * bind did not return, or was killed: stuck_pid set).
 */
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

		if (r == pid && WIFEXITED(status))
			return -WEXITSTATUS(status);
		if (r == pid) {
			say("e2e: the bind of %s to %s was killed (signal %d: an oops in the probe?); "
			    "the device's lock stays held", bdf, driver,
			    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
			stuck_pid = pid;
			return -EOWNERDEAD;
		}
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

	if (err == -EOWNERDEAD) {
		fail(p, "%s: binding virtio-pci killed the binding process (an oops in the probe?)",
		     step);
		return false;
	}
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

/*
 * The phases this kernel cannot run, and why: /e2e-skip, one "N reason" a
 * line, which e2e.sh writes from SKIP_PHASES (scripts/lib.sh, per queue).
 */
#define MAX_PHASE	32
static char skips[MAX_PHASE + 1][512];

void read_skips(const char *path)
{
	char line[600];
	FILE *f = fopen(path, "r");
	int n, off;

	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%d %n", &n, &off) == 1 && n > 0 && n <= MAX_PHASE)
			snprintf(skips[n], sizeof(skips[n]), "%s", line + off);
	}
	if (f)
		fclose(f);
}

/* Why phase @num is to be skipped, or NULL if it runs. */
const char *skip_reason(int num)
{
	return num > 0 && num <= MAX_PHASE && skips[num][0] ? skips[num] : NULL;
}

/*
 * Whether phase @num is to run: not if /e2e-skip names it (its result is
 * SKIP, with the kernel's reason), nor if @unmet says which earlier step it
 * needs failed (FAIL).
 */
bool phase_due(int num, const char *unmet)
{
	const char *why = skip_reason(num);

	if (why)
		say("@@E2E RESULT %d SKIP %s", num, why);
	else if (unmet)
		say("@@E2E RESULT %d FAIL skipped: %s", num, unmet);
	return !why && !unmet;
}

/*
 * Sync and power off, from a child: a step of the kernel's shutdown that
 * blocks for ever (a device lock held by a task that died in an oops, say)
 * then cannot keep the guest up until the host's timeout.  Returns only if
 * the machine is still up after @seconds, having said why.
 */
void power_off(int seconds)
{
	char path[64], wchan[128] = "?";
	int status;
	pid_t pid = fork();

	if (pid <= 0) {
		sync();
		reboot(RB_POWER_OFF);
		if (pid == 0)
			_exit(1);
		say("e2e: the power-off failed: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < seconds * 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			say("e2e: the power-off failed (its process ended with status %#x)", status);
			return;
		}
		msleep(100);
	}
	snprintf(path, sizeof(path), "/proc/%d/wchan", pid);
	read_file(path, wchan, sizeof(wchan));
	say("e2e: the power-off did not finish in %d s (its process waits in %s)",
	    seconds, wchan);
}

/*
 * The debug guest (e2e.kmemleak=1): after the phases, let kmemleak scan
 * twice (an object must stay unreferenced across scans to be reported) and
 * print what it found between markers; the host decides which reports are
 * the IOMMU code's.
 */
void kmemleak_report(void)
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

/*
 * Let the task's fail-nth reach every allocation: sleeping ones too
 * (failslab and fail_page_alloc skip them by default) and single pages
 * (page tables, CD tables, new slabs), without a report for each. Phases 6
 * and 7 each call it, so that either runs without the other.
 */
int fault_injection_setup(struct phase *p)
{
	static const char *const knobs[][2] = {
		{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/failslab/verbose", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/min-order", "0" },
	};
	int err;

	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		err = write_file(knobs[i][0], knobs[i][1]);
		if (err) {
			fail(p, "cannot write %s to %s: %s", knobs[i][1],
			     knobs[i][0], strerror(-err));
			return err;
		}
	}
	return 0;
}
