"""nbgrader's exchange seen from the service: new submissions in, feedback out.

``nbgrader submit`` puts each submission in ``<Exchange.root>/<course>/inbound/`` as a folder
``<student>+<assignment>+<timestamp>+<random>`` holding the student's files, ``timestamp.txt``
and ``submission_secret.txt``. ``fetch_feedback`` finds a submission's feedback at
``<Exchange.root>/<course>/feedback/<md5(secret + notebook name)>.html``. Collecting and
releasing feedback use nbgrader's own exchange classes (``ExchangeCollect``,
``ExchangeReleaseFeedback``), in this process, with the course's config.

An inbound folder is its student's (nbgrader makes it 0777, its files theirs) and may change
after ``submit``: links, named pipes or a ``timestamp.txt`` that is a link to an instructor's
file. nbgrader's collect copies with ``shutil.copytree``, which follows links (the service, root,
would copy whatever a link names into ``submitted/``, where the kernel could print it) and never
ends on a link to ``/dev/zero``. Every read here is therefore of regular files only, opened with
``O_NOFOLLOW``: :func:`collect_one` copies links as links (the grader's packing sets them aside,
with a note) and fails the submission on anything else that is not a folder or a regular file.
"""
import html
import os
import shutil
import stat
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path

__all__ = ["Inbound", "read_small", "list_inbound", "collect_one", "collect_all",
           "release_feedback", "release_notice", "feedback_folder"]


@dataclass(frozen=True)
class Inbound:
    """One submission in the exchange.

    Attributes:
        name: its inbound folder's name, ``<student>+<assignment>+<timestamp>+<random>``.
        student: the student the name claims.
        timestamp: the timestamp the name claims (nbgrader's format, student-written).
        path: the inbound folder.
        owner: the account that owns the folder (:func:`~coursekit.serve.admission.owner_name`).
        arrived: the folder's ``st_ctime`` (s since the epoch): when it last changed, which no
            student can set back (:mod:`coursekit.serve.admission`).
        stamp_file: the text of its ``timestamp.txt``; ``problem``: why it is not a submission
            nbgrader made (None if it could be one).
    """
    name: str
    student: str
    timestamp: str
    path: Path
    owner: str = ""
    arrived: float = 0.0
    stamp_file: str = ""
    problem: str = None


