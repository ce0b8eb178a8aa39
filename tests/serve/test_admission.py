"""What the service takes from the exchange (``coursekit.serve.admission`` and ``inbox``).

Inbound folders are made here as ``nbgrader submit`` makes them (its name format, timestamp
format, ``timestamp.txt``, ``submission_secret.txt``, mode 0777), then changed the ways a
student can change their own folder after submitting. Nothing here grades: every submission is
refused, late or over the limit, so a pass runs without a cluster.
"""
import os
import stat
import time
from datetime import datetime, timedelta, timezone

import pytest

from conftest import ASSIGNMENT, ROOT
from coursekit import course
from coursekit.course.course import Course
from coursekit.serve import admission, inbox
from coursekit.serve.service import serve_once
from coursekit.serve.settings import ServeSettings, course_config
from coursekit.serve.state import ServeRecord

COURSE_ID = "nn-course"
NOBODY = 65534  # an account that exists on Debian, and is not the one running the tests


def _stamp(when):
    return when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _submit(exchange, student, when=None, owner=None, stamp_file=None):
    """An inbound folder as ``nbgrader submit`` leaves it; ``owner``: chown it (and its files)
    to that uid, as if that account had submitted."""
    stamp = _stamp(when or datetime.now(timezone.utc))
    folder = exchange / COURSE_ID / "inbound" / f"{student}+{ASSIGNMENT}+{stamp}+{os.urandom(3).hex()}"
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_text("{}")
    (folder / "timestamp.txt").write_text(stamp if stamp_file is None else stamp_file)
    (folder / "submission_secret.txt").write_text(os.urandom(16).hex())
    if owner is not None:
        for path in folder.iterdir():
            os.lchown(path, owner, owner)
        os.lchown(folder, owner, owner)
    os.chmod(folder, 0o777)
    return folder


def _settings(exchange, **fields):
    return ServeSettings(exchange, COURSE_ID, **fields)


def _one(exchange, **fields):
    (found,) = inbox.list_inbound(_settings(exchange, **fields), ASSIGNMENT)
    return found


def test_is_a_folder_owned_by_another_account_refused_unless_check_owner_is_off(tmp_path):
    _submit(tmp_path, "alice", owner=NOBODY)
    sub = _one(tmp_path)
    assert sub.owner == "nobody" and sub.student == "alice"
    assert "submitted by the account 'nobody', not by 'alice'" in admission.refusal(sub, True)
    assert admission.refusal(sub, False) is None  # students sharing one account


def test_is_a_folder_owned_by_the_student_it_names_taken(tmp_path):
    _submit(tmp_path, "nobody", owner=NOBODY)
    assert admission.refusal(_one(tmp_path), True) is None


@pytest.mark.parametrize("stamp_file, message", [
    ("2020-01-01 00:00:00.000000 UTC", "is not the timestamp nbgrader gave it"),
    ("", "is not the timestamp nbgrader gave it"),
])
def test_is_a_timestamp_file_that_differs_from_the_name_refused(tmp_path, stamp_file, message):
    _submit(tmp_path, "root", stamp_file=stamp_file)
    assert message in admission.refusal(_one(tmp_path), True)


def test_is_a_name_whose_timestamp_is_not_nbgraders_refused_without_stopping_the_pass(tmp_path):
    root = course.copy_course(ROOT, tmp_path / "course")
    folder = tmp_path / "ex" / COURSE_ID / "inbound" / f"root+{ASSIGNMENT}+yesterday+abc"
    folder.mkdir(parents=True)
    (folder / "timestamp.txt").write_text("yesterday")
    (folder / f"{ASSIGNMENT}.ipynb").write_text("{}")
    (folder / "submission_secret.txt").write_text("s")
    good = _submit(tmp_path / "ex", "root", owner=NOBODY)  # refused too: owner
    status = serve_once(Course(root), ASSIGNMENT, course_config(Course(root)),
                        _settings(tmp_path / "ex"))
    entries = ServeRecord(root, ASSIGNMENT).entries
    assert entries[folder.name]["status"] == "refused"
    assert "not one nbgrader writes" in entries[folder.name]["reason"]
    assert entries[good.name]["status"] == "refused"
    assert status["counts"] == {"refused": 2} and status["queue"] == 0


