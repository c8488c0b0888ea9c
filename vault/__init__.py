"""The aifs vault: an encrypted, deduplicated, versioned store of AI conversations.

Public surface (everything else is private): open/create a vault, the model types, the errors.
Synchronous; imports neither :mod:`collectors` nor :mod:`aifs`.
"""

from .errors import (
    BadCredentials,
    IntegrityError,
    MissingData,
    StorageError,
    UnsupportedFormat,
    VaultError,
    VaultExists,
    VaultLocked,
    VaultNotFound,
)
from .model import (
    ConversationInfo,
    ConversationSnapshot,
    FileEntry,
    RawFile,
    SourceStamp,
    StoreResult,
    VersionInfo,
)
from .sourcefile import open_regular

__all__ = [
    "BadCredentials",
    "ConversationInfo",
    "ConversationSnapshot",
    "FileEntry",
    "IntegrityError",
    "MissingData",
    "RawFile",
    "StorageError",
    "SourceStamp",
    "StoreResult",
    "UnsupportedFormat",
    "VaultError",
    "VaultExists",
    "VaultLocked",
    "VaultNotFound",
    "VersionInfo",
    "open_regular",
]
