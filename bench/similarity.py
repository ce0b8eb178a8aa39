"""Time ``coursekit similarity`` on many synthetic submissions (default 300: 44,850 pairs).

    .venv/bin/python bench/similarity.py [--students 300] [--seed 0] [--keep DIR]

Each synthetic student is a sample's answers (every sample of
``assignments/two_layer_net/samples/`` that has answers to compare: not the ``attack_``,
``broken_`` or ``crash_`` ones) disguised at random: local names renamed, independent
neighbouring statements swapped, the code reformatted (``ast.unparse``) and comments
added, written into ``submitted/`` of a scratch course with
:func:`coursekit.term.samples.fill_notebook`. Most samples are built on ``correct_compact``,
so most pairs are copies and flagged: the worst case for the report. Prints the time of each
phase and of the whole command in its own process (median of ``--runs``), the pairs and
flags, how the disguised copies score, the CPU count and the load average.
"""
import argparse
import ast
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coursekit.course import paths  # noqa: E402
from coursekit.similarity import compare, run  # noqa: E402
from coursekit.term import samples  # noqa: E402

ASSIGNMENT = "two_layer_net"
SAMPLES = ROOT / "assignments" / ASSIGNMENT / "samples"
WORDS = ("val", "tmp", "res", "out", "acc", "buf", "cur", "item", "data", "part", "step")


def _names(node):
    """(read, written) names of a statement; a call on ``x`` or ``x[...] = `` writes ``x``."""
    read, written = set(), set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            (written if isinstance(sub.ctx, ast.Store) else read).add(sub.id)
        elif isinstance(sub, (ast.Subscript, ast.Attribute)) and isinstance(sub.ctx, ast.Store):
            base = sub.value
            while isinstance(base, (ast.Subscript, ast.Attribute)):
                base = base.value
            if isinstance(base, ast.Name):
                written.add(base.id)
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
            if isinstance(sub.func.value, ast.Name):
                written.add(sub.func.value.id)
    return read, written


def _swap_independent(body, rng):
    """Swap neighbouring statements that neither read nor write what the other writes."""
    for i in range(len(body) - 1):
        a, b = body[i], body[i + 1]
        if isinstance(a, (ast.Return, ast.If, ast.For, ast.While)) or isinstance(b, ast.Return):
            continue
        (ra, wa), (rb, wb) = _names(a), _names(b)
        if not (wa & (rb | wb)) and not (wb & ra) and rng.random() < 0.5:
            body[i], body[i + 1] = b, a
    for stmt in body:
        for field in ("body", "orelse"):
            if isinstance(getattr(stmt, field, None), list):
                _swap_independent(getattr(stmt, field), rng)


def disguise(source, rng):
    """``source`` (one function) with its local names renamed, independent statements
    swapped, reformatted and commented, as a student hiding a copy would."""
    tree = ast.parse(source)
    func = tree.body[0]
    params = {a.arg for a in func.args.args + func.args.kwonlyargs}
    local = sorted({n.id for n in ast.walk(func) if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Store)} - params)
    new = {name: f"{rng.choice(WORDS)}_{i}" for i, name in enumerate(local)}
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and node.id in new:
            node.id = new[node.id]
    _swap_independent(func.body, rng)
    lines = []
    for line in ast.unparse(tree).splitlines():
        if rng.random() < 0.2 and line.startswith("    "):
            indent = line[:len(line) - len(line.lstrip())]
            lines.append(f"{indent}# {rng.choice(WORDS)} {rng.randint(1, 99)}")
        lines.append(line)
    return "\n".join(lines)


def make_course(dest, students, seed):
    """A scratch course with ``students`` synthetic submissions; return {student: sample}."""
    rng = random.Random(seed)
    paths.copy_course(ROOT, dest)
    shutil.copytree(ROOT / "release", dest / "release")
    release = nbformat.read(dest / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", 4)
    bases = [n for n in samples.list_samples(SAMPLES)
             if not n.startswith(("attack_", "broken_", "crash_"))]
    made = {}
    for k in range(students):
        student, base = f"student{k:03d}", rng.choice(bases)
        answers, _ = samples.sample_contents(SAMPLES, base)
        answers = {name: disguise(src, rng) for name, src in answers.items()}
        folder = dest / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(samples.fill_notebook(release, answers), folder / f"{ASSIGNMENT}.ipynb")
        made[student] = base
    return made


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3, help="timed runs (median printed)")
    parser.add_argument("--keep", default=None, help="build the course here and keep it")
    args = parser.parse_args(argv)
    scratch = Path(args.keep) if args.keep else Path(tempfile.mkdtemp()) / "course"
    start = time.perf_counter()
    made = make_course(scratch, args.students, args.seed)
    print(f"{args.students} synthetic submissions in {time.perf_counter() - start:.1f} s "
          f"({scratch})")
    load = os.getloadavg()[0]
    times = {"compare (read, fingerprint, score)": [], "write JSON and report": [],
             "`coursekit similarity` (own process)": []}
    for _ in range(args.runs):
        start = time.perf_counter()
        data = run.similarity(scratch, ASSIGNMENT)
        middle = time.perf_counter()
        run.write(data, scratch / "reports" / ASSIGNMENT)
        times["compare (read, fingerprint, score)"].append(middle - start)
        times["write JSON and report"].append(time.perf_counter() - middle)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "coursekit", "--root", str(scratch), "similarity",
                        ASSIGNMENT], check=True, stdout=subprocess.DEVNULL)
        times["`coursekit similarity` (own process)"].append(time.perf_counter() - start)
    for phase, values in times.items():
        print(f"{phase:38} median {statistics.median(values):6.2f} s  "
              f"(runs: {', '.join(f'{v:.2f}' for v in values)})")
    pairs = [p for p in data["pairs"] if p["function"] is None]
    flagged = len({(p["a"], p["b"]) for p in data["pairs"] if p["flagged"]})
    report = scratch / "reports" / ASSIGNMENT
    print(f"{len(pairs)} pairs, {len(data['pairs'])} entries, {flagged} pairs flagged "
          f"(threshold {data['threshold']}, min {compare.MIN_TOKENS} tokens); "
          f"similarity.json {(report / 'similarity.json').stat().st_size / 1e6:.1f} MB, "
          f"report.html {(report / 'report.html').stat().st_size / 1e6:.1f} MB")
    same = [p for p in data["pairs"] if made[p["a"]] == made[p["b"]]
            and min(p["tokens"]) >= compare.MIN_TOKENS]  # blank ones have nothing to compare
    for function in sorted({p["function"] or "" for p in same}):
        scores = [p["score"] for p in same if (p["function"] or "") == function]
        caught = sum(p["flagged"] for p in same if (p["function"] or "") == function)
        print(f"  disguised copies of one sample, {function or 'overall':20}: {len(scores):5} "
              f"pairs, score min {min(scores):.2f} median {statistics.median(scores):.2f}, "
              f"{caught} flagged")
    print(f"machine: {os.cpu_count()} CPUs, load average (1 min) {load:.2f} before the runs, "
          f"{os.getloadavg()[0]:.2f} after; similarity runs in one process")
    if not args.keep:
        shutil.rmtree(scratch.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
