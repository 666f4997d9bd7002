"""Load one qna.yaml safely, keeping the composed node tree so every finding can point at a line:col.

Decoding and construction match ``yaml.safe_load`` on ``Path.read_text(encoding="utf-8")`` (what InstructLab's
validator does), so the data handed to the schema is the same. What ``safe_load`` would crash or hang on (bad
bytes, syntax errors, tabs, an alias bomb, a huge file) becomes a finding instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .findings import WARNING, Finding, finding

MAX_FILE_BYTES = 1 << 20
"""Real qna.yaml files are a few KiB; anything above 1 MiB is a mistake (or an attack)."""

MAX_ALIAS_EXPANSION = 100_000
"""Nodes that aliases may add when expanded; a billion-laughs document blows through this at once."""

MAX_ALIAS_CHARS = MAX_FILE_BYTES
"""Characters of text (keys and values) that aliases may add when expanded: a few aliases of one long anchor pass
the node count, and every copy weighs in the schema check's messages."""

MAX_INT_DIGITS = 4000
"""Longest integer (in decimal digits) read from a file. Python refuses to print integers of more than 4,300
digits, so a longer one (e.g. ``0x`` and 4,000 hex digits) would break every message that shows the value."""

_INT_LIMIT = 10**MAX_INT_DIGITS
_INT_CHARS = 4 * MAX_INT_DIGITS
"""Longest integer literal (underscores aside) that is converted at all: no literal of ``MAX_INT_DIGITS`` digits
is longer, in any base YAML allows."""

MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class Document:
    """A loaded file: the decoded text, the composed root node and the constructed data."""

    text: str
    root: Node | None
    data: Any
    duplicate_keys: list[Finding] = field(default_factory=list)
    recursive_aliases: list[Finding] = field(default_factory=list)


class _AliasBomb(Exception):
    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message


class _Unreadable(Exception):
    """A scalar that cannot be turned into a value, at ``mark``."""

    def __init__(self, mark: Any, message: str, hint: str) -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message
        self.hint = hint


class _GuardedLoader(yaml.SafeLoader):
    """``SafeLoader`` that stops composing once aliases would expand beyond ``MAX_ALIAS_EXPANSION`` nodes, refuses
    integers of more than ``MAX_INT_DIGITS`` digits, and says where a value could not be constructed."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._expanded = 0
        self._expanded_chars = 0
        self._sizes: dict[int, tuple[int, int]] = {}
        self.recursive_aliases: list[Any] = []

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None:
                size = self._size(target)
                if size is None:
                    # PyYAML builds self-containing objects fine; InstructLab then judges them by the schema
                    self.recursive_aliases.append(event.start_mark)
                else:
                    self._expanded += size[0]
                    self._expanded_chars += size[1]
                    if self._expanded > MAX_ALIAS_EXPANSION:
                        raise _AliasBomb(
                            event.start_mark,
                            f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} nodes (an alias bomb)",
                        )
                    if self._expanded_chars > MAX_ALIAS_CHARS:
                        raise _AliasBomb(
                            event.start_mark,
                            f"aliases expand to more than {MAX_ALIAS_CHARS:,} characters of text (an alias bomb)",
                        )
        return super().compose_node(parent, index)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            # e.g. a date such as 2024-13-45 that resolves as a timestamp but cannot be constructed
            raise _Unreadable(
                node.start_mark, f"value cannot be read: {exc}", "quote the value so YAML reads it as text"
            ) from exc

    def construct_yaml_int(self, node: ScalarNode) -> int:
        value = None
        if len(node.value.replace("_", "")) <= _INT_CHARS:
            value = super().construct_yaml_int(node)
        if value is None or abs(value) >= _INT_LIMIT:
            raise _Unreadable(
                node.start_mark,
                f"a number of {len(node.value):,} characters is too long to check "
                f"(at most {MAX_INT_DIGITS:,} digits)",
                "quote it if it is text, or shorten it",
            )
        return value

    def _size(self, node: Node) -> tuple[int, int] | None:
        """Expanded node count and characters of scalar text of ``node``; None when it contains itself (its end
        mark is not set yet)."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        if node.end_mark is None:
            return None
        nodes, chars = 1, 0
        if isinstance(node, SequenceNode):
            children: Iterator[Node] = iter(node.value)
        elif isinstance(node, MappingNode):
            children = (n for pair in node.value for n in pair)
        else:
            children = iter(())
            chars = len(node.value)
        for child in children:
            size = self._size(child)
            if size is None:
                return None
            nodes += size[0]
            chars += size[1]
            if nodes > MAX_ALIAS_EXPANSION or chars > MAX_ALIAS_CHARS:
                break
        self._sizes[id(node)] = nodes, chars
        return nodes, chars


