"""Start-up work of short commands: finding plugins without importlib.metadata, loading
them lazily for the mount, the collect command's order of errors now that the key is derived
while collectors load, and the progress bar that waits for a slow run."""

import importlib.metadata
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from aifs import registry
from collectors.claude_code import ClaudeCodeCollector

REPO = Path(__file__).resolve().parents[2]


def reference(group: str) -> list[tuple[str, str]]:
    return [(ep.name, ep.value) for ep in importlib.metadata.entry_points(group=group)]


def dist(root: Path, folder: str, text: str | None) -> None:
    (root / folder).mkdir(parents=True)
    if text is not None:
        (root / folder / "entry_points.txt").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("group", [registry.GROUP, registry.IMPORTER_GROUP])
def test_the_installed_entry_points_are_those_importlib_metadata_finds(group):
    found = registry._search(group)  # the direct search itself, not a fallback
    assert found == reference(group)
    assert ("claude-code", "collectors.claude_code:ClaudeCodeCollector") in found or \
        group == registry.IMPORTER_GROUP


def test_first_distribution_of_a_name_wins_in_sys_path_order(tmp_path, monkeypatch):
    one, two = tmp_path / "one", tmp_path / "two"
    dist(one, "Plug_In-1.0.dist-info",
         "# comment\n\n[console_scripts]\nx = y:z\n[aifs.collectors]\n"
         " first = pkg.mod:Cls \nsecond=pkg.mod:Other.inner [extra]\n")
    dist(two, "plug.in-3.0.dist-info", "[aifs.collectors]\nshadowed = a:b\n")  # same name
    dist(two, "other-1.0.egg-info", "[aifs.collectors]\nfirst = other:Wins\n")
    dist(two, "nothing-1.0.dist-info", None)  # no entry_points.txt
    (two / "stray.dist-info").write_text("a file, not a folder")
    monkeypatch.setattr(sys, "path", [str(one), str(tmp_path / "missing"), str(two)])
    found = registry._search(registry.GROUP)
    assert found == reference(registry.GROUP)
    assert found == [("first", "pkg.mod:Cls"), ("second", "pkg.mod:Other.inner [extra]"),
                     ("first", "other:Wins")]
    monkeypatch.setattr(sys, "path", [str(two), str(one)])
    assert registry._search(registry.GROUP) == reference(registry.GROUP)
    assert ("shadowed", "a:b") in registry._search(registry.GROUP)


def test_unusual_layouts_are_left_to_importlib_metadata(tmp_path, monkeypatch):
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("zipped-1.0.dist-info/entry_points.txt", "[aifs.collectors]\nz = zmod:Z\n")
        z.writestr("zipped-1.0.dist-info/METADATA", "Name: zipped\nVersion: 1.0\n")
    monkeypatch.setattr(sys, "path", [str(archive)])
    with pytest.raises(registry._Unusual):
        registry._search(registry.GROUP)
    assert registry.entry_points(registry.GROUP) == [("z", "zmod:Z")]

    odd = tmp_path / "odd"
    dist(odd, "bad-1.0.dist-info", "[aifs.collectors]\nbroken = not a module path\n")
    monkeypatch.setattr(sys, "path", [str(odd)])
    assert registry.entry_points(registry.GROUP) == [("broken", "not a module path")]
    with pytest.raises(AttributeError):  # as EntryPoint.load fails on it
        registry.load_entry_point("not a module path")


def test_loading_names_the_object_like_entry_point_load():
    assert registry.load_entry_point("collectors.claude_code:ClaudeCodeCollector") \
        is ClaudeCodeCollector
    assert registry.load_entry_point("os.path:join.__name__") == "join"
    assert registry.load_entry_point("collectors.claude_code").__name__ == "collectors.claude_code"


def test_loading_every_plugin_does_not_import_importlib_metadata():
    code = ("import sys, aifs.registry as r; loaded = r.load_collectors(with_importers=True); "
            "assert not loaded.failures, loaded.failures; "
            "print(len(loaded.collectors), len(loaded.importers), "
            "'importlib.metadata' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    n_collectors, n_importers, imported = out.stdout.split()
    assert (int(n_collectors), int(n_importers)) == (len(reference(registry.GROUP)),
                                                     len(reference(registry.IMPORTER_GROUP)))
    assert imported == "False"


def test_lazy_collectors_load_once_on_first_use(monkeypatch):
    calls = []
    real = registry.load_collectors

    def counting(**kw):
        calls.append(kw)
        return real(**kw)

    monkeypatch.setattr(registry, "load_collectors", counting)
    lazy = registry.LazyCollectors()
    assert calls == []
    results = []
    threads = [threading.Thread(target=lambda: results.append(lazy.for_provider("claude-code")))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [{"with_importers": True}]
    assert len({id(r) for r in results}) == 1 and isinstance(results[0], ClaudeCodeCollector)
    assert lazy.for_provider("chatgpt").provider == "chatgpt"  # an importer renders it
    assert lazy.for_provider("no-such-provider") is None and len(calls) == 1


def aifs(env, *args):
    return subprocess.run([sys.executable, "-m", "aifs", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_collect_reports_the_vault_error_first_and_a_broken_plugin_after(cli_env, tmp_path):
    """The key is derived while collectors load and sources are listed: a missing vault or a
    wrong passphrase still wins over everything else, and nothing else is printed before it."""
    plugins = tmp_path / "plugins"
    dist(plugins, "broken_plugin-1.0.dist-info",
         "[aifs.collectors]\nbroken = no_such_module_for_aifs:Collector\n")
    env = dict(cli_env, PYTHONPATH=str(plugins))
    home = tmp_path / "home"

    missing = aifs(env, "collect", "--home", str(home), "--only", "nope")
    assert missing.returncode == 3 and missing.stderr.count("\n") == 1, missing.stderr
    assert aifs(env, "init").returncode == 0
    wrong = aifs(dict(env, AIFS_PASSPHRASE="wrong"), "collect", "--only", "nope")
    assert wrong.returncode == 5 and wrong.stderr.count("\n") == 1, wrong.stderr
    unknown = aifs(env, "collect", "--home", str(home), "--only", "nope")
    assert unknown.returncode == 2 and "unknown collector(s): nope" in unknown.stderr

    ok = aifs(env, "collect", "--home", str(home))
    assert ok.returncode == 0, ok.stderr
    assert "collector broken could not be loaded: ModuleNotFoundError" in ok.stderr
    assert "0 conversations seen" in ok.stdout
    assert "Traceback" not in missing.stderr + wrong.stderr + unknown.stderr + ok.stderr


def test_the_progress_bar_waits_for_a_slow_run():
    """A quick run never starts the bar (nor imports rich for it); a slow one shows the
    latest state when the bar comes up, and closing removes it."""
    import time

    from aifs.cli import _DelayedProgress

    quick = _DelayedProgress(delay=0.2)
    quick.update("codex", 3, 10)
    quick.close()
    time.sleep(0.3)
    assert quick._ui is None

    slow = _DelayedProgress(delay=0.05)
    slow.update("claude-code", 4, 10)
    deadline = time.monotonic() + 10
    while slow._ui is None and time.monotonic() < deadline:
        time.sleep(0.01)
    task = slow._ui.tasks[0]
    assert (task.description, task.completed, task.total) == ("collecting claude-code", 4, 10)
    slow.update("codex", 9, 10)
    assert (slow._ui.tasks[0].description, slow._ui.tasks[0].completed) == ("collecting codex", 9)
    slow.close()
    assert not slow._ui.live.is_started
