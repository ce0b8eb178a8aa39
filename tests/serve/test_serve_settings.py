"""``c.Serve.*`` and nbgrader's settings for the service (``coursekit.serve.settings``)."""
import pytest

from conftest import ROOT
from coursekit import course
from coursekit.course.course import Course
from coursekit.serve.settings import Serve, course_config, serve_settings


def test_does_the_command_line_override_the_course_config_nbgraders_way(tmp_path):
    config = course_config(Course(ROOT), [f"--Exchange.root={tmp_path}",
                                          "--Serve.graded_tries=2", "--Serve.period_hours=1.5"])
    settings = serve_settings(config)
    assert settings.exchange_root == tmp_path.resolve()
    assert settings.course_id == "nn-course"  # from nbgrader_config.py
    assert (settings.graded_tries, settings.period_seconds) == (2, 5400.0)


def test_are_the_defaults_those_of_the_serve_traits(tmp_path):
    settings = serve_settings(course_config(Course(ROOT), [f"--Exchange.root={tmp_path}"]))
    traits = Serve.class_traits(config=True)
    assert settings.graded_tries == traits["graded_tries"].default_value == 3
    assert settings.period_seconds == traits["period_hours"].default_value * 3600


def test_does_the_course_config_set_the_limit(tmp_path):
    root = course.copy_course(ROOT, tmp_path / "course")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f'c.Serve.graded_tries = 1\nc.Exchange.root = "{tmp_path}"\n')
    settings = serve_settings(course_config(Course(root)))
    assert (settings.graded_tries, settings.exchange_root) == (1, tmp_path.resolve())


@pytest.mark.parametrize("argv, message", [
    (["--Exchange.root"], "--Section.name=value"),
    (["--CourseDirectory.course_id="], "no course id"),
    (["--Serve.graded_tries=-1"], "graded_tries and gather_seconds must be >= 0"),
    (["--Serve.gather_seconds=-1"], "gather_seconds must be >= 0"),
])
def test_does_a_bad_setting_get_an_error_that_says_how_to_fix_it(tmp_path, argv, message):
    with pytest.raises(ValueError, match=message):
        serve_settings(course_config(Course(ROOT), [f"--Exchange.root={tmp_path}", *argv]))
