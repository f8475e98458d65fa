"""Property tests: the parsers take any input and either answer or refuse it the documented way.

The rule (issue 6): no exception escapes the public API except the package's own documented errors,
and every call finishes within 1 s (hypothesis' `deadline`). Documented here means:

    dmarc.parse_report        ReportError (ReportTooLarge is one)
    dmarc.load_reports        nothing: every bad input is a line in `errors`, and its last-resort
                              handler (which logs "unexpected failure") must not be needed
    spf.parse_record          nothing: problems are `SpfRecord.errors`
    spf.expand                MacroSyntaxError, exactly when `macro_problem` names a fault
    spf.check_host, analyze   nothing, whatever the TXT records say
    headers.analyze           nothing, and not by way of its last-resort handler either

Inputs are structured mutations from tests/fuzz/mutations.py driven by `st.randoms()` (so failures
shrink and replay), plus plain hypothesis strings and bytes. Runs are derandomized and keep no
example database, so the suite is the same on every machine; bench/fuzz_bench.py runs far more.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnostics import headers, spf
from diagnostics.dmarc import ParseLimits, load_reports, parse_report
from diagnostics.errors import ReportError, ReportTooLarge
from diagnostics.spf import MacroContext, MacroSyntaxError, Result, SpfAnalysis, SpfResult
from tests.fuzz import mutations
from tests.support.nameserver import LoopbackNameserver


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=1000,  # ms: the "finishes within 1 s" half of every property
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


_T = TypeVar("_T")


def attempt(
    call: Callable[[], _T], documented: type[Exception]
) -> tuple[_T | None, Exception | None]:
    """(what `call` returned, None) or (None, the documented error it raised); anything else
    escapes and fails the test."""
    try:
        return call(), None
    except documented as error:
        return None, error


class _Caught(logging.Handler):
    """What load_reports' last-resort handler logged: each entry is a bug of ours it swallowed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])


@pytest.fixture(scope="module")
def safety_net() -> Iterator[_Caught]:
    handler = _Caught()
    logger = logging.getLogger("diagnostics.dmarc.parse._batch")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def dns_server() -> Iterator[LoopbackNameserver]:
    # Module scope: hypothesis runs many examples per test, each one replaces the zone.
    with LoopbackNameserver() as server:
        yield server


# ---- DMARC reports -----------------------------------------------------------------------------


@fuzz(150)
@given(rng=st.randoms(use_true_random=False))
def test_parse_report_takes_mutated_samples(rng: random.Random) -> None:
    data = mutations.report_input(rng)
    report, error = attempt(lambda: parse_report(data), ReportError)
    if report is None:
        assert str(error)  # a reason a person can read
        return
    assert report.policy_domain
    assert len(report.records) == report.meta.record_count


@fuzz(100)
@given(
    head=st.sampled_from([b"", b"<", b"<?xml", b"{", b"PK\x03\x04", b"\x1f\x8b", b"From "]),
    body=st.binary(max_size=2048),
)
def test_parse_report_takes_any_bytes(head: bytes, body: bytes) -> None:
    with pytest.raises(ReportError):  # none of these is a whole report
        parse_report(head + body)


@fuzz(60)
@given(rng=st.randoms(use_true_random=False))
def test_caps_reject_with_report_too_large(rng: random.Random) -> None:
    limits = ParseLimits(max_input_bytes=4096, max_report_bytes=8192, max_records=3)
    data = mutations.report_input(rng)
    report, error = attempt(lambda: parse_report(data, limits=limits), ReportError)
    if isinstance(error, ReportTooLarge):
        assert "cap" in str(error)  # the reason names the cap, so a person knows what to raise
    if report is not None:
        assert len(data) <= 4096
        assert len(report.records) <= 3


@fuzz(80)
@given(rng=st.randoms(use_true_random=False), count=st.integers(1, 3))
def test_load_reports_never_raises(rng: random.Random, count: int, safety_net: _Caught) -> None:
    inputs = [mutations.report_input(rng) for _ in range(count)]
    safety_net.errors.clear()
    batch = load_reports(inputs)
    assert safety_net.errors == []
    assert batch.inputs == count
    assert all(name and reason for name, reason in batch.errors)
    assert set(batch.records["report_index"].unique()) <= set(range(len(batch.reports)))


# ---- SPF ---------------------------------------------------------------------------------------

