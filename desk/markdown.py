"""Untrusted text on a page: shown as the text it is, never read as Markdown.

Streamlit reads Markdown in almost everything it draws: st.markdown, st.caption, st.write, the
bodies of st.info / st.warning / st.error / st.success, headers, widget labels and `help=`, metric
labels and values, expander, status and progress labels. Values from a report, a message's headers,
DNS or a provider's reply are written by strangers; put in Markdown as they are, an org name
`![x](http://attacker/…)` makes every viewer's browser fetch the attacker's image, a `[link](…)`
puts a phishing link in a trusted tool, and a backtick ends the code span it was put in.

So a page never puts a value into Markdown itself. It writes a trusted template and lets `md` put
the values in, each shown as text:

    st.caption(md("From **{org}** ({email}), policy {policy!c}", org=..., email=..., policy=...))
    st.warning(text(note))                     # the whole body is untrusted
    st.selectbox(..., format_func=plain)       # option labels are plain text: only made visible
    st.dataframe(table(frame))                 # cells are plain text: only made visible
    st.code(data(record)); st.json(data(d))    # code and JSON too

`tests/pages/test_markdown_sinks.py` checks that no page hands Streamlit an f-string, a
concatenation or a `.format()` where Markdown is read.

How a value is shown as text (`text`):
- Hidden characters (zero-width, bidirectional overrides, controls) become `<U+XXXX>` markers
  (`diagnostics.text.visible`), so "evil" with a right-to-left override cannot read as "live".
- Every character that can start Markdown is backslash-escaped (``\\ ` * _ [ ] ( ) # ! | ~ $ :
  < > & /``, and a word that is a list marker or a heading's underline, `-`, `1.`, `===`):
  links, images, emphasis, headings, lists, tables, HTML,
  entities, LaTeX (`$`), Streamlit's directives (`:red[…]`) and `:material/…:` icons cannot
  start. Other punctuation (`.` `,` `=` `@` …) is left as it is, so "example.com" reads as such
  in the page's source too.
- A word that Streamlit's browser side would still turn into something after escaping is shown as
  inline code instead, where nothing is interpreted: GitHub's autolinks (`http://…`, `www.…`,
  `name@host`) and `:shortcode:`s (emoji, `:material_…:` icons, `:streamlit:`) are found in the
  parsed text, where escapes have already been resolved.
- `code(value)` (`{name!c}` in a template) is a code span whose fence is longer than any run of
  backticks in the value, so a backtick never ends it.

A value must never be put inside a Streamlit directive's brackets (`:red[{value}]`): the directive
ends at the first `]`, even one inside a code span.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from diagnostics.text import visible

__all__ = ["Markdown", "code", "data", "joined", "md", "plain", "table", "text"]


class Markdown(str):
    """Markdown that is safe to hand to Streamlit: a trusted template whose values were shown as
    text. `md` puts a Markdown value in as it is (no second escaping)."""

    __slots__ = ()


# The characters that start Markdown anywhere in a line (CommonMark escapes any ASCII punctuation
# with a backslash). `/` too: Streamlit turns ":material/" into an icon before parsing, escapes or not.
_SPECIAL = re.compile(r"([\\`*_\[\]()#!|~$:<>&/])")
# A word that is a list marker ("-", "+", "1.", "1)") or a heading's underline ("---", "===") when
# it starts a line. Other words may start with these characters ("-all", "1.5"): they never do.
_MARKER_WORD = re.compile(r"[-+=]+|\d{1,9}[.)]")
# What Streamlit's browser side finds in text after escapes are resolved: GitHub autolinks (a
# scheme, "www.", an address) and :shortcodes: (emoji, :material_…: icons, :streamlit:).
_LIVE_WORD = re.compile(r"://|www\.|@|:[\w+-]+:", re.IGNORECASE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SPACES = re.compile(r"(\s+)")
_BACKTICKS = re.compile(r"`+")


def _one_line(value: str) -> str:
    return _LINE_BREAK.sub(" ", value)


def _escaped_word(word: str) -> str:
    if _LIVE_WORD.search(word):
        return _code_span(word)
    if _MARKER_WORD.fullmatch(word):
        return word[:-1] + "\\" + word[-1] if word[0].isdigit() else "".join(f"\\{c}" for c in word)
    return _SPECIAL.sub(r"\\\1", word)


def _spacing(part: str, one_line: bool) -> str:
    if one_line or not _LINE_BREAK.search(part):
        return part
    # A line break in the text is one on the page (two spaces before it: a hard break). The
    # spaces that indent the next line are dropped: four would start a code block.
    return "  \n" * len(_LINE_BREAK.findall(part))


def text(value: object, *, one_line: bool = False) -> Markdown:
    """`value` (any object, as `str()` writes it) as Markdown that shows exactly that text. Line
    breaks stay line breaks, unless `one_line` (a label, a table cell) turns them into spaces."""
    shown = visible(str(value)).strip()
    if one_line:
        shown = _one_line(shown)
    parts = []
    for part in _SPACES.split(shown):
        if part:
            parts.append(_spacing(part, one_line) if part.isspace() else _escaped_word(part))
    return Markdown("".join(parts))


def _code_span(value: str) -> str:
    # Code spans cannot hold a line break: one would end the paragraph, and the span with it.
    content = _one_line(value)
    if not content:
        return ""
    longest = max((len(run) for run in _BACKTICKS.findall(content)), default=0)
    fence = "`" * (longest + 1)
    # One space each side when the content starts or ends with a backtick (or is space-padded
    # itself): CommonMark strips exactly one, and the fence stays apart from the content's own.
    padded = content.startswith("`") or content.endswith("`")
    padded = padded or (content.startswith(" ") and content.endswith(" ") and bool(content.strip()))
    space = " " if padded else ""
    return f"{fence}{space}{content}{space}{fence}"


def code(value: object) -> Markdown:
    """`value` as inline code (monospace), whatever it holds: nothing in it is interpreted."""
    return Markdown(_code_span(visible(str(value))))


def joined(parts: Iterable[Markdown], separator: str = ", ") -> Markdown:
    """Markdown `parts` (each made by `md`, `text` or `code`) joined by a literal `separator`.
    Raises TypeError for a part that is not Markdown: a plain str would go in unescaped."""
    items = list(parts)
    for part in items:
        if not isinstance(part, Markdown):
            raise TypeError(f"joined() takes Markdown (md, text, code), not {type(part).__name__}")
    return Markdown(separator.join(items))


def plain(value: object) -> str:
    """`value` for a place Streamlit shows as plain text (select options, st.text, table cells):
    hidden characters made visible, on one line."""
    return _one_line(visible("" if value is None else str(value)))


class _Template(string.Formatter):
    """str.format with every value shown as text: `{name}` escaped (after its format spec, so
    `{count:,}` works), `{name!c}` as inline code, a `Markdown` value as it is."""

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "c":
            return code(value)
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Markdown):
            return str(value)
        return text(format(value, format_spec), one_line=True)


_TEMPLATE = _Template()
# A placeholder between backticks: the value would sit in a code span the template opened itself,
# which a backtick in the value ends. `{name!c}` is the safe way.
_TICKED = re.compile(r"`\{[^{}]*\}|\{[^{}]*\}`")


def md(template: str, /, *args: object, **values: object) -> Markdown:
    """Markdown of a trusted `template` (str.format syntax) with each value shown as text; see the
    module docstring. Raises ValueError for a placeholder the template wraps in backticks."""
    if _TICKED.search(template):
        raise ValueError(f"a placeholder in backticks (use {{name!c}}): {template!r}")
    return Markdown(_TEMPLATE.vformat(template, args, values))


def _visible_cell(value: Any) -> Any:
    return plain(value) if isinstance(value, str) else value


def _visible_column(column: pd.Series) -> pd.Series:
    # Each distinct value once (a table of thousands of sources repeats a few hundred names).
    values = column.astype(object)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    shown = values.to_numpy(copy=True)
    present = codes >= 0
    shown[present] = np.array([_visible_cell(u) for u in uniques], dtype=object)[codes[present]]
    return pd.Series(shown, index=column.index, name=column.name, dtype=object)


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` for st.dataframe: hidden characters in its text made visible (cells are
    drawn as plain text, never Markdown, so nothing else needs doing)."""
    out = frame.copy()
    for name in out.columns:
        dtype = out[name].dtype
        if (
            isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
        ):
            out[name] = _visible_column(out[name])
    return out


def data(value: Any) -> Any:
    """`value` (what st.json or st.code shows: text, or dicts and lists of it) with hidden
    characters made visible in every string, keys included; line breaks kept."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, Mapping):
        return {data(k): data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [data(v) for v in value]
    return value
