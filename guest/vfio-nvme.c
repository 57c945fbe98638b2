// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-nvme: end-to-end IOMMU (SMMUv3) test through VFIO type1.
 *
 * Drives an NVMe controller (QEMU "nvme") that is bound to vfio-pci from
 * user space: maps an admin queue pair and a data buffer through the
 * IOMMU, issues Identify Controller by polling, checks the result, then
 * unmaps the data buffer and checks that a second Identify cannot write
 * into it (the SMMU must block the DMA).
 *
 * Usage: vfio-nvme [--nesting] [--window NAME] [--churn ROUNDS]
 *                  [--pair BDF2 SERIAL2] <pci-bdf> <expected-serial>
 *   --nesting      ask for VFIO_TYPE1_NESTING_IOMMU: on 6.1 the SMMUv3
 *                  driver then gives the group a stage-2 domain (if the
 *                  SMMU has stage 2; otherwise it falls back to stage 1)
 *   --window NAME  announce '@@E2E WINDOW NAME-unmap' on the console just
 *                  before the data buffer is unmapped, and 'NAME-teardown'
 *                  after the fault check, so the host can judge that part
 *                  of the trace on its own
 *   --churn ROUNDS 'make bench': instead of the single fault check, ROUNDS
 *                  rounds over map/unmap cases of assorted sizes and
 *                  alignments (churn()), with a DMA into each mapping that
 *                  must land and one after its unmap that must not; the
 *                  console windows are NAME-churn and NAME-teardown (NAME
 *                  from --window, default vfio)
 *   --pair BDF2 SERIAL2
 *                  a second nvme (SERIAL2) in the same container, after
 *                  the first: each has its own admin queues and Identifies
 *                  into the one shared data buffer; its unmap must stop
 *                  both (the churn drives the first only, with the second
 *                  attached)
 * Output: one "vfio-nvme: ..." line per step, then "vfio-nvme: PASS"
 *         (exit 0) or "vfio-nvme: FAIL <reason>" (exit 1).
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>

#define PFX		"vfio-nvme: "
#define SQ_IOVA		0x10000000ULL
#define CQ_IOVA		0x10001000ULL
#define DATA_IOVA	0x20000000ULL
#define BUF_SZ		4096UL
#define QDEPTH		16U
#define MIN_WAIT_MS	20000U	/* TCG is slow: never wait less than this */
#define MAX_WAIT_MS	60000U	/* ... and never more than this */
#define FAULT_WAIT_MS	10000U

/* NVMe controller registers (BAR0) */
#define NVME_CAP	0x00
#define NVME_CC		0x14
#define NVME_CSTS	0x1c
#define NVME_AQA	0x24
#define NVME_ASQ	0x28
#define NVME_ACQ	0x30
#define NVME_DB		0x1000
#define CC_EN		(1U << 0)
#define CC_IOSQES(x)	((uint32_t)(x) << 16)
#define CC_IOCQES(x)	((uint32_t)(x) << 20)
#define CSTS_RDY	(1U << 0)
#define CSTS_CFS	(1U << 1)

struct nvme_sqe {
	uint8_t  opc, flags;
	uint16_t cid;
	uint32_t nsid, cdw2, cdw3;
	uint64_t mptr, prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
	uint32_t dw0, dw1;
	uint16_t sqhd, sqid, cid, status;	/* status: bit0 phase, 15:1 SF */
};

_Static_assert(sizeof(struct nvme_sqe) == 64, "SQE must be 64 bytes");
_Static_assert(sizeof(struct nvme_cqe) == 16, "CQE must be 16 bytes");

/* One controller; c is the one being driven. */
static struct nvme_dev {
	int group, device;
	volatile uint8_t *bar;		/* NULL: use pread/pwrite */
	void *bar_map;
	uint64_t bar_off, bar_size, cfg_off;
	unsigned dstrd, wait_ms, qdepth;
	uint8_t *sq, *cq, *data;
	uint64_t sq_iova;
	unsigned sq_tail, cq_head, phase;
	uint16_t cmd_orig;
} devs[2] = { { .group = -1, .device = -1 }, { .group = -1, .device = -1 } }, *c = devs;
static int container = -1;	/* one container, shared by both devices */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf(PFX "FAIL ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	exit(1);
}

