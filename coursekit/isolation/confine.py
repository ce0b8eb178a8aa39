"""Confine a freshly forked process as bwrap confines a cold kernel: the Linux calls, by hand.

A warm sandboxed kernel (``coursekit.isolation.warm_sandbox``) is a fork of the host's kernel
fork server, which imported torch and ipykernel and never runs student code. The fork confines
itself before any student code exists in it, with the same view ``bwrap`` would get from
``coursekit.isolation.sandbox.view`` (one list of operations serves both, so they cannot drift
apart):

1. :func:`enter` (in the fork, single-threaded, root): join the client's mount namespace
   (``setns``: the grading job's private runtime tmpfs is there), then ``unshare`` new mount,
   network, IPC, UTS, cgroup and PID namespaces, and make every mount private (``MS_REC |
   MS_PRIVATE``: nothing propagates back to the host). ``CLONE_NEWPID`` applies to children:
   the caller forks next, and that child is PID 1 of the new namespace;
2. :func:`build_root` (in PID 1): a tmpfs root, the view's operations in order (read-only
   binds remounted ``MS_RDONLY | MS_NOSUID | MS_NODEV``, submounts included; a fresh
   ``/proc`` of the new PID namespace with ``/proc/sys`` and friends read-only; a minimal
   ``/dev``; capped tmpfs at ``/tmp`` and ``/dev/shm``), the root remounted read-only,
   ``pivot_root`` into it and the old root detached; the loopback interface up (as bwrap);
3. :func:`lock_down` (in the process that will run student code): ``PR_SET_NO_NEW_PRIVS``,
   every capability out of the bounding set, and only ``CAP_CHOWN``, ``CAP_SETUID`` and
   ``CAP_SETGID`` left (what bwrap leaves a kernel run as root: the launcher copies the
   submission and then drops to the kernel's uid, which clears them).

ctypes, because Python 3.11's ``os`` has no ``unshare``, ``setns`` or ``pivot_root`` and no
maintained package covers mounts, pivot_root and capabilities together (python-prctl,
pyroute2 and the like each cover a part and need a compiler or a daemon).
"""
import ctypes
import errno
import fcntl
import os
import platform
import re
import socket
import struct
from pathlib import Path

__all__ = ["enter", "build_root", "lock_down", "usable", "cap_eff", "NAMESPACES"]

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000
NAMESPACES = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP \
    | CLONE_NEWPID
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_BIND, MS_REC, MS_PRIVATE, MS_SILENT = 4096, 16384, 1 << 18, 32768
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
CAP_CHOWN, CAP_SETGID, CAP_SETUID = 0, 6, 7
KEPT_CAPS = (CAP_CHOWN, CAP_SETGID, CAP_SETUID)
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217}
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")  # bwrap --dev's
COVERED_PROC = ("sys", "sysrq-trigger", "irq", "bus")  # bwrap --proc makes these read-only
BASE = "/tmp"  # where the new root is built (in the private mount namespace only)

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None, what="mount"):
    enc = (lambda s: None if s is None else str(s).encode())
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags),
                       enc(data)), f"{what} {target}")


def usable():
    """(usable, why not): can this process fork confined kernels (Linux, root, pivot_root)?"""
    if not hasattr(os, "fork") or platform.system() != "Linux":
        return False, "confined forks need Linux"
    if os.geteuid() != 0:
        return False, "confined forks need root (bwrap starts cold kernels instead)"
    if platform.machine() not in PIVOT_ROOT:
        return False, f"pivot_root's number is unknown on {platform.machine()}"
    return True, None


def enter(mount_ns_fd=None, cgroup_procs=()):
    """Join the cgroup and the mount namespace of the client, then new namespaces (see the
    module docstring). The caller must be single-threaded; its next child is PID 1."""
    for procs in cgroup_procs or ():  # before CLONE_NEWCGROUP: the group is the new root
        Path(procs).write_text(str(os.getpid()))
    if mount_ns_fd is not None:
        _check(_libc.setns(mount_ns_fd, CLONE_NEWNS), "setns to the client's mount namespace")
    _check(_libc.unshare(NAMESPACES), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE, what="make private")


