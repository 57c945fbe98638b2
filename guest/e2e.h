/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the phases of the end-to-end guest share: init.c has the helpers
 * and phases 1-6, each later phase has a file of its own.
 */
#ifndef E2E_H
#define E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIB		(1024 * 1024)

/* A phase fails with the first reason; later calls keep the first one. */
struct phase {
	int num;
	bool failed;
	char reason[256];
};

extern char virtio_bdf[32];

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void window(const char *name);
void fail(struct phase *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int read_file(const char *path, char *buf, size_t len);
int write_file(const char *path, const char *val);
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

/* Phase 7: p7-attach-dma.c */
void phase_attach_from_dma(void);

#endif
