"""Benchmark: serial ``nbgrader autograde`` against ``coursekit.parallel.autograde_batch``.

    .venv/bin/python bench/autograde.py                      # 7 samples x 2 copies, workers = cores
    .venv/bin/python bench/autograde.py --rounds 3 --json out/bench.json
    .venv/bin/python bench/autograde.py --quick --copies 1   # serial and parallel only

Builds a scratch course (``copy_course`` + ``coursekit release``), writes ``--copies`` copies of
the chosen samples as students ``<sample>-<k>`` and grades the same submissions, each time in a
fresh copy of that course, in seven ways (five with --quick), one after the other (``--rounds`` times, every other
round in reverse order):

- ``serial``: one plain ``nbgrader autograde <a> --force`` (nbgrader's way);
- ``parallel``: ``autograde_batch(workers=N)`` without the sandbox (``Sandbox.enabled =
  False``: kernels and the verification child run with the limits only; lean start: nbgrader forked from a preloaded process per submission; warm
  kernels: each kernel forked from a process that imported torch, ``coursekit.isolation.warm_kernel``):
  the same grading as serial nbgrader, in parallel;
- ``parallel_cold``: the same with every kernel started from scratch (``warm=False``), to show
  what the warm kernels buy;
- ``parallel_hardened``: ``autograde_batch(workers=N)`` as ``coursekit autograde`` runs it, with
  the sandbox and the verification (docs/security.md): kernels and verification children are
  forks of the kernel server that confine themselves (``coursekit.isolation.warm_sandbox``);
- ``parallel_hardened_bwrap``: the same with ``c.Sandbox.warm_start = False``: bwrap starts
  every kernel and verification child cold (the hardened default before issue 15);
- ``serial_one_thread``: serial with ``OMP_NUM_THREADS=MKL_NUM_THREADS=1``, the thread setting
  each parallel task gets on a full machine, so that threads and parallelism can be told apart;
- ``parallel_plain``: ``autograde_batch(lean=False)``, a fresh ``python -m nbgrader`` per
  submission, to show what the lean start buys.

It checks that every run gives the same grades cell by cell, measures the fixed cost of one
submission (``python -m nbgrader`` start, kernel start, ``import torch, usefuns`` in a fresh
kernel; median of ``--repeat``) and prints a report (also as JSON with --json).
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from coursekit.course import commands

from coursekit import cli, course

from coursekit.results import grades as grading

from coursekit.term import samples
from coursekit.engine.job import GradingSettings
from coursekit.isolation.settings import SandboxLimits
from coursekit.parallel import BatchOptions, autograde_batch

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "two_layer_net"
DEFAULT_SAMPLES = ["correct_compact", "correct_report_style", "blank", "reg_factor_one",
                   "sgd_rebinds", "no_max_shift", "model_poor"]


def machine():
    """Cores, CPU model, torch version and GPU of this machine."""
    import torch

    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cores": os.cpu_count(), "cpu": model, "torch": torch.__version__, "gpu": gpu,
            "python": platform.python_version(), "load_average": os.getloadavg()}


def time_command(args, repeat, env=None):
    """Median seconds of ``repeat`` runs of a command."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def kernel_overhead(repeat, warm=False):
    """Median seconds of (kernel start until ready, ``import torch, usefuns`` in it); with
    ``warm``, of a kernel forked from a ``kernel`` fork server (``coursekit.isolation.warm_kernel``)."""
    from jupyter_client.manager import start_new_kernel

    from coursekit.isolation import forkserver, warm_kernel

    env, scratch = {}, Path(tempfile.mkdtemp(prefix="bench-warm-"))
    if warm:
        server = forkserver.start("kernel")
        env = warm_kernel.prepare_task(scratch, {}, server)
        time.sleep(10)  # the server's imports, once per host and batch
    saved = dict(os.environ)
    os.environ.update(env)
    starts, imports = [], []
    try:
        for _ in range(repeat):
            started, imported = _one_kernel(start_new_kernel)
            starts.append(started)
            imports.append(imported)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        if warm:
            forkserver.stop("kernel")
        shutil.rmtree(scratch, ignore_errors=True)
    return statistics.median(starts), statistics.median(imports)


def _one_kernel(start_new_kernel):
    """(seconds until a new kernel is ready, seconds of ``import torch, usefuns`` in it)."""
    start = time.perf_counter()
    manager, client = start_new_kernel(kernel_name="python3")
    ready = time.perf_counter()
    client.execute_interactive("import torch, usefuns", timeout=120)
    imported = time.perf_counter()
    client.stop_channels()
    manager.shutdown_kernel(now=True)
    return ready - start, imported - ready


