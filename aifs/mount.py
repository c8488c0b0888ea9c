"""Mount the archive with FUSE (foreground or as a background process) and unmount it.

``mount`` validates everything it can *before* forking, so that mistakes are reported by the
command the user typed, with a :class:`MountError` carrying a distinct exit code. The vault
reader is created by ``reader_factory`` inside the process that serves the mount (LMDB
environments must not cross a ``fork``).

Background protocol: the parent forks; the child calls ``setsid``, points stdin/stdout/stderr
at ``/dev/null``, opens the reader, calls ``pyfuse3.init`` and, once the trio loop serving
requests is running, writes one pickled message to a pipe: ``("ok", None)`` or
``("error", exception)``, then closes it. The parent re-raises a reported exception (so the
CLI maps vault errors like any other) or waits until ``os.path.ismount`` is true and returns 0.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import time
from typing import Callable

import pyfuse3
import trio

from .fs import AifsOperations
from .tree import Reader, RenderMarkdown, Tree

__all__ = [
    "EXIT_FUSE_UNAVAILABLE",
    "EXIT_MOUNTPOINT_BUSY",
    "EXIT_MOUNTPOINT_MISSING",
    "EXIT_MOUNT_FAILED",
    "EXIT_NOT_MOUNTED",
    "MountError",
    "mount",
    "umount",
]

log = logging.getLogger(__name__)

# Exit codes (``MountError.exit_code``), the same numbers as the table in ``aifs/cli.py``.
EXIT_MOUNTPOINT_MISSING = 8
"""The mount point does not exist or is not a directory."""
EXIT_MOUNTPOINT_BUSY = 9
"""The mount point is already a mount (maybe a stale one), is not empty, or is in use."""
EXIT_FUSE_UNAVAILABLE = 10
"""No ``/dev/fuse``, no ``fusermount3``, or the kernel refused the mount."""
EXIT_NOT_MOUNTED = 11
"""``umount`` of something that is not an aifs mount."""
EXIT_MOUNT_FAILED = 12
"""The mount process failed to start or to report in time (message says why)."""

FUSE_DEVICE = "/dev/fuse"
FSTYPE = "fuse.aifs"

ReaderFactory = Callable[[], Reader]


class MountError(Exception):
    """A mount/umount problem the user can fix; ``exit_code`` is one of the ``EXIT_*``."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __reduce__(self):  # crosses the pipe from the mount process
        return (MountError, (self.message, self.exit_code))


# -- checks ------------------------------------------------------------------------------------


def _canonical(path: str) -> str:
    """Absolute path with symlinks resolved in the parent only (the mount point itself may
    be a dead FUSE mount, which cannot be stat'ed)."""
    path = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mounts() -> dict[str, str]:
    """Mount point → filesystem type (e.g. ``fuse.aifs``), from ``/proc/self/mountinfo``;
    the topmost mount wins. Empty if the file cannot be read."""
    out: dict[str, str] = {}
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                fields = line.split()
                if "-" not in fields:
                    continue
                sep = fields.index("-")
                if len(fields) > sep + 1 and len(fields) > 4:
                    out[_unescape(fields[4])] = fields[sep + 1]
    except OSError:
        pass
    return out


def _check_fuse() -> None:
    if not os.path.exists(FUSE_DEVICE):
        raise MountError(f"FUSE is not available: {FUSE_DEVICE} is missing "
                         "(load the fuse kernel module, or install fuse3)", EXIT_FUSE_UNAVAILABLE)
    if os.geteuid() != 0 and shutil.which("fusermount3") is None:
        raise MountError("FUSE is not available: fusermount3 not found (install fuse3)",
                         EXIT_FUSE_UNAVAILABLE)


def check_mountpoint(mountpoint: str | os.PathLike[str]) -> None:
    """Raise :class:`MountError` unless FUSE is usable and ``mountpoint`` is an empty,
    unmounted directory (so the CLI can say so before asking for a passphrase)."""
    _check_fuse()
    _check_mountpoint(_canonical(os.fspath(mountpoint)))


