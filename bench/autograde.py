"""Benchmark: serial ``nbgrader autograde`` against ``coursekit.parallel.autograde_batch``.

    .venv/bin/python bench/autograde.py                      # 7 samples x 2 copies, workers = cores
    .venv/bin/python bench/autograde.py --copies 3 --workers 2 --json out/bench.json

Builds a scratch course (``copy_course`` + ``coursekit release``), writes ``--copies`` copies of
the chosen samples as students ``<sample>-<k>``, copies that course three times and grades the
same submissions (1) with one plain ``nbgrader autograde <a> --force`` (nbgrader's way), (2) the
same with ``OMP_NUM_THREADS=MKL_NUM_THREADS=1`` (what each parallel task gets on a full machine,
so that the thread setting and the parallelism can be told apart) and (3) with
``autograde_batch(workers=N)``. It checks that all three give the same grades cell by cell, and
measures the fixed cost of one submission: ``python -m nbgrader`` start, kernel start, and
``import torch, usefuns`` in a fresh kernel. Prints a report (and writes it as JSON with --json).
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
from pathlib import Path

from coursekit import cli, course, grading, samples
from coursekit.parallel import autograde_batch

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


def kernel_overhead(repeat):
    """Median seconds of (kernel start until ready, ``import torch, usefuns`` in it)."""
    from jupyter_client.manager import start_new_kernel

    starts, imports = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        manager, client = start_new_kernel(kernel_name="python3")
        ready = time.perf_counter()
        client.execute_interactive("import torch, usefuns", timeout=120)
        imports.append(time.perf_counter() - ready)
        starts.append(ready - start)
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return statistics.median(starts), statistics.median(imports)


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
            grading.run_nbgrader(course_root, "autograde", ASSIGNMENT, "--force")
        except grading.NbgraderError as err:  # a failed submission; the others are graded
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
    parser.add_argument("--repeat", type=int, default=3, help="runs of each overhead timing")
    parser.add_argument("--no-serial-one-thread", action="store_true",
                        help="skip the serial run with one thread per kernel")
    parser.add_argument("--work", help="scratch folder (default: a temporary one, removed)")
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args(argv)

    names = args.sample or DEFAULT_SAMPLES
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-autograde-")).resolve()
    report = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": machine(),
              "submissions": len(names) * args.copies, "workers": args.workers}
    try:
        base = build(work, names, args.copies)
        runs = {"serial": {}, "parallel": {"workers": args.workers}}
        if not args.no_serial_one_thread:
            runs["serial_one_thread"] = {"env": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}}
        for run in runs:
            shutil.copytree(base, work / run)

        nbgrader = [sys.executable, "-m", "nbgrader", "--version"]
        report["overhead"] = {"nbgrader_start_s": time_command(nbgrader, args.repeat)}
        start_s, import_s = kernel_overhead(args.repeat)
        report["overhead"].update(kernel_start_s=start_s, import_torch_usefuns_s=import_s,
                                  per_submission_s=report["overhead"]["nbgrader_start_s"]
                                  + start_s + import_s, median_of=args.repeat)

        for run, info in runs.items():
            load = os.getloadavg()[0]
            if run == "parallel":
                start = time.perf_counter()
                status = autograde_batch(work / run, ASSIGNMENT, workers=args.workers,
                                         force=True)
                info["seconds"] = time.perf_counter() - start
                tasks = [entry["seconds"] for entry in status.values()]
                info["task_seconds_median"] = statistics.median(tasks)
                info["failed"] = sorted(s for s, e in status.items() if e["status"] != "graded")
            else:
                info["seconds"] = serial(work / run, info.get("env"))
            info["per_minute"] = 60 * report["submissions"] / info["seconds"]
            info["load_before"] = load
            print(f"{run}: {info['seconds']:.1f} s", file=sys.stderr)

        grades = {run: grading.read_grades(work / run, ASSIGNMENT) for run in runs}
        cells = {run: {s: g["cells"] for s, g in grades[run].items()} for run in runs}
        report["same_grades"] = all(cells[run] == cells["serial"] for run in runs)
        report["graded"] = {run: len(grades[run]) for run in runs}
        report["runs"] = runs
        report["speedup"] = runs["serial"]["seconds"] / runs["parallel"]["seconds"]
        if "serial_one_thread" in runs:
            report["speedup_vs_one_thread"] = (runs["serial_one_thread"]["seconds"]
                                               / runs["parallel"]["seconds"])
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
    for run, info in report["runs"].items():
        print(f"  {run:18} {info['seconds']:7.1f} s  {info['per_minute']:5.2f} submissions/min"
              f"  (load before {info['load_before']:.2f})")
    print(f"speedup parallel / serial: {report['speedup']:.2f}x"
          + (f"; / serial one thread: {report['speedup_vs_one_thread']:.2f}x"
             if "speedup_vs_one_thread" in report else ""))
    print(f"per-submission fixed cost (median of {o['median_of']}): nbgrader start "
          f"{o['nbgrader_start_s']:.2f} s + kernel start {o['kernel_start_s']:.2f} s + "
          f"import torch, usefuns {o['import_torch_usefuns_s']:.2f} s = "
          f"{o['per_submission_s']:.2f} s")
    print(f"same grades cell by cell in every run: {report['same_grades']}")


if __name__ == "__main__":
    sys.exit(main())
