"""The desk's app package: the code of the Streamlit app that is not a screen.

app.py routes, pages/ holds the six screens; everything they share lives here, importable and
tested without a browser: the sign-in gate (local and OpenID Connect), the screens that stand
alone, the database faults said in one place, untrusted text shown as text, the shared widgets, the
resources a page gets (the admin store, the report store, a resolver), the checks bounded in time,
and the DMARC reports page's tables, charts and shared results.

No domain rules: who may do what, the audit log and an account's sending domain are admin's; DNS,
SPF, DMARC and SMTP are diagnostics'. Nothing here imports pages/ (tests/test_import_contracts.py).
"""
