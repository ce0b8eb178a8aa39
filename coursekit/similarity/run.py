"""``coursekit similarity``: find the submissions and ``--against`` files, compare them, write
``reports/<assignment>/similarity.json`` and the similarity section of ``report.html``.

    coursekit similarity two_layer_net --against public_solutions/ --threshold 0.6

A submission is ``submitted/<student>/<assignment>/`` (or, for a student without one,
``autograded/<student>/<assignment>/``) with every notebook in it. The JSON and the page stay
under ``reports/``, with the instructor: nothing of it is in ``feedback/``.
"""
import json
import time
from pathlib import Path

from coursekit.similarity import THRESHOLD, compare, section
from coursekit.similarity.code import file_code, load_release, notebook_code

__all__ = ["THRESHOLD", "MAX_SHOWN", "find_submissions", "against_files", "similarity", "write",
           "write_similarity", "summary"]

MAX_SHOWN = 50  # flagged pairs shown side by side in report.html (all are in the JSON)


def find_submissions(root, assignment):
    """``{student: [notebook paths]}`` of ``submitted/``, and of ``autograded/`` for a student
    with nothing in ``submitted/``."""
    found = {}
    for step in ("autograded", "submitted"):  # submitted/ wins: it is what the student sent
        for folder in sorted(Path(root).glob(f"{step}/*/{assignment}")):
            if folder.is_dir():
                found[folder.parent.name] = sorted(folder.glob("*.ipynb"))
    return dict(sorted(found.items()))


