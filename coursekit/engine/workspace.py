"""The prepare stage's material: files packed by the master, unpacked into a private course.

A job carries its files as bytes (no shared filesystem needed): the course's instructor parts
(:func:`pack_course`, which leaves out the samples: nothing a grading task needs, and nothing a
kernel without a sandbox should find), a consistent snapshot of the gradebook, and the student's
submitted folder. :func:`unpack` makes the worker's private course; :func:`read_files` collects
what nbgrader wrote for the submission.

The student's folder is packed by :func:`pack_submission`, which looks before it reads: it walks
the folder without recursion, without following links, and checks sizes, counts and depth from
``stat`` alone, so a 1 GiB file, a million files or a thousand nested folders cost the master
neither memory nor a ``RecursionError``. What is over a limit is set aside with a note, as
preflight does for big files, before any byte of it is read.
"""
import os
import stat
import io
import re
import sqlite3
import tarfile
import tempfile
from pathlib import Path

__all__ = ["pack", "pack_course", "pack_submission", "unpack", "snapshot_gradebook",
           "read_files", "MAX_FILES", "MAX_DEPTH"]

SKIP = re.compile(r"(^|/)(__pycache__|\.ipynb_checkpoints)(/|$)")
MAX_FILES = 1000  # files of one submission that are packed; the rest is set aside
MAX_DEPTH = 8     # folders below the submission's own; deeper ones are set aside


def pack(paths, base, skip=SKIP):
    """A tar (bytes) of files and folders ``paths``, named relative to ``base``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in paths:
            tar.add(path, arcname=str(Path(path).relative_to(base)),
                    filter=lambda info: None if skip.search(info.name) else info)
    return buffer.getvalue()


def _listing(folder, notes):
    """``[(path, relative name, size)]`` of the regular files under ``folder`` that may be
    packed (breadth first, by ``stat`` only); ``notes`` gets one line per kind set aside."""
    found, links, deep, todo = [], [], [], [(Path(folder), 0)]
    while todo:
        current, depth = todo.pop(0)
        with os.scandir(current) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                rel = Path(entry.path).relative_to(folder).as_posix()
                if SKIP.search(rel):
                    continue
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    (todo.append((Path(entry.path), depth + 1)) if depth < MAX_DEPTH
                     else deep.append(rel))
                elif stat.S_ISREG(mode):
                    found.append((Path(entry.path), rel, entry.stat(follow_symlinks=False)
                                  .st_size))
                else:
                    links.append(rel)
    if links:
        notes.append(f"set aside (links and special files are not graded): "
                     f"{', '.join(links[:5])}{' ...' if len(links) > 5 else ''}")
    if deep:
        notes.append(f"set aside: folders nested more than {MAX_DEPTH} deep "
                     f"({', '.join(deep[:3])}{' ...' if len(deep) > 3 else ''})")
    return found


def pack_submission(folder, file_bytes, total_bytes, notes):
    """A tar (bytes) of the student's ``folder``, within limits checked before reading.

    Args:
        folder: ``submitted/<student>/<assignment>/``.
        file_bytes: a larger file is set aside (the sandbox's ``file_size``).
        total_bytes: files past this sum are set aside (the sandbox's ``scratch_size``, where
            the copy must fit); at most :data:`MAX_FILES` files, :data:`MAX_DEPTH` folders deep.
        notes: a list that gets one line per kind of file set aside.

    Returns:
        the tar's bytes (at most about ``total_bytes``), named relative to ``folder``'s parent.
    """
    folder = Path(folder)
    files = _listing(folder, notes)
    kept, big, over, used = [], [], [], 0
    for path, rel, size in files:
        if size > file_bytes:
            big.append(f"{rel} ({size / 1024 ** 2:.0f} MB)")
        elif len(kept) >= MAX_FILES or used + size > total_bytes:
            over.append(rel)
        else:
            kept.append((path, rel))
            used += size
    if big:
        notes.append(f"set aside before grading, over {file_bytes / 1024 ** 2:.0f} MB: "
                     f"{', '.join(big[:5])}{' ...' if len(big) > 5 else ''}")
    if over:
        notes.append(f"set aside before grading, past {MAX_FILES} files or "
                     f"{total_bytes / 1024 ** 2:.0f} MB in all: {len(over)} files "
                     f"({', '.join(over[:3])}{' ...' if len(over) > 3 else ''})")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder_info = tar.gettarinfo(str(folder), arcname=folder.name)
        tar.addfile(folder_info)
        made = {folder.name}
        for path, rel in kept:
            parts = Path(rel).parts
            for i in range(1, len(parts)):  # the folders on the way, once each
                name = "/".join((folder.name, *parts[:i]))
                if name not in made:
                    made.add(name)
                    tar.addfile(tar.gettarinfo(str(folder.joinpath(*parts[:i])), arcname=name))
            try:
                with open(path, "rb") as handle:  # streamed into the tar, never read whole
                    info = tar.gettarinfo(fileobj=handle, arcname=f"{folder.name}/{rel}")
                    if info.size <= file_bytes:
                        tar.addfile(info, handle)
            except OSError as err:
                notes.append(f"set aside: {rel} could not be read ({err.strerror})")
    return buffer.getvalue()


def pack_course(course, assignment_id):
    """``nbgrader_config.py``, ``source/<a>/``, ``release/<a>/`` and ``assignments/<a>/``
    without ``samples/`` (a tar, bytes)."""
    root = course.root
    paths = [root / "nbgrader_config.py", course.source(assignment_id),
             course.assignment_folder(assignment_id)]
    paths += [p for p in [course.release(assignment_id)] if p.is_dir()]
    skip = re.compile(SKIP.pattern + rf"|^assignments/{re.escape(assignment_id)}/samples(/|$)")
    return pack(paths, root, skip)


def unpack(data, dest):
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")


def snapshot_gradebook(db_path):
    """A consistent copy of the SQLite gradebook, as bytes (SQLite's online backup)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "gradebook.db"
        src, dst = sqlite3.connect(db_path), sqlite3.connect(copy)
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return copy.read_bytes()


def read_files(folder):
    """``{relative path: (mode, bytes)}`` of every file under ``folder``."""
    return {str(p.relative_to(folder)): (p.stat().st_mode & 0o777, p.read_bytes())
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}
