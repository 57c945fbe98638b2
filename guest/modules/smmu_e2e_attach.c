// SPDX-License-Identifier: GPL-2.0
/*
 * End-to-end test module: attach a new unmanaged domain to a PCI device
 * whose group sits on its DMA default domain, as a kernel user of
 * iommu_attach_device() would, with the nth-th fault-injection point of the
 * attach failed (the task's fail_nth, as /proc/self/fail-nth sets it).
 *
 *   insmod smmu_e2e_attach.ko bdf=0000:00:02.0 nth=N
 *
 * It stays loaded with its verdict in the read-only parameter "result":
 *   attach=<0|-errno> injected=<0|1> domain=<default|new|other>
 * "domain" is the device's domain after the attempt (after the detach when
 * the attach succeeded): the default domain is the only right answer.
 */
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/sched.h>

static char *bdf;
module_param(bdf, charp, 0444);
static unsigned int nth;
module_param(nth, uint, 0444);
static char result[96] = "none";
module_param_string(result, result, sizeof(result), 0444);

static int __init smmu_e2e_attach_init(void)
{
	struct iommu_domain *def, *domain, *now;
	unsigned int seg, bus, slot, fn;
	struct pci_dev *pdev;
	bool injected;
	int ret;

	if (!bdf || sscanf(bdf, "%x:%x:%x.%x", &seg, &bus, &slot, &fn) != 4)
		return -EINVAL;
	pdev = pci_get_domain_bus_and_slot(seg, bus, PCI_DEVFN(slot, fn));
	if (!pdev)
		return -ENODEV;

	def = iommu_get_domain_for_dev(&pdev->dev);
	if (!def || def->type != IOMMU_DOMAIN_DMA) {
		pr_err("smmu_e2e_attach: %s is not on a DMA domain\n", bdf);
		ret = -EINVAL;
		goto out_put;
	}
	domain = iommu_domain_alloc(pdev->dev.bus);
	if (!domain) {
		ret = -ENOMEM;
		goto out_put;
	}

	/* From here on, the nth fault-injection point of this task fails */
	current->fail_nth = nth;
	ret = iommu_attach_device(domain, &pdev->dev);
	injected = nth && !current->fail_nth;
	current->fail_nth = 0;

	if (!ret)
		iommu_detach_device(domain, &pdev->dev);
	now = iommu_get_domain_for_dev(&pdev->dev);
	snprintf(result, sizeof(result), "attach=%d injected=%d domain=%s",
		 ret, injected,
		 now == def ? "default" : now == domain ? "new" : "other");
	pr_info("smmu_e2e_attach: nth=%u %s\n", nth, result);
	iommu_domain_free(domain);
	ret = 0;
out_put:
	pci_dev_put(pdev);
	return ret;
}

static void __exit smmu_e2e_attach_exit(void)
{
}

module_init(smmu_e2e_attach_init);
module_exit(smmu_e2e_attach_exit);
MODULE_DESCRIPTION("SMMUv3 end-to-end test: failed attach from a DMA domain");
MODULE_LICENSE("GPL");
