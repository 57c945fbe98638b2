#!/usr/bin/env bash
# The model check (arm-smmu-v3-model) against bugs put back into the driver:
# each mutation below re-introduces one bug (fixed in the queue, or one of
# the kinds the model is there to catch) into build/linux (restored
# afterwards), the KUnit kernel is rebuilt and the suite run with fixed
# seeds; the suite must fail, and the operation at which each case first
# failed is reported.  The concurrent case's interleavings are not fixed by
# the seed.  Not part of 'make test': it takes a build per mutation.
#   scripts/model-mutations.sh [SEED...]   (default seeds 1 2)
# ONLY=<text> runs the mutations whose name contains it.  For seed S the
# sequential case runs with seed S and the concurrent one with S+1; a case
# not run because the one before it was stopped inside the driver shows as
# "not run"; one that never printed a result (the kernel crashed in or
# before it) as "no result".
set -euo pipefail
. "$(dirname "$0")/lib.sh"

src=$TREE/drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c
kdir=$BUILD/kunit
res=$OUT/model-mutations
mkdir -p "$res"
seeds=${*:-1 2}
[ -z "$(git -C "$TREE" status --porcelain -- "$src")" ] || die "$src has uncommitted changes"
restore() { git -C "$TREE" checkout -q -- "$src"; }
trap restore EXIT

# The mutations: name, then the text of the source and its replacement
mutate() { # name
	python3 - "$src" "$1" <<'PY'
import sys
p, name = sys.argv[1], sys.argv[2]
M = {
 "clear_refs flush never ends": [(
  "\tif (size >= ULONG_MAX - iova)\n\t\tsize = 0;\n", "")],
 "CD.S only once the CD table exists": [(
  "\tif (master->stall_enabled)\n\t\tval |= CTXDESC_CD_0_S;\n",
  "\tif (master->stall_enabled && master->cd_table.cdtab)\n\t\tval |= CTXDESC_CD_0_S;\n")],
 "quiet CD keeps S and R": [(
  "\tif (!(master->smmu->features & ARM_SMMU_FEAT_STALL_FORCE))\n\t\tval &= ~(CTXDESC_CD_0_S | CTXDESC_CD_0_R);\n", "")],
 "identity->blocked keeps the RID's ATC": [(
  "else if (was_ats && (!ats || rid_changed))",
  "else if (was_ats && (!ats || new_domain != old_domain))")],
 "old array left before the ATC_INV": [(
  "\t\tif (old_domain) {\n\t\t\tarm_smmu_domain_unref_invs(old_domain, master, 0,\n\t\t\t\t\t\t   old_md->ats);\n",
  "\t\tif (old_domain) {\n"), (
  "\t/* The table outlives the domain: leave CD 0 invalid for the next one */",
  "\tif (new_domain != old_domain && old_domain)\n\t\tarm_smmu_domain_unref_invs(old_domain, master, 0, old_md->ats);\n\n"
  "\t/* The table outlives the domain: leave CD 0 invalid for the next one */")],
 "S2VMID not read by stage 1": [(
  "\t\tused_bits[2] |= cpu_to_le64(STRTAB_STE_2_S2VMID);\n", "")],
 "no flush for the last user of a tag": [(
  "\tstruct arm_smmu_cmdq_ent cmd = {};\n\n\tswitch (inv->type) {\n\tcase INV_TYPE_S1_ASID:",
  "\tstruct arm_smmu_cmdq_ent cmd = {};\n\n\treturn;\n\tswitch (inv->type) {\n\tcase INV_TYPE_S1_ASID:")],
 "ATC_INV of the wrong PASID": [(
  "\t\t.atc.ssid\t\t= ssid,", "\t\t.atc.ssid\t\t= ssid & ~1,")],
 "no CFGI_STE after an STE write": [(
  "\tarm_smmu_sync_ste_for_sid(writer->master->smmu, ste_writer->sid);\n}",
  "\tif (0)\n\t\tarm_smmu_sync_ste_for_sid(writer->master->smmu, ste_writer->sid);\n}")],
 "no S2S for stalling masters": [(
  "\tif (master->stall_enabled)\n\t\tqw2 |= STRTAB_STE_2_S2S;\n", "")],
 "old domain from the core during the unwind": [(
  "\tif (!state->domain || state->domain == master->domain)\n\t\treturn 0;",
  "\tif (!state->domain ||\n\t    (iommu_get_domain_for_dev(master->dev) && state->domain == master->domain))\n\t\treturn 0;"), (
  "\tstruct arm_smmu_domain *old_domain = master->domain;\n\tstruct arm_smmu_domain *new_domain = state->domain;",
  "\tstruct arm_smmu_domain *old_domain =\n\t\tiommu_get_domain_for_dev(master->dev) ? master->domain : NULL;\n\tstruct arm_smmu_domain *new_domain = state->domain;")],
 "old domain from the core, as upstream": [(
  "\tif (!state->domain || state->domain == master->domain)\n\t\treturn 0;",
  "\tif (!state->domain || state->domain == arm_smmu_core_domain(master))\n\t\treturn 0;"), (
  "\tstruct arm_smmu_domain *old_domain = master->domain;\n\tstruct arm_smmu_domain *new_domain = state->domain;",
  "\tstruct arm_smmu_domain *old_domain = arm_smmu_core_domain(master);\n\tstruct arm_smmu_domain *new_domain = state->domain;"), (
  "static int arm_smmu_attach_prepare(struct arm_smmu_attach_state *state)\n{",
  "static struct arm_smmu_domain *arm_smmu_core_domain(struct arm_smmu_master *master)\n{\n"
  "\tstruct iommu_domain *domain = iommu_get_domain_for_dev(master->dev);\n\n"
  "\treturn domain && (domain->type & __IOMMU_DOMAIN_PAGING) ? to_smmu_domain(domain) : NULL;\n}\n\n"
  "static int arm_smmu_attach_prepare(struct arm_smmu_attach_state *state)\n{")],
 "no TLBI after an unmap": [(
  "\tif (!gather->pgsize)\n\t\treturn;\n\n\tarm_smmu_domain_inv_range(smmu_domain, gather->start,",
  "\tif (gather->pgsize)\n\t\treturn;\n\n\tarm_smmu_domain_inv_range(smmu_domain, gather->start,")],
}
s = open(p).read()
for a, b in M[name]:
    if s.count(a) != 1:
        sys.exit(f"{name}: mutation text found {s.count(a)} times")
    s = s.replace(a, b)
open(p, 'w').write(s)
PY
}
names=("clear_refs flush never ends" "CD.S only once the CD table exists" "quiet CD keeps S and R"
	"identity->blocked keeps the RID's ATC" "old array left before the ATC_INV"
	"S2VMID not read by stage 1" "no flush for the last user of a tag" "ATC_INV of the wrong PASID"
	"no CFGI_STE after an STE write" "no TLBI after an unmap" "no S2S for stalling masters"
	"old domain from the core during the unwind" "old domain from the core, as upstream")

