"""The course's gradebook wherever ``c.CourseDirectory.db_url`` puts it: SQLite or a server.

SQLite (the default, ``sqlite:///gradebook.db`` in the course folder) suits one grader at a
time. When the service (``coursekit serve``), a batch (``coursekit autograde``), ``coursekit
report`` and formgrader touch the gradebook at once, point ``db_url`` at PostgreSQL
(``postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB``, psycopg 3). Grading jobs always get a
private SQLite copy (:func:`snapshot`), whatever the course uses; only the master writes the
course's gradebook.

A database server that does not answer, refuses the user or lacks the database is a
:class:`GradebookUnavailable` that says what to do (``createdb -h HOST -p PORT -U USER DB``,
start the server, check the URL), never nbgrader's "run nbgrader db upgrade" hint:
:func:`check` opens it once before a command uses it, :func:`exists` and :func:`snapshot` say
the same.
"""
import contextlib
import getpass
import os
import re
import tempfile
from pathlib import Path

__all__ = ["absolute_url", "sqlite_path", "exists", "snapshot", "check", "GradebookUnavailable"]

# What the server or the driver says (psycopg gives no SQLSTATE for a failed connection), and
# what the instructor should do about it.
_MISSING_DATABASE = re.compile(r'database "[^"]*" does not exist')
_REFUSED_USER = re.compile(r'role "[^"]*" does not exist|password authentication failed|'
                           r"no password supplied|no pg_hba\.conf entry|authentication failed",
                           re.IGNORECASE)
_NO_SERVER = re.compile(r"connection refused|could not connect|failed to resolve host|"
                        r"could not translate host name|timeout expired|timed out|"
                        r"no such file or directory|network is unreachable|no route to host",
                        re.IGNORECASE)


class GradebookUnavailable(RuntimeError):
    """The gradebook's database cannot be opened; the message says what to do."""


def _explain(url, error):
    """A :class:`GradebookUnavailable` for the driver's ``error`` on ``url``."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    shown = parsed.render_as_string(hide_password=True)
    host, port = parsed.host or "localhost", parsed.port or 5432
    user, database = parsed.username or getpass.getuser(), parsed.database
    said = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    where = f"c.CourseDirectory.db_url = {shown!r}"
    if _MISSING_DATABASE.search(said):
        return GradebookUnavailable(
            f"the gradebook's database {database!r} does not exist on the PostgreSQL server at "
            f"{host}:{port} ({where}): create it, e.g. `createdb -h {host} -p {port} -U {user} "
            f"{database}`, then `coursekit release` makes nbgrader's tables in it")
    if _REFUSED_USER.search(said):
        return GradebookUnavailable(
            f"the PostgreSQL server at {host}:{port} refused the user {user!r} ({said}): check "
            f"the user and password in {where} (a password with @ / : % written %-escaped), "
            f"or create the role on the server (`createuser -h {host} -p {port} {user}`)")
    if _NO_SERVER.search(said):
        return GradebookUnavailable(
            f"no PostgreSQL server answers at {host}:{port} ({said}): start it, or correct the "
            f"host and port in {where}")
    return GradebookUnavailable(f"cannot open the gradebook at {shown} ({said}): check "
                                f"{where} and that its server runs")


@contextlib.contextmanager
def _opened(url):
    """An SQLAlchemy engine on ``url``, its connection errors as :class:`GradebookUnavailable`."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import InterfaceError, OperationalError

    try:
        engine = create_engine(url)
    except ImportError as err:  # no driver: psycopg missing
        raise GradebookUnavailable(f"the driver of {url.split(':', 1)[0]} is not installed "
                                   f"({err}); install requirements.txt (psycopg)") from None
    try:
        yield engine
    except (OperationalError, InterfaceError) as err:
        raise _explain(url, err) from None
    finally:
        engine.dispose()


def check(url):
    """Open the gradebook's database server once (SQLite: nothing, nbgrader makes the file).

    Raises:
        GradebookUnavailable: the server does not answer, refuses the user, or has no such
            database; the message says what to do.
    """
    if sqlite_path(url) is not None:
        return
    from sqlalchemy import text

    with _opened(url) as engine, engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def absolute_url(url, root):
    """``url`` with a relative SQLite path made absolute from the folder ``root``.

    Raises:
        ValueError: ``url`` is not an SQLAlchemy URL.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"c.CourseDirectory.db_url = {url!r} is not a database URL; write "
                         f"sqlite:///gradebook.db or postgresql+psycopg://USER@HOST:PORT/DB"
                         ) from None
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") \
            and not os.path.isabs(database):
        parsed = parsed.set(database=str(Path(root) / database))
    return parsed.render_as_string(hide_password=False)


def sqlite_path(url):
    """The file of an SQLite URL as a ``Path``; None for any other database."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return Path(parsed.database) if parsed.get_backend_name() == "sqlite" else None


def exists(url):
    """Whether the gradebook at ``url`` exists and has nbgrader's tables (never creates it).

    Raises:
        GradebookUnavailable: its database server cannot be opened (:func:`check`).
    """
    path = sqlite_path(url)
    if path is not None:
        return path.is_file()
    from sqlalchemy import inspect

    with _opened(url) as engine:
        return "assignment" in inspect(engine).get_table_names()


def _copy_rows(url, copy):
    """Every row of nbgrader's tables (and the alembic version) from ``url`` into the new SQLite
    file ``copy``, in one read transaction (a consistent view)."""
    from nbgrader.api import Base
    from sqlalchemy import create_engine, text

    dst = create_engine(f"sqlite:///{copy}")
    try:
        Base.metadata.create_all(dst)
        with _opened(url) as src, src.connect() as read, dst.begin() as write:
            if src.dialect.name == "postgresql":
                read.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            for table in Base.metadata.sorted_tables:
                rows = [dict(row._mapping) for row in read.execute(table.select())]
                if rows:
                    write.execute(table.insert(), rows)
            version = read.execute(text("SELECT version_num FROM alembic_version")).scalar()
            write.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            write.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"),
                          {"v": version})
    finally:
        dst.dispose()


def snapshot(url):
    """A consistent copy of the gradebook at ``url`` as the bytes of an SQLite file.

    SQLite is copied with its online backup (``coursekit.engine.workspace``); another database
    is read in one transaction into a fresh SQLite file with nbgrader's schema.

    Raises:
        GradebookUnavailable: its database server cannot be opened (:func:`check`).
    """
    path = sqlite_path(url)
    if path is not None:
        from coursekit.engine import workspace

        return workspace.snapshot_gradebook(path)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "gradebook.db"
        _copy_rows(url, copy)
        return copy.read_bytes()
