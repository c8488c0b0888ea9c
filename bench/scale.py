#!/usr/bin/env python3
"""Scale: a vault of 100,000 conversations x 5 versions, mounted and listed; collect RSS.

    .venv/bin/python bench/scale.py [--conversations 100000] [--versions 5] [--runs 3]
                                    [--work /tmp/aifs-scale] [--reuse] [--collect-mb 100]
                                    [--profile]

1. Generate (skipped with ``--reuse`` when WORK/vault was made with the same sizes): a vault
   with the *default* Argon2id cost (so ``aifs mount`` pays the real unlock), filled directly
   through ``WriteSession.store_many`` with small generated snapshots (one JSONL file of
   ~1-3 KB that grows by a few lines per version; every 10th conversation also has a
   ``subagents/`` file; some titles repeat, some are non-ASCII). Conversations are spread
   over 2 orgs and 4 providers, the largest provider folders holding 25 % each:
   personal/{claude-code 25 %, codex 15 %, chatgpt 10 %}, work/{claude-code 25 %,
   codex 15 %, gemini-cli 10 %}. Versions are written pass by pass (every conversation
   gets version k before any gets k+1), conversations in a shuffled order, so serials of
   one provider folder are interleaved with the others, as after months of collects.
2. Mount (``--runs`` times, median): a real ``python -m aifs mount MNT`` subprocess with
   ``AIFS_VAULT``/``AIFS_PASSPHRASE``: the time from launch until it returns (mount live),
   then the time of the first ``os.listdir`` of ``personal/claude-code`` (25 % of the
   conversations), then the RSS of the background mount server (``VmRSS``/``VmHWM`` of
   ``/proc/PID/status``) after that listing and again after listing every provider folder
   (all conversations) and reading ``latest/meta.json`` of 1,000 of them.
   ``--profile`` runs ``py-spy record`` on the server during the first listing
   (WORK/profile-ls.txt, py-spy's raw collapsed stacks).
3. Collect RSS: ``../shared/bench/gen_corpus.py --mb COLLECT_MB`` as a home, collected with
   ``python -m aifs collect --home`` into a fresh vault and into a copy of the large vault;
   peak RSS of each collect process (``ru_maxrss`` from ``wait4``), and the peaks of its
   anonymous and file-backed parts (``RssAnon``/``RssFile``, sampled every 20 ms; the
   file-backed part is the LMDB index's memory map, see ``vault.index.MapTrimmer``).

Targets: mount ready + first listing < 1 s; mount server peak RSS < 150 MiB (after listing
every folder and reading 1,000 ``meta.json``); collect RSS into the large vault at most
1.1 x + 16 MiB of the collect RSS into a fresh one (bounded by chunk and pack sizes, not by
the vault's size).

Every ``python -m aifs`` runs with ``PYTHONPYCACHEPREFIX=WORK/pycache`` (byte code cached, as
after a normal install, even when the caller sets ``PYTHONDONTWRITEBYTECODE``) and a first,
unmeasured mount warms that cache. The page cache is warm (the vault was just written or
read); caches are not dropped. ``--code DIR`` runs another checkout's aifs on the same vault
(before/after numbers). Prints a table, writes WORK/results.json, exits 1 if a target is
missed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from mount_server import rss_mb, server_pid  # bench/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CODE = REPO  # where the measured ``python -m aifs`` runs from (--code: another checkout)
GEN = REPO.parent / "shared" / "bench" / "gen_corpus.py"
PASS = "bench passphrase"
READY_LS_TARGET_S = 1.0
MOUNT_RSS_TARGET_MB = 150.0
COLLECT_RSS_FACTOR, COLLECT_RSS_SLACK_MB = 1.1, 16.0

# (org, provider, share of all conversations)
FOLDERS = [("personal", "claude-code", 0.25), ("personal", "codex", 0.15),
           ("personal", "chatgpt", 0.10), ("work", "claude-code", 0.25),
           ("work", "codex", 0.15), ("work", "gemini-cli", 0.10)]
TOPICS = ("vault", "mount", "index", "chunk", "rust", "python", "docker", "deploy", "review",
          "tests", "cache", "fuse", "lmdb", "zstd", "borg", "restic")


def mb(n_bytes: float) -> float:
    return n_bytes / (1 << 20)


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# -- 1. generating the vault --------------------------------------------------------------


def _assign(n: int, seed: int) -> list[tuple[str, str]]:
    """Folder of each conversation index, shares as in FOLDERS, positions shuffled."""
    out: list[tuple[str, str]] = []
    for org, prov, share in FOLDERS:
        out += [(org, prov)] * round(n * share)
    out = (out + [FOLDERS[0][:2]] * n)[:n]
    random.Random(seed).shuffle(out)
    return out


def _title(i: int) -> str:
    r = random.Random(i)
    if i % 50 == 0:
        return "Untitled"  # many conversations share it: disambiguated names
    words = [r.choice(TOPICS) for _ in range(r.randint(2, 6))]
    if i % 17 == 0:
        words.append("über café ✓")
    return f"Fix the {' '.join(words)} problem #{i % 997}"


def _line(i: int, j: int) -> str:
    r = random.Random(i * 1_000_003 + j)
    role = "user" if j % 2 == 0 else "assistant"
    text = " ".join(r.choice(TOPICS) for _ in range(r.randint(8, 40)))
    return json.dumps({"type": role, "uuid": f"{i:08x}-{j:04x}", "sessionId": f"s-{i:08d}",
                       "message": {"role": role, "content": text}}) + "\n"


def _snapshot(i: int, k: int, folder: tuple[str, str]):
    from vault.model import ConversationSnapshot, RawFile
    org, prov = folder
    nid = f"{i:08d}-{i * 2654435761 % (1 << 32):08x}"
    lines = "".join(_line(i, j) for j in range(4 + 2 * k))
    files = [RawFile(f"{nid}.jsonl", data=lines.encode(), mtime_ns=1_700_000_000_000_000_000 + k)]
    if i % 10 == 0:
        files.append(RawFile(f"subagents/agent-{i % 7}.jsonl",
                             data="".join(_line(-i, j) for j in range(2 + k)).encode()))
    base = 1_700_000_000 + i * 60
    return ConversationSnapshot(provider=prov, native_id=nid, title=_title(i), files=tuple(files),
                                org=org, created_at=base, updated_at=base + 3600 * k,
                                attributes={"cwd": f"/home/u/src/{TOPICS[i % len(TOPICS)]}"})


def generate(root: Path, n: int, versions: int, seed: int = 1) -> dict:
    """Create the vault at ``root`` and store ``n`` conversations x ``versions`` versions."""
    from vault.vault import Vault
    if root.exists():
        shutil.rmtree(root)
    vault, _recovery = Vault.create(root, PASS)  # default Argon2id: mount pays the real cost
    folders = _assign(n, seed)
    order = list(range(n))
    t0 = time.perf_counter()
    with vault.writer() as w:
        for k in range(versions):
            random.Random(seed * 100 + k).shuffle(order)
            jobs = ((i, _snapshot(i, k, folders[i]), "bench", f"item-{i}", ())
                    for i in order)
            for done, (i, res) in enumerate(w.store_many(jobs), 1):
                if isinstance(res, Exception):
                    raise res
                if done % 20000 == 0:
                    print(f"  version {k + 1}/{versions}: {done}/{n} "
                          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    seconds = time.perf_counter() - t0
    info = {"conversations": n, "versions": versions, "generate_s": seconds,
            "vault_bytes": du(root), "index_bytes": du(root / "index")}
    (root.parent / "vault.json").write_text(json.dumps(info))
    return info


# -- 2. mounting -----------------------------------------------------------------------------


def aifs_env(vault: Path, work: Path) -> dict:
    env = dict(os.environ, AIFS_VAULT=str(vault), AIFS_PASSPHRASE=PASS,
               AIFS_CONFIG=str(work / "no-config.toml"))
    for var in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "AIFS_RECOVERY_KEY", "AIFS_ORG",
                "PYTHONDONTWRITEBYTECODE"):
        env.pop(var, None)
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")  # start-up as after a normal install
    return env


def cpu_s(pid: int) -> float:
    """User + system CPU seconds ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def umount(mnt: Path, env: dict) -> None:
    subprocess.run([sys.executable, "-m", "aifs", "umount", str(mnt)], env=env, cwd=CODE,
                   check=False, capture_output=True)
    deadline = time.monotonic() + 10
    while os.path.ismount(mnt) and time.monotonic() < deadline:
        time.sleep(0.05)