def test_is_nothing_read_through_a_link_in_the_folder(tmp_path):
    secret = tmp_path / "instructor_secret.txt"
    secret.write_text("THE-ANSWER-KEY")
    folder = _submit(tmp_path / "ex", "root")
    (folder / "timestamp.txt").unlink()
    (folder / "timestamp.txt").symlink_to(secret)
    sub = _one(tmp_path / "ex")
    assert "cannot be read" in sub.problem and "THE-ANSWER-KEY" not in sub.problem
    (folder / "submission_secret.txt").unlink()
    (folder / "submission_secret.txt").symlink_to(secret)
    assert inbox.release_notice(_settings(tmp_path / "ex"), sub, "t", "m") == []


def test_is_a_link_in_place_of_the_folder_refused(tmp_path):
    real = _submit(tmp_path / "elsewhere", "root")
    inbound = tmp_path / "ex" / COURSE_ID / "inbound"
    inbound.mkdir(parents=True)
    (inbound / real.name).symlink_to(real)
    assert "not a folder nbgrader submit made" in _one(tmp_path / "ex").problem


def test_does_collect_leave_links_out_and_fail_on_a_pipe(tmp_path):
    root = course.copy_course(ROOT, tmp_path / "course")
    secret = tmp_path / "instructor_secret.txt"
    secret.write_text("THE-ANSWER-KEY")
    folder = _submit(tmp_path / "ex", "root")
    (folder / "notes.txt").symlink_to(secret)
    (folder / "folder_link").symlink_to("/")
    config = course_config(Course(root), [f"--Exchange.root={tmp_path / 'ex'}"])
    sub = _one(tmp_path / "ex")
    dest = inbox.collect_one(Course(root), config, ASSIGNMENT, sub, check_owner=False)
    assert sorted(p.name for p in dest.iterdir()) == sorted([  # no link, nothing behind one
        f"{ASSIGNMENT}.ipynb", "submission_secret.txt", "timestamp.txt"])
    assert (dest / f"{ASSIGNMENT}.ipynb").read_text() == "{}"
    os.mkfifo(folder / "pipe.txt")
    started = time.monotonic()
    with pytest.raises(OSError, match="not a regular file"):
        inbox.collect_one(Course(root), config, ASSIGNMENT, _one(tmp_path / "ex"),
                          check_owner=False, not_after=time.time() + 60)
    assert time.monotonic() - started < 30  # no read blocked on the pipe
    assert not dest.exists()  # nothing half collected is left to grade


def test_does_a_backdated_timestamp_neither_escape_the_limit_nor_go_unflagged(tmp_path):
    root = course.copy_course(ROOT, tmp_path / "course")
    record = ServeRecord(root, ASSIGNMENT)
    now = time.time()
    record.update(f"nobody+{ASSIGNMENT}+earlier+x", student="nobody", timestamp="earlier",
                  arrived=now - 600, status="released", counted=True)
    two_days_ago = datetime.now(timezone.utc) - timedelta(days=2)
    folder = _submit(tmp_path / "ex", "nobody", when=two_days_ago, owner=NOBODY)
    serve_once(Course(root), ASSIGNMENT, course_config(Course(root)),
               _settings(tmp_path / "ex", graded_tries=1))
    entry = ServeRecord(root, ASSIGNMENT).entries[folder.name]
    assert entry["status"] == "over_limit"  # judged by its arrival, not its timestamp
    assert entry["stamp_skew"] < -2 * 86400 + 60
    assert entry["next_try"] == pytest.approx(now - 600 + 86400)
    assert "1 graded try in 24 hours" in entry["reason"]


