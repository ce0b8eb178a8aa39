"""Copy detection (``coursekit similarity``, ``coursekit/similarity/``) on the samples.

Submissions are built from the sample answers with ``fill_notebook`` into a minimal scratch
course (no nbgrader run); one slow test runs the command on the session's graded samples and
then ``coursekit report``. Run with

    .venv/bin/python -m pytest tests/similarity/test_similarity.py -q -m "not slow"
"""
import json
import math
import shutil

import nbformat
import pytest

from conftest import ASSIGNMENT, ROOT, SAMPLES
from coursekit import cli
from coursekit.similarity import THRESHOLD, code, compare, fingerprint, run, section, tokens
from coursekit.term import samples

RELEASE = ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
HONEST = ("correct_compact", "correct_report_style", "correct_sgd_reassigns")


def own_answers(name):
    """The functions the sample itself writes (not those it inherits with ``based_on``)."""
    return samples.read_answers(SAMPLES / name / "answers.py")


def make_course(tmp_path, students):
    """A scratch course with ``submitted/<id>/`` notebooks of ``{id: answers}``; its path."""
    root = tmp_path / "course"
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    (root / "assignments").mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(RELEASE.parent, root / "release" / ASSIGNMENT)
    release = nbformat.read(RELEASE, as_version=4)
    for student, answers in students.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(samples.fill_notebook(release, answers), folder / RELEASE.name)
    return root


def flagged(data):
    """{(a, b, function)} of the flagged entries, with a <= b unless b is a file."""
    return {(*(sorted([p["a"], p["b"]]) if "/" not in p["b"] else (p["a"], p["b"])),
             p["function"]) for p in data["pairs"] if p["flagged"]}


def score(data, a, b, function=None):
    found = [p["score"] for p in data["pairs"]
             if {p["a"], p["b"]} == {a, b} and p["function"] == function]
    return found[0] if found else None


# ---------------------------------------------------------------- the proof

def test_is_a_disguised_copy_flagged_against_its_original(tmp_path):
    root = make_course(tmp_path, {"orig": own_answers("correct_compact"),
                                  "copy": own_answers("correct_copy_disguised")})
    data = run.similarity(root, ASSIGNMENT)
    assert {("copy", "orig", None), ("copy", "orig", "nn_forward_backward"),
            ("copy", "orig", "find_best_net")} <= flagged(data)
    assert score(data, "orig", "copy") >= 0.9


def test_is_a_disguised_copy_flagged_against_an_against_folder_holding_the_original(tmp_path):
    root = make_course(tmp_path, {"copy": own_answers("correct_copy_disguised"),
                                  "honest": own_answers("correct_report_style")})
    public = tmp_path / "public"
    public.mkdir()
    shutil.copy(SAMPLES / "correct_compact" / "answers.py", public / "compact.py")
    nb = samples.fill_notebook(nbformat.read(RELEASE, as_version=4),
                               own_answers("correct_report_style"))
    nbformat.write(nb, public / "other.ipynb")
    data = run.similarity(root, ASSIGNMENT, against=public)
    assert data["against"] == ["public/compact.py", "public/other.ipynb"]
    assert ("copy", "public/compact.py", None) in flagged(data)
    assert ("copy", "public/compact.py", "nn_forward_backward") in flagged(data)
    assert ("honest", "public/other.ipynb", None) in flagged(data)  # the same code, as .ipynb
    assert not {f for f in flagged(data) if f[:2] == ("copy", "public/other.ipynb")}
    assert not {f for f in flagged(data) if f[0] == "public/compact.py"}  # b is the file


