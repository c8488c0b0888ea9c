"""The running ``aifs mount`` server behind a mount point, for the mount benchmarks
(bench/rg_mount.py, bench/scale.py): its pid and its memory, read from ``/proc``."""

from __future__ import annotations

import os
from pathlib import Path


def server_pid(mnt: Path) -> int:
    """The pid of the background mount server serving ``mnt`` (found by its command line).
    Raises ``RuntimeError`` if no such process exists."""
    want = os.fsencode(mnt)
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            argv = Path(f"/proc/{d}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"mount" in argv and want in argv and b"aifs" in argv:
            return int(d)
    raise RuntimeError(f"no mount server found for {mnt}")


def rss_mb(pid: int) -> tuple[float, float]:
    """``(VmRSS, VmHWM)`` of ``pid`` in MiB."""
    vals = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            vals[key] = int(rest.split()[0]) / 1024
    return vals["VmRSS"], vals["VmHWM"]
