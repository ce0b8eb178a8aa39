"""nbgrader's exchange seen from the service: new submissions in, feedback out.

``nbgrader submit`` puts each submission in ``<Exchange.root>/<course>/inbound/`` as a folder
``<student>+<assignment>+<timestamp>+<random>`` holding the student's files, ``timestamp.txt``
and ``submission_secret.txt``. ``fetch_feedback`` finds a submission's feedback at
``<Exchange.root>/<course>/feedback/<md5(secret + notebook name)>.html``. Collecting and
releasing feedback use nbgrader's own exchange classes (``ExchangeCollect``,
``ExchangeReleaseFeedback``), in this process, with the course's config.

An inbound folder is its student's (nbgrader makes it 0777, its files theirs) and may change
after ``submit``: links, named pipes, a ``timestamp.txt`` that is a link to an instructor's file,
a subfolder swapped for a link while it is copied. nbgrader's collect copies with
``shutil.copytree``, which follows links (the service, root, would copy whatever a link names
into ``submitted/``, where the kernel could print it) and never ends on a link to
``/dev/zero``. Every read here is therefore of regular files only, opened with ``O_NOFOLLOW``,
and collecting copies with :func:`coursekit.serve.safecopy.copy_submission` (relative to open
folder handles, limits counted while copying, nothing changed after the submission arrived).
"""
import html
import os
import shutil
import stat
import time
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path

