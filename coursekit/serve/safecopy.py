"""Copy a submission out of the exchange while its owner may be changing it.

An inbound folder is its student's (nbgrader makes it 0777, its files theirs), and the service
copies it as root. A copy by path (``shutil.copytree``, nbgrader's ``do_copy``) follows a
subfolder that the student swaps for a link between the listing and the copy (a reviewer did it
with ``renameat2(RENAME_EXCHANGE)`` on inotify's signal, every time: root copied the reference
solution, the hidden checks and the gradebook into the submission, and the kernel printed them
into the feedback), recurses until ``RecursionError`` on a deep folder, and checks the size
before copying, not while. :func:`copy_submission` is written by hand because no library copies
a tree relative to open folder handles with limits: it

- opens every folder with ``O_DIRECTORY | O_NOFOLLOW`` relative to its parent's handle and checks
  that what it opened is what it listed (device and inode), so no link is followed at any level,
  swapped or not; links themselves are left out (nbgrader submit never makes one);
- opens every file the same way, copies only regular files with one link (a hard link to
  another's file is refused; nbgrader submit never makes one), owned by ``owner_uid`` when given;
- walks without recursion and stops at ``max_files`` files, ``max_depth`` folders deep,
  ``max_file_bytes`` per file (larger ones are left out, as nbgrader's ``max_file_size``)
  and ``max_bytes`` in all, counted while copying (bytes actually read, not a size read first);
- refuses an entry changed after ``not_after`` (its ``st_ctime``, which no user can set back;
  writing a file's bytes changes it): work rewritten in an already submitted folder after its
  arrival or the due date is not taken as on time;
- honours nbgrader's ``CourseDirectory.ignore`` and ``include`` globs.

A refusal raises :class:`CopyRefused` with a reason for the student; the caller removes what
was copied.
"""
import fnmatch
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CopyLimits", "CopyRefused", "CopyResult", "copy_submission", "last_change"]

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
CHUNK = 1 << 20


class CopyRefused(OSError):
    """The submission cannot be copied as it is; the message says why, for the student."""


@dataclass(frozen=True)
class CopyLimits:
    """What one submission may hold (defaults: nbgrader's ``max_dir_size`` of 100 MB and
    ``max_file_size`` of 100 MB, and the grader's packing limits of 1,000 files, 8 folders
    deep: ``coursekit.engine.workspace``)."""
    max_bytes: int = 100_000 * 1000
    max_file_bytes: int = 100_000 * 1000
    max_files: int = 1000
    max_depth: int = 8
    ignore: tuple = ()
    include: tuple = ("*",)


@dataclass
class CopyResult:
    """What :func:`copy_submission` copied: ``files``, ``bytes``, ``last_change`` (the latest
    ``st_ctime`` of anything copied, the folder itself included) and ``left_out`` (relative
    names of links and of files over ``max_file_bytes``)."""
    files: int = 0
    bytes: int = 0
    last_change: float = 0.0
    left_out: list = field(default_factory=list)


def _open_dir(name, dir_fd, listed):
    fd = os.open(name, _DIR, dir_fd=dir_fd)
    opened = os.fstat(fd)
    if listed is not None and (opened.st_dev, opened.st_ino) != (listed.st_dev, listed.st_ino):
        os.close(fd)
        raise CopyRefused(f"{name} changed while it was being copied; submit again and change "
                          f"nothing in the exchange")
    return fd, opened


def _check_entry(rel, info, owner_uid, not_after):
    if owner_uid is not None and info.st_uid != owner_uid:
        raise CopyRefused(f"{rel} belongs to another account; submit only your own files")
    if not_after is not None and info.st_ctime > not_after:
        raise CopyRefused(f"{rel} was changed after the submission arrived; submit again "
                          f"instead of changing a submitted folder")


def _wanted(name, limits):
    if any(fnmatch.fnmatch(name, glob) for glob in limits.ignore):
        return False
    return any(fnmatch.fnmatch(name, glob) for glob in limits.include)