def against_files(folder):
    """``[(path, id)]`` of the ``.py`` and ``.ipynb`` files under ``folder``, ids
    ``<folder name>/<path inside>``.

    Raises:
        FileNotFoundError: ``folder`` is not a folder, or holds no such file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"--against {folder}: no such folder; give a folder of .py or "
                                f".ipynb solutions (public ones you collected, say)")
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".py", ".ipynb") and p.is_file()
                   and ".ipynb_checkpoints" not in p.parts)
    if not files:
        raise FileNotFoundError(f"--against {folder} holds no .py or .ipynb file; put the "
                                f"solutions to compare with there")
    return [(p, f"{folder.resolve().name}/{p.relative_to(folder).as_posix()}") for p in files]


def _shown(codes, pairs):
    """Add ``lines`` to the first ``MAX_SHOWN`` flagged pairs; return their code by id."""
    by_id = {code.id: code for code in codes}
    shown, code_of = set(), {}
    for pair in pairs:
        if not pair["flagged"]:
            break
        key = (pair["a"], pair["b"])
        if key not in shown and len(shown) >= MAX_SHOWN:
            continue
        shown.add(key)
        a, b, function = by_id[pair["a"]], by_id[pair["b"]], pair["function"]
        pair["lines"] = {"a": compare.matched_lines(a, b, function),
                         "b": compare.matched_lines(b, a, function)}
        for code in (a, b):
            code_of[code.id] = {name: unit.source for name, unit in code.units.items()}
    return code_of


def similarity(root, assignment, against=None, threshold=THRESHOLD):
    """Compare the submissions of ``assignment`` with each other and with ``against``.

    Args:
        root: the course folder.
        against: a folder of ``.py``/``.ipynb`` solutions, or None.
        threshold: flag pairs from this score (in [0, 1]).

    Returns:
        the JSON-ready dict written to ``similarity.json``: ``pairs`` (see
        :func:`coursekit.similarity.compare.score_pairs`; the flagged pairs shown in the
        report also have ``lines``, ``{"a"|"b": {function: [line numbers]}}``), ``threshold``,
        ``min_tokens``, ``students``, ``against``, ``skipped`` (``[{"id", "reason"}]``) and
        ``code`` (the code of the pairs shown, ``{id: {function: source}}``).

    Raises:
        ValueError: ``threshold`` outside [0, 1].
        FileNotFoundError: no release notebook, no submission and no ``against`` file, or an
            ``against`` folder that is missing or empty.
    """
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"--threshold {threshold} is not in [0, 1]; try {THRESHOLD}")
    root = Path(root)
    release_notebooks = sorted((root / "release" / assignment).glob("*.ipynb"))
    if not release_notebooks:
        raise FileNotFoundError(f"no release notebook in {root / 'release' / assignment}: run "
                                f"`coursekit release` first (its lines are removed before "
                                f"comparing)")
    files = against_files(against) if against is not None else []
    submissions = find_submissions(root, assignment)
    if not submissions and not files:
        raise FileNotFoundError(f"no submission in {root}/submitted/*/{assignment}/ (nor "
                                f"autograded/): collect them first, or give --against")
    release = load_release(release_notebooks)
    codes, skipped = [], []
    for student, paths in submissions.items():
        try:
            if not paths:
                raise ValueError("the submission holds no notebook")
            codes.append(notebook_code(student, paths, release))
        except ValueError as err:
            skipped.append({"id": student, "reason": str(err)})
    for path, id_ in files:
        try:
            codes.append(file_code(id_, path, release))
        except ValueError as err:
            skipped.append({"id": id_, "reason": str(err)})
    pairs = compare.score_pairs(codes, threshold)
    code_of = _shown(codes, pairs)
    return {"assignment": assignment, "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "threshold": threshold, "min_tokens": compare.MIN_TOKENS,
            "students": [c.id for c in codes if c.kind == "student"],
            "against": [c.id for c in codes if c.kind == "against"],
            "skipped": skipped, "pairs": pairs, "code": code_of}


def _dumps(data):
    """JSON of ``data`` with one pair a line (tens of thousands of them)."""
    head = {key: value for key, value in data.items() if key not in ("pairs", "code")}
    pairs = ",\n".join(json.dumps(pair, separators=(",", ":")) for pair in data["pairs"])
    return (json.dumps(head, indent=1)[:-2] + f',\n "pairs": [\n{pairs}\n],\n "code": '
            + json.dumps(data["code"], indent=1) + "\n}\n")


def write(data, out_dir):
    """Write ``data`` (from :func:`similarity`) as ``similarity.json`` and the section of
    ``report.html`` in ``out_dir``; return their paths ``{"json", "html"}``.

    The section replaces the one of an earlier run in ``report.html``; without a report yet,
    ``report.html`` holds the section alone until ``coursekit report`` writes the rest.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "similarity.json", "html": out / "report.html"}
    paths["json"].write_text(_dumps(data))
    page = paths["html"].read_text() if paths["html"].is_file() else section.empty_page(
        data["assignment"])
    paths["html"].write_text(section.insert_section(page, data))
    return paths


def write_similarity(root, assignment, against=None, threshold=THRESHOLD, out_dir=None):
    """:func:`similarity`, then :func:`write` into ``out_dir`` (default
    ``<course>/reports/<assignment>/``); return ``(data, paths)``."""
    data = similarity(root, assignment, against, threshold)
    return data, write(data, out_dir or Path(root) / "reports" / assignment)


def summary(data, paths, limit=30):
    """The command's report: counts, the first ``limit`` flagged entries, what was skipped and
    where the files are, as lines of text."""
    flagged = [p for p in data["pairs"] if p["flagged"]]
    pairs = len({(p["a"], p["b"]) for p in flagged})
    lines = [f"{len(data['students'])} submissions, {len(data['against'])} --against files: "
             f"{pairs} pair{'s' * (pairs != 1)} flagged at {data['threshold']:g}"]
    lines += [f"  {p['score']:.2f}  {p['a']}  {p['b']}  {p['function'] or 'overall'}"
              for p in flagged[:limit]]
    if len(flagged) > limit:
        lines.append(f"  ... {len(flagged) - limit} more flagged entries in similarity.json")
    lines += [f"  not compared: {s['id']}: {s['reason']}" for s in data["skipped"]]
    return lines + [f"{key}: {path}" for key, path in paths.items()]
