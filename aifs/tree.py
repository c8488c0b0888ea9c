"""The mount's tree model: names, inodes and contents, apart from the FUSE protocol.

No pyfuse3 import: :mod:`aifs.fs` adapts this to FUSE; everything here is tested directly.

Tree::

    /                                       root (inode 1)
    └── <org>/                              reader.orgs()
        └── <provider>/                     reader.providers(org)
            └── <Title>-<id>/               reader.conversation_rows(provider)
                ├── latest -> <version>     symlink to the newest version
                └── <version>/              YYYY-MM-DDTHH-MM-SSZ[.N], immutable
                    ├── <raw files>         byte-identical, ``/`` in a name = subdirectory
                    ├── conversation.md     rendered on demand (``conversation.aifs.md`` if a
                    └── meta.json           raw file already has the name; ``meta.aifs.json``)

Names come from :mod:`aifs.names`; a name that is still taken in its directory (after
sanitizing two different strings can meet) gets ``~<serial>`` appended, in serial order,
so the oldest holder keeps the plain name and adding an entry never renames another one.

Inode numbers are derived from vault serials (which are never reused), so they are the same
in every mount and need no table. Layout (64 bits, always < 2**63 so it also fits ``off_t``)::

    kind:8 | payload:56
    kind 0  root                 payload 1            (inode 1 = FUSE_ROOT_ID)
    kind 1  org directory        org_serial
    kind 2  provider directory   provider_dir_serial
    kind 3  conversation dir     conversation_serial
    kind 4  ``latest`` symlink   conversation_serial
    kind 5  version space        version_serial:36 | entry:20

In the version space ``entry`` 0 is the version directory itself; entries 1..N are every
directory and file inside it (raw files, their subdirectories, ``conversation.md``,
``meta.json``) sorted by their path (component-wise, UTF-8 bytes). A version is immutable,
so this numbering never changes. A version with more than ``2**20 - 1`` entries cannot be
numbered: :class:`VersionTooLarge` (the adapter answers EIO and logs it).

Directory listings are ordered by inode, so a ``readdir`` can resume after any inode even
when entries were added in between.

Caching: listings of the mutable directories (root, orgs, providers, conversations) and
conversation records are kept until :meth:`Tree.refresh` sees a new commit generation (a
provider folder's listing keeps only what its entries show of each conversation: a folder may
hold tens of thousands, and a conversation's record is read when it is opened); version
layouts are immutable (a count-bounded LRU only limits memory); rendered ``conversation.md``
/ ``meta.json`` bytes live in a byte-bounded LRU and their sizes are kept forever.

Threads: metadata methods take an internal lock and may be called from any thread; the
heavy parts (:meth:`Tree.attr` of a not yet rendered ``conversation.md``, :meth:`Tree.read_node`)
run outside it and are meant for a worker thread. The reader must be thread-safe.
"""

from __future__ import annotations

import bisect
import enum
import errno
import json
import logging
import stat
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterator, NamedTuple, Protocol

from vault import ConversationInfo, FileEntry, VersionInfo

from .names import disambiguate, safe_component, safe_name

__all__ = [
    "Attr",
    "Change",
    "IsADirectory",
    "MAX_ENTRIES",
    "Node",
    "NodeKind",
    "NotADirectory",
    "NotASymlink",
    "NotFound",
    "ROOT_INO",
    "Reader",
    "RenderMarkdown",
    "Tree",
    "TreeError",
    "VersionLayout",
    "VersionTooLarge",
    "render_meta",
    "split_ino",
    "version_ino",
]

log = logging.getLogger(__name__)

# -- inode layout ----------------------------------------------------------------------------

KIND_SHIFT = 56
PAYLOAD_MASK = (1 << KIND_SHIFT) - 1
ENTRY_BITS = 20
ENTRY_MASK = (1 << ENTRY_BITS) - 1
MAX_ENTRIES = ENTRY_MASK
"""Most entries (directories + files, the version directory not counted) one version may hold."""
MAX_VERSION_SERIAL = (1 << (KIND_SHIFT - ENTRY_BITS)) - 1
ROOT_INO = 1

K_ROOT, K_ORG, K_PROVIDER, K_CONVERSATION, K_LATEST, K_VERSION = range(6)

MARKDOWN_NAME = "conversation.md"
META_NAME = "meta.json"
MARKDOWN_ALT = "conversation.aifs.md"
META_ALT = "meta.aifs.json"
LATEST = "latest"


class NodeKind(enum.Enum):
    """What an inode is."""

    ROOT = "root"
    ORG = "org"
    PROVIDER = "provider"
    CONVERSATION = "conversation"
    LATEST = "latest"
    VERSION = "version"
    SUBDIR = "subdir"
    RAW = "raw"
    MARKDOWN = "markdown"
    META = "meta"

    @property
    def is_dir(self) -> bool:
        return self in _DIR_KINDS


