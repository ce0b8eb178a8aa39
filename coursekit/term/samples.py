"""Turn sample answers (plain Python) into student submissions of a released notebook.

A sample is a folder ``assignments/<id>/samples/<name>/`` with ``answers.py`` (the functions the
student answered, as top-level ``def``s) and ``expected.json`` (what grading must give it). A
function missing from ``answers.py`` stays a ``# YOUR_TURN`` stub, as a student who skipped it
would leave it; an empty ``answers.py`` is a blank submission.

A sample whose ``expected.json`` names ``"based_on": "<other sample>"`` starts from that sample's
answers and files and overrides them with its own, so that a sample with one mistake differs
from a correct submission in that mistake only; ``"omit_files": [...]`` drops inherited files
(a submission without its checkpoint, say).

Broken, tampered and edited submissions: ``"notebook_edits": [...]`` applies edits to the filled
notebook (:func:`coursekit.term.edits.apply_edits`: delete, retype, split, duplicate or move a
cell by ``grade_id``, change its metadata or source, insert cells, add a huge output, set
another kernelspec, clear every cell, downgrade to nbformat 3 or another 4.x, duplicate or drop
cell ids, or save as an editor does, :mod:`coursekit.term.editors`), and ``"raw_notebook":
"<file>"`` ships that file of the sample folder, byte for byte, as the notebook (a notebook that
is not JSON, say); ``"submitted_as"`` renames the notebook (a misnamed one) and
``"extra_files": {name: size}`` adds files of zeros. Such a sample says what grading must
report with ``"expected_status"`` (``"graded"`` or ``"failed"``), ``"expected_reason"`` and
``"expected_notes"`` (substrings; ``"expected_notes_with_cgroup"`` are expected only where
the grader gave the submission a cgroup, ``coursekit.isolation.cgroup``).
"""
import ast
import json
from pathlib import Path

from coursekit.term.edits import apply_edits

__all__ = ["read_answers", "fill_notebook", "apply_edits", "sample_contents", "list_samples",
           "load_expected", "answer_in", "write_submission"]

def read_answers(path):
    """Map each top-level function or class of ``path`` to its source (decorators included)."""
    text = Path(path).read_text()
    lines = text.splitlines()
    answers = {}
    for node in ast.parse(text, filename=str(path)).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            answers[node.name] = "\n".join(lines[start - 1:node.end_lineno])
    return answers


def fill_notebook(nb, answers):
    """Copy of ``nb`` whose answer cells define ``answers`` where they define a known name.

    Only the definition is replaced; the rest of the cell (imports, constants above the
    ``def``) stays, as when a student edits the function in place.

    Args:
        nb: released notebook (``nbformat.NotebookNode``).
        answers: dict name -> source, from :func:`read_answers`.

    Raises:
        ValueError: ``answers`` names a function that no answer cell of the notebook defines.
    """
    import nbformat  # here: importing nbformat takes ~3 s of CPU

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    used = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("solution") or meta.get("grade"):
            continue
        lines = cell.source.splitlines()
        for node in reversed(ast.parse(cell.source).body):  # bottom up: line numbers stay valid
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in answers:
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                lines[start - 1:node.end_lineno] = answers[node.name].splitlines()
                used.add(node.name)
        cell.source = "\n".join(lines)
    unknown = sorted(set(answers) - used)
    if unknown:
        raise ValueError(f"answers define {unknown}, which no answer cell of the notebook "
                         f"defines; rename them to the notebook's functions.")
    return nb


def sample_contents(samples_dir, name, _seen=()):
    """The answers (name -> source) and files (name -> path) of a sample, bases included.

    Raises:
        ValueError: a ``based_on`` chain that loops or names a missing sample.
    """
    sample = Path(samples_dir) / name
    if name in _seen or not (sample / "answers.py").is_file():
        raise ValueError(f"sample {name!r} is missing or its based_on chain loops "
                         f"({' -> '.join(_seen + (name,))})")
    expected = load_expected(samples_dir, name) if (sample / "expected.json").is_file() else {}
    answers, files = {}, {}
    if expected.get("based_on"):
        answers, files = sample_contents(samples_dir, expected["based_on"], _seen + (name,))
    answers.update(read_answers(sample / "answers.py"))
    files.update({p.name: p for p in sorted(sample.iterdir()) if p.is_file()
                  and p.name not in ("answers.py", "expected.json", expected.get("raw_notebook"))})
    for omitted in expected.get("omit_files", []):
        files.pop(omitted, None)
    return answers, files


def list_samples(samples_dir):
    """Names of the sample folders (those with an ``answers.py``), sorted."""
    return sorted(p.parent.name for p in Path(samples_dir).glob("*/answers.py"))


def load_expected(samples_dir, name):
    """The parsed ``expected.json`` of sample ``name``."""
    return json.loads((Path(samples_dir) / name / "expected.json").read_text())


def answer_in(folder, samples_dir, name):
    """Answer, in place, the fetched or released notebooks in ``folder`` as sample ``name``.

    Each notebook is filled with the sample's answers, then edited (``notebook_edits``),
    replaced (``raw_notebook``) or renamed (``submitted_as``) as its ``expected.json`` says;
    the sample's files (a checkpoint, say) and ``extra_files`` are added.

    Returns:
        Path of the (last) notebook written.
    """
    folder = Path(folder)
    answers, files = sample_contents(samples_dir, name)
    expected = load_expected(samples_dir, name)
    written = None
    for path in sorted(folder.glob("*.ipynb")):
        written = folder / expected.get("submitted_as", path.name)
        if expected.get("raw_notebook"):
            data = (Path(samples_dir) / name / expected["raw_notebook"]).read_bytes()
        else:
            import nbformat

            nb = fill_notebook(nbformat.read(path, as_version=4), answers)
            data = nbformat.writes(nb).encode()
            if expected.get("notebook_edits"):  # written as it is: edits may break the schema
                nb = apply_edits(nb, expected["notebook_edits"])
                data = (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode()
        if written != path:
            path.unlink()
        written.write_bytes(data)
    for file_name, path in files.items():
        (folder / file_name).write_bytes(path.read_bytes())
    for file_name, size in expected.get("extra_files", {}).items():
        (folder / file_name).parent.mkdir(parents=True, exist_ok=True)
        with open(folder / file_name, "wb") as extra:
            extra.truncate(size)  # zeros, sparse where the filesystem allows
    return written


def write_submission(course_root, assignment_id, samples_dir, name, student_id=None):
    """Write sample ``name`` as ``submitted/<student>/<assignment>/`` of the course.

    The submission is the released notebook answered by :func:`answer_in` (the sample's
    answers and edits, plus any other files of the sample folder except ``answers.py`` and
    ``expected.json``), with a ``timestamp.txt``.

    Returns:
        Path of the written notebook.
    """
    course_root = Path(course_root)
    student_id = student_id or name
    release = course_root / "release" / assignment_id
    dest = course_root / "submitted" / student_id / assignment_id
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(release.glob("*.ipynb")):
        (dest / path.name).write_bytes(path.read_bytes())
    written = answer_in(dest, samples_dir, name)
    (dest / "timestamp.txt").write_text("2026-11-26 12:00:00.000000 UTC")
    return written
