/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the end-to-end guest's files share: lib.c's helpers, and each
 * phase's entry point (one guest/pN-*.c per phase), which init.c calls.
 */
#ifndef E2E_H
#define E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MIB		(1024 * 1024)

/* The pattern phase 2 writes to the virtio disk and phase 3 reads back */
#define DISK_BYTES	(8 * MIB)
#define SEED_A		0x5eed0000000000a1ULL

/* A phase fails with the first reason; later calls keep the first one. */
struct phase {
	int num;
	bool failed;
	char reason[256];
};

#define BIND_TIMEOUT	30	/* seconds a driver probe may take */
#define POWER_OFF_TIMEOUT 60	/* seconds the kernel's power-off may take */

extern char virtio_bdf[32], nvme_bdf[32], nvme_serial[64];
/* The nvme behind a second SMMU (QEMU 11.1 only); "" when there is none */
extern char nvme2_bdf[32], nvme2_serial[64];
/* The disks' DMA buffer: a 2 MiB huge page (1 MiB without one) */
extern void *dma_buf;
/* A driver bind that did not return (see bind_driver()); 0 if none. */
extern pid_t stuck_pid;

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void window(const char *name);
void fail(struct phase *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void report(struct phase *p, const char *ok_reason);
void msleep(int ms);
bool wait_for_path(const char *path, int seconds);
void cmdline_arg(const char *cmdline, const char *key, char *out, size_t len);
void fill(uint64_t *buf, size_t bytes, uint64_t seed, uint64_t off);
int run(char *const argv[]);
int read_file(const char *path, char *buf, size_t len);
int write_file(const char *path, const char *val);
int fault_injection_setup(struct phase *p);
bool exists(const char *path);
int pci_group(const char *bdf);
int group_type(int group, char *buf, size_t len);
void pci_driver(const char *bdf, char *buf, size_t len);
bool wait_blockdev(const char *bdf, char *out, size_t len, int seconds);
void disk_roundtrip(struct phase *p, const char *dev, uint64_t seed,
		    size_t bytes);
void check_pattern(struct phase *p, const char *dev, uint64_t seed,
		   size_t bytes);
void virtio_restore(int group);
int rebind(struct phase *p, const char *bdf, const char *driver, int group,
	   const char *type);
int bind_driver(const char *bdf, const char *driver);
void show_stuck(void);
int unbind_driver(const char *bdf);
int set_override(const char *bdf, const char *driver);
bool virtio_down(struct phase *p, int group, const char *type);
bool virtio_up(struct phase *p, char *dev, size_t len, const char *step);
bool pci_to_vfio(struct phase *p, const char *bdf);
bool pci_from_vfio(struct phase *p, const char *bdf, char *dev, size_t len);
bool nvme_to_vfio(struct phase *p);
bool nvme_from_vfio(struct phase *p, char *dev, size_t len);
void vfio_block(struct phase *p, int group, int hold_ms);
int test_module(const char *name, const char *params, char *res, size_t len);
int dma_buf_init(void);
void kmemleak_report(void);
void read_skips(const char *path);
const char *skip_reason(int num);
bool phase_due(int num, const char *unmet);
void power_off(int seconds);

/* Phase 1: p1-probe.c */
void phase_probe(void);

/* Phase 2: p2-dma.c; false if the virtio disk failed (phases 3, 5-7, 9 need it) */
bool phase_dma(void);

/* Phase 3: p3-switch.c */
void phase_switch(void);

/* Phase 4: p4-vfio.c */
void phase_vfio(void);

/* Phase 5: p5-cycle.c */
void phase_cycle(void);

/* Phase 6: p6-failed-attach.c */
void phase_failed_attach(void);

/* Phase 7: p7-attach-dma.c */
void phase_attach_from_dma(void);

/* Phase 8: p8-stage2.c; @stage2: the SMMU has stage 2 (e2e.stage2=1) */
void phase_stage2(bool stage2);

/* Phase 9: p9-stress.c; @cmdline: the kernel command line */
void phase_stress(const char *cmdline, bool stage2);

/* Phase 10: p10-sva.c */
void phase_sva(void);

/* Phase 11: p11-two-smmus.c; phase 12: p12-cross-refused.c (two SMMUs) */
void phase_two_smmus(void);
void phase_cross_refused(void);

/* 'make bench': bench.c; @what: "all", or "boot" for the first DMA only */
void bench_main(const char *what);

#endif
