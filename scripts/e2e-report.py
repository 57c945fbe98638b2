#!/usr/bin/env python3
"""Judge one end-to-end run from its QEMU log (console + trace in one file).

The guest announces windows with '@@E2E WINDOW <name>'; every QEMU trace
line after it belongs to that window (a phase names its windows, or
patterns of them such as 'p5-c*-blocked').  For each window we count the SMMU
commands by opcode (smmuv3_cmdq_opcode), the events recorded
(smmuv3_record_event; QEMU 11 calls it smmuv3_propagate_event) and, per
StreamID, the translated, bypassed and aborted accesses
(smmuv3_translate_*).  With two SMMUs (--two-smmus), the CPU's MMIO writes
(memory_region_ops_write) to an SMMU's CMDQ_PROD say which SMMU the command
batch that follows is for, and CFGI_STE (smmuv3_cmdq_cfgi_ste) which
StreamID: commands, STE invalidations and range-invalidation ASIDs are
also counted per SMMU.  A phase passes when the guest says
PASS *and* the trace shows what the SMMU must have done in it.  A phase the
guest was told to skip (--skip: SKIP_PHASES, the interfaces the kernel
lacks) and says SKIP for is neither passed nor failed; a SKIP not asked for,
or a phase run although asked to skip, fails.

Prints the report; the last line is 'e2e: N passed, N failed' (and ', N
skipped: <phases>' when any was).  Exit status 1 if any phase failed.
"""
import argparse
import collections
import fnmatch
import json
import re
import sys

PHASES = {
    1: ("probe", ["boot", "p1-probe"]),
    2: ("DMA through translation", ["p2-dma"]),
    3: ("domain switching", ["p3-switch", "p3-identity", "p3-dma"]),
    4: ("VFIO", ["p4-prepare", "p4-vfio", "p4-rebind"]),
    5: ("domain cycling", ["p5-*"]),
    6: ("failed attach (fail-nth)", ["p6-*"]),
    7: ("failed attach from DMA", ["p7-*"]),
    8: ("stage 2 (VFIO nesting)", ["p8-*"]),
    9: ("stress", ["p9-*"]),
    10: ("SVA refused", ["p10-*"]),
    11: ("one domain, two SMMUs", ["p11-*"]),
    12: ("refused across SMMUs", ["p12-*"]),
    13: ("report", []),
}
TWO_SMMU_PHASES = (11, 12)     # QEMU 11.1 (--two-smmus) only
REPORT = max(PHASES)

# QEMU writes each trace line whole, but the guest's console output (the
# other vCPU, the UART) can be cut by one: a trace line may follow part of a
# console line whose rest comes on the next line.  Search, don't match.
TRACE = re.compile(r"(?:\d+@[\d.]+:)?(smmuv3_cmdq_opcode|smmuv3_record_event|"
                   r"smmuv3_propagate_event|smmuv3_translate_[a-z]+|smmu_ptw_invalid_pte|smmuv3_range_inval|"
                   r"smmuv3_cmdq_tlbi_s12_vmid|smmuv3_cmdq_cfgi_ste|memory_region_ops_write) (.*)$")
SID = re.compile(r"sid=0x([0-9a-f]+)")
STAGE = re.compile(r"stage=(\d)")
VMID = re.compile(r"vmid=(-?\d+)")
ASID = re.compile(r"asid=(-?\d+)")
STREAMID = re.compile(r"streamid= *0x([0-9a-f]+)")
# memory_region_ops_write: the absolute address and the region's name
MMIO = re.compile(r"addr 0x([0-9a-f]+) value 0x[0-9a-f]+ size \d+ name '([^']*)'")
CMDQ_PROD = 0x98       # SMMU_CMDQ_PROD, page 0
# A kernel splat on the console fails the phase it happened in: warnings
# (list debugging reports a corrupted list with one), BUGs and oopses, and
# on the debug guest lockdep ("WARNING: possible circular locking..."),
# KASAN ("BUG: KASAN: ..."), RCU stalls, hung tasks and soft lockups.
SPLAT = re.compile(r"-{12}\[ cut here \]-{12}|WARNING: |BUG: |Oops|"
                   r"list_(?:add|del) corruption|Kernel panic|"
                   r"rcu: INFO: |detected stalls? on CPU|self-detected stall|"
                   r"INFO: task .* blocked for more than|soft lockup|"
                   r"ODEBUG: |DEBUG_LOCKS_WARN_ON|INFO: trying to register non-static key")
# The guest ends init on purpose when a driver bind is stuck (the pristine
# base's phase 6): the panic that follows is the way out, not a finding.
STUCK_END = "a driver bind is stuck; ending init"
# The guest powers off from a child under a deadline (power_off() in
# guest/lib.c); if the kernel's power-off does not finish, init ends too.
POWER_OFF_FAILED = re.compile(r"e2e: the power-off (?:did not finish|failed).*")
# kmemleak's report: which leaks are the IOMMU code's (its backtrace).
IOMMU_CODE = re.compile(r"iommu|smmu|io_pgtable|arm_lpae|vfio|iopf|iova|dma_iommu|"
                        r"iommu_dma|sva")


