#!/usr/bin/env python3
"""Peak memory and time of ``aifs import`` on a large generated ChatGPT export.

    .venv/bin/python bench/import_rss.py [--mb 108] [--conversations 2653] [--work /tmp/aifs-import]
                                         [--split 0] [--keep]

The export is generated here, reproducibly (seeded), in the shape documented in
``../shared/FORMATS.md`` (ChatGPT section): a zip holding ``user.json`` and
``conversations.json`` (or ``--split N`` parts ``conversations-000.json`` …), each
conversation a ``mapping`` tree with an edited-prompt branch every few turns, plus
``file-*`` uploads and ``dalle-generations/`` images referenced by ``asset_pointer``. Sizes
default to the largest export reported in the wild (108 MB, 2,653 conversations).

Then, with a fresh vault: ``aifs init``; measured with ``/usr/bin/time -v``: the first
``aifs import EXPORT --json``, the same import again (must add nothing), and an import of a
newer export (1 % of conversations grown by one turn, 0.5 % gone). Peak RSS is ``time``'s
"Maximum resident set size". Target: below 300 MB for every run, whatever the export size.
Writes WORK/results.json; exit status 1 if a run misses the target or fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PASS = "bench passphrase"
TARGET_MB = 300
WORDS = ("the of and to in is that for it as with was on be by this are at or from have an "
         "not which but all they one you were her there been has their if will would what so "
         "cluster deploy kernel falafel vector index shard tokenizer lambda proof theorem").split()


def _prose(rng: random.Random, n_chars: int) -> str:
    out, size = [], 0
    while size < n_chars:
        w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)


def _message(mid: str, role: str, text: str, when: float, model: str | None,
             pointer: str | None = None) -> dict:
    if pointer:
        content = {"content_type": "multimodal_text",
                   "parts": [{"content_type": "image_asset_pointer", "asset_pointer": pointer,
                              "size_bytes": 2048, "width": 64, "height": 64}, text]}
    else:
        content = {"content_type": "text", "parts": [text]}
    return {"id": mid, "author": {"role": role, "name": None, "metadata": {}},
            "create_time": when, "update_time": None, "content": content, "status":
            "finished_successfully", "end_turn": role == "assistant", "weight": 1.0,
            "metadata": {"model_slug": model} if model else {}, "recipient": "all"}


def conversation(rng: random.Random, i: int, target_bytes: int, start: float,
                 uploads: list[str]) -> dict:
    """One ChatGPT export conversation of about ``target_bytes`` JSON bytes."""
    cid = f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-" \
          f"8{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}"
    mapping: dict[str, dict] = {"client-created-root": {"id": "client-created-root", "message": None,
                                                        "parent": None, "children": []}}
    parent, when, turn, size = "client-created-root", start, 0, 600
    while size < target_bytes:
        turn += 1
        for role in ("user", "assistant"):
            mid = f"{cid[:8]}-{turn:04d}-{role[0]}"
            text = _prose(rng, 200 if role == "user" else rng.randint(800, 4000))
            pointer = None
            if role == "user" and uploads and rng.random() < 0.02:
                pointer = f"file-service://{rng.choice(uploads)}"
            mapping[mid] = {"id": mid, "parent": parent, "children": [],
                            "message": _message(mid, role, text, when, None if role == "user"
                                                else "gpt-4o", pointer)}
            mapping[parent]["children"].append(mid)
            if role == "user" and turn % 4 == 0:  # an edited prompt: a second branch
                alt = mid + "-edit"
                mapping[alt] = {"id": alt, "parent": parent, "children": [],
                                "message": _message(alt, role, _prose(rng, 150), when, None)}
                mapping[parent]["children"].append(alt)
            parent = mid
            when += rng.uniform(5, 120)
            size += len(text) + 450
    return {"title": f"Bench conversation {i}", "create_time": start, "update_time": when,
            "mapping": mapping, "moderation_results": [], "current_node": parent,
            "plugin_ids": None, "conversation_id": cid, "conversation_template_id": None,
            "gizmo_id": None, "is_archived": False, "safe_urls": [], "default_model_slug": "gpt-4o",
            "id": cid}


def generate(out: Path, mb: float, count: int, seed: int = 1, split: int = 0,
             drop: float = 0.0, grow: float = 0.0) -> dict:
    """Write a ChatGPT export zip of about ``mb`` MB with ``count`` conversations to ``out``.
    ``drop``/``grow``: fractions of conversations left out / grown by one turn (for the
    "newer export" case: same seed, same conversations otherwise). Returns facts about it."""
    rng = random.Random(seed)
    uploads = [f"file-{rng.getrandbits(64):016x}AbCd" for _ in range(40)]
    per = int(mb * 1e6 / max(count, 1))
    start = 1_700_000_000.0
    parts = max(split, 1)
    names = ([f"conversations-{k:03d}.json" for k in range(parts)] if split
             else ["conversations.json"])
    out.parent.mkdir(parents=True, exist_ok=True)
    kept = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("user.json", json.dumps({"id": "user-bench", "email": "bench@example.org",
                                            "chatgpt_plus_user": True}))
        for u in uploads:
            z.writestr(f"{u}-photo.png", rng.randbytes(2048))
        for k in range(8):
            z.writestr(f"dalle-generations/file-dalle{k:04d}-{k:08x}.webp", rng.randbytes(4096))
        per_part = (count + parts - 1) // parts
        for p, name in enumerate(names):
            with z.open(name, "w", force_zip64=True) as f:
                f.write(b"[")
                first = True
                for i in range(p * per_part, min(count, (p + 1) * per_part)):
                    crng = random.Random(f"{seed}-{i}")
                    size = int(per * crng.uniform(0.3, 1.7))
                    conv = conversation(crng, i, size, start + i * 3600, uploads)
                    if drop and crng.random() < drop:
                        continue
                    if grow and random.Random(f"grow-{i}").random() < grow:
                        again = random.Random(f"{seed}-{i}")  # same start, one more turn
                        again.uniform(0.3, 1.7)
                        conv = conversation(again, i, size + 3000, start + i * 3600, uploads)
                    f.write((b"" if first else b",\n") + json.dumps(conv).encode())
                    first = False
                    kept += 1
                f.write(b"]\n")
    return {"path": str(out), "bytes": out.stat().st_size, "conversations": kept}


def _timed(cmd: list[str], env: dict) -> tuple[dict, float, float | None, int, str]:
    t = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, cwd=REPO,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    rss = int(m.group(1)) / 1024 if m else None
    try:
        summary = json.loads(proc.stdout[proc.stdout.index("{"):]) if "{" in proc.stdout else {}
    except ValueError:
        summary = {}
    return summary, seconds, rss, proc.returncode, proc.stderr


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=float, default=108, help="size of conversations JSON (MB)")
    ap.add_argument("--conversations", type=int, default=2653)
    ap.add_argument("--split", type=int, default=0, help="write N conversations-NNN.json parts")
    ap.add_argument("--work", type=Path, default=Path("/tmp/aifs-import"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    t = time.perf_counter()
    first = generate(args.work / "export-1.zip", args.mb, args.conversations, split=args.split)
    newer = generate(args.work / "export-2.zip", args.mb, args.conversations, split=args.split,
                     drop=0.005, grow=0.01)
    print(f"generated {first['conversations']} conversations, zip {first['bytes'] / 1e6:.1f} MB "
          f"in {time.perf_counter() - t:.1f} s", flush=True)
    env = {**os.environ, "AIFS_VAULT": str(args.work / "vault"), "AIFS_PASSPHRASE": PASS,
           "AIFS_CONFIG": "/nonexistent", "HOME": str(args.work)}
    py = sys.executable
    subprocess.run([py, "-m", "aifs", "init"], check=True, env=env, cwd=REPO,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    results = []
    for label, path in (("first import", first["path"]), ("same export again", first["path"]),
                        ("newer export", newer["path"])):
        summary, seconds, rss, code, err = _timed([py, "-m", "aifs", "import", path, "--json"], env)
        ok = code == 0 and rss is not None and rss < TARGET_MB
        row = {"run": label, "seconds": round(seconds, 2),
               "peak_rss_mb": round(rss, 1) if rss else None, "exit": code,
               **{k: summary.get(k) for k in ("seen", "new", "changed", "unchanged", "skipped",
                                              "failed", "deleted_upstream", "bytes_stored")},
               "ok": ok}
        if not ok:
            row["stderr_tail"] = err.strip().splitlines()[-20:]
        results.append(row)
        print(json.dumps(row), flush=True)
    vault_mb = sum(f.stat().st_size for f in (args.work / "vault").rglob("*") if f.is_file()) / 1e6
    print(f"\nexport: {first['conversations']} conversations, {args.mb:g} MB of JSON, zip "
          f"{first['bytes'] / 1e6:.1f} MB; vault afterwards {vault_mb:.1f} MB")
    print(f"{'run':<18} {'s':>7} {'peak RSS MB':>11} {'new':>5} {'changed':>7} {'unchanged':>9} "
          f"{'deleted':>7}  (target < {TARGET_MB} MB)")
    for r in results:
        print(f"{r['run']:<18} {r['seconds']:>7} {str(r['peak_rss_mb']):>11} {str(r['new']):>5} "
              f"{str(r['changed']):>7} {str(r['unchanged']):>9} {str(r['deleted_upstream']):>7}"
              f"  {'ok' if r['ok'] else 'FAIL'}")
    (args.work / "results.json").write_text(json.dumps(
        {"export": first, "vault_mb": round(vault_mb, 1), "runs": results}, indent=2))
    if not args.keep:
        for p in (first["path"], newer["path"]):
            os.unlink(p)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