printf '%-40s %s\n' "mutation" "first failure per seed ($seeds): sequential case / concurrent case" | tee "$res/summary"
for name in "${names[@]}"; do
	case $name in *"${ONLY:-}"*) ;; *) continue ;; esac
	restore
	mutate "$name"
	(cd "$TREE" && with_kbuild_lock python3 tools/testing/kunit/kunit.py build --arch=arm64_smmuv3 \
		--cross_compile="$CROSS_COMPILE" --build_dir="$kdir" --kunitconfig=drivers/iommu/arm/arm-smmu-v3 \
		--jobs="$JOBS" --make_options "CC=$KCC" --make_options "HOSTCC=$HOSTCC_CMD") > "$res/build.log" 2>&1 ||
		die "build failed under mutation '$name' (out/model-mutations/build.log)"
	line=""
	for s in $seeds; do
		log=$res/$(echo "$name" | tr -c 'a-zA-Z0-9\n' '-')-seed$s.log
		(cd "$TREE" && python3 tools/testing/kunit/kunit.py exec --arch=arm64 --build_dir="$kdir" \
			--qemu_args="-smp 2" --kernel_args "arm_smmu_v3_test.model_seed=$s" arm-smmu-v3-model) > /dev/null 2>&1 || true
		cp "$kdir/test.log" "$log"
		seq=$(grep -oE "^seed $s(: |, )operation [0-9]+" "$log" | sed -E 's/.*operation /op /' | head -1 || true)
		conc=$(grep -oE "^seed $((s + 1))(: |, )operation [0-9]+" "$log" | sed -E 's/.*operation /op /' | head -1 || true)
		grep -q 'not run: an earlier case was stopped' "$log" && conc=${conc:-not run}
		# Passed: the case printed its summary; else it never finished
		# (the kernel crashed or hung in it, or before it)
		grep -qE "seed $s: [0-9]+ operations" "$log" && seq=${seq:-passed}
		grep -qE "seed $((s + 1)): [0-9]+ operations" "$log" && conc=${conc:-passed}
		line="$line ${seq:-no result} / ${conc:-no result} |"
	done
	printf '%-40s %s\n' "$name" "$line" | tee -a "$res/summary"
done
restore
