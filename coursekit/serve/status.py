"""What ``coursekit serve`` shows: its status JSON and the list of served submissions.

``coursekit_status/<assignment>.serve-status.json`` (rewritten at the start and end of every
pass)::

    {"pid": 4242, "started_at": 1764584100.0, "last_pass_at": ..., "passes": 12,
     "queue": 3, "counts": {"released": 40, "received": 3}, "median_latency_s": 41.2}

``queue`` counts the submissions seen and not yet graded (``received`` or ``grading``);
``median_latency_s`` is the median time from a submission's arrival in the exchange (its
folder's ctime, :mod:`coursekit.serve.admission`) to released feedback. Times are seconds since
the epoch.
"""
import json
import logging
import os
import statistics
import time
from collections import defaultdict
from datetime import timezone
from pathlib import Path

from coursekit.serve.state import ServeRecord

__all__ = ["status_path", "write_status", "read_served", "epoch", "OneLineFormatter"]


class OneLineFormatter(logging.Formatter):
    """A ``logging.Formatter`` that keeps each message on one line: a student's folder name
    with a newline in it must not forge a log line (``graded daemon ...: score 40``). Control
    characters of the message are escaped (``\\n``); a traceback stays as Python wrote it."""

    def formatMessage(self, record):
        text = record.message
        if not text.isprintable():
            record.message = "".join(c if c.isprintable() else
                                     c.encode("unicode_escape").decode("ascii") for c in text)
        return super().formatMessage(record)


def epoch(timestamp):
    """Seconds since the epoch of an nbgrader timestamp (``2026-12-01 10:15:00.1 UTC``)."""
    from nbgrader.utils import parse_utc

    return parse_utc(timestamp).replace(tzinfo=timezone.utc).timestamp()


def status_path(course_root, assignment_id):
    """``coursekit_status/<assignment>.serve-status.json``."""
    from coursekit.course.status import status_folder

    return status_folder(course_root) / f"{assignment_id}.serve-status.json"


def read_served(course_root, assignment_id):
    """The submissions ``coursekit serve`` has seen, oldest first ([] if it never ran).

    Returns:
        list of {"student", "submitted" (nbgrader's timestamp, as the student's side wrote it),
        "arrived" (s since the epoch), "owner" (the account that sent it), "status",
        "verdict", "score", "max_score", "latency_s" (arrival to released feedback),
        "stamp_skew_s" (set when the timestamp is far from the arrival), "reason", "inbound"
        (the exchange folder's name without its random part, which keeps it from others)},
        by arrival.
    """
    rows = []
    for name, entry in ServeRecord(course_root, assignment_id).entries.items():
        rows.append({"student": entry["student"], "submitted": entry["timestamp"],
                     "arrived": entry.get("arrived"), "owner": entry.get("owner"),
                     "status": entry["status"], "verdict": entry.get("verdict"),
                     "score": entry.get("score"), "max_score": entry.get("max_score"),
                     "latency_s": entry.get("latency"), "stamp_skew_s": entry.get("stamp_skew"),
                     "reason": entry.get("reason"),
                     "inbound": name.rsplit("+", 1)[0]})  # not its secret random part
    return sorted(rows, key=lambda r: (r["arrived"] or _epoch_or_zero(r["submitted"]),
                                       r["inbound"]))


def _epoch_or_zero(timestamp):
    try:
        return epoch(timestamp)
    except (ValueError, OverflowError, TypeError):
        return 0.0


def write_status(course, assignment_id, record, started, passes):
    """Write the status JSON of ``record`` (a :class:`ServeRecord`); return it as a dict."""
    counts = defaultdict(int)
    for entry in record.entries.values():
        counts[entry["status"]] += 1
    latencies = [e["latency"] for e in record.entries.values() if e.get("latency") is not None]
    data = {"pid": os.getpid(), "started_at": started, "last_pass_at": time.time(),
            "passes": passes, "queue": sum(counts.get(s, 0) for s in ("received", "grading")),
            "counts": dict(counts),
            "median_latency_s": statistics.median(latencies) if latencies else None}
    path = status_path(course.root, assignment_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    tmp.replace(path)
    return data