#define say(...) do { printf(PFX __VA_ARGS__); printf("\n"); fflush(stdout); } while (0)

/* Full barrier: compiler + CPU, ordering normal memory against MMIO. */
static inline void mb(void)
{
	__sync_synchronize();
#if defined(__aarch64__)
	__asm__ __volatile__("dsb sy" ::: "memory");
#endif
}

/* ---- register access: mmap'ed BAR or pread/pwrite on the device fd ---- */

static void dev_io(int write, void *buf, size_t len, uint64_t off)
{
	ssize_t r = write ? pwrite(c->device, buf, len, (off_t)off) : pread(c->device, buf, len, (off_t)off);

	if (r != (ssize_t)len)
		fail("%s of %zu bytes at device offset 0x%llx: %s", write ? "pwrite" : "pread",
		     len, (unsigned long long)off, r < 0 ? strerror(errno) : "short");
}

static uint32_t rd32(uint32_t off)
{
	uint32_t v;

	if (c->bar)
		v = *(volatile uint32_t *)(c->bar + off);
	else
		dev_io(0, &v, 4, c->bar_off + off);
	return le32toh(v);
}

static void wr32(uint32_t off, uint32_t val)
{
	uint32_t v = htole32(val);

	if (c->bar)
		*(volatile uint32_t *)(c->bar + off) = v;
	else
		dev_io(1, &v, 4, c->bar_off + off);
}

/* 64-bit registers as two 32-bit accesses (low dword first), as NVMe allows. */
static uint64_t rd64(uint32_t off)
{
	uint64_t lo = rd32(off);

	return lo | (uint64_t)rd32(off + 4) << 32;
}

static void wr64(uint32_t off, uint64_t val)
{
	wr32(off, (uint32_t)val);
	wr32(off + 4, (uint32_t)(val >> 32));
}

static uint16_t cfg_rd16(uint32_t off)
{
	uint16_t v;

	dev_io(0, &v, 2, c->cfg_off + off);
	return le16toh(v);
}

static void cfg_wr16(uint32_t off, uint16_t val)
{
	uint16_t v = htole16(val);

	dev_io(1, &v, 2, c->cfg_off + off);
}

/* ---- polling with a timeout ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* cond() returns >0 done, <0 error, 0 keep waiting. wait_for returns the
 * last cond() value, i.e. 0 on timeout. */
static int wait_for(int (*cond)(void *), void *arg, unsigned timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;
	int r;

	while (!(r = cond(arg))) {
		if (now_ms() > end)
			return cond(arg);
		usleep(1000);
	}
	return r;
}

static int csts_rdy_is(void *arg)
{
	uint32_t want = *(uint32_t *)arg, csts = rd32(NVME_CSTS);

	if (csts == 0xffffffff || (want && (csts & CSTS_CFS)))
		return -1;
	return (csts & CSTS_RDY) == want;
}

static const char *wait_rdy(uint32_t want)
{
	int r = wait_for(csts_rdy_is, &want, c->wait_ms);

	return r > 0 ? NULL : r < 0 ? "controller fatal status" : "timeout";
}

/* ---- admin queue ---- */

static volatile struct nvme_cqe *cq_slot(void)
{
	return (volatile struct nvme_cqe *)c->cq + c->cq_head;
}

static int cqe_ready(void *arg)
{
	(void)arg;
	return (le16toh(cq_slot()->status) & 1) == c->phase;
}

static void submit_admin(const struct nvme_sqe *sqe)
{
	memcpy(c->sq + c->sq_tail * sizeof(*sqe), sqe, sizeof(*sqe));
	c->sq_tail = (c->sq_tail + 1) % c->qdepth;
	mb();				/* SQE visible before the doorbell */
	wr32(NVME_DB, c->sq_tail);	/* SQ0 tail doorbell */
	mb();
}

/* Waits for the next CQE. Returns 1 and fills *status (SF, bits 15:1) and
 * *cid if a completion arrived, 0 on timeout. */
