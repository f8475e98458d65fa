"""The public surface of diagnostics.enrich: what callers (pages, notebooks, the store) rely on."""

from __future__ import annotations

import inspect

import diagnostics.enrich as enrich_package
from diagnostics.enrich import COLUMNS, Enrichment, enrich, enrich_async


def test_every_exported_name_exists():
    assert sorted(enrich_package.__all__) == sorted(set(enrich_package.__all__))
    for name in enrich_package.__all__:
        assert getattr(enrich_package, name) is not None


def test_enrich_signature():
    for function in (enrich, enrich_async):
        parameters = inspect.signature(function).parameters
        assert list(parameters)[:6] == [
            "ips",
            "resolver",
            "concurrency",
            "cache",
            "offline",
            "cache_ttl",
        ]
        assert parameters["concurrency"].default == 64
        assert parameters["offline"].default is False
        assert all(p.kind is p.KEYWORD_ONLY for p in list(parameters.values())[1:])


def test_columns_are_the_fields_of_a_row():
    assert tuple(Enrichment.__dataclass_fields__) == COLUMNS
    assert COLUMNS == (
        "ip",
        "reverse_dns",
        "base_domain",
        "service_name",
        "service_type",
        "asn",
        "as_name",
        "country",
    )
