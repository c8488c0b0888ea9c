"""User configuration: where the vault is, the org name for local tools, collector settings.

File: ``$AIFS_CONFIG`` or ``platformdirs.user_config_dir("aifs")/config.toml`` (optional)::

    vault = "~/aifs-vault"          # default: platformdirs.user_data_dir("aifs")/vault
    org = "laptop"                  # default: this machine's hostname

    [collectors.claude-code]
    enabled = true
    path = "/elsewhere/.claude"     # point a collector at another root

Precedence: command-line option > environment (``AIFS_VAULT``) > config file > default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

# tomllib, platformdirs and socket are imported where used: most runs need none of them
# (no config file, AIFS_CONFIG / AIFS_VAULT set), and every short command pays for imports.


class ConfigError(Exception):
    """The config file exists but cannot be read or has a wrong value (message says which)."""


@dataclass(frozen=True)
class Config:
    """The merged configuration; ``collectors`` maps a collector name to its options."""

    vault: Path
    org: str
    collectors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: Path | None = None

    def collector_options(self, name: str) -> dict[str, Any]:
        """Options of one collector (``enabled`` removed)."""
        opts = dict(self.collectors.get(name, {}))
        opts.pop("enabled", None)
        return opts

    def collector_enabled(self, name: str) -> bool:
        """False only if the config says ``enabled = false`` for it."""
        return bool(self.collectors.get(name, {}).get("enabled", True))


def config_path(env: Mapping[str, str] = os.environ) -> Path:
    """Where the config file is looked for."""
    if env.get("AIFS_CONFIG"):
        return Path(env["AIFS_CONFIG"]).expanduser()
    import platformdirs
    return Path(platformdirs.user_config_dir("aifs")) / "config.toml"


def default_vault_path() -> Path:
    """``platformdirs.user_data_dir("aifs")/vault`` (``~/.local/share/aifs/vault`` on Linux)."""
    import platformdirs
    return Path(platformdirs.user_data_dir("aifs")) / "vault"


def _hostname() -> str:
    """``socket.gethostname()``; on POSIX the same name from ``uname`` (no socket import)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket
    return socket.gethostname()


def load_config(vault: str | None = None, org: str | None = None,
                env: Mapping[str, str] = os.environ) -> Config:
    """Merge options, environment, config file and defaults. Raises :class:`ConfigError`."""
    path = config_path(env)
    data: dict[str, Any] = {}
    if path.exists():
        import tomllib
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"cannot read config file {path}: {e}") from None
    collectors = data.get("collectors", {})
    if not isinstance(collectors, dict) or not all(isinstance(v, dict) for v in collectors.values()):
        raise ConfigError(f"{path}: [collectors.<name>] sections must be tables")
    chosen_vault = vault or env.get("AIFS_VAULT") or data.get("vault")
    chosen_org = org or env.get("AIFS_ORG") or data.get("org") or _hostname() or "localhost"
    if not isinstance(chosen_org, str) or not chosen_org.strip():
        raise ConfigError(f"{path}: org must be a non-empty string")
    return Config(vault=Path(chosen_vault).expanduser() if chosen_vault else default_vault_path(),
                  org=chosen_org.strip(), collectors=collectors,
                  path=path if path.exists() else None)