_GuardedLoader.add_constructor("tag:yaml.org,2002:int", _GuardedLoader.construct_yaml_int)


def position(node: Node | None) -> tuple[int, int]:
    """1-based line and column where ``node`` starts (1:1 without a node)."""
    if node is None:
        return 1, 1
    return node.start_mark.line + 1, node.start_mark.column + 1


def json_path(path: Sequence[str | int]) -> str:
    """The yaml path InstructLab prints (jsonschema's JSON path without the ``$``): ``.a[0].b`` or ``.``."""
    out = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return out or "."


def _key_matches(key: Node, wanted: str | int) -> bool:
    return isinstance(key, ScalarNode) and key.value == str(wanted)


def node_at(root: Node | None, path: Sequence[str | int]) -> tuple[Node | None, Node | None]:
    """The node at ``path`` (and the key node naming it), or the deepest node reached on the way."""
    node, key_node = root, None
    for part in path:
        if isinstance(node, MappingNode):
            # the last matching key wins, as in the constructed dict (merged keys come first)
            match = None
            for k, v in node.value:
                if _key_matches(k, part):
                    match = (k, v)
            if match is None:
                return node, key_node
            key_node, node = match
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node, key_node = node.value[part], None
        else:
            return node, key_node
    return node, key_node


def key_node(mapping: Node | None, key: str) -> Node | None:
    """The key node for ``key`` in a mapping node (the last occurrence)."""
    found = None
    if isinstance(mapping, MappingNode):
        for k, _ in mapping.value:
            if _key_matches(k, key):
                found = k
    return found


def path_at(root: Node | None, line: int, col: int) -> str:
    """The yaml path of the innermost node that spans 1-based ``line``:``col`` ('' when outside the data)."""
    target = (line - 1, col - 1)
    path: list[str | int] = []
    node = root
    seen: set[int] = set()

    def spans(n: Node) -> bool:
        start = (n.start_mark.line, n.start_mark.column)
        end = (n.end_mark.line, n.end_mark.column)
        return start <= target <= end

    if node is None or not spans(node):
        return ""
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        nxt: Node | None = None
        if isinstance(node, MappingNode):
            for k, v in node.value:
                if (k.start_mark.line, k.start_mark.column) <= target <= (v.end_mark.line, v.end_mark.column):
                    path.append(k.value if isinstance(k, ScalarNode) else "?")
                    nxt = v if spans(v) else None
                    break
        elif isinstance(node, SequenceNode):
            for i, item in enumerate(node.value):
                if spans(item):
                    path.append(i)
                    nxt = item
                    break
        node = nxt
    return json_path(path)