def test_are_the_three_honest_correct_styles_not_flagged_against_each_other(tmp_path):
    """Each style as its own answers.py writes it: correct_sgd_reassigns is ``based_on``
    correct_compact, so the functions it inherits are correct_compact's by construction (a
    copy, rightly flagged), not a style of its own."""
    root = make_course(tmp_path, {name: own_answers(name) for name in HONEST})
    data = run.similarity(root, ASSIGNMENT)
    assert not flagged(data)
    assert max(p["score"] for p in data["pairs"]) < THRESHOLD
    # the honest styles do share idioms: the scores are not all zero
    assert score(data, "correct_compact", "correct_report_style") > 0.1


def test_is_a_blank_notebook_not_flagged_against_another_blank(tmp_path):
    root = make_course(tmp_path, {"blank1": {}, "blank2": {}, "honest": own_answers(HONEST[0])})
    data = run.similarity(root, ASSIGNMENT)
    assert not flagged(data)
    assert score(data, "blank1", "blank2") == 0.0
    assert [p["tokens"] for p in data["pairs"] if {p["a"], p["b"]} == {"blank1", "blank2"}] == [
        [0, 0]]


def test_is_sharing_only_nn_predict_not_flagged(tmp_path):
    compact = own_answers("correct_compact")
    report_style = dict(own_answers("correct_report_style"), nn_predict=compact["nn_predict"])
    root = make_course(tmp_path, {"a": compact, "b": report_style})
    data = run.similarity(root, ASSIGNMENT)
    assert not flagged(data)
    release = code.load_release([RELEASE])
    a, b = (code.notebook_code(s, [root / "submitted" / s / ASSIGNMENT / RELEASE.name], release)
            for s in ("a", "b"))
    # shared (line 2, ``scores = loss_func(params, X)``, is the release's own code), yet
    assert compare.matched_lines(a, b, "nn_predict") == {"nn_predict": [3]}


def test_is_a_shared_nn_forward_backward_flagged_alone(tmp_path):
    compact = own_answers("correct_compact")
    report_style = dict(own_answers("correct_report_style"),
                        nn_forward_backward=compact["nn_forward_backward"])
    root = make_course(tmp_path, {"a": compact, "b": report_style})
    data = run.similarity(root, ASSIGNMENT)
    assert {f for _, _, f in flagged(data)} == {"nn_forward_backward", None}  # it is most code
    assert score(data, "a", "b", "nn_forward_backward") == 1.0


# ---------------------------------------------------------------- what is compared

def prints(source):
    tokens_ = tokens.normalise(source)
    hashes, spans = fingerprint.kgram_hashes(tokens_)
    return set(hashes[fingerprint.winnow(hashes, spans)].tolist())


ORIGINAL = '''
def f(params, X, reg):
    shifted = X - X.max(dim=1, keepdim=True).values  # stable
    probs = shifted.exp() / shifted.exp().sum(dim=1, keepdim=True)
    loss = -torch.log(probs[range(len(X)), 0]).mean() + reg * torch.sum(params["W1"] ** 2)
    return loss
'''
DISGUISED = '''
def f(params, X, reg):
    """Now with a docstring."""
    # a new comment; the next statement was split over lines
    z = X - X.max(dim=1,
                  keepdim=True).values
    p = (z.exp() / z.exp().sum(dim=1, keepdim=True));  l = -torch.log(p[range(len(X)), 0]
        ).mean() + reg * torch.sum(params['W1'] ** 2); return l
'''


def test_do_renames_comments_docstrings_and_layout_leave_the_fingerprints_unchanged():
    assert prints(ORIGINAL) and prints(ORIGINAL) == prints(DISGUISED)


def test_does_a_different_computation_change_them():
    changed = ORIGINAL.replace("- X.max(dim=1, keepdim=True).values", "- X.max()")
    assert prints(changed) != prints(ORIGINAL)


def test_does_reordering_statements_or_functions_keep_every_fingerprint():
    lines = ORIGINAL.strip().splitlines()
    swapped = "\n".join([lines[0], lines[2], lines[1], *lines[3:]])  # probs before shifted
    assert prints(swapped) == prints(ORIGINAL)
    two = ORIGINAL + "\n\ndef g(a):\n    return torch.clamp(a * 2.0, min=0.0, max=1.0)\n"
    assert prints(two.replace(ORIGINAL, "") + ORIGINAL) == prints(two)


