"""The grade report: every submission with a status, figures equal to the gradebook's."""
import base64
import csv
import json
import re
import shutil

import pytest
from nbgrader.api import Gradebook

from conftest import ASSIGNMENT, ROOT
from coursekit import cli
from coursekit.results import grades as grading
from coursekit.results.report import failing_tests, partial_credit, skill_stats


def test_are_pass_rates_and_means_right_on_a_hand_checked_case():
    groups = {"ann": {"loss": 6.0, "grads": 8.0},
              "bob": {"loss": 4.0, "grads": 8.0},
              "cem": {"loss": 6.0, "grads": 0.0},
              "dan": {"loss": 0.0, "grads": 2.0}}
    stats = skill_stats(groups, {"loss": 6.0, "grads": 8.0, "written": 5.0})
    assert stats["loss"] == {"max": 6.0, "pass_rate": 0.5, "mean": 4.0}
    assert stats["grads"] == {"max": 8.0, "pass_rate": 0.5, "mean": 4.5}
    assert stats["written"] == {"max": 5.0, "pass_rate": 0.0, "mean": 0.0}
    assert skill_stats({}, {"loss": 6.0})["loss"] == {"max": 6.0, "pass_rate": None,
                                                       "mean": None}


def test_are_failing_tests_counted_most_common_first_with_their_messages():
    tests = {"ann": {"loss_hidden": (0.0, 2.0), "model_accuracy": (3.2, 4.0)},
             "bob": {"loss_hidden": (0.0, 2.0), "model_accuracy": (4.0, 4.0)},
             "cem": {"loss_hidden": (2.0, 2.0), "model_accuracy": (4.0, 4.0)}}
    messages = {"ann": {"loss_hidden": "AssertionError: N times too large"},
                "bob": {"loss_hidden": "AssertionError: N times too large"}}
    rows = failing_tests(tests, messages)
    assert [r["grade_id"] for r in rows] == ["loss_hidden"]  # 3.2 of 4 is not a failure
    assert rows[0] == {"grade_id": "loss_hidden", "group": "loss", "failed": 2, "of": 3,
                       "messages": [["AssertionError: N times too large", 2]]}


def test_is_partial_credit_listed_apart_from_failures():
    tests = {"ann": {"loss_hidden": (0.0, 2.0), "model_accuracy": (3.2, 4.0)},
             "bob": {"loss_hidden": (2.0, 2.0), "model_accuracy": (2.4, 4.0)},
             "cem": {"loss_hidden": (2.0, 2.0), "model_accuracy": (4.0, 4.0)}}
    assert partial_credit(tests) == [{"grade_id": "model_accuracy", "group": "model",
                                      "students": 2, "of": 3, "max": 4.0,
                                      "scores": [2.4, 3.2]}]
    assert [r["grade_id"] for r in failing_tests(tests, {})] == ["loss_hidden"]


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """A copy of the term's course plus a broken and a never-graded submission, reported."""
    from test_cli import build_term

    scratch = tmp_path_factory.mktemp("report") / "course"
    shutil.copytree(build_term(tmp_path_factory)[0] / "course", scratch)
    broken = scratch / "submitted" / "broken" / ASSIGNMENT
    broken.mkdir(parents=True)
    (broken / f"{ASSIGNMENT}.ipynb").write_text("{ this is not JSON")
    assert cli.main(["--root", str(scratch), "autograde", ASSIGNMENT, "--workers", "1",
                     "--quiet"]) == 0
    late = scratch / "submitted" / "late" / ASSIGNMENT
    late.mkdir(parents=True)
    shutil.copy(ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", late)
    assert cli.main(["--root", str(scratch), "report", ASSIGNMENT]) == 0
    out = scratch / "reports" / ASSIGNMENT
    return scratch, json.loads((out / "report.json").read_text()), out


@pytest.mark.slow
def test_does_the_report_list_every_submission_with_a_status_and_reason(reported):
    _, report, _ = reported
    rows = {s["student"]: s for s in report["submissions"]}
    assert set(rows) == {"blank", "leaky_predict", "broken", "late"}
    assert rows["blank"]["status"] == rows["leaky_predict"]["status"] == "graded"
    assert rows["blank"]["reason"] is None
    assert rows["broken"]["status"] == "failed" and "JSON" in rows["broken"]["reason"]
    assert rows["late"]["status"] == "ungraded" and "never autograded" in rows["late"]["reason"]
    assert rows["late"]["total"] is None and rows["late"]["groups"] is None
    assert report["counts"] == {"graded": 2, "failed": 1, "ungraded": 1, "submissions": 4}


@pytest.mark.slow
def test_do_totals_and_group_scores_equal_the_gradebook(reported):
    scratch, report, _ = reported
    grades = grading.read_grades(scratch, ASSIGNMENT)
    rows = {s["student"]: s for s in report["submissions"] if s["total"] is not None}
    assert set(rows) == set(grades)  # broken has its zeros in the gradebook too
    with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}") as gb:
        for student, row in rows.items():
            assert row["total"] == grades[student]["total"]
            assert row["total"] == gb.find_submission(ASSIGNMENT, student).score
            assert row["groups"] == grades[student]["groups"]
    assert report["max_groups"] == grades["blank"]["max_groups"]
    assert report["max_total"] == 40.0
    # and the pipeline's nbgrader export agrees
    with open(scratch / "grades.csv") as fh:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}
    for student, score in exported.items():
        assert rows[student]["total"] == score


