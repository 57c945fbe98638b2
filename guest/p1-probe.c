// SPDX-License-Identifier: GPL-2.0
/*
 * Phase 1: probe.  The SMMU registers (/sys/class/iommu), every PCI
 * endpoint is in an IOMMU group whose default domain type is DMA; the host
 * checks that no SMMU event was recorded.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "e2e.h"

void phase_probe(void)
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
