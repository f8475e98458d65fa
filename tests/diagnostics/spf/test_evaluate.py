"""check_host beyond the OpenSPF suite: the trace, the counts, bad arguments, DNS failures,
the HELO identity, and the engine driven by hand (it is pure: it only asks questions)."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from typing import Any

import pytest

from diagnostics.dns import Answer, Status
from diagnostics.errors import InvalidInput
from diagnostics.spf import Result, check_host, check_host_async
from diagnostics.spf.engine import Request, evaluate
from tests.support.nameserver import LoopbackNameserver

Start = Callable[..., LoopbackNameserver]

PROVIDERS: dict[str, Any] = {
    "example.com": {"TXT": ["v=spf1 include:spf.trekmail.test include:sendgrid.test -all"]},
    "spf.trekmail.test": {"TXT": ["v=spf1 ip4:198.51.100.0/24 -all"]},
    "sendgrid.test": {"TXT": ["v=spf1 ip4:203.0.113.0/24 ip6:2001:db8:5::/48 ~all"]},
}


def test_trace_names_the_include_that_matched(nameserver: Start) -> None:
    resolver = nameserver(PROVIDERS).resolver(timeout=0.5)
    outcome = check_host("203.0.113.9", "news@example.com", resolver=resolver)
    assert outcome.result is Result.PASS
    assert outcome.result == "pass"
    # At the top, the include that matched; inside sendgrid.test, the network that made it pass.
    # (Inside spf.trekmail.test "-all" matched too: that include gave fail, so no match above.)
    matched = [s for s in outcome.trace if s.matched and s.domain != "spf.trekmail.test"]
    assert [(s.depth, s.domain, s.term) for s in matched] == [
        (0, "example.com", "include:sendgrid.test"),
        (1, "sendgrid.test", "ip4:203.0.113.0/24"),
    ]
    assert "sendgrid.test gave pass" in matched[0].outcome
    # Evaluation order: the first include was tried (and did not match) before the second.
    terms = [s.term for s in outcome.trace]
    assert terms.index("include:spf.trekmail.test") < terms.index("include:sendgrid.test")
    first = next(s for s in outcome.trace if s.term == "include:spf.trekmail.test")
    assert first.matched is False
    assert "gave fail" in first.outcome
    assert "include:sendgrid.test" in outcome.format_trace()
    assert outcome.lookups == 2
    assert outcome.void_lookups == 0
    assert outcome.problem is None
    assert outcome.explanation is None


def test_unauthorized_provider_fails_at_all(nameserver: Start) -> None:
    resolver = nameserver(PROVIDERS).resolver(timeout=0.5)
    outcome = check_host("192.0.2.1", "news@example.com", resolver=resolver)
    assert outcome.result == "fail"
    last = outcome.trace[-1]
    assert (last.term, last.matched, last.depth) == ("-all", True, 0)


async def test_async_gives_the_same_result_and_trace(nameserver: Start) -> None:
    server = nameserver(PROVIDERS)
    sync = check_host("2001:db8:5::1", "a@example.com", resolver=server.resolver(timeout=0.5))
    async_ = await check_host_async(
        "2001:db8:5::1", "a@example.com", resolver=server.resolver(timeout=0.5)
    )
    assert sync == async_
    assert sync.result == "pass"


def test_lookup_counting_follows_rfc7208_4_6_4(nameserver: Start) -> None:
    zone = {
        "count.example": {
            "TXT": [
                "v=spf1 a mx ip4:192.0.2.0/24 include:inc.example "
                "exists:nothing.example redirect=final.example exp=why.example"
            ],
            "A": ["198.51.100.1"],
            "MX": ["10 mx1.count.example", "20 mx2.count.example"],
        },
        "mx1.count.example": {"A": ["198.51.100.2"]},
        "mx2.count.example": {"A": ["198.51.100.3"]},
        "inc.example": {"TXT": ["v=spf1 a:gone.example ?all"]},
        "final.example": {"TXT": ["v=spf1 -all"]},
        "why.example": {"TXT": ["not for you"]},
    }
    outcome = check_host("203.0.113.5", "x@count.example", resolver=nameserver(zone).resolver())
    # a, mx (one, however many MX hosts), include, a inside it, exists, redirect: 6.
    # exp= is never counted; ip4 and all need no DNS.
    assert outcome.lookups == 6
    # a:gone.example and exists:nothing.example found nothing: two void look-ups.
    assert outcome.void_lookups == 2
    assert outcome.result == "fail"
    # redirect: the exp= of the record that redirected does not apply.
    assert outcome.explanation is None


def test_third_void_lookup_is_a_permerror_naming_the_term(nameserver: Start) -> None:
    zone = {
        "void.example": {"TXT": ["v=spf1 include:inc.example a:three.example -all"]},
        "inc.example": {"TXT": ["v=spf1 a:one.example a:two.example ?all"]},
    }
    outcome = check_host("192.0.2.1", "x@void.example", resolver=nameserver(zone).resolver())
    assert outcome.result == "permerror"
    assert outcome.void_lookups == 3
    assert outcome.problem is not None
    assert "a:three.example" in outcome.problem
    step = next(s for s in outcome.trace if s.term == "a:three.example")
    assert "void" in step.outcome


def test_explanation_on_fail_with_macros(nameserver: Start) -> None:
    zone = {
        "exp.example": {"TXT": ["v=spf1 ip4:192.0.2.0/24 -all exp=explain.exp.example"]},
        "explain.exp.example": {"TXT": ["%{i} may not send for %{d} (sender %{s})"]},
    }
    resolver = nameserver(zone).resolver()
    outcome = check_host("203.0.113.7", "bob@exp.example", resolver=resolver)
    assert outcome.result == "fail"
    assert (
        outcome.explanation == "203.0.113.7 may not send for exp.example (sender bob@exp.example)"
    )
    assert check_host("192.0.2.7", "bob@exp.example", resolver=resolver).explanation is None


def test_helo_identity_when_sender_is_empty(nameserver: Start) -> None:
    zone = {
        "mail.example.org": {"TXT": ["v=spf1 a -all exp=why.example.org"], "A": ["192.0.2.25"]},
        "why.example.org": {"TXT": ["%{s} via %{h}"]},
    }
    resolver = nameserver(zone).resolver()
    passed = check_host("192.0.2.25", "", "mail.example.org", resolver=resolver)
    assert (passed.result, passed.domain, passed.sender) == (
        "pass",
        "mail.example.org",
        "postmaster@mail.example.org",
    )
    failed = check_host("192.0.2.26", "", "mail.example.org", resolver=resolver)
    assert failed.explanation == "postmaster@mail.example.org via mail.example.org"


def test_ipv4_mapped_ipv6_is_evaluated_as_ipv4(nameserver: Start) -> None:
    resolver = nameserver(PROVIDERS).resolver()
    outcome = check_host("::ffff:198.51.100.20", "a@example.com", resolver=resolver)
    assert outcome.result == "pass"
    assert outcome.ip == "::ffff:198.51.100.20"


def test_servfail_and_timeout_are_temperror(nameserver: Start) -> None:
    zone = {
        "loop.example": {"CNAME": ["loop.example"]},  # a CNAME loop: the server fails (SERVFAIL)
        "slow.example": {"TXT": ["v=spf1 a:dead.example -all"]},
        "dead.example": {"A": "TIMEOUT"},
    }
    resolver = nameserver(zone).resolver(timeout=0.3)
    servfail = check_host("192.0.2.1", "a@loop.example", resolver=resolver)
    assert servfail.result == "temperror"
    assert servfail.problem is not None
    assert "loop.example" in servfail.problem
    timeout = check_host("192.0.2.1", "a@slow.example", resolver=resolver)
    assert timeout.result == "temperror"
    assert timeout.problem is not None
    assert "a:dead.example" in timeout.problem


def test_none_and_malformed_domains(nameserver: Start) -> None:
    resolver = nameserver({"plain.example": {"TXT": ["hello"]}}).resolver()
    for sender in (
        "a@plain.example",
        "a@missing.example",
        "a@" + "x" * 64 + ".example",
        "a@[192.0.2.1]",
        "a@localhost",
    ):
        outcome = check_host("192.0.2.1", sender, resolver=resolver)
        assert outcome.result == "none", sender
        assert outcome.problem


@pytest.mark.parametrize(
    ("ip", "sender", "helo"),
    [
        ("not-an-ip", "a@example.com", ""),
        ("192.0.2.300", "a@example.com", ""),
        ("", "a@example.com", ""),
        ("192.0.2.1", "", ""),
        ("192.0.2.1", "a@example.com\r\nRCPT TO:<x@y>", ""),
    ],
)
def test_invalid_arguments_raise_invalid_input(ip: str, sender: str, helo: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_host(ip, sender, helo)
    assert isinstance(info.value, ValueError)
    assert str(info.value)


def test_engine_is_pure_and_asks_only_questions() -> None:
    """Drive the engine by hand with Answer values: no resolver, no sockets."""
    answers = {
        ("example.net", "TXT"): Answer(
            "example.net", "TXT", Status.OK, ("v=spf1 mx:mail.example.net/24 -all",)
        ),
        ("mail.example.net", "MX"): Answer(
            "mail.example.net", "MX", Status.OK, ("10 mx.example.net",)
        ),
        ("mx.example.net", "A"): Answer("mx.example.net", "A", Status.OK, ("192.0.2.10",)),
    }
    request = Request(ipaddress.ip_address("192.0.2.99"), "a@example.net", "example.net")
    engine = evaluate(request)
    asked = []
    try:
        question = next(engine)
        while True:
            asked.append(question)
            question = engine.send(answers[question])
    except StopIteration as done:
        outcome = done.value
    assert asked == [
        ("example.net", "TXT"),
        ("mail.example.net", "MX"),
        ("mx.example.net", "A"),
    ]
    assert outcome.result == "pass"
    assert outcome.lookups == 1


def test_more_than_ten_lookups_names_the_eleventh(nameserver: Start) -> None:
    chain = {f"l{i}.example": {"TXT": [f"v=spf1 include:l{i + 1}.example"]} for i in range(12)}
    outcome = check_host("192.0.2.1", "a@l0.example", resolver=nameserver(chain).resolver())
    assert outcome.result == "permerror"
    assert outcome.lookups == 11
    assert outcome.problem is not None
    assert "include:l11.example" in outcome.problem
    assert max(s.depth for s in outcome.trace) == 10


def test_redirect_uses_the_targets_exp_and_to_dict_is_json(nameserver: Start) -> None:
    zone = {
        "r.example": {"TXT": ["v=spf1 ip4:192.0.2.1 exp=mine.r.example redirect=policy.example"]},
        "mine.r.example": {"TXT": ["not this one"]},
        "policy.example": {"TXT": ["v=spf1 -all exp=why.policy.example"]},
        "why.policy.example": {"TXT": ["%{o} is not allowed to use %{i}"]},
    }
    outcome = check_host("192.0.2.2", "a@r.example", resolver=nameserver(zone).resolver())
    assert outcome.result == "fail"
    assert outcome.explanation == "r.example is not allowed to use 192.0.2.2"
    exp_step = outcome.trace[-1]
    assert (exp_step.depth, exp_step.domain) == (1, "policy.example")
    data = json.loads(json.dumps(outcome.to_dict()))
    assert data["result"] == "fail"
    assert data["lookups"] == 1
    assert [step["term"] for step in data["trace"]][:3] == [
        "v=spf1 ip4:192.0.2.1 exp=mine.r.example redirect=policy.example",
        "ip4:192.0.2.1",
        "redirect=policy.example",
    ]