@pytest.mark.slow
def test_are_skills_and_failing_tests_computed_over_graded_submissions(reported):
    scratch, report, _ = reported
    grades = grading.read_grades(scratch, ASSIGNMENT)
    graded = [grades[s]["groups"] for s in ("blank", "leaky_predict")]
    for group, stats in report["skills"].items():
        top = report["max_groups"][group]
        assert stats["mean"] == pytest.approx(sum(g[group] for g in graded) / 2)
        assert stats["pass_rate"] == sum(g[group] == top for g in graded) / 2
    rows = {t["grade_id"]: t for t in report["failing_tests"]}
    assert rows["predict_hidden"]["failed"] == 2 and rows["predict_hidden"]["of"] == 2
    messages = dict(rows["predict_hidden"]["messages"])
    assert any("lowest score" in m for m in messages)
    assert rows["forward_toy"]["failed"] == 1  # blank only
    assert rows["loss_toy"]["failed"] == 2


@pytest.mark.slow
def test_does_the_html_page_embed_the_histogram_as_base64_png(reported):
    _, report, out = reported
    page = (out / "report.html").read_text()
    found = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert found, "the histogram should be embedded"
    png = base64.b64decode(found.group(1))
    assert png.startswith(b"\x89PNG") and png == (out / "histogram.png").read_bytes()
    for student in ("blank", "leaky_predict", "broken", "late"):
        assert student in page
    assert "src=\"http" not in page and "<script src" not in page  # self-contained


@pytest.mark.slow
def test_does_each_graded_submission_link_to_its_feedback_page(reported):
    scratch, report, out = reported
    rows = {s["student"]: s for s in report["submissions"]}
    for student in ("blank", "leaky_predict"):
        link = rows[student]["feedback"]
        assert link == f"../../feedback/{student}/{ASSIGNMENT}/{ASSIGNMENT}.html"
        assert (out / link).resolve().is_file()
        assert f'href="{link}"' in (out / "report.html").read_text()
    assert rows["late"]["feedback"] is None and rows["broken"]["feedback"] is None


@pytest.mark.slow
def test_do_needs_review_failed_and_unknown_statuses_come_first(reported, tmp_path):
    scratch, _, _ = reported
    course = tmp_path / "course"
    shutil.copytree(scratch, course)
    path = course / "coursekit_status" / f"{ASSIGNMENT}.json"
    status = json.loads(path.read_text())
    status["leaky_predict"].update(status="needs_review", reason="verification disagrees")
    status["blank"].update(status="quarantined", reason="a status from a newer autograde")
    path.write_text(json.dumps(status))
    assert cli.main(["--root", str(course), "report", ASSIGNMENT]) == 0
    report = json.loads((course / "reports" / ASSIGNMENT / "report.json").read_text())
    order = [(s["student"], s["status"]) for s in report["submissions"]]
    assert order == [("broken", "failed"), ("leaky_predict", "needs_review"),
                     ("blank", "quarantined"), ("late", "ungraded")]
    assert report["counts"]["needs_review"] == 1 and report["counts"]["quarantined"] == 1
    assert report["skills"]["forward"]["pass_rate"] is None  # none graded: no statistics
    page = (course / "reports" / ASSIGNMENT / "report.html").read_text()
    assert "verification disagrees" in page and "1 needs_review" in page


@pytest.mark.slow
def test_are_table_headers_aligned_with_their_columns(reported):
    _, _, out = reported
    page = (out / "report.html").read_text()
    for table in re.findall(r"<table.*?</table>", page, re.S):
        head = re.findall(r'<th class="(\w+)"', table)
        for row in re.findall(r'<tr class="[^"]*">(.*?)</tr>', table, re.S):
            cells = re.findall(r'<td class="(\w+)"', row)
            if len(cells) == len(head):
                assert cells == head