_DIR_KINDS = frozenset({NodeKind.ROOT, NodeKind.ORG, NodeKind.PROVIDER,
                        NodeKind.CONVERSATION, NodeKind.VERSION, NodeKind.SUBDIR})
_VERSION_SPACE = frozenset({NodeKind.VERSION, NodeKind.SUBDIR, NodeKind.RAW,
                            NodeKind.MARKDOWN, NodeKind.META})


# -- errors --------------------------------------------------------------------------------


class TreeError(Exception):
    """Base of the tree's errors; ``errno`` is what the FUSE adapter answers."""

    errno = errno.EIO


class NotFound(TreeError, KeyError):
    """No such inode, or no such name in the directory (ENOENT)."""

    errno = errno.ENOENT

    def __str__(self) -> str:  # KeyError would repr() the argument
        return Exception.__str__(self)


class NotADirectory(TreeError):
    """A lookup or listing on something that is not a directory (ENOTDIR)."""

    errno = errno.ENOTDIR


class IsADirectory(TreeError):
    """A read on a directory (EISDIR)."""

    errno = errno.EISDIR


class NotASymlink(TreeError):
    """``readlink`` on something that is not a symlink (EINVAL)."""

    errno = errno.EINVAL


class VersionTooLarge(TreeError):
    """A version holds more entries, or has a larger serial, than the inode layout can number."""

    errno = errno.EIO


# -- inode helpers ---------------------------------------------------------------------------


def make_ino(kind: int, payload: int) -> int:
    """``kind << 56 | payload``; raises :class:`VersionTooLarge` if ``payload`` does not fit."""
    if not 0 < payload <= PAYLOAD_MASK:
        raise VersionTooLarge(f"serial {payload} does not fit the inode layout")
    return kind << KIND_SHIFT | payload


def version_ino(version_serial: int, entry: int = 0) -> int:
    """Inode of entry ``entry`` (0 = the directory itself) of version ``version_serial``."""
    if not 0 < version_serial <= MAX_VERSION_SERIAL:
        raise VersionTooLarge(f"version serial {version_serial} does not fit the inode layout")
    if not 0 <= entry <= ENTRY_MASK:
        raise VersionTooLarge(f"entry {entry} does not fit the inode layout")
    return K_VERSION << KIND_SHIFT | version_serial << ENTRY_BITS | entry


def split_ino(ino: int) -> tuple[int, int]:
    """``(kind, payload)`` of an inode; raises :class:`NotFound` for numbers no node can have."""
    kind, payload = ino >> KIND_SHIFT, ino & PAYLOAD_MASK
    if ino <= 0 or kind > K_VERSION or (kind == K_ROOT and payload != 1) or payload == 0:
        raise NotFound(f"no inode {ino}")
    if kind == K_VERSION and payload >> ENTRY_BITS == 0:
        raise NotFound(f"no inode {ino}")
    return kind, payload


def _ns(seconds: float | None) -> int:
    return int(seconds * 1_000_000_000) if seconds else 0


# -- the reader we are given ---------------------------------------------------------------


class Reader(Protocol):
    """The read side of the vault (``vault.reader()``), as far as the tree uses it."""

    def refresh(self) -> bool: ...
    def orgs(self) -> list[tuple[int, str]]: ...
    def providers(self, org_serial: int) -> list[tuple[int, str]]: ...
    def conversation_rows(self, provider_dir_serial: int) -> list[tuple[int, str, str, int, float]]:
        """``[(serial, title, native_id, number of versions, last_captured_at)]`` of one
        provider folder, sorted by serial (what :meth:`conversations` says, in brief)."""
    def conversation(self, serial: int) -> ConversationInfo: ...
    def version(self, serial: int) -> VersionInfo: ...
    def read(self, entry: FileEntry, offset: int, size: int) -> bytes: ...


RenderMarkdown = Callable[[VersionInfo, "dict[str, bytes]"], str]
"""``render_markdown(version, {raw file name: bytes}) -> Markdown text``; must be deterministic."""


# -- public value types ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    """A resolved inode. ``serial`` is the org/provider/conversation/version serial (0 for
    the root); ``layout``/``index`` locate version-space nodes inside their version."""

    ino: int
    kind: NodeKind
    serial: int
    layout: "VersionLayout | None" = None
    index: int = 0

    @property
    def immutable(self) -> bool:
        """True inside a version: attributes and contents never change. ``meta.json`` is the
        exception: it gains ``deleted_upstream_at`` when the source drops the conversation."""
        return self.kind in _VERSION_SPACE and self.kind is not NodeKind.META

    @property
    def fixed_name(self) -> bool:
        """True if the name → inode binding in the parent never changes (versions, their
        contents, ``latest``); conversation names change with the title, so they are not."""
        return self.kind in _VERSION_SPACE or self.kind is NodeKind.LATEST


class Attr(NamedTuple):
    """What ``stat`` shows. ``mode`` includes the file type bits; ``size`` in bytes;
    ``mtime_ns`` nanoseconds since the epoch (also used for atime/ctime). A named tuple, not
    a frozen dataclass: a big folder's ``readdir`` makes tens of thousands (3x cheaper)."""

    ino: int
    kind: NodeKind
    mode: int
    size: int
    mtime_ns: int
    nlink: int
    immutable: bool
    fixed_name: bool


