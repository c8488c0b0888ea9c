"""The pyfuse3 adapter: FUSE requests in, :class:`aifs.tree.Tree` calls, ``FUSEError`` out.

Nothing about names or inodes is decided here (that is :mod:`aifs.tree`); this module only
translates: :class:`~aifs.tree.Attr` to ``EntryAttributes`` (with cache timeouts), errors to
errno at one boundary (:func:`fuse_errors`), and blocking work to worker threads.

Rules:

- Read-only: every write-ish request answers EROFS, and so does ``open`` with any of
  ``O_WRONLY``/``O_RDWR``/``O_TRUNC``/``O_APPEND``/``O_CREAT``.
- Version directories and their files never change: entry/attr timeouts of
  ``immutable_timeout`` (1 h) and ``keep_cache`` on open. ``meta.json`` too: it changes only
  with the conversation's deletion mark, and :meth:`Tree.refresh` reports exactly those
  inodes, which :meth:`AifsOperations.run_refresher` invalidates. Root, org, provider and
  conversation directories (and ``latest``) change when a collect commits: 1 s timeouts, plus
  explicit invalidation by :meth:`AifsOperations.run_refresher`.
- Reads of up to the tree's ``max_inline_chunks`` (16: a 128 KiB read) and cached generated
  files run inline on the trio thread (a worker thread costs more than decrypting a few
  chunks); rendering ``conversation.md`` and longer reads run in a worker thread under a
  ``trio.CapacityLimiter`` (2 by default). Listing a directory renders nothing. An open
  ``conversation.md`` keeps its rendered bytes until released (the tree's cache is small).
- ``flush`` answers ENOSYS, so the kernel stops sending it.
"""

from __future__ import annotations

import errno
import logging
import os
import traceback
from typing import Any, Callable, Sequence, TypeVar

import pyfuse3
import trio

from vault import IntegrityError

from .tree import Attr, Change, Node, NodeKind, Tree, TreeError

__all__ = ["AifsOperations", "fuse_errors"]

log = logging.getLogger(__name__)

IMMUTABLE_TIMEOUT = 3600.0
MUTABLE_TIMEOUT = 1.0
BLKSIZE = 128 * 1024
NAME_MAX = 255
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_TRUNC | os.O_APPEND | os.O_CREAT

T = TypeVar("T")


class fuse_errors:  # noqa: N801 - used like a function: ``with fuse_errors("read"):``
    """The one place where errors become errno (an escaping exception would stop
    ``pyfuse3.main``). A context manager: ``with fuse_errors(op): ...``.

    ``FUSEError`` passes; :class:`~aifs.tree.TreeError` → its ``errno``; ``KeyError`` (an
    unknown serial) → ENOENT; vault ``IntegrityError``/``MissingData`` → EIO (logged);
    anything else → EIO, logged with its traceback but without the exception's message
    (which might quote a title or content). ``BaseException`` s (cancellation) pass.
    A class rather than a generator: it wraps every request, and this is cheaper.
    """

    __slots__ = ("op",)

    def __init__(self, op: str) -> None:
        self.op = op

    def __enter__(self) -> None:
        return None

    def __exit__(self, etype, e, tb) -> bool:
        if e is None or isinstance(e, pyfuse3.FUSEError) or not isinstance(e, Exception):
            return False
        op = self.op
        if isinstance(e, TreeError):
            if e.errno == errno.EIO:
                log.error("%s: %s", op, e)
            raise pyfuse3.FUSEError(e.errno) from None
        if isinstance(e, IntegrityError):
            log.error("%s: vault data damaged or missing (%s): %s", op, type(e).__name__,
                      e.where)
            raise pyfuse3.FUSEError(errno.EIO) from None
        if isinstance(e, KeyError):
            raise pyfuse3.FUSEError(errno.ENOENT) from None
        log.error("%s failed with %s\n%s", op, type(e).__name__,
                  "".join(traceback.format_tb(tb)).rstrip())
        log.debug("%s failed", op, exc_info=(etype, e, tb))
        raise pyfuse3.FUSEError(errno.EIO) from None


class _OpenFile:
    """An open file that never changes while open (version contents, ``meta.json``): its
    resolved node, how many opens share it, and for ``conversation.md`` the rendered bytes,
    held until the last release. The tree's cache of rendered files is small; a file read in
    128 KiB requests must not be rendered again for each of them."""

    __slots__ = ("node", "count", "data")

    def __init__(self, node: Node) -> None:
        self.node = node
        self.count = 1
        self.data: bytes | None = None


def _erofs() -> pyfuse3.FUSEError:
    return pyfuse3.FUSEError(errno.EROFS)