def busy_seconds():
    """CPU seconds the whole machine has been busy (all cores, /proc/stat), or 0.0.

    On an idle machine the difference over a run is that run's CPU time, children, kernels
    and Dask included, which says how many cores a run keeps busy (serial nbgrader is not one:
    its kernel and nbgrader's own process overlap).
    """
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def build(work, names, copies):
    """A released scratch course with ``copies`` submissions of each sample; its path."""
    base = course.copy_course(ROOT, work / "base")
    cli.release(base, ASSIGNMENT)
    samples_dir = base / "assignments" / ASSIGNMENT / "samples"
    for k in range(copies):
        for name in names:
            samples.write_submission(base, ASSIGNMENT, samples_dir, name, f"{name}-{k}")
    return base


def serial(course_root, env=None):
    """Seconds for one plain ``nbgrader autograde --force`` of every submission."""
    saved = dict(os.environ)
    os.environ.update(env or {})
    try:
        start = time.perf_counter()
        try:
            commands.run_nbgrader(course_root, "autograde", ASSIGNMENT, "--force")
        except commands.NbgraderError as err:  # a failed submission; the others are graded
            print(f"serial nbgrader reported an error: {str(err).splitlines()[0]}",
                  file=sys.stderr)
        return time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=2, help="copies of each sample")
    parser.add_argument("--sample", action="append", help="sample names (default: 7 of them)")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=1, help="times to repeat every run")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each overhead timing")
    parser.add_argument("--quick", action="store_true",
                        help="only serial, parallel, parallel_cold, parallel_hardened and "
                             "parallel_hardened_bwrap (skip the one-thread and plain runs)")
    parser.add_argument("--runs", help="only these runs, comma-separated (serial always runs: "
                                       "the grades are compared with its)")
    parser.add_argument("--work", help="scratch folder (default: a temporary one, removed)")
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args(argv)

    names = args.sample or DEFAULT_SAMPLES
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-autograde-")).resolve()
    one_thread = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    off = GradingSettings(sandbox=SandboxLimits(enabled=False))  # no bwrap (limits only)

    def batch(settings=None, **options):
        return lambda c: autograde_batch(c, ASSIGNMENT, BatchOptions(
            workers=args.workers, force=True, progress=False, **options), settings)

    every = {"serial": lambda c: serial(c),
             "parallel": batch(off),
             "parallel_cold": batch(replace(off, warm=False)),
             "parallel_hardened": batch(),
             "parallel_hardened_bwrap": batch(GradingSettings(sandbox=SandboxLimits(
                 warm_start=False))),
             "serial_one_thread": lambda c: serial(c, one_thread),
             "parallel_plain": batch(replace(off, lean=False))}
    quick = ["serial", "parallel", "parallel_cold", "parallel_hardened",
             "parallel_hardened_bwrap"]
    wanted = ({"serial", *args.runs.split(",")} if args.runs else
              set(quick if args.quick else every))
    if wanted - set(every):
        parser.error(f"unknown runs {sorted(wanted - set(every))}")
    runs = {run: grade for run, grade in every.items() if run in wanted}
    report = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": machine(),
              "submissions": len(names) * args.copies, "workers": args.workers,
              "rounds": args.rounds, "runs": {run: {"seconds_all": [], "load_before": []}
                                              for run in runs}}
    try:
        base = build(work, names, args.copies)
        nbgrader = [sys.executable, "-m", "nbgrader", "--version"]
        report["overhead"] = {"nbgrader_start_s": time_command(nbgrader, args.repeat)}
        start_s, import_s = kernel_overhead(args.repeat)
        report["overhead"].update(kernel_start_s=start_s, import_torch_usefuns_s=import_s,
                                  per_submission_s=report["overhead"]["nbgrader_start_s"]
                                  + start_s + import_s, median_of=args.repeat)
        warm_start_s, warm_import_s = kernel_overhead(args.repeat, warm=True)
        report["overhead"].update(warm_kernel_start_s=warm_start_s,
                                  warm_import_torch_usefuns_s=warm_import_s)
        same = True
        for round_ in range(args.rounds):
            cells = {}
            order = list(runs.items())  # every other round backwards: drifting load evens out
            for run, grade in (order if round_ % 2 == 0 else order[::-1]):
                folder = work / f"{run}-{round_}"
                shutil.copytree(base, folder)
                info = report["runs"][run]
                info["load_before"].append(os.getloadavg()[0])
                start, busy = time.perf_counter(), busy_seconds()
                status = grade(folder)
                info["seconds_all"].append(time.perf_counter() - start)
                info.setdefault("cpu_busy_all", []).append(busy_seconds() - busy)
                if isinstance(status, dict):
                    info["task_seconds_median"] = statistics.median(
                        e["seconds"] for e in status.values())
                    info["failed"] = sorted(s for s, e in status.items()
                                            if e["status"] != "graded")
                grades = grading.read_grades(folder, ASSIGNMENT)
                cells[run] = {s: g["cells"] for s, g in grades.items()}
                info["graded"] = len(grades)
                print(f"round {round_ + 1} {run}: {info['seconds_all'][-1]:.1f} s",
                      file=sys.stderr)
                shutil.rmtree(folder, ignore_errors=True)
            same = same and all(c == cells["serial"] for c in cells.values())
        report["same_grades"] = same
        for info in report["runs"].values():
            info["seconds"] = statistics.median(info["seconds_all"])
            info["per_minute"] = 60 * report["submissions"] / info["seconds"]
            info["cpu_busy_s"] = statistics.median(info["cpu_busy_all"])
            info["cores_busy"] = info["cpu_busy_s"] / info["seconds"]
            info["cpu_per_submission_s"] = info["cpu_busy_s"] / report["submissions"]
        seconds = {run: info["seconds"] for run, info in report["runs"].items()}
        for run in seconds:
            if run != "serial":
                report[f"speedup_{run}"] = seconds["serial"] / seconds[run]
        if "serial_one_thread" in seconds and "parallel" in seconds:
            report["parallel_vs_serial_one_thread"] = (seconds["serial_one_thread"]
                                                       / seconds["parallel"])
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)

    print_report(report)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0 if report["same_grades"] else 1