def test_does_the_release_itself_count_for_nothing(tmp_path):
    release = code.load_release([RELEASE])
    unchanged = code.notebook_code("release", [RELEASE], release)
    assert unchanged.units and sum(u.size for u in unchanged.units.values()) == 0
    nb = nbformat.read(RELEASE, as_version=4)
    for cell in nb.cells:  # as an editor that drops nbgrader metadata would save it
        cell.metadata.pop("nbgrader", None)
    nbformat.write(nb, tmp_path / RELEASE.name)
    stripped = code.notebook_code("stripped", [tmp_path / RELEASE.name], release)
    assert sum(u.size for u in stripped.units.values()) == 0
    answered = code.notebook_code("answered", [make_course(tmp_path, {
        "s": own_answers("correct_compact")}) / "submitted" / "s" / ASSIGNMENT / RELEASE.name],
        release)
    assert answered.units["nn_forward_backward"].size >= compare.MIN_TOKENS  # the answer


def test_is_a_notebook_without_nbgrader_metadata_compared_the_same(tmp_path):
    root = make_course(tmp_path, {"orig": own_answers("correct_compact"),
                                  "copy": own_answers("correct_copy_disguised"), "blank": {}})
    for student in ("copy", "blank"):  # as Colab or an old editor may save them
        path = root / "submitted" / student / ASSIGNMENT / RELEASE.name
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            cell.metadata.pop("nbgrader", None)
        nbformat.write(nb, path)
    data = run.similarity(root, ASSIGNMENT)
    assert score(data, "orig", "copy") >= 0.9 and ("copy", "orig", None) in flagged(data)
    assert [min(p["tokens"]) for p in data["pairs"] if "blank" in (p["a"], p["b"])] == [0, 0]


def test_is_an_unreadable_notebook_listed_as_not_compared(tmp_path):
    root = make_course(tmp_path, {"a": own_answers(HONEST[0])})
    broken = root / "submitted" / "broken" / ASSIGNMENT
    broken.mkdir(parents=True)
    (broken / RELEASE.name).write_text("{ not JSON")
    data = run.similarity(root, ASSIGNMENT)
    assert [s["id"] for s in data["skipped"]] == ["broken"]
    assert "not a notebook" in data["skipped"][0]["reason"]
    assert data["students"] == ["a"]


def test_is_a_student_found_only_in_autograded_compared_too(tmp_path):
    root = make_course(tmp_path, {"orig": own_answers("correct_compact")})
    shutil.copytree(root / "submitted" / "orig", root / "autograded" / "late")
    shutil.copytree(root / "submitted" / "orig", root / "autograded" / "orig")
    (root / "autograded" / "orig" / ASSIGNMENT / RELEASE.name).write_text("{ not JSON")
    data = run.similarity(root, ASSIGNMENT)
    assert data["students"] == ["late", "orig"] and not data["skipped"]  # submitted/ wins
    assert ("late", "orig", None) in flagged(data)


def _not_json(name):
    raw = samples.load_expected(SAMPLES, name).get("raw_notebook")
    try:
        return bool(raw) and json.loads((SAMPLES / name / raw).read_text()) is None
    except (ValueError, UnicodeDecodeError):
        return True


def test_does_it_read_every_sample_submission_and_skip_only_what_is_no_notebook(tmp_path):
    """Every sample as ``write_submission`` files it (broken, tampered, misnamed, nbformat 3,
    huge outputs), full contents (``based_on`` included)."""
    root = make_course(tmp_path, {})
    names = samples.list_samples(SAMPLES)
    for name in names:
        samples.write_submission(root, ASSIGNMENT, SAMPLES, name)
    data = run.similarity(root, ASSIGNMENT)
    assert [s["id"] for s in data["skipped"]] == [n for n in names if _not_json(n)]
    assert len(data["students"]) + len(data["skipped"]) == len(names)
    pairs = {f[:2] for f in flagged(data)}
    assert ("correct_compact", "correct_copy_disguised") in pairs
    assert ("correct_compact", "correct_report_style") not in pairs
    assert ("blank", "broken_no_cells") not in pairs


