"""coursekit.term.bundle: the student bundle holds what students need and nothing of the grader's.

The bundle is built once per module (a few seconds: the wheel is a real ``pip wheel``). The
slow test installs it in a fresh virtual environment and validates an answered notebook there,
with the bundle's own nbgrader config and that environment's kernel.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from conftest import ASSIGNMENT, ROOT, SAMPLES
from coursekit import cli
from coursekit.term import bundle, samples

SECRET_TREES = ("source", "assignments", "coursekit")  # instructor-only
STUDENT_TREES = ("release", "usefuns", "student")  # what students may see anyway
SHORTEST = 12  # characters: shorter lines ("else:", "return x") prove nothing


def _text_lines(name, data):
    """Stripped lines of a file's text (a notebook's cell sources), or [] if it is binary."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return []
    if name.endswith(".ipynb"):
        text = "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
    return [line.strip() for line in text.splitlines() if len(line.strip()) >= SHORTEST]


def _files(folder):
    """(name, bytes) of every file under ``folder``, and of every member of its wheels."""
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            yield str(path), path.read_bytes()
            if path.suffix == ".whl":
                with zipfile.ZipFile(path) as wheel:
                    for member in wheel.namelist():
                        yield f"{path}!{member}", wheel.read(member)


def leaks(folder):
    """Lines (and whole files) of source/, assignments/, coursekit/ found under ``folder``,
    leaving out lines that students' own material (release/, usefuns/, student/) holds too."""
    allowed = {line for tree in STUDENT_TREES for name, data in _files(ROOT / tree)
               for line in _text_lines(name, data)}
    secret, secret_files = set(), set()
    for tree in SECRET_TREES:
        for name, data in _files(ROOT / tree):
            secret.update(set(_text_lines(name, data)) - allowed)
            secret_files.add(data)
    found = []
    for name, data in _files(folder):
        if data in secret_files and data.strip():
            found.append((name, "the whole file"))
        found += [(name, line) for line in _text_lines(name, data) if line in secret]
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "two_layer_net-student"
    start = time.perf_counter()
    assert cli.main(["--root", str(ROOT), "student-bundle", ASSIGNMENT, "--out", str(out)]) == 0
    return out, time.perf_counter() - start


def test_does_the_bundle_hold_exactly_what_students_need(built):
    out, _ = built
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    released = sorted(f"{ASSIGNMENT}/{p.name}" for p in (ROOT / "release" / ASSIGNMENT).iterdir())
    wheel = [f for f in files if f.startswith("wheels/")]
    assert files == sorted(["README.md", "nbgrader_config.py", "requirements.txt", *wheel,
                            *released])
    assert len(wheel) == 1 and wheel[0].startswith("wheels/usefuns-")
    with zipfile.ZipFile(out / wheel[0]) as whl:
        packages = {name.split("/")[0] for name in whl.namelist()}
    assert {p for p in packages if not p.endswith(".dist-info")} == {"usefuns"}


def test_is_no_line_of_source_assignments_or_coursekit_in_the_bundle(built):
    out, _ = built
    assert leaks(out) == []