def _walk(src, limits, owner_uid, not_after):
    """Yield ``(relative name, kind, dir_fd, name, stat)`` of every entry under ``src``, folders
    before their contents, with the checks of the module docstring; ``kind`` is "dir", "file",
    "link" or "big". The folder handles are closed when the walk ends."""
    top, info = _open_dir(src, None, None)
    if not stat.S_ISDIR(info.st_mode):
        os.close(top)
        raise CopyRefused("the submission is not a folder")
    _check_entry(".", info, owner_uid, not_after)
    yield ".", "top", None, None, info
    todo, files = [(top, "", 0)], 0
    try:
        while todo:
            fd, prefix, depth = todo.pop()
            try:
                for name in sorted(os.listdir(fd)):
                    rel = prefix + name
                    entry = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    mode = entry.st_mode
                    if stat.S_ISLNK(mode):
                        yield rel, "link", fd, name, entry
                    elif stat.S_ISDIR(mode):
                        if any(fnmatch.fnmatch(name, glob) for glob in limits.ignore):
                            continue  # include globs are for files, as nbgrader's
                        if depth + 1 > limits.max_depth:
                            raise CopyRefused(f"{rel} is nested more than {limits.max_depth} "
                                              f"folders deep; submit a flatter folder")
                        _check_entry(rel, entry, owner_uid, not_after)
                        sub, _ = _open_dir(name, fd, entry)
                        todo.append((sub, rel + "/", depth + 1))
                        yield rel, "dir", fd, name, entry
                    elif stat.S_ISREG(mode):
                        if not _wanted(name, limits):
                            continue
                        files += 1
                        if files > limits.max_files:
                            raise CopyRefused(f"the submission holds more than "
                                              f"{limits.max_files} files; submit only your work")
                        _check_entry(rel, entry, owner_uid, not_after)
                        kind = "big" if entry.st_size > limits.max_file_bytes else "file"
                        yield rel, kind, fd, name, entry
                    else:
                        raise CopyRefused(f"{rel} is not a regular file (a pipe, socket or "
                                          f"device: nbgrader submit makes none)")
            finally:
                os.close(fd)
    finally:
        for fd, _, _ in todo:
            os.close(fd)


def _copy_file(fd_dir, name, listed, dest, budget):
    """Copy the regular file ``name`` (in folder handle ``fd_dir``) to ``dest``; return bytes."""
    fd = os.open(name, _FILE, dir_fd=fd_dir)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) != (listed.st_dev,
                                                                            listed.st_ino):
            raise CopyRefused(f"{name} changed while it was being copied; submit again")
        if info.st_nlink != 1:
            raise CopyRefused(f"{name} is a hard link (nbgrader submit makes none); submit a "
                              f"copy of the file")
        copied = 0
        with open(dest, "wb") as out:
            while True:
                chunk = os.read(fd, CHUNK)
                if not chunk:
                    break
                copied += len(chunk)
                if copied > budget:
                    raise CopyRefused("the submission is larger than the course allows "
                                      "(c.CourseDirectory.max_dir_size); submit only your work")
                out.write(chunk)
        os.chmod(dest, stat.S_IMODE(info.st_mode) & 0o755 | 0o600)
        return copied, info.st_ctime
    finally:
        os.close(fd)


def copy_submission(src, dest, limits=CopyLimits(), owner_uid=None, not_after=None):
    """Copy the folder ``src`` into the new folder ``dest`` (module docstring).

    Args:
        src: the inbound folder.
        dest: a folder that must not exist yet (its parent is made).
        limits: :class:`CopyLimits`.
        owner_uid: every entry must belong to this uid (None: not checked).
        not_after: refuse an entry changed after this time (s since the epoch; None: no check).

    Returns:
        :class:`CopyResult`.

    Raises:
        CopyRefused: the reason, for the student; ``dest`` may hold part of the copy.
        OSError: the folder vanished or could not be read.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.mkdir()
    result = CopyResult()
    for rel, kind, fd, name, info in _walk(str(src), limits, owner_uid, not_after):
        result.last_change = max(result.last_change, info.st_ctime)
        if kind == "dir":
            (dest / rel).mkdir()
        elif kind in ("link", "big"):
            result.left_out.append(rel)
        elif kind == "file":
            copied, ctime = _copy_file(fd, name, info, dest / rel,
                                       limits.max_bytes - result.bytes)
            _check_entry(rel, os.stat(name, dir_fd=fd, follow_symlinks=False), owner_uid,
                         not_after)
            result.files += 1
            result.bytes += copied
            result.last_change = max(result.last_change, ctime)
    return result


def last_change(src, limits=CopyLimits()):
    """The latest ``st_ctime`` of the folder ``src`` and everything under it (s since the
    epoch), by the same walk as :func:`copy_submission`, nothing copied: when the submission
    was last changed, which no student can set back.

    Raises:
        CopyRefused, OSError: as :func:`copy_submission`.
    """
    latest = 0.0
    for _, _, _, _, info in _walk(str(src), limits, None, None):
        latest = max(latest, info.st_ctime)
    return latest
