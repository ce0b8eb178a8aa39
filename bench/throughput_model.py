"""Benchmark and model: hardened ``coursekit autograde`` throughput against cores and workers.

    .venv/bin/python bench/throughput_model.py                 # fit on this machine, check, predict
    .venv/bin/python bench/throughput_model.py --copies 2 --predict 16:8,16:16 --moonshot 1000

Grades the 7 default samples of ``bench/autograde.py`` as the hardened default does (sandbox,
verification, a cgroup per submission, warm confined forks), in a fresh scratch course per run:

1. **fit**, one worker: ``--copies`` and 2 x ``--copies`` copies of each sample. From the
   machine's busy CPU (``/proc/stat``) of the two runs: ``c``, the CPU seconds of one
   submission (its kernel, verification child, grading job, its share of the worker and the
   master) and ``F``, the CPU of a batch's fixed work (fork servers' and the worker's imports,
   the cluster); from the submissions' own times (``seconds`` in the status file): ``s``, the
   wall time of one submission on a free core, so ``u = c / s`` is how busy one submission's
   chain of processes keeps its core (it waits on its processes' hand-offs); ``t0``, the wall
   time before the first submission starts and after the last one ends; ``m``, the master's
   CPU per submission (packing, recording: one thread, so the bound of any cluster);
2. **check**, on the same cores: 2 and 3 workers, measured against the model's prediction;
3. **predict** (``--predict CORES:WORKERS,...``, ``--moonshot N``): the same model for a larger
   machine, assuming the same CPU per submission (same cores' speed) and memory enough.

The model (a submission's chain is busy ``u`` of its wall time; the cores are shared)::

    T(N, W, C) = t0 + (N * c + F + (W - 1) * f) / min(W * u, C)   and   T >= N * m

where ``f`` is one more worker's fixed CPU (its start and imports), taken from the 2-worker
check run. Figures and the machine go to docs/performance.md; the machine is shared and noisy,
so compare the model with runs made in the same minutes, as this script does.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent))
import autograde as bench  # noqa: E402  (bench/autograde.py: build, busy_seconds, machine)


def run_batch(work, name, copies, workers):
    """One hardened batch in a fresh course: {wall, cpu, master, seconds: [per submission]}."""
    from coursekit.parallel import BatchOptions, autograde_batch

    folder = bench.build(work / name, bench.DEFAULT_SAMPLES, copies)
    me = resource.getrusage(resource.RUSAGE_SELF)
    busy, start = bench.busy_seconds(), time.perf_counter()
    run = autograde_batch(folder, bench.ASSIGNMENT, BatchOptions(workers=workers, force=True,
                                                                 progress=False))
    wall, cpu = time.perf_counter() - start, bench.busy_seconds() - busy
    after = resource.getrusage(resource.RUSAGE_SELF)
    master = (after.ru_utime + after.ru_stime) - (me.ru_utime + me.ru_stime)
    statuses = sorted({e["status"] for e in run.values()})
    shutil.rmtree(folder, ignore_errors=True)
    return {"n": len(run), "workers": workers, "wall": wall, "cpu": cpu, "master": master,
            "seconds": sorted(e["seconds"] for e in run.values()), "statuses": statuses}


def fit(small, large):
    """The model's parameters from two one-worker runs of different sizes."""
    c = (large["cpu"] - small["cpu"]) / (large["n"] - small["n"])
    fixed = small["cpu"] - small["n"] * c
    s = statistics.median(large["seconds"])
    t0 = large["wall"] - sum(large["seconds"])
    m = (large["master"] - small["master"]) / (large["n"] - small["n"])
    return {"c": c, "F": fixed, "s": s, "u": min(1.0, c / s), "t0": max(t0, 0.0), "m": m,
            "f": 0.0}


def predict(model, n, workers, cores):
    cores_busy = min(workers * model["u"], cores)
    work = n * model["c"] + model["F"] + (workers - 1) * model["f"]
    return max(model["t0"] + work / cores_busy, n * model["m"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=1,
                        help="copies of each sample in the small fit run (the large: twice)")
    parser.add_argument("--check", default="2,3", help="workers of the check runs")
    parser.add_argument("--predict", default="16:8,16:16",
                        help="CORES:WORKERS pairs to predict for")
    parser.add_argument("--moonshot", type=int, default=1000,
                        help="submissions for the predictions")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    cores = os.cpu_count()
    work = Path(tempfile.mkdtemp(prefix="bench-model-"))
    report = {"machine": bench.machine(), "when": time.strftime("%Y-%m-%d %H:%M %Z")}
    try:
        small = run_batch(work, "fit-small", args.copies, 1)
        large = run_batch(work, "fit-large", 2 * args.copies, 1)
        model = fit(small, large)
        checks = [run_batch(work, f"check-{w}", 2 * args.copies, int(w))
                  for w in args.check.split(",")]
        two = next((r for r in checks if r["workers"] == 2), None)
        if two is not None:  # one more worker's fixed CPU: what the 2-worker run cost more
            model["f"] = max(0.0, two["cpu"] - (two["n"] * model["c"] + model["F"]))
        report.update(model=model, fit=[small, large], checks=checks)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"machine: {cores} cores, {report['machine']['cpu']}, torch "
          f"{report['machine']['torch']}; {report['when']}; load average at start "
          f"{report['machine']['load_average'][0]:.2f}")
    print(f"fit (1 worker, {small['n']} and {large['n']} submissions: {small['wall']:.1f} s and "
          f"{large['wall']:.1f} s):")
    print(f"  c  = {model['c']:.2f} CPU s per submission     F  = {model['F']:.1f} CPU s per batch")
    print(f"  s  = {model['s']:.2f} s per submission on a free core, u = {model['u']:.2f} "
          f"(its chain keeps a core that busy)")
    print(f"  t0 = {model['t0']:.1f} s outside the submissions   m  = {model['m']:.3f} master CPU "
          f"s per submission (bound: {1 / max(model['m'], 1e-9):.1f} submissions/s)")
    print(f"  f  = {model['f']:.1f} CPU s per extra worker (from the 2-worker run)")
    print(f"check on these {cores} cores:")
    for run in [large, *checks]:
        guess = predict(model, run["n"], run["workers"], cores)
        print(f"  {run['workers']} worker(s), {run['n']} submissions: measured {run['wall']:.1f} s "
              f"({run['cpu'] / run['wall']:.2f} cores busy, {run['cpu'] / run['n']:.2f} CPU s "
              f"each), model {guess:.1f} s ({100 * (guess - run['wall']) / run['wall']:+.0f}%); "
              f"{','.join(run['statuses'])}")
    print(f"predicted, same cores' speed, {args.moonshot} submissions:")
    report["predictions"] = []
    for pair in args.predict.split(","):
        c, w = (int(x) for x in pair.split(":"))
        seconds = predict(model, args.moonshot, w, c)
        report["predictions"].append({"cores": c, "workers": w, "n": args.moonshot,
                                      "seconds": seconds})
        print(f"  {c} cores, {w} workers: {seconds / 60:.1f} min "
              f"({args.moonshot / seconds * 60:.0f} submissions/min; speedup over 1 worker "
              f"{predict(model, args.moonshot, 1, c) / seconds:.1f}x)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