def test_would_the_leak_check_catch_a_reference_line_or_a_sample_checkpoint(built, tmp_path):
    copy = shutil.copytree(built[0], tmp_path / "copy")
    reference = (ROOT / "assignments" / ASSIGNMENT / "reference.py").read_text()
    line = next(line for line in reference.splitlines() if "@" in line and "W1" in line)
    nb = nbformat.read(copy / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(line))
    nbformat.write(nb, copy / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    shutil.copy(SAMPLES / "correct_compact" / "best_model.pt", copy / "best_model.pt")
    found = leaks(copy)
    assert (str(copy / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"), line.strip()) in found
    assert (str(copy / "best_model.pt"), "the whole file") in found


def test_are_the_students_pins_the_kits_own(built):
    out, _ = built
    kit = bundle._pins(ROOT / "requirements.txt")
    lines = [line for line in (out / "requirements.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines[:2] == ["--find-links wheels", "usefuns==0.1.0"]
    pinned = [line for line in lines[2:] if "==" in line]
    assert pinned and all(kit[bundle._normal(line.split("==")[0])] == line for line in pinned)
    names = {bundle._normal(line.split("==")[0]) for line in pinned}
    assert {"torch", "numpy", "matplotlib", "scikit-learn", "nbgrader", "jupyterlab",
            "ipykernel", "ipywidgets", "tqdm"} <= names
    assert not names & {"pytest", "dask", "distributed", "nbval", "coverage"}  # instructor's


def test_does_the_students_config_carry_the_courses_time_limit(built):
    from traitlets.config.loader import PyFileConfigLoader

    out, _ = built
    theirs = PyFileConfigLoader("nbgrader_config.py", path=str(out)).load_config()
    ours = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    for section, trait in (s.split(".") for s in bundle.STUDENT_SETTINGS):
        assert theirs[section][trait] == ours[section][trait], (section, trait)
    assert theirs.Execute.timeout > 30  # longer than nbgrader's default: it must be shipped


def test_does_the_readme_say_how_to_install_open_check_and_submit(built):
    out, _ = built
    readme = (out / "README.md").read_text()
    notebook = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    for phrase in ("pip install -r requirements.txt", f"jupyter lab {notebook}",
                   f"nbgrader validate {notebook}", "Validate", f"`{ASSIGNMENT}/best_model.pt`",
                   "torch==2.13.0"):
        assert phrase in readme, phrase
    assert "$" not in readme.replace("```bash", "")  # every placeholder filled


def test_does_the_readme_say_how_to_get_feedback_with_the_courses_limit(built):
    from coursekit.serve.settings import Serve

    out, _ = built
    readme = " ".join((out / "README.md").read_text().split())  # lines are wrapped
    defaults = Serve.class_traits(config=True)  # the course sets no c.Serve: the defaults
    tries, hours = defaults["graded_tries"].default_value, defaults["period_hours"].default_value
    for phrase in (f"{tries} graded tries per {hours:g} hours", "Assignments",
                   f"nbgrader submit {ASSIGNMENT} --course nn-course", "Fetch Feedback",
                   f"nbgrader fetch_feedback {ASSIGNMENT} --course nn-course",
                   "could not be graded (its feedback says why) does not count",
                   "arrives after the due date is kept but not graded on submit",
                   "written answers are graded later", "in your home folder",
                   "last submission before the deadline"):
        assert phrase in readme, phrase


def _course_with(tmp_path, lines):
    """A course copy (what student_texts reads) whose nbgrader_config.py ends with ``lines``."""
    from coursekit import course

    root = course.copy_course(ROOT, tmp_path / "course")
    for part in ("release", "student"):
        shutil.copytree(ROOT / part, root / part)
    for name in ("pyproject.toml", "requirements.txt"):
        shutil.copy(ROOT / name, root / name)
    with open(root / "nbgrader_config.py", "a") as config:
        config.write("".join(f"{line}\n" for line in lines))
    return root


@pytest.mark.parametrize("lines, rule", [
    (["c.Serve.graded_tries = 2", "c.Serve.period_hours = 12"], "2 graded tries per 12 hours"),
    (["c.Serve.graded_tries = 1", "c.Serve.period_hours = 1.5"], "1 graded try per 1.5 hours"),
    (["c.Serve.graded_tries = 0"], "no limit on graded tries"),
])
def test_does_the_readme_state_the_courses_own_limit_of_graded_tries(tmp_path, lines, rule):
    readme = bundle.student_texts(_course_with(tmp_path, lines), ASSIGNMENT)["README.md"]
    assert f"You get {rule};" in " ".join(readme.split())


def test_does_a_misspelt_serve_setting_stop_the_bundle(tmp_path):
    """The README would state a limit the service does not apply: refused, not ignored."""
    root = _course_with(tmp_path, ["c.Serve.graded_trys = 2"])
    with pytest.raises(ValueError, match="did you mean c.Serve.graded_tries"):
        bundle.student_texts(root, ASSIGNMENT)


@pytest.mark.parametrize("argv, phrase", [
    (["student-bundle", ASSIGNMENT], "required: --out"),
    (["student-bundle", "no_such_assignment", "--out", "x"], "no assignment"),
])
def test_does_a_bad_student_bundle_command_exit_2(capsys, argv, phrase):
    assert cli.main(["--root", str(ROOT), *argv]) == 2
    assert phrase in capsys.readouterr().err


def test_does_the_bundle_refuse_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    argv = ["--root", str(ROOT), "student-bundle", ASSIGNMENT, "--out", str(tmp_path)]
    assert cli.main(argv) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]  # nothing lost


def test_does_a_course_folder_without_the_kit_say_where_to_make_the_bundle(tmp_path, capsys):
    """A scratch course (``copy_course``) lacks the kit's files: a clear error, and no half
    bundle left behind for the next try to trip on."""
    from coursekit import course

    root = course.copy_course(ROOT, tmp_path / "course")
    shutil.copytree(ROOT / "release", root / "release")
    out = tmp_path / "bundle"
    argv = ["--root", str(root), "student-bundle", ASSIGNMENT, "--out", str(out)]
    assert cli.main(argv) == 2
    assert "make the bundle in the kit's own folder" in capsys.readouterr().err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["course"]


# ---------------------------------------------------------------- installed (slow)

def _clean_env(venv):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "COURSEKIT_ROOT", "COURSEKIT_CELL_TIMEOUT")
           and not k.startswith("JUPYTER")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}/usr/bin:/bin"
    return env


@pytest.mark.slow
def test_do_the_visible_tests_pass_in_a_fresh_environment_from_the_bundle(built, tmp_path):
    out = shutil.copytree(built[0], tmp_path / "student")  # the student's copy
    venv = tmp_path / "venv"
    env = _clean_env(venv)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile",
                    "--disable-pip-version-check", "-r", "requirements.txt"],
                   cwd=out, env=env, check=True, capture_output=True, timeout=1200)
    installed = time.perf_counter() - start
    probe = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import importlib.util as u, torch, usefuns; "
         "print(usefuns.__file__, torch.__version__, u.find_spec('coursekit'))"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert probe[0].startswith(str(venv)) and probe[1].startswith("2.13.0")
    assert probe[2] == "None"  # the grader's package is not there
    # the student answers (a correct sample's functions, its checkpoint, written answers)
    folder = out / ASSIGNMENT
    answers, files = samples.sample_contents(SAMPLES, "correct_compact")
    nb = samples.fill_notebook(nbformat.read(folder / f"{ASSIGNMENT}.ipynb", as_version=4),
                               answers)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "The learning rate was too small for 500 steps."
    nb.cells.append(nbformat.v4.new_code_cell('import sys\nprint("Self-check: kernel in", '
                                              'sys.prefix)'))
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    shutil.copy(files["best_model.pt"], folder / "best_model.pt")
    proc = subprocess.run([str(venv / "bin" / "nbgrader"), "validate",
                           f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"], cwd=out, env=env,
                          capture_output=True, text=True, timeout=600)
    checked = time.perf_counter() - start - installed
    print(f"bundle built in {built[1]:.1f} s; venv and install {installed:.1f} s; "
          f"validate {checked:.1f} s")
    report = proc.stdout
    assert "Success! Your notebook passes all the tests." in report, report + proc.stderr
    assert f"note: kernel in {venv}" in report  # the fresh environment's own kernel
    for grade_id in ("forward_toy", "loss_toy", "grads_numeric", "train_step", "predict_toy",
                     "search_params"):
        assert any(line.split()[:2] == ["passed", grade_id] for line in report.splitlines()), (
            grade_id, report)
    assert "the submitted best_model.pt stands in for the search" in report
