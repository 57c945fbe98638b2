#!/usr/bin/env python3
"""The report of 'make bench': a text table, a JSON file and a gnuplot script
(bench.sh draws the SVG with it) from the console+trace logs of the runs.

    bench-report.py --out DIR [--seconds N] --run KERNEL QEMU RUNDIR ...

RUNDIR holds main1.log and main2.log (e2e.bench=all: every workload, in
two passes of opposite kernel order) and boot3.log... (more boot samples).  The logs are read with the scenario's parser (e2e-report.py):
'@@E2E WINDOW' splits the trace, 'INFO t:<metric>:<rep> <ns>' are latency
samples, 'INFO units:<window> <n>' the work done, 'RESULT <n>' the data
checks of guest/bench.c.

Commands are counted per window from QEMU's smmuv3_cmdq_opcode trace and are
deterministic, except in the lazy (flush queue) runs, whose flushes follow
the clock.  Latencies are shown only as ratios to the base's median taken in
the same run of 'make bench': TCG makes absolute times meaningless.
Exit status 1 when a data check failed or a guest did not finish.
"""
import argparse
import collections
import importlib.util
import json
import os
import re
import statistics
import sys

_spec = importlib.util.spec_from_file_location(
    "e2e_report", os.path.join(os.path.dirname(os.path.abspath(__file__)), "e2e-report.py"))
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)

# The workloads of guest/bench.c.  unit: what 'INFO units:<window>' counts
# (None: the workload does not report it); metrics: its latencies, the
# first one shown in the table; check: its RESULT number.
Workload = collections.namedtuple("Workload", "key title windows unit metrics check")
DMAB = [f"dmab-{m}-{t}t-{k}k" for m in ("strict", "lazy") for t in (1, 2) for k in (4, 64)]
WORKLOADS = [
    Workload("boot", "boot to the first DMA", ["boot"], "boot", ["boot"], 1),
    Workload("io-large", "O_DIRECT I/O, 1 MiB requests", ["io-large"], "I/O", ["io-large"], 2),
    Workload("io-4k", "O_DIRECT I/O, 4 KiB requests", ["io-4k"], "I/O", ["io-4k"], 3),
    Workload("switch", "domain switch (DMA, identity, blocked)", ["switch"], "switch", ["switch"], 4),
    Workload("vfio-churn", "VFIO type1 map/unmap churn", ["vfio-churn"], "unmap",
             ["vfio-unmap", "vfio-map"], 5),
] + [Workload(d, "dma_map_benchmark " + d[5:], [d], None, [d + "-unmap", d + "-map"], 6)
     for d in DMAB] + [
    Workload("vfio-pair", "VFIO churn, one container over two SMMUs", ["pair-churn"], "unmap",
             ["pair-unmap", "pair-map"], 7),
]
# QEMU 11.1 (two SMMUs) boots with e2e.bench=pair: the first DMA and the
# two-SMMU churn only; the other emulators run every other workload.
PAIR_QEMU = "11.1"


def workloads_for(qemu):
    if qemu == PAIR_QEMU:
        return [w for w in WORKLOADS if w.key in ("boot", "vfio-pair")]
    return [w for w in WORKLOADS if w.key != "vfio-pair"]

# The fewest commands the work can take, where it is known (see README):
#  - strict unmap, one SMMU, no ATS: one TLBI covering the range (range
#    invalidation: one command per (NUM+1) x 2^SCALE block of pages) and one
#    CMD_SYNC per DMA API unmap call;
#  - virtio-blk unmaps 4 buffers per request (header, data, status and the
#    indirect descriptor table) and 3 per flush (one fsync per repetition);
#  - vfio-nvme's churn cases (guest/vfio-nvme.c) take 11 TLBIs for 10
#    unmaps: 1023 pages (0x3ff000 bytes) is not one range ((NUM+1) x 2^SCALE
#    with NUM+1 <= 32 makes no odd number above 31), every other case is;
#    none spans more than 512 physically contiguous runs, so VFIO syncs once.
MINIMUM = {     # commands (TLBI + CMD_SYNC) per unit
    "io-large": 2 * (4 + 3 / 32),       # 16 writes + 16 reads per fsync
    "io-4k": 2 * (4 + 3 / 1024),        # 512 writes + 512 reads per fsync
    "vfio-churn": (11 + 10) / 10,
    "vfio-pair": 2 * (11 + 10) / 10,    # the same on each of the two SMMUs
}
KERNEL_ORDER = ["base", "series", "6.12", "6.12-series"]
# Each queue against the kernels it is compared with: the 6.1 queue against
# its base and Debian's 6.12, the 6.12 queue against its base (Debian's 6.12)
VERSUS = {"series": ("base", "6.12"), "6.12-series": ("6.12",)}