def mount_run(vault: Path, work: Path, profile: bool, warmup: bool = False) -> dict:
    """One mount: ready time, first listing time, server RSS at each step (``warmup``:
    only mount, list the big folder and unmount)."""
    mnt = work / "mnt"
    mnt.mkdir(exist_ok=True)
    env = aifs_env(vault, work)
    if os.path.ismount(mnt):
        umount(mnt, env)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "aifs", "mount", str(mnt)], env=env, cwd=CODE,
                   check=True, stdout=subprocess.DEVNULL)
    ready = time.perf_counter() - t0
    try:
        pid = server_pid(mnt)
        out = {"ready_s": ready, "rss_ready_mb": rss_mb(pid)[0]}
        spy = None
        pyspy = shutil.which("py-spy", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
        if profile and pyspy:
            spy = subprocess.Popen([pyspy, "record", "-p", str(pid), "-r", "500", "-f", "raw",
                                    "-o", str(work / "profile-ls.txt"), "--nonblocking"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)  # let it attach
        c1, t1 = cpu_s(pid), time.perf_counter()
        names = os.listdir(mnt / "personal" / "claude-code")
        out["first_ls_s"] = time.perf_counter() - t1
        out["first_ls_server_cpu_s"] = cpu_s(pid) - c1
        if spy is not None:
            spy.send_signal(2)
            spy.wait()
        out["first_ls_entries"] = len(names)
        out["rss_after_ls_mb"], _ = rss_mb(pid)
        if warmup:
            return out
        t1 = time.perf_counter()
        os.listdir(mnt / "personal" / "claude-code")
        out["second_ls_s"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        total = 0
        for org in os.listdir(mnt):
            for prov in os.listdir(mnt / org):
                total += len(os.listdir(mnt / org / prov))
        out["ls_all_s"] = time.perf_counter() - t2
        out["ls_all_entries"] = total
        t3 = time.perf_counter()
        folder = mnt / "work" / "codex"
        for name in sorted(os.listdir(folder))[:1000]:
            (folder / name / "latest" / "meta.json").read_bytes()
        out["meta_1000_s"] = time.perf_counter() - t3
        out["rss_end_mb"], out["rss_peak_mb"] = rss_mb(pid)
        return out
    finally:
        umount(mnt, env)


# -- 3. collect RSS ------------------------------------------------------------------------------


def collect_rss(vault: Path, home: Path, work: Path) -> dict:
    """``aifs collect --home HOME`` into ``vault``: peak RSS (MiB, ``ru_maxrss`` from
    ``wait4``), the peaks of its anonymous and file-backed parts (``RssAnon``/``RssFile``
    of /proc/PID/status, sampled every 20 ms) and seconds."""
    env = aifs_env(vault, work)
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "aifs", "collect", "--home", str(home)],
                            env=env, cwd=CODE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks = {"RssAnon": 0, "RssFile": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                    key, _, rest = line.partition(":")
                    if key in peaks:
                        peaks[key] = max(peaks[key], int(rest.split()[0]))
            except (OSError, ValueError, IndexError):
                pass
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    stop.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"collect into {vault} exited {proc.returncode}: {err}")
    return {"rss_mb": usage.ru_maxrss / 1024, "anon_mb": peaks["RssAnon"] / 1024,
            "file_mb": peaks["RssFile"] / 1024, "seconds": time.perf_counter() - t}


# -- main ----------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--conversations", type=int, default=100_000)
    ap.add_argument("--versions", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default="/tmp/aifs-scale")
    ap.add_argument("--reuse", action="store_true", help="keep WORK/vault if its sizes match")
    ap.add_argument("--collect-mb", type=int, default=100)
    ap.add_argument("--skip-collect", action="store_true")
    ap.add_argument("--profile", action="store_true", help="py-spy the first listing")
    ap.add_argument("--code", help="run `python -m aifs` from this checkout (e.g. an older "
                    "commit, for before/after numbers); default: this one")
    args = ap.parse_args()
    global CODE
    if args.code:
        CODE = Path(args.code).resolve()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    vault = work / "vault"
    meta = work / "vault.json"
    info = json.loads(meta.read_text()) if args.reuse and meta.exists() and vault.exists() else {}
    if info.get("conversations") != args.conversations or info.get("versions") != args.versions:
        print(f"generating {args.conversations} conversations x {args.versions} versions ...",
              flush=True)
        info = generate(vault, args.conversations, args.versions)
    print(f"vault: {info['conversations']} conversations x {info['versions']} versions, "
          f"{mb(info['vault_bytes']):.0f} MiB ({mb(info['index_bytes']):.0f} MiB index), "
          f"generated in {info['generate_s']:.0f} s", flush=True)

    mount_run(vault, work, False, warmup=True)  # byte-code cache, page cache
    runs = [mount_run(vault, work, args.profile and i == 0) for i in range(args.runs)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    results: dict = {"vault": info, "mount_runs": runs, "mount": med}

    if not args.skip_collect:
        home = work / "home"
        if not (home / ".claude").is_dir():
            subprocess.run([sys.executable, str(GEN), str(home), "--mb", str(args.collect_mb)],
                           check=True, stdout=subprocess.DEVNULL)
        small, large = work / "small-vault", work / "large-vault"
        for d in (small, large):
            shutil.rmtree(d, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "aifs", "init"], env=aifs_env(small, work),
                       cwd=CODE, check=True, capture_output=True)
        shutil.copytree(vault, large)
        results["collect"] = {"home_bytes": du(home), "small": collect_rss(small, home, work),
                              "large": collect_rss(large, home, work)}
        shutil.rmtree(large, ignore_errors=True)

    checks = []
    ready_ls = med["ready_s"] + med["first_ls_s"]
    checks.append(("mount ready + first ls", f"{ready_ls:.3f} s", f"< {READY_LS_TARGET_S} s",
                   ready_ls < READY_LS_TARGET_S))
    checks.append(("mount server peak RSS", f"{med['rss_peak_mb']:.0f} MiB",
                   f"< {MOUNT_RSS_TARGET_MB:.0f} MiB", med["rss_peak_mb"] < MOUNT_RSS_TARGET_MB))
    if "collect" in results:
        c = results["collect"]
        bound = c["small"]["rss_mb"] * COLLECT_RSS_FACTOR + COLLECT_RSS_SLACK_MB
        checks.append(("collect RSS, large vault", f"{c['large']['rss_mb']:.0f} MiB",
                       f"<= {bound:.0f} MiB", c["large"]["rss_mb"] <= bound))
    results["checks"] = [dict(zip(("what", "value", "target", "ok"), c)) for c in checks]

    n_ls = med["first_ls_entries"]
    print(f"\nmount (median of {args.runs}):")
    print(f"  aifs mount returns          {med['ready_s']:8.3f} s   (RSS {med['rss_ready_mb']:.0f} MiB)")
    print(f"  first ls ({n_ls:.0f} entries)    {med['first_ls_s']:8.3f} s   "
          f"(RSS {med['rss_after_ls_mb']:.0f} MiB; server CPU "
          f"{med['first_ls_server_cpu_s']:.2f} s)")
    print(f"  second ls                   {med['second_ls_s']:8.3f} s")
    print(f"  ls of every folder ({med['ls_all_entries']:.0f})  {med['ls_all_s']:8.3f} s")
    print(f"  1000 x latest/meta.json     {med['meta_1000_s']:8.3f} s   "
          f"(RSS {med['rss_end_mb']:.0f} MiB, peak {med['rss_peak_mb']:.0f} MiB)")
    if "collect" in results:
        c = results["collect"]
        print(f"\ncollect of a {mb(c['home_bytes']):.0f} MiB home (peak RSS; peak anonymous / "
              f"file-backed, the index's memory map):")
        for label in ("small", "large"):
            r = c[label]
            print(f"  into a {'fresh' if label == 'small' else 'large'} vault: "
                  f"{r['rss_mb']:5.0f} MiB ({r['anon_mb']:.0f} / {r['file_mb']:.0f} MiB), "
                  f"{r['seconds']:.1f} s")
    print(f"\n{'check':<28} {'value':>12} {'target':>12}  ok")
    for what, value, target, ok in checks:
        print(f"{what:<28} {value:>12} {target:>12}  {'yes' if ok else 'NO'}")
    (work / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nwrote {work / 'results.json'}")
    return 0 if all(c[3] for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