__all__ = ["Inbound", "read_small", "student_uid", "open_inbound", "shown", "list_inbound", "collect_one", "collect_all",
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
        identity: the folder's ``(st_dev, st_ino)`` when it was listed: every later read goes
            through a handle opened on that very folder (:func:`open_inbound`).
    """
    name: str
    student: str
    timestamp: str
    path: Path
    owner: str = ""
    arrived: float = 0.0
    stamp_file: str = ""
    problem: str = None
    identity: tuple = None


def read_small(path, limit=4096, dir_fd=None):
    """The text of the regular file ``path`` (at most ``limit`` bytes; relative to the folder
    handle ``dir_fd`` if given), never following a link nor blocking on a pipe.

    Raises:
        OSError: ``path`` is missing, a link or not a regular file.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                 dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{Path(path).name} is not a regular file")
        return os.read(fd, limit).decode("utf-8", errors="replace")
    finally:
        os.close(fd)


def student_uid(student):
    """The uid of the account named ``student`` (every file of their submission must be
    theirs).

    Raises:
        OSError: no such account (then no file can be theirs).
    """
    import pwd

    try:
        return pwd.getpwnam(student).pw_uid
    except KeyError:
        raise OSError(f"there is no account {student!r}; submit from your own account") from None


def open_inbound(inbound):
    """A handle (fd) on the folder of ``inbound`` itself, opened without following a link and
    checked to be the folder that was listed; the caller closes it.

    Raises:
        OSError: it is gone, a link, or another folder now has its name.
    """
    fd = os.open(inbound.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    info = os.fstat(fd)
    if inbound.identity is not None and (info.st_dev, info.st_ino) != tuple(inbound.identity):
        os.close(fd)
        raise OSError(f"{inbound.name} was replaced after it was listed")
    return fd


# a folder younger than this whose timestamp.txt or secret is missing or empty is still being
# written by nbgrader submit; older, it is refused
WRITING_S = 60.0


def _inbound_folder(settings):
    return settings.exchange_root / settings.course_id / "inbound"


def _name_problem(name):
    """Why an inbound folder's name is not one nbgrader submit makes from a student id, or
    None: bytes that are not UTF-8 (kept by Python as surrogates), control characters."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "its name is not valid text (UTF-8)"
    if not name.isprintable():
        return "its name holds control characters"
    return None


def _student_problem(student):
    """Why a claimed student id cannot name a folder of its own (``submitted/<student>``), or
    None: empty, ``.`` or ``..`` (which would map onto the assignment's folders)."""
    if student in ("", ".", "..") or student.startswith("."):
        return f"its student id {student!r} is not one nbgrader gives"
    return None


def shown(text):
    """``text`` (student-made) safe to write as UTF-8 and print: undecodable bytes escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


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
        common = dict(owner=owner_name(info.st_uid), arrived=info.st_ctime,
                      identity=(info.st_dev, info.st_ino))
        problem = _name_problem(path.name) or _student_problem(parts[0])
        if not problem and not stat.S_ISDIR(info.st_mode):
            problem = "it is not a folder nbgrader submit made"
        if problem:
            found.append(Inbound(path.name, parts[0], parts[2], path, **common, problem=problem))
            continue
        inbound = Inbound(path.name, parts[0], parts[2], path, **common)
        try:
            fd = open_inbound(inbound)
        except OSError:
            continue  # gone or replaced since: the next look sees what is there
        try:
            stamp = read_small("timestamp.txt", 256, dir_fd=fd).strip()
            secret = read_small("submission_secret.txt", 256, dir_fd=fd)
        except FileNotFoundError:
            if time.time() - info.st_ctime < WRITING_S:
                continue  # still being written (nbgrader writes these two last)
            problem = "its timestamp.txt or submission_secret.txt is missing"
        except OSError as err:
            problem = f"its timestamp.txt or submission_secret.txt cannot be read " \
                      f"({err.strerror or err})"
        else:
            if not secret.strip():
                if time.time() - info.st_ctime < WRITING_S:
                    continue
                problem = "its submission_secret.txt is empty"
        finally:
            os.close(fd)
        found.append(Inbound(path.name, parts[0], parts[2], path, **common,
                             stamp_file="" if problem else stamp, problem=problem))
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


def copy_limits(coursedir):
    """:class:`~coursekit.serve.safecopy.CopyLimits` from nbgrader's ``CourseDirectory``
    (``max_dir_size`` and ``max_file_size`` in kB, ``ignore``, ``include``) and the grader's
    packing limits (``coursekit.engine.workspace``)."""
    from coursekit.engine.workspace import MAX_DEPTH, MAX_FILES
    from coursekit.serve.safecopy import CopyLimits

    return CopyLimits(max_bytes=1000 * coursedir.max_dir_size,
                      max_file_bytes=1000 * coursedir.max_file_size, max_files=MAX_FILES,
                      max_depth=MAX_DEPTH, ignore=tuple(coursedir.ignore),
                      include=tuple(coursedir.include))


def _safe_collect(rules):
    """nbgrader's ``ExchangeCollect`` whose copy is :func:`~coursekit.serve.safecopy.
    copy_submission` (module docstring of :mod:`coursekit.serve.safecopy`): ``rules`` maps an
    inbound folder's name to ``(owner uid or None, not_after or None, (st_dev, st_ino) or
    None)``. A refused or failed
    copy costs that student only: their folder is removed and the reason kept in ``failed``
    (``{student: reason}``); nbgrader's selection, update rule and groupshared modes stay."""
    from nbgrader.exchange.default import ExchangeCollect

    from coursekit.serve.safecopy import copy_submission

    class SafeCollect(ExchangeCollect):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.failed = {}
            self.left_out = {}

        def do_copy(self, src, dest, log=None):
            name = Path(src).name
            student = name.rsplit("+", 3)[0]
            owner_uid, not_after, identity = rules.get(name, (None, None, None))
            try:
                copied = copy_submission(src, dest, copy_limits(self.coursedir), owner_uid,
                                         not_after, identity)
            except Exception as err:  # noqa: BLE001 - this student only, never the collect
                shutil.rmtree(dest, ignore_errors=True)  # nothing half collected is graded
                self.failed[student] = str(err) if isinstance(err, OSError) else \
                    f"{type(err).__name__}: {err}"
                self.log.error("not collected: %r: %s", name, self.failed[student])
                return
            if copied.left_out:
                self.left_out[student] = copied.left_out
            if self.coursedir.groupshared:
                for dirname, _, filenames in os.walk(dest):
                    os.chmod(dirname, (os.stat(dirname).st_mode | 0o2770) & 0o2777)
                    for filename in filenames:
                        full = os.path.join(dirname, filename)
                        os.chmod(full, (os.stat(full).st_mode | 0o660) & 0o777)

    return SafeCollect


# the copy of a served submission may see entries changed up to this long after its arrival:
# nbgrader submit's last chmods can follow the moment the service saw the folder
ARRIVAL_GRACE_S = 60.0


def collect_one(course, config, assignment_id, inbound, check_owner=True, not_after=None):
    """Collect exactly the submission ``inbound`` into ``submitted/<student>/<assignment>/``
    with nbgrader's ``ExchangeCollect`` (which on its own takes each student's newest), copied
    by :func:`~coursekit.serve.safecopy.copy_submission`: no link followed, limits while
    copying, every entry its owner's (``check_owner``), none changed after ``not_after``
    (default: its arrival plus :data:`ARRIVAL_GRACE_S`).

    Raises:
        RuntimeError: nbgrader's exchange refused (its message says why).
        OSError: the copy was refused (the message says why, for the student).
    """
    from nbgrader.auth import Authenticator

    uid = student_uid(inbound.student) if check_owner else None
    limit = not_after if not_after is not None else inbound.arrived + ARRIVAL_GRACE_S

    class CollectOne(_safe_collect({inbound.name: (uid, limit, inbound.identity)})):
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
    with when it was last changed; copied by :func:`~coursekit.serve.safecopy.copy_submission`
    (no link followed, limits while copying, with ``before_duedate`` nothing changed after the
    due date).

    nbgrader's own selection stops the whole collect on one folder name it cannot parse, only
    warns about another account's folder and goes by the student-written timestamp alone; this
    one sets such folders aside and says so.

    Returns:
        ``{"collected": {student: (inbound folder, late seconds or None)}, "not_collected":
        {student: reason}, "set_aside": {inbound folder: reason}, "left_out": {student:
        [relative names]}}``: what was copied (the folder's ``submitted/`` copy), copies that
        failed (their ``submitted/`` folder removed), folders not considered, and links or
        files over nbgrader's ``max_file_size`` left out of a copy.

    Raises:
        RuntimeError: nbgrader's exchange refused (its message says why).
        ValueError, FileNotFoundError: no course id, no exchange (as ``serve_settings``).
    """
    from nbgrader.auth import Authenticator
    from nbgrader.utils import parse_utc

    from coursekit.serve import admission
    from coursekit.serve.safecopy import last_change
    from coursekit.serve.settings import serve_settings

    settings = serve_settings(config)
    coursedir = _coursedir(course, config, assignment_id, "*")
    limits = copy_limits(coursedir)
    set_aside, chosen, rules = {}, {}, {}
    due = admission.due_date(course.gradebook_url, assignment_id)
    for sub in list_inbound(settings, assignment_id):
        reason = sub.problem or admission.refusal(sub, settings.check_owner)
        changed = None
        uid = None
        if not reason:
            try:
                uid = student_uid(sub.student) if settings.check_owner else None
                changed = last_change(sub.path, limits, sub.identity)
            except Exception as err:  # noqa: BLE001 - this folder only
                reason = str(err)
        if not reason:
            skew = admission.stamp_skew(sub.timestamp, changed)
            if abs(skew) > admission.STAMP_TOLERANCE_S:
                reason = (f"its timestamp is {skew:+.0f} s from when it was last changed in "
                          f"the exchange (forged, changed after submitting, or the exchange "
                          f"was copied: check it and collect it by hand)")
        if reason:
            set_aside[sub.name] = reason
            continue
        stamp = parse_utc(sub.timestamp)
        record = {"username": sub.student, "filename": sub.name, "timestamp": stamp}
        on_time = due is None or changed <= due
        key = (on_time or not before_duedate, changed, sub.name)  # nbgrader's rule
        if sub.student not in chosen or key > chosen[sub.student][0]:
            chosen[sub.student] = (key, record, None if on_time else changed - due)
        rules[sub.name] = (uid, due if before_duedate and on_time and due is not None
                           else changed, sub.identity)

    class CollectAll(_safe_collect(rules)):
        def init_src(self):
            self.course_path = os.path.join(self.root, self.coursedir.course_id)
            self.inbound_path = os.path.join(self.course_path, "inbound")
            self.src_records = [record for _, record, _ in chosen.values()]

    exchange = CollectAll(coursedir=coursedir, authenticator=Authenticator(config=config),
                          config=config, update=True, before_duedate=before_duedate)
    _run(exchange)
    collected = {student: (record["filename"], late)
                 for student, (_, record, late) in chosen.items()
                 if student not in exchange.failed}
    return {"collected": collected, "not_collected": dict(exchange.failed),
            "set_aside": set_aside, "left_out": dict(exchange.left_out)}


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
    student learns why from the Assignments tab, like any feedback. The secret and the notebook
    names are read through a handle on the listed folder itself (:func:`open_inbound`): a link
    in the exchange to another student's folder must not aim a notice at that student's page.
    Nothing is written for a folder that is not one (a link), a secret that is empty or not a
    file, or names that are not text.
    """
    from nbgrader.utils import notebook_hash

    try:
        fd = open_inbound(inbound)
    except OSError:
        return []
    try:
        secret = read_small("submission_secret.txt", dir_fd=fd)
        notebooks = sorted(n for n in os.listdir(fd) if n.endswith(".ipynb"))[:20]
    except OSError:  # missing, a link or a pipe: there is no page the student could fetch
        return []
    finally:
        os.close(fd)
    if not secret.strip():
        return []
    dest = feedback_folder(settings)
    page = NOTICE.format(title=html.escape(shown(title)), message=html.escape(shown(message)),
                         student=html.escape(shown(inbound.student)),
                         timestamp=html.escape(shown(inbound.timestamp)))
    written = []
    for notebook in notebooks:
        if _name_problem(notebook):
            continue
        target = dest / f"{notebook_hash(secret=secret, notebook_id=notebook[:-6])}.html"
        tmp = target.with_name(target.stem + "-tmp.html")
        tmp.write_bytes(page.encode("utf-8"))
        os.chmod(tmp, 0o644)
        tmp.replace(target)  # atomic, as release_feedback's move
        written.append(target)
    return written
