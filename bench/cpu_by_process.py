"""Benchmark: where the CPU of an autograde batch goes, process kind by process kind.

    .venv/bin/python bench/cpu_by_process.py                       # serial, then parallel
    .venv/bin/python bench/cpu_by_process.py --runs serial,parallel,parallel_cold,hardened

Grades the 7 default samples of ``bench/autograde.py`` (one copy each) in a fresh scratch course
per run, while a thread samples every process of the machine ten times a second (psutil) and
keeps each one's last user + system CPU time; it then prints the CPU seconds of each kind of
process (kernels, nbgrader, fork servers and their forks, Dask workers, this process) and the
wall time. A process that ends between two samples loses at most its last 0.1 s, and the
sampling itself costs this process a few % of a core: compare kinds and runs, not the last
digit. It is how the per-submission overhead of ``coursekit autograde`` was found and cut (see
docs/performance.md).
"""
import argparse
import collections
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import autograde as bench  # noqa: E402  (bench/autograde.py: build and serial)


def kind(cmd, parent_cmd, me):
    """A short name for the kind of process that ``cmd`` (its command line) is."""
    if me:
        return "this process (master, Dask scheduler, sampling)"
    if "forkserver" in cmd:
        profile = cmd.split()[-1]
        return f"fork of the {profile} server" if "forkserver" in parent_cmd else \
            f"{profile} fork server"
    if "coursekit.isolation.warm_kernel" in cmd:
        return "warm kernel client"
    if "ipykernel_launcher" in cmd or "sandbox_kernel" in cmd:
        return "kernel (cold)"
    if "verify_child" in cmd:
        return "verification child"
    if "coursekit.engine.gradejob" in cmd:
        return "grading job (fresh interpreter)"
    if "nbgrader" in cmd:
        return "nbgrader (serial)"
    if "bwrap" in cmd:
        return "bwrap"
    if "multiprocessing" in cmd:
        return "Dask worker"
    return None  # not ours


def measure(grade):
    """(wall seconds, {kind: CPU seconds}, {kind: processes}) of ``grade()``."""
    seen, stop, me = {}, threading.Event(), os.getpid()

    def sample():
        while not stop.is_set():
            for proc in psutil.process_iter():
                try:
                    with proc.oneshot():
                        times = proc.cpu_times()
                        key = (proc.pid, proc.create_time())
                        if key not in seen:
                            try:
                                parent = " ".join(proc.parent().cmdline())
                            except (psutil.Error, AttributeError):
                                parent = ""
                            seen[key] = [kind(" ".join(proc.cmdline()), parent, proc.pid == me),
                                         times.user + times.system, 0.0]
                        seen[key][2] = times.user + times.system
                except psutil.Error:
                    pass
            time.sleep(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    grade()
    wall = time.perf_counter() - start
    stop.set()
    thread.join()
    cpu, count = collections.Counter(), collections.Counter()
    for name, first, last in seen.values():
        if name is not None:
            # this process existed before: count only what it used during the run
            cpu[name] += last - (first if name.startswith("this process") else 0.0)
            count[name] += 1
    return wall, cpu, count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="serial,parallel",
                        help="comma-separated: serial, parallel, parallel_cold, hardened, "
                             "hardened_bwrap")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args(argv)
    from dataclasses import replace

    from coursekit.engine.job import GradingSettings
    from coursekit.isolation.settings import SandboxLimits
    from coursekit.parallel import BatchOptions, autograde_batch

    off = GradingSettings(sandbox=SandboxLimits(enabled=False))  # no bwrap (limits only)

    def batch(settings=None):
        return lambda c: autograde_batch(c, bench.ASSIGNMENT, BatchOptions(
            workers=args.workers, force=True, progress=False), settings)

    runs = {"serial": lambda c: bench.serial(c), "parallel": batch(off),
            "parallel_cold": batch(replace(off, warm=False)), "hardened": batch(),
            "hardened_bwrap": batch(GradingSettings(sandbox=SandboxLimits(warm_start=False)))}
    work = Path(tempfile.mkdtemp(prefix="bench-cpu-"))
    try:
        base = bench.build(work, bench.DEFAULT_SAMPLES, 1)
        print(f"{len(bench.DEFAULT_SAMPLES)} submissions, {args.workers} workers, "
              f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M %Z')}, load average "
              f"{os.getloadavg()[0]:.2f}")
        for run in args.runs.split(","):
            folder = work / run
            shutil.copytree(base, folder)
            wall, cpu, count = measure(lambda: runs[run](folder))
            print(f"{run}: wall {wall:.1f} s, CPU {sum(cpu.values()):.1f} s "
                  f"({sum(cpu.values()) / wall:.2f} cores busy)")
            for name, seconds in cpu.most_common():
                print(f"  {name:48} {seconds:7.1f} s  ({count[name]} processes)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
