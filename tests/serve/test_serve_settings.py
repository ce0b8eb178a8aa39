"""``c.Serve.*`` and nbgrader's settings for the service (``coursekit.serve.settings``)."""
import pytest


@pytest.fixture(autouse=True)
def exchange_course(tmp_path):
    """``tmp_path`` is the exchange, with the course's folder in it (as a release makes it)."""
    (tmp_path / "nn-course").mkdir()

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
    (["--Serve.graded_tries=-1"], r"graded_tries = '-1' is not valid: it takes a whole "
                                  r"number >= 0 \(default 3\)"),
    (["--Serve.gather_seconds=-1"], "gather_seconds = '-1' is not valid: it takes a number >= 0"),
    (["--Serve.period_hours=0"], "period_hours = '0' is not valid: it takes a number > 0"),
    (["--Serve.poll_seconds=nan"], "poll_seconds = 'nan' is not valid: it takes a number > 0"),
    (["--Serve.graded_tries=three"], "graded_tries=three is not valid: it takes a whole number"),
    (["--Execute.timeout=soon"], "--Execute.timeout=soon is not valid: it takes an int"),
])
def test_does_a_bad_setting_get_an_error_that_says_how_to_fix_it(tmp_path, argv, message):
    with pytest.raises(ValueError, match=message):
        serve_settings(course_config(Course(ROOT), [f"--Exchange.root={tmp_path}", *argv]))


def test_does_a_misspelt_setting_say_which_ones_exist(tmp_path):
    with pytest.raises(ValueError) as err:
        course_config(Course(ROOT), [f"--Exchange.root={tmp_path}", "--Serve.graded_trys=3"])
    assert "did you mean --Serve.graded_tries?" in str(err.value)
    for name in Serve.class_trait_names(config=True):  # every one it has, named
        assert f"--Serve.{name}" in str(err.value)
    with pytest.raises(ValueError, match="did you mean --Exchange.root?"):
        course_config(Course(ROOT), [f"--Exchange.rot={tmp_path}"])


def test_does_a_misspelt_setting_in_the_course_config_stop_the_service(tmp_path):
    """A typo in nbgrader_config.py is an error, not a setting silently left at its default."""
    root = course.copy_course(ROOT, tmp_path / "course")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f'c.Serve.graded_trys = 1\nc.Exchange.root = "{tmp_path}"\n')
    with pytest.raises(ValueError, match=r"c.Serve.graded_trys is not a setting of coursekit "
                                         r"serve: did you mean c.Serve.graded_tries\?"):
        serve_settings(course_config(Course(root)))


def test_does_a_misspelt_section_say_which_sections_exist(tmp_path):
    with pytest.raises(ValueError) as err:
        course_config(Course(ROOT), [f"--Exhange.root={tmp_path}"])
    message = str(err.value)
    assert "--Exhange is not a section nbgrader or coursekit reads: did you mean --Exchange?" \
        in message
    assert "in all; docs/settings.md" in message and len(message) < 600  # not 120 names


def test_are_the_settings_of_nbgrader_and_coursekit_sections_accepted(tmp_path):
    """Sections of nbgrader's apps, their parents' (NotebookClient) and coursekit's own."""
    argv = [f"--Exchange.root={tmp_path}", "--Sandbox.memory=2G", "--Execute.timeout=60",
            "--RecoveringExecute.max_restarts=2", "--NotebookClient.timeout=30",
            "--ExchangeCollect.check_owner=False", "--Validator.validate_all=True",
            "--HideHiddenTests.enabled=True", "--Serve.graded_tries=2"]
    config = course_config(Course(ROOT), argv)
    assert serve_settings(config).graded_tries == 2
    assert config.Sandbox.memory == "2G"


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


def test_is_docs_settings_md_what_the_generator_makes_with_every_serve_setting():
    """docs/settings.md is generated whole: ``python -m coursekit.isolation.settings``."""
    from coursekit.isolation.settings import settings_doc

    text = (ROOT / "docs" / "settings.md").read_text()
    assert text == settings_doc(), "regenerate: python -m coursekit.isolation.settings > " \
                                   "docs/settings.md"
    for name, trait in Serve.class_traits(config=True).items():
        assert f"| `c.Serve.{name}` | `{trait.default_value!r}` | {trait.help}" in text


@pytest.mark.parametrize("argv, expected", [
    ([], (False, True)),
    (["--ExchangeCollect.check_owner=False"], (False, False)),
    (["--CourseDirectory.groupshared=True", "--ExchangeCollect.check_owner=True"], (True, True)),
])
def test_are_nbgraders_switches_read_as_its_traits_read_them(tmp_path, argv, expected):
    settings = serve_settings(course_config(Course(ROOT), [f"--Exchange.root={tmp_path}", *argv]))
    assert (settings.groupshared, settings.check_owner) == expected  # "False" is not True


def test_does_a_misspelt_course_id_name_the_courses_in_the_exchange(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no course 'nn-corse' \(courses there: "
                                                r"nn-course\)"):
        serve_settings(course_config(Course(ROOT), [f"--Exchange.root={tmp_path}",
                                                    "--CourseDirectory.course_id=nn-corse"]))


@pytest.mark.parametrize("line, message", [
    ("c.Serv.graded_tries = 2", r"c.Serv in .* did you mean c.Serve\?"),
    ("c.Serve.graded_tries = True", r"c.Serve.graded_tries = True is not valid"),
])
def test_does_a_misspelt_section_or_a_switch_in_the_course_config_stop_it(tmp_path, line,
                                                                          message):
    root = course.copy_course(ROOT, tmp_path / "course")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f'{line}\nc.Exchange.root = "{tmp_path}"\n')
    with pytest.raises(ValueError, match=message):
        serve_settings(course_config(Course(root)))
