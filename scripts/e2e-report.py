#!/usr/bin/env python3
"""Judge one end-to-end run from its QEMU log (console + trace in one file).

The guest announces windows with '@@E2E WINDOW <name>'; every QEMU trace
line after it belongs to that window.  For each window we count the SMMU
commands by opcode (smmuv3_cmdq_opcode), the events recorded
(smmuv3_record_event) and, per StreamID, the translated, bypassed and
aborted accesses (smmuv3_translate_*).  A phase passes when the guest says
PASS *and* the trace shows what the SMMU must have done in it.

Prints the report; the last line is 'e2e: N passed, N failed'.  Exit status
1 if any phase failed.
"""
import argparse
import collections
import json
import re
import sys

PHASES = {
    1: ("probe", ["boot", "p1-probe"]),
    2: ("DMA through translation", ["p2-dma"]),
    3: ("domain switching", ["p3-switch", "p3-identity", "p3-dma"]),
    4: ("VFIO", ["p4-prepare", "p4-vfio", "p4-rebind"]),
    5: ("report", []),
}

TRACE = re.compile(r"^(?:\d+@[\d.]+:)?smmuv3_(\w+) (.*)$")
SID = re.compile(r"sid=0x([0-9a-f]+)")


class Window:
    def __init__(self):
        self.cmds = collections.Counter()
        self.events = collections.Counter()        # (type, sid)
        self.xlate = collections.Counter()         # (kind, sid)
        self.console = []


def parse(path):
    windows = collections.OrderedDict(boot=Window())
    cur = windows["boot"]
    results, info, console = {}, {}, []
    done = False
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            m = TRACE.match(line)
            if m:
                kind, rest = m.groups()
                if kind == "cmdq_opcode":
                    cur.cmds[rest.replace("<--- ", "").replace("SMMU_CMD_", "")] += 1
                elif kind == "record_event":
                    typ, _, _ = rest.partition(" ")
                    s = SID.search(rest)
                    cur.events[(typ.replace("SMMU_EVT_", ""), int(s.group(1), 16) if s else -1)] += 1
                elif kind.startswith("translate_"):
                    s = SID.search(rest)
                    if s:
                        cur.xlate[(kind[len("translate_"):], int(s.group(1), 16))] += 1
                continue
            console.append(line)
            cur.console.append(line)
            i = line.find("@@E2E ")
            if i < 0:
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
    return windows, results, info, console, done


def sum_windows(windows, names):
    w = Window()
    for n in names:
        if n in windows:
            w.cmds.update(windows[n].cmds)
            w.events.update(windows[n].events)
            w.xlate.update(windows[n].xlate)
    return w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--qemu-rc", type=int, default=0)
    ap.add_argument("--sid", action="append", default=[], help="name=0xSID")
    ap.add_argument("--baseline", help="counts.json of the pristine base, for comparison")
    ap.add_argument("--json", help="write the per-phase counts here")
    a = ap.parse_args()

    sids = {k: int(v, 0) for k, v in (s.split("=") for s in a.sid)}
    windows, results, info, console, done = parse(a.log)
    w = lambda name: windows.get(name, Window())
    verdict = {}

    def judge(n, checks):
        guest = results.get(n)
        if guest is None:
            verdict[n] = ("FAIL", "the guest reported no result for this phase")
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

    counts = {}
    for n, (name, names) in PHASES.items():
        if names:
            s = sum_windows(windows, names)
            counts[str(n)] = {
                "commands": dict(sorted(s.cmds.items())),
                "events": {"%s sid=%#x" % k: v for k, v in sorted(s.events.items())},
            }
    base = None
    if a.baseline:
        try:
            with open(a.baseline) as f:
                base = json.load(f)
        except (OSError, ValueError):
            base = None
    verdict[5] = ("PASS", "command counts per phase below") if done else \
        ("FAIL", "the guest did not finish (QEMU exit %d)" % a.qemu_rc)

    out = []
    out.append("SMMUv3 end-to-end report")
    for k in ("virtio-bdf", "nvme-bdf", "iommu"):
        if k in info:
            out.append("  %-11s %s" % (k, info[k]))
    out.append("")
    for n, (name, _) in PHASES.items():
        st, why = verdict[n]
        out.append("phase %d %-24s %s  %s" % (n, name, st, why))
    out.append("")
    out.append("SMMU commands by phase%s" % (" (base -> series)" if base else ""))
    for n, (name, names) in PHASES.items():
        if not names:
            continue
        c = counts[str(n)]
        b = base.get(str(n), {}) if base else {}
        ops = sorted(set(c["commands"]) | set(b.get("commands", {})))
        total = sum(c["commands"].values())
        btotal = sum(b.get("commands", {}).values()) if base else None
        out.append("  phase %d %s: %d commands%s" % (
            n, name, total, " (base %d)" % btotal if base else ""))
        for op in ops:
            v = c["commands"].get(op, 0)
            if base:
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
    failed = len(verdict) - passed
    out.append("")
    out.append("e2e: %d passed, %d failed" % (passed, failed))
    print("\n".join(out))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(counts, f, indent=1, sort_keys=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
