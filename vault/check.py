"""Verifying a vault: index ↔ packs, and with ``read_data`` every blob's bytes.

Without ``read_data``: every pack the index names exists with the recorded size and its
encrypted header opens and lists each indexed chunk at the indexed place; every
conversation and version record decrypts and parses; every chunk a version needs is in
the index with the right length. With ``read_data`` also: every blob in every pack is
decrypted, decompressed and its id recomputed (keyed BLAKE3) and compared.

Each problem names what is damaged and which conversation versions it affects.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

from .blob import DATA, MANIFEST
from .errors import IntegrityError, VaultError
from .keys import mac
from .index import CHUNK_LOC, PACK_REC, U32, U64
from .pack import pack_path, read_header


@dataclass
class CheckReport:
    """``problems``: one line each (what and where); ``stats``: counts checked;
    ``notes``: harmless findings (e.g. unreferenced packs from an interrupted collect)."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(vault, read_data: bool = False,
          progress: Callable[[int, int], None] | None = None) -> CheckReport:
    """Check ``vault`` (an unlocked :class:`vault.vault.Vault`); never raises for damage,
    reports it. ``progress(done, total)`` is called per pack."""
    report = CheckReport()
    reader = vault.reader()
    try:
        _check(vault, reader, report, read_data, progress)
    finally:
        reader.close()
    return report


def _check(vault, reader, report: CheckReport, read_data: bool, progress) -> None:
    idx, crypto = reader.index, reader.crypto
    packs: dict[int, tuple[bytes, int]] = {}
    chunks: dict[bytes, tuple[int, int, int, int, int]] = {}
    with idx.env.begin() as txn:
        for k, v in txn.cursor(db=idx.db["packs"]):
            packs[U32.unpack(k)[0]] = PACK_REC.unpack(v)
        for k, v in txn.cursor(db=idx.db["chunks"]):
            chunks[bytes(k)] = CHUNK_LOC.unpack(v)
        conv_raw = [(bytes(k), bytes(v)) for k, v in txn.cursor(db=idx.db["convs"])]
        ver_raw = [(bytes(k), bytes(v)) for k, v in txn.cursor(db=idx.db["versions"])]
    report.stats.update(packs=len(packs), chunks=len(chunks), conversations=len(conv_raw),
                        versions=len(ver_raw))

    # Which version files need which chunk (to say what damage affects).
    users: dict[bytes, list[str]] = defaultdict(list)
    for k, raw in ver_raw:
        serial = U64.unpack(k)[0]
        try:
            v = reader.version(serial)
        except VaultError as e:
            report.problems.append(f"version #{serial}: record unreadable ({e})")
            continue
        label = f"{v.meta.get('provider')}/{v.meta.get('native_id')}/{v.name}"
        for f in v.files:
            if sum(c[1] for c in f.chunks) != f.size:
                report.problems.append(f"{label}/{f.name}: chunk lengths do not add up to its size")
            for cid, length in f.chunks:
                users[cid].append(f"{label}/{f.name}")
                loc = chunks.get(cid)
                if loc is None:
                    report.problems.append(f"{label}/{f.name}: chunk {cid.hex()[:16]} missing from the index")
                elif loc[3] != length:
                    report.problems.append(f"{label}/{f.name}: chunk {cid.hex()[:16]} has the wrong length")
    for k, raw in conv_raw:
        serial = U64.unpack(k)[0]
        try:
            crypto.open("convs", k, raw)
            info = reader.conversation(serial)
            for vs in info.version_serials:
                if not any(U64.unpack(vk)[0] == vs for vk, _ in ver_raw):
                    report.problems.append(f"conversation #{serial}: version #{vs} is missing")
        except (VaultError, ValueError, KeyError) as e:
            report.problems.append(f"conversation #{serial}: record unreadable ({e})")

    def affected(cid: bytes) -> str:
        who = sorted(set(users.get(cid, [])))
        if not who:
            return "no stored file uses it"
        more = f" and {len(who) - 3} more" if len(who) > 3 else ""
        return "affects " + ", ".join(who[:3]) + more

    by_pack: dict[int, list[bytes]] = defaultdict(list)
    for cid, loc in chunks.items():
        by_pack[loc[0]].append(cid)
    for no in by_pack:
        if no not in packs:
            for cid in by_pack[no]:
                report.problems.append(f"chunk {cid.hex()[:16]}: its pack #{no} is not in the index; {affected(cid)}")

    known_files = set()
    for i, (no, (pack_id, size)) in enumerate(sorted(packs.items())):
        if progress:
            progress(i, len(packs))
        path = pack_path(vault.root, pack_id)
        known_files.add(path.name)
        name = f"pack {pack_id.hex()}"
        try:
            actual = os.stat(path).st_size
        except FileNotFoundError:
            for cid in by_pack.get(no, []):
                report.problems.append(f"{name} is missing: chunk {cid.hex()[:16]} lost; {affected(cid)}")
            if not by_pack.get(no):
                report.problems.append(f"{name} is missing")
            continue
        if actual != size:
            report.problems.append(f"{name}: size {actual} bytes, the index says {size}")
        try:
            header = {e.id: e for e in read_header(path, pack_id, reader.cipher)}
        except VaultError as e:
            report.problems.append(f"{name}: header unreadable ({e}); "
                                   f"{len(by_pack.get(no, []))} chunks affected")
            for cid in by_pack.get(no, []):
                report.problems.append(f"chunk {cid.hex()[:16]} in damaged {name}; {affected(cid)}")
            continue
        for cid in by_pack.get(no, []):
            e, loc = header.get(cid), chunks[cid]
            if e is None or (e.offset, e.length, e.raw_len) != loc[1:4]:
                report.problems.append(f"{name}: does not hold chunk {cid.hex()[:16]} where the index says; {affected(cid)}")
        if read_data:
            _read_pack(path, name, header, reader, report, affected)
    if progress:
        progress(len(packs), len(packs))
    for p in (vault.root / "packs").glob("*/*"):
        if p.name not in known_files:
            report.notes.append(f"pack {p.name} is not referenced by the index "
                                "(left by an interrupted collect; harmless)")


def _read_pack(path, name, header, reader, report: CheckReport, affected) -> None:
    id_key = reader.vault.keys.chunk_id
    with open(path, "rb") as f:
        for e in header.values():
            f.seek(e.offset)
            sealed = f.read(e.length)
            try:
                plain = reader.cipher.open(e.type, e.id, sealed, e.raw_len, name)
            except (IntegrityError, VaultError) as err:
                report.problems.append(f"{name}: blob {e.id.hex()[:16]} damaged ({err}); {affected(e.id)}")
                continue
            report.stats["blobs_read"] = report.stats.get("blobs_read", 0) + 1
            if e.type in (DATA, MANIFEST):
                if mac(id_key, plain) != e.id or len(plain) != e.raw_len:
                    report.problems.append(f"{name}: blob {e.id.hex()[:16]} does not match its id; {affected(e.id)}")