def _check_mountpoint(path: str) -> None:
    fstype = _mounts().get(_canonical(path))
    if fstype is not None:
        hint = "; unmount it first with `aifs umount`" if fstype == FSTYPE else ""
        raise MountError(f"{path} is already a mount point ({fstype}){hint}",
                         EXIT_MOUNTPOINT_BUSY)
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise MountError(f"mount point {path} does not exist (create the directory first)",
                         EXIT_MOUNTPOINT_MISSING) from None
    except OSError as e:
        raise MountError(f"cannot use {path} as mount point: {e.strerror}",
                         EXIT_MOUNTPOINT_BUSY) from None
    if not stat.S_ISDIR(st.st_mode):
        raise MountError(f"mount point {path} is not a directory", EXIT_MOUNTPOINT_MISSING)
    if os.path.ismount(path):
        raise MountError(f"{path} is already a mount point", EXIT_MOUNTPOINT_BUSY)
    try:
        busy = bool(os.listdir(path))
    except OSError as e:
        raise MountError(f"cannot use {path} as mount point: {e.strerror}",
                         EXIT_MOUNTPOINT_BUSY) from None
    if busy:
        raise MountError(f"mount point {path} is not empty", EXIT_MOUNTPOINT_BUSY)


def _fuse_options(allow_other: bool, debug: bool) -> set[str]:
    opts = {"fsname=aifs", "subtype=aifs", "ro", "default_permissions"}
    if allow_other:
        opts.add("allow_other")
    if debug:
        opts.add("debug")
    return opts


# -- serving -----------------------------------------------------------------------------------


async def _stop_on_signal() -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
        async for signum in signals:
            log.info("signal %d: unmounting", signum)
            pyfuse3.terminate()
            return


async def _main(ops: AifsOperations, ready: Callable[[], None] | None) -> None:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_stop_on_signal)
        nursery.start_soon(ops.run_refresher)
        if ready is not None:
            nursery.start_soon(trio.to_thread.run_sync, ready)
        await pyfuse3.main()
        nursery.cancel_scope.cancel()


def _serve(reader_factory: ReaderFactory, render_markdown: RenderMarkdown, path: str,
           options: set[str], allow_other: bool, ready: Callable[[], None] | None) -> None:
    """Open the reader, mount, serve until unmounted or signalled, unmount, close."""
    reader = reader_factory()
    try:
        ops = AifsOperations(Tree(reader, render_markdown, allow_other=allow_other))
        try:
            pyfuse3.init(ops, path, options)
        except RuntimeError as e:
            raise MountError(f"cannot mount {path}: {e}", EXIT_FUSE_UNAVAILABLE) from None
        log.info("mounted at %s", path)
        try:
            trio.run(_main, ops, ready)
        finally:
            pyfuse3.close(unmount=True)
            log.info("unmounted %s", path)
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()


def mount(reader_factory: ReaderFactory, render_markdown: RenderMarkdown,
          mountpoint: str | os.PathLike[str], *, foreground: bool, allow_other: bool,
          debug: bool = False, ready_timeout: float = 60.0) -> int:
    """Mount the archive at ``mountpoint`` read-only; return 0.

    ``reader_factory()`` opens the vault reader in the serving process. ``foreground``:
    serve in this process until unmounted (``fusermount3 -u``) or SIGTERM/SIGINT/SIGHUP,
    then return. Otherwise fork a background server and return once the mount is live
    (at most ``ready_timeout`` seconds). ``allow_other`` lets other users in (modes widen to
    0o555/0o444); ``debug`` adds libfuse's request trace (visible in foreground only).

    Raises :class:`MountError` (mount point missing/not a directory, busy/not empty, FUSE
    unavailable, server failed); an exception raised by ``reader_factory`` in the background
    server (e.g. a vault error) is re-raised here.
    """
    path = _canonical(os.fspath(mountpoint))
    _check_fuse()
    _check_mountpoint(path)
    options = _fuse_options(allow_other, debug)
    if foreground:
        _serve(reader_factory, render_markdown, path, options, allow_other, None)
        return 0
    return _mount_background(reader_factory, render_markdown, path, options, allow_other,
                             ready_timeout)


def _send(fd: int, message: tuple[str, BaseException | None]) -> None:
    try:
        data = pickle.dumps(message)
    except Exception:
        err = message[1]
        data = pickle.dumps(("error", MountError(
            f"the mount process failed: {type(err).__name__}: {err}", EXIT_MOUNT_FAILED)))
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _detach_stdio() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def log_path() -> str:
    """Where a background mount server logs: ``platformdirs.user_state_dir("aifs")/mount.log``."""
    import platformdirs
    return os.path.join(platformdirs.user_state_dir("aifs"), "mount.log")


