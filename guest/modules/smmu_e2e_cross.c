// SPDX-License-Identifier: GPL-2.0
/*
 * End-to-end test module: a domain of one SMMU offered to a device behind
 * another SMMU that cannot use it.
 *
 *   insmod smmu_e2e_cross.ko owner=0000:00:03.0 target=0000:81:00.0 nesting=1
 *
 * A new unmanaged domain (made a nesting, i.e. stage-2, domain when
 * nesting=1) is attached to @owner, which finalises it for the owner's
 * SMMU, and detached again; both devices sit on their DMA default domains
 * and are idle (the owner's driver stays bound: a DMA of it in that
 * moment would fault, and the host would see the event). Then the domain
 * is attached to @target, whose SMMU must refuse it: the series shares
 * only stage-1 domains across SMMUs, and a stage-1-only SMMU could not walk
 * this one anyway. The module stays
 * loaded with its verdict in the read-only parameter "result":
 *   owner=<0|-errno> nesting=<0|-errno> attach=<0|-errno> domain=<default|new|other>
 * "domain" is the target's domain after the attempt (after a detach when
 * the attach succeeded); attach must be the driver's refusal, -ENXIO.
 */
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/pci.h>

static char *owner;
module_param(owner, charp, 0444);
static char *target;
module_param(target, charp, 0444);
static bool nesting;
module_param(nesting, bool, 0444);
static char result[96] = "none";
module_param_string(result, result, sizeof(result), 0444);

static struct pci_dev *get_pdev(const char *bdf)
{
	unsigned int seg, bus, slot, fn;

	if (!bdf || sscanf(bdf, "%x:%x:%x.%x", &seg, &bus, &slot, &fn) != 4)
		return NULL;
	return pci_get_domain_bus_and_slot(seg, bus, PCI_DEVFN(slot, fn));
}

static int __init smmu_e2e_cross_init(void)
{
	struct iommu_domain *def, *domain, *now;
	struct pci_dev *odev, *tdev = NULL;
	int ret, oret, nret = 0;

	odev = get_pdev(owner);
	if (!odev)
		return -ENODEV;
	tdev = get_pdev(target);
	if (!tdev) {
		ret = -ENODEV;
		goto out_put;
	}
	def = iommu_get_domain_for_dev(&tdev->dev);
	now = iommu_get_domain_for_dev(&odev->dev);
	if (odev == tdev || !def || def->type != IOMMU_DOMAIN_DMA ||
	    !now || now->type != IOMMU_DOMAIN_DMA) {
		pr_err("smmu_e2e_cross: %s and %s must be two devices on DMA domains\n",
		       owner, target);
		ret = -EINVAL;
		goto out_put;
	}
	domain = iommu_domain_alloc(odev->dev.bus);
	if (!domain) {
		ret = -ENOMEM;
		goto out_put;
	}
	if (nesting)
		nret = iommu_enable_nesting(domain);

	/* The owner's attach finalises the domain for the owner's SMMU */
	oret = nret ? nret : iommu_attach_device(domain, &odev->dev);
	if (!oret)
		iommu_detach_device(domain, &odev->dev);

	ret = oret ? oret : iommu_attach_device(domain, &tdev->dev);
	if (!oret && !ret)
		iommu_detach_device(domain, &tdev->dev);
	now = iommu_get_domain_for_dev(&tdev->dev);
	snprintf(result, sizeof(result), "owner=%d nesting=%d attach=%d domain=%s",
		 oret, nret, oret ? 1 : ret,
		 now == def ? "default" : now == domain ? "new" : "other");
	pr_info("smmu_e2e_cross: %s -> %s: %s\n", owner, target, result);
	iommu_domain_free(domain);
	ret = 0;
out_put:
	pci_dev_put(tdev);
	pci_dev_put(odev);
	return ret;
}

static void __exit smmu_e2e_cross_exit(void)
{
}

module_init(smmu_e2e_cross_init);
module_exit(smmu_e2e_cross_exit);
MODULE_DESCRIPTION("SMMUv3 end-to-end test: a domain refused across SMMUs");
MODULE_LICENSE("GPL");