class AifsOperations(pyfuse3.Operations):
    """pyfuse3 request handlers over a :class:`~aifs.tree.Tree`.

    ``uid``/``gid`` own every node (default: this process's). File handles are inode
    numbers (``opendir``/``open`` return the inode). ``threads`` bounds concurrent worker
    threads for heavy reads/rendering. Timeouts are in seconds.
    """

    supports_dot_lookup = True
    enable_writeback_cache = False
    enable_acl = False

    def __init__(self, tree: Tree, *, uid: int | None = None, gid: int | None = None,
                 immutable_timeout: float = IMMUTABLE_TIMEOUT,
                 mutable_timeout: float = MUTABLE_TIMEOUT, threads: int = 2) -> None:
        super().__init__()
        self.tree = tree
        self._uid = os.getuid() if uid is None else uid
        self._gid = os.getgid() if gid is None else gid
        self._long = immutable_timeout
        self._short = mutable_timeout
        self._threads = threads
        self._limiter: trio.CapacityLimiter | None = None
        # Open files that do not change while open, by inode (the file handle).
        self._open: dict[int, _OpenFile] = {}

    # -- helpers ---------------------------------------------------------------------------

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        if self._limiter is None:
            self._limiter = trio.CapacityLimiter(self._threads)
        return await trio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    def _entry(self, attr: Attr) -> pyfuse3.EntryAttributes:
        e = pyfuse3.EntryAttributes()
        e.st_ino = attr.ino
        e.generation = 0
        e.entry_timeout = self._long if attr.fixed_name else self._short
        e.attr_timeout = self._long if attr.immutable or attr.kind is NodeKind.META else self._short
        e.st_mode = attr.mode
        e.st_nlink = attr.nlink
        e.st_uid = self._uid
        e.st_gid = self._gid
        e.st_rdev = 0
        e.st_size = attr.size
        e.st_blksize = BLKSIZE
        e.st_blocks = (attr.size + 511) // 512
        e.st_atime_ns = e.st_mtime_ns = e.st_ctime_ns = attr.mtime_ns
        return e

    async def _attr(self, node: Node) -> Attr:
        if self.tree.attr_is_heavy(node):
            return await self._in_thread(self.tree.attr, node)
        return self.tree.attr(node)

    # -- lookups and attributes -------------------------------------------------------------

    async def lookup(self, parent_inode: int, name: bytes, ctx: Any = None) -> pyfuse3.EntryAttributes:
        with fuse_errors("lookup"):
            node = self.tree.lookup(parent_inode, name)
            return self._entry(await self._attr(node))

    async def getattr(self, inode: int, ctx: Any = None) -> pyfuse3.EntryAttributes:
        with fuse_errors("getattr"):
            return self._entry(await self._attr(self.tree.node(inode)))

    async def forget(self, inode_list: Sequence[tuple[int, int]]) -> None:
        """Nothing to do: inodes are derived from serials, there is no lookup count to keep."""

    async def readlink(self, inode: int, ctx: Any = None) -> bytes:
        with fuse_errors("readlink"):
            return self.tree.readlink(inode)

    async def access(self, inode: int, mode: int, ctx: Any = None) -> bool:
        if mode & os.W_OK:
            raise _erofs()
        with fuse_errors("access"):
            self.tree.node(inode)
            return True

    async def statfs(self, ctx: Any = None) -> pyfuse3.StatvfsData:
        s = pyfuse3.StatvfsData()
        s.f_bsize = s.f_frsize = 4096
        s.f_blocks = s.f_bfree = s.f_bavail = 0
        s.f_files = s.f_ffree = s.f_favail = 0
        s.f_namemax = NAME_MAX
        return s

    # -- directories --------------------------------------------------------------------------

    async def opendir(self, inode: int, ctx: Any = None) -> int:
        with fuse_errors("opendir"):
            if not self.tree.node(inode).kind.is_dir:
                raise pyfuse3.FUSEError(errno.ENOTDIR)
            return inode

    async def readdir(self, fh: int, start_id: int, token: Any) -> None:
        """Entries with inode > ``start_id`` in inode order; ``next_id`` is the entry's own
        inode, so a listing resumes correctly even when entries were added in between.
        An entry whose attributes cannot be produced (damaged data) is left out and logged.
        Nothing is rendered: an unrendered ``conversation.md`` is listed with size 0 and an
        attribute timeout of 0, so the kernel asks ``getattr`` before using its size."""
        with fuse_errors("readdir"):
            listed_attr = self.tree.listed_attr
            for name, ino in self.tree.readdir(fh, start_id):
                attr, stale = listed_attr(ino), False
                if attr is None:
                    try:
                        node = self.tree.node(ino)
                        # An unrendered conversation.md is listed with size 0 and no attribute
                        # caching: its first stat or read renders it (listing must not).
                        stale = self.tree.attr_is_heavy(node)
                        attr = self.tree.attr_unsized(node)
                    except (TreeError, IntegrityError) as e:
                        log.warning("readdir: leaving out inode %d: %s", ino, type(e).__name__)
                        continue
                entry = self._entry(attr)
                if stale:
                    entry.attr_timeout = 0
                if not pyfuse3.readdir_reply(token, name, entry, ino):
                    return

    async def releasedir(self, fh: int) -> None:
        pass

    async def fsyncdir(self, fh: int, datasync: bool) -> None:
        pass

    # -- files ---------------------------------------------------------------------------------

    async def open(self, inode: int, flags: int, ctx: Any = None) -> pyfuse3.FileInfo:
        if flags & _WRITE_FLAGS:
            raise _erofs()
        with fuse_errors("open"):
            node = self.tree.node(inode)
            if node.kind.is_dir:
                raise pyfuse3.FUSEError(errno.EISDIR)
            # meta.json: cached like the rest, invalidated when its deletion mark changes
            cached = node.immutable or node.kind is NodeKind.META
            if cached:  # resolved once for all its reads (see ``release``)
                held = self._open.get(inode)
                if held is None:
                    self._open[inode] = _OpenFile(node)
                else:
                    held.count += 1
            return pyfuse3.FileInfo(fh=inode, keep_cache=cached)

    async def read(self, fh: int, off: int, size: int) -> bytes:
        with fuse_errors("read"):
            held = self._open.get(fh)
            node = held.node if held is not None else self.tree.node(fh)
            if held is not None and node.kind is NodeKind.MARKDOWN and off >= 0 and size >= 0:
                data = held.data
                if data is None:  # rendered (or taken from the cache) once while open
                    if self.tree.read_is_heavy(node, 0, 1):
                        data = await self._in_thread(self.tree.content, node)
                    else:
                        data = self.tree.content(node)
                    held.data = data
                return data[off:off + size]
            if self.tree.read_is_heavy(node, off, size):
                return await self._in_thread(self.tree.read_node, node, off, size)
            return self.tree.read_node(node, off, size)

    async def flush(self, fh: int) -> None:
        """ENOSYS: a read-only file has nothing to flush, and after this answer the kernel
        sends no more FLUSH requests (one round trip less for every ``close``)."""
        raise pyfuse3.FUSEError(errno.ENOSYS)

    async def release(self, fh: int) -> None:
        held = self._open.get(fh)
        if held is not None:
            held.count -= 1
            if held.count <= 0:
                del self._open[fh]

    async def fsync(self, fh: int, datasync: bool) -> None:
        pass

    # -- everything that would write: EROFS --------------------------------------------------

    async def setattr(self, inode: int, attr: Any, fields: Any, fh: Any, ctx: Any = None) -> Any:
        raise _erofs()

    async def mknod(self, parent_inode: int, name: bytes, mode: int, rdev: int, ctx: Any = None) -> Any:
        raise _erofs()

    async def mkdir(self, parent_inode: int, name: bytes, mode: int, ctx: Any = None) -> Any:
        raise _erofs()

    async def unlink(self, parent_inode: int, name: bytes, ctx: Any = None) -> None:
        raise _erofs()

    async def rmdir(self, parent_inode: int, name: bytes, ctx: Any = None) -> None:
        raise _erofs()

    async def symlink(self, parent_inode: int, name: bytes, target: bytes, ctx: Any = None) -> Any:
        raise _erofs()

    async def rename(self, parent_inode_old: int, name_old: bytes, parent_inode_new: int,
                     name_new: bytes, flags: int, ctx: Any = None) -> None:
        raise _erofs()

    async def link(self, inode: int, new_parent_inode: int, new_name: bytes, ctx: Any = None) -> Any:
        raise _erofs()

    async def create(self, parent_inode: int, name: bytes, mode: int, flags: int, ctx: Any = None) -> Any:
        raise _erofs()

    async def write(self, fh: int, off: int, buf: bytes) -> int:
        raise _erofs()

    async def setxattr(self, inode: int, name: bytes, value: bytes, ctx: Any = None) -> None:
        raise _erofs()

    async def removexattr(self, inode: int, name: bytes, ctx: Any = None) -> None:
        raise _erofs()

    # -- seeing new commits -----------------------------------------------------------------------

    async def refresh_once(self) -> list[Change]:
        """Poll the tree for a new commit once; invalidate what changed in the kernel's caches
        (in a worker thread: the kernel may wait for a request this loop must answer).
        Never raises (a failed poll is logged and retried next time)."""
        try:
            changes = self.tree.refresh()
        except Exception as e:
            log.error("refresh failed: %s", type(e).__name__)
            log.debug("refresh failed", exc_info=True)
            return []
        if changes:
            log.debug("refresh: %d changed directories", len(changes))
            await trio.to_thread.run_sync(_invalidate, changes)
        return changes

    async def run_refresher(self, interval: float = 1.0) -> None:
        """Call :meth:`refresh_once` every ``interval`` seconds, forever (cancel to stop)."""
        while True:
            await trio.sleep(interval)
            await self.refresh_once()


def _invalidate(changes: list[Change]) -> None:
    """Drop the kernel's cached attributes/listings of changed directories and stale names.
    ENOENT means the kernel never saw that inode or name: nothing to drop."""
    for c in changes:
        try:
            pyfuse3.invalidate_inode(c.ino)
        except OSError as e:
            if e.errno != errno.ENOENT:
                log.debug("invalidate_inode(%d): %s", c.ino, e)
        for name in c.stale_names:
            try:
                pyfuse3.invalidate_entry(c.ino, name)
            except OSError as e:
                if e.errno != errno.ENOENT:
                    log.debug("invalidate_entry(%d): %s", c.ino, e)
