"""An in-memory stand-in for ``vault.reader()`` (the VaultReader API the mount codes against).

Serials come from ONE counter for every kind (orgs, provider folders, conversations,
versions), which is allowed by the contract and catches code that confuses them. Every
mutation is a "commit": it bumps ``generation``; :meth:`FakeReader.refresh` reports it once.
Files are cut into small chunks so that reads spanning chunks are exercised.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import itertools
import threading
import time
from collections import Counter
from itertools import accumulate

from vault import ConversationInfo, FileEntry, IntegrityError, VersionInfo


def version_name(captured_at: float) -> str:
    return time.strftime("%Y-%m-%dT%H-%M-%SZ", time.gmtime(captured_at))


class FakeReader:
    def __init__(self, chunk_size: int = 16) -> None:
        self.chunk_size = chunk_size
        self.generation = 0
        self._seen = 0
        self._lock = threading.RLock()
        self._serial = itertools.count(1)
        self._orgs: dict[int, str] = {}
        self._providers: dict[int, tuple[int, str]] = {}
        self._convs: dict[int, ConversationInfo] = {}
        self._conv_dir: dict[int, int] = {}
        self._versions: dict[int, VersionInfo] = {}
        self._chunks: dict[bytes, bytes] = {}
        self.corrupt: set[bytes] = set()  # chunk ids whose read raises IntegrityError
        self.fail_with: BaseException | None = None  # raised by every metadata call
        self.calls: Counter[str] = Counter()
        self.closed = False

    # -- building ---------------------------------------------------------------------------

    def _commit(self) -> None:
        self.generation += 1

    def add_org(self, name: str) -> int:
        with self._lock:
            s = next(self._serial)
            self._orgs[s] = name
            self._commit()
            return s

    def add_provider(self, org: int, slug: str) -> int:
        with self._lock:
            s = next(self._serial)
            self._providers[s] = (org, slug)
            self._commit()
            return s

    def add_conversation(self, provider: int, native_id: str, title: str) -> int:
        with self._lock:
            s = next(self._serial)
            org, slug = self._providers[provider]
            self._convs[s] = ConversationInfo(
                serial=s, provider=slug, org=self._orgs[org], native_id=native_id, title=title,
                created_at=1_700_000_000.0, updated_at=None, version_serials=(),
                version_names=(), last_captured_at=0.0)
            self._conv_dir[s] = provider
            self._commit()
            return s

    def _entry(self, name: str, data: bytes, mtime_ns: int) -> FileEntry:
        pieces = [data[i:i + self.chunk_size] for i in range(0, len(data), self.chunk_size)]
        chunks = []
        for p in pieces:
            cid = hashlib.sha256(p).digest()
            self._chunks[cid] = p
            chunks.append((cid, len(p)))
        offsets = tuple(accumulate((c[1] for c in chunks[:-1]), initial=0)) if chunks else ()
        return FileEntry(name, len(data), hashlib.sha256(data).digest(), mtime_ns,
                         tuple(chunks), offsets)

    def add_version(self, conv: int, files: dict[str, bytes] | list[tuple[str, bytes]],
                    captured_at: float, mtimes: dict[str, int] | None = None) -> VersionInfo:
        with self._lock:
            info = self._convs[conv]
            s = next(self._serial)
            name = base = version_name(captured_at)
            n = 1
            while name in info.version_names:
                n += 1
                name = f"{base}.{n}"
            items = list(files.items()) if isinstance(files, dict) else list(files)
            entries = tuple(self._entry(fn, data, (mtimes or {}).get(fn, 0)) for fn, data in items)
            meta = {"serial": s, "conversation_serial": conv, "name": name,
                    "captured_at": captured_at, "provider": info.provider, "org": info.org,
                    "native_id": info.native_id, "title": info.title, "created_at": info.created_at,
                    "updated_at": None, "source_path": "/src/" + info.native_id, "links": {},
                    "attributes": {"model": "fake-1"}, "warnings": []}
            v = VersionInfo(serial=s, conversation_serial=conv, name=name, captured_at=captured_at,
                            title=info.title, files=entries, meta=meta)
            self._versions[s] = v
            self._convs[conv] = dataclasses.replace(
                info, version_serials=info.version_serials + (s,),
                version_names=info.version_names + (name,), last_captured_at=captured_at)
            self._commit()
            return v

    def rename(self, conv: int, title: str) -> None:
        with self._lock:
            self._convs[conv] = dataclasses.replace(self._convs[conv], title=title)
            self._commit()

    def mark_deleted(self, conv: int, when: float | None) -> None:
        with self._lock:
            self._convs[conv] = dataclasses.replace(self._convs[conv], deleted_upstream_at=when)
            self._commit()

    # -- the VaultReader API ----------------------------------------------------------------

    def _call(self, what: str) -> None:
        self.calls[what] += 1
        if self.fail_with is not None:
            raise self.fail_with

    def refresh(self) -> bool:
        with self._lock:
            changed, self._seen = self.generation != self._seen, self.generation
            return changed

    def orgs(self) -> list[tuple[int, str]]:
        self._call("orgs")
        with self._lock:
            return sorted(self._orgs.items())

    def providers(self, org_serial: int) -> list[tuple[int, str]]:
        self._call("providers")
        with self._lock:
            return sorted((s, slug) for s, (o, slug) in self._providers.items() if o == org_serial)

    def conversations(self, provider_dir_serial: int) -> list[ConversationInfo]:
        self._call("conversations")
        with self._lock:
            return [c for s, c in sorted(self._convs.items())
                    if self._conv_dir[s] == provider_dir_serial]

    def conversation_rows(self, provider_dir_serial: int) -> list[tuple[int, str, str, int, float]]:
        return [(c.serial, c.title, c.native_id, len(c.version_serials), c.last_captured_at)
                for c in self.conversations(provider_dir_serial)]

    def conversation(self, serial: int) -> ConversationInfo:
        self._call("conversation")
        with self._lock:
            return self._convs[serial]

    def version(self, serial: int) -> VersionInfo:
        self._call("version")
        with self._lock:
            return self._versions[serial]

    def read(self, entry: FileEntry, offset: int, size: int) -> bytes:
        self.calls["read"] += 1
        if offset >= entry.size or size <= 0:
            return b""
        end = min(entry.size, offset + size)
        i = bisect.bisect_right(entry.offsets, offset) - 1
        parts = []
        while i < len(entry.chunks) and entry.offsets[i] < end:
            cid, _ = entry.chunks[i]
            if cid in self.corrupt:
                raise IntegrityError("chunk fails authentication", f"chunk {cid.hex()[:16]}")
            start = entry.offsets[i]
            parts.append(self._chunks[cid][max(0, offset - start):end - start])
            i += 1
        return b"".join(parts)

    def close(self) -> None:
        self.closed = True


def render_markdown(version: VersionInfo, files: dict[str, bytes]) -> str:
    """A deterministic stand-in for the collectors' renderer."""
    out = [f"# {version.title}\n\ncaptured {version.name}\n"]
    for name in sorted(files):
        out.append(f"\n## {name}\n\n{len(files[name])} bytes, starts {files[name][:8]!r}\n")
    return "".join(out)


