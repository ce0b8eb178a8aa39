"""One control group per submission: memory, processes and CPU time for all of it, together.

``RLIMIT_DATA`` and ``RLIMIT_NPROC`` (``coursekit.isolation.limits``) bound each process, not
the submission: shared memory and tmpfs pages are not data, and a kernel that restarts or a
verification child gets limits of its own. Here every process that runs the student's code (the
kernel and each of its restarts, the verification child, whatever they start) joins one cgroup
made for the submission, whose memory limit counts anonymous, shared and tmpfs memory (the
sandbox's ``/tmp``, ``/dev/shm`` and runtime folder are tmpfs, so what the kernel writes there is
charged here too), whose ``pids`` limit counts processes and threads, and whose CPU quota
(where the ``cpu`` controller is there) keeps its processes, however many and in however many
sessions, to its share of the host's cores. When the limit is hit
the kernel's out-of-memory killer ends a process of the group (the kernel: the cell is
recorded as a death and the notebook goes on in a fresh kernel), never the grader.

Both hierarchies: cgroup v2 (``/sys/fs/cgroup/cgroup.controllers``; the ``memory`` and ``pids``
controllers enabled below the grader's own group) and v1 (``/sys/fs/cgroup/memory`` and
``/sys/fs/cgroup/pids``). Where neither can be used (not root, no controller, a read-only
``/sys/fs/cgroup``) :func:`create` returns no group and a reason: the submission is graded with
the per-process limits only and the reason goes into its status entry.

Written by hand: the maintained tools (systemd-run, libcgroup's cgexec) need a systemd or a
daemon that grading machines and containers often lack, and the Python packages for cgroups
cover v1 only or are unmaintained; what is needed here is a dozen file writes.

    group, why = create("s001", memory=6 << 30, pids=512)
    argv = group.wrap(["bwrap", ...])      # the process joins the group before it execs
    ...
    usage = group.close()                  # kills what is left; {"peak": bytes, "oom_kills": n}
"""
import os
import re
import shlex
import signal
import time
import uuid
from pathlib import Path

__all__ = ["Group", "create", "check", "ROOT"]

ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids")
PERIOD_US = 100_000  # the CPU quota's period


def _own_path(controller):
    """This process's group in the hierarchy of ``controller`` (v1) or the unified one ("")."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if (controller == "" and names == "") or controller in names.split(","):
            return path
    return None


def _parent(mount, path):
    """The folder of ``path`` under ``mount``; the mount itself when ``path`` is not visible
    there (a cgroup namespace shows the grader's group as the root)."""
    folder = mount / path.lstrip("/")
    return folder if folder.is_dir() else mount


class Group:
    """A submission's cgroup (see the module docstring).

    Attributes:
        version: 1 or 2.
        folders: the group's folders (v1: one per controller; v2: one).
        memory: the memory limit, bytes; ``pids``: the process and thread limit.
    """

    def __init__(self, version, folders, memory, pids, cpus=None):
        self.version, self.folders, self.memory, self.pids = version, folders, memory, pids
        self.cpus = cpus  # the CPU quota in cores (None: no cpu controller, no quota)

    def __repr__(self):
        return f"Group(v{self.version}, {[str(f) for f in self.folders]})"

    @property
    def procs_files(self):
        return [str(folder / "cgroup.procs") for folder in self.folders]

    def describe(self):
        """One line for the status entry: what bounds the submission."""
        cpu = (f", {self.cpus:g} cores of CPU time" if self.cpus else
               ", no CPU quota (no cpu controller)")
        return (f"cgroup v{self.version}: {self.memory / 2 ** 30:.3g} GiB of memory (shared "
                f"memory and tmpfs included), {self.pids} processes{cpu} for the whole "
                f"submission")

    def wrap(self, argv):
        """``argv`` run by a shell that first moves itself into the group, then ``exec``\\ s it:
        everything ``argv`` starts is in the group before it runs. Exit 125 if it cannot."""
        joins = " && ".join(f"echo $$ > {shlex.quote(f)}" for f in self.procs_files)
        return ["/bin/sh", "-c", f'{{ {joins}; }} 2>/dev/null || exit 125; exec "$@"',
                "coursekit-cgroup", *argv]

    def join(self, pid=None):
        """Move ``pid`` (default: this process) into the group."""
        for procs in self.procs_files:
            Path(procs).write_text(str(pid or os.getpid()))

    def pids_in(self):
        found = set()
        for procs in self.procs_files:
            try:
                found.update(int(p) for p in Path(procs).read_text().split())
            except OSError:
                pass
        return found

    def usage(self):
        """``{"peak": bytes, "oom_kills": n}`` so far (None where the kernel does not say)."""
        return {"peak": _peak(self), "oom_kills": _oom_kills(self)}

    def close(self):
        """Kill every process left in the group, remove it; its :meth:`usage` at the end."""
        usage = self.usage()
        deadline = time.monotonic() + 10
        while True:
            left = self.pids_in()
            if not left or time.monotonic() > deadline:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.05)
        for folder in self.folders:
            for _ in range(50):  # rmdir fails while the last processes are being reaped
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
        return usage


