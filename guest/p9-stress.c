// SPDX-License-Identifier: GPL-2.0
/*
 * Phase 9: stress.  The virtio disk is moved between its domains in a seeded
 * random order, e2e.stress=N times (default 1000), each move followed by a
 * data check, while a second process keeps the nvme reading and writing a
 * verified pattern through its own DMA domain; the nvme is handed to VFIO
 * and back between the rounds of moves.
 *
 * The virtio disk's states:
 *   dma       virtio-pci bound, group default domain DMA (stage 1)
 *   identity  virtio-pci bound, group default domain identity (bypass)
 *   blocked   vfio-pci bound, the group in a VFIO container with no IOMMU
 *             type: DMA ownership claimed, the blocking domain attached
 *   s2        (SMMU with stage 2 only) vfio-pci bound, the container set to
 *             VFIO_TYPE1_NESTING_IOMMU: the driver's stage-2 domain, with
 *             a buffer mapped so that closing it unmaps through stage 2
 * The data check of dma and identity: the pattern last written (in some
 * earlier dma or identity state, whatever came between) must read back,
 * then a new one is written to another slot and read back, all with
 * O_DIRECT.  blocked and s2 have no driver to move data; what they must
 * show is that nothing of the disk's gets through, which the host checks
 * in their windows, and the next data check proves the data survived.
 *
 * Windows: p9-s<N>-<from>-<to> while moving (the driver probe included),
 * p9-t<N>-<state> for the state's data check, p9-vfio-<k> and p9-nvme-<k>
 * for the nvme's VFIO rounds.  Bounded: e2e.stress_secs (default 1500 s)
 * ends the loop early, which fails the phase.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "e2e.h"

#define STRESS_DEFAULT	1000
#define STRESS_SECS	1500
#define STRESS_SEED	0x5eed000000009999ULL
#define BLK		(64 * 1024)	/* one data check moves 64 KiB each way */
#define SLOTS		16		/* virtio: slots the checks rotate over */
#define NVME_SLOTS	32
#define NVME_SEED	0x5eed00000000a000ULL
#define VFIO_ROUNDS	3		/* nvme VFIO rounds between the moves */
#define S2_IOVA		0x40000000ULL
#define WORKER_WAIT_MS	60000		/* a worker's last I/O may take this long */

enum state { S_DMA, S_IDENTITY, S_BLOCKED, S_S2, S_NR };
static const char *const state_name[S_NR] = { "dma", "identity", "blocked", "s2" };

static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Write one block of pattern (@seed) at @slot, or only check it; 0 or why not. */
static const char *block_io(const char *dev, void *buf, int slot, uint64_t seed,
			    bool write)
{
	void *want = (char *)buf + BLK;
	off_t off = (off_t)slot * BLK;
	const char *err = NULL;
	int fd;

	fd = open(dev, (write ? O_RDWR : O_RDONLY) | O_DIRECT);
	if (fd < 0)
		return "open failed";
	fill(want, BLK, seed, off);
	if (write) {
		memcpy(buf, want, BLK);
		if (pwrite(fd, buf, BLK, off) != BLK || fsync(fd))
			err = "write failed";
	}
	memset(buf, 0, BLK);
	if (!err && pread(fd, buf, BLK, off) != BLK)
		err = "read failed";
	if (!err && memcmp(buf, want, BLK))
		err = "data mismatch";
	close(fd);
	return err;
}

/* ---- the nvme worker: a second process doing verified DMA all along ---- */
static volatile sig_atomic_t worker_stop;

static void on_term(int sig)
{
	(void)sig;
	worker_stop = 1;
}

struct worker {
	pid_t pid;
	int fd;			/* read end of the result pipe */
	uint64_t base;		/* first iteration's number */
};

