"""Grading on submit: each pass takes the exchange's new submissions to released feedback.

One pass (:func:`serve_once`):

1. every new folder in ``<Exchange.root>/<course>/inbound/`` is recorded (``received``), with
   its owner and arrival time; one nbgrader cannot have made, or (nbgrader's
   ``c.ExchangeCollect.check_owner``) sent from another student's account, is ``refused``; one
   that arrived after the due date in the gradebook is ``late``; both get a notice page
   (:mod:`coursekit.serve.admission` says why each rule holds);
2. per student only the newest waiting submission is graded, older waiting ones are
   ``superseded``; one over ``c.Serve.graded_tries`` per ``c.Serve.period_hours`` is
   ``over_limit``; both get a notice page as their feedback, which says why (and when the next
   graded try is possible);
3. the others are collected with nbgrader's collect (exactly that submission), marked
   ``grading`` and graded together by :func:`coursekit.parallel.autograde_batch`, the full
   hardened engine on Dask, which records them in the gradebook and the status file;
4. the graded ones get ``coursekit feedback``'s pages (no hidden tests), released with nbgrader's
   ``release_feedback``; a failed one gets a notice with the reason.

Every step is written to the service's record (:mod:`coursekit.serve.state`) before the next
starts, so a service killed at any moment, restarted, loses no submission and grades none twice:
a submission left ``grading`` whose grade the gradebook already holds (same ``timestamp.txt``)
is taken as graded, one without is graded again (it never was). ``serve`` loops passes under a
lock (:class:`~coursekit.serve.state.ServiceLock`), one service per course and assignment.

Each submission gets log lines (``received``, ``grading``, ``graded`` with its score,
``released`` with submit-to-feedback seconds) on the logger ``coursekit.serve``; the status JSON
``coursekit_status/<assignment>.serve-status.json`` says the queue length and the counts.
"""
import logging
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone

from coursekit.serve import admission, inbox
from coursekit.serve.limits import next_graded_try
from coursekit.serve.recovery import fingerprint, gradebook_verdict, recover
from coursekit.serve.state import ServeRecord, ServiceLock
from coursekit.serve.status import epoch, write_status

__all__ = ["ServeOptions", "gather", "serve_once", "serve_forever"]

LOG = logging.getLogger("coursekit.serve")
FAULT_ENV = "COURSEKIT_SERVE_FAULT"  # tests: "after_grading" exits right after the grader


@dataclass(frozen=True)
class ServeOptions:
    """How the service grades: ``workers`` local Dask workers or ``scheduler`` an existing
    cluster (as ``coursekit autograde``), ``grading`` a
    :class:`~coursekit.engine.job.GradingSettings` (default: the course's)."""
    workers: int = None
    scheduler: str = None
    grading: object = None


