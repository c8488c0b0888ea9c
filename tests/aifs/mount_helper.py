"""Serve the FakeReader sample archive with the real mount code (for test_mount_real.py).

Run from the repository root::

    python -m tests.aifs.mount_helper MOUNTPOINT CONTROL_DIR [--background] [--fail]

While mounted, creating ``CONTROL_DIR/add-version`` makes the fake vault commit a new
version of the falafel conversation and rename it (as a running ``aifs collect`` would);
the helper then renames the file to ``added``. ``--fail`` makes the reader factory raise
``BadCredentials``. Exit status: 0, ``MountError.exit_code``, or 3 for a vault error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time

from aifs.mount import MountError, mount
from vault import BadCredentials, VaultError

from .aifs_fakes import T0, render_markdown, sample

NEW_VERSION_AT = T0 + 1_000_000
NEW_TITLE = "Fix dry falafel (solved)"


def _watch(reader, ids, ctl: str) -> None:
    trigger = os.path.join(ctl, "add-version")
    while True:
        if os.path.exists(trigger):
            reader.add_version(ids["falafel"], {"new.jsonl": b'{"fresh":true}\n'}, NEW_VERSION_AT)
            reader.rename(ids["falafel"], NEW_TITLE)
            os.rename(trigger, os.path.join(ctl, "added"))
        time.sleep(0.05)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("mountpoint")
    p.add_argument("ctl")
    p.add_argument("--background", action="store_true")
    p.add_argument("--fail", action="store_true")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)

    def factory():
        if args.fail:
            raise BadCredentials("wrong passphrase")
        reader, ids = sample()
        threading.Thread(target=_watch, args=(reader, ids, args.ctl), daemon=True).start()
        return reader

    try:
        return mount(factory, render_markdown, args.mountpoint, foreground=not args.background,
                     allow_other=False)
    except MountError as e:
        print(f"MountError({e.exit_code}): {e}", file=sys.stderr)
        return e.exit_code
    except VaultError as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