def _line_col(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def decode(raw: bytes) -> tuple[str | None, Finding | None]:
    """UTF-8 text with universal newlines (as ``Path.read_text``), or an ``encoding`` finding at the bad byte."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        line_start = before.rfind(b"\n") + 1
        col = len(before[line_start:].decode("utf-8", "replace")) + 1
        return None, finding(
            "encoding",
            f"byte 0x{raw[exc.start]:02x} is not valid UTF-8 (offset {exc.start})",
            line=line,
            col=col,
            hint="save the file as UTF-8 (most editors: 'Save with encoding' → UTF-8)",
        )
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, None


def _syntax_finding(exc: yaml.YAMLError, text: str) -> Finding:
    if isinstance(exc, yaml.reader.ReaderError):
        line, col = _line_col(text, exc.position)
        return finding(
            "encoding",
            f"character #x{exc.character:04x} is not allowed in YAML",
            line=line,
            col=col,
            hint="remove the control character (often pasted from a PDF or a word processor)",
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"{problem} ({context})" if context else str(problem)
    if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
        return finding(
            "yaml-tab",
            "tab character: YAML indentation and separators must be spaces",
            line=line,
            col=col,
            hint="replace the tab with spaces (set your editor to insert spaces for YAML)",
        )
    return finding(
        "yaml-syntax",
        message,
        line=line,
        col=col,
        hint="fix the YAML at this position: check indentation, a missing ':' or an unclosed quote; "
        "put multi-line text in a '|' block",
    )


def _duplicate_keys(root: Node) -> list[Finding]:
    found: list[Finding] = []
    stack: list[tuple[Node, list[str | int]]] = [(root, [])]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            keys: set[tuple[str, str]] = set()
            for k, v in node.value:
                if isinstance(k, ScalarNode) and k.tag != MERGE_TAG:
                    ident = (k.tag, k.value)
                    if ident in keys:
                        line, col = position(k)
                        found.append(
                            finding(
                                "yaml-duplicate-key",
                                f'duplicate key "{k.value}": the later value silently replaces the earlier one',
                                line=line,
                                col=col,
                                yaml_path=json_path([*path, k.value]),
                                hint="remove one of the two keys or merge their values",
                                severity=WARNING,
                            )
                        )
                    keys.add(ident)
                stack.append((v, [*path, k.value if isinstance(k, ScalarNode) else "?"]))
        elif isinstance(node, SequenceNode):
            stack.extend((item, [*path, i]) for i, item in enumerate(node.value))
    found.sort(key=lambda f: (f.line, f.col))
    return found


def load(raw: bytes) -> tuple[Document | None, Finding | None]:
    """Decode, compose and construct ``raw``; on failure return ``(None, finding)``."""
    if len(raw) > MAX_FILE_BYTES:
        return None, finding(
            "file-too-large",
            f"file is {len(raw):,} bytes; the limit is {MAX_FILE_BYTES:,}",
            hint="a qna.yaml holds a few seed examples (a few KiB); move long documents to the knowledge "
            "document repository and reference them under `document`",
        )
    text, problem = decode(raw)
    if text is None:
        return None, problem
    loader: _GuardedLoader | None = None
    root: Node | None = None
    try:
        loader = _GuardedLoader(text)
        root = loader.get_single_node()
        dups = _duplicate_keys(root) if root is not None else []
        recursive = [
            finding(
                "yaml-alias-bomb",
                "alias refers to the node that contains it (a recursive document)",
                line=mark.line + 1,
                col=mark.column + 1,
                hint="write the values out instead of using anchors (&) and aliases (*)",
                severity=WARNING,
            )
            for mark in loader.recursive_aliases
        ]
        data = loader.construct_document(root) if root is not None else None
    except _AliasBomb as bomb:
        return None, finding(
            "yaml-alias-bomb",
            bomb.message,
            line=bomb.mark.line + 1,
            col=bomb.mark.column + 1,
            hint="write the values out instead of using anchors (&) and aliases (*)",
        )
    except _Unreadable as problem:
        line, col = problem.mark.line + 1, problem.mark.column + 1
        return None, finding(
            "yaml-syntax",
            problem.message,
            line=line,
            col=col,
            yaml_path=path_at(root, line, col),
            hint=problem.hint,
        )
    except yaml.YAMLError as exc:
        return None, _syntax_finding(exc, text)
    except RecursionError:
        return None, finding(
            "yaml-syntax", "the YAML is nested too deeply", hint="flatten the structure; qna.yaml is shallow"
        )
    except (ValueError, TypeError, OverflowError) as exc:
        # outside any one node's construction
        return None, finding(
            "yaml-syntax",
            f"value cannot be read: {exc}",
            hint="quote the value so YAML reads it as text",
        )
    finally:
        if loader is not None:
            loader.dispose()
    return Document(text=text, root=root, data=data, duplicate_keys=dups, recursive_aliases=recursive), None


_WORD = re.compile(r"\S+")


def words(text: object) -> int:
    """Whitespace-separated words in ``text`` (0 for anything but a string)."""
    return len(_WORD.findall(text)) if isinstance(text, str) else 0
