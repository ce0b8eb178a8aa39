"""The gradebook on a real PostgreSQL server (``c.CourseDirectory.db_url``), written at once by
``coursekit serve``, a ``coursekit autograde`` batch and formgrader (a real JupyterLab with
nbgrader's formgrader, driven through its REST API as its pages drive it).

The server is started by the test (``tests/postgres.py``: Debian's ``postgresql``, ``initdb`` in a
temporary folder, a free port on 127.0.0.1); without it the tests are skipped loudly.
"""
import http.cookiejar
import json
import os
import shlex
import subprocess
import sys
import threading
import urllib.request

import pytest

from conftest import ASSIGNMENT, ROOT, SAMPLES
from coursekit import course
from coursekit.course.course import Course
from coursekit.course.status import StatusFile
from coursekit.serve.status import read_served
from coursekit.term import exchange, samples
from coursekit.term.demo import compare_with_expected, release
from browser import jupyter_lab
from postgres import _free_port, create_database, pg_bin, postgres_server, require_postgres

BATCH = ("correct_compact", "blank")            # written into submitted/, graded by a batch
SERVED = ("max_shift_overwrites", "model_poor")  # submitted through the exchange, served


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with postgres_server(tmp_path_factory.mktemp("postgres")) as url:
        yield url


def _pg_course(tmp_path, server, name):
    root = course.copy_course(ROOT, tmp_path / "course")
    url = create_database(server, name)
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f'c.CourseDirectory.db_url = "{url}"\n')
    return root, url


def test_does_every_command_use_the_postgresql_gradebook(tmp_path, server):
    """Release (nbgrader) creates it there; coursekit reads it there; no gradebook.db appears."""
    root, url = _pg_course(tmp_path, server, "commands")
    graded = Course(root)
    assert graded.gradebook_url == url and graded.gradebook_path is None
    assert not graded.has_gradebook()
    release(root, ASSIGNMENT)
    assert graded.has_gradebook()
    snapshot = tmp_path / "snapshot.db"
    snapshot.write_bytes(graded.snapshot_gradebook())
    from nbgrader.api import Gradebook

    with Gradebook(url) as served, Gradebook(f"sqlite:///{snapshot}") as copy:
        cells = lambda gb: sorted(  # noqa: E731
            (c.name, c.checksum) for c in gb.find_assignment(ASSIGNMENT).notebooks[0].source_cells)
        assert cells(copy) == cells(served) and len(cells(served)) > 20
    assert not (root / "gradebook.db").exists()


def test_is_a_relative_sqlite_url_made_absolute_from_the_course(tmp_path):
    root = course.copy_course(ROOT, tmp_path / "course")
    assert Course(root).gradebook_url == f"sqlite:///{root.resolve() / 'gradebook.db'}"
    assert Course(root).gradebook_path == root.resolve() / "gradebook.db"


def _course_at(tmp_path, url):
    """A course copy whose gradebook is ``url`` (which may not work)."""
    root = course.copy_course(ROOT, tmp_path / "course")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f'c.CourseDirectory.db_url = "{url}"\n')
    return root


def _run(capsys, root, *argv):
    from coursekit import cli

    status = cli.main(["--root", str(root), *argv])
    return status, capsys.readouterr().err


@pytest.mark.parametrize("argv", [["release"], ["autograde", ASSIGNMENT], ["report", ASSIGNMENT],
                                  ["serve", ASSIGNMENT, "--once"], ["export", ASSIGNMENT]])
def test_does_a_missing_database_say_how_to_create_it(tmp_path, server, capsys, argv):
    """The server runs, the database was never created: the createdb line, not nbgrader's
    'run nbgrader db upgrade'; and the line it gives works."""
    name = f"not_created_{argv[0]}"  # the server is the module's: one database each
    url = server.rsplit("/", 1)[0] + f"/{name}"
    root = _course_at(tmp_path, url)
    out = ["--to", str(tmp_path / "grades.csv")] if argv[0] == "export" else []  # not in cwd
    status, err = _run(capsys, root, *argv, *out)
    assert status == 2, err
    port = url.rsplit(":", 1)[1].split("/")[0]
    hint = f"createdb -h 127.0.0.1 -p {port} -U postgres {name}"
    assert f"database {name!r} does not exist" in err and hint in err, err
    assert "db upgrade" not in err and "Traceback" not in err
    if argv == ["release"]:  # once: do what it says, and the gradebook opens
        subprocess.run([str(pg_bin() / "createdb"), *shlex.split(hint)[1:]], check=True,
                       timeout=60)
        from coursekit.course.gradebook import check

        check(Course(root).gradebook_url)
        assert not Course(root).has_gradebook()  # no tables yet: `coursekit release` makes them


def test_does_a_refused_user_say_to_check_the_url(tmp_path, server, capsys):
    root = _course_at(tmp_path, server.replace("postgres@", "nobody:secret@"))
    status, err = _run(capsys, root, "report", ASSIGNMENT)
    assert status == 2 and "refused the user 'nobody'" in err, err
    assert "check the user and password in c.CourseDirectory.db_url" in err
    assert "secret" not in err  # the password is not shown


