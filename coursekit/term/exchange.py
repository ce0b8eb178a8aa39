"""Hand an assignment out and collect it through nbgrader's own exchange, on one machine.

nbgrader's default exchange is a folder (``Exchange.root``) shared by instructor and students:
``release_assignment`` copies ``release/<assignment>`` to ``<root>/<course>/outbound``, each
student's ``fetch_assignment`` copies it into their folder, ``submit`` copies their folder to
``<root>/<course>/inbound/<student>+<assignment>+<timestamp>+<random>``, and the
instructor's ``collect`` copies the newest submission of each student to
``submitted/<student>/<assignment>`` with its ``timestamp.txt``.

``submit`` names the student after the operating-system account that runs it
(``pwd.getpwuid(os.getuid())``, so ``$USER`` and ``$LOGNAME`` change nothing; only the account
``jovyan`` defers to ``$JUPYTERHUB_USER``), unless ``--student ID``
(``CourseDirectory.student_id``) is given. Here every student is simulated by the same
account, so each ``submit`` passes ``--student``, and runs in a folder of its own (the
student's home: the current folder and ``Exchange.cache``), as a student on a shared server
would.

    from coursekit.term import exchange
    exchange.release_assignment(course, "two_layer_net", ex_root)
    home = exchange.fetch(ex_root, homes / "alice", "nn-course", "two_layer_net")
    ...  # edit home / "two_layer_net" / "two_layer_net.ipynb"
    exchange.submit(ex_root, homes / "alice", "nn-course", "two_layer_net", "alice")
    exchange.collect(course, "two_layer_net", ex_root)
"""
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from coursekit.course import commands
from coursekit.term import samples

__all__ = ["course_id", "release_assignment", "fetch", "submit", "collect", "fetch_feedback",
           "hand_in_samples"]


def course_id(course_root):
    """``CourseDirectory.course_id`` from the course's ``nbgrader_config.py``.

    Raises:
        ValueError: the config sets no course id (the exchange needs one).
    """
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    found = config.CourseDirectory.get("course_id", "")
    if not found:
        raise ValueError(f"{Path(course_root) / 'nbgrader_config.py'} sets no "
                         f"c.CourseDirectory.course_id; the exchange files submissions by it.")
    return found


def _exchange_args(exchange_root):
    return [f"--Exchange.root={Path(exchange_root).resolve()}"]


def release_assignment(course_root, assignment_id, exchange_root):
    """``nbgrader release_assignment``: put ``release/<assignment>`` in the exchange."""
    Path(exchange_root).mkdir(parents=True, exist_ok=True)  # nbgrader wants it to exist
    commands.run_nbgrader(course_root, "release_assignment", assignment_id, "--force",
                         *_exchange_args(exchange_root))


def _student_run(home, *args):
    """Run ``nbgrader ARGS`` in the student's folder ``home``, with a cache of their own."""
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    return commands.run_nbgrader(home, *args, f"--Exchange.cache={home / '.nbgrader_cache'}")


def fetch(exchange_root, home, course, assignment_id):
    """``nbgrader fetch_assignment`` into ``home``; returns ``home/<assignment>``."""
    _student_run(home, "fetch_assignment", assignment_id, f"--course={course}",
                 *_exchange_args(exchange_root))
    return Path(home) / assignment_id


def submit(exchange_root, home, course, assignment_id, student_id):
    """``nbgrader submit`` of ``home/<assignment>`` as student ``student_id``."""
    _student_run(home, "submit", assignment_id, f"--course={course}",
                 f"--student={student_id}", *_exchange_args(exchange_root))


def fetch_feedback(exchange_root, home, course, assignment_id, student_id):
    """``nbgrader fetch_feedback`` as student ``student_id`` into ``home/<assignment>/feedback/``.

    Returns:
        ``{submission timestamp: [feedback HTML paths]}`` now in that folder.
    """
    _student_run(home, "fetch_feedback", assignment_id, f"--course={course}",
                 f"--student={student_id}", *_exchange_args(exchange_root))
    folder = Path(home) / assignment_id / "feedback"
    return {d.name: sorted(d.glob("*.html")) for d in sorted(folder.iterdir()) if d.is_dir()} \
        if folder.is_dir() else {}


def collect(course_root, assignment_id, exchange_root):
    """``nbgrader collect --update``: newest submission of each student into ``submitted/``,
    links copied as links (``coursekit collect``, :func:`coursekit.serve.inbox.collect_all`).

    Returns:
        sorted list of the student ids now under ``submitted/*/<assignment>``.
    """
    from coursekit.course.course import Course
    from coursekit.serve.inbox import collect_all
    from coursekit.serve.settings import course_config

    course = Course(course_root)
    # every submission is owned by this one account: nbgrader's owner check would warn for all
    config = course_config(course, [*_exchange_args(exchange_root),
                                    "--ExchangeCollect.check_owner=False"])
    collect_all(course, config, assignment_id)
    return sorted(p.parent.name for p in Path(course_root).glob(f"submitted/*/{assignment_id}"))


def hand_in_samples(course_root, assignment_id, samples_dir, names, exchange_root, homes,
                    jobs=None):
    """Release, then for each sample: fetch as that student, answer, submit; then collect.

    Each sample ``name`` is the student ``name`` with home ``homes/<name>``. The fetched
    notebooks are filled with the sample's answers and its files (a checkpoint) are added.

    Args:
        jobs: students working at the same time (default: one per core).

    Returns:
        the student ids collected into ``submitted/``.
    """
    course = course_id(course_root)
    release_assignment(course_root, assignment_id, exchange_root)

    def work(name):
        home = Path(homes) / name
        folder = fetch(exchange_root, home, course, assignment_id)
        samples.answer_in(folder, samples_dir, name)  # answers, edits, files, as the sample says
        submit(exchange_root, home, course, assignment_id, name)

    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        list(pool.map(work, names))  # list(): re-raise the first failure here
    return collect(course_root, assignment_id, exchange_root)
