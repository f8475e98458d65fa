"""How long a report's text may be: values longer than a cap are cut where the report is read,
with a warning naming the field, so a report is stored the same on SQLite and PostgreSQL.

Why caps at all: PostgreSQL refuses a B-tree index entry over 2,704 bytes ("index row size 3504
exceeds btree maximum 2704"), and some columns are indexed: a report's key (org_name, report_id,
policy_domain) and the records' (policy_domain, begin_ts, source_ip, count, dkim_aligned,
spf_aligned, disposition). SQLite has no such limit, so without caps a report with a 200 KB org
name was stored on one and refused on the other. The caps are far above anything a receiver
writes, and keep every indexed entry under the limit even in four-byte characters:

- `KEY_BYTES` (1,000 UTF-8 bytes) for org_name and report_id: 2 x 1,000 + a 253-character
  domain is under 2,704 bytes.
- `MAX_DOMAIN` (253 characters, RFC 1035) for a domain.
- `MAX_WORD` (64 characters) for the indexed record values: a source address (45 characters at
  most for IPv6) and the verdicts (`quarantine` is the longest word).
- `MAX_TEXT` (1,000 characters) for every other text field: no index, but a field a person reads
  on a page or in a warning should not be a book.
"""

from __future__ import annotations

from diagnostics.wording import plural

__all__ = ["KEY_BYTES", "MAX_DOMAIN", "MAX_TEXT", "MAX_WORD", "cut_note", "cut_to", "cut_to_bytes"]

KEY_BYTES = 1_000
MAX_DOMAIN = 253
MAX_WORD = 64
MAX_TEXT = 1_000

# How much of a value a message quotes (a reason, a warning).
QUOTED = 80


def cut_to(value: str, limit: int) -> str:
    """`value`'s first `limit` characters."""
    return value if len(value) <= limit else value[:limit]


def cut_to_bytes(value: str, limit: int) -> str:
    """`value`'s longest start that is at most `limit` bytes in UTF-8 (whole characters only)."""
    if len(value) * 4 <= limit:
        return value  # no string of this length can be longer
    return value.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def cut_note(field: str, length: int, limit: int, unit: str = "character") -> str:
    """The warning of a value that was cut: which field, how long, what was kept."""
    return f"{field} was {plural(length, unit)} long and is kept to its first {plural(limit, unit)}"


def quoted(value: object) -> str:
    """A value as a message repeats it: its repr, cut to `QUOTED` characters."""
    text = repr(value)
    return text if len(text) <= QUOTED else text[:QUOTED] + "…"
