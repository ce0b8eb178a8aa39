"""The adversarial samples, graded in the same real batch as all others (docs/security.md).

``attack_*`` samples try to buy points or read instructor material; each names an honest base
(``based_on``) whose mistakes it keeps, and ``expected_tampering`` says whether out-of-kernel
verification must catch the kernel lying. The per-group scores themselves are checked for every
sample in tests/system/test_autograde.py.
"""
import json
import re
from pathlib import Path

import pytest

from conftest import ASSIGNMENT, ROOT, SAMPLES
from coursekit.term.samples import list_samples, load_expected

pytestmark = pytest.mark.slow

ATTACKS = [n for n in list_samples(SAMPLES) if n.startswith("attack_")]


def _status(course):
    return json.loads((course / "coursekit_status" / f"{ASSIGNMENT}.json").read_text())


def _protected_lines():
    """Distinctive lines of what must never reach a student."""
    folder = ROOT / "assignments" / ASSIGNMENT
    files = [folder / "reference.py", *sorted((folder / "checks").glob("*.py"))]
    files += sorted(SAMPLES.glob("correct_*/answers.py"))
    lines = set()
    for path in files:
        lines |= {line.strip() for line in path.read_text().splitlines()
                  if len(line.strip()) > 40 and not line.strip().startswith(("#", '"""'))}
    source = json.loads((ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text())
    for cell in source["cells"]:
        text = "".join(cell["source"])
        if "### BEGIN SOLUTION" in text or "### BEGIN HIDDEN TESTS" in text:
            inner = re.findall(r"### BEGIN (?:SOLUTION|HIDDEN TESTS)(.*?)### END", text, re.S)
            for block in inner:
                lines |= {line.strip() for line in block.splitlines() if len(line.strip()) > 40}
    return lines


def test_are_there_attack_samples_for_every_kind_of_tampering():
    wanted = {"attack_allclose", "attack_builtins", "attack_fake_checks", "attack_fake_tensor",
              "attack_error_reporting", "attack_gradebook", "attack_exfiltrate",
              "attack_course_root", "attack_delete_tests", "attack_retype_tests",
              "attack_split_test", "attack_raise_points",
              # one per way the grader could once be made unsure, or the reference reached
              "attack_kernel_only_import", "attack_name_outside", "attack_sparse_outside",
              "attack_reach_reference", "attack_added_cell"}
    assert wanted <= set(ATTACKS)


@pytest.mark.parametrize("name", ATTACKS)
def test_does_no_attack_score_more_than_its_honest_base(graded_samples, name):
    results, _ = graded_samples
    base = load_expected(SAMPLES, name)["based_on"]
    got, honest = results[name]["groups"], results[base]["groups"]
    assert got is not None and honest is not None, (name, results[name]["reason"])
    assert sum(got.values()) <= sum(honest.values()), (name, got, honest)
    for group, points in got.items():
        assert points <= honest[group], (name, group, got, honest)


def test_is_tampering_flagged_exactly_where_the_kernel_was_fooled(graded_samples):
    results, course = graded_samples
    status = _status(course)
    for name in results:
        expected = bool(load_expected(SAMPLES, name).get("expected_tampering", False))
        assert bool(status[name].get("tampering")) == expected, (name, status[name])


def test_does_every_graded_submission_record_that_it_ran_in_the_sandbox(graded_samples):
    results, course = graded_samples
    status = _status(course)
    for name, entry in status.items():
        if entry["status"] == "graded":
            assert entry.get("sandbox", "").startswith("sandbox: bwrap"), (name, entry)


def test_does_no_instructor_source_reach_the_graded_notebook_or_its_feedback(graded_samples):
    from coursekit.results.feedback import generate_feedback

    results, course = graded_samples
    name = "attack_exfiltrate"
    graded = course / "autograded" / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = json.loads(graded.read_text())
    outputs = json.dumps([cell.get("outputs", []) for cell in nb["cells"]])
    assert "exfiltrate: found 0 instructor files or modules" in outputs  # it tried
    written = generate_feedback(course, ASSIGNMENT, students=[name])
    assert written[name]["status"] == "written", written[name]
    html = "\n".join(Path(path).read_text() for path in written[name]["files"])
    protected = _protected_lines()
    assert len(protected) > 100
    leaked = [line for line in protected if line in outputs or line in html]
    assert leaked == [], leaked[:5]


def test_does_the_gradebook_attack_leave_every_grade_as_expected(graded_samples):
    results, course = graded_samples
    assert results["attack_gradebook"]["groups"] == results["correct_compact"]["groups"]
    wrong = [n for n, r in results.items() if r["expected"] is not None and r["groups"]
             is not None and r["groups"] != r["expected"]]
    assert wrong == []


def test_is_every_code_attack_listed_for_review_and_no_honest_answer(graded_samples):
    results, course = graded_samples
    status = _status(course)
    code_attacks = {"attack_allclose", "attack_builtins", "attack_fake_checks",
                    "attack_error_reporting", "attack_gradebook", "attack_exfiltrate",
                    "attack_course_root", "attack_added_cell", "attack_kernel_only_import",
                    "attack_name_outside", "attack_reach_reference", "attack_sparse_outside"}
    for name, entry in status.items():
        if entry["status"] != "graded":
            continue
        if name in code_attacks:
            assert entry.get("suspicious"), name
        elif not name.startswith(("attack_", "crash_", "hog_")):  # hogs probe the sandbox
            assert not entry.get("suspicious"), (name, entry.get("suspicious"))