static void worker_main(const char *dev, int out, uint64_t base)
{
	unsigned long iters = 0, bad = 0, errs = 0;
	char line[192], first[96] = "none";
	sigset_t term;
	void *buf;

	/* SIGTERM was blocked across fork(): none is lost before this. */
	signal(SIGTERM, on_term);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_UNBLOCK, &term, NULL);
	if (posix_memalign(&buf, 4096, 2 * BLK))
		_exit(2);
	while (!worker_stop) {
		uint64_t i = base + iters;
		const char *err = block_io(dev, buf, i % NVME_SLOTS, NVME_SEED ^ i, true);

		if (err && !bad && !errs)
			snprintf(first, sizeof(first), "iteration %llu: %s (%s)",
				 (unsigned long long)i, err,
				 strcmp(err, "data mismatch") ? strerror(errno) : "-");
		if (err && !strcmp(err, "data mismatch"))
			bad++;
		else if (err)
			errs++;
		iters++;
		usleep(10000);	/* leave the vCPUs to the moves */
	}
	snprintf(line, sizeof(line), "%lu %lu %lu %s\n", iters, bad, errs, first);
	if (write(out, line, strlen(line)) < 0)
		_exit(3);
	_exit(0);
}

/*
 * Start the worker.  @keep: the VFIO fds the parent holds, closed in the
 * child so that only the parent's close releases the group.
 */
static bool worker_start(struct worker *w, const char *dev, const int keep[2])
{
	sigset_t term, old;
	int fds[2];

	if (pipe(fds))
		return false;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	w->pid = fork();
	if (w->pid == 0) {
		close(fds[0]);
		for (int i = 0; i < 2; i++)
			if (keep[i] >= 0)
				close(keep[i]);
		worker_main(dev, fds[1], w->base);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fds[1]);
	if (w->pid < 0) {
		close(fds[0]);
		w->pid = 0;
		return false;
	}
	w->fd = fds[0];
	return true;
}

/* The worker's first failure, for the report. */
static char worker_first[128] = "none";

/* Stop the worker; adds its figures to @tot (iterations, mismatches, errors). */
static bool worker_end(struct worker *w, unsigned long tot[3])
{
	char line[192] = "";
	int used = 0;
	unsigned long v[3];
	int status;
	ssize_t n;

	struct pollfd pfd = { .fd = w->fd, .events = POLLIN };

	kill(w->pid, SIGTERM);
	/* A worker stuck in its I/O is the bug this phase looks for. */
	if (poll(&pfd, 1, WORKER_WAIT_MS) == 1) {
		n = read(w->fd, line, sizeof(line) - 1);
	} else {
		n = -1;
		kill(w->pid, SIGKILL);
	}
	close(w->fd);
	waitpid(w->pid, &status, 0);
	w->pid = 0;
	if (n <= 0 || sscanf(line, "%lu %lu %lu %n", &v[0], &v[1], &v[2], &used) != 3)
		return false;
	line[strcspn(line, "\n")] = 0;
	if (!strcmp(worker_first, "none") && used && strcmp(line + used, "none"))
		snprintf(worker_first, sizeof(worker_first), "%s", line + used);
	for (int i = 0; i < 3; i++)
		tot[i] += v[i];
	w->base += v[0];
	return WIFEXITED(status) && !WEXITSTATUS(status);
}

/* ---- the virtio disk's states ---- */
struct vfio_hold {
	int container, group;
	void *buf;
};

static void vfio_release(struct vfio_hold *h)
{
	if (h->group >= 0)
		close(h->group);
	if (h->container >= 0)
		close(h->container);
	if (h->buf)
		munmap(h->buf, BLK);
	h->group = h->container = -1;
	h->buf = NULL;
}

/* The group in a container: blocked; with the nesting type set: stage 2. */
static const char *vfio_hold(struct vfio_hold *h, int group, bool s2)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = S2_IOVA, .size = BLK,
	};
	char path[64];

	h->container = open("/dev/vfio/vfio", O_RDWR);
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	h->group = open(path, O_RDWR);
	if (h->container < 0 || h->group < 0)
		return "cannot open the VFIO container or group";
	if (ioctl(h->group, VFIO_GROUP_GET_STATUS, &st) ||
	    !(st.flags & VFIO_GROUP_FLAGS_VIABLE))
		return "the VFIO group is not viable";
	if (ioctl(h->group, VFIO_GROUP_SET_CONTAINER, &h->container))
		return "VFIO_GROUP_SET_CONTAINER failed";
	if (!s2)
		return NULL;
	if (ioctl(h->container, VFIO_SET_IOMMU, VFIO_TYPE1_NESTING_IOMMU))
		return "VFIO_SET_IOMMU(VFIO_TYPE1_NESTING_IOMMU) failed";
	h->buf = mmap(NULL, BLK, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (h->buf == MAP_FAILED) {
		h->buf = NULL;
		return "no memory for the stage-2 buffer";
	}
	m.vaddr = (uintptr_t)h->buf;
	if (ioctl(h->container, VFIO_IOMMU_MAP_DMA, &m))
		return "VFIO_IOMMU_MAP_DMA through stage 2 failed";
	return NULL;
}