def read_small(path, limit=4096):
    """The text of the regular file ``path`` (at most ``limit`` bytes), never following a link
    nor blocking on a pipe.

    Raises:
        OSError: ``path`` is missing, a link or not a regular file.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{Path(path).name} is not a regular file")
        return os.read(fd, limit).decode("utf-8", errors="replace")
    finally:
        os.close(fd)


def _inbound_folder(settings):
    return settings.exchange_root / settings.course_id / "inbound"


def list_inbound(settings, assignment_id):
    """The submissions of ``assignment_id`` in the exchange's inbound folder, oldest first.

    A folder that is still being written (no ``timestamp.txt`` yet: nbgrader writes it last)
    is left for the next look. One that nbgrader cannot have made (a link, a ``timestamp.txt``
    that is not a regular file) has its ``problem`` set; nothing is read through a link.

    Returns:
        list of :class:`Inbound`, by arrival time (then name).
    """
    from coursekit.serve.admission import owner_name

    folder = _inbound_folder(settings)
    found = []
    for path in folder.glob(f"*+{assignment_id}+*") if folder.is_dir() else ():
        parts = path.name.rsplit("+", 3)  # nbgrader's way: a student id may hold "+"
        if len(parts) != 4 or parts[1] != assignment_id:
            continue
        try:
            info = os.lstat(path)
        except FileNotFoundError:  # removed since the listing
            continue
        common = dict(owner=owner_name(info.st_uid), arrived=info.st_ctime)
        if not stat.S_ISDIR(info.st_mode):
            found.append(Inbound(path.name, parts[0], parts[2], path, **common,
                                 problem="it is not a folder nbgrader submit made"))
            continue
        try:
            stamp = read_small(path / "timestamp.txt", 256).strip()
        except FileNotFoundError:
            continue  # still being written
        except OSError as err:
            found.append(Inbound(path.name, parts[0], parts[2], path, **common,
                                 problem=f"its timestamp.txt cannot be read ({err.strerror or err})"))
            continue
        found.append(Inbound(path.name, parts[0], parts[2], path, **common, stamp_file=stamp))
    return sorted(found, key=lambda s: (s.arrived, s.name))


def _coursedir(course, config, assignment_id, student_id):
    from nbgrader.coursedir import CourseDirectory

    from coursekit.course.commands import use_interpreter_path

    use_interpreter_path()  # nbgrader's collect makes a missing gradebook with alembic

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


def _copy_regular(src, dst):
    """``shutil.copytree``'s copy function: a regular file only, opened without following a
    link (one swapped in after the listing fails the copy instead of being followed)."""
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{Path(src).name} is not a regular file (nbgrader submit makes none)")
        with os.fdopen(os.dup(fd), "rb") as source, open(dst, "wb") as target:
            shutil.copyfileobj(source, target)
        os.chmod(dst, stat.S_IMODE(info.st_mode) & 0o777)
    finally:
        os.close(fd)
    return dst


def _safe_collect():
    """nbgrader's ``ExchangeCollect`` whose copy never follows a link (module docstring): links
    are copied as links, a pipe or other special file fails that student's copy only (its folder
    is removed and the student listed in ``failed``); nbgrader's size limit, include and ignore
    rules and groupshared modes are kept."""
    from nbgrader.exchange.default import ExchangeCollect
    from nbgrader.utils import ignore_patterns

    class SafeCollect(ExchangeCollect):
        failed = {}  # {student: reason}, set per instance in __init__

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.failed = {}

        def do_copy(self, src, dest, log=None):
            try:
                if self.get_size(src) > 1000 * self.coursedir.max_dir_size:
                    raise OSError(f"the submission is larger than c.CourseDirectory."
                                  f"max_dir_size ({self.coursedir.max_dir_size} kB)")
                shutil.copytree(src, dest, symlinks=True, copy_function=_copy_regular,
                                ignore=ignore_patterns(exclude=self.coursedir.ignore,
                                                       include=self.coursedir.include,
                                                       max_file_size=self.coursedir.max_file_size,
                                                       log=self.log))
            except OSError as err:  # shutil.Error too: this student only
                shutil.rmtree(dest, ignore_errors=True)  # nothing half collected is graded
                student = Path(src).name.rsplit("+", 3)[0]
                reason = str(err.args[0][0][2]) if isinstance(err, shutil.Error) else str(err)
                self.failed[student] = reason
                self.log.error("not collected: %s: %s", Path(src).name, reason)
                return
            if self.coursedir.groupshared:
                for dirname, _, filenames in os.walk(dest):
                    os.chmod(dirname, (os.stat(dirname).st_mode | 0o2770) & 0o2777)
                    for filename in filenames:
                        full = os.path.join(dirname, filename)
                        if not os.path.islink(full):
                            os.chmod(full, (os.stat(full).st_mode | 0o660) & 0o777)

    return SafeCollect


def collect_one(course, config, assignment_id, inbound):
    """Collect exactly the submission ``inbound`` into ``submitted/<student>/<assignment>/``
    with nbgrader's ``ExchangeCollect`` (which on its own takes each student's newest), copying
    links as links and failing on other special files (the module's docstring says why).

    Raises:
        RuntimeError: nbgrader's exchange refused (its message says why).
        OSError: the copy failed (a pipe or other special file in the folder, too large).
    """
    from nbgrader.auth import Authenticator

    class CollectOne(_safe_collect()):
        def init_src(self):
            super().init_src()
            self.src_records = [self._path_to_record(str(inbound.path))]

    dest = course.submitted(inbound.student, assignment_id)
    if dest.exists():
        shutil.rmtree(dest)  # a copy half made by a killed service must not pass as collected
    coursedir = _coursedir(course, config, assignment_id, inbound.student)
    exchange = CollectOne(coursedir=coursedir, authenticator=Authenticator(config=config),
                          config=config, update=True)
    try:
        _run(exchange)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)  # nothing half collected is graded
        raise
    if exchange.failed:
        raise OSError(next(iter(exchange.failed.values())))
    return dest


def collect_all(course, config, assignment_id, before_duedate=False):
    """``nbgrader collect --update [--before-duedate]`` for the final batch, choosing only among
    submissions the service would take (:mod:`coursekit.serve.admission`): each student's
    newest (or newest before the gradebook's due date) of the folders that nbgrader made, that
    their own account sent (with ``c.ExchangeCollect.check_owner``) and whose timestamp agrees
    with its arrival; links copied as links.

    nbgrader's own selection stops the whole collect on one folder name it cannot parse and
    only warns about another account's folder; this one sets such folders aside.

    Returns:
        ``{"not_collected": {student: reason}, "set_aside": {inbound folder: reason}}``:
        copies that failed (their ``submitted/`` folder removed) and folders not considered.

    Raises:
        RuntimeError: nbgrader's exchange refused (its message says why).
        ValueError, FileNotFoundError: no course id, no exchange (as ``serve_settings``).
    """
    from nbgrader.auth import Authenticator
    from nbgrader.utils import parse_utc

    from coursekit.serve import admission
    from coursekit.serve.settings import serve_settings

    settings = serve_settings(config)
    set_aside, chosen = {}, {}
    due = admission.due_date(course.gradebook_url, assignment_id)
    for sub in list_inbound(settings, assignment_id):
        skew = admission.stamp_skew(sub.timestamp, sub.arrived)
        reason = sub.problem or admission.refusal(sub, settings.check_owner) or (
            f"its timestamp is {skew:+.0f} s from its arrival in the exchange (forged, or the "
            f"exchange was copied: check it and collect it by hand)"
            if abs(skew) > admission.STAMP_TOLERANCE_S else None)
        if reason:
            set_aside[sub.name] = reason
            continue
        stamp = parse_utc(sub.timestamp)
        record = {"username": sub.student, "filename": sub.name, "timestamp": stamp}
        on_time = due is None or not before_duedate or \
            stamp.replace(tzinfo=timezone.utc).timestamp() <= due
        key = (on_time, stamp)  # newest on time first, else newest (nbgrader's rule)
        if sub.student not in chosen or key > chosen[sub.student][0]:
            chosen[sub.student] = (key, record)

    class CollectAll(_safe_collect()):
        def init_src(self):
            self.course_path = os.path.join(self.root, self.coursedir.course_id)
            self.inbound_path = os.path.join(self.course_path, "inbound")
            self.src_records = [record for _, record in chosen.values()]

    coursedir = _coursedir(course, config, assignment_id, "*")
    exchange = CollectAll(coursedir=coursedir, authenticator=Authenticator(config=config),
                          config=config, update=True, before_duedate=before_duedate)
    _run(exchange)
    return {"not_collected": dict(exchange.failed), "set_aside": set_aside}


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

    try:
        secret = read_small(inbound.path / "submission_secret.txt")
    except OSError:  # missing, a link or a pipe: there is no page the student could fetch
        return []
    dest = feedback_folder(settings)
    page = NOTICE.format(title=html.escape(title), message=html.escape(message),
                         student=html.escape(inbound.student),
                         timestamp=html.escape(inbound.timestamp))
    written = []
    try:
        notebooks = sorted(n for n in os.listdir(inbound.path) if n.endswith(".ipynb"))
    except OSError:
        return []
    for notebook in (Path(n) for n in notebooks[:20]):
        target = dest / f"{notebook_hash(secret=secret, notebook_id=notebook.stem)}.html"
        tmp = target.with_name(target.stem + "-tmp.html")
        tmp.write_text(page)
        os.chmod(tmp, 0o644)
        tmp.replace(target)  # atomic, as release_feedback's move
        written.append(target)
    return written