def print_report(report):
    m, o = report["machine"], report["overhead"]
    print(f"machine: {m['cores']} cores, {m['cpu']}, torch {m['torch']}, GPU {m['gpu'] or 'none'},"
          f" Python {m['python']}; load average at start {m['load_average'][0]:.2f}")
    print(f"{report['submissions']} submissions, {report['workers']} workers, {report['date']}")
    print(f"median of {report['rounds']} round(s):")
    for run, info in report["runs"].items():
        print(f"  {run:18} {info['seconds']:7.1f} s  {info['per_minute']:5.2f} submissions/min"
              f"  {info['cpu_busy_s']:6.1f} CPU s ({info['cores_busy']:.2f} cores busy, "
              f"{info['cpu_per_submission_s']:.1f} per submission)"
              f"  (all: {', '.join(f'{x:.0f}' for x in info['seconds_all'])} s; load before: "
              f"{', '.join(f'{x:.2f}' for x in info['load_before'])})")
    names = {"parallel": "parallel", "parallel_cold": "parallel, cold kernels",
             "parallel_hardened": "parallel, hardened (sandbox + verification; warm confined "
                                  "forks, the default)",
             "parallel_hardened_bwrap": "parallel, hardened with bwrap's cold starts "
                                        "(c.Sandbox.warm_start = False)",
             "serial_one_thread": "serial nbgrader with one thread",
             "parallel_plain": "parallel, fresh interpreters (lean=False)"}
    for run, name in names.items():
        if f"speedup_{run}" in report:
            print(f"speedup {name} / serial: {report[f'speedup_{run}']:.2f}x")
    if "parallel_vs_serial_one_thread" in report:
        print(f"speedup parallel / serial nbgrader with one thread: "
              f"{report['parallel_vs_serial_one_thread']:.2f}x")
    print(f"per-submission fixed cost (median of {o['median_of']}): nbgrader start "
          f"{o['nbgrader_start_s']:.2f} s + kernel start {o['kernel_start_s']:.2f} s + "
          f"import torch, usefuns {o['import_torch_usefuns_s']:.2f} s = "
          f"{o['per_submission_s']:.2f} s")
    print(f"warm kernel (forked from a fork server): start {o['warm_kernel_start_s']:.2f} s + "
          f"import torch, usefuns {o['warm_import_torch_usefuns_s']:.2f} s; the grading job "
          f"is forked from a server that imported nbgrader (no nbgrader start)")
    print(f"same grades cell by cell in every run: {report['same_grades']}")


if __name__ == "__main__":
    sys.exit(main())