/* Leave @cur: the disk ends with no driver, its group on the default domain. */
static bool leave(struct phase *p, enum state cur, struct vfio_hold *h)
{
	int err;

	vfio_release(h);
	if (stuck_pid) {	/* the device lock is held for ever: hands off */
		fail(p, "leaving %s: a driver bind is stuck", state_name[cur]);
		return false;
	}
	err = unbind_driver(virtio_bdf);
	if (err) {
		fail(p, "leaving %s: unbinding %s failed: %s", state_name[cur],
		     virtio_bdf, strerror(-err));
		return false;
	}
	if ((cur == S_BLOCKED || cur == S_S2) && set_override(virtio_bdf, NULL)) {
		fail(p, "leaving %s: cannot clear driver_override", state_name[cur]);
		return false;
	}
	return true;
}

static bool enter(struct phase *p, enum state next, int group, struct vfio_hold *h,
		  char *dev, size_t len)
{
	char path[64], drv[32];
	const char *why;
	int err;

	if (next == S_DMA || next == S_IDENTITY) {
		char type[32];
		const char *want = next == S_DMA ? "DMA" : "identity";

		group_type(group, type, sizeof(type));
		if (strcmp(type, want) && !virtio_down(p, group, want))
			return false;
		return virtio_up(p, dev, len, state_name[next]);
	}
	if (set_override(virtio_bdf, "vfio-pci")) {
		fail(p, "entering %s: cannot set driver_override", state_name[next]);
		return false;
	}
	err = bind_driver(virtio_bdf, "vfio-pci");
	pci_driver(virtio_bdf, drv, sizeof(drv));
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	if (err || strcmp(drv, "vfio-pci") || !wait_for_path(path, 5)) {
		fail(p, "entering %s: binding vfio-pci: %s (driver %s)", state_name[next],
		     err ? strerror(-err) : "ok", drv);
		return false;
	}
	why = vfio_hold(h, group, next == S_S2);
	if (why) {
		fail(p, "entering %s: %s: %s", state_name[next], why, strerror(errno));
		return false;
	}
	return true;
}

/* An nvme VFIO round: the worker stopped, vfio-nvme, the nvme driver back. */
static bool nvme_vfio_round(struct phase *p, int k, bool stage2)
{
	char name[32], dev[320];
	char *argv[5], **a = argv;
	int rc;

	*a++ = "/vfio-nvme";
	if (stage2)
		*a++ = "--nesting";
	*a++ = nvme_bdf;
	*a++ = nvme_serial;
	*a = NULL;

	snprintf(name, sizeof(name), "p9-vfio-%d", k);
	window(name);
	if (!nvme_to_vfio(p))
		return false;
	rc = run(argv);
	if (rc) {
		fail(p, "VFIO round %d: vfio-nvme exited with %d", k, rc);
		return false;
	}
	snprintf(name, sizeof(name), "p9-nvme-%d", k);
	window(name);
	return nvme_from_vfio(p, dev, sizeof(dev));
}

