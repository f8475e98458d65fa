"""The plain title of every finding code the library reports, for a person to read.

A `Finding.code` is for --json, the API and tests; a page or the CLI shows `Finding.title` instead,
so no surface turns a code into words by replacing underscores. Short, sentence case, no codes.
tests/diagnostics/test_titles.py checks that every code written in the library has its title here.
"""

from __future__ import annotations

import re

__all__ = ["title_of"]

TITLES: dict[str, str] = {
    # SPF records (spf/analyze.py, spf/lint.py, spf/recommend.py).
    "deprecated_spf_rr": "Old SPF record type still published",
    "duplicate_include": "Same include listed twice",
    "include_loop": "Includes loop back on themselves",
    "include_without_record": "Provider's include has no SPF record",
    "invalid_domain": "Not a valid domain name",
    "multiple_records": "More than one record",
    "neutral_all": "Record ends in ?all (no policy)",
    "no_all": "Record has no all term",
    "no_record": "No record published",
    "overlapping_networks": "Networks listed twice",
    "pass_all": "Record authorizes everyone (+all)",
    "ptr_mechanism": "Uses the ptr mechanism",
    "record_too_long": "Record too long for one DNS answer",
    "syntax_error": "Syntax error",
    "terms_after_all": "Terms after all are ignored",
    "too_many_lookups": "More than 10 DNS look-ups",
    "too_many_void_lookups": "Too many look-ups that find nothing",
    # Domain health (health.py).
    "mx_without_address": "Mail server has no address",
    "no_mx": "No MX record",
    "no_selectors": "No DKIM selector to check",
    "no_working_key": "No working DKIM key",
    "null_mx": "Domain says it receives no mail",
    "provider_authorized": "Provider authorized",
    "provider_include_advised": "Provider's include advised",
    "provider_not_authorized": "Provider not authorized",
    "recommended_record_too_long": "Recommended record over the look-up limit",
    "return_path_aligned": "Custom return path set up",
    "return_path_missing": "No custom return path",
    "return_path_not_authorized": "Return-path subdomain not set up",
    "selector_unexpected": "Unusual selector for this provider",
    "selector_unknown": "DKIM selectors not known",
    "strict_spf_alignment": "Strict SPF alignment",
    # MTA-STS, TLS reporting, BIMI, MX TLS and DNSSEC (health/).
    "bimi_absent": "No BIMI record",
    "bimi_certificate_not_https": "Mark certificate address not HTTPS",
    "bimi_declined": "BIMI declined",
    "bimi_dmarc_not_enforced": "DMARC policy too weak for BIMI",
    "bimi_logo_invalid": "Logo is not SVG Tiny PS",
    "bimi_logo_not_https": "Logo address not HTTPS",
    "bimi_logo_ok": "Logo accepted",
    "bimi_logo_too_large": "Logo file too large",
    "bimi_logo_unreachable": "Logo cannot be fetched",
    "bimi_no_certificate": "No mark certificate",
    "certificate_expired": "Certificate expired",
    "certificate_expiring": "Certificate expires soon",
    "certificate_name_mismatch": "Certificate for another name",
    "certificate_untrusted": "Certificate not trusted",
    "dane_published": "MX hosts publish DANE records",
    "dnssec_no_ds": "DNSSEC keys without DS at the parent",
    "dnssec_signed": "Signed with DNSSEC",
    "dnssec_unknown": "DNSSEC could not be read",
    "dnssec_unsigned": "Not signed with DNSSEC",
    "dnssec_validated": "Signed and validated with DNSSEC",
    "enforce_not_ready": "Enforcing would stop some mail",
    "enforce_ready": "Ready to enforce MTA-STS",
    "enforce_unknown": "No TLS reports for the policy yet",
    "logo_not_fetched": "Logo not fetched",
    "max_age_short": "Policy max age too short",
    "mta_sts_absent": "No MTA-STS policy",
    "mta_sts_record_invalid": "MTA-STS record has no valid id",
    "mx_not_in_policy": "MX host not in the MTA-STS policy",
    "mx_not_reached": "MX host could not be tested",
    "mx_tls_ok": "MX host's TLS is right",
    "no_starttls": "MX host offers no STARTTLS",
    "policy_certificate_invalid": "Policy server's certificate not valid",
    "policy_content_type": "Policy not served as text/plain",
    "policy_invalid": "Policy file cannot be used",
    "policy_mode_none": "Policy withdrawn (mode none)",
    "policy_not_fetched": "Policy not fetched",
    "policy_redirect": "Policy address redirects",
    "policy_testing": "Policy in testing mode",
    "policy_too_large": "Policy file too large",
    "policy_unreachable": "Policy cannot be fetched",
    "policy_without_record": "Policy without its DNS record",
    "tls_failures_reported": "TLS failures reported",
    "tls_reports_arriving": "TLS reports arriving",
    "tls_reports_missing": "No TLS reports arriving",
    "tls_rpt_absent": "No TLS reporting record",
    "tls_rpt_bad_rua": "TLS report address cannot be used",
    "tls_rpt_no_rua": "No TLS report address",
    "tls_version_old": "Old TLS version",
    # DKIM keys (dkim.py).
    "bad_key": "Key cannot be read",
    "bad_version": "Wrong version tag",
    "cname_missing": "DKIM CNAME missing",
    "cname_wrong": "DKIM CNAME points elsewhere",
    "duplicate_tag": "Same tag given twice",
    "key_too_short": "Key too short",
    "key_weak": "Key weaker than advised",
    "multiple_keys": "More than one key record",
    "no_key": "No key in the record",
    "not_for_email": "Key not for e-mail",
    "revoked": "Key revoked",
    "sha1_only": "Key allows SHA-1 only",
    "testing": "Key in testing mode",
    "unknown_key_type": "Unknown key type",
    "unknown_tag": "Unknown tag",
    # DMARC records (dmarc/record.py).
    "bad_pct": "Percentage (pct=) out of range",
    "bad_report_uri": "Report address cannot be used",
    "external_destination_unauthorized": "Report address outside the domain not authorized",
    "inherited": "Policy inherited from the parent domain",
    "malformed_tag": "Malformed tag",
    "no_policy": "No policy",
    "no_rua": "No address for aggregate reports",
    "pct_partial": "Policy applies to part of the mail",
    "policy_none": "Policy p=none only monitors",
    "removed_tag": "Tag no longer part of DMARC",
    "subdomains_unprotected": "Subdomains not protected",
    "testing_mode": "Policy in testing mode",
    # Message headers (headers.py).
    "dkim_none": "No DKIM signature",
    "forwarded": "Forwarded",
    "input_truncated": "Only the start was read",
    "no_from": "No From address",
    "no_results": "No Authentication-Results header",
    "unreadable": "Headers cannot be read",
    # SMTP settings (smtp/lint.py).
    "mailgun_username_not_address": "Mailgun user name is not an address",
    "missing_credentials": "User name or password missing",
    "plaintext_auth": "Password sent unencrypted",
    "port_25": "Port 25 is often blocked",
    "postmark_token_format": "Not a Postmark server token",
    "sendgrid_key_format": "Not a SendGrid API key",
    "sendgrid_username_not_apikey": "SendGrid user name is not apikey",
    "ses_iam_secret_key": "IAM secret key instead of SES SMTP password",
    "ses_region_unknown": "Unknown SES region",
    "ses_username_not_access_key": "SES user name is not an access key id",
    "tls_port_mismatch": "TLS setting does not match the port",
    "unknown_provider": "Provider not recognised",
    # Shared.
    "dns_error": "DNS did not answer",
}

