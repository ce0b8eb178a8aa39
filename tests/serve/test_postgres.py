"""The gradebook on a real PostgreSQL server (``c.CourseDirectory.db_url``), written at once by
``coursekit serve`` and a ``coursekit autograde`` batch.

The server is started by the test (``tests/postgres.py``: Debian's ``postgresql``, ``initdb`` in a
temporary folder, a free port on 127.0.0.1); without it the tests are skipped loudly.
"""
import json
import os
import subprocess
import sys

import pytest

from conftest import ASSIGNMENT, ROOT, SAMPLES
from coursekit import course
from coursekit.course.course import Course
from coursekit.course.status import StatusFile
from coursekit.serve.status import read_served
from coursekit.term import exchange, samples
from coursekit.term.demo import compare_with_expected, release
from postgres import create_database, postgres_server

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


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSEKIT_")}
    if "COURSEKIT_REQUIRE_SANDBOX" in os.environ:
        env["COURSEKIT_REQUIRE_SANDBOX"] = os.environ["COURSEKIT_REQUIRE_SANDBOX"]
    return dict(env, COURSEKIT_CELL_TIMEOUT="60")


@pytest.mark.slow
def test_do_a_batch_and_the_service_writing_at_once_lose_nothing(tmp_path, server):
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
    batch = subprocess.Popen(
        coursekit + ["autograde", ASSIGNMENT, "--workers", "1", "--quiet"]
        + [a for name in BATCH for a in ("--student", name)],
        cwd=root, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    served = subprocess.run(coursekit + ["serve", ASSIGNMENT, "--once", "--workers", "1",
                                         f"--Exchange.root={ex}"],
                            cwd=root, env=_env(), capture_output=True, text=True, timeout=600)
    batch_log = batch.communicate(timeout=600)[0]
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