def _log_to_file() -> None:
    """Send the server's log records (same level as the CLI chose) to :func:`log_path`."""
    target = log_path()
    try:
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        handler = logging.StreamHandler(os.fdopen(fd, "a", buffering=1))
    except OSError:
        return  # logging is best effort; the mount itself must not fail for it
    handler.setFormatter(logging.Formatter("%(asctime)s aifs mount[%(process)d]: %(levelname)s: %(message)s"))
    logging.getLogger().handlers[:] = [handler]


def _child(fd: int, reader_factory: ReaderFactory, render_markdown: RenderMarkdown, path: str,
           options: set[str], allow_other: bool) -> int:
    os.setsid()
    os.chdir("/")  # do not pin the directory we were started from (e.g. a USB stick)
    _detach_stdio()
    _log_to_file()
    reported = False

    def ready() -> None:
        nonlocal reported
        _send(fd, ("ok", None))
        os.close(fd)
        reported = True

    try:
        _serve(reader_factory, render_markdown, path, options, allow_other, ready)
        return 0
    except BaseException as e:
        if not reported:
            _send(fd, ("error", e))
        log.error("mount process failed: %s", type(e).__name__)
        return e.exit_code if isinstance(e, MountError) else 1


def _mount_background(reader_factory: ReaderFactory, render_markdown: RenderMarkdown, path: str,
                      options: set[str], allow_other: bool, timeout: float) -> int:
    r, w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the server; never returns into the caller
        code = 1
        try:
            os.close(r)
            code = _child(w, reader_factory, render_markdown, path, options, allow_other)
        finally:
            os._exit(code)
    os.close(w)
    deadline = time.monotonic() + timeout
    data = b""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise MountError(f"the mount process did not report within {timeout:.0f} s "
                                 f"(pid {pid})", EXIT_MOUNT_FAILED)
            if select.select([r], [], [], left)[0]:
                chunk = os.read(r, 65536)
                if not chunk:
                    break
                data += chunk
    finally:
        os.close(r)
    if not data:
        _, status = os.waitpid(pid, 0)
        raise MountError(f"the mount process exited unexpectedly (wait status {status})",
                         EXIT_MOUNT_FAILED)
    kind, err = pickle.loads(data)  # from our own child
    if kind != "ok":
        os.waitpid(pid, 0)
        raise err
    while not os.path.ismount(path):
        if time.monotonic() > deadline:
            raise MountError(f"{path} did not become a mount point within {timeout:.0f} s",
                             EXIT_MOUNT_FAILED)
        time.sleep(0.05)
    return 0


# -- unmount -----------------------------------------------------------------------------------


def umount(mountpoint: str | os.PathLike[str], *, lazy: bool = False) -> int:
    """Unmount an aifs mount with ``fusermount3 -u`` (``-z`` if ``lazy``); return 0.

    Works on a stale mount (server gone) too. Raises :class:`MountError`: not an aifs mount
    or not mounted (``EXIT_NOT_MOUNTED``), missing path (``EXIT_MOUNTPOINT_MISSING``), in use
    (``EXIT_MOUNTPOINT_BUSY``), no fusermount3 (``EXIT_FUSE_UNAVAILABLE``).
    """
    path = _canonical(os.fspath(mountpoint))
    fstype = _mounts().get(path)
    if fstype is None:
        if not os.path.lexists(path):
            raise MountError(f"{path} does not exist", EXIT_MOUNTPOINT_MISSING)
        raise MountError(f"{path} is not mounted", EXIT_NOT_MOUNTED)
    if fstype != FSTYPE:
        raise MountError(f"{path} is not an aifs mount ({fstype})", EXIT_NOT_MOUNTED)
    tool = shutil.which("fusermount3")
    if tool is not None:
        cmd = [tool, "-u", *(["-z"] if lazy else []), path]
    elif os.geteuid() == 0 and shutil.which("umount") is not None:
        cmd = ["umount", *(["-l"] if lazy else []), path]
    else:
        raise MountError("cannot unmount: fusermount3 not found (install fuse3)",
                         EXIT_FUSE_UNAVAILABLE)
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        msg = res.stderr.strip() or f"{os.path.basename(cmd[0])} exited with {res.returncode}"
        code = EXIT_MOUNTPOINT_BUSY if "busy" in msg.lower() else EXIT_MOUNT_FAILED
        raise MountError(f"cannot unmount {path}: {msg}", code)
    return 0
