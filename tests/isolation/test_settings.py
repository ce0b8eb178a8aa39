"""coursekit.isolation.settings: the sandbox's settings as a traitlets Configurable."""
import pytest
from traitlets.config import Config

from conftest import ROOT
from coursekit.isolation.settings import Sandbox, parse_size, sandbox_limits, settings_table


def test_are_sizes_parsed_with_units():
    assert parse_size("4G") == 4 * 1024 ** 3
    assert parse_size("512M") == 512 * 1024 ** 2
    assert parse_size("1.5K") == 1536
    assert parse_size(2048) == 2048
    with pytest.raises(ValueError, match="unit K, M, G or T"):
        parse_size("lots")


def test_do_the_config_and_then_the_overrides_set_the_limits():
    config = Config()
    config.Sandbox.memory = "2G"
    config.Sandbox.processes = 64
    limits = sandbox_limits(config, processes=32, cpu_seconds=None)
    assert limits.memory == 2 * 1024 ** 3
    assert limits.processes == 32  # the command line wins over the file
    assert limits.cpu_seconds == Sandbox.class_traits()["cpu_seconds"].default_value


@pytest.mark.parametrize("overrides, phrase", [
    ({"memroy": "1G"}, "unknown sandbox setting"),
    ({"processes": -1}, "positive whole number"),
    ({"memory": "lots"}, "unit K, M, G or T"),
    ({"enabled": "yes"}, "enabled"),
])
def test_is_an_unknown_or_bad_setting_refused_clearly(overrides, phrase):
    with pytest.raises(ValueError, match=phrase):
        sandbox_limits(None, **overrides)


def test_is_the_course_config_read_for_the_defaults():
    from coursekit.course.course import Course

    limits = Course(ROOT).sandbox_limits()
    assert limits.memory == parse_size(Course(ROOT).config.Sandbox.memory)
    assert limits.enabled == "auto"


def test_is_docs_settings_md_the_table_the_traits_make():
    """docs/settings.md is generated: ``python -m coursekit.isolation.settings``."""
    text = (ROOT / "docs" / "settings.md").read_text()
    assert settings_table() in text
    for name in Sandbox.class_trait_names(config=True):
        assert f"c.Sandbox.{name}" in text
