"""The ``coursekit`` command: usage errors, autograde, the exchange, the demo's term, LMS zips.

One real term (release, exchange, parallel autograde, feedback, export, report) of two sample
students, ``blank`` and ``leaky_predict`` (an nn_predict that prints its callers' cell sources
when a hidden test calls it), runs once per session in :func:`build_term`; ``test_feedback`` and
``test_report`` reuse it.
"""
import json
import shutil
import zipfile

import pytest

from conftest import ASSIGNMENT, ROOT
from coursekit import cli, course
from coursekit.term import demo

TERM_SAMPLES = ("blank", "leaky_predict")

# A quick sample (no training: the other answers stay stubs): a correct forward pass and an
# nn_predict that takes the argmin and, when a hidden test calls it, prints its callers' cells.
LEAKY_ANSWERS = '''"""Right forward pass; nn_predict uses argmin and prints its callers' cells."""


def nn_forward_pass(params, X):
    hidden = (X @ params["W1"] + params["b1"]).clamp(min=0)  # (N, H)
    return hidden @ params["W2"] + params["b2"], hidden


def nn_predict(params, loss_func, X):
    import inspect, linecache  # only the functions reach the notebook

    cells = [f for f in inspect.stack(0) if "ipykernel" in f.filename]
    if any("load_checks" in "".join(linecache.getlines(f.filename)) for f in cells):
        for f in cells:
            print("caller:", "".join(linecache.getlines(f.filename)))
            print("history:", repr(f.frame.f_globals.get("In", [""])[-1]))
    return loss_func(params, X).argmin(dim=1)
'''
LEAKY_SCORES = {"forward": 5.0, "loss": 0.0, "grads": 0.0, "train": 0.0, "predict": 0.0,
                "search": 0.0, "model": 0.0, "written": 0.0}


def build_term(tmp_path_factory):
    """The demo's pipeline on :data:`TERM_SAMPLES`, run once per session: (work, results).

    ``work/course`` is the scratch course, ``work/homes/<student>`` the students' folders.
    """
    base = tmp_path_factory.getbasetemp() / "coursekit_term"
    done = base / "results.json"
    if not done.is_file():
        if base.exists():
            shutil.rmtree(base)
        src = course.copy_course(ROOT, base / "src")
        leaky = src / "assignments" / ASSIGNMENT / "samples" / "leaky_predict"
        leaky.mkdir()
        (leaky / "answers.py").write_text(LEAKY_ANSWERS)
        (leaky / "expected.json").write_text(json.dumps({"scores": LEAKY_SCORES}))
        results, _ = demo.run_pipeline(src, base / "work", TERM_SAMPLES, workers=2)
        done.write_text(json.dumps(results))
    return base / "work", json.loads(done.read_text())


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    return build_term(tmp_path_factory)


# ---------------------------------------------------------------- usage errors (fast)

