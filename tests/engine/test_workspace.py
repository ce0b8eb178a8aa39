"""coursekit.engine.workspace: the master packs a submission within limits, before reading it."""
import io
import os
import tarfile
import tracemalloc

from conftest import nested_folders, remove_nested_folders
from coursekit.engine import workspace

MB = 1024 ** 2


def _names(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def _submission(tmp_path):
    folder = tmp_path / "submitted" / "ada" / "a1"
    folder.mkdir(parents=True)
    (folder / "a1.ipynb").write_text("{}")
    (folder / "best_model.pt").write_bytes(b"x" * 1000)
    return folder


def test_is_a_plain_submission_packed_whole_with_no_notes(tmp_path):
    folder = _submission(tmp_path)
    (folder / "data").mkdir()
    (folder / "data" / "extra.txt").write_text("hello")
    notes = []
    names = _names(workspace.pack_submission(folder, 256 * MB, 512 * MB, notes))
    assert {"a1", "a1/a1.ipynb", "a1/best_model.pt", "a1/data", "a1/data/extra.txt"} == set(names)
    assert names["a1/data/extra.txt"].size == 5 and notes == []
    out = tmp_path / "out"
    workspace.unpack(workspace.pack_submission(folder, 256 * MB, 512 * MB, []), out)
    assert (out / "a1" / "data" / "extra.txt").read_text() == "hello"


def test_is_a_huge_file_set_aside_without_reading_it(tmp_path):
    folder = _submission(tmp_path)
    with open(folder / "huge.bin", "wb") as handle:  # 1 GiB, sparse: no disk, no reading
        handle.truncate(1024 * MB)
    notes = []
    tracemalloc.start()
    data = workspace.pack_submission(folder, 256 * MB, 512 * MB, notes)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "a1/huge.bin" not in _names(data) and "a1/a1.ipynb" in _names(data)
    assert peak < 5 * MB
    assert notes == ["set aside before grading, over 256 MB: huge.bin (1024 MB)"]


def test_do_nested_folders_links_and_too_many_files_cost_only_a_note(tmp_path):
    folder = _submission(tmp_path)
    try:
        _nested_case(folder)
    finally:
        remove_nested_folders(folder)


def _nested_case(folder):
    deep = nested_folders(folder, 1000)  # once a RecursionError in the master: the batch stopped
    (deep / "bottom.txt").write_text("deep")
    os.symlink("/etc/passwd", folder / "passwd")
    os.mkfifo(folder / "pipe")
    many = folder / "many"
    many.mkdir()
    for i in range(workspace.MAX_FILES + 5):
        (many / f"{i:05d}.txt").write_text("1")
    notes = []
    names = _names(workspace.pack_submission(folder, 256 * MB, 512 * MB, notes))
    assert "a1/passwd" not in names and "a1/pipe" not in names
    assert not any(n.endswith("bottom.txt") for n in names)
    assert sum(1 for n, m in names.items() if m.isfile()) == workspace.MAX_FILES
    assert {"a1/a1.ipynb", "a1/best_model.pt"} <= set(names)  # the top comes first
    text = "\n".join(notes)
    assert "(links and special files are not graded): passwd, pipe" in text
    assert f"folders nested more than {workspace.MAX_DEPTH} deep" in text
    assert f"past {workspace.MAX_FILES} files" in text and "7 files" in text
