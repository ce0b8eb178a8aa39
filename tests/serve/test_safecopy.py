"""Copying a submission its owner may be changing (``coursekit.serve.safecopy``).

The swaps a student can make while the copy runs are made here at the worst moment: between
the listing of a folder and the opening of an entry (``os.stat`` of the module is wrapped to
swap right after it answers), as a reviewer's inotify watcher did with ``renameat2``.
"""
import os
import time

import pytest

from coursekit.serve import safecopy
from coursekit.serve.safecopy import CopyLimits, CopyRefused, copy_submission, last_change


def _secret(tmp_path):
    secret = tmp_path / "instructor" / "reference.py"
    secret.parent.mkdir()
    secret.write_text("THE-ANSWER-KEY = 42\n")
    return secret


def _folder(tmp_path):
    src = tmp_path / "inbound"
    (src / "x" / "data").mkdir(parents=True)
    (src / "x" / "data" / "mine.txt").write_text("mine")
    (src / "work.ipynb").write_text("{}")
    return src


def _copied_text(dest):
    return "".join(p.read_text() for p in dest.rglob("*") if p.is_file() and not p.is_symlink())


def _swap_after_stat(monkeypatch, name, swap):
    """Call ``swap()`` right after the copy has stat-ed the entry ``name`` (listed, not yet
    opened): the race window a student aims at."""
    real = os.stat

    def stat(path, *args, **kwargs):
        answer = real(path, *args, **kwargs)
        if path == name and kwargs.get("dir_fd") is not None and not swap.done:
            swap.done = True
            swap()
        return answer

    swap.done = False
    monkeypatch.setattr(safecopy.os, "stat", stat)


def test_is_a_folder_swapped_for_a_link_after_its_listing_never_followed(tmp_path, monkeypatch):
    secret = _secret(tmp_path)
    src = _folder(tmp_path)

    def swap():
        os.rename(src / "x" / "data", src / "x" / "moved")
        os.symlink(secret.parent, src / "x" / "data")

    _swap_after_stat(monkeypatch, "data", swap)
    with pytest.raises(OSError):
        copy_submission(src, tmp_path / "dest")
    assert swap.done and "THE-ANSWER-KEY" not in _copied_text(tmp_path / "dest")


def test_is_a_folder_swapped_for_another_folder_refused(tmp_path, monkeypatch):
    src = _folder(tmp_path)
    (src / "other").mkdir()

    def swap():
        os.rename(src / "x" / "data", src / "x" / "moved")
        os.rename(src / "other", src / "x" / "data")

    _swap_after_stat(monkeypatch, "data", swap)
    with pytest.raises(CopyRefused, match="changed while it was being copied"):
        copy_submission(src, tmp_path / "dest")


def test_is_a_file_swapped_for_a_link_after_its_listing_never_read(tmp_path, monkeypatch):
    secret = _secret(tmp_path)
    src = _folder(tmp_path)

    def swap():
        os.unlink(src / "work.ipynb")
        os.symlink(secret, src / "work.ipynb")

    _swap_after_stat(monkeypatch, "work.ipynb", swap)
    with pytest.raises(OSError):
        copy_submission(src, tmp_path / "dest")
    assert swap.done and "THE-ANSWER-KEY" not in _copied_text(tmp_path / "dest")


def test_are_links_left_out_and_nothing_behind_them_copied(tmp_path):
    secret = _secret(tmp_path)
    src = _folder(tmp_path)
    (src / "notes.txt").symlink_to(secret)
    (src / "everything").symlink_to("/")
    result = copy_submission(src, tmp_path / "dest")
    assert sorted(result.left_out) == ["everything", "notes.txt"]
    assert "THE-ANSWER-KEY" not in _copied_text(tmp_path / "dest")
    assert (tmp_path / "dest" / "x" / "data" / "mine.txt").read_text() == "mine"
    assert (result.files, result.bytes) == (2, 6)


