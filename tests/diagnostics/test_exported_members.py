"""The public surface of `diagnostics`: what each layer exports, documented, under names used once.

As httpx's tests/test_exported_members.py does: the names a package exports are listed here, so a
change to the surface is a change to this file. Modules whose name starts with `_` are private; the
others, and the names in their `__all__`, are the library's API.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from collections import Counter, defaultdict
from pathlib import Path

import pytest

import diagnostics

ROOT = Path(__file__).resolve().parents[2]

PARSE = {
    "DEFAULT_LIMITS",
    "FAILURE_COLUMNS",
    "RECORD_COLUMNS",
    "REPORT_COLUMNS",
    "TLS_COLUMNS",
    "AggregateReport",
    "FailureReport",
    "ParseLimits",
    "Progress",
    "ReportBatch",
    "ReportMeta",
    "Source",
    "TlsFailure",
    "TlsPolicy",
    "TlsReport",
    "holds_feedback",
    "load_reports",
    "parse_report",
}
EXPLAIN = {
    "NAMED_BY_CATALOGUE",
    "NAMED_BY_OWNER",
    "NOT_LEGITIMATE",
    "Action",
    "ActionCode",
    "Category",
    "Confidence",
    "Diagnosis",
    "DmarcPolicy",
    "Evidence",
    "Readiness",
    "explain",
    "offline_names",
    "readiness",
    "reported_policies",
    "selectors_seen",
}
STORE = {
    "FileResult",
    "ImportSummary",
    "Moment",
    "Outcome",
    "Progress",
    "ReportStore",
    "SqlEnrichmentCache",
    "StoreError",
    "period_bound",
}
# diagnostics.dmarc exports what it exported before the layers were split out, no more, no less.
DMARC = {
    *(PARSE - {"Progress", "Source", "holds_feedback"}),
    *(STORE - {"Moment", "Progress", "period_bound"}),
    *{"Action", "ActionCode", "Category", "Confidence", "Diagnosis", "Evidence", "Readiness"},
    *{"explain", "readiness", "selectors_seen"},
}
SURFACES = {
    "diagnostics.dmarc": DMARC,
    "diagnostics.dmarc.parse": PARSE,
    "diagnostics.dmarc.explain": EXPLAIN,
    "diagnostics.dmarc.store": STORE,
    "diagnostics.domains": {"organizational_domain", "public_suffix_list", "registered_domain"},
}
LAYERS = ("diagnostics.dmarc.parse", "diagnostics.dmarc.explain", "diagnostics.dmarc.store")


def _public_modules() -> list[str]:
    found = ["diagnostics"]
    for info in pkgutil.walk_packages(diagnostics.__path__, "diagnostics."):
        parts = info.name.split(".")
        if not any(part.startswith("_") for part in parts):
            found.append(info.name)
    return sorted(found)


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_each_layer_exports_its_names_documented(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__
    assert set(module.__all__) == SURFACES[name]
    assert len(module.__all__) == len(set(module.__all__))
    for member in module.__all__:
        value = getattr(module, member)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__doc__, f"{name}.{member} has no docstring"


def test_the_package_exports_the_layers_own_objects() -> None:
    dmarc = importlib.import_module("diagnostics.dmarc")
    for member in dmarc.__all__:
        owners = [layer for layer in LAYERS if member in importlib.import_module(layer).__all__]
        assert len(owners) == 1, (member, owners)
        assert getattr(dmarc, member) is getattr(importlib.import_module(owners[0]), member)


def test_the_store_is_looked_up_lazily_and_unknown_names_still_fail() -> None:
    dmarc = importlib.import_module("diagnostics.dmarc")
    assert STORE - {"Moment", "Progress", "period_bound"} <= set(dir(dmarc))
    with pytest.raises(AttributeError, match="no attribute 'ReportStores'"):
        _ = dmarc.ReportStores


@pytest.mark.parametrize("name", _public_modules())
def test_every_public_module_is_documented_and_exports_what_it_names(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    for member in getattr(module, "__all__", ()):
        assert not member.startswith("_"), f"{name} exports private {member}"
        assert hasattr(module, member), f"{name}.__all__ names {member}, which is not there"


def _public_types(path: Path) -> list[tuple[str, str]]:
    """Classes and type aliases (`Name = dict[str, Any]`) defined at the top of a module, each with
    what it is: a class is itself, an alias its definition."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    place = str(path.relative_to(ROOT))
    found = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            found.append((node.name, f"class in {place}"))
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Subscript | ast.BinOp):
            found += [
                (t.id, ast.unparse(node.value)) for t in node.targets if isinstance(t, ast.Name)
            ]
    return [
        (n, what)
        for n, what in found
        if not n.startswith("_") and n[0].isupper() and not n.isupper()
    ]


def test_no_two_public_types_in_the_library_share_a_name() -> None:
    """One `Diagnosis`, one `Row`: a reader who meets a type name knows which one it is, private
    modules included (their types travel in the public ones' values). An alias spelled the same
    in two modules (`Network = IPv4Network | IPv6Network`) is one type written twice, not two."""
    meanings: defaultdict[str, set[str]] = defaultdict(set)
    for path in sorted((ROOT / "diagnostics").rglob("*.py")):
        for name, what in _public_types(path):
            meanings[name].add(what)
    assert {name: sorted(what) for name, what in meanings.items() if len(what) > 1} == {}


def test_no_two_modules_are_called_settings_or_rows() -> None:
    files = Counter(
        path.name for package in ("diagnostics", "admin") for path in (ROOT / package).rglob("*.py")
    )
    assert files["settings.py"] <= 1
    assert files["rows.py"] <= 1


def _namespaces() -> list[tuple[str, dict[str, object]]]:
    """Each public module of the library and each public class it defines, with their members."""
    found: list[tuple[str, dict[str, object]]] = []
    for name in _public_modules():
        module = importlib.import_module(name)
        members = {n: getattr(module, n) for n in getattr(module, "__all__", ())}
        found.append((name, members))
        for member, value in members.items():
            if inspect.isclass(value) and value.__module__ == name:
                attributes = {n: v for n, v in vars(value).items() if not n.startswith("_")}
                found.append((f"{name}.{member}", attributes))
    return found


def test_every_async_twin_is_called_name_async() -> None:
    """One convention for a coroutine that does what a synchronous function beside it does:
    `check_domain` and `check_domain_async`, `Resolver.query` and `Resolver.query_async`; never
    `aquery`, `aenrich` or `async_probe`."""
    wrong: list[str] = []
    twins = 0
    for where, members in _namespaces():
        sync = {n for n, v in members.items() if callable(v) and not _is_coroutine(v)}
        for name, value in members.items():
            if not _is_coroutine(value):
                continue
            for base in sync:
                if name in (f"a{base}", f"async_{base}", f"{base}_async"):
                    twins += 1
                    if name != f"{base}_async":
                        wrong.append(f"{where}.{name} (twin of {base}): call it {base}_async")
    assert wrong == []
    assert twins >= 10  # the check sees the library's twins (check_domain_async, query_async...)


def _is_coroutine(value: object) -> bool:
    return inspect.iscoroutinefunction(value)
