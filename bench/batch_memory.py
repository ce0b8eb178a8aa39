"""Benchmark: the master's memory on a batch with one oversized submission (issue 12).

    .venv/bin/python bench/batch_memory.py                 # 3 honest samples + 1 oversized
    .venv/bin/python bench/batch_memory.py --huge-gib 4 --json out/batch_memory.json

Builds a scratch course with a few sample submissions and one more, ``oversized``, a blank
notebook beside a sparse file of ``--huge-gib`` GiB (no disk used, but 1 GiB to anyone who
reads it), 1,000 nested folders and 5,000 small files. It grades the batch with
``autograde_batch`` (the hardened default, 2 workers) in this process, which is the master, and
prints:

- the master's peak resident memory (``ru_maxrss`` of this process) before and after the batch;
- the peak of the largest child process (``ru_maxrss`` of ``RUSAGE_CHILDREN``: the Dask workers
  and their grading jobs, kernels included);
- each submission's peak memory, all its processes together (``memory_peak`` of its status
  entry: the high-water mark of its cgroup, shared memory and tmpfs included; absent where the
  grader has no cgroups);
- each submission's status and the notes the master wrote for the oversized one.

Before the limits were checked ahead of reading (``coursekit.engine.workspace.pack_submission``)
the master read every file into memory (1 GiB file: 4.3 GB resident) and 1,000 nested folders
stopped the batch with a ``RecursionError``.
"""
import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "two_layer_net"
SAMPLES = ["correct_compact", "blank", "reg_factor_one"]


def _mib(kib):
    return kib / 1024


def _oversized(course, huge_gib):
    folder = course / "submitted" / "oversized" / ASSIGNMENT
    src = course / "submitted" / "blank" / ASSIGNMENT
    folder.mkdir(parents=True)
    for path in src.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    with open(folder / "huge.bin", "wb") as handle:
        handle.truncate(huge_gib * 1024 ** 3)
    deep = folder
    for _ in range(1000):
        deep = deep / "d"
        deep.mkdir()
    many = folder / "many"
    many.mkdir()
    for i in range(5000):
        (many / f"{i}.txt").write_text("x")
    return folder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--huge-gib", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    from coursekit import cli
    from coursekit.course import copy_course
    from coursekit.course.course import Course
    from coursekit.engine.job import GradingSettings
    from coursekit.parallel import BatchOptions, autograde_batch
    from coursekit.term import samples

    with tempfile.TemporaryDirectory(prefix="batch-memory-") as tmp:
        course = copy_course(ROOT, Path(tmp) / "course")
        cli.release(course, ASSIGNMENT)
        samples_dir = course / "assignments" / ASSIGNMENT / "samples"
        for name in SAMPLES:
            samples.write_submission(course, ASSIGNMENT, samples_dir, name)
        _oversized(course, args.huge_gib)
        before = _mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        start = time.perf_counter()
        settings = GradingSettings(sandbox=Course(course).sandbox_limits())
        run = autograde_batch(course, ASSIGNMENT, BatchOptions(workers=args.workers,
                                                               progress=False), settings)
        seconds = time.perf_counter() - start
        after = _mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        children = _mib(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        report = {
            "machine": f"{platform.node()}, {len(__import__('os').sched_getaffinity(0))} "
                       f"cores, {platform.processor() or platform.machine()}",
            "huge_gib": args.huge_gib, "workers": args.workers, "seconds": round(seconds, 1),
            "master_peak_mib_before": round(before), "master_peak_mib_after": round(after),
            "largest_child_peak_mib": round(children),
            "status": {s: e["status"] for s, e in sorted(run.items())},
            "submission_peak_mib": {s: round(e["memory_peak"] / 2 ** 20) if e.get(
                "memory_peak") else None for s, e in sorted(run.items())},
            "limits": sorted({str(e.get("limits")) for e in run.values()}),
            "oversized_notes": [n for n in run["oversized"].get("notes", [])
                                if "set aside" in n]}
        deep = course / "submitted" / "oversized" / ASSIGNMENT
        chain = []
        while (deep / "d").is_dir():
            deep = deep / "d"
            chain.append(deep)
        for folder in reversed(chain):  # shutil.rmtree recurses
            folder.rmdir()
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
