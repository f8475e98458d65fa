"""The report store's tables (SQLAlchemy Core), and the day they are bucketed by.

Every table is prefixed `dmarc_` because the store shares its database with `admin/`. Upgrading
them from one schema version to the next is diagnostics/dmarc/store/_schema.py; this module only
defines them, so the rollup, the queries and the upgrades can all import it without a cycle.

Two derived tables make the pages fast over millions of records. `dmarc_rollup` holds the records
summed per report start and verdict combination (`_keys.KEYS`): receivers report the same senders
every day, so it is several times smaller than `dmarc_records`, and every figure the reports page
draws (volume by day, sources, verdicts) reads it instead (_rollup.py keeps it).
`dmarc_store_state.generation` goes up with every write, so a reader can tell in one cheap query
whether what it computed before is still true (the app's shared caches are keyed by it).

Times are stored as integer Unix seconds (`begin_ts`, `end_ts`): the same on SQLite and PostgreSQL,
and a report's UTC day is `begin_ts / DAY` in SQL on both.

A report larger than one write chunk is imported in several transactions (_ingest.py) so that
sign-ins and pages never wait long behind it. Until its last one, its `dmarc_reports` row names the
import writing it (`import_owner`, with `import_lease`, when that import is presumed gone), and its
rollup rows wait in `dmarc_rollup_pending`: every reader asks for `visible` reports only, so a
report is seen whole or not at all, and a partial one left by a crash is removed by the next import
or open (_claims.py).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from diagnostics.dmarc._keys import KEYS

# Seconds in a UTC day: a report's day is begin_ts // DAY, in Python and in SQL alike.
DAY = 86_400

# SQLite only auto-numbers an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
_Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

schema_version = Table(
    "dmarc_schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

reports = Table(
    "dmarc_reports",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    # The duplicate key. A report without one of these parts stores "" so that the unique
    # constraint still applies (NULLs never compare equal in a unique index).
    Column("org_name", String, nullable=False),
    Column("report_id", String, nullable=False),
    Column("policy_domain", String, nullable=False),
    Column("source", Text),
    Column("org_email", Text),
    Column("org_extra_contact_info", Text),
    Column("begin_ts", BigInteger),
    Column("end_ts", BigInteger),
    Column("policy_p", String),
    Column("policy_sp", String),
    Column("policy_np", String),
    Column("policy_pct", Integer),
    Column("policy_adkim", String),
    Column("policy_aspf", String),
    Column("policy_fo", String),
    Column("policy_testing", String),
    Column("policy_discovery_method", String),
    Column("xml_schema", String),
    Column("xml_namespace", String),
    Column("generator", Text),
    Column("errors", Text),
    Column("record_count", BigInteger, nullable=False),
    Column("message_count", BigInteger, nullable=False),
    Column("warnings", Text),
    Column("imported_at", BigInteger, nullable=False),
    # NULL once the report is complete. While an import writes it chunk by chunk: who is writing
    # it (_claims.py), and until when (Unix seconds) it counts as still being written.
    Column("import_owner", String),
    Column("import_lease", BigInteger),
    UniqueConstraint("org_name", "report_id", "policy_domain", name="uq_dmarc_reports_key"),
    Index("ix_dmarc_reports_domain_begin", "policy_domain", "begin_ts"),
    Index("ix_dmarc_reports_importing", "import_owner"),
)

records = Table(
    "dmarc_records",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("report_pk", _Id, ForeignKey("dmarc_reports.id", ondelete="CASCADE"), nullable=False),
    # Copied from the report so that the page queries filter and group one table, through one index.
    Column("policy_domain", String, nullable=False),
    Column("begin_ts", BigInteger),
    Column("source_ip", String),
    Column("count", BigInteger, nullable=False),
    Column("disposition", String),
    Column("dkim_aligned", String),
    Column("spf_aligned", String),
    Column("override_reasons", Text),
    Column("header_from", Text),
    Column("envelope_from", Text),
    Column("envelope_to", Text),
    Column("spf_domain", Text),
    Column("spf_scope", Text),
    Column("spf_result", Text),
    Column("dkim_domains", Text),
    Column("dkim_selectors", Text),
    Column("dkim_results", Text),
    # Covers volume by day and by source: SQLite answers both from the index alone.
    Index(
        "ix_dmarc_records_domain_begin",
        "policy_domain",
        "begin_ts",
        "source_ip",
        "count",
        "dkim_aligned",
        "spf_aligned",
        "disposition",
    ),
    Index("ix_dmarc_records_report", "report_pk"),
)

failure_reports = Table(
    "dmarc_failure_reports",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    # sha256 of the row: failure reports carry no key of their own, and the same email uploaded
    # twice must count as a duplicate.
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("source", Text),
    Column("arrival_ts", BigInteger),
    Column("reported_domain", String),
    Column("source_ip", String),
    Column("feedback_type", String),
    Column("auth_failure", String),
    Column("delivery_result", String),
    Column("original_mail_from", Text),
    Column("original_rcpt_to", Text),
    Column("dkim_domain", String),
    Column("authentication_results", Text),
    Column("subject", Text),
    Column("message_id", Text),
    Column("user_agent", Text),
    Column("imported_at", BigInteger, nullable=False),
    Index("ix_dmarc_failure_domain_arrival", "reported_domain", "arrival_ts"),
)

tls_reports = Table(
    "dmarc_tls_reports",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("source", Text),
    Column("organization_name", String),
    Column("report_id", String),
    Column("begin_ts", BigInteger),
    Column("end_ts", BigInteger),
    Column("contact_info", Text),
    Column("policy_domain", String),
    Column("policy_type", String),
    Column("policy_strings", Text),
    Column("mx_host", Text),
    Column("successful_sessions", BigInteger),
    Column("failed_sessions", BigInteger),
    Column("failure_types", Text),
    Column("imported_at", BigInteger, nullable=False),
    Index("ix_dmarc_tls_domain_begin", "policy_domain", "begin_ts"),
)

enrichment = Table(
    "dmarc_enrichment",
    metadata,
    Column("ip", String, primary_key=True),
    Column("reverse_dns", Text),
    Column("base_domain", String),
    Column("service_name", String),
    Column("service_type", String),
    Column("asn", BigInteger),
    Column("as_name", Text),
    Column("country", String),
    # Unix seconds (wall clock: the row outlives the process that wrote it).
    Column("expires_at", Float, nullable=False),
)


# The records summed per report start (`begin_ts`, exact) and verdict combination. A row may be
# one of several for the same key (rollup.refresh rebuilds whole days), so readers sum again.
rollup = Table(
    "dmarc_rollup",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("policy_domain", String, nullable=False),
    Column("begin_ts", BigInteger),
    Column("end_ts", BigInteger),  # the latest end of the reports summed here
    # The verdict columns, typed as in dmarc_records, whose values they copy.
    *(Column(name, records.c[name].type) for name in KEYS if name != "policy_domain"),
    Column("count", BigInteger, nullable=False),
    Index("ix_dmarc_rollup_domain_begin", "policy_domain", "begin_ts"),
    # In the order of KEYS, then what verdicts sums: SQLite groups a domain's verdicts by
    # walking this index instead of sorting the rows (measured over a 909,050-row rollup: 0.94 s
    # instead of 1.95 s). Not on PostgreSQL: it groups by hashing, and a B-tree entry there is
    # capped at about 2.7 kB, which long DKIM domain lists or override comments could pass.
    Index(
        "ix_dmarc_rollup_verdicts",
        *KEYS,
        "begin_ts",
        "count",
        "end_ts",
    ).ddl_if(dialect="sqlite"),
)

# The rollup rows of a report still being imported (summed chunk by chunk as its records are
# written), where no reader looks: the transaction that makes the report visible copies them into
# dmarc_rollup (rollup.publish), which is much quicker than summing its records there and then.
rollup_pending = Table(
    "dmarc_rollup_pending",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("report_pk", _Id, ForeignKey("dmarc_reports.id", ondelete="CASCADE"), nullable=False),
    *(Column(c.name, c.type, nullable=c.nullable) for c in rollup.c if c.name != "id"),
    Index("ix_dmarc_rollup_pending_report", "report_pk"),
)

# One row: how many writes the store has seen. Readers compare it to tell whether a result they
# keep is stale; it is a counter, not a clock, so two processes writing at once cannot tie.
store_state = Table(
    "dmarc_store_state",
    metadata,
    Column("generation", BigInteger, nullable=False),
)


def visible() -> ColumnElement[bool]:
    """The reports a reader may see: complete ones, not those an import is still writing."""
    return reports.c.import_owner.is_(None)
