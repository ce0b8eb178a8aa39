"""nbgrader's exchange seen from the service: new submissions in, feedback out.

``nbgrader submit`` puts each submission in ``<Exchange.root>/<course>/inbound/`` as a folder
``<student>+<assignment>+<timestamp>+<random>`` holding the student's files, ``timestamp.txt``
and ``submission_secret.txt``. ``fetch_feedback`` finds a submission's feedback at
``<Exchange.root>/<course>/feedback/<md5(secret + notebook name)>.html``. Collecting and
releasing feedback use nbgrader's own exchange classes (``ExchangeCollect``,
``ExchangeReleaseFeedback``), in this process, with the course's config.
"""
import html
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Inbound", "list_inbound", "collect_one", "release_feedback", "release_notice",
           "feedback_folder"]


@dataclass(frozen=True)
class Inbound:
    """One submission in the exchange: ``name`` is its inbound folder's name."""
    name: str
    student: str
    timestamp: str
    path: Path


def _inbound_folder(settings):
    return settings.exchange_root / settings.course_id / "inbound"


def list_inbound(settings, assignment_id):
    """The submissions of ``assignment_id`` in the exchange's inbound folder, oldest first.

    A folder that is still being written (no ``timestamp.txt`` yet: nbgrader writes it last)
    is left for the next look.
    """
    from nbgrader.utils import parse_utc

    folder = _inbound_folder(settings)
    found = []
    for path in folder.glob(f"*+{assignment_id}+*") if folder.is_dir() else ():
        parts = path.name.rsplit("+", 3)
        if len(parts) != 4 or parts[1] != assignment_id or not (path / "timestamp.txt").is_file():
            continue
        found.append(Inbound(path.name, parts[0], parts[2], path))
    return sorted(found, key=lambda s: (parse_utc(s.timestamp), s.name))


def _coursedir(course, config, assignment_id, student_id):
    from nbgrader.coursedir import CourseDirectory

    coursedir = CourseDirectory(config=config)
    coursedir.root = str(course.root)
    coursedir.db_url = course.gradebook_url  # absolute: this process runs anywhere
    coursedir.assignment_id = assignment_id
    coursedir.student_id = student_id
    return coursedir


def _run(exchange):
    from nbgrader.exchange import ExchangeError

    try:
        exchange.start()
    except ExchangeError as err:
        raise RuntimeError(f"nbgrader's exchange: {err}") from None


def collect_one(course, config, assignment_id, inbound):
    """Collect exactly the submission ``inbound`` into ``submitted/<student>/<assignment>/``
    with nbgrader's ``ExchangeCollect`` (which on its own takes each student's newest).

    Raises:
        RuntimeError: nbgrader's exchange refused (its message says why).
    """
    from nbgrader.auth import Authenticator
    from nbgrader.exchange.default import ExchangeCollect

    class CollectOne(ExchangeCollect):
        def init_src(self):
            super().init_src()
            self.src_records = [self._path_to_record(str(inbound.path))]

    dest = course.submitted(inbound.student, assignment_id)
    if dest.exists():
        shutil.rmtree(dest)  # a copy half made by a killed service must not pass as collected
    coursedir = _coursedir(course, config, assignment_id, inbound.student)
    exchange = CollectOne(coursedir=coursedir, authenticator=Authenticator(config=config),
                          config=config, update=True)
    _run(exchange)
    return dest


def release_feedback(course, config, assignment_id, student_id):
    """``nbgrader release_feedback`` of one student's ``feedback/<student>/<assignment>/``."""
    from nbgrader.auth import Authenticator
    from nbgrader.exchange.default import ExchangeReleaseFeedback

    coursedir = _coursedir(course, config, assignment_id, student_id)
    exchange = ExchangeReleaseFeedback(coursedir=coursedir,
                                       authenticator=Authenticator(config=config),
                                       config=config)
    _run(exchange)


NOTICE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
<h1>{title}</h1>
<p>{message}</p>
<p style="color: #555">Submission of {student}, {timestamp}.</p>
</body></html>
"""


def feedback_folder(settings):
    """``<exchange>/<course>/feedback`` with nbgrader's mode (``release_feedback``): 0711, so
    that a student can read a page whose name (a hash of their submission's secret) they know,
    but not list the others; group-writable and setgid with ``CourseDirectory.groupshared``.
    An existing folder that others can list is repaired."""
    mode = 0o711 | (0o2060 if settings.groupshared else 0)
    dest = settings.exchange_root / settings.course_id / "feedback"
    if not dest.is_dir():
        dest.mkdir(parents=True)
        os.chmod(dest, mode)
    elif dest.stat().st_mode & (0o004 if settings.groupshared else 0o044):  # listable
        os.chmod(dest, mode)
    return dest


def release_notice(settings, inbound, title, message):
    """Put a one-paragraph page where ``fetch_feedback`` looks for the feedback of ``inbound``
    (every notebook of it), as ``release_feedback`` would; return the pages written.

    Used for submissions the service does not grade (over the limit, superseded, failed): the
    student learns why from the Assignments tab, like any feedback.
    """
    from nbgrader.utils import notebook_hash

    secret_file = inbound.path / "submission_secret.txt"
    if not secret_file.is_file():
        return []
    secret = secret_file.read_text()
    dest = feedback_folder(settings)
    page = NOTICE.format(title=html.escape(title), message=html.escape(message),
                         student=html.escape(inbound.student),
                         timestamp=html.escape(inbound.timestamp))
    written = []
    for notebook in sorted(inbound.path.glob("*.ipynb")):
        target = dest / f"{notebook_hash(secret=secret, notebook_id=notebook.stem)}.html"
        tmp = target.with_name(target.stem + "-tmp.html")
        tmp.write_text(page)
        os.chmod(tmp, 0o644)
        tmp.replace(target)  # atomic, as release_feedback's move
        written.append(target)
    return written
