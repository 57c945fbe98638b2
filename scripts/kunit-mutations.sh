#!/usr/bin/env bash
# The entry writer's property suite (arm-smmu-v3-entry-property) under
# mutations of the driver's used-bit rules: each mutation removes one rule
# from arm_smmu_get_ste_used() or arm_smmu_get_cd_used() in build/linux
# (restored afterwards), the KUnit kernel is rebuilt and the suite run with
# fixed seeds; the suite must fail, and the pair at which it first failed
# is reported.  Not part of 'make test': it takes a build per mutation.
#   scripts/kunit-mutations.sh [SEED...]   (default seeds 1 2 3)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

src=$TREE/drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c
kdir=$BUILD/kunit
res=$OUT/kunit-mutations
mkdir -p "$res"
seeds=${*:-1 2 3}
[ -z "$(git -C "$TREE" status --porcelain -- "$src")" ] || die "$src has uncommitted changes"
restore() { git -C "$TREE" checkout -q -- "$src"; }
trap restore EXIT

# name@@text of the source@@its replacement (\n for a newline)
mutations=(
"S2VMID not read by stage 1@@		used_bits[2] |= cpu_to_le64(STRTAB_STE_2_S2VMID);\n		/* Streams@@		/* Streams"
"S1DSS not read@@		used_bits[1] |= cpu_to_le64(STRTAB_STE_1_S1DSS |\n@@		used_bits[1] |= cpu_to_le64(\n"
"EATS not read by stage 1@@					    STRTAB_STE_1_EATS |\n					    STRTAB_STE_1_STRW);@@					    STRTAB_STE_1_STRW);"
"SHCFG not read by bypass@@	if (cfg == STRTAB_STE_0_CFG_BYPASS) {\n		used_bits[1] |= cpu_to_le64(STRTAB_STE_1_SHCFG);@@	if (cfg == STRTAB_STE_0_CFG_BYPASS) {"
"S2TTB not read@@		used_bits[3] |= cpu_to_le64(STRTAB_STE_3_S2TTB_MASK);@@"
"CD TTB0 never read@@	if (ent[0] & cpu_to_le64(CTXDESC_CD_0_TCR_EPD0)) {\n		used_bits[0] &= ~cpu_to_le64(CTXDESC_CD_0_TCR_TTB0_WALK);\n		used_bits[1] &= ~cpu_to_le64(CTXDESC_CD_1_TTB0_MASK);\n	}@@	used_bits[1] &= ~cpu_to_le64(CTXDESC_CD_1_TTB0_MASK);\n	if (ent[0] & cpu_to_le64(CTXDESC_CD_0_TCR_EPD0))\n		used_bits[0] &= ~cpu_to_le64(CTXDESC_CD_0_TCR_TTB0_WALK);"
"CD walk fields read only with EPD0@@	if (ent[0] & cpu_to_le64(CTXDESC_CD_0_TCR_EPD0)) {@@	if (!(ent[0] & cpu_to_le64(CTXDESC_CD_0_TCR_EPD0))) {"
"S1ContextPtr not read@@		used_bits[0] |= cpu_to_le64(STRTAB_STE_0_S1FMT |\n					    STRTAB_STE_0_S1CTXPTR_MASK |@@		used_bits[0] |= cpu_to_le64(STRTAB_STE_0_S1FMT |"
"VTCR not read@@					    STRTAB_STE_2_VTCR |\n@@"
"S2AA64 not read@@					    STRTAB_STE_2_S2AA64 |\n@@"
"CD ASID not read@@	memset(used_bits, 0xff, sizeof(struct arm_smmu_cd));@@	memset(used_bits, 0xff, sizeof(struct arm_smmu_cd));\n	used_bits[0] &= ~cpu_to_le64(CTXDESC_CD_0_ASID);"
"CD MAIR not read@@	memset(used_bits, 0xff, sizeof(struct arm_smmu_cd));@@	memset(used_bits, 0xff, sizeof(struct arm_smmu_cd));\n	used_bits[3] = 0;"
)

printf '%-36s %s\n' "mutation" "first failing pair per seed ($seeds)" | tee "$res/summary"
for m in "${mutations[@]}"; do
	name=${m%%@@*} rest=${m#*@@}
	from=${rest%%@@*} to=${rest#*@@}
	restore
	python3 - "$src" "$from" "$to" <<'PY'
import sys
p, a, b = sys.argv[1], sys.argv[2].replace('\\n', '\n'), sys.argv[3].replace('\\n', '\n')
s = open(p).read()
if s.count(a) != 1:
    sys.exit(f"mutation text found {s.count(a)} times")
open(p, 'w').write(s.replace(a, b))
PY
	(cd "$TREE" && with_kbuild_lock python3 tools/testing/kunit/kunit.py build --arch=arm64_smmuv3 \
		--cross_compile="$CROSS_COMPILE" --build_dir="$kdir" --kunitconfig=drivers/iommu/arm/arm-smmu-v3 \
		--jobs="$JOBS" --make_options "CC=$KCC" --make_options "HOSTCC=$HOSTCC_CMD") > "$res/build.log" 2>&1 ||
		die "build failed under mutation '$name' (out/kunit-mutations/build.log)"
	line=""
	for s in $seeds; do
		(cd "$TREE" && python3 tools/testing/kunit/kunit.py exec --arch=arm64 --build_dir="$kdir" \
			--kernel_args "arm_smmu_v3_test.seed=$s" arm-smmu-v3-entry-property) > /dev/null 2>&1 || true
		cp "$kdir/test.log" "$res/$(echo "$name" | tr ' ' '-')-seed$s.log"
		first=$(grep -oE '(STE|CD): first failure at pair [0-9]+' "$kdir/test.log" | sed 's/: first failure at pair / pair /' | tr '\n' ' ' || true)
		line="$line ${first:-PASSED(not caught)} |"
	done
	printf '%-36s %s\n' "$name" "$line" | tee -a "$res/summary"
done
restore