_qualifier = st.sampled_from(["", "+", "-", "~", "?"])
_target = st.one_of(
    st.sampled_from(mutations.SPF_DOMAINS),
    st.text(alphabet="abc.%{}dlsoi-_0123456789/", max_size=20),
)
_term = st.one_of(
    st.builds(lambda q: q + "all", _qualifier),
    st.builds(
        lambda q, n, t: f"{q}{n}:{t}",
        _qualifier,
        st.sampled_from(["include", "exists", "a", "mx", "ptr"]),
        _target,
    ),
    st.builds(
        lambda q, a, c: f"{q}ip4:{a}{c}",
        _qualifier,
        st.ip_addresses(v=4).map(str),
        st.sampled_from(["", "/0", "/24", "/32", "/33"]),
    ),
    st.builds(
        lambda q, a, c: f"{q}ip6:{a}{c}",
        _qualifier,
        st.ip_addresses(v=6).map(str),
        st.sampled_from(["", "/0", "/64", "/128", "/129"]),
    ),
    st.builds(lambda m, t: f"{m}={t}", st.sampled_from(["redirect", "exp", "x-y"]), _target),
    st.text(max_size=12),
)
spf_records = st.one_of(
    st.lists(_term, max_size=15).map(lambda terms: " ".join(["v=spf1", *terms])),
    st.text(max_size=200),
    st.randoms(use_true_random=False).map(mutations.spf_record),
)


@fuzz(300)
@given(text=spf_records)
def test_parse_record_never_raises(text: str) -> None:
    record = spf.parse_record(text)
    assert all(isinstance(error, str) and error for error in record.errors)
    assert record.is_valid == (not record.errors)
    for term in record.terms:
        assert term.text in text


_CONTEXT = MacroContext(
    sender="user@fuzz.test",
    domain="fuzz.test",
    ip=ipaddress.ip_address("2001:db8::1"),
    helo="helo.fuzz.test",
)


@fuzz(300)
@given(
    text=st.one_of(
        st.text(alphabet="%{}slodiphvcrtxSLODIPHVCRT0123456789.-+,/_= a", max_size=30),
        st.randoms(use_true_random=False).map(mutations.macro_text),
    ),
    explanation=st.booleans(),
)
def test_expand_raises_only_macro_syntax_error_and_agrees_with_macro_problem(
    text: str, explanation: bool
) -> None:
    problem = spf.macro_problem(text, explanation=explanation)
    expanded, error = attempt(
        lambda: spf.expand(text, _CONTEXT, explanation=explanation), MacroSyntaxError
    )
    if expanded is None:
        assert problem is not None, f"expand refused {text!r}: {error}"
    else:
        assert problem is None, f"expand took {text!r}; macro_problem says: {problem}"


@fuzz(80)
@given(rng=st.randoms(use_true_random=False), ip=st.sampled_from(["127.0.0.1", "2001:db8::1"]))
def test_check_host_and_analyze_take_any_txt_records(
    rng: random.Random, ip: str, dns_server: LoopbackNameserver
) -> None:
    zone = mutations.spf_zone(rng)
    dns_server.replace(zone)
    resolver = dns_server.resolver(timeout=0.5, cache=False)
    result = spf.check_host(ip, "user@fuzz.test", resolver=resolver)
    assert isinstance(result, SpfResult)
    assert result.result in set(Result)
    # A single SPF record that does not parse is a permerror (RFC 7208 4.6), whatever else it says.
    texts = zone["fuzz.test"].get("TXT", [])
    records = [t for t in texts if isinstance(t, str) and spf.is_spf_record(t)]
    if len(texts) == len(records) == 1 and not spf.parse_record(records[0]).is_valid:
        assert result.result is Result.PERMERROR
    analysis = spf.analyze("fuzz.test", resolver=resolver)
    assert isinstance(analysis, SpfAnalysis)
    assert analysis.domain == "fuzz.test"


# ---- headers -----------------------------------------------------------------------------------

_SAFETY_NET = "These headers could not be read ("


@fuzz(200)
@given(
    text=st.one_of(
        # Not the oversized pastes: test_headers_analyze_reads_large_pastes_within_1s has them.
        st.randoms(use_true_random=False).map(lambda r: mutations.header_text(r, oversized=False)),
        st.text(max_size=500),
    )
)
def test_headers_analyze_never_raises(text: str) -> None:
    report = headers.analyze(text)
    # analyze() words any exception of its readers as this sentence: that is still a bug.
    assert not report.message.startswith(_SAFETY_NET), report.message
    assert report.readable or report.message


def test_headers_analyze_reads_large_pastes_within_1s() -> None:
    # authres is quadratic on one long header; analyze hands such values to its tolerant reader.
    text = "From: a@example.com\r\nAuthentication-Results: mx.example.com; " + "spf=pass;" * 15_000
    started = time.perf_counter()
    report = headers.analyze(text)
    assert report.readable
    assert time.perf_counter() - started < 1.0