static int reap_admin(unsigned timeout_ms, uint16_t *status, uint16_t *cid)
{
	volatile struct nvme_cqe *cqe = cq_slot();

	if (wait_for(cqe_ready, NULL, timeout_ms) <= 0)
		return 0;
	mb();				/* read the CQE only after the phase bit */
	*status = le16toh(cqe->status) >> 1;
	*cid = le16toh(cqe->cid);
	if (++c->cq_head == c->qdepth) {
		c->cq_head = 0;
		c->phase ^= 1;
	}
	mb();
	wr32(NVME_DB + (1U << (2 + c->dstrd)), c->cq_head);	/* CQ0 head doorbell */
	return 1;
}

static int identify_ctrl(uint16_t cid, uint64_t iova, unsigned timeout_ms, uint16_t *status)
{
	struct nvme_sqe sqe;
	uint16_t got_cid;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opc = 0x06;			/* Identify */
	sqe.cid = htole16(cid);
	sqe.nsid = 0;
	sqe.prp1 = htole64(iova);
	sqe.cdw10 = htole32(1);		/* CNS=1: controller */
	submit_admin(&sqe);
	if (!reap_admin(timeout_ms, status, &got_cid))
		return 0;
	if (got_cid != cid)
		fail("completion CID 0x%x, expected 0x%x", got_cid, cid);
	return 1;
}

/*
 * Announce the host's trace window NAME-SUFFIX, drained to the UART before
 * the work it names starts (as init's window() does).
 */
static void window(const char *name, const char *suffix)
{
	printf("@@E2E WINDOW %s-%s\n", name, suffix);
	fflush(stdout);
	tcdrain(STDOUT_FILENO);
}

/* ---- VFIO helpers ---- */

static void dma_map(void *buf, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m = {
		.argsz = sizeof(m),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buf, .iova = iova, .size = size,
	};

	if (ioctl(container, VFIO_IOMMU_MAP_DMA, &m))
		fail("VFIO_IOMMU_MAP_DMA iova 0x%llx size 0x%llx: %s", (unsigned long long)iova,
		     (unsigned long long)size, strerror(errno));
}

static void dma_unmap(uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap u = {
		.argsz = sizeof(u), .iova = iova, .size = size,
	};

	if (ioctl(container, VFIO_IOMMU_UNMAP_DMA, &u))
		fail("VFIO_IOMMU_UNMAP_DMA iova 0x%llx: %s", (unsigned long long)iova, strerror(errno));
	if (u.size != size)
		fail("VFIO_IOMMU_UNMAP_DMA iova 0x%llx unmapped %llu bytes, expected %llu",
		     (unsigned long long)iova, (unsigned long long)u.size,
		     (unsigned long long)size);
}

