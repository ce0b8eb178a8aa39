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
  and ``max_bytes`` in all, counted while copying (bytes actually read, not a size read first),
  and ``max_entries`` entries of any kind (folders, links, skipped files: a tree of 200,000
  empty folders had cost 790 MB and a minute and a half a pass), depth first with at most
  ``max_depth + 1`` folder handles open;
- refuses an entry changed after ``not_after`` (its ``st_ctime``, which no user can set back;
  ``write(2)`` to a file changes it at once, a write through ``mmap`` only at writeback, up to
  about 30 s later on ext4 and never on tmpfs: keep the exchange on a disk file system): work
  rewritten in an already submitted folder after its arrival or the due date is not taken as
  on time;
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
    max_entries: int = 4000
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


def _walk(src, limits, owner_uid, not_after, identity=None):
    """Yield ``(relative name, kind, dir_fd, name, stat)`` of every entry under ``src``, folders
    before their contents, with the checks of the module docstring; ``kind`` is "top", "dir",
    "file", "link" or "big". Depth first, streaming each folder's entries: at most
    ``max_depth + 1`` folder handles are open at once, and no listing is held whole, whatever
    the folder holds. ``identity``: the ``(st_dev, st_ino)`` the folder must have (the one that
    was admitted, not one renamed into its place since)."""
    top, info = _open_dir(src, None, None)
    if identity is not None and (info.st_dev, info.st_ino) != tuple(identity):
        os.close(top)
        raise CopyRefused("the submission's folder was replaced after it arrived; submit again")
    _check_entry(".", info, owner_uid, not_after)
    yield ".", "top", None, None, info
    stack, files, seen = [(top, os.scandir(top), "", 0)], 0, 0
    try:
        while stack:
            fd, entries, prefix, depth = stack[-1]
            entry = next(entries, None)
            if entry is None:
                entries.close()
                os.close(fd)
                stack.pop()
                continue
            name = entry.name
            rel = prefix + name
            seen += 1
            if seen > limits.max_entries:
                raise CopyRefused(f"the submission holds more than {limits.max_entries} files "
                                  f"and folders; submit only your work")
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            mode = info.st_mode
            if stat.S_ISLNK(mode):
                yield rel, "link", fd, name, info
            elif stat.S_ISDIR(mode):
                if any(fnmatch.fnmatch(name, glob) for glob in limits.ignore):
                    continue  # include globs are for files, as nbgrader's
                if depth + 1 > limits.max_depth:
                    raise CopyRefused(f"{rel} is nested more than {limits.max_depth} folders "
                                      f"deep; submit a flatter folder")
                _check_entry(rel, info, owner_uid, not_after)
                sub, _ = _open_dir(name, fd, info)
                yield rel, "dir", fd, name, info
                stack.append((sub, os.scandir(sub), rel + "/", depth + 1))
            elif stat.S_ISREG(mode):
                if not _wanted(name, limits):
                    continue
                files += 1
                if files > limits.max_files:
                    raise CopyRefused(f"the submission holds more than {limits.max_files} "
                                      f"files; submit only your work")
                _check_entry(rel, info, owner_uid, not_after)
                yield rel, "big" if info.st_size > limits.max_file_bytes else "file", fd, \
                    name, info
            else:
                raise CopyRefused(f"{rel} is not a regular file (a pipe, socket or device: "
                                  f"nbgrader submit makes none)")
    finally:
        for fd, entries, _, _ in stack:
            entries.close()
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


def copy_submission(src, dest, limits=CopyLimits(), owner_uid=None, not_after=None,
                    identity=None):
    """Copy the folder ``src`` into the new folder ``dest`` (module docstring).

    Args:
        src: the inbound folder.
        dest: a folder that must not exist yet (its parent is made).
        limits: :class:`CopyLimits`.
        owner_uid: every entry must belong to this uid (None: not checked).
        not_after: refuse an entry changed after this time (s since the epoch; None: no check).
        identity: ``(st_dev, st_ino)`` the folder must have (the admitted one; None: any).

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
    for rel, kind, fd, name, info in _walk(str(src), limits, owner_uid, not_after, identity):
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


def last_change(src, limits=CopyLimits(), identity=None):
    """The latest ``st_ctime`` of the folder ``src`` and everything under it (s since the
    epoch), by the same walk as :func:`copy_submission`, nothing copied: when the submission
    was last changed, which no student can set back.

    Raises:
        CopyRefused, OSError: as :func:`copy_submission`.
    """
    latest = 0.0
    for _, _, _, _, info in _walk(str(src), limits, None, None, identity):
        latest = max(latest, info.st_ctime)
    return latest