# headers.py reports each method's outcome as METHOD_RESULT (spf_fail, dkim_not_aligned, ...).
_METHODS = {"spf": "SPF", "dkim": "DKIM", "dmarc": "DMARC"}
_RESULTS = {
    "not_aligned": "passes but does not align",
    "fail": "fails",
    "softfail": "soft-fails",
    "neutral": "neutral",
    "none": "none",
    "temperror": "temporary error",
    "permerror": "permanent error",
    "policy": "policy error",
}
_METHOD_RESULT = re.compile(r"(spf|dkim|dmarc)_([a-z_]+)")
# Words a fallback title keeps in capitals.
_ACRONYMS = {"spf", "dkim", "dmarc", "mx", "dns", "tls", "smtp", "ses", "iam", "ip", "arc", "rua"}


def title_of(code: str) -> str:
    """The plain title of `code`: from TITLES, or for a header method's outcome; a code nobody
    titled yet still reads as words (acronyms in capitals), never with underscores."""
    found = TITLES.get(code)
    if found is not None:
        return found
    method = _METHOD_RESULT.fullmatch(code)
    if method is not None:
        name, result = method.groups()
        return f"{_METHODS[name]} {_RESULTS.get(result, result.replace('_', ' '))}"
    words = [w.upper() if w in _ACRONYMS else w for w in code.split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:] if text else code