static void *alloc_buf(void)
{
	void *p = mmap(NULL, BUF_SZ, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap buffer: %s", strerror(errno));
	memset(p, 0, BUF_SZ);		/* populate the page before pinning */
	return p;
}

static void region_info(uint32_t index, struct vfio_region_info *ri)
{
	memset(ri, 0, sizeof(*ri));
	ri->argsz = sizeof(*ri);
	ri->index = index;
	if (ioctl(c->device, VFIO_DEVICE_GET_REGION_INFO, ri))
		fail("VFIO_DEVICE_GET_REGION_INFO %u: %s", index, strerror(errno));
	if (!ri->size || (ri->flags & (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE)) !=
			 (VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE))
		fail("region %u not usable (size 0x%llx flags 0x%x)", index,
		     (unsigned long long)ri->size, ri->flags);
}

/* Counts bytes of the 4 KiB at @buf that lost the 0xA5 sentinel. */
static unsigned count_bad_at(const uint8_t *buf, unsigned *first)
{
	volatile const uint8_t *d = buf;
	unsigned i, bad = 0;

	mb();
	for (i = 0; i < BUF_SZ; i++)
		if (d[i] != 0xa5 && !bad++)
			*first = i;
	return bad;
}

static unsigned count_bad(unsigned *first)
{
	return count_bad_at(c->data, first);
}

/* Copies an identify string field, trims trailing spaces/NULs, masks
 * non-printable bytes. */
static void id_str(char *out, const uint8_t *in, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		out[i] = (in[i] >= 0x20 && in[i] < 0x7f) || !in[i] ? (char)in[i] : '?';
	out[len] = '\0';
	while (len && (out[len - 1] == ' ' || out[len - 1] == '\0'))
		out[--len] = '\0';
}

/*
 * Checks Identify Controller data at @d: QEMU's vendor id and the serial
 * the host gave (@want_sn, trailing spaces ignored); the serial in @sn.
 */
static void check_id(const uint8_t *d, const char *want, char sn[21])
{
	uint16_t vid = d[0] | d[1] << 8;
	char want_sn[64];

	id_str(sn, d + 4, 20);
	snprintf(want_sn, sizeof(want_sn), "%s", want);
	for (size_t l = strlen(want_sn); l && want_sn[l - 1] == ' '; l--)
		want_sn[l - 1] = '\0';
	if (vid != 0x1b36)
		fail("identify VID 0x%04x, expected 0x1b36", vid);
	if (strcmp(sn, want_sn))
		fail("identify serial '%s', expected '%s'", sn, want_sn);
}

/* ---- 'make bench': map/unmap churn ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * What a VMM does to a container: mappings of assorted sizes and
 * alignments come and go.  @huge: backed by huge pages (2 MiB, physically
 * contiguous: a 2 MiB-aligned IOVA gets one block entry); otherwise by
 * ordinary pages at offset @off of a 2 MiB buffer.  No mapping spans more
 * than 512 pages of ordinary memory: VFIO type1 unmaps one physically
 * contiguous run at a time and syncs the IOTLB every 512 runs, so beyond
 * that the commands an unmap takes would follow the physical layout of
 * the buffer, which differs from boot to boot (phys_runs() reports it).
 */
static const struct churn_case {
	uint64_t iova, size, off;
	bool huge;
} churn_cases[] = {
	{ 0x40000000, 0x1000, 0, false },		/* one page */
	{ 0x40010000, 0x4000, 0x1000, false },		/* 16 KiB */
	{ 0x40100000, 0x10000, 0, false },		/* 64 KiB, 64 KiB-aligned */
	{ 0x40201000, 0x11000, 0x3000, false },		/* 68 KiB, 4 KiB-aligned */
	{ 0x40400000, 0x100000, 0, false },		/* 1 MiB */
	{ 0x40800000, 0x200000, 0, true },		/* one 2 MiB block */
	{ 0x40c01000, 0x200000, 0, true },		/* 512 pages over two tables */
	{ 0x41001000, 0x3ff000, 0, true },		/* 1023 pages: two range TLBIs */
	{ 0x100000000ULL, 0x100000, 0x100000, false },	/* 1 MiB above 4 GiB */
	{ 0x7ffffff000ULL, 0x1000, 0, false },		/* the last page of a 39-bit space */
};

#define CHURN_NORMAL	(2UL << 20)
#define CHURN_HUGE	(4UL << 20)
#define CHURN_SETTLE_US	50000

/*
 * How many physically contiguous runs back @size bytes at @buf (from
 * /proc/self/pagemap; 0 if unreadable).  VFIO type1 unmaps a mapping one
 * run at a time and flushes the IOTLB gather every 512 runs, so this is
 * what decides how many TLBI + CMD_SYNC an unmap of ordinary pages costs.
 */
static unsigned int phys_runs(const uint8_t *buf, uint64_t size)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t prev = 0, ent;
	unsigned int runs = 0;

	if (fd < 0)
		return 0;
	for (uint64_t off = 0; off < size; off += BUF_SZ) {
		if (pread(fd, &ent, sizeof(ent), ((uintptr_t)buf + off) / BUF_SZ * sizeof(ent)) !=
		    sizeof(ent) || !(ent >> 63) || !(ent & ((1ULL << 55) - 1))) {
			runs = 0;	/* not present, or PFNs hidden */
			break;
		}
		ent &= (1ULL << 55) - 1;
		if (!off || ent != prev + 1)
			runs++;
		prev = ent;
	}
	close(fd);
	return runs;
}

