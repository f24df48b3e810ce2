"""Run a command under the seccomp filters a unit file asks systemd for, without systemd.

`python sandbox.py UNIT -- COMMAND...` loads, as systemd's seccomp-util does for the unit's
SystemCallFilter=, SystemCallErrorNumber=, MemoryDenyWriteExecute= and
RestrictAddressFamilies=, one filter each (x86-64 rules), then execs COMMAND with the unit's
Environment= added. The syscall groups come from `systemd-analyze syscall-filter`, so they are
this machine's systemd's own. Other sandboxing (mount namespaces, capabilities) is not
reproduced here: `systemd-analyze verify` checks those settings parse.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.unit_files import read_unit

ALLOW = 0x7FFF0000
MASKED_EQ, EQ, GE = 7, 4, 5
PROT_WRITE, PROT_EXEC, SHM_EXEC = 0x2, 0x4, 0o100000
# The highest address family number there is (AF_MAX - 1 in linux/socket.h, 6.x).
LAST_FAMILY = 45


class ArgCmp(ctypes.Structure):
    """libseccomp's struct scmp_arg_cmp."""

    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


def errno_action(number: int) -> int:
    """SCMP_ACT_ERRNO(number)."""
    return 0x00050000 | (number & 0xFFFF)


class Filter:
    """One seccomp filter, built with libseccomp and loaded into this process."""

    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)

    def __init__(self, default_action: int) -> None:
        self.lib.seccomp_init.restype = ctypes.c_void_p
        self.ctx = ctypes.c_void_p(self.lib.seccomp_init(default_action))
        if not self.ctx:
            raise OSError("seccomp_init failed")

    def number(self, name: str) -> int | None:
        """The syscall's number on this architecture, None where it does not exist here."""
        nr = int(self.lib.seccomp_syscall_resolve_name(name.encode()))
        return None if nr < 0 else nr

    def rule(self, action: int, name: str, *cmps: tuple[int, int, int, int]) -> None:
        """Add a rule; a syscall this architecture lacks is skipped, as systemd does."""
        nr = self.number(name)
        if nr is None:
            return
        array = (ArgCmp * max(1, len(cmps)))(*(ArgCmp(*c) for c in cmps))
        result = self.lib.seccomp_rule_add_array(self.ctx, action, nr, len(cmps), array)
        if result < 0:
            raise OSError(-result, f"seccomp_rule_add {name}")

    def load(self) -> None:
        """Install the filter (libseccomp sets no_new_privs first, as NoNewPrivileges= does)."""
        result = self.lib.seccomp_load(self.ctx)
        if result < 0:
            raise OSError(-result, "seccomp_load")


def syscall_groups() -> dict[str, list[str]]:
    """Every @group and its members, as this machine's systemd defines them."""
    out = subprocess.run(
        ["systemd-analyze", "syscall-filter"], capture_output=True, text=True, check=True
    ).stdout
    groups: dict[str, list[str]] = {}
    current: list[str] = []
    for line in out.splitlines():
        text = line.strip()
        if line.startswith("@"):
            current = groups.setdefault(text, [])
        elif not line.startswith(" "):
            current = []  # a blank line or the closing notes: no group's members follow
        elif not text.startswith("#"):
            current.append(text)
    return groups


def expand(names: list[str], groups: dict[str, list[str]]) -> set[str]:
    """Syscall names with every @group replaced by its members, recursively."""
    found: set[str] = set()
    for name in names:
        found |= expand(groups[name], groups) if name.startswith("@") else {name}
    return found


def allowed_syscalls(lines: list[str], groups: dict[str, list[str]]) -> set[str]:
    """The allow list SystemCallFilter= lines give: @default, then each line adds or removes."""
    allowed = expand(["@default"], groups)
    for line in lines:
        if line.startswith("~"):
            allowed -= expand(line[1:].split(), groups)
        else:
            allowed |= expand(line.split(), groups)
    return allowed


def syscall_filter(lines: list[str], error: int) -> Filter:
    """SystemCallFilter=: everything not allowed fails with the unit's error number."""
    allowed = allowed_syscalls(lines, syscall_groups())
    built = Filter(errno_action(error))
    for name in sorted(allowed):
        built.rule(ALLOW, name)
    return built


def write_execute_filter() -> Filter:
    """MemoryDenyWriteExecute=yes: no memory both writable and executable, none made executable."""
    deny = errno_action(errno.EPERM)
    built = Filter(ALLOW)
    both = PROT_WRITE | PROT_EXEC
    built.rule(deny, "mmap", (2, MASKED_EQ, both, both))
    built.rule(deny, "mprotect", (2, MASKED_EQ, PROT_EXEC, PROT_EXEC))
    built.rule(deny, "pkey_mprotect", (2, MASKED_EQ, PROT_EXEC, PROT_EXEC))
    built.rule(deny, "shmat", (2, MASKED_EQ, SHM_EXEC, SHM_EXEC))
    return built


def address_family_filter(families: list[str]) -> Filter:
    """RestrictAddressFamilies=: socket() in any other family fails with EAFNOSUPPORT."""
    keep = {int(getattr(socket, name)) for name in families}
    deny = errno_action(errno.EAFNOSUPPORT)
    built = Filter(ALLOW)
    for family in range(LAST_FAMILY + 1):
        if family not in keep:
            built.rule(deny, "socket", (0, EQ, family, 0))
    built.rule(deny, "socket", (0, GE, LAST_FAMILY + 1, 0))
    return built


def main(argv: list[str]) -> None:
    """Load the unit's filters and exec the command after `--`."""
    unit = read_unit(Path(argv[0]))
    command = argv[argv.index("--") + 1 :]
    error = getattr(errno, unit.one("SystemCallErrorNumber"))
    filters = [address_family_filter(unit.one("RestrictAddressFamilies").split())]
    if unit.one("MemoryDenyWriteExecute") == "yes":
        filters.append(write_execute_filter())
    # Last, as systemd does: it may refuse the calls that load a filter.
    filters.append(syscall_filter(unit.all("SystemCallFilter"), error))
    env = dict(os.environ) | unit.environment()
    for built in filters:
        built.load()
    os.execve(command[0], command, env)


if __name__ == "__main__":
    main(sys.argv[1:])