void phase_stress(const char *cmdline, bool stage2)
{
	struct phase p = { .num = 9 };
	struct vfio_hold h = { .container = -1, .group = -1 };
	struct worker w = { 0 };
	unsigned long nv[3] = { 0 }, moves[S_NR] = { 0 };
	int group = pci_group(virtio_bdf), n_states = stage2 ? S_NR : S_S2;
	int transitions = STRESS_DEFAULT, limit = STRESS_SECS, done = 0, round = 0;
	int last_slot = -1;
	uint64_t last_seed = 0;
	char arg[32], vdev[320], ndev[320], name[64], result[256];
	enum state cur = S_DMA;
	const char *err;
	double t0 = now();
	void *buf;

	cmdline_arg(cmdline, "e2e.stress=", arg, sizeof(arg));
	if (arg[0])
		transitions = atoi(arg);
	cmdline_arg(cmdline, "e2e.stress_secs=", arg, sizeof(arg));
	if (arg[0])
		limit = atoi(arg);
	rng = STRESS_SEED;
	cmdline_arg(cmdline, "e2e.seed=", arg, sizeof(arg));
	if (arg[0])
		rng = strtoull(arg, NULL, 0) ?: STRESS_SEED;
	say("@@E2E INFO p9-plan %d transitions, seed %#llx, states %d, limit %d s",
	    transitions, (unsigned long long)rng, n_states, limit);

	window("p9-setup");
	if (posix_memalign(&buf, 4096, 2 * BLK)) {
		fail(&p, "out of memory");
		goto out;
	}
	virtio_restore(group);
	if (!wait_blockdev(virtio_bdf, vdev, sizeof(vdev), 10) ||
	    !wait_blockdev(nvme_bdf, ndev, sizeof(ndev), 30)) {
		fail(&p, "the virtio disk or the nvme is not on its driver");
		goto out;
	}
	if (!worker_start(&w, ndev, (int[2]){ h.container, h.group })) {
		fail(&p, "cannot start the nvme worker");
		goto out;
	}

	while (done < transitions && !p.failed) {
		enum state next = (cur + 1 + rnd() % (n_states - 1)) % n_states;

		if (now() - t0 > limit) {
			fail(&p, "time limit of %d s reached after %d transitions", limit, done);
			break;
		}
		done++;
		snprintf(name, sizeof(name), "p9-s%d-%s-%s", done, state_name[cur],
			 state_name[next]);
		window(name);
		if (!leave(&p, cur, &h) || !enter(&p, next, group, &h, vdev, sizeof(vdev)))
			break;
		cur = next;
		moves[cur]++;
		snprintf(name, sizeof(name), "p9-t%d-%s", done, state_name[cur]);
		window(name);
		if (cur == S_DMA || cur == S_IDENTITY) {
			int slot = done % SLOTS;
			uint64_t seed = STRESS_SEED ^ (uint64_t)done << 20;

			if (last_slot >= 0 &&
			    (err = block_io(vdev, buf, last_slot, last_seed, false))) {
				fail(&p, "transition %d (%s): the block written before: %s",
				     done, state_name[cur], err);
				break;
			}
			err = block_io(vdev, buf, slot, seed, true);
			if (err) {
				fail(&p, "transition %d (%s): %s", done, state_name[cur], err);
				break;
			}
			last_slot = slot;
			last_seed = seed;
		}
		if (round < VFIO_ROUNDS && done == (round + 1) * transitions / (VFIO_ROUNDS + 1)) {
			round++;
			if (!worker_end(&w, nv)) {
				fail(&p, "the nvme worker did not report");
				break;
			}
			if (!nvme_vfio_round(&p, round, stage2))
				break;
			if (!wait_blockdev(nvme_bdf, ndev, sizeof(ndev), 30) ||
			    !worker_start(&w, ndev, (int[2]){ h.container, h.group })) {
				fail(&p, "cannot restart the nvme worker after VFIO round %d", round);
				break;
			}
		}
	}
	window("p9-end");
	if (w.pid > 0 && !worker_end(&w, nv))
		fail(&p, "the nvme worker did not report");
	if (!p.failed && (nv[1] || nv[2]))
		fail(&p, "nvme worker: %lu of %lu iterations with bad data, %lu I/O errors; first: %s",
		     nv[1], nv[0], nv[2], worker_first);
	if (!p.failed && !nv[0])
		fail(&p, "the nvme worker did no I/O");
	if (!stuck_pid) {
		leave(&p, cur, &h);
		set_override(virtio_bdf, NULL);
		virtio_restore(group);
	}
out:
	say("@@E2E INFO p9-transitions %d", done);
	say("@@E2E INFO p9-states dma=%lu identity=%lu blocked=%lu s2=%lu",
	    moves[S_DMA], moves[S_IDENTITY], moves[S_BLOCKED], moves[S_S2]);
	say("@@E2E INFO p9-nvme %lu iterations, %lu bad, %lu errors, %d VFIO rounds",
	    nv[0], nv[1], nv[2], round);
	say("@@E2E INFO p9-seconds %.1f", now() - t0);
	snprintf(result, sizeof(result),
		 "%d transitions, every data check intact; nvme %lu verified iterations, %d VFIO rounds",
		 done, nv[0], round);
	report(&p, result);
}
