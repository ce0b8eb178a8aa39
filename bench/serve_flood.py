"""How long one pass of ``coursekit serve`` takes when a student floods the exchange.

    .venv/bin/python bench/serve_flood.py [--folders 500,2000,10000]

For each count, a scratch course and an exchange whose inbound folder holds that many
submission folders of one account (``daemon``) in another student's name or with a forged
timestamp (half each): every one is refused, so the pass grades nothing and the figure is the
service's own cost: listing, admission, the record (written once per step, not once per entry)
and a notice page per folder. Prints the seconds of one ``serve_once`` pass per count
(docs/performance.md).
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def flood(inbound, count):
    """``count`` folders in ``inbound``, as nbgrader submit lays them out, owned by uid 1."""
    for i in range(count):
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        folder = inbound / f"nobody+two_layer_net+{stamp}+{i:06d}"
        folder.mkdir()
        (folder / "timestamp.txt").write_text("forged" if i % 2 else stamp)
        (folder / "submission_secret.txt").write_text(f"s{i}")
        (folder / "two_layer_net.ipynb").write_text("{}")
        os.chown(folder, 1, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folders", default="500,2000,10000")
    args = parser.parse_args(argv)
    import logging

    from coursekit import course
    from coursekit.course.course import Course
    from coursekit.serve.service import serve_once
    from coursekit.serve.settings import ServeSettings, course_config

    logging.getLogger("coursekit.serve").addHandler(logging.NullHandler())  # one warning each
    logging.getLogger("coursekit.serve").propagate = False
    print(f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M %Z')}, load average "
          f"{os.getloadavg()[0]:.2f}")
    for count in (int(n) for n in args.folders.split(",")):
        work = Path(tempfile.mkdtemp(prefix="serve-flood-"))
        try:
            root = course.copy_course(ROOT, work / "course")
            inbound = work / "ex" / "nn-course" / "inbound"
            inbound.mkdir(parents=True)
            flood(inbound, count)
            started = time.perf_counter()
            status = serve_once(Course(root), "two_layer_net", course_config(Course(root)),
                                ServeSettings(work / "ex", "nn-course"))
            print(f"{count} folders: one pass {time.perf_counter() - started:.1f} s, "
                  f"{status['counts']}")
        finally:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