@dataclass(frozen=True, slots=True)
class Change:
    """A directory (or the ``latest`` symlink) that changed at a refresh.

    ``stale_names``: names the kernel may have cached in that directory that now point
    elsewhere or nowhere (a renamed conversation's old name). Invalidate ``ino`` and each
    ``(ino, name)``.
    """

    ino: int
    stale_names: tuple[bytes, ...] = ()


# -- version layout --------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    name: bytes
    kind: NodeKind
    parent: int
    mtime_ns: int
    file: FileEntry | None = None
    children: list[int] | None = None
    by_name: dict[bytes, int] | None = None
    subdirs: int = 0


def _claim(taken: set[str], name: str, tag: str) -> str:
    """Take ``name`` in a directory, or ``name~tag`` (then ``name~tag.2`` …) if it is taken."""
    cand, n = name, 1
    while cand in taken:
        cand = disambiguate(name, tag if n == 1 else f"{tag}.{n}")
        n += 1
    taken.add(cand)
    return cand


class _BuildDir:
    __slots__ = ("taken", "dirs", "files")

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self.dirs: dict[str, tuple[str, _BuildDir]] = {}  # wanted name -> (final name, dir)
        self.files: list[tuple[str, NodeKind, FileEntry | None]] = []


class VersionLayout:
    """The immutable directory tree of one version: entry ``i`` has inode
    ``version_ino(version.serial, i)``. Raises :class:`VersionTooLarge` when it cannot be
    numbered. Built from ``version`` alone, so it is the same in every process.

    Raw file names are split on ``/`` (empty and ``.`` parts dropped), each part made safe
    with :func:`~aifs.names.safe_name`. Files are placed in stored order; a name already
    taken in its directory (by a file, a subdirectory, or after sanitizing) gets ``~<n>``,
    ``n`` being the file's 1-based position in ``version.files``. ``conversation.md`` and
    ``meta.json`` are added last, as ``conversation.aifs.md`` / ``meta.aifs.json`` when a raw
    file already holds the plain name (raw files keep their names and bytes).
    """

    __slots__ = ("version", "entries")

    def __init__(self, version: VersionInfo) -> None:
        self.version = version
        captured = _ns(version.captured_at)
        top = _BuildDir()
        for i, fe in enumerate(version.files):
            parts = [p for p in fe.name.split("/") if p not in ("", ".")] or [""]
            comps = [safe_name(p) for p in parts]
            d = top
            for c in comps[:-1]:
                got = d.dirs.get(c)
                if got is None:
                    got = (_claim(d.taken, c, str(i + 1)), _BuildDir())
                    d.dirs[c] = got
                d = got[1]
            d.files.append((_claim(d.taken, comps[-1], str(i + 1)), NodeKind.RAW, fe))
        md = MARKDOWN_NAME if MARKDOWN_NAME not in top.taken else MARKDOWN_ALT
        top.files.append((_claim(top.taken, md, "aifs"), NodeKind.MARKDOWN, None))
        mj = META_NAME if META_NAME not in top.taken else META_ALT
        top.files.append((_claim(top.taken, mj, "aifs"), NodeKind.META, None))

        flat: list[tuple[tuple[bytes, ...], NodeKind, FileEntry | None]] = []
        stack: list[tuple[_BuildDir, tuple[bytes, ...]]] = [(top, ())]
        while stack:  # iterative: a hostile name may nest thousands of directories deep
            d, prefix = stack.pop()
            for name, kind, fe in d.files:
                flat.append((prefix + (name.encode(),), kind, fe))
            for name, sub in d.dirs.values():
                path = prefix + (name.encode(),)
                flat.append((path, NodeKind.SUBDIR, None))
                stack.append((sub, path))
        if len(flat) > MAX_ENTRIES:
            raise VersionTooLarge(
                f"version {version.serial} has {len(flat)} entries; at most {MAX_ENTRIES} fit")
        version_ino(version.serial)  # serial range check
        flat.sort(key=lambda t: t[0])
        entries = [_Entry(b"", NodeKind.VERSION, 0, captured, children=[], by_name={})]
        index_of: dict[tuple[bytes, ...], int] = {(): 0}
        for idx, (path, kind, fe) in enumerate(flat, start=1):
            parent = index_of[path[:-1]]
            if kind is NodeKind.SUBDIR:
                e = _Entry(path[-1], kind, parent, captured, children=[], by_name={})
                entries[parent].subdirs += 1
                index_of[path] = idx
            else:
                mtime = fe.mtime_ns if fe is not None and fe.mtime_ns else captured
                e = _Entry(path[-1], kind, parent, mtime, file=fe)
            entries.append(e)
            entries[parent].children.append(idx)  # type: ignore[union-attr]
            entries[parent].by_name[path[-1]] = idx  # type: ignore[index]
        self.entries: tuple[_Entry, ...] = tuple(entries)


