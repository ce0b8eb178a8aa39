"""The README's term on a shared machine, followed step by step (README: "A term on JupyterHub
or a shared machine").

One student, answering as the sample ``correct_compact``, in a home folder of their own whose
``~/.jupyter/nbgrader_config.py`` is the student bundle's plus the course id and the exchange,
as the README says. The instructor works in a scratch copy of the course whose config names
the same exchange. Every command below is run as written in the README (found there
verbatim); only ``--student`` is added where one account plays the student (and the
instructor's config says so: ``c.ExchangeCollect.check_owner = False``).
"""
import os
import shlex
import shutil
import subprocess
import sys

import pytest

from conftest import ASSIGNMENT, ROOT, SAMPLES
from coursekit import course
from coursekit.results import grades
from coursekit.term import bundle, samples
from coursekit.term.exchange import course_id

STUDENT = "alice"
INSTRUCTOR_FIRST = ["coursekit release", "nbgrader release_assignment two_layer_net"]
STUDENT_WORK = ["nbgrader fetch_assignment two_layer_net", "nbgrader submit two_layer_net"]
INSTRUCTOR_GRADING = ["coursekit collect two_layer_net", "coursekit autograde two_layer_net",
                      "coursekit feedback two_layer_net",
                      "nbgrader release_feedback two_layer_net"]
STUDENT_FEEDBACK = ["nbgrader fetch_feedback two_layer_net"]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    return {line.split("#")[0].strip() for line in text.splitlines()}


def _run(command, cwd, home, *extra):
    """Run a README command line in ``cwd`` with ``home`` as HOME; return its output."""
    bin_dir = os.path.dirname(sys.executable)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JUPYTER", "COURSEKIT_")) and k != "PYTHONPATH"}
    env.update(HOME=str(home), PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
               COURSEKIT_CELL_TIMEOUT="60")
    argv = shlex.split(command)
    argv[0] = os.path.join(bin_dir, argv[0])
    proc = subprocess.run(argv + list(extra), cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, f"{command} failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_does_the_readmes_term_take_a_submission_round_trip_to_its_feedback(tmp_path):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)  # README step 2: chmod ugo+rwx
    setting = f'c.Exchange.root = "{exchange}"\n'
    scratch = course.copy_course(ROOT, tmp_path / "course")
    with open(scratch / "nbgrader_config.py", "a") as config:
        config.write(setting)
        config.write("c.ExchangeCollect.check_owner = False\n")  # one account plays alice
    instructor = tmp_path / "instructor"  # the instructor's own HOME
    home = tmp_path / "homes" / STUDENT
    (home / ".jupyter").mkdir(parents=True)
    (home / ".jupyter" / "nbgrader_config.py").write_text(
        bundle.student_texts(ROOT, ASSIGNMENT)["nbgrader_config.py"]
        + f'c.CourseDirectory.course_id = "{course_id(scratch)}"\n' + setting)

    for command in INSTRUCTOR_FIRST:
        _run(command, scratch, instructor)
    _run(STUDENT_WORK[0], home, home)
    folder = home / ASSIGNMENT
    assert (folder / f"{ASSIGNMENT}.ipynb").is_file()
    samples.answer_in(folder, SAMPLES, "correct_compact")  # the student works...
    _run(STUDENT_WORK[1], home, home, f"--student={STUDENT}")
    for command in INSTRUCTOR_GRADING:
        log = _run(command, scratch, instructor)
    assert "Releasing feedback for student 'alice'" in log

    expected = samples.load_expected(SAMPLES, "correct_compact")["scores"]
    assert grades.read_grades(scratch, ASSIGNMENT)[STUDENT]["groups"] == expected
    submitted = scratch / "submitted" / STUDENT / ASSIGNMENT
    assert (submitted / "best_model.pt").read_bytes() == (folder / "best_model.pt").read_bytes()
    feedback = scratch / "feedback" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert feedback.is_file()

    log = _run(STUDENT_FEEDBACK[0], home, home, f"--student={STUDENT}")
    fetched = sorted((folder / "feedback").glob(f"*/{ASSIGNMENT}.html"))
    assert len(fetched) == 1, log
    assert fetched[0].read_bytes() == feedback.read_bytes()
    assert fetched[0].parent.name == (submitted / "timestamp.txt").read_text().strip()
    assert "load_checks" not in fetched[0].read_text()  # hidden tests stay hidden


def test_is_every_command_of_this_test_in_the_readme():
    readme = _readme_commands()
    missing = [c for c in INSTRUCTOR_FIRST + STUDENT_WORK + INSTRUCTOR_GRADING + STUDENT_FEEDBACK
               if c not in readme]
    assert not missing, missing
    assert shutil.which("nbgrader", path=os.path.dirname(sys.executable))