class Window:
    def __init__(self):
        self.cmds = collections.Counter()
        self.events = collections.Counter()        # (type, sid)
        self.xlate = collections.Counter()         # (kind, sid)
        self.stages = collections.Counter()        # (sid, stage) of translations
        self.bad_pte = collections.Counter()       # stage of invalid PTEs walked
        self.vmids = collections.Counter()         # VMIDs in range/S12 invalidations
        self.smmu_cmds = collections.Counter()     # (SMMU base, opcode), two SMMUs only
        self.cfgi_sids = collections.Counter()     # StreamIDs of CFGI_STE
        self.smmu_asids = collections.Counter()    # (SMMU base, ASID) of range invalidations
        self.console = []


def parse(path):
    """Windows, results, info, console, done, and StreamID -> SMMU base."""
    windows = collections.OrderedDict(boot=Window())
    cur = windows["boot"]
    smmu = None         # the SMMU whose command queue was written last
    sid_smmu = {}
    results, info, console = {}, {}, []
    done = False
    in_leaks = False    # inside kmemleak's dump: its hex dumps are data
    partial = ""        # console text cut by a trace line
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            m = TRACE.search(line)
            if m:
                partial += line[:m.start()]
                kind, rest = m.groups()
                kind = kind[len("smmuv3_"):] if kind.startswith("smmuv3_") else kind
                if kind == "memory_region_ops_write":
                    mm = MMIO.search(rest)
                    # The SMMU's register file is 128 KiB (two 64 KiB pages), aligned
                    if mm and "smmu" in mm.group(2) and int(mm.group(1), 16) & 0x1ffff == CMDQ_PROD:
                        smmu = int(mm.group(1), 16) - CMDQ_PROD
                elif kind == "cmdq_opcode":
                    op = rest.replace("<--- ", "").replace("SMMU_CMD_", "")
                    cur.cmds[op] += 1
                    if smmu is not None:
                        cur.smmu_cmds[(smmu, op)] += 1
                elif kind == "cmdq_cfgi_ste":
                    s = STREAMID.search(rest)
                    if s:
                        cur.cfgi_sids[int(s.group(1), 16)] += 1
                        if smmu is not None:
                            sid_smmu[int(s.group(1), 16)] = smmu
                elif kind in ("record_event", "propagate_event"):
                    typ, _, _ = rest.partition(" ")
                    s = SID.search(rest)
                    cur.events[(typ.replace("SMMU_EVT_", ""), int(s.group(1), 16) if s else -1)] += 1
                elif kind.startswith("translate_"):
                    s = SID.search(rest)
                    if s:
                        cur.xlate[(kind[len("translate_"):], int(s.group(1), 16))] += 1
                        st = STAGE.search(rest)
                        if st and kind == "translate_success":
                            cur.stages[(int(s.group(1), 16), int(st.group(1)))] += 1
                elif kind == "smmu_ptw_invalid_pte":
                    st = STAGE.search(rest)
                    cur.bad_pte[int(st.group(1)) if st else 0] += 1
                else:       # range_inval, cmdq_tlbi_s12_vmid
                    v, st = VMID.search(rest), STAGE.search(rest)
                    if v:
                        cur.vmids[(int(v.group(1)), int(st.group(1)) if st else 2)] += 1
                    asid = ASID.search(rest)
                    if asid and smmu is not None and kind == "range_inval":
                        cur.smmu_asids[(smmu, int(asid.group(1)))] += 1
                continue
            line, partial = partial + line, ""
            console.append(line)
            cur.console.append(line)
            i = line.find("@@E2E ")
            if i < 0 or (in_leaks and "@@E2E KMEMLEAK END" not in line):
                continue
            words = line[i + 6:].split(" ", 3)
            if words[0] == "WINDOW" and len(words) > 1:
                cur = windows.setdefault(words[1], Window())
            elif words[0] == "RESULT" and len(words) > 2:
                results[int(words[1])] = (words[2], words[3] if len(words) > 3 else "")
            elif words[0] == "INFO" and len(words) > 2:
                info[words[1]] = " ".join(words[2:])
            elif words[0] == "DONE":
                done = True
            elif words[0] == "KMEMLEAK" and len(words) > 1:
                info["kmemleak-" + words[1].lower()] = str(len(console))
                in_leaks = words[1] == "BEGIN"
    return windows, results, info, console, done, sid_smmu


def match(windows, patterns):
    """The names of the windows that match any of the patterns, in order."""
    return [n for n in windows if any(fnmatch.fnmatchcase(n, p) for p in patterns)]


def sum_windows(windows, patterns):
    w = Window()
    for n in match(windows, patterns):
        w.cmds.update(windows[n].cmds)
        w.events.update(windows[n].events)
        w.xlate.update(windows[n].xlate)
        w.stages.update(windows[n].stages)
        w.bad_pte.update(windows[n].bad_pte)
        w.vmids.update(windows[n].vmids)
        w.smmu_cmds.update(windows[n].smmu_cmds)
        w.cfgi_sids.update(windows[n].cfgi_sids)
        w.smmu_asids.update(windows[n].smmu_asids)
    return w


