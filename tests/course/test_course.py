"""coursekit.course: finding the course folder, and the Course object's paths and settings."""
import pytest

from conftest import ASSIGNMENT, ROOT
from coursekit import course
from coursekit.course.course import Course


def test_is_the_course_found_from_a_folder_below_it(monkeypatch):
    monkeypatch.delenv(course.ROOT_ENV, raising=False)
    assert course.find_course_root(ROOT / "source" / ASSIGNMENT) == ROOT


def test_does_the_environment_variable_win(monkeypatch, tmp_path):
    copy = course.copy_course(ROOT, tmp_path / "c")
    monkeypatch.setenv(course.ROOT_ENV, str(copy))
    assert course.find_course_root(ROOT) == copy.resolve()


def test_does_a_wrong_environment_variable_say_how_to_fix_it(monkeypatch, tmp_path):
    monkeypatch.setenv(course.ROOT_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="unset it"):
        course.find_course_root()


def test_is_a_folder_outside_any_course_refused(monkeypatch, tmp_path):
    monkeypatch.delenv(course.ROOT_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match="no course folder above"):
        course.find_course_root(tmp_path)


def test_does_the_course_object_format_every_path():
    c = Course(ROOT)
    assert c.submitted("ada", ASSIGNMENT) == ROOT / "submitted" / "ada" / ASSIGNMENT
    assert c.submitted("ada") == ROOT / "submitted" / "ada"
    assert c.autograded("ada", ASSIGNMENT) == ROOT / "autograded" / "ada" / ASSIGNMENT
    assert c.manifest(ASSIGNMENT).notebook == f"{ASSIGNMENT}.ipynb"
    assert c.status(ASSIGNMENT).path == ROOT / "coursekit_status" / f"{ASSIGNMENT}.json"


def test_is_a_folder_that_is_no_course_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a course folder"):
        Course(tmp_path)


def test_does_the_status_file_keep_every_entry_and_each_log(tmp_path):
    from coursekit.course.status import StatusFile

    status = StatusFile(tmp_path, "a1")
    assert status.read() == {}
    status.record("ada", {"status": "graded"})
    status.record("bob", {"status": "failed", "reason": "x"}, log="the end of the log")
    assert status.read() == {"ada": {"status": "graded"},
                             "bob": {"status": "failed", "reason": "x"}}
    assert (tmp_path / "coursekit_status" / "a1" / "bob.log").read_text() == "the end of the log"
