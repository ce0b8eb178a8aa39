"""No kernel keyrings and no user namespaces for a process that runs student code.

Every kernel and verification child of one grading thread runs as the same uid
(``sandbox.kernel_uid``), and Linux keeps a uid's keyrings (``@u``, ``@us``) after its processes
end: an attack review stored one submission's answers with ``add_key`` and had the next
submission on that thread read them back with ``keyctl`` (33 of 40 points with no solution code
of its own), warm and cold kernels alike. A kernel also inherited the grader's session keyring
(systemd gives a service one): it could read, add and clear the grader's keys. And student code
could ``unshare(CLONE_NEWUSER)`` and hold every capability inside a user namespace of its own,
kernel attack surface no honest notebook needs.

:func:`seal`, called once the process has its uid and before any student code, therefore
joins a new anonymous session keyring (nothing of the grader's is possessed any more), clears
the uid's user keyrings, and installs a seccomp filter that refuses ``add_key``,
``request_key``, ``keyctl``, ``unshare`` and ``clone`` with ``CLONE_NEWUSER``, and answers
``clone3`` with ENOSYS (its flags are in memory a filter cannot read; glibc then uses
``clone``). System calls of another ABI (i386 ``int 0x80``, x32) are refused as a whole, so the
numbers cannot be dodged.

Written by hand, a BPF program of a dozen instructions loaded with ``seccomp(2)``: libseccomp's
Python bindings are not on PyPI, and the program is small enough to read (`seccomp(2)`,
``struct seccomp_data``; Docker's default profile refuses the same calls).
"""
import ctypes
import errno
import os
import platform
import sys

__all__ = ["seal", "filter_program", "MACHINES"]

# per machine: AUDIT_ARCH, and the numbers of the system calls the filter looks at
MACHINES = {
    "x86_64": {"arch": 0xC000003E, "add_key": 248, "request_key": 249, "keyctl": 250,
               "unshare": 272, "clone": 56, "clone3": 435, "seccomp": 317, "x32": 0x40000000},
    "aarch64": {"arch": 0xC00000B7, "add_key": 217, "request_key": 218, "keyctl": 219,
                "unshare": 97, "clone": 220, "clone3": 435, "seccomp": 277, "x32": None},
}
CLONE_NEWUSER = 0x10000000
KEYCTL_JOIN_SESSION_KEYRING, KEYCTL_CLEAR = 1, 7
KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING = -4, -5
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC = 1, 1
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
# BPF opcodes (linux/bpf_common.h)
LD_ABS_W, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
NR, ARCH, ARG0 = 0, 4, 16  # offsets in struct seccomp_data (arg 0's low word, little-endian)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter))]


def filter_program(machine=None):
    """The filter as ``[(code, jt, jf, k)]`` for ``machine`` (default: this one's), or None
    where the kit has no numbers for it."""
    numbers = MACHINES.get(machine or platform.machine())
    if numbers is None or sys.byteorder != "little":
        return None
    deny, nosys = RET_ERRNO | errno.EPERM, RET_ERRNO | errno.ENOSYS
    # (label, code, true target, false target, k); targets are labels, resolved below
    code = [("arch", LD_ABS_W, None, None, ARCH),
            ("", JEQ, "nr", "nosys", numbers["arch"]),
            ("nr", LD_ABS_W, None, None, NR)]
    if numbers["x32"]:
        code.append(("", JGE, "nosys", "keys", numbers["x32"]))
    code += [("keys", JEQ, "deny", "", numbers["add_key"]),
             ("", JEQ, "deny", "", numbers["request_key"]),
             ("", JEQ, "deny", "", numbers["keyctl"]),
             ("", JEQ, "nosys", "", numbers["clone3"]),
             ("", JEQ, "flags", "", numbers["unshare"]),
             ("", JEQ, "flags", "allow", numbers["clone"]),
             ("flags", LD_ABS_W, None, None, ARG0),
             ("", JSET, "deny", "allow", CLONE_NEWUSER),
             ("allow", RET, None, None, RET_ALLOW),
             ("deny", RET, None, None, deny),
             ("nosys", RET, None, None, nosys)]
    where = {label: i for i, (label, *_rest) in enumerate(code) if label}
    program = []
    for i, (_, op, true, false, k) in enumerate(code):
        jump = (lambda t: 0 if t in (None, "") else where[t] - i - 1)
        program.append((op, jump(true), jump(false), k))
    return program


def _keyctl(number, *args):
    return _libc.syscall(ctypes.c_long(number), *(ctypes.c_long(a) for a in args))


def seal():
    """Keyrings and seccomp as the module docstring says, for this process and every thread
    and child it will have. Call it after the uid drop, before any student code.

    Returns:
        a line for the record: what was sealed.

    Raises:
        OSError: a step failed (the caller must not run student code then).
    """
    numbers = MACHINES.get(platform.machine())
    if numbers is not None:
        if _keyctl(numbers["keyctl"], KEYCTL_JOIN_SESSION_KEYRING, 0) < 0:
            raise OSError(ctypes.get_errno(), "keyctl(JOIN_SESSION_KEYRING)")
        for ring in (KEY_SPEC_USER_KEYRING, KEY_SPEC_USER_SESSION_KEYRING):
            _keyctl(numbers["keyctl"], KEYCTL_CLEAR, ring)  # what an earlier process left
    program = filter_program()
    if program is None:
        return f"seccomp: no filter for {platform.machine()} (keyrings only)"
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    filters = (_Filter * len(program))(*[_Filter(*step) for step in program])
    prog = _Program(len(program), filters)
    if _libc.syscall(ctypes.c_long(numbers["seccomp"]), ctypes.c_long(SECCOMP_SET_MODE_FILTER),
                     ctypes.c_long(SECCOMP_FILTER_FLAG_TSYNC), ctypes.byref(prog)) != 0:
        raise OSError(ctypes.get_errno(), "seccomp(SET_MODE_FILTER)")
    return "seccomp: no keyrings, no user namespaces"
