"""The service's settings: ``c.Serve.*`` in ``nbgrader_config.py`` and nbgrader's own.

``Serve`` is a traitlets ``Configurable`` like nbgrader's, so its defaults live here once and the
course sets them nbgrader's way::

    c.Serve.graded_tries = 3      # graded tries per student per period (0: no limit)
    c.Serve.period_hours = 24.0   # the period of that limit
    c.Serve.poll_seconds = 5.0    # how often the service looks at the exchange
    c.Serve.gather_seconds = 2.0  # new arrivals: wait for more submitted with them

The exchange (``c.Exchange.root``) and the course id (``c.CourseDirectory.course_id``) are
nbgrader's settings; the command line may override any setting nbgrader's way
(``--Exchange.root=DIR``), see :func:`course_config`.

Nothing is silently ignored: a ``c.Serve`` setting that :class:`Serve` does not have, a value
out of its range, and (on the command line) a section or setting that neither nbgrader nor
coursekit reads are a ``ValueError`` that names what exists ("did you mean ...").
"""
import difflib
import functools
import math
from dataclasses import dataclass
from pathlib import Path

from traitlets import Float, Integer, TraitError, validate
from traitlets.config import Config, Configurable

__all__ = ["Serve", "ServeSettings", "course_config", "serve_config", "serve_settings",
           "takes", "expected", "known_sections", "BOUNDS"]

# The range of each number of Serve: the check, its error and docs/settings.md read it here.
BOUNDS = {"graded_tries": (">=", 0), "period_hours": (">", 0), "poll_seconds": (">", 0),
          "gather_seconds": (">=", 0)}

# coursekit's modules that define Configurables (nbgrader's come from its apps).
CONFIGURABLE_MODULES = ("coursekit.serve.settings", "coursekit.isolation.settings",
                        "coursekit.engine.recovering", "coursekit.engine.outputcap",
                        "coursekit.engine.outside", "coursekit.results.hidden_tests",
                        "coursekit.results.feedbackhtml", "nbgrader.validator")


class Serve(Configurable):
    """Settings of ``coursekit serve`` (``c.Serve.*``)."""

    graded_tries = Integer(3, help="Graded tries a student gets per period (0: no limit); a "
                                   "submission over it is recorded and its feedback says when "
                                   "the next graded try is possible").tag(config=True)
    period_hours = Float(24.0, help="The period of graded_tries, in hours").tag(config=True)
    poll_seconds = Float(5.0, help="Seconds between two looks at the exchange's inbound "
                                   "folder").tag(config=True)
    gather_seconds = Float(2.0, help="When new submissions arrive, wait this long for more "
                                     "(again while more come, 4 times at most) so that "
                                     "submissions made together are graded together (0: "
                                     "never wait)").tag(config=True)

    @validate(*BOUNDS)
    def _in_range(self, proposal):
        name, value = proposal["trait"].name, proposal["value"]
        relation, bound = BOUNDS[name]
        if not math.isfinite(value) or value < bound or (relation == ">" and value == bound):
            raise TraitError(f"Serve.{name} must be {relation} {bound}, not {value!r}")
        return value


def takes(name):
    """What ``c.Serve.<name>`` takes, in words: ``"a whole number >= 0"``."""
    trait = Serve.class_traits(config=True)[name]
    kind = {Integer: "a whole number", Float: "a number"}.get(type(trait), trait.info())
    return kind + (" {} {}".format(*BOUNDS[name]) if name in BOUNDS else "")


def expected(name):
    """:func:`takes` and the default: ``"a whole number >= 0 (default 3)"``."""
    return f"{takes(name)} (default {Serve.class_traits()[name].default_value!r})"