static void churn(int rounds, const char *want_sn, const char *pfx)
{
	const unsigned int ncases = sizeof(churn_cases) / sizeof(churn_cases[0]);
	uint8_t *normal, *huge;
	unsigned int unmaps = 0, bad, first_bad = 0;
	uint16_t cid = 16, status;
	char sn[21];

	normal = mmap(NULL, CHURN_NORMAL, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	huge = mmap(NULL, CHURN_HUGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
	if (huge == MAP_FAILED) {
		say("churn: no huge pages (%s): their cases use ordinary pages", strerror(errno));
		huge = mmap(NULL, CHURN_HUGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	}
	if (normal == MAP_FAILED || huge == MAP_FAILED)
		fail("mmap: %s", strerror(errno));
	for (unsigned int i = 0; i < ncases; i++) {
		const struct churn_case *k = &churn_cases[i];

		printf("@@E2E INFO %s-runs:0x%llx %u\n", pfx, (unsigned long long)k->iova,
		       phys_runs((k->huge ? huge : normal) + k->off, k->size));
	}
	window(pfx, "churn");
	for (int r = 1; r <= rounds; r++) {
		uint64_t map_ns = 0, unmap_ns = 0, t0;

		for (unsigned int i = 0; i < ncases; i++) {
			const struct churn_case *k = &churn_cases[i];
			uint8_t *buf = (k->huge ? huge : normal) + k->off;
			uint8_t *last = buf + k->size - BUF_SZ;
			uint64_t last_iova = k->iova + k->size - BUF_SZ;

			memset(last, 0, BUF_SZ);
			t0 = now_ns();
			dma_map(buf, k->iova, k->size);
			map_ns += now_ns() - t0;
			/* A DMA into the mapping's last page: it must land. */
			if (!identify_ctrl(cid++, last_iova, c->wait_ms, &status) || status)
				fail("churn: identify into iova 0x%llx (mapped) failed, status 0x%04x",
				     (unsigned long long)last_iova, status);
			mb();
			check_id(last, want_sn, sn);
			memset(last, 0xa5, BUF_SZ);
			mb();
			t0 = now_ns();
			dma_unmap(k->iova, k->size);
			unmap_ns += now_ns() - t0;
			unmaps++;
			/* The same DMA after the unmap: nothing may land. */
			identify_ctrl(cid++, last_iova, FAULT_WAIT_MS, &status);
			if ((bad = count_bad_at(last, &first_bad)))
				fail("churn: %u bytes landed at iova 0x%llx after its unmap (size 0x%llx, first at 0x%x)",
				     bad, (unsigned long long)last_iova,
				     (unsigned long long)k->size, first_bad);
			/*
			 * The faulting DMA leaves the kernel a burst of SMMU
			 * events to handle: let it finish before the next
			 * timed ioctl.
			 */
			usleep(CHURN_SETTLE_US);
		}
		printf("@@E2E INFO t:%s-map:%d %llu\n", pfx, r, (unsigned long long)(map_ns / ncases));
		printf("@@E2E INFO t:%s-unmap:%d %llu\n", pfx, r, (unsigned long long)(unmap_ns / ncases));
	}
	printf("@@E2E INFO units:%s-churn %u\n", pfx, unmaps);
	say("churn: %d rounds of %u map/DMA/unmap/DMA cases, every unmapped IOVA faulted without data",
	    rounds, ncases);
	munmap(normal, CHURN_NORMAL);
	munmap(huge, CHURN_HUGE);
}

/* ---- the steps of main(), each for the device c ---- */

/* 1. The IOMMU group of @bdf into the container; the first sets its type. */
static void open_group(const char *bdf, int iommu_type, bool first)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	char path[256], link[256], group_name[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		fail("readlink %s: %s", path, strerror(errno));
	link[n] = '\0';
	snprintf(group_name, sizeof(group_name), "%s", basename(link));
	snprintf(path, sizeof(path), "/dev/vfio/%s", group_name);
	c->group = open(path, O_RDWR);
	if (c->group < 0)
		fail("open %s: %s", path, strerror(errno));
	if (ioctl(c->group, VFIO_GROUP_GET_STATUS, &gs))
		fail("VFIO_GROUP_GET_STATUS: %s", strerror(errno));
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		fail("group %s not viable (all its devices must be bound to vfio-pci)", group_name);
	if (ioctl(c->group, VFIO_GROUP_SET_CONTAINER, &container))
		fail("VFIO_GROUP_SET_CONTAINER (group %s): %s", group_name, strerror(errno));
	if (first && ioctl(container, VFIO_SET_IOMMU, iommu_type))
		fail("VFIO_SET_IOMMU: %s", strerror(errno));
	say("group %s viable, in the container (%s)", group_name,
	    iommu_type == VFIO_TYPE1_NESTING_IOMMU ? "Type1-nesting" :
	    iommu_type == VFIO_TYPE1v2_IOMMU ? "Type1v2" : "Type1");
}

/* 2. The device: BAR0 and config space, memory space and bus mastering on. */
static void open_device(const char *bdf)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct vfio_region_info bar0, cfg;
	uint16_t cmd;

	c->device = ioctl(c->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (c->device < 0)
		fail("VFIO_GROUP_GET_DEVICE_FD %s: %s", bdf, strerror(errno));
	if (ioctl(c->device, VFIO_DEVICE_GET_INFO, &di) || !(di.flags & VFIO_DEVICE_FLAGS_PCI))
		fail("VFIO_DEVICE_GET_INFO: not a PCI device (%s)", strerror(errno));
	region_info(VFIO_PCI_BAR0_REGION_INDEX, &bar0);
	region_info(VFIO_PCI_CONFIG_REGION_INDEX, &cfg);
	c->bar_off = bar0.offset;
	c->bar_size = bar0.size;
	c->cfg_off = cfg.offset;
	if (c->bar_size < NVME_DB + 8)
		fail("BAR0 too small (0x%llx)", (unsigned long long)c->bar_size);
	if (bar0.flags & VFIO_REGION_INFO_FLAG_MMAP) {
		void *p = mmap(NULL, c->bar_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			       c->device, (off_t)c->bar_off);
		if (p != MAP_FAILED)
			c->bar = c->bar_map = p;
	}
	c->cmd_orig = cfg_rd16(PCI_COMMAND);
	cmd = c->cmd_orig | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	cfg_wr16(PCI_COMMAND, cmd);
	if ((cfg_rd16(PCI_COMMAND) & cmd) != cmd)
		fail("PCI_COMMAND did not take memory+master (0x%04x)", cfg_rd16(PCI_COMMAND));
	say("device %s fd %d, %u regions, BAR0 size 0x%llx via %s, PCI_COMMAND 0x%04x -> 0x%04x",
	    bdf, c->device, di.num_regions, (unsigned long long)c->bar_size,
	    c->bar ? "mmap" : "pread/pwrite", c->cmd_orig, cmd);
}

/* 3. The admin queue pair, mapped at @sq_iova and the page after it. */
static void map_queues(uint64_t sq_iova)
{
	c->sq = alloc_buf();
	c->cq = alloc_buf();
	dma_map(c->sq, sq_iova, BUF_SZ);
	dma_map(c->cq, sq_iova + BUF_SZ, BUF_SZ);
	c->sq_iova = sq_iova;
}

/* 4. Controller bring-up (polling only) */
static void enable_ctrl(void)
{
	const char *err;
	unsigned to_ms;
	uint64_t cap;

	cap = rd64(NVME_CAP);
	if (cap == ~0ULL)
		fail("CAP reads all ones");
	c->dstrd = (cap >> 32) & 0xf;
	to_ms = ((cap >> 24) & 0xff) * 500;
	c->wait_ms = to_ms < MIN_WAIT_MS ? MIN_WAIT_MS : to_ms > MAX_WAIT_MS ? MAX_WAIT_MS : to_ms;
	c->qdepth = (cap & 0xffff) + 1 < QDEPTH ? (unsigned)(cap & 0xffff) + 1 : QDEPTH;
	if (!((cap >> 37) & 1))
		fail("controller lacks the NVM command set (CAP 0x%016llx)", (unsigned long long)cap);
	if ((cap >> 48) & 0xf)
		fail("controller does not support 4 KiB pages (CAP.MPSMIN %u)", (unsigned)(cap >> 48) & 0xf);
	if (c->bar_size < NVME_DB + 2 * (4U << c->dstrd))
		fail("BAR0 too small for doorbells (DSTRD %u)", c->dstrd);
	if (c->qdepth < 2)
		fail("CAP.MQES too small");
	wr32(NVME_CC, 0);
	if ((err = wait_rdy(0)))
		fail("disable: CSTS.RDY did not clear (%s, CSTS 0x%x)", err, rd32(NVME_CSTS));
	wr32(NVME_AQA, (c->qdepth - 1) << 16 | (c->qdepth - 1));
	wr64(NVME_ASQ, c->sq_iova);
	wr64(NVME_ACQ, c->sq_iova + BUF_SZ);
	c->sq_tail = c->cq_head = 0;
	c->phase = 1;
	mb();
	wr32(NVME_CC, CC_EN | CC_IOSQES(6) | CC_IOCQES(4));	/* CSS=NVM, MPS=4K, AMS=RR */
	if ((err = wait_rdy(1)))
		fail("enable: CSTS.RDY not set (%s, CSTS 0x%x)", err, rd32(NVME_CSTS));
	say("CAP 0x%016llx (MQES %u DSTRD %u TO %u ms, waiting up to %u ms), enabled with %u-entry admin queues at iova 0x%llx, CSTS 0x%x",
	    (unsigned long long)cap, (unsigned)(cap & 0xffff), c->dstrd, to_ms, c->wait_ms,
	    c->qdepth, (unsigned long long)c->sq_iova, rd32(NVME_CSTS));
}

/* 5. Identify Controller into the data buffer, checked against @serial */
static void identify_check(uint16_t cid, const char *serial)
{
	char sn[21], mn[41];
	uint16_t status;

	memset(c->data, 0, BUF_SZ);
	mb();
	if (!identify_ctrl(cid, DATA_IOVA, c->wait_ms, &status))
		fail("identify: no completion within %u ms", c->wait_ms);
	if (status)
		fail("identify: status 0x%04x (SCT %u SC 0x%02x)", status, (status >> 8) & 7, status & 0xff);
	check_id(c->data, serial, sn);
	id_str(mn, c->data + 24, 40);
	say("identify controller (cid %u) completed, status 0; VID 0x%04x SSVID 0x%04x serial '%s' (matches) model '%s'",
	    cid, c->data[0] | c->data[1] << 8, c->data[2] | c->data[3] << 8, sn, mn);
}

/*
 * 7. The data buffer is unmapped (and filled with a sentinel): an Identify
 * into it must not change a byte, whatever the device says of it.
 */
static void fault_check(uint16_t cid)
{
	unsigned bad, first_bad = 0;
	uint16_t status;

	if (identify_ctrl(cid, DATA_IOVA, FAULT_WAIT_MS, &status)) {
		if ((bad = count_bad(&first_bad)))
			fail("fault check: %u bytes of the unmapped buffer changed (first at 0x%x), status 0x%04x",
			     bad, first_bad, status);
		if (status)
			say("fault check: data iova unmapped, identify (cid %u) failed with status 0x%04x (SCT %u SC 0x%02x%s), buffer intact",
			    cid, status, (status >> 8) & 7, status & 0xff, status & 0x4000 ? " DNR" : "");
		else
			say("fault check: data iova unmapped, identify (cid %u) completed with status 0 (device did not report the DMA fault), buffer intact",
			    cid);
	} else {
		if ((bad = count_bad(&first_bad)))
			fail("fault check: %u bytes of the unmapped buffer changed (first at 0x%x), no completion",
			     bad, first_bad);
		say("fault check: data iova unmapped, identify (cid %u): no completion within %u ms, buffer intact",
		    cid, FAULT_WAIT_MS);
	}
}

/* 8. Controller off, BAR and queues unmapped, device and group closed */
static void close_device(void)
{
	const char *err;

	wr32(NVME_CC, 0);
	err = wait_rdy(0);
	if (err)
		say("teardown: warning: CSTS.RDY did not clear: %s", err);
	if (c->bar)
		munmap(c->bar_map, c->bar_size);
	c->bar = NULL;
	cfg_wr16(PCI_COMMAND, c->cmd_orig);
	dma_unmap(c->sq_iova, BUF_SZ);
	dma_unmap(c->sq_iova + BUF_SZ, BUF_SZ);
	close(c->device);
	ioctl(c->group, VFIO_GROUP_UNSET_CONTAINER);
	close(c->group);
	munmap(c->sq, BUF_SZ);
	munmap(c->cq, BUF_SZ);
}

int main(int argc, char **argv)
{
	struct vfio_iommu_type1_info ii = { .argsz = sizeof(ii) };
	const char *bdf[2] = { NULL, NULL }, *serial[2] = { NULL, NULL }, *win = NULL;
	bool nesting = false;
	int churn_rounds = 0, ndev, i;
	int iommu_type;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (argc > 3) {
		if (!strcmp(argv[1], "--nesting")) {
			nesting = true;
			argv++, argc--;
		} else if (!strcmp(argv[1], "--window") && argc > 4) {
			win = argv[2];
			argv += 2, argc -= 2;
		} else if (!strcmp(argv[1], "--churn") && argc > 4) {
			churn_rounds = atoi(argv[2]);
			argv += 2, argc -= 2;
		} else if (!strcmp(argv[1], "--pair") && argc > 5) {
			bdf[1] = argv[2];
			serial[1] = argv[3];
			argv += 3, argc -= 3;
		} else {
			break;
		}
	}
	if (argc != 3)
		fail("usage: %s [--nesting] [--window NAME] [--churn ROUNDS] [--pair BDF2 SERIAL2] <pci-bdf> <expected-serial>",
		     argv[0]);
	bdf[0] = argv[1];
	serial[0] = argv[2];
	ndev = bdf[1] ? 2 : 1;

	/* 1. container, groups (the first sets the IOMMU type), devices */
	container = open("/dev/vfio/vfio", O_RDWR);
	if (container < 0)
		fail("open /dev/vfio/vfio: %s", strerror(errno));
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		fail("VFIO API version mismatch");
	iommu_type = VFIO_TYPE1v2_IOMMU;
	if (nesting) {
		iommu_type = VFIO_TYPE1_NESTING_IOMMU;
		if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_NESTING_IOMMU) <= 0)
			fail("container does not offer VFIO_TYPE1_NESTING_IOMMU");
	} else if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0) {
		iommu_type = VFIO_TYPE1_IOMMU;
		if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) <= 0)
			fail("container supports neither Type1v2 nor Type1 IOMMU");
	}
	for (i = 0; i < ndev; i++) {
		c = &devs[i];
		open_group(bdf[i], iommu_type, !i);
	}
	if (ioctl(container, VFIO_IOMMU_GET_INFO, &ii) == 0 &&
	    (ii.flags & VFIO_IOMMU_INFO_PGSIZES) && !(ii.iova_pgsizes & BUF_SZ))
		fail("IOMMU does not support 4 KiB pages (pgsizes 0x%llx)",
		     (unsigned long long)ii.iova_pgsizes);

	/* 2.-6. each device: queues of its own, Identify into the one data buffer */
	devs[0].data = alloc_buf();
	devs[1].data = devs[0].data;
	dma_map(devs[0].data, DATA_IOVA, BUF_SZ);
	for (i = 0; i < ndev; i++) {
		c = &devs[i];
		open_device(bdf[i]);
		map_queues(SQ_IOVA + (uint64_t)i * 0x10000);
		enable_ctrl();
		identify_check(1, serial[i]);
	}
	say("DMA mapped: data iova 0x%llx (%lu bytes), shared by %d device%s",
	    DATA_IOVA, BUF_SZ, ndev, ndev > 1 ? "s" : "");

	if (churn_rounds) {
		c = &devs[0];
		churn(churn_rounds, serial[0], win ? win : "vfio");
		window(win ? win : "vfio", "teardown");
		dma_unmap(DATA_IOVA, BUF_SZ);
		goto teardown;
	}

	/* 7. fault check: no device may write the unmapped buffer */
	memset(devs[0].data, 0xa5, BUF_SZ);
	mb();
	if (win)
		window(win, "unmap");
	dma_unmap(DATA_IOVA, BUF_SZ);
	for (i = 0; i < ndev; i++) {
		c = &devs[i];
		fault_check(2);
	}

	/* 8. teardown */
	if (win)
		window(win, "teardown");
teardown:
	for (i = 0; i < ndev; i++) {
		c = &devs[i];
		close_device();
	}
	close(container);
	munmap(devs[0].data, BUF_SZ);
	say("teardown: controller%s disabled, IOVAs unmapped, device%s/group%s/container closed",
	    ndev > 1 ? "s" : "", ndev > 1 ? "s" : "", ndev > 1 ? "s" : "");
	say("PASS");
	return 0;
}