def kmemleak(console, info):
    """kmemleak's records (None if it did not run), and the IOMMU code's ones."""
    if "kmemleak-begin" not in info or "kmemleak-end" not in info:
        return None, []
    lines = console[int(info["kmemleak-begin"]):int(info["kmemleak-end"]) - 1]
    recs, cur = [], None
    for l in lines:
        if "unreferenced object" in l:
            cur = [l.strip()]
            recs.append(cur)
        elif cur is not None:
            cur.append(l.strip())
    ours = [r[0] + " " + next((x for x in r if IOMMU_CODE.search(x) and x.startswith("[<")), "")
            for r in recs if any(IOMMU_CODE.search(x) for x in r[1:] if x.startswith("[<"))]
    return recs, ours


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--qemu-rc", type=int, default=0)
    ap.add_argument("--sid", action="append", default=[], help="name=0xSID")
    ap.add_argument("--baseline", help="counts.json of the pristine base, for comparison")
    ap.add_argument("--json", help="write the per-phase counts here")
    ap.add_argument("--qemu-version", default="", help="what the emulator said of itself")
    ap.add_argument("--guest", default="plain", help="plain or debug guest kernel")
    ap.add_argument("--seconds", type=int, help="the run's wall time")
    ap.add_argument("--cross", choices=("shared", "per-smmu"), default="shared",
                    help="phases 11-12: the queue shares stage-1 domains across SMMUs "
                         "(shared) or keeps a domain per SMMU, as upstream (per-smmu)")
    ap.add_argument("--two-smmus", action="store_true",
                    help="QEMU 11.1 with two SMMUs: judge phases 11 and 12 (sid nvme2)")
    ap.add_argument("--short", action="store_true",
                    help="a shortened stress phase is allowed (fewer than 1000 transitions)")
    ap.add_argument("--skip", action="append", type=int, default=[],
                    help="a phase the guest was told to skip (SKIP_PHASES); repeatable")
    a = ap.parse_args()

    sids = {k: int(v, 0) for k, v in (s.split("=") for s in a.sid)}
    windows, results, info, console, done, sid_smmu = parse(a.log)
    if not a.two_smmus:
        for n in TWO_SMMU_PHASES:
            del PHASES[n]
    w = lambda name: windows.get(name, Window())
    verdict = {}

    def judge(n, checks):
        splats = [l.strip() for name in match(windows, PHASES[n][1])
                  for l in windows[name].console if SPLAT.search(l)]
        if splats:
            verdict[n] = ("FAIL", "kernel splat: " + " | ".join(splats[:3]))
            return
        guest = results.get(n)
        if n in a.skip:
            verdict[n] = (("SKIP", guest[1]) if guest and guest[0] == "SKIP" else
                          ("FAIL", "told to skip it, the guest %s" % (
                              "reported nothing" if guest is None else "ran it")))
            return
        if guest is None:
            verdict[n] = ("FAIL", "the guest reported no result for this phase")
            return
        if guest[0] == "SKIP":
            verdict[n] = ("FAIL", "the guest skipped it unasked: " + guest[1])
            return
        if guest[0] != "PASS":
            verdict[n] = ("FAIL", "guest: " + guest[1])
            return
        for ok, why in checks:
            if not ok:
                verdict[n] = ("FAIL", "trace: " + why)
                return
        verdict[n] = ("PASS", guest[1])

    vs, ns = sids.get("virtio"), sids.get("nvme")
    no_events = lambda names: not sum(sum_windows(windows, names).events.values())

    judge(1, [(no_events(["boot", "p1-probe"]), "SMMU events recorded during boot/probe")])
    p2 = w("p2-dma")
    judge(2, [
        (p2.xlate[("success", vs)] > 0, "no translated access for the virtio disk (sid %#x)" % vs),
        (p2.xlate[("bypass", vs)] == 0, "virtio disk DMA bypassed translation"),
        (no_events(["p2-dma"]), "SMMU events recorded"),
    ])
    idn, dma = w("p3-identity"), w("p3-dma")
    judge(3, [
        (idn.xlate[("bypass", vs)] > 0, "no bypassed access in the identity phase"),
        (idn.xlate[("success", vs)] == 0, "translated accesses in the identity phase"),
        (dma.xlate[("success", vs)] > 0, "no translated access after switching back to DMA"),
        (dma.xlate[("bypass", vs)] == 0, "bypassed accesses after switching back to DMA"),
        (no_events(PHASES[3][1]), "SMMU events recorded"),
    ])
    # Phase 5: every step of every cycle, judged from its own window.
    def xl(name, kind):
        return w(name).xlate[(kind, vs)]

    cycles = int(info.get("cycles", "0") or 0)
    p5 = []
    steps = [("p5-start", "dma")]
    for c in range(1, cycles + 1):
        steps += [("p5-c%d-identity" % c, "identity"), ("p5-c%d-dma-a" % c, "dma"),
                  ("p5-c%d-blocked" % c, "blocked"), ("p5-c%d-dma-b" % c, "dma")]
    p5.append((cycles > 0, "the guest did not say how many cycles it ran"))
    missing = [n for n, _ in steps if n not in windows]
    p5.append((not missing, "windows missing: %s" % " ".join(missing[:6])))
    for kind, ok, why in [
        ("dma", lambda n: xl(n, "success") > 0, "no translated access"),
        ("dma", lambda n: xl(n, "bypass") == 0, "bypassed accesses"),
        ("identity", lambda n: xl(n, "bypass") > 0, "no bypassed access"),
        ("identity", lambda n: xl(n, "success") == 0, "translated accesses"),
        ("blocked", lambda n: xl(n, "success") == 0 and xl(n, "bypass") == 0,
         "an access went through while blocked"),
        ("blocked", lambda n: w(n).cmds["CFGI_STE"] > 0,
         "no STE invalidation: the group kept its domain"),
    ]:
        bad = [n for n, k in steps if k == kind and n in windows and not ok(n)]
        p5.append((not bad, "%s in %s" % (why, " ".join(bad[:6]))))
    bad = [n for n, k in steps if k != "blocked" and n in windows and xl(n, "abort")]
    p5.append((not bad, "aborted accesses in %s" % " ".join(bad[:6])))
    p5.append((no_events(PHASES[5][1]), "SMMU events recorded: %s" %
               dict(sum_windows(windows, PHASES[5][1]).events)))

    # Phase 6: each failed attempt left identity (bypass only), then DMA.
    k = info.get("fail-nth-count")
    fails = match(windows, ["p6-fail-*"])
    absorbed = match(windows, ["p6-absorbed-*"])
    p6 = [(k is not None, "the guest did not report fail-nth-count")]
    if k is not None:
        p6.append((len(fails) > 0, "no failed allocation made the switch fail"))
        p6.append((len(fails) + len(absorbed) == int(k),
                   "%d failure and %d absorbed windows for fail-nth-count %s" %
                   (len(fails), len(absorbed), k)))
    for ok, why in [
        (lambda n: xl(n, "bypass") > 0, "no bypassed access"),
        (lambda n: xl(n, "success") == 0, "translated accesses"),
        (lambda n: xl(n, "abort") == 0, "aborted accesses"),
    ]:
        bad = [n for n in fails if not ok(n)]
        p6.append((not bad, "%s after the failed attach: %s" % (why, " ".join(bad[:6]))))
    for ok, why in [
        (lambda n: xl(n, "success") > 0, "no translated access"),
        (lambda n: xl(n, "bypass") == 0 and xl(n, "abort") == 0, "bypassed or aborted accesses"),
    ]:
        bad = [n for n in absorbed if not ok(n)]
        p6.append((not bad, "%s after an absorbed failure: %s" % (why, " ".join(bad[:6]))))
    p6.append((xl("p6-dma", "success") > 0, "no translated access after the final switch to DMA"))
    p6.append((xl("p6-dma", "bypass") == 0 and xl("p6-dma", "abort") == 0,
               "bypassed or aborted accesses after the final switch to DMA"))
    p6.append((no_events(PHASES[6][1]), "SMMU events recorded: %s" %
               dict(sum_windows(windows, PHASES[6][1]).events)))

    def p6_trace():
        """Where the failure windows' accesses went, for a failed phase 6."""
        odd = ["%s: success %d bypass %d abort %d" % (n, xl(n, "success"), xl(n, "bypass"),
                                                      xl(n, "abort"))
               for n in fails if xl(n, "success") or xl(n, "abort") or not xl(n, "bypass")]
        odd += ["%s: success %d bypass %d abort %d" % (n, xl(n, "success"), xl(n, "bypass"),
                                                       xl(n, "abort"))
                for n in absorbed if not xl(n, "success") or xl(n, "abort") or xl(n, "bypass")]
        return "; trace " + ", ".join(odd[:4]) if odd else ""

    # Phase 7: a failed attach from the DMA domain writes nothing (the
    # core's re-attach of the DMA domain finds the master already there),
    # and the disk's DMA goes on being translated.
    p7_failed = info.get("p7-failed", "").split()
    p7 = [(bool(p7_failed) and p7_failed != ["none"],
           "the guest reported no failed attach")]
    tries = ["p7-try-%s" % n for n in p7_failed if n != "none"]
    missing = [n for n in tries if n not in windows]
    p7.append((not missing, "windows missing: %s" % " ".join(missing[:6])))
    bad = ["%s (%s)" % (n, ", ".join("%s %d" % (op, v) for op, v in w(n).cmds.items()
                                     if op.startswith("CFGI")))
           for n in tries if any(op.startswith("CFGI") for op in w(n).cmds)]
    p7.append((not bad, "configuration written by a failed attach: %s" % " ".join(bad[:4])))
    checks = match(windows, ["p7-check-*"])
    bad = [n for n in checks if xl(n, "success") == 0 or xl(n, "bypass") or xl(n, "abort")]
    p7.append((bool(checks), "no read-back window after the failed attaches"))
    p7.append((not bad, "not only translated accesses in %s" % " ".join(bad[:6])))
    p7.append((xl("p7-dma", "success") > 0, "no translated access at the end"))
    p7.append((no_events(PHASES[7][1]), "SMMU events recorded: %s" %
               dict(sum_windows(windows, PHASES[7][1]).events)))

    # Phase 8: the nvme from its DMA domain to a stage-2 domain and back.
    stage2 = info.get("stage2") == "yes"
    s1a, s1b, unmap = w("p8-s1-a"), w("p8-s1-b"), w("p8-s2-unmap")
    s2w = sum_windows(windows, ["p8-s2", "p8-s2-*"])
    xn = lambda win, kind: win.xlate[(kind, ns)]
    p8 = [(info.get("stage2") in ("yes", "no"), "the guest did not run the stage-2 phase")]
    for name, win in (("before", s1a), ("after", s1b)):
        p8.append((xn(win, "success") > 0, "no translated nvme access in its DMA domain %s" % name))
        p8.append((xn(win, "bypass") == 0 and xn(win, "abort") == 0,
                   "bypassed or aborted nvme accesses in its DMA domain %s" % name))
    p8.append((xn(s2w, "success") > 0, "no translated nvme access under VFIO"))
    p8.append((xn(s2w, "bypass") == 0, "nvme accesses bypassed under VFIO"))
    p8.append((unmap.events[("F_TRANSLATION", ns)] > 0,
               "no F_TRANSLATION event for the nvme after its buffer was unmapped"))
    other = {k: v for k, v in sum_windows(windows, PHASES[8][1]).events.items()
             if k != ("F_TRANSLATION", ns)}
    p8.append((not other and sum(s2w.events.values()) == unmap.events[("F_TRANSLATION", ns)],
               "events other than the unmapped buffer's fault: %s" % dict(other)))
    nh = {op: v for op, v in s2w.cmds.items() if op.startswith("TLBI_NH")}
    # With the invalidation arrays (part 3) the nvme leaving its DMA domain,
    # the last user of its ASID, flushes that ASID once: the only stage-1
    # command the stage-2 windows may hold.
    nh_other = {op: v for op, v in nh.items() if not (op == "TLBI_NH_ASID" and v <= 1)}
    s2inv = {op: v for op, v in s2w.cmds.items() if op in ("TLBI_S2_IPA", "TLBI_S12_VMALL")}
    if stage2:
        p8 += [
            (s2w.stages[(ns, 2)] > 0 and s2w.stages[(ns, 1)] == 0,
             "nvme translations under VFIO not all stage 2: %s" % dict(s2w.stages)),
            (s1a.stages[(ns, 1)] > 0 and s1a.stages[(ns, 2)] == 0 and
             s1b.stages[(ns, 1)] > 0 and s1b.stages[(ns, 2)] == 0,
             "the DMA domain did not translate by stage 1 only"),
            (unmap.bad_pte[2] > 0 and unmap.bad_pte[1] == 0,
             "the fault was not a stage-2 translation fault (invalid PTEs by stage: %s)" %
             dict(unmap.bad_pte)),
            (s2w.cmds["CFGI_STE"] > 0, "no STE invalidation for the stage-2 domain"),
            (bool(s2inv), "no stage-2 TLB invalidation (TLBI_S2_IPA / TLBI_S12_VMALL)"),
            (not nh_other, "stage-1 TLB invalidations in the stage-2 windows "
             "beyond one last-user flush of the DMA domain's ASID: %s" % nh),
            (bool(s2w.vmids) and all(v > 0 and st == 2 for v, st in s2w.vmids),
             "stage-2 invalidations without a VMID: %s" % dict(s2w.vmids)),
        ]
    else:
        p8 += [
            (bool(nh), "no stage-1 invalidation: the nesting domain did not fall back to stage 1"),
            (not s2inv, "stage-2 commands on an SMMU without stage 2: %s" % s2inv),
        ]

    # Phase 9: every state's window shows only the accesses its domain allows.
    plan = info.get("p9-plan", "0").split()
    want9 = int(plan[0]) if plan and plan[0].isdigit() else 0
    done9 = int(info.get("p9-transitions", "0").split()[0] or 0)
    states = match(windows, ["p9-t*-*"])
    kind9 = lambda n: n.rsplit("-", 1)[1]
    p9 = [(want9 >= 1000 or a.short, "the guest planned %d transitions, fewer than 1000" % want9),
          (done9 == want9, "%d of %d transitions done" % (done9, want9)),
          (len(states) == done9, "%d state windows for %d transitions" % (len(states), done9))]
    for kind, ok, why in [
        ("dma", lambda n: xl(n, "success") > 0, "no translated access"),
        ("dma", lambda n: xl(n, "bypass") == 0 and xl(n, "abort") == 0, "bypassed or aborted accesses"),
        ("identity", lambda n: xl(n, "bypass") > 0, "no bypassed access"),
        ("identity", lambda n: xl(n, "success") == 0 and xl(n, "abort") == 0,
         "translated or aborted accesses"),
        ("blocked", lambda n: xl(n, "success") == 0 and xl(n, "bypass") == 0,
         "an access went through while blocked"),
        ("s2", lambda n: xl(n, "success") == 0 and xl(n, "bypass") == 0,
         "an access of the driverless disk went through its stage-2 domain"),
    ]:
        bad = [n for n in states if kind9(n) == kind and not ok(n)]
        p9.append((not bad, "%s in %d %s windows: %s" % (why, len(bad), kind, " ".join(bad[:4]))))
    not_vfio = [n for n in match(windows, PHASES[9][1]) if not n.startswith("p9-vfio-")]
    nv9 = sum_windows(windows, not_vfio)
    p9.append((nv9.xlate[("success", ns)] > 0, "no translated nvme access during the phase"))
    p9.append((nv9.xlate[("bypass", ns)] == 0 and nv9.xlate[("abort", ns)] == 0,
               "nvme accesses bypassed or aborted outside its VFIO rounds"))
    other = {k: v for k, v in nv9.events.items()}
    vfio9 = sum_windows(windows, ["p9-vfio-*"])
    other.update({k: v for k, v in vfio9.events.items() if k != ("F_TRANSLATION", ns)})
    p9.append((not other, "unexpected SMMU events: %s" % dict(other)))
    rounds = 3 if want9 >= 4 else 0
    missing = [n for k in range(1, rounds + 1) for n in ("p9-vfio-%d" % k, "p9-nvme-%d" % k)
               if n not in windows]
    p9.append((done9 < want9 or not missing, "nvme VFIO round windows missing: %s" % " ".join(missing)))
    p9.append((done9 < want9 or vfio9.events[("F_TRANSLATION", ns)] >= rounds,
               "the nvme's VFIO rounds raised no translation fault"))
    # Every move changes the disk's domain, so its STE must be written.
    moves = match(windows, ["p9-s*-*-*"])
    bad = [n for n in moves if not windows[n].cmds["CFGI_STE"]]
    p9.append((bool(moves) and not bad, "moves that wrote no STE: %s" % " ".join(bad[:4])))
    # Commands per transition, by kind (from -> to); the nvme worker's own
    # unmaps (TLBI + SYNC) run concurrently and are counted in too.
    per = {}
    for n in match(windows, ["p9-s*-*-*"]):
        frm, to = n.split("-")[2:4]
        e = per.setdefault("%s->%s" % (frm, to), [0, collections.Counter()])
        e[0] += 1
        e[1].update(windows[n].cmds)

    vf = w("p4-vfio")
    other = {k: v for k, v in vf.events.items() if k != ("F_TRANSLATION", ns)}
    judge(4, [
        (vf.xlate[("success", ns)] > 0, "no translated nvme access under VFIO"),
        (vf.events[("F_TRANSLATION", ns)] > 0, "no F_TRANSLATION event for the unmapped IOVA"),
        (not other, "unexpected events under VFIO: %s" % dict(other)),
        (any("arm-smmu-v3" in l and "event 0x10 received" in l for l in vf.console),
         "the driver did not log the F_TRANSLATION event (event 0x10)"),
        (no_events(["p4-prepare", "p4-rebind"]), "SMMU events outside the VFIO fault"),
        (w("p4-rebind").xlate[("success", ns)] > 0, "no translated nvme access after rebinding"),
    ])
    judge(5, p5)
    judge(6, p6)
    judge(7, p7)
    judge(8, p8)
    judge(9, p9)
    # Phase 10: the refused SVA bind writes nothing; the nvme's DMA stays
    # translated before and after.
    judge(10, [
        (not w("p10-bind").cmds, "SMMU commands during the refused bind: %s" %
         dict(w("p10-bind").cmds)),
        (w("p10-before").xlate[("success", ns)] > 0, "no translated nvme access before the bind"),
        (w("p10-after").xlate[("success", ns)] > 0, "no translated nvme access after the bind"),
        (not sum(w(n).xlate[("bypass", ns)] for n in ("p10-before", "p10-after")),
         "bypassed nvme accesses"),
        (no_events(PHASES[10][1]), "SMMU events recorded: %s" %
         dict(sum_windows(windows, PHASES[10][1]).events)),
    ])
    # Phases 11 and 12 (two SMMUs): commands are told apart by SMMU, each
    # SMMU known by the StreamIDs its CFGI_STE commands named.
    n2 = sids.get("nvme2")
    sm_a, sm_b = sid_smmu.get(ns), sid_smmu.get(n2)
    name_of = lambda base: ("SMMU0" if base == sm_a else "SMMU1" if base == sm_b
                            else "SMMU@%#x" % base)

    def per_smmu(win):
        """{SMMU name: {opcode: count}} of a window."""
        out = {}
        for (base, op), v in sorted(win.smmu_cmds.items()):
            out.setdefault(name_of(base), {})[op] = v
        return out

    if a.two_smmus and n2 is None:
        for n in TWO_SMMU_PHASES:
            verdict[n] = ("FAIL", "no StreamID of the second nvme (--sid nvme2=)")
    elif a.two_smmus:
        two = (sm_a is not None and sm_b is not None and sm_a != sm_b,
               "the two nvmes' STEs were not seen written by two SMMUs (%s)" %
               {("%#x" % k): ("%#x" % v) for k, v in sid_smmu.items()})
        un = w("p11-unmap")
        p11w = sum_windows(windows, PHASES[11][1])
        vfio11 = sum_windows(windows, ["p11-vfio", "p11-unmap", "p11-teardown"])
        p11 = [two, ("p11-unmap" in windows, "no window p11-unmap")]
        for sid, base in ((ns, sm_a), (n2, sm_b)):
            if base is None:
                continue
            ops = {op: v for (b, op), v in un.smmu_cmds.items() if b == base}
            tlbi = sum(v for op, v in ops.items() if op.startswith("TLBI_"))
            p11.append((tlbi == 1 and ops.get("SYNC") == 1 and len(ops) == 2,
                        "the unmap did not give one TLBI and one CMD_SYNC on %s, nothing else: %s" %
                        (name_of(base), ops)))
            p11.append((un.events[("F_TRANSLATION", sid)] > 0,
                        "no F_TRANSLATION event of sid %#x for the unmapped IOVA" % sid))
            p11.append((vfio11.xlate[("success", sid)] > 0 and
                        vfio11.stages[(sid, 2)] == 0 and vfio11.xlate[("bypass", sid)] == 0,
                        "sid %#x under VFIO not translated by stage 1 only" % sid))
            p11.append((w("p11-rebind").xlate[("success", sid)] > 0,
                        "no translated access of sid %#x back on its driver" % sid))
        strays = {name_of(b): v for (b, op), v in un.smmu_cmds.items() if b not in (sm_a, sm_b)}
        p11.append((not strays, "unmap commands on an unknown SMMU: %s" % strays))
        # shared: the container's one domain serves both SMMUs (one ASID);
        # per-smmu: a domain per SMMU, so two ASIDs, one on each SMMU
        n_asids = 1 if a.cross == "shared" else 2
        p11.append(({b for b, _ in un.smmu_asids} == {sm_a, sm_b} and
                    len({aid for _, aid in un.smmu_asids}) == n_asids and
                    len(un.smmu_asids) == 2,
                    "not %s: the unmap invalidated ASIDs %s" %
                    ("one domain" if n_asids == 1 else "a domain per SMMU",
                     sorted("%s asid %d" % (name_of(b), aid) for b, aid in un.smmu_asids))))
        other = {e: v - (un.events[e] if e[0] == "F_TRANSLATION" and e[1] in (ns, n2) else 0)
                 for e, v in p11w.events.items()}
        other = {e: v for e, v in other.items() if v}
        p11.append((not other, "events other than the unmapped IOVA's faults: %s" % other))
        judge(11, p11)

        ref = w("p12-refuse")
        p12w = sum_windows(windows, PHASES[12][1])
        on_b = {op: v for (b, op), v in ref.smmu_cmds.items() if b == sm_b}
        around = sum_windows(windows, ["p12-before", "p12-after"])
        judge(12, [
            two,
            ("p12-refuse" in windows, "no window p12-refuse"),
            (ref.cfgi_sids[n2] == 0, "the refused attach wrote the STE of sid %#x (%d CFGI_STE)" %
             (n2, ref.cfgi_sids[n2])),
            (not on_b, "commands on SMMU1 during the refused attach: %s" % on_b),
            # shared: the 6.1 queue says why it refuses a domain SMMU 1
            # cannot read; per-smmu: 6.12 refuses silently, as upstream
            (a.cross != "shared" or
             any("cannot attach to a domain of SMMU" in l for l in ref.console),
             "the driver did not say it refused the domain"),
            # the owner's attach and detach: a stage-2 domain rewrites its
            # STE, a stage-1 one (per-smmu) its CD 0
            (ref.cfgi_sids[ns] >= 2 if a.cross == "shared" else
             ref.smmu_cmds[(sm_a, "CFGI_CD")] >= 2,
             "the owner's attach and detach (sid %#x) wrote no %s: the window did not see "
             "the module's work" % (ns, "STE" if a.cross == "shared" else "CD")),
            (around.xlate[("success", n2)] > 0 and around.stages[(n2, 2)] == 0,
             "sid %#x not translated by stage 1 around the refusal: %s" % (n2, dict(around.stages))),
            (around.xlate[("bypass", n2)] == 0 and around.xlate[("abort", n2)] == 0,
             "bypassed or aborted accesses of sid %#x" % n2),
            (not p12w.events, "SMMU events recorded: %s" % dict(p12w.events)),
        ])

    if verdict[6][0] == "FAIL" and 6 not in a.skip:
        verdict[6] = (verdict[6][0], verdict[6][1] + p6_trace())
    if k is not None:
        verdict[6] = (verdict[6][0], verdict[6][1] + " [fail-nth-count %s]" % k)

    counts = {}
    for n, (name, names) in PHASES.items():
        if names:
            s = sum_windows(windows, names)
            counts[str(n)] = {
                "commands": dict(sorted(s.cmds.items())),
                "events": {"%s sid=%#x" % e: v for e, v in sorted(s.events.items())},
            }
    for n in PHASES:
        if verdict.get(n, ("",))[0] == "SKIP" and str(n) in counts:
            counts[str(n)]["skipped"] = verdict[n][1]
    if k is not None:
        counts["6"]["fail-nth-count"] = int(k)
    if a.two_smmus:
        counts["11"]["per-smmu"] = {n: per_smmu(w(n)) for n in ("p11-vfio", "p11-unmap",
                                                                "p11-teardown")}
        counts["12"]["per-smmu"] = {"p12-refuse": per_smmu(w("p12-refuse"))}
    counts["9"]["transitions"] = done9
    counts["9"]["per-transition"] = {
        t: {"count": c, "commands": {op: round(v / c, 2) for op, v in sorted(cmd.items())}}
        for t, (c, cmd) in sorted(per.items())}
    base = None
    if a.baseline:
        try:
            with open(a.baseline) as f:
                base = json.load(f)
        except (OSError, ValueError):
            base = None
        # A phase that issued no command on the base did not run there
        # (phase 7: the base's phase 6 leaves the disk stuck): no figures.
        if base:
            base = {k: v for k, v in base.items() if v.get("commands")}
    # The report phase: the guest finished, no splat outside the phases'
    # windows, and (debug guest) no kmemleak report in the IOMMU code.
    phased = set(n for _, names in PHASES.values() for n in match(windows, names))
    stuck_end = any(STUCK_END in l for l in w("end").console)
    off_failed = next((m.group(0) for m in map(POWER_OFF_FAILED.search, w("end").console) if m),
                      None)
    stray = [l.strip() for n, win in windows.items() if n not in phased
             for l in win.console if SPLAT.search(l) and
             not ((stuck_end or off_failed) and n == "end" and "Attempted to kill init" in l)]
    leaks, iommu_leaks = kmemleak(console, info)
    if not done:
        verdict[REPORT] = ("FAIL", "the guest did not finish (QEMU exit %d)" % a.qemu_rc)
    elif off_failed:
        verdict[REPORT] = ("FAIL", "the guest could not power off: " + off_failed)
    elif a.qemu_rc:
        verdict[REPORT] = ("FAIL", "the guest finished but QEMU exited with %d "
                           "(killed by the timeout: no power-off?)" % a.qemu_rc)
    elif stray:
        verdict[REPORT] = ("FAIL", "kernel splat outside the phases: " + " | ".join(stray[:3]))
    elif a.guest == "debug" and leaks is None:
        verdict[REPORT] = ("FAIL", "the debug guest printed no kmemleak report")
    elif iommu_leaks:
        verdict[REPORT] = ("FAIL", "kmemleak: %d leaks in the IOMMU code: %s" % (
            len(iommu_leaks), " | ".join(iommu_leaks[:2])))
    else:
        verdict[REPORT] = ("PASS", "command counts per phase below%s" % (
            "" if leaks is None else "; kmemleak: %d unreferenced objects, none in the IOMMU code" %
            len(leaks)))

    out = []
    out.append("SMMUv3 end-to-end report")
    out.append("  %-11s %s" % ("qemu", a.qemu_version or "?"))
    out.append("  %-11s %s%s" % ("guest", a.guest, "" if a.seconds is None else
                                 ", %d s wall time" % a.seconds))
    for k in ("virtio-bdf", "nvme-bdf", "iommu"):
        if k in info:
            out.append("  %-11s %s" % (k, info[k]))
    out.append("")
    for n, (name, _) in PHASES.items():
        st, why = verdict[n]
        out.append("phase %-2d %-24s %s  %s" % (n, name, st, why))
    out.append("")
    if per:
        out.append("stress (phase 9): %d transitions in %s s (%s); %s" % (
            done9, info.get("p9-seconds", "?"), info.get("p9-states", ""), info.get("p9-nvme", "")))
        if "p9-no-s2" in info:
            out.append("  no stage-2 state: " + info["p9-no-s2"])
        out.append("  commands per transition, by kind (the nvme worker's concurrent unmaps included;")
        out.append("  'base' is the pristine base on the same emulator, same seed):")
        bper = (base or {}).get("9", {}).get("per-transition", {})
        for t, (c, cmd) in sorted(per.items()):
            out.append("    %-18s %4d x: %s" % (t, c, ", ".join(
                "%s %.1f" % (op, v / c) for op, v in sorted(cmd.items())) or "none"))
            if t in bper:
                b = bper[t]
                out.append("    %-18s %4d x: %s" % ("  base", b["count"], ", ".join(
                    "%s %.1f" % (op, v) for op, v in sorted(b["commands"].items())) or "none"))
        out.append("")
    if a.two_smmus:
        out.append("two SMMUs (phases 11, 12): commands per SMMU and window%s" %
                   ("; 'base' is the pristine base" if base else ""))
        for ph in ("11", "12"):
            for win, per in counts[ph]["per-smmu"].items():
                bper = (base or {}).get(ph, {}).get("per-smmu", {}).get(win)
                out.append("    %-13s %s" % (win, "; ".join(
                    "%s: %s" % (sm, ", ".join("%s %d" % x for x in sorted(ops.items())))
                    for sm, ops in sorted(per.items())) or "none"))
                if bper is not None:
                    out.append("    %-13s %s" % ("  base", "; ".join(
                        "%s: %s" % (sm, ", ".join("%s %d" % x for x in sorted(ops.items())))
                        for sm, ops in sorted(bper.items())) or "none"))
        out.append("")
    out.append("SMMU commands by phase%s" % (" (base -> series)" if base else ""))
    for n, (name, names) in PHASES.items():
        if not names:
            continue
        if verdict[n][0] == "SKIP":
            out.append("  phase %d %s: skipped" % (n, name))
            continue
        c = counts[str(n)]
        b = base.get(str(n), {}) if base else {}
        ops = sorted(set(c["commands"]) | set(b.get("commands", {})))
        total = sum(c["commands"].values())
        btotal = sum(b.get("commands", {}).values()) if base else None
        extra = ""
        if "fail-nth-count" in c:
            extra = ", fail-nth-count %d" % c["fail-nth-count"]
            if base and "fail-nth-count" in b:
                extra += " (base %d)" % b["fail-nth-count"]
        out.append("  phase %d %s: %d commands%s%s" % (
            n, name, total,
            "" if not base else " (base %d)" % btotal if str(n) in base else " (no base figures)",
            extra))
        for op in ops:
            v = c["commands"].get(op, 0)
            if base and str(n) in base:
                bv = b.get("commands", {}).get(op, 0)
                out.append("    %-16s %6d  base %6d%s" % (op, v, bv, "" if v == bv else "  (%+d)" % (v - bv)))
            else:
                out.append("    %-16s %6d" % (op, v))
        for ev, v in c["events"].items():
            out.append("    event %-22s %d" % (ev, v))
    if any(st == "FAIL" for st, _ in verdict.values()):
        out.append("")
        out.append("console tail:")
        out.extend("  | " + l for l in console[-40:])
    passed = sum(1 for st, _ in verdict.values() if st == "PASS")
    skipped = sorted(n for n, (st, _) in verdict.items() if st == "SKIP")
    failed = len(verdict) - passed - len(skipped)
    out.append("")
    out.append("e2e: %d passed, %d failed%s" % (passed, failed, "" if not skipped else
               ", %d skipped: %s" % (len(skipped), "; ".join(
                   "%d %s" % (n, PHASES[n][0]) for n in skipped))))
    print("\n".join(out))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(counts, f, indent=1, sort_keys=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