def _when(seconds):
    """``seconds`` since the epoch as a UTC minute, rounded up (a student told 10:41 must not
    find their try still refused at 10:41:00)."""
    minute = -(-seconds // 60) * 60
    return datetime.fromtimestamp(minute, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _at(seconds):
    """``seconds`` since the epoch as a UTC time to the second (arrivals, due dates)."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _plural(count, singular, plural=None):
    """``1 graded try``, ``3 graded tries``, ``1.5 hours``."""
    return f"{count:g} {singular if count == 1 else plural or singular + 's'}"


def _arrived(entry):
    """When a recorded submission arrived (s since the epoch): its folder's ctime (older
    records: its claimed timestamp)."""
    return entry.get("arrived") or epoch(entry["timestamp"])


def _each(items, step, what):
    """``step(item)`` for every item; one that raises is logged and skipped, never the pass
    (one student's submission must not stop the others')."""
    for item in items:
        try:
            step(item)
        except Exception:  # noqa: BLE001 - logged; the entry stays where it was, retried
            LOG.exception("%s %r failed; the others go on", what, item)


def _notice(settings, record, name, inbound, status, title, message, **fields):
    """Record ``status`` for ``name`` first (fail closed: a decision not to grade holds even
    if its page cannot be written), then release its page, best effort."""
    now = time.time()
    entry = record.update(name, status=status, reason=message, released_at=now, **fields)
    LOG.info("%s %s %s: %s", status, entry["student"], name, message)
    if inbound is not None:
        try:
            inbox.release_notice(settings, inbound, title, message)
        except Exception:  # noqa: BLE001 - the decision is recorded; only the page is lost
            LOG.exception("the page of %s %r could not be written", status, name)


def _receive(record, sub):
    """Record the new inbound submission ``sub`` (an :class:`~coursekit.serve.inbox.Inbound`);
    a timestamp far from its arrival is flagged in the record and the log."""
    skew = admission.stamp_skew(sub.timestamp, sub.arrived)
    flagged = skew is not None and abs(skew) > admission.STAMP_TOLERANCE_S
    record.update(sub.name, student=sub.student, timestamp=sub.timestamp, owner=sub.owner,
                  arrived=sub.arrived, status="received", received_at=time.time(),
                  **({"stamp_skew": round(skew, 1)} if flagged else {}))
    LOG.info("received %s %s (submitted %s, arrived %s, owner %s)", sub.student, sub.name,
             sub.timestamp, _at(sub.arrived), sub.owner)
    if flagged:
        LOG.warning("timestamp of %s %s is %+.0f s from its arrival (%s): forged or a clock "
                    "is wrong; the service goes by the arrival, nbgrader's collect and late "
                    "penalty by the timestamp", sub.student, sub.name, skew, _at(sub.arrived))


def _admit(record, settings, found, due):
    """Refuse the waiting submissions nbgrader cannot have made or that came from another
    student's account, set aside those that arrived after ``due`` (s since the epoch, or None)
    (:mod:`coursekit.serve.admission`)."""
    def admit(name):
        entry, sub = record.entries[name], found.get(name)
        reason = (sub.problem or admission.refusal(sub, settings.check_owner)) if sub else None
        if reason:
            _notice(settings, record, name, sub, "refused", "Not graded: submission refused",
                    f"This submission was not graded: {reason}. This try did not count.",
                    counted=False)
            if sub.owner != sub.student:
                LOG.warning("refused %r: owned by %s, claims %r (cheating attempt, or students "
                            "share one account: then set c.ExchangeCollect.check_owner = False "
                            "and have them submit again)", name, sub.owner, sub.student)
            return
        late = admission.lateness(_arrived(entry), due)
        if late is not None:
            _notice(settings, record, name, sub, "late", "Not graded: after the due date",
                    f"This submission arrived {_at(_arrived(entry))}, after the due date "
                    f"({_at(due)}). It is kept but not graded now; your instructor's final "
                    f"grading decides whether late work counts.", late_s=round(late, 1))

    with record.deferred():
        _each(sorted(record.with_status("received")), admit, "admitting")


def _plan(record, settings, found, due=None):
    """Supersede older waiting submissions, refuse those over the limit; return
    ``{student: name}`` to grade."""
    waiting = defaultdict(list)
    for name, entry in record.with_status("received").items():
        waiting[entry["student"]].append(name)
    to_grade = {}

    def plan(student):
        names = sorted(waiting[student], key=lambda n: (_arrived(record.entries[n]), n))
        newest = names[-1]
        for name in names[:-1]:
            _notice(settings, record, name, found.get(name), "superseded",
                    "Not graded: a newer submission replaced it",
                    f"You submitted again ({record.entries[newest]['timestamp']}) before this "
                    f"submission was graded; the newer one is graded instead.")
        tried = [_arrived(e) for e in record.entries.values()
                 if e["student"] == student and e.get("counted")]
        submitted = _arrived(record.entries[newest])
        nxt = next_graded_try(tried, submitted, settings.graded_tries, settings.period_seconds)
        if nxt is None:
            to_grade[student] = newest
            return
        tries = _plural(settings.graded_tries, "graded try", "graded tries")
        hours = _plural(settings.period_seconds / 3600, "hour")
        then = (f"Your next graded try is possible from {_when(nxt)}." if due is None
                or nxt < due else f"No graded try is left before the due date ({_at(due)}).")
        _notice(settings, record, newest, found.get(newest), "over_limit",
                "Not graded: no graded try left",
                f"You have had {tries} in {hours}; this submission is kept (your instructor's "
                f"final grading takes your last submission before the deadline) but not graded "
                f"now. {then}", next_try=nxt)

    with record.deferred():
        _each(sorted(waiting), plan, "planning for")
    return to_grade


def _grade(course, assignment_id, config, options, record, to_grade, found, settings,
           due=None):
    """Collect and grade ``{student: name}``; record each verdict."""
    from coursekit.engine.job import GradingSettings
    from coursekit.parallel import BatchOptions, autograde_batch

    collected = {}
    for student, name in sorted(to_grade.items()):
        sub = found.get(name)
        # the rules again, where they are used: nothing reaches the grader that admission
        # would refuse, whatever happened to the steps before
        reason = "it is no longer in the exchange" if sub is None else (
            sub.problem or admission.refusal(sub, settings.check_owner))
        if reason or admission.lateness(_arrived(record.entries[name]), due) is not None:
            record.update(name, status="refused", counted=False, released_at=time.time(),
                          reason=f"not graded: {reason or 'it arrived after the due date'}")
            LOG.warning("not graded %r: %s", name, record.entries[name]["reason"])
            continue
        try:
            inbox.collect_one(course, config, assignment_id, sub,
                              check_owner=settings.check_owner)
        except (RuntimeError, OSError, KeyError) as err:
            record.update(name, status="graded", verdict="failed", counted=False,
                          reason=f"collect: {err}", graded_at=time.time())
            continue
        collected[student] = name
        record.update(name, status="grading", grading_at=time.time(),
                      status_before=fingerprint(course, assignment_id, student))
        LOG.info("grading %s %s", student, name)
    if not collected:
        return
    grading = options.grading or GradingSettings(sandbox=course.sandbox_limits())
    batch = BatchOptions(workers=options.workers, scheduler=options.scheduler,
                         students=tuple(sorted(collected)), force=True, progress=False)
    run = autograde_batch(course, assignment_id, batch, grading)
    if os.environ.get(FAULT_ENV) == "after_grading":
        os._exit(3)  # a kill between the gradebook and the service's record (tests)
    for student, name in collected.items():
        verdict = (run.get(student) or {}).get("status", "failed")
        found_in_gb = gradebook_verdict(course, assignment_id, record.entries[name])
        if verdict in ("graded", "needs_review") and found_in_gb:
            _, score, max_score = found_in_gb
            record.update(name, status="graded", verdict=verdict, score=score,
                          max_score=max_score, counted=True, graded_at=time.time())
            LOG.info("graded %s %s: %s, score %g/%g", student, name, verdict, score, max_score)
        else:
            reason = (run.get(student) or {}).get("reason") or "not in the gradebook"
            record.update(name, status="graded", verdict="failed", counted=False,
                          reason=reason, graded_at=time.time())
            LOG.info("graded %s %s: failed: %s", student, name, reason)


def _release(course, assignment_id, config, settings, record, found):
    """Feedback for every graded entry: pages for the graded, notices for the failed."""
    from coursekit.results import feedback

    graded = record.with_status("graded")
    ok = {e["student"]: n for n, e in graded.items() if e.get("verdict") != "failed"}
    pages = feedback.generate_feedback(course.root, assignment_id,
                                       students=sorted(ok)) if ok else {}

    def release(name):
        entry = record.entries[name]
        student = entry["student"]
        if entry.get("verdict") == "failed":
            _notice(settings, record, name, found.get(name), "released",
                    "Not graded: your submission could not be graded",
                    f"The grader could not grade this submission: {entry.get('reason')}. Fix "
                    f"it and submit again (this try did not count).")
            return
        page = pages.get(student) or {}
        if page.get("status") == "written":
            try:
                inbox.release_feedback(course, config, assignment_id, student)
            except (RuntimeError, OSError) as err:  # this student only; next pass tries again
                LOG.warning("release of %s %s failed, retried next pass: %s", student, name, err)
                return
            message = None
        else:
            message = (f"Your submission was graded: {entry['score']:g} of "
                       f"{entry['max_score']:g} points. Its feedback page could not be "
                       f"written ({page.get('reason')}); your instructor has been told.")
            if name in found:
                inbox.release_notice(settings, found[name], "Graded", message)
        now = time.time()
        record.update(name, status="released", released_at=now, reason=message,
                      latency=now - _arrived(entry))
        LOG.info("released %s %s: score %g/%g, %.1f s after submit", student, name,
                 entry["score"], entry["max_score"], now - _arrived(entry))

    _each(sorted(graded), release, "releasing")


def gather(look, seconds, rounds=4, sleep=time.sleep):
    """Call ``look()`` (the number of new submissions it found), then, while it finds some,
    wait ``seconds`` and look again, at most ``rounds`` more times: submissions made together
    (a class told to submit now; ``nbgrader submit`` takes seconds) are graded in one pass
    instead of the last of them waiting for the whole pass.

    Returns:
        how many new submissions were found in all.
    """
    total = found = look()
    for _ in range(rounds if seconds > 0 else 0):
        if not found:
            break
        sleep(seconds)
        found = look()
        total += found
    return total


def serve_once(course, assignment_id, config, settings, options=None, started=None, passes=1):
    """One pass: every waiting submission to released feedback (the caller holds the lock).

    Args:
        course: a :class:`~coursekit.course.course.Course`.
        config: the merged nbgrader config (:func:`coursekit.serve.settings.course_config`).
        settings: :class:`~coursekit.serve.settings.ServeSettings`.
        options: :class:`ServeOptions`.

    Returns:
        the status JSON (dict) written after the pass.
    """
    options = options or ServeOptions()
    record = ServeRecord(course.root, assignment_id)
    recover(course, assignment_id, record)
    found = {}

    def look():
        """Record the submissions not seen yet; return how many there were."""
        found.update((s.name, s) for s in inbox.list_inbound(settings, assignment_id))
        new = [name for name in found if name not in record.entries]
        with record.deferred():  # a flood of folders: one write of the record, not one each
            _each(new, lambda name: _receive(record, found[name]), "receiving")
        return len(new)

    gather(look, settings.gather_seconds)
    due = admission.due_date(course.gradebook_url, assignment_id)
    _admit(record, settings, found, due)
    write_status(course, assignment_id, record, started or time.time(), passes)
    to_grade = _plan(record, settings, found, due)
    if to_grade:
        _grade(course, assignment_id, config, options, record, to_grade, found, settings, due)
    if record.with_status("graded"):
        _release(course, assignment_id, config, settings, record, found)
    return write_status(course, assignment_id, record, started or time.time(), passes)


def serve_forever(course, assignment_id, config, settings, options=None, once=False,
                  checks=()):
    """Hold the lock and run passes every ``settings.poll_seconds`` (one with ``once``, whose
    errors are raised; a long-running service logs a failed pass and goes on). Once the lock
    is held it logs ``checks`` (lines: the sandbox, the cgroups) and the rules it serves by;
    when it ends, however it ends (``SystemExit`` from a SIGTERM handler too), it logs so.

    Raises:
        ServiceRunning: another service serves this course and assignment.
    """
    started, passes = time.time(), 0
    with ServiceLock(course.root, assignment_id):
        LOG.info("serving %s of %s from %s (pid %d)", assignment_id, settings.course_id,
                 settings.exchange_root, os.getpid())
        for line in checks:
            LOG.info("%s", line)
        due = admission.due_date(course.gradebook_url, assignment_id)
        tries = ("no limit on graded tries" if not settings.graded_tries else
                 f"{_plural(settings.graded_tries, 'graded try', 'graded tries')} per "
                 f"{_plural(settings.period_seconds / 3600, 'hour')}")
        LOG.info("rules: %s; owner check %s (c.ExchangeCollect.check_owner); due date %s "
                 "(read again at every pass)", tries, "on" if settings.check_owner else "OFF",
                 _at(due) if due else "none set (nbgrader db assignment add ... --duedate=...)")
        try:
            while True:
                passes += 1
                if once:
                    return serve_once(course, assignment_id, config, settings, options,
                                      started, passes)
                try:
                    serve_once(course, assignment_id, config, settings, options, started,
                               passes)
                except Exception:  # noqa: BLE001 - logged; the record keeps every submission
                    LOG.exception("pass %d failed; the next pass takes up where it stopped",
                                  passes)
                time.sleep(settings.poll_seconds)
        finally:
            LOG.info("stopped (pid %d) after %d passes", os.getpid(), passes)
