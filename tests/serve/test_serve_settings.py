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


@pytest.mark.parametrize("groupshared, mode", [(False, 0o711), (True, 0o2771)])
def test_can_no_student_list_the_feedback_folder_the_service_makes(tmp_path, groupshared, mode):
    import os
    import stat

    from coursekit.serve.inbox import feedback_folder
    from coursekit.serve.settings import ServeSettings

    settings = ServeSettings(tmp_path, "nn-course", groupshared=groupshared)
    folder = feedback_folder(settings)
    assert stat.S_IMODE(folder.stat().st_mode) == mode  # as nbgrader's release_feedback
    os.chmod(folder, 0o755)  # made listable by an older version: repaired
    assert stat.S_IMODE(feedback_folder(settings).stat().st_mode) == mode


def test_does_a_missing_exchange_say_where_to_set_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"set c.Exchange.root in the course's"):
        serve_settings(course_config(Course(ROOT), [f"--Exchange.root={tmp_path / 'none'}"]))