# -- caches ------------------------------------------------------------------------------------


class _ByteLRU:
    """A thread-safe LRU of ``bytes`` bounded by their total length."""

    def __init__(self, max_bytes: int) -> None:
        self._max = max_bytes
        self._data: OrderedDict[Any, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Any) -> bytes | None:
        with self._lock:
            v = self._data.get(key)
            if v is not None:
                self._data.move_to_end(key)
            return v

    def put(self, key: Any, value: bytes) -> None:
        with self._lock:
            if key in self._data or len(value) > self._max:
                return
            self._data[key] = value
            self._bytes += len(value)
            while self._bytes > self._max:
                _, old = self._data.popitem(last=False)
                self._bytes -= len(old)


@dataclass(frozen=True, slots=True)
class _Listing:
    entries: tuple[tuple[bytes, int], ...]  # sorted by inode
    by_name: dict[bytes, int]
    subdirs: int
    target: bytes | None = None  # conversation dirs: where ``latest`` points
    inos: tuple[int, ...] = ()   # the inodes of ``entries``, for bisect

    @classmethod
    def of(cls, pairs: list[tuple[str, int]], subdirs: int,
           target: bytes | None = None, presorted: bool = False) -> "_Listing":
        entries = tuple((n.encode(), i) for n, i in pairs)
        if not presorted:  # ``pairs`` already in inode order
            entries = tuple(sorted(entries, key=lambda t: t[1]))
        return cls(entries, dict(entries), subdirs, target, tuple(i for _, i in entries))


# -- the tree ----------------------------------------------------------------------------------


