"""Benchmark and model: hardened ``coursekit autograde`` throughput against cores and workers.

    .venv/bin/python bench/throughput_model.py                 # fit on this machine, check, predict
    .venv/bin/python bench/throughput_model.py --copies 2 --predict 16:8,16:16 --moonshot 1000

Grades the 7 default samples of ``bench/autograde.py`` as the hardened default does (sandbox,
verification, a cgroup per submission, warm confined forks), in a fresh scratch course per run:

1. **fit**, one worker: ``--copies`` and 2 x ``--copies`` copies of each sample. From the two
   runs' differences: ``c``, the CPU seconds of one more submission (its kernel, verification
   child, grading job, its share of the worker and the master; the machine's busy CPU,
   ``/proc/stat``) and ``s``, the wall time of one more submission; ``F`` and ``t0``, the CPU
   and the wall time of the rest (the fork servers' and the first worker's imports, the cluster,
   the start and the end). ``c / s`` says how busy one submission's chain of processes keeps a
   core (it hands work on from one process to the next). ``m``, the master's CPU per submission
   (packing, recording: one thread, so a bound on any cluster; here all of the master's CPU
   over the submissions, an upper bound); ``f``, one more worker's fixed CPU: a fresh
   interpreter importing what a worker imports. With one worker on these cores a submission
   gets all of them (``OMP_NUM_THREADS`` = cores // workers, a cgroup of as many CPUs); with a
   worker per core it gets one: the check runs say how much that changes;
2. **check**, on the same cores: ``--check`` workers (default 2 and 3), measured against the
   model's prediction (the one-worker run is the fit itself, printed for reference);
3. **predict** (``--predict CORES:WORKERS,...``, ``--moonshot N``): the same model for a larger
   machine, assuming the same CPU per submission (same cores' speed) and memory enough.

The model: a batch takes at least as long as its workers' chains, after the start, and at least
as long as its CPU takes on the cores (the fixed CPU ``F`` is spent during the start ``t0``)::

    T(N, W, C) = max(t0 + N * s / W, (N * c + F + (W - 1) * f) / C, N * m)

Not in the model: what one host shares between its workers besides the cores (its two fork
servers fork every job in one thread each, the disk), the Dask scheduler, and the network of
a cluster of hosts. Figures and the machine go to docs/performance.md; the machine is shared and
noisy (the busy CPU counts every process on it), so compare the model with runs made in the
same minutes, as this script does, on an otherwise idle machine.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
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


# what a Dask worker imports before and while it grades (coursekit.engine.pipeline's stages)
WORKER_IMPORTS = ("distributed.worker", "torch", "sklearn.datasets", "coursekit.engine.pipeline",
                  "coursekit.engine.verify", "usefuns.data")


def worker_fixed_cpu(repeat=3):
    """Median CPU seconds of a fresh interpreter importing ``WORKER_IMPORTS``."""
    code = "import importlib, sys; [importlib.import_module(m) for m in sys.argv[1:]]"
    times = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([sys.executable, "-c", code, *WORKER_IMPORTS], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime))
    return statistics.median(times)


def fit(small, large, f):
    """The model's parameters from two one-worker runs of different sizes."""
    more = large["n"] - small["n"]
    c = (large["cpu"] - small["cpu"]) / more
    s = (large["wall"] - small["wall"]) / more
    return {"c": c, "F": max(small["cpu"] - small["n"] * c, 0.0), "s": s,
            "t0": max(small["wall"] - small["n"] * s, 0.0), "m": large["master"] / large["n"],
            "f": f}


def predict(model, n, workers, cores):
    chains = model["t0"] + n * model["s"] / workers
    cpu = (n * model["c"] + model["F"] + (workers - 1) * model["f"]) / cores
    return max(chains, cpu, n * model["m"])


def measure(args):
    """The fit's and the checks' runs on this machine: (report, small, large, checks, model)."""
    work = Path(tempfile.mkdtemp(prefix="bench-model-"))
    report = {"machine": bench.machine(), "when": time.strftime("%Y-%m-%d %H:%M %Z")}
    try:
        f = worker_fixed_cpu()
        small = run_batch(work, "fit-small", args.copies, 1)
        large = run_batch(work, "fit-large", 2 * args.copies, 1)
        model = fit(small, large, f)
        checks = [run_batch(work, f"check-{w}", 2 * args.copies, int(w))
                  for w in args.check.split(",")]
        report.update(model=model, fit=[small, large], checks=checks)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report, small, large, checks, model


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
    parser.add_argument("--runs", help="no new runs: fit, check and predict from the runs a "
                                       "--json of an earlier run holds (same machine)")
    args = parser.parse_args(argv)
    if args.runs:
        report = json.loads(Path(args.runs).read_text())
        (small, large), checks = report["fit"], report["checks"]
        report["model"] = model = fit(small, large, report["model"]["f"])
    else:
        report, small, large, checks, model = measure(args)
    cores = report["machine"]["cores"]
    print(f"machine: {cores} cores, {report['machine']['cpu']}, torch "
          f"{report['machine']['torch']}; {report['when']}; load average at start "
          f"{report['machine']['load_average'][0]:.2f}")
    print(f"fit (1 worker, {small['n']} and {large['n']} submissions: {small['wall']:.1f} s and "
          f"{large['wall']:.1f} s):")
    print(f"  c  = {model['c']:.2f} CPU s per submission     F  = {model['F']:.1f} CPU s per batch")
    print(f"  s  = {model['s']:.2f} s per submission (its chain keeps a core "
          f"{model['c'] / model['s']:.0%} busy)")
    print(f"  t0 = {model['t0']:.1f} s outside the submissions   m  <= {model['m']:.3f} master CPU "
          f"s per submission (bound: {1 / max(model['m'], 1e-9):.1f} submissions/s)")
    print(f"  f  = {model['f']:.1f} CPU s per extra worker (a fresh interpreter's imports)")
    print(f"check on these {cores} cores:")
    for run in [large, *checks]:
        guess = predict(model, run["n"], run["workers"], cores)
        label = " (the fit's own run)" if run is large else ""
        print(f"  {run['workers']} worker(s), {run['n']} submissions: measured {run['wall']:.1f} s "
              f"({run['cpu'] / run['wall']:.2f} cores busy, {run['cpu'] / run['n']:.2f} CPU s "
              f"each), model {guess:.1f} s ({100 * (guess - run['wall']) / run['wall']:+.0f}%)"
              f"{label}; {','.join(run['statuses'])}")
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