@pytest.mark.parametrize("make, message", [
    (lambda src: os.link(src / "work.ipynb", src / "again.ipynb"), "hard link"),
    (lambda src: os.mkfifo(src / "pipe"), "not a regular file"),
    (lambda src: [(src / f"f{i}").write_text("") for i in range(12)], "more than 10 files"),
    (lambda src: (src / "big").write_bytes(b"0" * 5000), "larger than the course allows"),
])
def test_is_what_nbgrader_submit_never_makes_refused(tmp_path, make, message):
    src = _folder(tmp_path)
    make(src)
    with pytest.raises(CopyRefused, match=message):
        copy_submission(src, tmp_path / "dest", CopyLimits(max_files=10, max_bytes=4000))


def test_does_a_deep_folder_stop_the_copy_without_recursion(tmp_path):
    src = _folder(tmp_path)
    deep = src
    for _ in range(600):  # a RecursionError for a recursive copy
        deep = deep / "d"
        deep.mkdir()
    with pytest.raises(CopyRefused, match="nested more than 8 folders deep"):
        copy_submission(src, tmp_path / "dest")
    with pytest.raises(CopyRefused, match="nested more than 8"):
        last_change(src)


def test_is_a_file_of_another_account_refused(tmp_path):
    src = _folder(tmp_path)
    os.chown(src / "work.ipynb", 65534, 65534)
    with pytest.raises(CopyRefused, match="work.ipynb belongs to another account"):
        copy_submission(src, tmp_path / "dest", owner_uid=os.getuid())
    os.chown(src / "work.ipynb", os.getuid(), os.getgid())
    assert copy_submission(src, tmp_path / "dest2", owner_uid=os.getuid()).files == 2


def test_is_work_rewritten_after_the_deadline_refused(tmp_path):
    src = _folder(tmp_path)
    deadline = time.time()
    time.sleep(0.05)
    (src / "work.ipynb").write_text('{"late": true}')  # the folder's own ctime does not move
    assert last_change(src) > deadline
    with pytest.raises(CopyRefused, match="work.ipynb was changed after the submission arrived"):
        copy_submission(src, tmp_path / "dest", not_after=deadline)


def test_are_files_over_the_file_limit_left_out_and_ignored_names_skipped(tmp_path):
    src = _folder(tmp_path)
    (src / "model.pt").write_bytes(b"0" * 3000)
    (src / ".ipynb_checkpoints").mkdir()
    (src / ".ipynb_checkpoints" / "old.ipynb").write_text("{}")
    result = copy_submission(src, tmp_path / "dest",
                             CopyLimits(max_file_bytes=2000, ignore=(".ipynb_checkpoints",)))
    assert result.left_out == ["model.pt"]
    assert not (tmp_path / "dest" / ".ipynb_checkpoints").exists()


def test_does_a_flood_of_empty_folders_stop_at_the_entry_limit_with_few_handles(tmp_path):
    src = _folder(tmp_path)
    for i in range(3000):
        (src / "b" / f"d{i}").mkdir(parents=True)
    os.mkfifo(src / "zz")  # would fail the copy only at the very end of a full walk
    opened = len(os.listdir("/proc/self/fd"))
    started = time.monotonic()
    with pytest.raises(CopyRefused, match="more than 2000 files and folders"):
        copy_submission(src, tmp_path / "dest", CopyLimits(max_entries=2000))
    assert time.monotonic() - started < 10
    assert len(os.listdir("/proc/self/fd")) == opened  # every handle closed
    assert sum(1 for _ in (tmp_path / "dest").rglob("*")) <= 2000


def test_is_a_folder_renamed_into_the_admitted_ones_place_refused(tmp_path):
    src = _folder(tmp_path)
    admitted = os.stat(src)
    os.rename(src, tmp_path / "elsewhere")
    _folder(tmp_path)  # a new folder of the same name
    with pytest.raises(CopyRefused, match="replaced after it arrived"):
        copy_submission(src, tmp_path / "dest", identity=(admitted.st_dev, admitted.st_ino))
