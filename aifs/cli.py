"""The ``aifs`` command line. One table (``EXIT_CODES``) maps errors to exit codes and
one-line messages: users never see a traceback for their own mistakes.

Exit codes::

    0 ok                    1 finished, but some items failed / check found problems
    2 usage or config error 3 no vault here            4 a vault already exists
    5 wrong or missing passphrase / recovery key       6 another aifs is writing
    7 vault damaged or of an unknown format            8 mountpoint missing or not a dir
    9 mountpoint busy (already mounted or not empty)  10 FUSE unavailable
   11 not mounted (umount)   12 the mount server failed to start
   13 the data export cannot be read (damaged, cut off, or of no known layout)
  130 interrupted
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from vault import (BadCredentials, IntegrityError, StorageError, UnsupportedFormat, VaultError,
                   VaultExists, VaultLocked, VaultNotFound)

from .config import ConfigError, load_config
from .credentials import Credential, CredentialError, given, obtain, obtain_new

if TYPE_CHECKING:
    from vault.vault import Vault

log = logging.getLogger("aifs")


class CliError(Exception):
    """A user-facing failure with its exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# An entry may name its class as "module:Class" when that module is imported only by the
# commands that raise it (``aifs import``): an error of that class can only exist if the module
# was imported, so the lookup never imports it (short commands pay for every import).
EXIT_CODES: list[tuple[type[BaseException] | str, int]] = [
    (ConfigError, 2),
    (VaultNotFound, 3),
    (VaultExists, 4),
    (BadCredentials, 5),
    (CredentialError, 5),
    (VaultLocked, 6),
    (StorageError, 7),
    (UnsupportedFormat, 7),
    (IntegrityError, 7),
    (VaultError, 7),
    ("collectors.export_source:ExportError", 13),
    (OSError, 1),
]


def _exit_code(exc: BaseException) -> int | None:
    code = getattr(exc, "exit_code", None)
    if isinstance(code, int):
        return code
    for cls, c in EXIT_CODES:
        if isinstance(cls, str):
            module, _, name = cls.partition(":")
            cls = getattr(sys.modules.get(module), name, None)
            if cls is None:
                continue
        if isinstance(exc, cls):
            return c
    return None