# ---------------------------------------------------------------- the command and the report

def test_does_the_cli_write_the_json_and_the_report_section(tmp_path, capsys):
    names = ("correct_compact", "correct_copy_disguised", "correct_report_style")
    root = make_course(tmp_path, {name: own_answers(name) for name in names})
    public = tmp_path / "public"
    public.mkdir()
    shutil.copy(SAMPLES / "correct_report_style" / "answers.py", public / "style.py")
    assert cli.main(["--root", str(root), "similarity", ASSIGNMENT, "--against",
                     str(public)]) == 0
    out = root / "reports" / ASSIGNMENT
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
                  and "reports" in p.parts) == [f"reports/{ASSIGNMENT}/report.html",
                                                f"reports/{ASSIGNMENT}/similarity.json"]
    data = json.loads((out / "similarity.json").read_text())
    assert data["threshold"] == THRESHOLD
    for pair in data["pairs"]:
        assert {"a", "b", "score", "flagged", "function"} <= set(pair)
        assert 0.0 <= pair["score"] <= 1.0 and isinstance(pair["flagged"], bool)
        assert pair["function"] is None or pair["function"].startswith(("nn_", "find_"))
    assert len([p for p in data["pairs"] if p["function"] is None]) == 3 + 3  # 3 pairs, 3 x file
    assert ("correct_compact", "correct_copy_disguised", None) in flagged(data)
    assert ("correct_report_style", "public/style.py", None) in flagged(data)
    page = (out / "report.html").read_text()
    assert page.count(section.START) == 1 and "<h2>Similarity</h2>" in page
    # every flagged pair is in the table; the first 50 are also shown side by side (with 76
    # samples, many built on one base, this pair need not be among them)
    assert "<tr><td>correct_compact</td><td>correct_copy_disguised</td>" in page
    pairs = {(p["a"], p["b"]) for p in data["pairs"] if p["flagged"]}
    assert page.count("<h3>") == min(50, len(pairs))
    assert '<mark><span class="ln">' in page  # matching lines highlighted
    assert "correct_compact  correct_copy_disguised  overall" in capsys.readouterr().out


def test_does_a_rerun_replace_the_section_and_keep_the_rest_of_the_page(tmp_path):
    root = make_course(tmp_path, {"a": own_answers("correct_compact"),
                                  "b": own_answers("correct_copy_disguised")})
    out = root / "reports" / ASSIGNMENT
    out.mkdir(parents=True)
    (out / "report.html").write_text("<html><body><h1>Grades</h1>\n</body></html>\n")
    for threshold in ("0.6", "1"):
        assert cli.main(["--root", str(root), "similarity", ASSIGNMENT, "--threshold",
                         threshold]) == 0
    page = (out / "report.html").read_text()
    assert page.count(section.START) == 1 and page.startswith("<html><body><h1>Grades</h1>")
    assert "flagged from 1 when" in page
    rewritten = section.add_to_report("<html><body>new grades</body></html>", out)
    assert "new grades" in rewritten and rewritten.count(section.END) == 1


def test_is_student_code_html_escaped_in_the_report(tmp_path):
    evil = own_answers("correct_compact")["nn_forward_backward"].replace(
        "grads = {}", 'grads = {}\n    note = "</pre><script>alert(1)</script>" + str(N)')
    root = make_course(tmp_path, {"a": {"nn_forward_backward": evil},
                                  "b": {"nn_forward_backward": evil}})
    run.write_similarity(root, ASSIGNMENT)
    page = (root / "reports" / ASSIGNMENT / "report.html").read_text()
    assert "<h3>a and b</h3>" in page
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page