def _read(path):
    try:
        return Path(path).read_text()
    except OSError:
        return None


def _peak(group):
    if group.version == 1:
        text = _read(group.folders[0] / "memory.max_usage_in_bytes")
    else:
        text = _read(group.folders[0] / "memory.peak")  # Linux 5.19 and later
    return int(text) if text and text.strip().isdigit() else None


def _oom_kills(group):
    name = "memory.oom_control" if group.version == 1 else "memory.events"
    match = re.search(r"^oom_kill (\d+)", _read(group.folders[0] / name) or "", re.M)
    return int(match.group(1)) if match else None


def _write(folder, name, value):
    (folder / name).write_text(str(value))


def _make(parent, name):
    folder = parent / name
    folder.mkdir()
    return folder


def _create_v2(name, memory, pids, cpus):
    parent = _parent(ROOT, _own_path("") or "/")
    wanted = {"memory", "pids"}
    available = set((_read(parent / "cgroup.controllers") or "").split())
    if not wanted <= available:
        raise OSError(f"the controllers {sorted(wanted - available)} are not available in "
                      f"{parent}")
    wanted |= {"cpu"} & available
    enabled = set((_read(parent / "cgroup.subtree_control") or "").split())
    if not wanted <= enabled:
        # fails where the grader's own group holds processes (cgroup v2's no-internal-process
        # rule): then give the grader a group below a delegated one (systemd: Delegate=yes)
        _write(parent, "cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(wanted)))
    folder = _make(parent, name)
    try:
        _write(folder, "memory.max", memory)
        if (folder / "memory.swap.max").exists():
            _write(folder, "memory.swap.max", 0)
        _write(folder, "pids.max", pids)
        if cpus and "cpu" in wanted:
            _write(folder, "cpu.max", f"{int(cpus * PERIOD_US)} {PERIOD_US}")
        else:
            cpus = None
    except OSError:
        folder.rmdir()
        raise
    return Group(2, [folder], memory, pids, cpus)


def _create_v1(name, memory, pids, cpus):
    folders = []
    try:
        for controller in V1_CONTROLLERS:
            mount = ROOT / controller
            if not mount.is_dir():
                raise OSError(f"the cgroup v1 controller {controller!r} is not mounted at {mount}")
            folders.append(_make(_parent(mount, _own_path(controller) or "/"), name))
        memory_folder, pids_folder = folders
        _write(memory_folder, "memory.limit_in_bytes", memory)
        if (memory_folder / "memory.memsw.limit_in_bytes").exists():  # no escape into swap
            _write(memory_folder, "memory.memsw.limit_in_bytes", memory)
        _write(pids_folder, "pids.max", pids)
        cpu_mount = ROOT / "cpu"
        if cpus and (cpu_mount / "cpu.cfs_quota_us").exists():
            folders.append(_make(_parent(cpu_mount, _own_path("cpu") or "/"), name))
            _write(folders[-1], "cpu.cfs_period_us", PERIOD_US)
            _write(folders[-1], "cpu.cfs_quota_us", int(cpus * PERIOD_US))
        else:
            cpus = None
    except OSError:
        for folder in folders:
            try:
                folder.rmdir()
            except OSError:
                pass
        raise
    return Group(1, folders, memory, pids, cpus)


def create(label, *, memory, pids, cpus=None):
    """A new group for one submission, or why there is none.

    Args:
        label: a name for the group's folder (the student id; made safe, made unique).
        memory: bytes for all the group's processes together (shared memory and tmpfs
            included).
        pids: processes and threads of the group together.
        cpus: CPU time for the group together, in cores (a quota per 100 ms period), so that
            no submission takes more than its share of the host whatever it starts; None (or
            no cpu controller): no quota.

    Returns:
        (:class:`Group`, None), or (None, the reason in one line, which says how to fix it).
    """
    if not hasattr(os, "fork") or not ROOT.is_dir():
        return None, "cgroups: not a Linux machine with /sys/fs/cgroup"
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", str(label))[:40]
    name = f"coursekit-{safe}-{uuid.uuid4().hex[:8]}"
    unified = (ROOT / "cgroup.controllers").exists()
    try:
        return (_create_v2 if unified else _create_v1)(name, int(memory), int(pids),
                                                        cpus), None
    except (OSError, ValueError) as err:
        return None, (f"cgroups unusable here (v{2 if unified else 1}: {err}); run the grader "
                      f"as root with /sys/fs/cgroup writable. Each process keeps its own limits "
                      f"(RLIMIT_DATA, RLIMIT_NPROC), which shared memory escapes")


def check():
    """(usable, one line for the batch output): can this machine give each submission a
    cgroup? Makes and removes a test group; the line is a loud WARNING when it cannot."""
    group, why = create("check", memory=1 << 30, pids=64, cpus=1)
    if group is None:
        return False, f"WARNING: {why}"
    group.close()
    cpu = ", CPU time" if group.cpus else ""
    return True, f"limits per submission: cgroup v{group.version} (memory, processes{cpu})"
