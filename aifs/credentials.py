"""Getting the passphrase or recovery key: environment, a file, or a prompt without echo.

Never from the command line (argv is visible to every user via ``ps``). Order:
``--recovery-key-file`` / ``AIFS_RECOVERY_KEY``, then ``--passphrase-file`` /
``AIFS_PASSPHRASE``, then an interactive prompt if stdin is a terminal.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Mapping


class CredentialError(Exception):
    """No credential could be obtained (non-interactive and none given, unreadable file)."""


@dataclass(frozen=True)
class Credential:
    """Exactly one of ``passphrase`` or ``recovery_key`` (text) is set."""

    passphrase: str | None = None
    recovery_key: str | None = None


def _read_secret_file(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise CredentialError(f"cannot read {path}: {e.strerror if isinstance(e, OSError) else e}") from None
    return text.rstrip("\r\n")


def obtain(passphrase_file: str | None = None, recovery_key_file: str | None = None,
           env: Mapping[str, str] = os.environ, prompt: str = "Vault passphrase: ") -> Credential:
    """A credential to open an existing vault. Raises :class:`CredentialError`."""
    if recovery_key_file:
        return Credential(recovery_key=_read_secret_file(recovery_key_file))
    if env.get("AIFS_RECOVERY_KEY"):
        return Credential(recovery_key=env["AIFS_RECOVERY_KEY"])
    if passphrase_file:
        return Credential(passphrase=_read_secret_file(passphrase_file))
    if env.get("AIFS_PASSPHRASE"):
        return Credential(passphrase=env["AIFS_PASSPHRASE"])
    if sys.stdin.isatty():
        import getpass  # only for a prompt
        return Credential(passphrase=getpass.getpass(prompt))
    raise CredentialError("no passphrase: set AIFS_PASSPHRASE, use --passphrase-file, "
                          "or run in a terminal to be asked")


def given(passphrase_file: str | None = None, recovery_key_file: str | None = None,
          env: Mapping[str, str] = os.environ) -> Credential | None:
    """The credential :func:`obtain` would return, if it is given without asking (a file or
    the environment); ``None`` if only a prompt could give one or it cannot be read (then
    :func:`obtain`, called when it is time to ask, prompts or raises as usual)."""
    if not (recovery_key_file or env.get("AIFS_RECOVERY_KEY") or passphrase_file
            or env.get("AIFS_PASSPHRASE")):
        return None
    try:
        return obtain(passphrase_file, recovery_key_file, env)
    except CredentialError:
        return None


def obtain_new(passphrase_file: str | None = None, env: Mapping[str, str] = os.environ) -> str:
    """A new passphrase for ``aifs init`` (asked twice on a terminal). Raises :class:`CredentialError`."""
    if passphrase_file:
        value = _read_secret_file(passphrase_file)
    elif env.get("AIFS_PASSPHRASE"):
        value = env["AIFS_PASSPHRASE"]
    elif sys.stdin.isatty():
        import getpass  # only for a prompt
        value = getpass.getpass("New vault passphrase: ")
        if getpass.getpass("Repeat the passphrase: ") != value:
            raise CredentialError("the two passphrases differ")
    else:
        raise CredentialError("no passphrase: set AIFS_PASSPHRASE, use --passphrase-file, "
                              "or run in a terminal to be asked")
    if not value:
        raise CredentialError("the passphrase must not be empty")
    return value