def short(op):
    return op.replace("SMMU_CMD_", "")


def stats(samples):
    return {"samples": samples, "median": statistics.median(samples),
            "min": min(samples), "max": max(samples)} if samples else None


def read_run(kernel, qemu, rundir):
    """One kernel on one emulator: main1.log and main2.log (every workload,
    the two passes), bootN.log (boot samples), *.tryN.log (guests that did
    not finish and were booted again)."""
    names = os.listdir(rundir)
    run = {"kernel": kernel, "qemu": qemu, "checks": {}, "workloads": {},
           "problems": [], "retries": [], "notes": []}
    for f in sorted(f for f in names if re.fullmatch(r"\w+\.try\d\.log", f)):
        run["retries"].append(f"{f}: {why_stuck(os.path.join(rundir, f))}")
    samples = collections.defaultdict(list)
    mains = []
    for f in sorted(f for f in names if re.fullmatch(r"(main|boot)\d+\.log", f)):
        windows, results, info, _console, done, _sids = e2e.parse(os.path.join(rundir, f))
        if not done:
            run["problems"].append(f"{f}: the guest did not finish")
        for key, val in info.items():
            if key.startswith("t:"):
                _, metric, _rep = key.split(":")
                samples[metric].append(int(val))
        if f.startswith("main"):
            mains.append((f, windows, results, info))
    if not mains:
        run["problems"].append("no main log")
        return run
    for w in workloads_for(qemu):
        per_log = []
        for f, windows, results, info in mains:
            res = results.get(w.check)
            if not res or res[0] != "PASS":
                run["problems"].append(f"{f}: workload {w.check} ({w.key}): data check "
                                       + (f"{res[0]} ({res[1]})" if res else "missing"))
            cmds, events = collections.Counter(), collections.Counter()
            for name in w.windows:
                if name in windows:
                    cmds.update(windows[name].cmds)
                    events.update(windows[name].events)
            units = int(info.get("units:" + w.windows[0], 0)) if w.unit else None
            per_log.append((f, cmds, events, units))
        # The commands are those of the first pass; the second must agree
        # where the workload is deterministic (not dma_map_benchmark).
        f, cmds, events, units = per_log[0]
        for f2, cmds2, _e, units2 in per_log[1:]:
            if not w.key.startswith("dmab") and (cmds2 != cmds or units2 != units):
                run["notes"].append(f"{w.key}: {f2} counted {sum(cmds2.values())} commands "
                                    f"for {units2} units, {f} {sum(cmds.values())} for {units}")
        total = sum(cmds.values())
        syncs = cmds.get("SYNC", 0)
        run["checks"][w.check] = "PASS" if not any(
            p.split(": ")[1].startswith(f"workload {w.check} ") for p in run["problems"]) else "FAIL"
        run["workloads"][w.key] = {
            "commands": dict(sorted(cmds.items())), "total": total, "syncs": syncs,
            "events": {f"{t} sid=0x{s:x}": n for (t, s), n in sorted(events.items())},
            "units": units,
            "per_unit": total / units if units else None,
            "syncs_per_unit": syncs / units if units else None,
            "latency_ns": {m: stats(sorted(samples[m])) for m in w.metrics},
        }
    # How many physically contiguous runs back each churn mapping (VFIO
    # flushes its gather every 512): from the first pass.
    for key, pfx in (("vfio-churn", "vfio-runs:"), ("vfio-pair", "pair-runs:")):
        runs_info = {k.split(":", 1)[1]: int(v) for k, v in mains[0][3].items()
                     if k.startswith(pfx)}
        if runs_info and key in run["workloads"]:
            run["workloads"][key]["physical_runs"] = runs_info
    return run


