"""A real PostgreSQL server for the gradebook tests, started by the test itself.

Debian's ``postgresql`` package (``make postgres`` installs it as root; ``make test`` depends on
it): ``initdb`` in a temporary folder, ``postgres`` on a free port of 127.0.0.1 with its socket
in that folder, stopped at the end. As root the server runs as the ``postgres`` account (it
refuses root). Where PostgreSQL or psycopg is missing the tests are skipped with a loud warning,
never silently; ``COURSEKIT_REQUIRE_POSTGRES=1`` (``make test`` as root) fails them instead.

    with postgres_server(tmp_path) as url:  # postgresql+psycopg://postgres@127.0.0.1:PORT/postgres
        create_database(url, "course")
"""
import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

__all__ = ["pg_bin", "require_postgres", "postgres_server", "create_database"]


def pg_bin():
    """The folder of ``initdb`` and ``pg_ctl`` (Debian keeps them out of PATH), or None."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").is_file() and Path(folder, "pg_ctl").is_file():
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found and shutil.which("pg_ctl") else None


def require_postgres():
    """Skip the calling test, loudly, without PostgreSQL's server or psycopg."""
    problems = []
    if pg_bin() is None:
        problems.append("PostgreSQL's initdb/pg_ctl missing (Debian: apt-get install "
                        "postgresql; as root: make postgres)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        problems.append("psycopg missing (make venv installs requirements.txt)")
    if problems:
        message = f"WARNING: PostgreSQL test skipped: {'; '.join(problems)}."
        print(message, file=sys.stderr)
        if os.environ.get("COURSEKIT_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        warnings.warn(message)
        pytest.skip(message)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_owner(argv, folder):
    """``argv`` run as the owner of ``folder`` (``postgres`` when we are root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


@contextlib.contextmanager
def postgres_server(tmp_path):
    """A fresh PostgreSQL cluster in ``tmp_path/pg``; yields its superuser URL (trust auth)."""
    require_postgres()
    bin_dir, data = pg_bin(), Path(tmp_path) / "pg"
    data.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        for parent in Path(tmp_path).parents:  # postgres must reach its folder
            if parent == Path("/tmp").resolve() or parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o711)
        Path(tmp_path).chmod(Path(tmp_path).stat().st_mode | 0o711)
    port = _free_port()
    subprocess.run(_as_owner([str(bin_dir / "initdb"), "-D", str(data / "data"), "-U",
                              "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"], data),
                   check=True, capture_output=True, timeout=120)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c fsync=off"
    subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data / "data"), "-o", options,
                              "-l", str(data / "log"), "-w", "start"], data),
                   check=True, capture_output=True, timeout=120)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data / "data"), "-m",
                                  "immediate", "stop"], data), capture_output=True, timeout=60)


def create_database(url, name):
    """Create the database ``name`` on the server of ``url``; return its URL."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return url.rsplit("/", 1)[0] + f"/{name}"


def wait_for(check, seconds=30):
    """Poll ``check()`` until it is true; fail after ``seconds``."""
    deadline = time.time() + seconds
    while not check():
        assert time.time() < deadline, "timed out"
        time.sleep(0.2)