def test_does_a_server_that_does_not_answer_say_so(tmp_path, capsys):
    require_postgres()  # psycopg
    port = _free_port()
    root = _course_at(tmp_path, f"postgresql+psycopg://postgres@127.0.0.1:{port}/course")
    status, err = _run(capsys, root, "autograde", ASSIGNMENT)
    assert status == 2 and f"no PostgreSQL server answers at 127.0.0.1:{port}" in err, err
    from coursekit.course.gradebook import GradebookUnavailable

    with pytest.raises(GradebookUnavailable, match="start it, or correct the host and port"):
        Course(root).has_gradebook()  # the library's path too (a batch, the service)


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSEKIT_")}
    if "COURSEKIT_REQUIRE_SANDBOX" in os.environ:
        env["COURSEKIT_REQUIRE_SANDBOX"] = os.environ["COURSEKIT_REQUIRE_SANDBOX"]
    return dict(env, COURSEKIT_CELL_TIMEOUT="60")


class Formgrader:
    """nbgrader's formgrader in a running JupyterLab, called as its pages call it (the
    ``_xsrf`` cookie echoed in ``X-XSRFToken``)."""

    def __init__(self, url):
        self.url = url
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        self.opener.open(url + "/formgrader", timeout=60).read()
        self.xsrf = next(c.value for c in jar if c.name == "_xsrf")

    def call(self, path, method="GET", body=None):
        request = urllib.request.Request(
            self.url + "/formgrader/api/" + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"X-XSRFToken": self.xsrf, "Content-Type": "application/json"})
        with self.opener.open(request, timeout=60) as response:
            return json.loads(response.read())


def _edit_roster(formgrader, students, stop, done):
    """What an instructor does in formgrader while grading runs: add and rename students (the
    graded ones among them) and look at the submissions, until ``stop``; every answer in
    ``done`` (an exception too)."""
    rounds = 0
    while not stop.is_set() or rounds < 2:
        rounds += 1
        for student in students:
            try:
                got = formgrader.call(f"student/{student}", "PUT",
                                      {"first_name": f"First{rounds}", "last_name": student,
                                       "email": f"{student}@example.org"})
                formgrader.call(f"submissions/{ASSIGNMENT}")
                done.append((student, rounds, got["first_name"]))
            except Exception as err:  # noqa: BLE001 - every failure is asserted on
                done.append((student, rounds, err))


@pytest.mark.slow
def test_do_a_batch_the_service_and_formgrader_writing_at_once_lose_nothing(tmp_path, server):
    root, url = _pg_course(tmp_path, server, "concurrent")
    ex = tmp_path / "exchange"
    ex.mkdir()
    release(root, ASSIGNMENT)
    exchange.release_assignment(root, ASSIGNMENT, ex)
    for name in BATCH:
        samples.write_submission(root, ASSIGNMENT, SAMPLES, name)
    for name in SERVED:
        home = tmp_path / "homes" / name
        samples.answer_in(exchange.fetch(ex, home, "nn-course", ASSIGNMENT), SAMPLES, name)
        exchange.submit(ex, home, "nn-course", ASSIGNMENT, name)
    coursekit = [sys.executable, "-m", "coursekit"]
    roster = [f"roster-{i}" for i in range(8)] + list(BATCH + SERVED)
    stop, done = threading.Event(), []
    with jupyter_lab(root, tmp_path / "lab", {}) as lab:
        formgrader = Formgrader(lab)
        editor = threading.Thread(target=_edit_roster, args=(formgrader, roster, stop, done))
        editor.start()
        try:
            batch = subprocess.Popen(
                coursekit + ["autograde", ASSIGNMENT, "--workers", "1", "--quiet"]
                + [a for name in BATCH for a in ("--student", name)],
                cwd=root, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True)
            served = subprocess.run(
                coursekit + ["serve", ASSIGNMENT, "--once", "--workers", "1",
                             f"--Exchange.root={ex}",
                             "--ExchangeCollect.check_owner=False"],  # one account for all
                cwd=root, env=_env(), capture_output=True, text=True, timeout=600)
            batch_log = batch.communicate(timeout=600)[0]
        finally:
            stop.set()
            editor.join(timeout=300)
        final = {s["id"]: s for s in formgrader.call("students")}
    failures = [d for d in done if not isinstance(d[2], str)]
    assert not failures, failures[:3]  # formgrader never refused a write
    last = max(r for _, r, _ in done)
    assert last >= 2 and len(done) == last * len(roster)
    assert {s: (final[s]["first_name"], final[s]["email"]) for s in roster} == {
        s: (f"First{last}", f"{s}@example.org") for s in roster}  # every last edit kept
    assert batch.returncode == 0, batch_log[-3000:]
    assert served.returncode == 0, served.stderr[-3000:]

    names = BATCH + SERVED
    status = StatusFile(root, ASSIGNMENT).read()
    assert sorted(status) == sorted(names)  # no entry lost in the status file
    results = compare_with_expected(root, ASSIGNMENT, SAMPLES, names, status)
    assert {n: r["problems"] for n, r in results.items()} == {n: [] for n in names}
    rows = read_served(root, ASSIGNMENT)
    assert sorted(r["student"] for r in rows) == sorted(SERVED)
    assert all(r["status"] == "released" and r["verdict"] == "graded" for r in rows)
    assert len(list((ex / "nn-course" / "feedback").glob("*.html"))) == len(SERVED)
    assert not (root / "gradebook.db").exists()
    report = subprocess.run(coursekit + ["report", ASSIGNMENT], cwd=root, env=_env(),
                            capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr
    data = json.loads((root / "reports" / ASSIGNMENT / "report.json").read_text())
    assert data["counts"]["graded"] == len(names)
