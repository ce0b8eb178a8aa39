"""The course's gradebook wherever ``c.CourseDirectory.db_url`` puts it: SQLite or a server.

SQLite (the default, ``sqlite:///gradebook.db`` in the course folder) suits one grader at a
time. When the service (``coursekit serve``), a batch (``coursekit autograde``), ``coursekit
report`` and formgrader touch the gradebook at once, point ``db_url`` at PostgreSQL
(``postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB``, psycopg 3). Grading jobs always get a
private SQLite copy (:func:`snapshot`), whatever the course uses; only the master writes the
course's gradebook.
"""
import os
import tempfile
from pathlib import Path

__all__ = ["absolute_url", "sqlite_path", "exists", "snapshot"]


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
    """Whether the gradebook at ``url`` exists and has nbgrader's tables (never creates it)."""
    path = sqlite_path(url)
    if path is not None:
        return path.is_file()
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        return "assignment" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _copy_rows(url, copy):
    """Every row of nbgrader's tables (and the alembic version) from ``url`` into the new SQLite
    file ``copy``, in one read transaction (a consistent view)."""
    from nbgrader.api import Base
    from sqlalchemy import create_engine, text

    src, dst = create_engine(url), create_engine(f"sqlite:///{copy}")
    try:
        Base.metadata.create_all(dst)
        with src.connect() as read, dst.begin() as write:
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
        src.dispose()
        dst.dispose()


def snapshot(url):
    """A consistent copy of the gradebook at ``url`` as the bytes of an SQLite file.

    SQLite is copied with its online backup (``coursekit.engine.workspace``); another database
    is read in one transaction into a fresh SQLite file with nbgrader's schema.
    """
    path = sqlite_path(url)
    if path is not None:
        from coursekit.engine import workspace

        return workspace.snapshot_gradebook(path)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "gradebook.db"
        _copy_rows(url, copy)
        return copy.read_bytes()
