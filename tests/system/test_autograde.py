"""Real nbgrader autograde of every sample submission: each gets exactly its expected scores.

One session-wide grading run (the ``graded_samples`` fixture) serves all the tests here.
"""
import pytest
import torch

from conftest import ASSIGNMENT, ROOT, SAMPLES
from coursekit.course.manifest import load_manifest
from coursekit.term.samples import list_samples, load_expected

pytestmark = pytest.mark.slow

NAMES = list_samples(SAMPLES)
# hidden check -> the test cell that calls it
# hidden check -> the test cell that calls it (the manifest's)
CELL_OF_CHECK = {spec.check[1]: grade_id for grade_id, spec in
                 load_manifest(ROOT, ASSIGNMENT).cells.items() if spec.grader == "check"}


def _device_key():
    return "cuda" if torch.cuda.is_available() else "cpu"


def test_are_there_enough_samples_of_each_kind():
    assert {"blank", "correct_compact", "correct_report_style"} <= set(NAMES)
    mistakes = [n for n in NAMES if not n.startswith("correct") and n != "blank"]
    assert len(mistakes) >= 8


@pytest.mark.parametrize("name", NAMES)
def test_does_each_sample_get_its_expected_scores_per_group(graded_samples, name):
    results, _ = graded_samples
    result = results[name]
    if load_expected(SAMPLES, name).get("expected_status") == "failed":
        assert result["groups"] is None, f"{name} should not be graded"
        return
    assert result["groups"] is not None, f"{name} was not graded ({result['reason']})"
    assert result["expected"] is not None, f"{name}/expected.json has no scores"
    assert result["groups"] == result["expected"], result["messages"]


def test_does_a_blank_notebook_score_zero(graded_samples):
    results, _ = graded_samples
    assert sum(results["blank"]["groups"].values()) == 0


def test_do_correct_samples_get_every_autograded_point(graded_samples):
    results, course = graded_samples
    for name in ("correct_compact", "correct_report_style", "correct_sgd_reassigns"):
        assert results[name]["messages"] == {}, (name, results[name]["messages"])


def test_does_every_mistake_lose_points(graded_samples):
    results, _ = graded_samples
    full = sum(results["correct_compact"]["groups"].values())
    for name in NAMES:
        if name.startswith("correct") or "expected_status" in load_expected(SAMPLES, name) or (
                name == "cpu_tensor" and _device_key() == "cpu"):
            continue
        if name.startswith("attack_") and load_expected(SAMPLES, name)["based_on"].startswith(
                "correct"):
            continue  # correct answers plus an attack that fails: nothing to lose
        assert sum(results[name]["groups"].values()) < full, name


@pytest.mark.parametrize("name", NAMES)
def test_does_each_failing_hidden_test_say_what_is_wrong_in_one_line(graded_samples, name):
    results, _ = graded_samples
    messages = results[name]["messages"]
    expected = load_expected(SAMPLES, name)
    failures = dict(expected.get("hidden_failures", {}))
    if _device_key() == "cuda":
        failures.update(expected.get("hidden_failures_cuda", {}))
        # what a whole notebook run gives where a GPU error poisons the kernel for later cells
        failures = expected.get("autograde_failures_cuda", failures)
    for check, phrase in failures.items():
        cell = CELL_OF_CHECK[check]
        assert cell in messages, f"{name}: {cell} should fail ({phrase})"
        assert phrase in messages[cell], (name, cell, messages[cell])
        assert "\n" not in messages[cell]
    for cell in CELL_OF_CHECK.values():
        if cell in messages:
            assert any(CELL_OF_CHECK[c] == cell for c in failures), (name, messages[cell])


# Broken and tampered submissions (coursekit.engine.preflight): a status, a reason and notes each.
BROKEN = [n for n in NAMES if "expected_status" in load_expected(SAMPLES, n)]


def test_are_there_broken_and_tampered_samples():
    assert len([n for n in BROKEN if n.startswith("broken_")]) >= 9
    assert len([n for n in BROKEN if n.startswith("attack_")]) >= 6


@pytest.mark.parametrize("name", BROKEN)
def test_does_each_broken_sample_get_its_expected_status_reason_and_notes(graded_samples, name):
    results, _ = graded_samples
    result = results[name]
    assert result["problems"] == [], result["problems"]
    assert result["ok"]
    for line in result["notes"] + [result["reason"] or ""]:
        assert "\n" not in line and len(line) < 400, line


def test_does_a_tampered_submission_score_what_its_untampered_base_scores(graded_samples):
    results, _ = graded_samples
    for name in [n for n in BROKEN if n.startswith("attack_")]:
        base = load_expected(SAMPLES, name)["based_on"]
        assert results[name]["groups"] == results[base]["groups"], (name, base)


def test_does_a_broken_notebook_leave_the_rest_of_the_batch_graded(graded_samples):
    results, _ = graded_samples
    failed = {n for n, r in results.items() if r["status"] != "graded"}
    assert failed == {n for n in BROKEN if load_expected(SAMPLES, n)["expected_status"] ==
                      "failed"}
    assert "broken_not_json" in failed


def test_does_no_stored_output_reach_the_graded_notebook(graded_samples):
    _, course = graded_samples
    graded = course / "autograded" / "broken_huge_output" / "two_layer_net" / "two_layer_net.ipynb"
    assert graded.stat().st_size < 2_000_000