def die_with_parent(signum=9):
    """``PR_SET_PDEATHSIG``: this process gets ``signum`` when its parent ends."""
    _check(_libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def _bind(source, target, readonly, devices=False):
    """Bind ``source`` at ``target`` (recursively), then remount it and its submounts with
    ``MS_NOSUID`` (and ``MS_NODEV`` unless ``devices``, ``MS_RDONLY`` if ``readonly``)."""
    src = Path(source)
    if not src.exists():
        raise FileNotFoundError(f"the sandbox's view names {source}, which does not exist")
    dst = Path(target)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        dst.mkdir(exist_ok=True)
    elif not dst.exists():
        dst.touch()
    _mount(source, target, None, MS_BIND | MS_REC | MS_SILENT, what="bind")
    flags = MS_REMOUNT | MS_BIND | MS_NOSUID | (0 if devices else MS_NODEV) \
        | (MS_RDONLY if readonly else 0)
    for point in _mounts_under(str(dst)):
        _mount(None, point, None, flags, what="remount")


def _mounts_under(target):
    """Mount points at or below ``target`` (``/proc/self/mountinfo``), top first."""
    found = []
    # while the root is built, /proc is the host's, under the old root (paths in it are
    # relative to this process's root all the same)
    info = next(p for p in ("/proc/self/mountinfo", "/oldroot/proc/self/mountinfo")
                if os.path.exists(p))
    for line in Path(info).read_text().splitlines():
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
        if point == target or point.startswith(target.rstrip("/") + "/"):
            found.append(point)
    return sorted(set(found), key=len)


def _tmpfs(target, size, mode, flags=MS_NOSUID | MS_NODEV):
    Path(target).mkdir(parents=True, exist_ok=True)
    _mount("tmpfs", target, "tmpfs", flags, f"mode={mode:o},size={int(size)}", what="tmpfs")


def _dev(new, old):
    """bwrap's ``--dev``: a tmpfs with the harmless devices, a private devpts, /dev/shm."""
    _tmpfs(new, 1 << 20, 0o755)
    for name in DEVICES:
        if os.path.exists(f"{old}/{name}"):
            _bind(f"{old}/{name}", f"{new}/{name}", readonly=False, devices=True)
    for name, target in (("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2"), ("fd", "/proc/self/fd"),
                         ("core", "/proc/kcore"), ("ptmx", "pts/ptmx")):
        os.symlink(target, f"{new}/{name}")
    for name in ("shm", "pts"):
        os.mkdir(f"{new}/{name}", 0o755)
    _mount("devpts", f"{new}/pts", "devpts", MS_NOSUID | MS_NOEXEC,
           "newinstance,ptmxmode=0666,mode=620", what="devpts")


def _proc(new, old):
    """A fresh /proc of this (new) PID namespace; bwrap's covered folders read-only."""
    Path(new).mkdir(parents=True, exist_ok=True)
    _mount("proc", new, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, what="proc")
    for name in COVERED_PROC:
        if os.path.exists(f"{new}/{name}"):
            _bind(f"{new}/{name}", f"{new}/{name}", readonly=True)


def _apply(op, new, old):
    kind, *args = op
    if kind == "proc":
        _proc(new + args[0], old)
    elif kind == "dev":
        _dev(new + args[0], old + "/dev")
    elif kind == "tmpfs":
        path, size, mode = args
        _tmpfs(new + path, size, mode)
    elif kind == "dir":
        path, mode = args
        Path(new + path).mkdir(parents=True, exist_ok=True)
        os.chmod(new + path, mode)
    elif kind == "symlink":
        target, path = args
        Path(new + path).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, new + path)
    elif kind in ("ro-bind", "bind", "dev-bind"):
        source, path = args
        # a bound path under /proc comes from the host's /proc (bwrap: the old root's)
        _bind(old + source, new + path, readonly=kind == "ro-bind", devices=kind == "dev-bind")
    else:
        raise ValueError(f"unknown sandbox view operation {op!r}")


def build_root(ops):
    """Make the view ``ops`` (``coursekit.isolation.sandbox.view``) this mount namespace's
    root; to be called by PID 1 of the new PID namespace (after :func:`enter`)."""
    _tmpfs(BASE, 1 << 20, 0o755)
    os.chdir(BASE)
    os.mkdir("newroot", 0o755)
    _mount("newroot", "newroot", None, MS_BIND | MS_REC | MS_SILENT, what="bind newroot")
    os.mkdir("oldroot", 0o755)
    _check(_libc.syscall(PIVOT_ROOT[platform.machine()], b".", b"oldroot"), "pivot_root")
    os.chdir("/")
    new, old = "/newroot", "/oldroot"
    for op in ops:
        _apply(op, new, old)
    _mount(None, new, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
           what="remount the root read-only")
    _check(_libc.umount2(old.encode(), MNT_DETACH), "detach the old root")
    os.chdir(new)
    _check(_libc.syscall(PIVOT_ROOT[platform.machine()], b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "detach the build folder")
    os.chdir("/")
    _loopback_up()


def _loopback_up():
    """Bring ``lo`` up in the new network namespace, as bwrap does (127.0.0.1 refuses
    connections instead of being unreachable); nothing else exists there."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, siocgifflags, request))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sH14x", b"lo", flags | iff_up))


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def lock_down(kept=KEPT_CAPS):
    """No new privileges ever; no capability but ``kept`` (bwrap's as root: chown, setuid,
    setgid for the launcher), none in the bounding or ambient sets."""
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for cap in range(last + 1):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
            _check(-1, f"prctl(PR_CAPBSET_DROP, {cap})")
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    mask = sum(1 << cap for cap in kept)
    data = (_CapData * 2)(_CapData(mask, mask, 0), _CapData(0, 0, 0))
    _check(_libc.capset(ctypes.byref(_CapHeader(0x20080522, 0)), data), "capset")


def cap_eff(pid="self"):
    """The effective capability mask of a process (``/proc/<pid>/status``'s ``CapEff``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    raise OSError(f"no CapEff in /proc/{pid}/status")