def _human(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def _valid(text: str) -> str:
    """Text that can be printed as UTF-8: lone surrogates become U+FFFD."""
    return text.encode("utf-8", "replace").decode("utf-8") if text else text


def _printable(text: str) -> str:
    """Escape control characters so a hostile title cannot drive the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


# -- commands ---------------------------------------------------------------------------


def _open_vault(args, config) -> Vault:
    return _Unlock(args, config, background=False).vault()


class _Unlock:
    """Opening the vault, optionally on a background thread.

    Unlocking is one Argon2id derivation (~0.15 s, two lanes; the cost is the vault's and
    is kept). It runs in C with the GIL released, so with ``background`` the command goes on
    with work that needs no vault (loading collectors, listing their sources) meanwhile.
    The credential is ``cred`` if given, else obtained (prompted for) here, in the
    foreground, before anything else. :meth:`vault` waits and returns the open
    :class:`~vault.vault.Vault` or raises what ``Vault.open`` raised (``VaultNotFound``,
    ``BadCredentials``, …).
    """

    def __init__(self, args, config, background: bool = True,
                 cred: Credential | None = None) -> None:
        from vault.vault import Vault
        if cred is None:
            cred = obtain(args.passphrase_file, args.recovery_key_file)
        self._result: Vault | BaseException | None = None

        def run() -> None:
            try:
                self._result = Vault.open(config.vault, passphrase=cred.passphrase,
                                          recovery_key=cred.recovery_key)
            except BaseException as e:  # handed to the caller by vault()
                self._result = e

        self._thread = None
        if background:
            import threading
            self._thread = threading.Thread(target=run, name="aifs-unlock", daemon=True)
            self._thread.start()
        else:
            run()

    def vault(self) -> Vault:
        """The open vault (waits for the derivation); raises what ``Vault.open`` raised."""
        if self._thread is not None:
            self._thread.join()
        if isinstance(self._result, BaseException):
            raise self._result
        return self._result


def cmd_init(args, config) -> int:
    root = config.vault
    # Vault.create checks this too; checking first spares the user the passphrase prompt.
    if (root / "config").exists() or (root.exists() and (not root.is_dir() or any(root.iterdir()))):
        raise VaultExists(f"{root} already exists; refusing to overwrite it")
    passphrase = obtain_new(args.passphrase_file)
    from vault.vault import Vault
    _vault, recovery = Vault.create(root, passphrase)
    print(f"Created vault {root}")
    print()
    print("Recovery key (shown once; store it somewhere safe, it alone also opens the vault):")
    print()
    print(f"    {recovery}")
    print()
    return 0


class _DelayedProgress:
    """The collect progress bar (transient), shown only once the run has lasted ``delay``
    seconds: a quick run (nothing changed) shows none and never imports rich (~40 ms).

    :meth:`update` is the runner's ``progress`` callback; :meth:`close` removes the bar.
    A timer thread starts the bar with the latest state; a lock orders it with both.
    """

    def __init__(self, delay: float = 0.3) -> None:
        import threading
        self._lock = threading.Lock()
        self._ui = self._task = None
        self._state: tuple[str, int, int | None] = ("", 0, None)
        self._closed = False
        self._timer = threading.Timer(delay, self._start)
        self._timer.daemon = True
        self._timer.start()

    def _start(self) -> None:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn)
        ui = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), transient=True)
        with self._lock:
            if self._closed:
                return
            name, done, total = self._state
            self._task = ui.add_task(f"collecting {name}" if name else "collecting",
                                     completed=done, total=total)
            ui.start()
            self._ui = ui

    def update(self, name: str, done: int, total: int) -> None:
        """Record (and show, once the bar is up) ``done`` of ``total`` items, at ``name``."""
        with self._lock:
            self._state = (name, done, total)
            if self._ui is not None:
                self._ui.update(self._task, description=f"collecting {name}", completed=done,
                                total=total)

    def close(self) -> None:
        """Stop the timer, and the bar if it is up (it leaves no trace on the terminal)."""
        self._timer.cancel()
        with self._lock:
            self._closed = True
            if self._ui is not None:
                self._ui.stop()


def cmd_collect(args, config) -> int:
    unlock = _Unlock(args, config)
    # While the key is derived: load the collectors and list their sources (no vault
    # needed). Nothing is printed or logged before the vault is open, and the vault's own
    # error (no vault, wrong passphrase) wins over anything raised here, as if the vault had
    # been opened first.
    try:
        from .registry import load_collectors, log_failures
        from .runner import collect, default_context, discover_all

        loaded = load_collectors(quiet=True)
        chosen = {n: c for n, c in loaded.collectors.items() if config.collector_enabled(n)}
        unknown = set(args.only or ()) - set(loaded.collectors)
        if args.only:
            chosen = {n: c for n, c in chosen.items() if n in args.only}
        home = Path(args.home).expanduser().absolute() if args.home else Path.home()
        env = dict(os.environ)
        if args.home:  # look only under the given home, not at the real tools' env overrides
            for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME"):
                env.pop(var, None)

        def ctx_for(name: str):
            return default_context(home, env, config.collector_options(name))

        plan = None if unknown else discover_all(chosen, ctx_for)
        importlib.import_module("vault.writer")  # Vault.writer() needs it: import it while we wait
    except BaseException:
        unlock.vault()
        raise
    vault = unlock.vault()
    log_failures(loaded)
    if unknown:
        raise CliError(f"unknown collector(s): {', '.join(sorted(unknown))}", 2)

    ui = _DelayedProgress() if sys.stderr.isatty() and not args.json else None
    with vault.writer() as writer:
        try:
            summary = collect(writer, chosen, ctx_for, config.org, ui and ui.update, plan=plan)
        finally:
            if ui is not None:
                ui.close()
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        for e in summary.errors:
            print(f"error: {e['collector']}: {e['path']}: {e['reason']}", file=sys.stderr)
        print(f"{summary.seen} conversations seen: {summary.new} new, {summary.changed} changed, "
              f"{summary.unchanged} unchanged, {summary.failed} failed")
        if summary.deleted_upstream:
            print(f"{summary.deleted_upstream} conversations are gone at their source "
                  "(kept in the vault, marked deleted upstream)")
        print(f"read {_human(summary.bytes_read)}, stored {_human(summary.bytes_stored)} "
              f"in {summary.seconds:.2f} s")
    return 1 if summary.failed else 0


def cmd_import(args, config) -> int:
    from collectors.export_source import ExportError, open_export

    from .importer import choose_importer, import_export
    from .registry import load_importers

    importers, failures = load_importers()
    for name, err in failures.items():
        print(f"warning: importer {name} could not be loaded: {err}", file=sys.stderr)
    with open_export(args.path) as export:  # bad paths fail before the passphrase prompt
        importer = choose_importer(export, importers, args.provider)
        vault = _open_vault(args, config)
        show = sys.stderr.isatty() and not args.json
        try:
            with vault.writer() as writer:
                if show:
                    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                                               TimeElapsedColumn)
                    ui = Progress(TextColumn("importing {task.description}"), BarColumn(),
                                  DownloadColumn(), TimeElapsedColumn(), transient=True)
                    task = ui.add_task(f"{importer.provider}: 0 conversations", total=None)

                    def update(done: int, read: int, total: int) -> None:
                        ui.update(task, description=f"{importer.provider}: {done} conversations",
                                  completed=read, total=total or None)
                    with ui:
                        summary = import_export(writer, export, importer, args.org, update)
                else:
                    summary = import_export(writer, export, importer, args.org)
        except ExportError as e:
            partial = getattr(e, "summary", None)
            if partial is not None:
                _print_import(partial, args.json)
            raise
    _print_import(summary, args.json)
    return 1 if summary.failed else 0


def _print_import(summary, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False))
        return
    for s in summary.skips:
        print(f"skipped: {_printable(_valid(s['where']))}: {s['reason']}", file=sys.stderr)
    for e in summary.errors:
        print(f"error: {_printable(_valid(e['path']))}: {e['reason']}", file=sys.stderr)
    print(f"{summary.provider} export ({'full' if summary.full else 'partial'}): "
          f"{summary.seen} conversations: {summary.new} new, {summary.changed} changed, "
          f"{summary.unchanged} unchanged, {summary.skipped} skipped, {summary.failed} failed")
    if summary.deleted_upstream:
        print(f"{summary.deleted_upstream} conversations are no longer in this export "
              "(kept in the vault, marked deleted upstream)")
    if not summary.complete:
        print("the export could not be read to its end: what was read before the problem is "
              "stored; nothing was marked deleted")
    else:
        print(f"the export file itself: {summary.export_status}")
    print(f"read {_human(summary.bytes_read)}, stored {_human(summary.bytes_stored)} "
          f"in {summary.seconds:.2f} s")


def cmd_ls(args, config) -> int:
    vault = _open_vault(args, config)
    with vault.reader() as reader:
        convs = reader.conversations()
    rows = [{"org": _valid(c.org), "provider": c.provider, "title": _valid(c.title),
             "id": _valid(c.native_id),
             "versions": len(c.version_serials),
             "last_capture": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(c.last_captured_at)),
             "deleted_upstream_at": c.deleted_upstream_at}
            for c in sorted(convs, key=lambda c: (c.provider, -c.last_captured_at))]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("the vault holds no conversations yet (run `aifs collect`)")
        return 0
    print(f"{'PROVIDER':<12} {'VERSIONS':>8}  {'LAST CAPTURE':<20}  {'ID':<38} TITLE")
    for r in rows:
        title = _printable(r["title"])
        if len(title) > 60:
            title = title[:59] + "…"
        print(f"{r['provider']:<12} {r['versions']:>8}  {r['last_capture']:<20}  "
              f"{_printable(r['id']):<38} {title}")
    return 0


def cmd_check(args, config) -> int:
    vault = _open_vault(args, config)
    repaired = None
    if args.repair:
        from vault.repair import repair
        repaired = repair(vault)
        if not args.json:
            _print_repair(repaired)
    report = vault.check(read_data=args.read_data)
    if args.json:
        out = report.as_dict()
        if repaired is not None:
            out["repair"] = {k: (str(v) if isinstance(v, Path) else v)
                             for k, v in vars(repaired).items()}
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        for d in report.damage:
            print(f"problem: {_printable(_valid(d.what))}; {d.summary()}")
            for v in d.versions:
                print(f"    version {_printable(_valid(v))}")
            for f in d.files:
                print(f"    file {_printable(_valid(f))}")
        for n in report.notes:
            print(f"note: {n}")
        s = report.stats
        what = "index, packs and every blob's bytes" if args.read_data else "index and packs"
        print(f"checked {what}: {s.get('conversations', 0)} conversations, {s.get('versions', 0)} "
              f"versions, {s.get('chunks', 0)} chunks in {s.get('packs', 0)} packs: "
              + ("no problems" if report.ok else f"{len(report.damage)} problems"))
        if report.index_damaged:
            print("the index is damaged: `aifs check --repair` rebuilds it from the packs")
    return 0 if report.ok and (repaired is None or repaired.complete) else 1


def _print_repair(r) -> None:
    if not r.old_index_readable:
        print(f"repair: the old index could not be read ({r.old_index_problem}): source records "
              "and deletion marks are not carried over, so the next collect re-reads every "
              "source once (it stores nothing that is unchanged)")
    for line in r.packs_skipped:
        print(f"repair: skipped {line}")
    for line in r.lost:
        print(f"repair: lost {_printable(_valid(line))}")
    for line in r.damaged:
        print(f"repair: damaged {_printable(_valid(line))}")
    for line in r.leftovers:
        print(f"repair: left out {_printable(_valid(line))} (never committed: from an "
              "interrupted collect)")
    print(f"repair: rebuilt the index from {r.packs} packs: {r.conversations} conversations, "
          f"{r.versions} versions, {r.chunks} chunks; {r.sources_kept} source records kept")
    if r.old_index is not None:
        print(f"repair: the old index is kept as {r.old_index} (a running mount reads it until "
              "remounted)")


def cmd_mount(args, config) -> int:
    # A credential given without asking (environment, file): the key is derived while the
    # mount code loads. A prompt waits until the mount point is known to be usable.
    cred = given(args.passphrase_file, args.recovery_key_file)
    unlock = _Unlock(args, config, cred=cred) if cred is not None else None
    from .mount import check_mountpoint, mount

    check_mountpoint(args.mountpoint)  # its errors come first, as before the passphrase prompt
    if unlock is None:
        unlock = _Unlock(args, config)
    try:  # while the key is derived
        from .registry import LazyCollectors
        from .render import make_renderer

        importlib.import_module("vault.reader")  # Vault.reader() needs it
        # Collectors render conversation.md only: loaded when the first one is read.
        renderer = make_renderer(LazyCollectors())
    except BaseException:
        unlock.vault()
        raise
    vault = unlock.vault()
    vault.reader().close()  # fail here, in the foreground, if the index cannot be opened
    return mount(vault.reader, renderer, Path(args.mountpoint), foreground=args.foreground,
                 allow_other=args.allow_other, debug=args.debug) or 0


def cmd_umount(args, config) -> int:
    from .mount import umount
    return umount(Path(args.mountpoint)) or 0


def cmd_collectors(args, config) -> int:
    from .registry import load_collectors
    from .runner import default_context

    loaded = load_collectors()
    home = Path(args.home).expanduser().absolute() if args.home else Path.home()
    rows = []
    for name, c in loaded.collectors.items():
        ctx = default_context(home, os.environ, config.collector_options(name))
        try:
            roots = [str(p) for p in c.locate(ctx)]
            items = sum(1 for x in c.discover(ctx) if not isinstance(x, Exception)) if roots else 0
            error = None
        except Exception as e:  # report, never crash the listing
            roots, items, error = [], 0, f"{type(e).__name__}: {e}"
        rows.append({"name": name, "provider": c.provider, "enabled": config.collector_enabled(name),
                     "found": bool(roots), "paths": roots, "conversations": items, "error": error})
    for name, err in loaded.failures.items():
        rows.append({"name": name, "provider": None, "enabled": False, "found": False,
                     "paths": [], "conversations": 0, "error": err})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        state = "found" if r["found"] else "not found"
        if not r["enabled"]:
            state += ", disabled"
        print(f"{r['name']:<14} {state:<18} {r['conversations']:>6} conversations  "
              f"{', '.join(r['paths']) or r['error'] or ''}")
    return 0


# -- argument parsing -------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    common = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    common.add_argument("--vault", help="vault directory (default: $AIFS_VAULT, config, "
                        "or ~/.local/share/aifs/vault)")
    common.add_argument("--passphrase-file", metavar="FILE",
                        help="read the passphrase from FILE (else $AIFS_PASSPHRASE or a prompt)")
    common.add_argument("--recovery-key-file", metavar="FILE",
                        help="open the vault with the recovery key in FILE ($AIFS_RECOVERY_KEY)")
    common.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    common.add_argument("--debug", action="store_true", help="log everything (may include titles)")

    p = argparse.ArgumentParser(prog="aifs", description="Own your AI work history.", allow_abbrev=False)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    s = sub.add_parser("init", parents=[common], allow_abbrev=False, help="create a vault; prints a recovery key once")
    s.set_defaults(func=cmd_init)
    s = sub.add_parser("collect", parents=[common], allow_abbrev=False, help="store new versions of changed conversations")
    s.add_argument("--json", action="store_true", help="print the summary as JSON")
    s.add_argument("--home", help="look for tools' history under this home instead of $HOME")
    s.add_argument("--org", help="org name for local tools (default: hostname)")
    s.add_argument("--only", action="append", metavar="COLLECTOR", help="run only this collector")
    s.set_defaults(func=cmd_collect)
    s = sub.add_parser("import", parents=[common], allow_abbrev=False,
                       help="import a hosted platform's data export (zip, folder or file)")
    s.add_argument("path", help="the export: its zip, its extracted folder, or one export file")
    s.add_argument("--provider", help="skip detection: chatgpt, claude.ai, gemini, deepseek, "
                   "grok, lechat, perplexity or copilot-chat")
    s.add_argument("--org", help="account name to file it under (default: the account the "
                   "export names)")
    s.add_argument("--json", action="store_true", help="print the summary as JSON")
    s.set_defaults(func=cmd_import)
    s = sub.add_parser("ls", parents=[common], allow_abbrev=False, help="list stored conversations")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_ls)
    s = sub.add_parser("check", parents=[common], allow_abbrev=False, help="verify the vault")
    s.add_argument("--read-data", action="store_true", help="also decrypt and verify every chunk")
    s.add_argument("--repair", action="store_true",
                   help="first rebuild the index from the packs (the old one is kept aside)")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.set_defaults(func=cmd_check)
    s = sub.add_parser("mount", parents=[common], allow_abbrev=False, help="mount the vault read-only")
    s.add_argument("mountpoint")
    s.add_argument("--foreground", action="store_true", help="stay attached until unmounted")
    s.add_argument("--allow-other", action="store_true", help="let other users read the mount")
    s.set_defaults(func=cmd_mount)
    s = sub.add_parser("umount", parents=[common], allow_abbrev=False, help="unmount")
    s.add_argument("mountpoint")
    s.set_defaults(func=cmd_umount)
    s = sub.add_parser("collectors", parents=[common], allow_abbrev=False, help="list collectors and what they find")
    s.add_argument("--json", action="store_true")
    s.add_argument("--home", help="look under this home instead of $HOME")
    s.set_defaults(func=cmd_collectors)
    return p


def _setup_logging(args) -> None:
    level = logging.DEBUG if args.debug else logging.INFO if args.verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("aifs: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``aifs`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    _setup_logging(args)
    try:
        config = load_config(vault=args.vault, org=getattr(args, "org", None))
        return args.func(args, config)
    except KeyboardInterrupt:
        print("aifs: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        code = _exit_code(e)
        if code is None:
            raise
        hint = ""
        if isinstance(e, VaultNotFound) and args.command != "init":
            hint = " (create one with `aifs init`, or point --vault / AIFS_VAULT at it)"
        print(f"aifs: {e}{hint}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
