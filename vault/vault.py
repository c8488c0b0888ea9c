"""Creating and opening a vault directory.

Directory ``Layout:``::

    config              plaintext, no secrets: magic:8 = b"AIFS-VLT" | format:u16 LE
                        | reserved:u16 = 0 | vault_id:16                       (28 bytes)
    keys/passphrase-N   key slots (vault/keys.py), N = 1, 2, …
    keys/recovery-N
    packs/xx/<id>       immutable encrypted packs (vault/pack.py)
    index/              LMDB environment (vault/index.py)
    lock                flock target for the single writer (vault/lock.py)

Every directory is created 0700 and every file 0600. Nothing in the directory is
plaintext user content.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path
from typing import TYPE_CHECKING

from . import keys as K
from .errors import BadCredentials, UnsupportedFormat, VaultExists, VaultNotFound
from .index import Index
from .pack import fsync_dir

if TYPE_CHECKING:
    from .check import CheckReport
    from .reader import VaultReader
    from .writer import WriteSession

CONFIG = struct.Struct("<8sHH16s")
CONFIG_MAGIC = b"AIFS-VLT"
FORMAT = 1


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def read_config(root: Path) -> bytes:
    """Return the vault id from ``root/config``.

    Raises :class:`VaultNotFound` if there is no config, :class:`UnsupportedFormat` if it is
    not an aifs vault of a format this code reads.
    """
    try:
        raw = (root / "config").read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise VaultNotFound(f"no vault at {root}") from None
    if len(raw) != CONFIG.size or raw[:8] != CONFIG_MAGIC:
        raise UnsupportedFormat(f"{root}/config is not an aifs vault config")
    _magic, fmt, _r, vault_id = CONFIG.unpack(raw)
    if fmt != FORMAT:
        raise UnsupportedFormat(f"vault format {fmt} is newer than this aifs reads ({FORMAT})")
    return vault_id


class Vault:
    """An unlocked vault: its path, id and subkeys. Cheap to keep; holds no open files.

    Open LMDB only through :meth:`reader` (read-only, many at once, any process) or
    :meth:`writer` (exclusive, takes the ``lock``). Safe to ``fork`` after construction.
    """

    def __init__(self, root: Path, vault_id: bytes, master: bytes) -> None:
        self.root = root
        self.vault_id = vault_id
        self.keys = K.Subkeys.derive(master, vault_id)

    # -- creation -------------------------------------------------------------------------

    @classmethod
    def create(cls, root: str | os.PathLike[str], passphrase: str,
               kdf: K.KdfParams | None = None) -> tuple["Vault", str]:
        """Create a new vault at ``root`` protected by ``passphrase``.

        Returns ``(vault, recovery_key_text)``; show the text to the user once, it is not
        stored anywhere. Raises :class:`VaultExists` if ``root`` exists and is not an empty
        directory. The vault appears atomically (built beside it, then renamed).
        """
        root = Path(root).expanduser().absolute()
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise VaultExists(f"{root} already exists and is not an empty directory")
        if not passphrase:
            raise BadCredentials("the passphrase must not be empty")
        root.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = root.parent / f".{root.name}.creating-{os.urandom(4).hex()}"
        tmp.mkdir(mode=0o700)
        try:
            vault_id, master, recovery = os.urandom(16), K.new_master(), K.new_recovery_key()
            _write_private(tmp / "config", CONFIG.pack(CONFIG_MAGIC, FORMAT, 0, vault_id))
            (tmp / "keys").mkdir(mode=0o700)
            _write_private(tmp / "keys" / "passphrase-1",
                           K.seal_slot(K.KIND_PASSPHRASE, passphrase.encode(), master, vault_id, kdf))
            _write_private(tmp / "keys" / "recovery-1",
                           K.seal_slot(K.KIND_RECOVERY, recovery, master, vault_id))
            (tmp / "packs").mkdir(mode=0o700)
            _write_private(tmp / "lock", b"")
            Index(tmp / "index", readonly=False).close()
            for d in ("keys", "packs", "index", "."):
                fsync_dir(tmp / d)
            if root.exists():
                root.rmdir()
            os.rename(tmp, root)
            fsync_dir(root.parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return cls(root, vault_id, master), K.format_recovery_key(recovery)

    # -- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, root: str | os.PathLike[str], *, passphrase: str | None = None,
             recovery_key: str | None = None) -> "Vault":
        """Unlock the vault at ``root`` with a passphrase or the recovery key text.

        Raises :class:`VaultNotFound`, :class:`BadCredentials` (no slot opened),
        :class:`UnsupportedFormat`.
        """
        root = Path(root).expanduser().absolute()
        vault_id = read_config(root)
        if recovery_key is not None:
            kind, secret = K.KIND_RECOVERY, K.parse_recovery_key(recovery_key)
        elif passphrase is not None:
            kind, secret = K.KIND_PASSPHRASE, passphrase.encode()
        else:
            raise BadCredentials("a passphrase or recovery key is needed")
        for slot in sorted((root / "keys").glob("*")):
            blob = slot.read_bytes()
            if K.slot_kind(blob) != kind:
                continue
            try:
                return cls(root, vault_id, K.open_slot(blob, secret, vault_id))
            except BadCredentials:
                continue
        raise BadCredentials("wrong passphrase or recovery key")

    # -- access ---------------------------------------------------------------------------

    def reader(self) -> "VaultReader":
        """A read-only view (LMDB opened read-only; sees later commits). Close it when done."""
        from .reader import VaultReader
        return VaultReader(self)

    def writer(self) -> "WriteSession":
        """The single write session; raises :class:`VaultLocked` if another process writes."""
        from .writer import WriteSession
        return WriteSession(self)

    def check(self, read_data: bool = False, progress=None) -> "CheckReport":
        """Verify index ↔ packs (and with ``read_data`` every blob). See :mod:`vault.check`."""
        from .check import check
        return check(self, read_data=read_data, progress=progress)
