# The ARM SMMUv3 driver rework as two patch queues, on Debian's
# linux-source-6.1 and linux-source-6.12 (queues/).  See README.md.  Every
# target is a script in scripts/ and works on QUEUE=6.1|6.12 (default 6.1;
# make test and make bench take both).

S := scripts

.PHONY: help run test bench tree export series check kunit kunit-mutations model-mutations e2e bisect baseline fresh-check deps clean distclean

help:
	@echo "Every target takes QUEUE=6.1|6.12 (default 6.1); make test without QUEUE runs both."
	@echo "make run       install what is missing, build the tree and guest, run the end-to-end scenario"
	@echo "make test      what CI runs: KUnit + end-to-end + series checks, ends 'N passed, N failed'"
	@echo "make bench     both queues next to their bases (four kernels), three emulators: out/bench/bench.{txt,json,svg}"
	@echo "make tree      build or refresh build/QUEUE/linux (tag 'base' + queues/QUEUE/patches/series)"
	@echo "make export    write build/QUEUE/linux's commits back to queues/QUEUE/patches/"
	@echo "make series    mail-ready series (cover letter + numbered patches) in out/QUEUE/series/"
	@echo "make check     checkpatch --strict, sparse, tree/export round trip, series file"
	@echo "make kunit     the driver's KUnit suites under QEMU (kunit.py, arm64): software, hw-7.2, hw-10"
	@echo "make kunit-mutations  the entry-writer property suite under used-bit mutations (SEEDS=\"1 2 3\")"
	@echo "make model-mutations  the model check (arm-smmu-v3-model) under re-introduced bugs (SEEDS=\"1 2\")"
	@echo "make e2e       the end-to-end scenario only (QEMU=7.2|10|11.1, GUEST=plain|debug)"
	@echo "make bisect    build the arm64 kernel at every patch"
	@echo "make baseline  run the scenario on the pristine base (the queue's make test runs), keep its figures in queues/QUEUE/baseline/"
	@echo "make fresh-check  run 'make run' and 'make test' in a clean Debian bookworm root (as root)"
	@echo "make deps      install the Debian packages needed (as root)"
	@echo "make clean     remove build/ and out/ (keeps the downloaded base in cache/)"

deps:
	@bash -c '. $(S)/lib.sh; ensure_deps'

run:
	@bash -c '. $(S)/lib.sh; ensure_deps'
	@$(S)/e2e.sh
	@[ -n "$(QUEUE)" ] || echo "(that was the 6.1 queue: 'make run QUEUE=6.12' runs the 6.12 one)"

test:
	@$(S)/test.sh

bench:
	@$(S)/bench.sh

tree:
	@$(S)/tree.sh

export:
	@$(S)/export.sh

series:
	@$(S)/series.sh

check:
	@$(S)/check.sh

kunit:
	@$(S)/kunit.sh

kunit-mutations:
	@$(S)/kunit-mutations.sh $(SEEDS)

model-mutations:
	@$(S)/model-mutations.sh $(SEEDS)

e2e:
	@$(S)/e2e.sh $(if $(QEMU),--qemu $(QEMU)) $(if $(GUEST),--guest $(GUEST))

bisect:
	@$(S)/bisect.sh

baseline:
	@$(S)/baseline.sh

fresh-check:
	@$(S)/fresh-check.sh

clean:
	@if [ -d build/linux/.git ]; then git -C build/linux worktree prune; fi
	rm -rf build out

distclean: clean
	rm -rf cache