def test_is_a_submission_after_the_due_date_recorded_but_not_graded(tmp_path):
    from coursekit.course import commands

    root = course.copy_course(ROOT, tmp_path / "course")
    due = datetime.now(timezone.utc) - timedelta(hours=1)
    commands.run_nbgrader(root, "db", "assignment", "add", ASSIGNMENT,
                          f"--duedate={_stamp(due)}")  # the instructor's way (README)
    assert admission.due_date(Course(root).gradebook_url, ASSIGNMENT) == \
        pytest.approx(due.timestamp())
    folder = _submit(tmp_path / "ex", "nobody", when=due - timedelta(hours=2), owner=NOBODY)
    serve_once(Course(root), ASSIGNMENT, course_config(Course(root)),
               _settings(tmp_path / "ex"))
    entry = ServeRecord(root, ASSIGNMENT).entries[folder.name]
    assert entry["status"] == "late" and entry["late_s"] == pytest.approx(3600, abs=60)
    assert "after the due date" in entry["reason"]
    pages = list((tmp_path / "ex" / COURSE_ID / "feedback").glob("*.html"))
    assert len(pages) == 1 and "after the due date" in pages[0].read_text()
    assert stat.S_IMODE(pages[0].stat().st_mode) == 0o644


def test_is_there_no_due_date_without_a_gradebook_or_one_set(tmp_path):
    assert admission.due_date(f"sqlite:///{tmp_path / 'none.db'}", ASSIGNMENT) is None
    assert admission.lateness(time.time(), None) is None


def test_does_the_final_collect_skip_what_the_service_would_refuse(tmp_path):
    """``coursekit collect``: a newer folder in nobody's name sent by root is set aside (the
    older, genuine one is collected), a name nbgrader cannot parse stops nothing, a pipe fails
    only its student's copy, and --before-duedate takes the newest before the due date."""
    from coursekit.cli import main
    from coursekit.course import commands

    root = course.copy_course(ROOT, tmp_path / "course")
    ex = tmp_path / "ex"
    now = datetime.now(timezone.utc)
    genuine = _submit(ex, "nobody", when=now - timedelta(seconds=1), owner=NOBODY)
    forged = _submit(ex, "nobody", when=now)  # made by root, in nobody's name
    garbage = ex / COURSE_ID / "inbound" / f"x+{ASSIGNMENT}+not-a-time+abc"
    garbage.mkdir()
    (garbage / "timestamp.txt").write_text("not-a-time")
    (garbage / "submission_secret.txt").write_text("s")
    piped = _submit(ex, "daemon", owner=1)  # uid 1 is daemon on Debian
    os.mkfifo(piped / "pipe")
    code = main(["--root", str(root), "collect", ASSIGNMENT, f"--Exchange.root={ex}"])
    assert code == 1  # some were set aside: said, and the rest collected
    nobody = root / "submitted" / "nobody" / ASSIGNMENT
    assert (nobody / "timestamp.txt").read_text() == genuine.name.split("+")[2]
    assert not (root / "submitted" / "daemon" / ASSIGNMENT).exists()
    outcome = inbox.collect_all(Course(root), course_config(Course(root), [
        f"--Exchange.root={ex}"]), ASSIGNMENT)
    assert set(outcome["set_aside"]) == {forged.name, garbage.name, piped.name}
    assert "not by 'nobody'" in outcome["set_aside"][forged.name]
    assert "not one nbgrader writes" in outcome["set_aside"][garbage.name]
    assert "not a regular file" in outcome["set_aside"][piped.name]
    assert set(outcome["collected"]) == {"nobody"}
    # the due date falls between two genuine submissions of nobody (by when they arrived)
    time.sleep(1.1)
    commands.run_nbgrader(root, "db", "assignment", "add", ASSIGNMENT,
                          f"--duedate={_stamp(datetime.now(timezone.utc))}")
    time.sleep(1.1)
    later = _submit(ex, "nobody", owner=NOBODY)
    outcome = inbox.collect_all(Course(root), course_config(Course(root), [
        f"--Exchange.root={ex}"]), ASSIGNMENT)
    assert (nobody / "timestamp.txt").read_text() == later.name.split("+")[2]
    assert outcome["collected"]["nobody"][1] > 1  # late by more than a second: said
    inbox.collect_all(Course(root), course_config(Course(root), [f"--Exchange.root={ex}"]),
                      ASSIGNMENT, before_duedate=True)
    assert (nobody / "timestamp.txt").read_text() == genuine.name.split("+")[2]


