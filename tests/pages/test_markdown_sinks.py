"""No page and no module of the app package (desk/) builds Markdown from values itself: every
string Streamlit reads as Markdown is a literal, or is made by desk/markdown.py (`md`, `text`,
`code`), which shows each value as text.

An f-string, a `+` or `%` of strings, or a `.format()` handed to st.markdown, st.caption, an alert,
a header, a label, a `help=` tooltip or a metric is how a report's org name became a live image on
the DMARC reports page (issue 10, finding 3). Such code fails here, naming the file and line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Functions whose first argument Streamlit renders as Markdown (bodies and labels).
MARKDOWN_FIRST = {
    "markdown",
    "caption",
    "write",
    "info",
    "warning",
    "error",
    "success",
    "subheader",
    "header",
    "title",
    "toast",
    "metric",
    "expander",
    "status",
    "popover",
    "button",
    "download_button",
    "page_link",
    "form_submit_button",
    "checkbox",
    "toggle",
    "radio",
    "selectbox",
    "multiselect",
    "text_input",
    "text_area",
    "number_input",
    "slider",
    "date_input",
    "file_uploader",
}
MARKDOWN_KEYWORDS = {"body", "label", "help", "text"}
SAFE_MAKERS = {"md", "text", "code"}


def _built(node: ast.expr) -> Iterator[ast.expr]:
    """The parts of `node` that build a string from values."""
    if isinstance(node, ast.JoinedStr) and any(
        isinstance(v, ast.FormattedValue) for v in node.values
    ):
        yield node
    elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        if any(isinstance(side, (ast.Constant, ast.JoinedStr)) for side in (node.left, node.right)):
            yield node
        else:
            yield from _built(node.left)
            yield from _built(node.right)
    elif isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in SAFE_MAKERS:
            return
        if name in ("format", "join") and isinstance(func, ast.Attribute):
            yield node
        if name == "str" and isinstance(func, ast.Name):
            yield node  # str(exc): a message that may quote anyone's words, as Markdown
    elif isinstance(node, ast.IfExp):
        yield from _built(node.body)
        yield from _built(node.orelse)
    elif isinstance(node, (ast.List, ast.Tuple)):
        for item in node.elts:
            yield from _built(item)
    elif isinstance(node, ast.ListComp):
        yield from _built(node.elt)


def _markdown_arguments(call: ast.Call) -> Iterator[ast.expr]:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else ""
    if name in MARKDOWN_FIRST and call.args:
        yield call.args[0]
    if name == "metric" and len(call.args) > 1:
        yield call.args[1]  # a metric's value is Markdown too
    if name == "tabs" and call.args:
        yield call.args[0]
    for keyword in call.keywords:
        if keyword.arg in MARKDOWN_KEYWORDS or (name == "metric" and keyword.arg == "value"):
            yield keyword.value


def violations(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call):
            for argument in _markdown_arguments(node):
                for built in _built(argument):
                    found.append(f"{filename}:{built.lineno}: {ast.unparse(built)[:90]}")
    return found


# Every screen, and every module of the app's package: the sign-in screens, the database faults and
# the shared widgets say what strangers wrote (a provider's address, a typed name) too.
PAGE_FILES = sorted(p for folder in ("pages", "desk") for p in (ROOT / folder).glob("*.py"))


def test_the_check_reads_every_module_that_draws() -> None:
    drawing = [p.name for p in PAGE_FILES if "import streamlit" in p.read_text()]
    assert {"sign_in_gate.py", "_oidc_sign_in.py", "_standalone_screens.py", "widgets.py"} <= set(
        drawing
    )
    assert len(drawing) >= 7 + 8  # the seven screens and the app package's drawing modules


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.name)
def test_no_page_builds_markdown_from_values(path: Path) -> None:
    assert violations(path.read_text(), path.name) == []


def test_the_check_finds_what_it_looks_for() -> None:
    bad = """
st.caption(f"From **{org}**")
st.warning("a" + note)
left.metric("IPs", "{} sources".format(n))
st.expander(f"{n} more", expanded=True)
st.button("Go", help=f"for {domain}")
show(f"x {y}") if False else st.info(f"{y}" if a else b)
st.error(str(exc), icon=":material/error:")
st.tabs([f"{p.name} ({len(p.findings)})" for p in parts])
"""
    good = """
st.caption(md("From **{org}**", org=org))
st.warning(text(note))
st.markdown("**Transcript**")
st.code(f"{anything}")
st.text(f"{anything}")
st.dataframe(frame)
st.selectbox("Report", options, format_func=lambda pk: f"{pk}")
"""
    assert len(violations(bad, "bad.py")) == 8
    assert violations(good, "good.py") == []