def why_stuck(path):
    """One line on a guest that did not finish: where its console stopped."""
    windows, _results, _info, console, _done, _sids = e2e.parse(path)
    nvme = [ln for ln in console if "timeout, completion polled" in ln]
    ev = sum(n for w in windows.values() for n in w.events.values())
    last = [ln for ln in console if ln.strip() and not ln.startswith(("arm-smmu-v3", "qemu-system"))]
    return (f"stopped in window '{list(windows)[-1]}', {len(nvme)} nvme 'completion polled', "
            f"{ev} SMMU events; last console line: {last[-1][:100] if last else '-'}")


def ratios(runs):
    """Latency ratios to the base's median, per emulator."""
    for qemu, by_kernel in runs.items():
        base = by_kernel.get("base")
        for run in by_kernel.values():
            for key, wl in run["workloads"].items():
                for metric, st in wl["latency_ns"].items():
                    b = base and base["workloads"].get(key, {}).get("latency_ns", {}).get(metric)
                    if st and b and b["median"]:
                        st["ratio_to_base"] = {k: st[k] / b["median"] for k in ("median", "min", "max")}


def cmp_cmds(wl, other):
    """The series' commands against another kernel's: '<', '=' or '>'
    (per unit where the workload counts units)."""
    a, b = wl["total"], other["total"]
    if wl["units"] and other["units"]:
        a, b = wl["per_unit"], other["per_unit"]
    return "=" if abs(a - b) < 1e-9 else "<" if a < b else ">"


def cmp_lat(st, other):
    """'faster' or 'slower' only when the two sets of samples do not
    overlap at all; '~' (indistinguishable) otherwise."""
    if not st or not other:
        return "?"
    if st["max"] < other["min"]:
        return "faster"
    if st["min"] > other["max"]:
        return "slower"
    return "~"


def verdicts(runs):
    """Per emulator and workload, each queue against the kernels of VERSUS."""
    for qemu, by_kernel in runs.items():
        for queue, others in VERSUS.items():
            if queue not in by_kernel:
                continue
            for w in workloads_for(qemu):
                wl = by_kernel[queue]["workloads"][w.key]
                v = {}
                for other in (o for o in others if o in by_kernel):
                    ow = by_kernel[other]["workloads"][w.key]
                    v[other] = {"commands": None if w.key.startswith("dmab") else cmp_cmds(wl, ow),
                                "latency": cmp_lat(wl["latency_ns"].get(w.metrics[0]),
                                                   ow["latency_ns"].get(w.metrics[0]))}
                wl["versus"] = v


def fmt_versus(v):
    if not v:
        return ""
    return "; ".join(f"{'cmds ' + x['commands'] + ' ' if x['commands'] else ''}lat {x['latency']} vs {k}"
                     for k, x in v.items())


def fmt_cmds(cmds):
    return ", ".join(f"{short(k)} {v}" for k, v in sorted(cmds.items(), key=lambda kv: -kv[1]))