def test_does_a_name_that_is_not_text_cost_only_its_own_submission(tmp_path):
    """A folder name with a byte that is not UTF-8 is refused, its page written, and the pass
    goes on to the next student (it had stopped every pass at writing the page)."""
    root = course.copy_course(ROOT, tmp_path / "course")
    inbound = tmp_path / "ex" / COURSE_ID / "inbound"
    inbound.mkdir(parents=True)
    stamp = _stamp(datetime.now(timezone.utc))
    odd = os.fsencode(inbound) + b"/nob\xffody+" + ASSIGNMENT.encode() + b"+" + \
        stamp.encode() + b"+zz"
    os.mkdir(odd)
    for name, text in (("timestamp.txt", stamp), ("submission_secret.txt", "s"),
                       (f"{ASSIGNMENT}.ipynb", "{}")):
        with open(odd + b"/" + name.encode(), "w") as out:
            out.write(text)
    os.lchown(odd, NOBODY, NOBODY)
    other = _submit(tmp_path / "ex", "root", owner=NOBODY)  # refused too (owner): reached
    serve_once(Course(root), ASSIGNMENT, course_config(Course(root)), _settings(tmp_path / "ex"))
    entries = ServeRecord(root, ASSIGNMENT).entries
    assert {e["status"] for e in entries.values()} == {"refused"} and len(entries) == 2
    odd_entry = next(e for n, e in entries.items() if n != other.name)
    assert "not valid text" in odd_entry["reason"]
    assert len(list((tmp_path / "ex" / COURSE_ID / "feedback").glob("*.html"))) == 2
    assert not list((tmp_path / "ex" / COURSE_ID / "feedback").glob("*-tmp.html"))


def test_does_a_refusal_hold_when_its_page_cannot_be_written(tmp_path, monkeypatch):
    """Fail closed: the decision is recorded before the page; a page that fails (an empty
    secret, a name nbgrader's hash refuses) must not leave the submission to be graded."""
    root = course.copy_course(ROOT, tmp_path / "course")
    forged = _submit(tmp_path / "ex", "daemon", owner=NOBODY)  # nobody, in daemon's name

    def broken(*args, **kwargs):
        raise AssertionError("nbgrader's notebook_hash: empty secret")

    monkeypatch.setattr(inbox, "release_notice", broken)
    status = serve_once(Course(root), ASSIGNMENT, course_config(Course(root)),
                        _settings(tmp_path / "ex"))
    entry = ServeRecord(root, ASSIGNMENT).entries[forged.name]
    assert entry["status"] == "refused" and status["queue"] == 0
    assert not (root / "submitted" / "daemon").exists()  # nothing collected, nothing graded


def test_can_a_link_in_the_exchange_aim_a_notice_at_another_students_page(tmp_path):
    from nbgrader.utils import notebook_hash

    root = course.copy_course(ROOT, tmp_path / "course")
    victim = root / "submitted" / "daemon" / ASSIGNMENT  # holds the victim's secret
    victim.mkdir(parents=True)
    (victim / "submission_secret.txt").write_text("victim-secret")
    (victim / f"{ASSIGNMENT}.ipynb").write_text("{}")
    feedback = tmp_path / "ex" / COURSE_ID / "feedback"
    feedback.mkdir(parents=True)
    page = feedback / f"{notebook_hash(secret='victim-secret', notebook_id=ASSIGNMENT)}.html"
    page.write_text("the victim's real feedback")
    inbound = tmp_path / "ex" / COURSE_ID / "inbound"
    inbound.mkdir()
    link = inbound / f"nobody+{ASSIGNMENT}+{_stamp(datetime.now(timezone.utc))}+evil"
    link.symlink_to(victim)
    os.lchown(link, NOBODY, NOBODY)
    serve_once(Course(root), ASSIGNMENT, course_config(Course(root)), _settings(tmp_path / "ex"))
    assert ServeRecord(root, ASSIGNMENT).entries[link.name]["status"] == "refused"
    assert page.read_text() == "the victim's real feedback"
    assert [p.name for p in feedback.iterdir()] == [page.name]
