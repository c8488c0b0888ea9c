"""Qwen Code transcripts: the ``ChatRecord`` shape and the tree its records form.

Source: QwenLM/qwen-code ``packages/core/src/services/chatRecordingService.ts`` (``ChatRecord``)
and ``packages/core/src/utils/conversation-chain.ts`` (``buildOrderedUuidChain``).

One JSON object per line::

    {uuid, parentUuid, sessionId, timestamp, type: user|assistant|tool_result|system,
     subtype?, cwd, version, gitBranch?, model?, message?: Content {role, parts[]},
     usageMetadata?, toolCallResult? {callId, status, resultDisplay}, systemPayload?,
     isSidechain?, agentId?, agentName?, forkedFrom? {sessionId, messageUuid}}

``parentUuid`` makes a tree. Qwen Code shows the chain walked back from the newest record
(the last line), following the *first* record of each uuid; a ``system``/``rewind`` record
re-roots the chain, so rewound turns stay in the file as an abandoned branch. One streamed
assistant message may be written as several consecutive records with the same ``uuid``
(thought first, then text and calls): :func:`build_tree` merges those into one :class:`Node`.
``system`` subtypes include ``custom_title`` (``systemPayload.customTitle``, last one wins),
``chat_compression``, ``slash_command``, ``at_command``, ``ui_telemetry``, ``rewind``,
``session_artifact_*`` (never the leaf), ``file_history_snapshot``, ``parent_session``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ..genai import normalize_parts
from ..glued import iter_jsonl_glued
from ..jsonl import BadLine, JsonLine

__all__ = [
    "HOOK_CONTEXT_PREFIX",
    "Node",
    "Transcript",
    "build_tree",
    "prompt_text",
    "user_text",
]

HOOK_CONTEXT_PREFIX = "<qwen:"
SIDE_SUBTYPES = frozenset({"session_artifact_event", "session_artifact_snapshot"})
PROMPT_SUBTYPES = frozenset({None, "mid_turn_user_message"})


@dataclass
class Node:
    """One logical record: ``records`` are its lines (several for a streamed assistant
    message), ``index`` its position among the nodes."""

    index: int
    records: list[JsonLine]

    @property
    def rec(self) -> dict[str, Any]:
        """The first record's JSON object."""
        return self.records[0].value

    @property
    def line(self) -> int:
        """The first record's 1-based line number."""
        return self.records[0].number

    @property
    def uuid(self) -> str | None:
        """``uuid`` (``None`` if missing or not a string)."""
        value = self.rec.get("uuid")
        return value if isinstance(value, str) and value else None

    @property
    def parent(self) -> str | None:
        """``parentUuid`` (``None`` for a root)."""
        value = self.rec.get("parentUuid")
        return value if isinstance(value, str) and value else None

    @property
    def kind(self) -> str:
        """``type`` (``""`` if missing)."""
        value = self.rec.get("type")
        return value if isinstance(value, str) else ""

    @property
    def subtype(self) -> str | None:
        """``subtype`` (``None`` if missing)."""
        value = self.rec.get("subtype")
        return value if isinstance(value, str) else None

    @property
    def sidechain(self) -> bool:
        """Whether the record belongs to a subagent (``isSidechain``)."""
        return self.rec.get("isSidechain") is True

    def parts(self) -> list[Any]:
        """The ``message.parts`` of every record, in order, repeated parts dropped."""
        out: list[Any] = []
        for record in self.records:
            message = record.value.get("message")
            parts = message.get("parts") if isinstance(message, dict) else None
            for part in normalize_parts(parts):
                if part not in out:
                    out.append(part)
        return out

    def value_of(self, key: str) -> Any:
        """The last non-null value of ``key`` among the node's records."""
        value = None
        for record in self.records:
            if record.value.get(key) is not None:
                value = record.value[key]
        return value