def _unknown(setting, known, what):
    """The message for ``setting`` (``"Serve.graded_trys"``), not one of ``known``."""
    close = difflib.get_close_matches(setting, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    names = sorted(known)
    listed = ", ".join(names[:12]) + (f" ... ({len(names)} in all; docs/settings.md)"
                                      if len(names) > 12 else "")
    return f"{setting} is not {what}: {hint}known: {listed}"


@functools.lru_cache(maxsize=1)
def known_sections():
    """``{section: {setting: trait}}`` of every section nbgrader's apps and coursekit read.

    The classes are the Configurables of nbgrader's apps (``NbGraderApp``'s
    ``all_configurable_classes``) and of coursekit (:data:`CONFIGURABLE_MODULES`); a section is
    any class in their MRO (``Exchange``, ``NotebookClient``...) with settings, and its settings
    are the traits of every class that reads it (a subclass reads its parents' sections too).
    """
    import importlib

    from nbgrader.apps import NbGraderApp

    for module in CONFIGURABLE_MODULES:
        importlib.import_module(module)
    classes, todo = set(NbGraderApp().all_configurable_classes()), [Configurable]
    while todo:  # and every Configurable that nbgrader or coursekit defines
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.split(".")[0] in ("nbgrader", "coursekit", "usefuns"):
                classes.add(sub)
    sections = {}
    for cls in classes:
        traits = cls.class_traits(config=True)
        for base in cls.mro():
            if traits and isinstance(base, type) and issubclass(base, Configurable):
                for name, trait in traits.items():
                    sections.setdefault(base.__name__, {}).setdefault(name, trait)
    return sections


def _check_sections(argv_config):
    """Refuse a section, setting or value of the command line that nothing reads or takes."""
    from traitlets.config.loader import DeferredConfigString

    sections = known_sections()
    for section, values in argv_config.items():
        if section not in sections:
            raise ValueError(_unknown(f"--{section}", [f"--{s}" for s in sections],
                                      "a section nbgrader or coursekit reads")
                             + " (write --Section.name=value, e.g. --Exchange.root=DIR)")
        for name, value in values.items():
            trait = sections[section].get(name)
            if trait is None:
                raise ValueError(_unknown(f"--{section}.{name}",
                                          [f"--{section}.{n}" for n in sections[section]],
                                          f"a setting of {section}"))
            if isinstance(value, DeferredConfigString):
                try:
                    trait.validate(None, trait.from_string(str(value)))
                except (TraitError, ValueError):
                    takes = expected(name) if section == "Serve" else trait.info()
                    raise ValueError(f"--{section}.{name}={value} is not valid: it takes "
                                     f"{takes}") from None


def serve_config(config):
    """The :class:`Serve` of ``config`` (a traitlets ``Config``), every ``c.Serve`` setting
    checked.

    Raises:
        ValueError: a setting :class:`Serve` does not have (the message names those it has,
            the closest first), or a value it cannot take (the message says what it takes).
    """
    known = Serve.class_trait_names(config=True)
    for name, value in (config.get("Serve") or {}).items():
        if isinstance(value, bool):  # True is an int to Python, not a number of tries
            raise ValueError(f"c.Serve.{name} = {value!r} is not valid: it takes "
                             f"{expected(name)}")
        if name not in known:
            raise ValueError(_unknown(f"c.Serve.{name}", [f"c.Serve.{n}" for n in known],
                                      "a setting of coursekit serve") + " (docs/settings.md)")
        try:
            Serve(config=Config({"Serve": {name: value}}))
        except TraitError:
            shown = repr(str(value)) if isinstance(value, str) else repr(value)
            raise ValueError(f"c.Serve.{name} = {shown} is not valid: it takes "
                             f"{expected(name)}") from None
    return Serve(config=config)


@dataclass(frozen=True)
class ServeSettings:
    """Everything one pass of the service needs to know, read once.

    Attributes:
        exchange_root: nbgrader's exchange folder (``Exchange.root``).
        course_id: the course's id in the exchange (``CourseDirectory.course_id``).
        graded_tries: graded tries per student per period (0: no limit).
        period_seconds: the period of that limit, in seconds.
        poll_seconds: seconds between two passes of a long-running service.
        gather_seconds: how long to wait for more once new submissions arrive.
        groupshared: ``CourseDirectory.groupshared`` (exchange folders group-writable).
        check_owner: nbgrader's ``ExchangeCollect.check_owner``: refuse a submission whose
            inbound folder another account owns than the student it names
            (:mod:`coursekit.serve.admission`); False where students share one account.
    """
    exchange_root: Path
    course_id: str
    graded_tries: int = 3
    period_seconds: float = 24 * 3600.0
    poll_seconds: float = 5.0
    gather_seconds: float = 2.0
    groupshared: bool = False
    check_owner: bool = True


def course_config(course, argv=()):
    """The course's ``nbgrader_config.py`` merged with nbgrader-style ``argv``
    (``["--Exchange.root=/srv/x", "--Serve.graded_tries=2"]``), as a new ``Config``.

    Raises:
        ValueError: an argument is not of the form ``--Section.name=value``, or names a
            section or setting that neither nbgrader nor coursekit reads (did you mean ...).
    """
    from traitlets.config import Config
    from traitlets.config.loader import KVArgParseConfigLoader

    for arg in argv:
        if not (arg.startswith("--") and "." in arg.split("=")[0] and "=" in arg):
            raise ValueError(f"{arg!r} is not an nbgrader setting: write it as "
                             f"--Section.name=value, e.g. --Exchange.root=/srv/exchange")
    merged = Config()
    merged.merge(course.config)
    sections = known_sections()
    for section in course.config:  # another tool's section may be there; a typo of ours not
        close = difflib.get_close_matches(section, list(sections), n=1, cutoff=0.8)
        if section not in sections and close:
            raise ValueError(f"c.{section} in {course.root / 'nbgrader_config.py'} is not a "
                             f"section nbgrader or coursekit reads: did you mean c.{close[0]}?")
    if argv:
        given = KVArgParseConfigLoader(list(argv)).load_config()
        _check_sections(given)
        merged.merge(given)
    return merged


def serve_settings(config):
    """:class:`ServeSettings` from a merged config (:func:`course_config`).

    Raises:
        ValueError: no course id, or a ``c.Serve`` setting unknown or out of range
            (:func:`serve_config`).
        FileNotFoundError: the exchange folder does not exist.
    """
    from nbgrader.exchange.default import Exchange

    serve = serve_config(config)  # the settings first, then the folders they name
    from nbgrader.coursedir import CourseDirectory

    course_id = CourseDirectory(config=config).course_id  # a command-line value as a str
    if not course_id:
        raise ValueError("no course id: set c.CourseDirectory.course_id in nbgrader_config.py "
                         "or pass --CourseDirectory.course_id=ID")
    root = Path(Exchange(config=config).root)
    if not root.is_dir():
        raise FileNotFoundError(f"the exchange {root} does not exist: set c.Exchange.root in "
                                f"the course's nbgrader_config.py (or pass --Exchange.root=DIR) "
                                f"to the folder the students' Jupyter uses, and create it "
                                f"(README, 'A term on JupyterHub')")
    if not (root / course_id).is_dir():
        there = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        raise FileNotFoundError(f"the exchange {root} has no course {course_id!r} (courses "
                                f"there: {', '.join(there) or 'none'}): correct "
                                f"c.CourseDirectory.course_id, or release the assignment first "
                                f"(nbgrader release_assignment makes the course's folders)")
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeCollect

    # read through nbgrader's own traits: a command-line value is a string until a trait reads it
    # (bool("False") is True)
    return ServeSettings(root.resolve(), course_id, serve.graded_tries,
                         serve.period_hours * 3600.0, serve.poll_seconds, serve.gather_seconds,
                         CourseDirectory(config=config).groupshared,
                         ExchangeCollect(config=config).check_owner)
