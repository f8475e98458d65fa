"""The desk's app package: the code of the Streamlit app that is not a screen.

app.py routes and pages/ holds the six screens; what they share lives here, importable and, where
it holds logic, tested without Streamlit's runtime (tests/desk/):

    sign_in_gate     who is using the app: the sign-in and first-admin forms, sign-out
    page_access      which pages a role may see, and the navigation a user gets
    database_faults  a database that is down or busy, said in one place
    markdown         untrusted text shown as text in Streamlit's Markdown (md, text, code, ...)
    widgets          the account picker, finding and diagnosis cards, an error in plain words
    labels           the words put on codes and numbers: a fix's title, a share of the mail
    configuration    the app's configuration (diagnostics.config), read once per process
    resources        the admin store and the report store (once per process), a resolver per run
    bounded_checks   DNS work a page waits for, given up after DESK_CHECK_TIMEOUT
    routing          every page through the router; a link from page to page
    uploads          report uploads: their limits, and the import as the signed-in user
    report_tables    the DMARC reports page's tables (pandas)
    report_layout    how that page lays out a domain's diagnoses
    report_views     its results, computed once and shared by every session
    report_address   the Overview's rua= to publish, so a customer's reports reach the desk
    report_mailbox   the DMARC reports page's "Reports by mail": the report mailbox's settings, check now, last run

Modules named `_x` are the package's insides (the OpenID Connect sign-in, the sign-in mode, the
screens that stand alone, the charts); no screen imports them. No domain rules here: who may do
what, the audit log and an account's sending domain are admin's; DNS, SPF, DMARC and SMTP are
diagnostics'. Nothing here imports pages/ (tests/test_import_contracts.py).
"""
