// SPDX-License-Identifier: GPL-2.0
/*
 * End-to-end test module: try to bind the loading process's address space
 * to a PCI device with SVA, as a driver of an SVA-capable device would
 * (uacce, idxd): enable IOMMU_DEV_FEAT_SVA, then iommu_sva_bind_device().
 * On QEMU's SMMUv3 (no substreams) and its nvme (no PASID capability) both
 * must be refused, with the device left on its DMA domain.
 *
 *   insmod smmu_e2e_sva.ko bdf=0000:00:03.0
 *
 * It stays loaded with its verdict in the read-only parameter "result":
 *   feat=<0|-errno> bind=<0|-errno> domain=<default|other>
 * Built against the series (bind takes the device and the mm) and against
 * the pristine base (bind takes a third, driver-data argument).
 */
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/sched.h>

static char *bdf;
module_param(bdf, charp, 0444);
static char result[96] = "none";
module_param_string(result, result, sizeof(result), 0444);

static int __init smmu_e2e_sva_init(void)
{
	unsigned int seg, bus, slot, fn;
	struct iommu_domain *def, *now;
	struct iommu_sva *handle;
	struct pci_dev *pdev;
	long bind = 0;
	int feat;

	if (!bdf || sscanf(bdf, "%x:%x:%x.%x", &seg, &bus, &slot, &fn) != 4)
		return -EINVAL;
	pdev = pci_get_domain_bus_and_slot(seg, bus, PCI_DEVFN(slot, fn));
	if (!pdev)
		return -ENODEV;

	def = iommu_get_domain_for_dev(&pdev->dev);
	feat = iommu_dev_enable_feature(&pdev->dev, IOMMU_DEV_FEAT_SVA);
#ifdef IOMMU_NO_PASID
	handle = iommu_sva_bind_device(&pdev->dev, current->mm);
#else
	handle = iommu_sva_bind_device(&pdev->dev, current->mm, NULL);
#endif
	if (IS_ERR(handle))
		bind = PTR_ERR(handle);
	else
		iommu_sva_unbind_device(handle);
	if (!feat)
		iommu_dev_disable_feature(&pdev->dev, IOMMU_DEV_FEAT_SVA);
	now = iommu_get_domain_for_dev(&pdev->dev);
	snprintf(result, sizeof(result), "feat=%d bind=%ld domain=%s", feat, bind,
		 now == def ? "default" : "other");
	pr_info("smmu_e2e_sva: %s %s\n", bdf, result);
	pci_dev_put(pdev);
	return 0;
}

static void __exit smmu_e2e_sva_exit(void)
{
}

module_init(smmu_e2e_sva_init);
module_exit(smmu_e2e_sva_exit);
MODULE_DESCRIPTION("SMMUv3 end-to-end test: SVA bind without substreams");
MODULE_LICENSE("GPL");
