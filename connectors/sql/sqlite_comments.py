"""Comments from SQLite DDL. SQLite has no COMMENT statement, but it keeps the CREATE TABLE text verbatim,
and people document tables there. Convention read here:

- a `--` comment on its own line before the first column is the table comment;
- a `--` comment at the end of a column's line (after its comma, if any) is that column's comment;
- a `--` comment on its own line between columns documents the column that follows (if it has no trailing one).

The scanner understands quoted identifiers ("a", `a`, [a]) and strings, so names containing `(`, `,` or `--`
do not confuse it. Anything unparseable yields no comments rather than wrong ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_CONSTRAINT_WORDS = {"constraint", "primary", "foreign", "unique", "check"}
_CLOSERS = {'"': '"', "`": "`", "[": "]", "'": "'"}


@dataclass
class _Item:
    name: str | None = None
    first_line: int = -1
    last_line: int = -1
    trailing: list[str] = field(default_factory=list)
    leading: list[str] = field(default_factory=list)


def _unquote(token: str) -> str:
    if token[:1] in ('"', "`") and len(token) >= 2:
        return token[1:-1].replace(token[0] * 2, token[0])
    if token[:1] == "[" and token.endswith("]"):
        return token[1:-1]
    return token


def _read_quoted(sql: str, i: int) -> int:
    """Index just past the quoted token starting at `i` (doubled quotes escape)."""
    closer = _CLOSERS[sql[i]]
    j = i + 1
    while j < len(sql):
        if sql[j] == closer:
            if closer != "]" and j + 1 < len(sql) and sql[j + 1] == closer:
                j += 2
                continue
            return j + 1
        j += 1
    return len(sql)


class _Scanner:
    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.items: list[_Item] = [_Item()]
        self.table_comment: list[str] = []
        self.pending: list[str] = []  # own-line comments waiting for the next column
        self.depth = 0
        self.line = 0

    def comment(self, text: str, own_line: bool) -> None:
        item = self.items[-1]
        previous = self.items[-2] if len(self.items) > 1 else None
        if not own_line and item.name is None and previous is not None and previous.last_line == self.line:
            previous.trailing.append(text)
        elif not own_line and item.name is not None and item.last_line == self.line:
            item.trailing.append(text)
        elif own_line and len(self.items) == 1 and item.name is None:
            self.table_comment.append(text)
        elif own_line:
            self.pending.append(text)

    def word(self, token: str) -> None:
        item = self.items[-1]
        if item.name is None:
            item.name = token
            item.first_line = self.line
            item.leading, self.pending = self.pending, []
        item.last_line = self.line

    def run(self) -> None:
        sql, i, line_start_text = self.sql, 0, True
        while i < len(sql):
            ch = sql[i]
            if ch == "\n":
                self.line += 1
                line_start_text = True
                i += 1
            elif sql.startswith("--", i):
                end = sql.find("\n", i)
                end = len(sql) if end < 0 else end
                if self.depth == 1:
                    self.comment(sql[i + 2:end].strip(), line_start_text)
                i = end
            elif sql.startswith("/*", i):
                end = sql.find("*/", i + 2)
                i = len(sql) if end < 0 else end + 2
            elif ch.isspace():
                i += 1
            else:
                line_start_text = False
                i = self.token(i)

    def token(self, i: int) -> int:
        ch = self.sql[i]
        if ch in _CLOSERS:
            end = _read_quoted(self.sql, i)
            if self.depth >= 1:
                self.word(self.sql[i:end])
            return end
        if ch == "(":
            self.depth += 1
            if self.depth > 1:
                self.word("(")
        elif ch == ")":
            self.depth -= 1
            if self.depth >= 1:
                self.word(")")
        elif ch == "," and self.depth == 1:
            self.items[-1].last_line = self.line
            self.items.append(_Item())
        elif self.depth >= 1:
            j = i
            while j < len(self.sql) and not (self.sql[j].isspace() or self.sql[j] in "(),'\"`[" or
                                             self.sql.startswith("--", j)):
                j += 1
            self.word(self.sql[i:max(j, i + 1)])
            return max(j, i + 1)
        return i + 1


def parse_comments(create_sql: str | None) -> tuple[str | None, dict[str, str]]:
    """Return (table comment, {column name: comment}) from a CREATE TABLE statement."""
    if not create_sql:
        return None, {}
    scanner = _Scanner(create_sql)
    try:
        scanner.run()
    except (IndexError, ValueError):
        return None, {}
    columns: dict[str, str] = {}
    for item in scanner.items:
        if item.name is None or item.name.lower() in _CONSTRAINT_WORDS:
            continue
        text = " ".join(item.trailing or item.leading).strip()
        if text:
            columns[_unquote(item.name)] = text
    table = " ".join(scanner.table_comment).strip() or None
    return table, columns