@pytest.mark.parametrize("args, phrase", [
    (["no_such_assignment"], "no assignment 'no_such_assignment'"),
    ([ASSIGNMENT, "--against", "no/such/folder"], "no such folder"),
    ([ASSIGNMENT, "--against", "EMPTY"], "holds no .py or .ipynb"),
    ([ASSIGNMENT, "--threshold", "1.5"], "not in [0, 1]"),
    ([ASSIGNMENT, "--threshold", "-0.1"], "not in [0, 1]"),
    ([ASSIGNMENT, "--threshold", "nan"], "not in [0, 1]"),
    ([ASSIGNMENT, "--threshold", "high"], "invalid float value"),
])
def test_does_bad_input_say_what_is_wrong_and_exit_2(tmp_path, capsys, args, phrase):
    root = make_course(tmp_path, {"a": {}})
    (tmp_path / "empty").mkdir()
    args = [str(tmp_path / "empty") if a == "EMPTY" else a for a in args]
    assert cli.main(["--root", str(root), "similarity", *args]) == 2
    assert phrase in capsys.readouterr().err
    assert not (root / "reports").exists()


def test_is_a_course_without_release_or_submissions_a_clear_error(tmp_path, capsys):
    root = make_course(tmp_path, {})
    assert cli.main(["--root", str(root), "similarity", ASSIGNMENT]) == 2
    assert "no submission in" in capsys.readouterr().err
    shutil.rmtree(root / "release")
    assert cli.main(["--root", str(root), "similarity", ASSIGNMENT]) == 2
    assert "coursekit release" in capsys.readouterr().err


def test_is_the_default_threshold_between_honest_and_copied_scores(tmp_path):
    """The measurement behind THRESHOLD: honest pairs well below, disguised copies above."""
    names = (*HONEST, "correct_copy_disguised")
    data = run.similarity(make_course(tmp_path, {n: own_answers(n) for n in names}),
                          ASSIGNMENT, threshold=0.0)
    judged = [p for p in data["pairs"] if min(p["tokens"]) >= compare.MIN_TOKENS]
    copy = "correct_copy_disguised"
    honest = [p["score"] for p in judged if copy not in (p["a"], p["b"])]
    copies = [p["score"] for p in judged if {p["a"], p["b"]} == {copy, "correct_compact"}]
    assert honest and max(honest) <= THRESHOLD - 0.2
    assert copies and min(copies) >= THRESHOLD + 0.3
    assert not math.isnan(sum(p["score"] for p in data["pairs"]))


# ---------------------------------------------------------------- end to end (graded samples)

@pytest.mark.slow
def test_does_the_grade_report_of_graded_samples_keep_the_similarity_section(graded_samples):
    _, course_root = graded_samples
    assert cli.main(["--root", str(course_root), "similarity", ASSIGNMENT]) == 0
    data = json.loads((course_root / "reports" / ASSIGNMENT / "similarity.json").read_text())
    assert ("correct_compact", "correct_copy_disguised", "nn_forward_backward") in flagged(data)
    assert not {f for f in flagged(data) if {"correct_compact", "correct_report_style"} <= set(f)}
    assert cli.main(["--root", str(course_root), "report", ASSIGNMENT]) == 0
    page = (course_root / "reports" / ASSIGNMENT / "report.html").read_text()
    assert "Score histogram" in page and page.count(section.START) == 1
    # every flagged pair is in the table; the first 50 are also shown side by side (with 76
    # samples, many built on one base, this pair need not be among them)
    assert "<tr><td>correct_compact</td><td>correct_copy_disguised</td>" in page
    pairs = {(p["a"], p["b"]) for p in data["pairs"] if p["flagged"]}
    assert page.count("<h3>") == min(50, len(pairs))