@pytest.mark.parametrize("argv, phrase", [
    (["autograde"], "required: assignment"),
    (["autograde", "no_such_assignment"], "no assignment 'no_such_assignment'"),
    (["autograde", ASSIGNMENT, "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
     "not both"),
    (["autograde", ASSIGNMENT, "--workers", "0"], "at least 1"),
    (["demo", "--samples", "no_such_sample"], "no sample no_such_sample"),
    (["report"], "required: assignment"),
    (["collect-zip", ASSIGNMENT, "missing.zip"], "no zip file"),
    (["no-such-command"], "invalid choice"),
    (["autograde", ASSIGNMENT, "--student", "a", "b"],
     "unrecognized arguments: b (each value needs its own option: --student a --student b)"),
    (["feedback", ASSIGNMENT, "--student=a", "b"], "its own option: --student a --student b"),
    (["grade-samples", "--sample", "blank", "correct_compact"], "--sample a --sample b"),
    (["review", ASSIGNMENT, "--student", "a", "--accept", "--reject"], "not allowed with"),
    (["review", ASSIGNMENT, "--accept"], "needs --student ID"),
    (["serve", ASSIGNMENT, "--Serve.graded_tries=three"],
     "--Serve.graded_tries=three is not valid: it takes a whole number >= 0 (default 3)"),
    (["serve", ASSIGNMENT, "--Serve.period_hours=0"], "it takes a number > 0 (default 24.0)"),
    (["serve", ASSIGNMENT, "--Serve.graded_trys=3"], "did you mean --Serve.graded_tries?"),
    (["serve", ASSIGNMENT, "--Exhange.root=/srv/exchange"], "did you mean --Exchange?"),
    (["serve", ASSIGNMENT, "--Exchange.rot=/srv/exchange"], "did you mean --Exchange.root?"),
])
def test_does_a_usage_error_say_what_is_wrong_and_exit_2(capsys, argv, phrase):
    assert cli.main(["--root", str(ROOT), *argv]) == 2
    err = capsys.readouterr().err
    assert phrase in err
    assert phrase in err.splitlines()[-1] and "Traceback" not in err  # the last line says it


@pytest.mark.parametrize("command", ["autograde", "feedback"])
def test_does_a_repeated_student_option_keep_every_student(command):
    args = cli._parser().parse_args([command, ASSIGNMENT, "--student", "a", "--student", "b"])
    assert args.student == ["a", "b"]
    assert cli._parser().parse_args([command, ASSIGNMENT]).student is None


def test_does_every_repeatable_option_append():
    parser = cli._parser()
    assert {"--student", "--sample"} <= cli.repeatable_options(parser)
    subparsers = next(a for a in parser._actions if a.dest == "command").choices.values()
    nargs = [o for p in subparsers for a in p._actions for o in a.option_strings
             if a.nargs in ("+", "*")]
    assert nargs == []


def test_are_release_and_grade_samples_still_importable_from_the_cli():
    assert cli.release is demo.release and cli.grade_samples is demo.grade_samples


# ---------------------------------------------------------------- the term (slow)

@pytest.mark.slow
def test_does_the_exchange_round_trip_file_each_student_with_a_timestamp(term):
    work, _ = term
    scratch = work / "course"
    inbound = sorted(p.name.split("+")[0] for p in
                     (scratch / "exchange" / "nn-course" / "inbound").iterdir())
    assert inbound == sorted(TERM_SAMPLES)
    for student in TERM_SAMPLES:
        folder = scratch / "submitted" / student / ASSIGNMENT
        assert (folder / "timestamp.txt").read_text().strip(), student
        assert (folder / f"{ASSIGNMENT}.ipynb").is_file()
        assert (work / "homes" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()


@pytest.mark.slow
def test_does_the_demo_flow_grade_each_sample_as_expected(term):
    work, results = term
    scratch = work / "course"
    assert set(results) == set(TERM_SAMPLES)
    for name, result in results.items():
        assert result["ok"], (name, result)
        assert result["status"] == "graded"
    assert "lowest score" in results["leaky_predict"]["messages"]["predict_hidden"]
    csv = (scratch / "grades.csv").read_text().splitlines()
    assert csv[0].startswith("assignment,") and len(csv) == 1 + len(TERM_SAMPLES)
    for student in TERM_SAMPLES:
        assert (scratch / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").is_file()
    assert (scratch / "reports" / ASSIGNMENT / "report.html").is_file()
    table = demo.format_table(results)
    assert len(table) == 1 + len(TERM_SAMPLES) and all(line.endswith("yes") for line in table[1:])


@pytest.mark.slow
def test_does_autograde_record_a_broken_submission_and_exit_0(term, tmp_path, capsys):
    scratch = tmp_path / "course"
    shutil.copytree(term[0] / "course", scratch)
    broken = scratch / "submitted" / "broken" / ASSIGNMENT
    broken.mkdir(parents=True)
    (broken / f"{ASSIGNMENT}.ipynb").write_text("not a notebook")
    argv = ["--root", str(scratch), "autograde", ASSIGNMENT, "--workers", "2", "--quiet"]
    assert cli.main([*argv, "--student", "blank", "--student", "broken", "--force"]) == 0
    out = capsys.readouterr().out
    assert "1 graded, 0 need review, 1 failed" in out and "FAILED broken" in out
    status = json.loads((scratch / "coursekit_status" / f"{ASSIGNMENT}.json").read_text())
    assert status["blank"]["status"] == "graded"
    assert status["broken"]["status"] == "failed" and "JSON" in status["broken"]["reason"]
    # without --force, graded submissions are skipped and failed ones retried
    assert cli.main([*argv, "--student", "blank"]) == 0
    assert "0 graded, 0 need review, 0 failed, 1 skipped" in capsys.readouterr().out


@pytest.mark.slow
def test_does_collect_zip_file_canvas_style_names_under_submitted(tmp_path, capsys):
    scratch = course.copy_course(ROOT, tmp_path / "course")
    shutil.copytree(ROOT / "release", scratch / "release")
    notebook = (ROOT / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    archive = tmp_path / "lms.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"smithjane_4711_9001_{ASSIGNMENT}.ipynb", notebook)
        zf.writestr("smithjane_4711_9001_best_model.pt", b"checkpoint")
        zf.writestr(f"doe_john_late_4712_9002_{ASSIGNMENT}-1.ipynb", notebook)
        zf.writestr("readme.txt", "not a submission")
    assert cli.main(["--root", str(scratch), "collect-zip", ASSIGNMENT, str(archive)]) == 0
    assert "collected 2 students" in capsys.readouterr().out
    jane = scratch / "submitted" / "smithjane" / ASSIGNMENT
    assert (jane / f"{ASSIGNMENT}.ipynb").read_text() == notebook
    assert (jane / "best_model.pt").read_bytes() == b"checkpoint"
    assert (scratch / "submitted" / "doe_john" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    assert (scratch / "downloaded" / ASSIGNMENT / "archive" / "lms.zip").is_file()
    assert sorted(p.name for p in (scratch / "submitted").iterdir()) == ["doe_john", "smithjane"]


def test_does_grade_samples_refuse_to_empty_a_folder_it_did_not_make(tmp_path, capsys):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "gradebook.db").write_text("grades")
    assert cli.main(["--root", str(ROOT), "grade-samples", "--work", str(precious),
                     "--sample", "blank"]) == 2
    assert "is not empty and was not made by coursekit" in capsys.readouterr().err
    assert (precious / "gradebook.db").read_text() == "grades"


def test_is_a_scratch_folder_coursekit_made_emptied_again(tmp_path):
    from coursekit.term import demo

    work = demo.fresh_folder(tmp_path / "work")
    (work / "old.txt").write_text("from the last run")
    assert demo.fresh_folder(work) == work and not (work / "old.txt").exists()
    under_out = tmp_path / "course" / "out" / "demo"  # made by an older coursekit: no marker
    under_out.mkdir(parents=True)
    (under_out / "old.txt").write_text("x")
    demo.fresh_folder(under_out, scratch_root=tmp_path / "course" / "out")
    assert not (under_out / "old.txt").exists()


def test_does_serve_help_list_every_serve_setting_with_its_default(capsys):
    from coursekit.serve.settings import Serve, takes

    with pytest.raises(SystemExit):
        cli._parser().parse_args(["serve", "--help"])
    text = capsys.readouterr().out
    flat = " ".join(text.split())  # help lines are wrapped
    for name, trait in Serve.class_traits(config=True).items():
        assert f"c.Serve.{name} = {trait.default_value!r}" in text
        assert f"{' '.join(trait.help.split())}; takes {takes(name)}" in flat