def table(runs, seconds):
    out = []
    out.append("make bench: SMMU commands (QEMU trace) and latency ratios to the base (TCG)")
    if seconds:
        out.append(f"(took {seconds} s)")
    for qemu, by_kernel in runs.items():
        kernels = [k for k in KERNEL_ORDER if k in by_kernel]
        out.append("")
        out.append(f"== QEMU {qemu} ==")
        hdr = (f"{'workload':<20} {'kernel':<11} {'commands':>8} {'SYNC':>7} {'units':>5} {'cmds/unit':>9} "
               f"{'SYNC/unit':>9} {'min':>5}  {'latency/base median [min-max]':<30} {'queue vs base (and 6.12)':<44} "
               f"commands by opcode")
        out.append(hdr)
        out.append("-" * len(hdr))
        for w in workloads_for(qemu):
            for k in kernels:
                wl = by_kernel[k]["workloads"].get(w.key)
                if wl is None:
                    continue
                mn = MINIMUM.get(w.key)
                st = wl["latency_ns"].get(w.metrics[0])
                lat = "-"
                if st and "ratio_to_base" in st:
                    r = st["ratio_to_base"]
                    lat = f"{r['median']:.2f} [{r['min']:.2f}-{r['max']:.2f}] n={len(st['samples'])}"
                per = f"{wl['per_unit']:.2f}" if wl["per_unit"] is not None else "-"
                sper = f"{wl['syncs_per_unit']:.2f}" if wl["syncs_per_unit"] is not None else "-"
                name = w.key + ("~" if w.key.startswith("dmab") else "")
                out.append(f"{name:<20} {k:<11} {wl['total']:>8} {wl['syncs']:>7} "
                           f"{wl['units'] if wl['units'] is not None else '-':>5} {per:>9} {sper:>9} "
                           f"{(f'{mn:.2f}' if mn else '-'):>5}  {lat:<30} {fmt_versus(wl.get('versus')):<44} "
                           f"{fmt_cmds(wl['commands'])}")
    out.append("")
    out.append("units: boot = one boot, I/O = one read or write request, switch = one domain change,")
    out.append("unmap = one VFIO_IOMMU_UNMAP_DMA; dma_map_benchmark does not report its loop count.")
    out.append("min: the fewest commands per unit where known (README). ~: dma_map_benchmark runs for")
    out.append("a fixed time: strict, every unmap costs one TLBI + one SYNC, so the counts follow how")
    out.append("many loops a kernel managed; lazy, flushes follow the clock. Latency: the metric's median over the")
    out.append("repetitions (n) divided by the base's median on the same emulator; boot = time from")
    out.append("kernel start to the first O_DIRECT read, vfio-churn = unmap ioctl, dma_map_benchmark")
    out.append("= unmap (per call, 100 ns resolution). series vs ...: commands per unit (total for")
    out.append("dma_map_benchmark: not compared, see ~), latency 'faster'/'slower' only when the")
    out.append("two kernels' samples do not overlap at all, '~' when they do.")
    return "\n".join(out) + "\n"


def markdown(runs):
    """The README's table: per emulator and workload, commands per unit
    (total for dma_map_benchmark) and median latency ratios [min-max]."""
    out = []
    for qemu, by_kernel in runs.items():
        kernels = [k for k in KERNEL_ORDER if k in by_kernel]
        out.append(f"QEMU {qemu}:\n")
        out.append("| workload | unit | min | " + " | ".join(f"{k} cmds" for k in kernels) + " | "
                   + " | ".join(f"{k} latency" for k in kernels if k != "base") + " |")
        out.append("| --- | --- | ---: | " + " | ".join("---:" for _ in kernels) + " | "
                   + " | ".join("---:" for k in kernels if k != "base") + " |")
        for w in workloads_for(qemu):
            cells = []
            for k in kernels:
                wl = by_kernel[k]["workloads"][w.key]
                cells.append(f"{wl['per_unit']:.2f}" if wl["per_unit"] is not None else f"~{wl['total']}")
            lats = []
            for k in kernels:
                if k == "base":
                    continue
                st = by_kernel[k]["workloads"][w.key]["latency_ns"].get(w.metrics[0])
                r = st.get("ratio_to_base") if st else None
                lats.append(f"{r['median']:.2f} [{r['min']:.2f}-{r['max']:.2f}]" if r else "-")
            mn = MINIMUM.get(w.key)
            out.append(f"| {w.key} | {w.unit or '-'} | {f'{mn:.2f}' if mn else '-'} | "
                       + " | ".join(cells) + " | " + " | ".join(lats) + " |")
        out.append("")
    return "\n".join(out)