def test_is_output_printed_while_grading_cut_while_the_cell_runs(graded_samples):
    _, course = graded_samples  # 50 MB printed by a cell the student added
    graded = course / "autograded" / "broken_output_flood" / "two_layer_net" / "two_layer_net.ipynb"
    assert graded.stat().st_size < 2_500_000
    assert "[output cut here: this cell wrote more than 1000000 bytes" in graded.read_text()


def _status(course):
    from coursekit.course.status import StatusFile

    return StatusFile(course, ASSIGNMENT).read()


def test_does_every_status_entry_say_what_bounded_the_submission(graded_samples):
    from coursekit.isolation import cgroup

    _, course = graded_samples
    usable, why = cgroup.check()
    for name, entry in _status(course).items():
        if usable:
            assert entry["limits"].startswith("cgroup v"), (name, entry["limits"])
            if entry["status"] != "failed" or entry["seconds"] > 5:
                assert entry["memory_peak"] > 50 << 20, (name, entry["memory_peak"])
        else:  # loud in every entry
            assert entry["limits"].startswith("WARNING: cgroups"), (name, entry["limits"])


def test_does_a_forged_incident_record_count_for_nothing(graded_samples):
    _, course = graded_samples
    entry = _status(course)["attack_forged_incidents"]
    assert entry["status"] == "graded" and not entry["timed_out"]
    assert not any("FORGED" in note for note in entry["notes"]), entry["notes"]
    assert len(entry["notes"]) < 10


def test_does_a_kernel_write_nothing_past_its_capped_tmpfs_folders(graded_samples):
    import ast
    import json

    from coursekit.isolation.sandbox import RUNTIME_BYTES
    from coursekit.isolation.settings import SandboxLimits

    _, course = graded_samples  # a cell that writes up to 640 MB into every folder it can
    if _status(course)["hog_disk_flood"]["sandbox"].startswith("off"):
        pytest.skip("the kernel ran without bwrap: its folders are the host's")
    graded = course / "autograded" / "hog_disk_flood" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    text = "".join("".join(o.get("text", "")) for c in json.loads(graded.read_text())["cells"]
                   for o in c.get("outputs", []))
    written = ast.literal_eval(text.split("FLOOD ", 1)[1].splitlines()[0])
    scratch = SandboxLimits().scratch_size
    assert 0 < written["runtime"] <= RUNTIME_BYTES
    assert 0 < written["tmp"] + written["cwd"] + written["home"] <= scratch
    assert 0 < written["shm"] <= scratch
    assert written["inherited"] == 0  # no descriptor of a host file reached the kernel


def test_does_the_report_list_each_submissions_status_reason_and_notes(graded_samples):
    from coursekit.results.report import build_report
    from coursekit.results.reporthtml import render_html

    _, course = graded_samples
    report = build_report(course, "two_layer_net")
    rows = {s["student"]: s for s in report["submissions"]}
    assert rows["broken_not_json"]["status"] == "failed"
    assert "not valid JSON" in rows["broken_not_json"]["reason"]
    assert rows["broken_other_kernel"]["status"] == "graded"
    assert any("'ir'" in note for note in rows["broken_other_kernel"]["notes"])
    assert rows["missing_N"]["notes"] == []
    assert "graded with &#x27;python3&#x27;" in render_html(report, b"")


def test_does_a_failed_regrade_remove_the_grades_of_an_older_submission(graded_samples, tmp_path):
    """A student's newer submission fails (a misnamed notebook): the grade, graded notebook and
    feedback of their older, graded one must not pass for it (export, feedback, release)."""
    import shutil
    import time
    from pathlib import Path

    from nbgrader.api import Gradebook, MissingEntry

    from coursekit.course.course import Course
    from coursekit.engine.job import GradingSettings
    from coursekit.parallel import BatchOptions, autograde_batch
    from coursekit.results import feedback

    _, graded = graded_samples
    student = "correct_compact"
    keep = (student, "blank")  # other samples' folders can be a thousand levels deep

    def others(folder, names):
        per_student = Path(folder).parent == graded and Path(folder).name in (
            "submitted", "autograded", "feedback")
        return [n for n in names if n not in keep] if per_student else []

    root = Path(shutil.copytree(graded, tmp_path / "course", symlinks=True, ignore=others))
    feedback.generate_feedback(root, ASSIGNMENT, students=[student])
    assert (root / "feedback" / student / ASSIGNMENT).is_dir()
    folder = Course(root).submitted(student, ASSIGNMENT)
    (folder / f"{ASSIGNMENT}.ipynb").rename(folder / "renamed.ipynb")
    (folder / "timestamp.txt").write_text(time.strftime("%Y-%m-%d %H:%M:%S.000000 UTC",
                                                        time.gmtime()))
    run = autograde_batch(Course(root), ASSIGNMENT,
                          BatchOptions(workers=1, students=(student,), force=True,
                                       progress=False), GradingSettings())
    assert run[student]["status"] == "failed"
    assert any("older submission were removed" in n for n in run[student]["notes"])
    assert not Course(root).autograded(student, ASSIGNMENT).exists()
    assert not (root / "feedback" / student / ASSIGNMENT).exists()
    with Gradebook(Course(root).gradebook_url) as gb:
        with pytest.raises(MissingEntry):
            gb.find_submission(ASSIGNMENT, student)
        assert gb.find_submission(ASSIGNMENT, "blank")  # the others stay