@dataclass
class Transcript:
    """A parsed transcript: ``nodes`` in file order; ``chain`` (node indices, root → leaf) is
    what Qwen Code shows; ``branches`` are the other main-line nodes grouped into runs;
    ``sidechains`` the subagent nodes by agent; ``gap`` the missing parent uuid where the
    chain stopped, if any."""

    nodes: list[Node] = field(default_factory=list)
    chain: list[int] = field(default_factory=list)
    branches: list[list[int]] = field(default_factory=list)
    sidechains: dict[str, list[int]] = field(default_factory=dict)
    gap: str | None = None
    bad: list[BadLine] = field(default_factory=list)
    glued: list[tuple[int, int]] = field(default_factory=list)


def build_tree(data: bytes) -> Transcript:
    """Parse and link a transcript (never raises on content)."""
    glued: list[tuple[int, int]] = []
    items = list(iter_jsonl_glued(data, glued=glued))
    t = Transcript(glued=glued)
    t.bad = [i for i in items if isinstance(i, BadLine)]
    t.nodes = _nodes(i for i in items if isinstance(i, JsonLine))
    first: dict[str, int] = {}
    for node in t.nodes:
        if node.uuid is not None:
            first.setdefault(node.uuid, node.index)
    leaf = next(
        (
            n.index
            for n in reversed(t.nodes)
            if n.uuid is not None and not n.sidechain and n.subtype not in SIDE_SUBTYPES
        ),
        None,
    )
    chain: list[int] = []
    seen: set[int] = set()
    current = leaf
    while current is not None and current not in seen:
        seen.add(current)
        chain.append(current)
        parent = t.nodes[current].parent
        if parent is None:
            break
        if parent not in first:
            t.gap = parent
            break
        current = first[parent]
    chain.reverse()
    t.chain = chain
    on_chain = set(chain)
    branch: list[int] = []
    for node in t.nodes:
        if node.index in on_chain:
            continue
        if node.sidechain:
            agent = node.rec.get("agentId")
            t.sidechains.setdefault(agent if isinstance(agent, str) else "", []).append(node.index)
            continue
        if branch and (node.parent is None or node.parent != t.nodes[branch[-1]].uuid):
            t.branches.append(branch)
            branch = []
        branch.append(node.index)
    if branch:
        t.branches.append(branch)
    return t


def _nodes(lines: Iterable[JsonLine]) -> list[Node]:
    nodes: list[Node] = []
    for line in lines:
        prev = nodes[-1] if nodes else None
        uuid = line.value.get("uuid")
        if (
            prev is not None
            and isinstance(uuid, str)
            and uuid == prev.uuid
            and line.value.get("type") == "assistant"
            and prev.kind == "assistant"
        ):
            prev.records.append(line)
            continue
        nodes.append(Node(len(nodes), [line]))
    return nodes


def user_text(rec: dict[str, Any]) -> str:
    """What the user typed: ``systemPayload.displayText`` when present, else the text parts
    of ``message`` that are not hook context (``<qwen:…>`` blocks)."""
    payload = rec.get("systemPayload")
    if isinstance(payload, dict) and isinstance(payload.get("displayText"), str):
        if payload["displayText"].strip():
            return payload["displayText"]
    message = rec.get("message")
    parts = normalize_parts(message.get("parts") if isinstance(message, dict) else None)
    texts = [
        p["text"]
        for p in parts
        if isinstance(p, dict)
        and isinstance(p.get("text"), str)
        and not p.get("thought")
        and not p["text"].lstrip().startswith(HOOK_CONTEXT_PREFIX)
    ]
    return "\n".join(texts)


def prompt_text(rec: dict[str, Any]) -> str | None:
    """The text of a real user prompt (a ``user`` record without a notification/cron subtype,
    not a subagent's), ``None`` for anything else or a blank prompt."""
    if rec.get("type") != "user" or rec.get("isSidechain") is True:
        return None
    subtype = rec.get("subtype")
    if subtype not in PROMPT_SUBTYPES:
        return None
    text = user_text(rec)
    return text if text.strip() else None
