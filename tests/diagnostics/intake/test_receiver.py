"""The desk's own report address: the aiosmtpd receiver on port 0, fed by aiosmtplib (and a raw LMTP
client) with the sample reports. 250 only once stored; 550, 552, 554 and 451 each when they are due."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
import trustme
from sqlalchemy.engine import URL

from diagnostics.dmarc import ReportStore
from diagnostics.intake.receiver import start_receiver
from tests.support.relay import Relay
from tests.support.reportmail import (
    SAMPLES,
    gzipped_report,
    padded,
    plain_message,
    report_message,
    with_attachment_name,
)

DESK = "dmarc-reports@reports.example.org"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
async def receiver(
    report_store: ReportStore, server_tls: ssl.SSLContext
) -> AsyncIterator[Callable[..., Any]]:
    """Factory: `await receiver(**options)` starts one on port 0 and returns its port."""
    servers: list[asyncio.Server] = []

    async def start(store: ReportStore = report_store, **options: Any) -> int:
        options.setdefault("tls", server_tls)
        server = await start_receiver(store, [DESK], **options)
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def _send(port: int, message: bytes, tls: ssl.SSLContext, to: str = DESK) -> str:
    reply = await aiosmtplib.send(
        message,
        sender="noreply-dmarc@example.net",
        recipients=[to],
        hostname="127.0.0.1",
        port=port,
        tls_context=tls,
        start_tls=True,
    )
    return reply[1]


def _as_message(path: Path) -> bytes:
    if path.suffix == ".eml":
        return path.read_bytes()
    return report_message([(path.name, path.read_bytes())])


async def test_every_sample_report_is_stored_as_an_upload_would_store_it(
    receiver, report_store: ReportStore, client_tls: ssl.SSLContext, tmp_path: Path
) -> None:
    port = await receiver()
    folders = ("aggregate", "extract_report", "failure", "smtp_tls")
    samples = [*sorted(p for f in folders for p in (SAMPLES / f).iterdir()), SAMPLES / "empty.xml"]
    codes: dict[str, int] = {}
    for path in samples:
        try:
            reply = await _send(port, _as_message(path), client_tls)
        except aiosmtplib.SMTPDataError as exc:
            codes[path.name] = exc.code
        else:
            assert reply.startswith("2.0.0 Stored"), (path.name, reply)
            codes[path.name] = 250
    # The same files uploaded: the receiver stores exactly what the upload path stores.
    uploaded = ReportStore(f"sqlite:///{tmp_path / 'uploads.sqlite'}")
    try:
        uploaded.import_paths([str(p) for p in samples])
        for table in ("reports", "failure_reports", "tls_reports"):
            assert len(getattr(report_store, table)()) == len(getattr(uploaded, table)()), table
    finally:
        uploaded.close()
    assert sum(code == 250 for code in codes.values()) >= 20
    assert {name for name, code in codes.items() if code != 250} == {"empty.xml"}
    assert codes["empty.xml"] == 554


async def test_mail_for_another_address_is_refused_550(receiver, client_tls) -> None:
    port = await receiver()
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await _send(port, report_message([gzipped_report(1)]), client_tls, to="ceo@example.org")
    [error] = refused.value.recipients
    assert error.code == 550
    assert "takes DMARC reports only" in error.message


async def test_a_message_with_no_report_is_refused_554_with_the_reason(
    receiver, client_tls, report_store: ReportStore
) -> None:
    port = await receiver()
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await _send(port, plain_message(), client_tls)
    assert refused.value.code == 554
    assert refused.value.message.startswith("5.6.0 No report stored: ")
    assert "not a valid report" in refused.value.message
    assert report_store.reports().empty


async def test_a_60_mb_message_is_refused_552_with_the_cap_named(
    receiver, client_tls, report_store: ReportStore
) -> None:
    port = await receiver()
    huge = padded(report_message([gzipped_report(3)]), 60 * MiB)
    # A client that declares the size (SIZE is advertised) is refused before sending it ...
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as declared:
        await _send(port, huge, client_tls)
    assert declared.value.code == 552
    assert "larger than the 32 MiB this report address accepts" in declared.value.message
    # ... and one that does not is refused after DATA, with the same words.
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, tls_context=client_tls)
    async with client:
        await client.mail("noreply-dmarc@example.net")
        await client.rcpt(DESK)
        with pytest.raises(aiosmtplib.SMTPDataError) as sent:
            await client.data(huge)
    assert sent.value.code == 552
    assert "larger than the 32 MiB this report address accepts" in sent.value.message
    assert report_store.reports().empty


async def test_ten_reports_one_corrupt_is_250_with_the_bad_one_named(
    receiver, client_tls, report_store: ReportStore
) -> None:
    port = await receiver()
    attachments = [gzipped_report(n) for n in range(200, 209)]
    attachments.append(("bad.xml.gz", b"\x1f\x8b\x08\x00garbage"))
    # The sender names the bad part with CR LF in it, trying to forge a reply line.
    message = with_attachment_name(
        report_message(attachments), "bad.xml.gz", "utf-8''bad%0D%0A250%20forged.xml.gz"
    )
    reply = await _send(port, message, client_tls)
    assert reply.startswith(
        "2.0.0 Stored 9 reports (0 already stored); 1 part rejected: bad 250 forged.xml.gz: "
        "the gzip data is"
    )
    assert len(report_store.reports()) == 9


async def test_the_same_report_twice_is_stored_once(
    receiver, client_tls, report_store: ReportStore
) -> None:
    port = await receiver()
    first = await _send(port, report_message([gzipped_report(9)]), client_tls)
    second = await _send(port, report_message([gzipped_report(9)]), client_tls)
    assert first == "2.0.0 Stored 1 report (0 already stored)"
    assert second == "2.0.0 Stored 0 reports (1 already stored)"
    assert list(report_store.reports()["report_id"]) == ["desk-test-9"]


async def test_starttls_is_offered_and_used(receiver, client_tls) -> None:
    port = await receiver()
    client = aiosmtplib.SMTP(
        hostname="127.0.0.1", port=port, tls_context=client_tls, start_tls=False
    )
    async with client:
        await client.ehlo()
        assert client.supports_extension("starttls")
        assert client.supports_extension("size")
        await client.starttls()
        assert client.get_transport_info("sslcontext") is not None
        response = await client.sendmail(
            "noreply-dmarc@example.net", [DESK], report_message([gzipped_report(11)])
        )
    assert response[1].startswith("2.0.0 Stored 1 report")


async def test_a_store_that_cannot_be_written_is_451_and_nothing_is_lost(
    receiver, client_tls, postgres_url: URL
) -> None:
    # PostgreSQL behind a relay the test cuts: the real server, unreachable for a while.
    relay = Relay(lambda: (postgres_url.host or "127.0.0.1", postgres_url.port or 5432)).start()
    store = ReportStore(postgres_url.set(host="127.0.0.1", port=relay.port))
    try:
        port = await receiver(store)
        relay.refuse(True)
        relay.cut()
        with pytest.raises(aiosmtplib.SMTPDataError) as later:
            await _send(port, report_message([gzipped_report(21)]), client_tls)
        assert later.value.code == 451
        assert later.value.message == (
            "4.3.0 The report store is unavailable, try again later: the database cannot be "
            "written now"
        )
        relay.refuse(False)
        # The sender tries again later, as 451 asks: now it is stored, once.
        reply = await _send(port, report_message([gzipped_report(21)]), client_tls)
        assert reply == "2.0.0 Stored 1 report (0 already stored)"
        assert list(store.reports()["report_id"]) == ["desk-test-21"]
    finally:
        store.close()
        relay.close()


async def test_lmtp_answers_data_once_per_recipient(
    report_store: ReportStore, server_tls: ssl.SSLContext
) -> None:
    server = await start_receiver(report_store, [DESK, "ruf@reports.example.org"], lmtp=True)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def say(line: str) -> list[str]:
            writer.write(line.encode() + b"\r\n")
            return await _reply(reader)

        assert (await _reply(reader))[0].startswith("220")
        assert (await say("LHLO mx.example.net"))[-1].startswith("250")
        assert (await say("MAIL FROM:<noreply-dmarc@example.net>"))[0].startswith("250")
        assert (await say(f"RCPT TO:<{DESK}>"))[0].startswith("250")
        assert (await say("RCPT TO:<ruf@reports.example.org>"))[0].startswith("250")
        assert (await say("DATA"))[0].startswith("354")
        body = report_message([gzipped_report(31)]).replace(b"\n.", b"\n..")
        writer.write(body + b"\r\n.\r\n")
        first = (await _reply(reader))[0]
        second = (await _reply(reader))[0]
        assert first == second == "250 2.0.0 Stored 1 report (0 already stored)"
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    assert list(report_store.reports()["report_id"]) == ["desk-test-31"]


async def test_connections_over_the_limit_are_told_to_come_back(receiver, client_tls) -> None:
    port = await receiver(max_connections=1)
    first = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, tls_context=client_tls)
    async with first:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        line = await asyncio.wait_for(reader.readline(), 10)
        assert line.startswith(b"421 4.3.2 Too many connections")
        assert await reader.read() == b""  # and closed
        writer.close()
    # The first one gone, there is room again.
    reply = await _send(port, report_message([gzipped_report(41)]), client_tls)
    assert reply.startswith("2.0.0 Stored 1 report")


async def _reply(reader: asyncio.StreamReader) -> list[str]:
    lines = []
    while True:
        line = (await asyncio.wait_for(reader.readline(), 30)).decode().rstrip("\r\n")
        lines.append(line)
        if len(line) < 4 or line[3] != "-":
            return lines