class Tree:
    """The whole mount as inodes and names, answering from a vault ``reader``.

    ``render_markdown(version, files)`` renders ``conversation.md``; ``allow_other`` widens
    modes from owner-only (dirs 0o500, files 0o400) to 0o555/0o444; ``clock()`` gives
    nanoseconds (the mtime of root/org/provider directories: mount start or the last
    refresh that changed them). ``max_inline_chunks``: a raw read touching more chunks than
    this is "heavy" (see :meth:`read_is_heavy`).

    Errors: :class:`NotFound` (also a ``KeyError``), :class:`NotADirectory`,
    :class:`IsADirectory`, :class:`NotASymlink`, :class:`VersionTooLarge`; vault errors
    (``IntegrityError``, ``MissingData``) pass through unchanged.
    """

    def __init__(self, reader: Reader, render_markdown: RenderMarkdown, *,
                 allow_other: bool = False, clock: Callable[[], int] = time.time_ns,
                 content_cache_bytes: int = 16 << 20, layout_cache: int = 1024,
                 max_inline_chunks: int = 16) -> None:
        self._reader = reader
        self._render = render_markdown
        self._clock = clock
        self._dir_mode = 0o555 if allow_other else 0o500
        self._file_mode = 0o444 if allow_other else 0o400
        self._max_inline_chunks = max_inline_chunks
        self._lock = threading.RLock()
        self._started_ns = clock()
        # Mutable state, dropped when the generation changes.
        self._listings: dict[int, _Listing] = {}
        self._convs: dict[int, ConversationInfo] = {}
        self._org_names: dict[int, str] | None = None            # org serial -> raw name
        self._provider_loc: dict[int, tuple[int, str]] | None = None  # serial -> (org, slug)
        self._conv_parent: dict[int, int] = {}                     # conv serial -> provider
        # What a provider folder's listing learnt of each conversation in it, compact (a
        # folder may hold tens of thousands): serial -> (provider serial, mtime_ns, versions).
        self._brief: dict[int, tuple[int, int, int]] = {}
        self._dir_mtime: dict[int, int] = {}
        # Immutable state.
        self._layouts: OrderedDict[int, VersionLayout] = OrderedDict()
        self._layout_cache = layout_cache
        self._content = _ByteLRU(content_cache_bytes)
        self._sizes: dict[int, int] = {}

    # -- resolving inodes -----------------------------------------------------------------

    def node(self, ino: int) -> Node:
        """Resolve an inode; raises :class:`NotFound` if no such node exists (now)."""
        kind, payload = split_ino(ino)
        with self._lock:
            if kind == K_ROOT:
                return Node(ino, NodeKind.ROOT, 0)
            if kind == K_ORG:
                if ino not in self._listing(ROOT_INO).by_name.values():
                    raise NotFound(f"no org {payload}")
                return Node(ino, NodeKind.ORG, payload)
            if kind == K_PROVIDER:
                self._provider_location(payload)
                return Node(ino, NodeKind.PROVIDER, payload)
            if kind == K_CONVERSATION:
                if payload not in self._brief:
                    self._conversation(payload)
                return Node(ino, NodeKind.CONVERSATION, payload)
            if kind == K_LATEST:
                if not self._version_count(payload):
                    raise NotFound(f"conversation {payload} has no versions")
                return Node(ino, NodeKind.LATEST, payload)
            vserial, index = payload >> ENTRY_BITS, payload & ENTRY_MASK
            layout = self._layout(vserial)
            if index >= len(layout.entries):
                raise NotFound(f"no inode {ino}")
            return Node(ino, layout.entries[index].kind, vserial, layout, index)

    def _layout(self, vserial: int) -> VersionLayout:
        layout = self._layouts.get(vserial)
        if layout is not None:
            self._layouts.move_to_end(vserial)
            return layout
        try:
            version = self._reader.version(vserial)
        except KeyError:
            raise NotFound(f"no version {vserial}") from None
        try:
            layout = VersionLayout(version)
        except VersionTooLarge as e:
            log.error("cannot show version %d: %s", vserial, e)
            raise
        self._layouts[vserial] = layout
        if len(self._layouts) > self._layout_cache:
            self._layouts.popitem(last=False)
        return layout

    def _conversation(self, serial: int) -> ConversationInfo:
        info = self._convs.get(serial)
        if info is None:
            try:
                info = self._reader.conversation(serial)
            except KeyError:
                raise NotFound(f"no conversation {serial}") from None
            self._convs[serial] = info
        return info

    def _version_count(self, serial: int) -> int:
        brief = self._brief.get(serial)
        return brief[2] if brief is not None else len(self._conversation(serial).version_serials)

    def _provider_location(self, serial: int) -> tuple[int, str]:
        if self._provider_loc is None or serial not in self._provider_loc:
            self._load_hierarchy()
        assert self._provider_loc is not None
        try:
            return self._provider_loc[serial]
        except KeyError:
            raise NotFound(f"no provider folder {serial}") from None

    def _load_hierarchy(self) -> None:
        """(Re)read every org and provider folder: small, and needed to place a provider."""
        self._org_names = {}
        self._provider_loc = {}
        for oserial, oname in self._reader.orgs():
            self._org_names[oserial] = oname
            for pserial, slug in self._reader.providers(oserial):
                self._provider_loc[pserial] = (oserial, slug)

    # -- listings of mutable directories --------------------------------------------------

    def _listing(self, ino: int) -> _Listing:
        listing = self._listings.get(ino)
        if listing is None:
            listing = self._build_listing(ino)
            self._listings[ino] = listing
        return listing

    def _build_listing(self, ino: int) -> _Listing:
        kind, payload = split_ino(ino)
        if kind == K_ROOT:
            orgs = sorted(self._reader.orgs())
            self._org_names = dict(orgs)
            return self._plain_listing(orgs, K_ORG)
        if kind == K_ORG:
            return self._plain_listing(sorted(self._reader.providers(payload)), K_PROVIDER)
        if kind == K_PROVIDER:
            taken: set[str] = set()
            pairs = []
            brief = self._brief
            # Brief rows, not whole records: a folder may hold tens of thousands of
            # conversations, and opening one reads its record then (cheap).
            for serial, title, native_id, versions, captured in sorted(
                    self._reader.conversation_rows(payload)):
                brief[serial] = (payload, int(captured * 1_000_000_000), versions)
                name = safe_component(title, native_id)
                if name in taken:
                    name = _claim(taken, safe_component(title, f"{native_id}~{serial}"),
                                  str(serial))
                else:
                    taken.add(name)
                pairs.append((name, make_ino(K_CONVERSATION, serial)))
            return _Listing.of(pairs, len(pairs), presorted=True)
        if kind == K_CONVERSATION:
            info = self._conversation(payload)
            if not info.version_serials:
                return _Listing.of([], 0)
            taken = {LATEST}
            pairs = [(LATEST, make_ino(K_LATEST, payload))]
            names: dict[int, str] = {}
            for vserial, vname in sorted(zip(info.version_serials, info.version_names)):
                names[vserial] = _claim(taken, safe_name(vname), str(vserial))
                pairs.append((names[vserial], version_ino(vserial)))
            target = names[info.version_serials[-1]].encode()
            return _Listing.of(pairs, len(pairs) - 1, target)
        raise NotADirectory(f"inode {ino} is not a mutable directory")

    @staticmethod
    def _plain_listing(items: list[tuple[int, str]], kind: int) -> _Listing:
        taken: set[str] = set()
        pairs = [(_claim(taken, safe_name(name, leading_dot=False), str(serial)),
                  make_ino(kind, serial)) for serial, name in items]
        return _Listing.of(pairs, len(pairs))

    # -- directory operations ------------------------------------------------------------

    def lookup(self, parent_ino: int, name: bytes) -> Node:
        """The node called ``name`` in directory ``parent_ino`` (``.`` and ``..`` work).

        Raises :class:`NotFound`, or :class:`NotADirectory` if the parent is not a directory.
        """
        with self._lock:
            parent = self.node(parent_ino)
            if not parent.kind.is_dir:
                raise NotADirectory(f"inode {parent_ino} is not a directory")
            if name == b".":
                return parent
            if name == b"..":
                return self.node(self._parent_ino(parent))
            if parent.layout is not None:
                ino_map = parent.layout.entries[parent.index].by_name
                assert ino_map is not None
                idx = ino_map.get(name)
                if idx is None:
                    raise NotFound("no such entry")
                return Node(version_ino(parent.serial, idx), parent.layout.entries[idx].kind,
                            parent.serial, parent.layout, idx)
            ino = self._listing(parent_ino).by_name.get(name)
            if ino is None:
                raise NotFound("no such entry")
            return self.node(ino)

    def _parent_ino(self, node: Node) -> int:
        k = node.kind
        if k in (NodeKind.ROOT, NodeKind.ORG):
            return ROOT_INO
        if k is NodeKind.PROVIDER:
            return make_ino(K_ORG, self._provider_location(node.serial)[0])
        if k in (NodeKind.CONVERSATION, NodeKind.LATEST):
            return self._conversation_parent(node.serial)
        assert node.layout is not None
        if node.index == 0:
            return make_ino(K_CONVERSATION, node.layout.version.conversation_serial)
        return version_ino(node.serial, node.layout.entries[node.index].parent)

    def _conversation_parent(self, serial: int) -> int:
        brief = self._brief.get(serial)
        if brief is not None:
            return make_ino(K_PROVIDER, brief[0])
        if serial not in self._conv_parent:
            info = self._conversation(serial)
            if self._org_names is None or self._provider_loc is None:
                self._load_hierarchy()
            assert self._org_names is not None and self._provider_loc is not None
            for pserial, (oserial, slug) in self._provider_loc.items():
                if slug == info.provider and self._org_names.get(oserial) == info.org:
                    self._conv_parent[serial] = pserial
                    break
            else:
                raise NotFound(f"conversation {serial} is in no provider folder")
        return make_ino(K_PROVIDER, self._conv_parent[serial])

    def readdir(self, ino: int, start_after: int = 0) -> Iterator[tuple[bytes, int]]:
        """``(name, inode)`` of each entry of directory ``ino`` whose inode is greater than
        ``start_after``, in inode order (no ``.``/``..``). The listing is taken when called,
        the iterator only walks it. Raises :class:`NotFound`, :class:`NotADirectory`."""
        with self._lock:
            node = self.node(ino)
            if not node.kind.is_dir:
                raise NotADirectory(f"inode {ino} is not a directory")
            if node.layout is not None:
                children = node.layout.entries[node.index].children or []
                entries = [(node.layout.entries[i].name, version_ino(node.serial, i))
                           for i in children]
                inos = [i for _, i in entries]
                return iter(entries[bisect.bisect_right(inos, start_after):])
            listing = self._listing(ino)
        # A large folder is read in many requests, each taking a few entries: walk from
        # the resume point instead of copying the whole listing every time.
        listed = listing.entries
        return (listed[i] for i in range(bisect.bisect_right(listing.inos, start_after),
                                         len(listed)))

    def readlink(self, ino: int) -> bytes:
        """Target of the ``latest`` symlink (a version name). Raises :class:`NotASymlink`."""
        with self._lock:
            node = self.node(ino)
            if node.kind is not NodeKind.LATEST:
                raise NotASymlink(f"inode {ino} is not a symlink")
            target = self._listing(make_ino(K_CONVERSATION, node.serial)).target
        if target is None:
            raise NotFound(f"conversation {node.serial} has no versions")
        return target

    # -- attributes ------------------------------------------------------------------------

    def getattr(self, ino: int) -> Attr:
        """:meth:`attr` of :meth:`node` (may render ``conversation.md``: see :meth:`attr`)."""
        return self.attr(self.node(ino))

    def listed_attr(self, ino: int) -> Attr | None:
        """Attributes of a conversation folder as its provider folder's listing knows them,
        without resolving the inode (a ``readdir`` of a big folder asks for thousands); None
        for any other inode or one not listed (then use :meth:`attr` of :meth:`node`)."""
        if ino >> KIND_SHIFT != K_CONVERSATION:
            return None
        brief = self._brief.get(ino & PAYLOAD_MASK)
        if brief is None:
            return None
        return Attr(ino, NodeKind.CONVERSATION, stat.S_IFDIR | self._dir_mode, 0, brief[1],
                    2 + brief[2], False, False)

    def attr_is_heavy(self, node: Node) -> bool:
        """True if :meth:`attr` must render ``conversation.md`` first (run it in a thread)."""
        return node.kind is NodeKind.MARKDOWN and node.ino not in self._sizes

    def attr_unsized(self, node: Node) -> Attr:
        """:meth:`attr` without rendering: the size of a ``conversation.md`` not rendered yet
        is given as 0. For directory listings, whose entries the kernel must then treat as
        stale at once (so that a ``stat`` or ``read`` asks :meth:`attr` for the real size):
        listing a version must not render its conversation."""
        if not self.attr_is_heavy(node):
            return self.attr(node)
        assert node.layout is not None
        e = node.layout.entries[node.index]
        return self._mk(node, stat.S_IFREG | self._file_mode, 0, e.mtime_ns, 1)

    def attr(self, node: Node) -> Attr:
        """Attributes of a resolved node. For a ``conversation.md`` whose size is not yet
        known this renders it (reads every raw file of the version): see :meth:`attr_is_heavy`."""
        k = node.kind
        if node.layout is not None:
            e = node.layout.entries[node.index]
            if k.is_dir:
                return self._mk(node, stat.S_IFDIR | self._dir_mode, 0, e.mtime_ns, 2 + e.subdirs)
            if k is NodeKind.RAW:
                assert e.file is not None
                size = e.file.size
            else:
                size = self._sizes.get(node.ino) if k is NodeKind.MARKDOWN else None
                if size is None:
                    size = len(self.content(node))
            return self._mk(node, stat.S_IFREG | self._file_mode, size, e.mtime_ns, 1)
        with self._lock:
            if k is NodeKind.LATEST:
                target = self.readlink(node.ino)
                mtime = _ns(self._conversation(node.serial).last_captured_at)
                return self._mk(node, stat.S_IFLNK | 0o777, len(target), mtime, 1)
            if k is NodeKind.CONVERSATION:
                # Its subdirectories are its versions: no need to build its listing (a
                # provider folder's readdir asks this of every conversation in it).
                brief = self._brief.get(node.serial)
                if brief is None:
                    info = self._conversation(node.serial)
                    brief = (0, _ns(info.last_captured_at), len(info.version_serials))
                return self._mk(node, stat.S_IFDIR | self._dir_mode, 0, brief[1], 2 + brief[2])
            listing = self._listing(node.ino)
            mtime = self._dir_mtime.get(node.ino, self._started_ns)
            return self._mk(node, stat.S_IFDIR | self._dir_mode, 0, mtime, 2 + listing.subdirs)

    @staticmethod
    def _mk(node: Node, mode: int, size: int, mtime_ns: int, nlink: int) -> Attr:
        return Attr(node.ino, node.kind, mode, size, mtime_ns, nlink, node.immutable,
                    node.fixed_name)

    # -- contents ---------------------------------------------------------------------------

    def read(self, ino: int, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes of file ``ino`` from ``offset`` (fewer only at the end)."""
        return self.read_node(self.node(ino), offset, size)

    def read_is_heavy(self, node: Node, offset: int, size: int) -> bool:
        """True if :meth:`read_node` should go to a worker thread: a ``conversation.md`` not
        in the cache, or a raw range touching more than ``max_inline_chunks`` chunks."""
        if node.kind is NodeKind.MARKDOWN:
            return self._content.get(node.ino) is None
        if node.kind is not NodeKind.RAW or node.layout is None:
            return False
        fe = node.layout.entries[node.index].file
        assert fe is not None
        end = min(fe.size, offset + size)
        if offset >= end or not fe.offsets:
            return False
        first = bisect.bisect_right(fe.offsets, offset) - 1
        last = bisect.bisect_left(fe.offsets, end)
        return last - first > self._max_inline_chunks

    def read_node(self, node: Node, offset: int, size: int) -> bytes:
        """Bytes of a resolved file node. Thread-safe; may block on vault reads.

        Raises :class:`IsADirectory` for directories, :class:`TreeError` (EIO) for the
        symlink, vault ``IntegrityError`` when stored data is damaged."""
        if node.kind.is_dir:
            raise IsADirectory(f"inode {node.ino} is a directory")
        if node.layout is None:
            raise TreeError(f"inode {node.ino} cannot be read")
        if offset < 0 or size < 0:
            raise TreeError("negative offset or size")
        if node.kind is NodeKind.RAW:
            fe = node.layout.entries[node.index].file
            assert fe is not None
            if offset >= fe.size or size == 0:
                return b""
            return self._reader.read(fe, offset, min(size, fe.size - offset))
        return self.content(node)[offset:offset + size]

    def content(self, node: Node) -> bytes:
        """The whole bytes of a synthetic file (``conversation.md`` or ``meta.json``), from
        the cache or rendered now. Thread-safe; rendering reads every raw file."""
        assert node.layout is not None
        key: Any = node.ino
        deleted = None
        if node.kind is NodeKind.META:  # its bytes depend on the conversation's deletion mark
            with self._lock:
                deleted = self._conversation(node.layout.version.conversation_serial).deleted_upstream_at
            key = (node.ino, deleted)
        data = self._content.get(key)
        if data is not None:
            return data
        if node.kind is NodeKind.META:
            data = render_meta(node.layout.version, deleted)
        elif node.kind is NodeKind.MARKDOWN:
            data = self._render_markdown(node.layout.version)
        else:
            raise TreeError(f"inode {node.ino} is not a generated file")
        known = self._sizes.setdefault(key, len(data))
        if known != len(data):  # a non-deterministic renderer would corrupt reads
            log.error("generated file %d changed size (%d -> %d)", node.ino, known, len(data))
            raise TreeError("generated file is not deterministic")
        self._content.put(key, data)
        return data

    def _render_markdown(self, version: VersionInfo) -> bytes:
        files = {fe.name: self._reader.read(fe, 0, fe.size) for fe in version.files}
        try:
            text: Any = self._render(version, files)
        except Exception as e:  # a renderer bug must not hide the raw files
            log.warning("rendering version %d failed: %s", version.serial, type(e).__name__)
            log.debug("rendering version %d failed", version.serial, exc_info=True)
            text = (f"# {MARKDOWN_NAME} could not be rendered\n\nThe renderer failed with "
                    f"`{type(e).__name__}`. The raw files of this version are intact.\n")
        if isinstance(text, bytes):
            return text
        return str(text).encode("utf-8", "replace")

    # -- refresh ---------------------------------------------------------------------------

    def refresh(self) -> list[Change]:
        """Ask the reader for a new commit; if there is one, re-read every cached directory
        listing and return what changed (directories, and ``latest`` symlinks that now point
        elsewhere) for kernel invalidation. Inodes never change; version contents neither."""
        with self._lock:
            if not self._reader.refresh():
                return []
            old = self._listings
            old_convs = self._convs
            self._listings = {}
            self._convs = {}
            self._org_names = None
            self._provider_loc = None
            self._conv_parent = {}
            self._brief = {}
            now = self._clock()
            changes: list[Change] = []
            for ino in sorted(old):  # kind order: providers before their conversations
                before = old[ino]
                try:
                    after: _Listing | None = self._listing(ino)
                except NotFound:
                    after = None
                kind, payload = split_ino(ino)
                if kind == K_CONVERSATION and (after is None or after.target != before.target):
                    changes.append(Change(make_ino(K_LATEST, payload)))
                if after is not None and after.entries == before.entries:
                    continue
                stale = tuple(n for n, i in before.entries
                              if after is None or after.by_name.get(n) != i)
                changes.append(Change(ino, stale))
                self._dir_mtime[ino] = now
            changes += self._meta_changes(old_convs)
            return changes

    def _meta_changes(self, old_convs: dict[int, ConversationInfo]) -> list[Change]:
        """The ``meta.json`` inodes of every version of a (cached) conversation whose deletion
        mark changed: their bytes and size changed, so the kernel must drop what it cached."""
        out: list[Change] = []
        for serial, before in sorted(old_convs.items()):
            try:
                after = self._conversation(serial)
            except NotFound:
                continue
            if after.deleted_upstream_at == before.deleted_upstream_at:
                continue
            for vserial in after.version_serials:
                try:
                    layout = self._layout(vserial)
                except TreeError:
                    continue
                out += [Change(version_ino(vserial, i)) for i, e in enumerate(layout.entries)
                        if e.kind is NodeKind.META]
        return out


def render_meta(version: VersionInfo, deleted_upstream_at: float | None = None) -> bytes:
    """``meta.json`` of a version: its ``meta`` plus ``files`` (name, sha256 hex, size of
    each raw file, in stored order) and ``deleted_upstream_at`` (Unix seconds when the source
    was found without this conversation, else ``null``), sorted keys, 2-space indent, UTF-8,
    final newline."""
    doc = dict(version.meta)
    doc["deleted_upstream_at"] = deleted_upstream_at
    doc["files"] = [{"name": fe.name, "sha256": fe.sha256.hex(), "size": fe.size}
                    for fe in version.files]
    text = json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    return (text + "\n").encode("utf-8", "replace")