FALAFEL_ID = "93a9705e-bc6a-406d-8dce-8acc014dedbd"
T0 = 1_795_731_664.0  # 2026-11-20T22-21-04Z


def sample() -> tuple[FakeReader, dict[str, int]]:
    """A small archive: laptop/claude-code with two conversations, laptop/codex with one."""
    r = FakeReader()
    ids: dict[str, int] = {}
    ids["laptop"] = r.add_org("laptop")
    ids["claude-code"] = r.add_provider(ids["laptop"], "claude-code")
    ids["codex"] = r.add_provider(ids["laptop"], "codex")
    ids["falafel"] = r.add_conversation(ids["claude-code"], FALAFEL_ID, "Fix dry falafel")
    jsonl = b"".join(b'{"type":"user","n":%d,"text":"falafel \xc3\xa9"}\n' % i for i in range(40))
    ids["v1"] = r.add_version(ids["falafel"], {
        f"{FALAFEL_ID}.jsonl": jsonl,
        "subagents/agent-1.jsonl": b'{"agent":1}\n',
        "subagents/agent-1.meta.json": b'{"a":1}\n',
    }, T0, mtimes={f"{FALAFEL_ID}.jsonl": 1_795_731_600_123_456_789}).serial
    ids["v2"] = r.add_version(ids["falafel"], {
        f"{FALAFEL_ID}.jsonl": jsonl + b'{"type":"assistant","text":"more oil"}\n',
        "subagents/agent-1.jsonl": b'{"agent":1}\n',
    }, T0 + 38_107).serial
    ids["hummus"] = r.add_conversation(ids["claude-code"], "c0ffee", "Hummus / tahini ratio")
    ids["h1"] = r.add_version(ids["hummus"], {"c0ffee.jsonl": b"{}\n"}, T0 + 5).serial
    ids["codex-conv"] = r.add_conversation(ids["codex"], "rollout-1", "")
    ids["x1"] = r.add_version(ids["codex-conv"], {"rollout-1.jsonl": b"x" * 100}, T0 + 9).serial
    return r, ids
