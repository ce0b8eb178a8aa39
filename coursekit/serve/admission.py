"""Which submissions the service takes, and the time it judges them by.

Everything in an inbound folder was written by the student: its name (``<student>+<assignment>
+<timestamp>+<random>``), ``timestamp.txt``, the files. A student can therefore claim to be
someone else (``nbgrader submit --student=bob``, or renaming the folder) and write any timestamp,
to spend another student's graded tries, or to move their own tries out of the window of
``c.Serve.graded_tries``, or to look on time. The service decides on what the student cannot
forge:

- **Who**: the owner of the inbound folder (its uid, set by the kernel when the student's
  ``nbgrader submit`` created it). With nbgrader's ``c.ExchangeCollect.check_owner`` (True by
  default; False where every student runs as one account, e.g. containers sharing a uid) a
  folder whose owner is not the student it names is ``refused``: not graded, a notice says why,
  and the service's log warns (nbgrader's own collect only warns: "cheating attempt?").
- **When**: the folder's ``st_ctime``, the last time its entries or mode changed (``nbgrader
  submit`` ends with a ``chmod`` of it, seconds after its timestamp). No user can set a ctime
  back (``utime`` sets only atime and mtime), so a student's change to the folder can only make
  it later. Graded tries, superseding and the due date all use this arrival time. A
  ``timestamp.txt`` more than :data:`STAMP_TOLERANCE_S` away from it is kept but flagged (the
  log and the report say so): nbgrader's final ``collect`` and its late penalty trust that file.
- **Well formed**: a name nbgrader could have made, whose timestamp parses and equals
  ``timestamp.txt`` (``autograde`` records the file; the service finds the grade by the name's),
  else ``refused``.
- **On time**: arrived after the assignment's due date in the gradebook (``nbgrader db assignment
  add ASSIGNMENT --duedate=...`` or formgrader; none: no due date) it is ``late``: recorded,
  not graded (the instructor's final batch decides), a notice says so.
"""
import pwd
from datetime import timezone

__all__ = ["STAMP_TOLERANCE_S", "owner_name", "stamp_problem", "stamp_skew", "due_date",
           "refusal", "lateness"]

# timestamp.txt and the folder's arrival differ by the copy's seconds; a shared exchange on NFS
# adds the clocks' skew (NTP keeps it under a second). Five minutes flags only what was forged.
STAMP_TOLERANCE_S = 300.0


def owner_name(uid):
    """The account name of ``uid`` (``"uid 1234"`` when it has none)."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def stamp_problem(name_stamp, file_stamp):
    """Why the timestamps of a submission are not nbgrader's, or None.

    Args:
        name_stamp: the timestamp in the inbound folder's name.
        file_stamp: the text of its ``timestamp.txt`` (stripped).
    """
    from nbgrader.utils import parse_utc

    try:
        parse_utc(name_stamp)
    except (ValueError, OverflowError, TypeError):
        return (f"its name's timestamp {name_stamp[:60]!r} is not one nbgrader writes; submit "
                f"again with the Assignments tab or nbgrader submit")
    if file_stamp != name_stamp:
        return (f"its timestamp.txt ({file_stamp[:60]!r}) is not the timestamp nbgrader gave it "
                f"({name_stamp}); submit again with the Assignments tab or nbgrader submit, and "
                f"change nothing in the exchange")
    return None


def stamp_skew(name_stamp, arrived):
    """Seconds from the submission's arrival to its claimed timestamp (negative: it claims an
    earlier time), or None when the timestamp does not parse."""
    from nbgrader.utils import parse_utc

    try:
        claimed = parse_utc(name_stamp).replace(tzinfo=timezone.utc).timestamp()
    except (ValueError, OverflowError, TypeError):
        return None
    return claimed - arrived


def due_date(gradebook_url, assignment_id):
    """The assignment's due date in the gradebook, in seconds since the epoch, or None (no
    gradebook yet, no such assignment, or no due date set)."""
    from nbgrader.api import Gradebook, MissingEntry

    from coursekit.course import gradebook

    if not gradebook.exists(gradebook_url):
        return None
    with Gradebook(gradebook_url) as gb:
        try:
            due = gb.find_assignment(assignment_id).duedate
        except MissingEntry:
            return None
    return None if due is None else due.replace(tzinfo=timezone.utc).timestamp()


def refusal(inbound, check_owner):
    """Why the service refuses ``inbound`` (an :class:`~coursekit.serve.inbox.Inbound`), or
    None: its timestamps are not nbgrader's, or (with ``check_owner``) its folder belongs to
    another account than the student it names."""
    problem = stamp_problem(inbound.timestamp, inbound.stamp_file)
    if problem:
        return problem
    if check_owner and inbound.owner != inbound.student:
        return (f"it was submitted by the account {inbound.owner!r}, not by {inbound.student!r} "
                f"(nbgrader submit names the student after the account that runs it); submit "
                f"from your own account")
    return None


def lateness(arrived, due):
    """Seconds ``arrived`` is after ``due`` (both in seconds since the epoch), or None when it
    is on time or there is no due date."""
    if due is None or arrived <= due:
        return None
    return arrived - due