def gnuplot(runs, out_dir):
    """A gnuplot script drawing, per emulator, commands per unit of work
    (log scale) and latency ratios to the base with min-max bars."""
    lines = ["set terminal svg size 1400,1000 dynamic font 'sans,10'",
             "set multiplot layout %d,2 title 'make bench: base, series, Debian 6.12'" % len(runs),
             "set style data histogram", "set style fill solid 0.8 border -1",
             "set xtics rotate by -35 left", "set key top center horizontal", "set grid ytics",
             "set rmargin 9"]
    for qemu, by_kernel in runs.items():
        kernels = [k for k in KERNEL_ORDER if k in by_kernel]
        tag = qemu.replace(".", "_")
        lines.append(f"$cmds{tag} << EOD")
        for w in workloads_for(qemu):
            if w.unit is None:
                continue
            vals = [by_kernel[k]["workloads"][w.key]["per_unit"] or 0 for k in kernels]
            vals.append(MINIMUM.get(w.key, 0))      # 0: not known, no bar on the log scale
            lines.append(f'"{w.key}" ' + " ".join(f"{v:.4f}" for v in vals))
        lines.append("EOD")
        lines.append(f"$lat{tag} << EOD")
        for w in workloads_for(qemu):
            cols = []
            for k in kernels:
                st = by_kernel[k]["workloads"][w.key]["latency_ns"].get(w.metrics[0])
                r = st.get("ratio_to_base") if st else None
                cols += [r["median"], r["min"], r["max"]] if r else [0, 0, 0]
            lines.append(f'"{w.key}" ' + " ".join(f"{v:.4f}" for v in cols))
        lines.append("EOD")
        lines.append("set style histogram clustered gap 1")
        lines.append(f"set title 'QEMU {qemu}: SMMU commands per unit of work (log)'")
        lines.append("set logscale y")
        lines.append("set yrange [0.5:300]")
        lines.append("plot " + ", ".join(
            [f"$cmds{tag} using {i + 2}:xtic(1) title '{k}'" for i, k in enumerate(kernels)]
            + [f"$cmds{tag} using {len(kernels) + 2} title 'minimum (where known)' lc rgb 'gray60'"]))
        lines.append("unset logscale y")
        lines.append("set yrange [0:2]")
        lines.append("set style histogram errorbars gap 1 lw 1")
        lines.append(f"set title 'QEMU {qemu}: latency / base median (min-max)'")
        lines.append("plot " + ", ".join(
            f"$lat{tag} using {3 * i + 2}:{3 * i + 3}:{3 * i + 4}:xtic(1) title '{k}'"
            for i, k in enumerate(kernels)))
    lines.append("unset multiplot")
    with open(os.path.join(out_dir, "bench.gp"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=int, default=0)
    ap.add_argument("--run", nargs=3, action="append", metavar=("KERNEL", "QEMU", "DIR"), default=[])
    a = ap.parse_args()
    runs = collections.OrderedDict()
    for kernel, qemu, d in a.run:
        runs.setdefault(qemu, collections.OrderedDict())[kernel] = read_run(kernel, qemu, d)
    ratios(runs)
    verdicts(runs)
    text = table(runs, a.seconds)
    problems = [f"QEMU {q}, {k}: {p}" for q, bk in runs.items() for k, r in bk.items()
                for p in r["problems"]]
    retries = [f"QEMU {q}, {k}: {r}" for q, bk in runs.items() for k, run in bk.items()
               for r in run["retries"]]
    notes = [f"QEMU {q}, {k}: {n}" for q, bk in runs.items() for k, run in bk.items()
             for n in run["notes"]]
    if notes:
        text += "\nCOUNTS THAT DIFFER BETWEEN THE TWO PASSES:\n" + "".join(f"  {n}\n" for n in notes)
    if retries:
        text += "\nBOOTED AGAIN (the first boot did not finish):\n" + "".join(f"  {r}\n" for r in retries)
    if problems:
        text += "\nPROBLEMS:\n" + "".join(f"  {p}\n" for p in problems)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "bench.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(a.out, "bench.json"), "w") as f:
        json.dump({"seconds": a.seconds, "minimum_per_unit": MINIMUM,
                   "workloads": {w.key: {"title": w.title, "unit": w.unit, "metrics": w.metrics}
                                 for w in WORKLOADS},
                   "runs": runs, "retries": retries, "pass_differences": notes,
                   "problems": problems}, f, indent=1)
    gnuplot(runs, a.out)
    with open(os.path.join(a.out, "bench.md"), "w") as f:
        f.write(markdown(runs))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
