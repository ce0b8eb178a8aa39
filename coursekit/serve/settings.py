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
"""
from dataclasses import dataclass
from pathlib import Path

from traitlets import Float, Integer
from traitlets.config import Configurable

__all__ = ["Serve", "ServeSettings", "course_config", "serve_settings"]


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
        ValueError: an argument is not of the form ``--Section.name=value``.
    """
    from traitlets.config import Config
    from traitlets.config.loader import KVArgParseConfigLoader

    for arg in argv:
        if not (arg.startswith("--") and "." in arg.split("=")[0] and "=" in arg):
            raise ValueError(f"{arg!r} is not an nbgrader setting: write it as "
                             f"--Section.name=value, e.g. --Exchange.root=/srv/exchange")
    merged = Config()
    merged.merge(course.config)
    if argv:
        merged.merge(KVArgParseConfigLoader(list(argv)).load_config())
    return merged


def serve_settings(config):
    """:class:`ServeSettings` from a merged config (:func:`course_config`).

    Raises:
        ValueError: no course id, or a limit out of range.
        FileNotFoundError: the exchange folder does not exist.
    """
    from nbgrader.exchange.default import Exchange

    course_id = config.CourseDirectory.get("course_id", "")
    if not course_id:
        raise ValueError("no course id: set c.CourseDirectory.course_id in nbgrader_config.py "
                         "or pass --CourseDirectory.course_id=ID")
    root = Path(Exchange(config=config).root)
    if not root.is_dir():
        raise FileNotFoundError(f"the exchange {root} does not exist: set c.Exchange.root in "
                                f"the course's nbgrader_config.py (or pass --Exchange.root=DIR) "
                                f"to the folder the students' Jupyter uses, and create it "
                                f"(README, 'A term on JupyterHub')")
    serve = Serve(config=config)
    if serve.graded_tries < 0 or serve.period_hours <= 0 or serve.poll_seconds <= 0 \
            or serve.gather_seconds < 0:
        raise ValueError(f"c.Serve.graded_tries and gather_seconds must be >= 0 (got "
                         f"{serve.graded_tries}, {serve.gather_seconds}), period_hours and "
                         f"poll_seconds > 0 (got {serve.period_hours}, {serve.poll_seconds})")
    return ServeSettings(root.resolve(), course_id, serve.graded_tries,
                         serve.period_hours * 3600.0, serve.poll_seconds, serve.gather_seconds,
                         bool(config.CourseDirectory.get("groupshared", False)),
                         bool(config.ExchangeCollect.get("check_owner", True)))
