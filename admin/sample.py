"""Sample accounts for the embedded default, so a newcomer sees real situations on first start.

Each account shows one thing support meets every week: a SendGrid connection whose username is not
`apikey`, managed sending on a paid plan, an agency on SES with a second provider, SES set up with
the IAM secret key instead of the SMTP password, a Nano account paused after its last connection was
deleted. Every credential here is fake (AWS's documented example key, made-up tokens).
"""

from __future__ import annotations

from admin.store import Store
from diagnostics.smtp.settings import Security, SmtpSettings

ACTOR = "sample-data"
_CLAIM = "sample_data_loaded"

# Shapes match the real thing (so the lint has something true to say); the values are not keys.
FAKE_SENDGRID_KEY = "SG.sampleOnlyNotAKey00000." + "sampleOnlyNotARealSendGridKeyDoNotUse000000"
FAKE_SES_SMTP_PASSWORD = "BSampleOnlyNotARealSesSmtpPassword000000000="  # noqa: S105
AWS_EXAMPLE_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # from AWS's documentation
AWS_EXAMPLE_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # noqa: S105 — from AWS's documentation
FAKE_MAILGUN_PASSWORD = "sample-mailgun-smtp-password-0001"  # noqa: S105
FAKE_POSTMARK_TOKEN = "00000000-0000-4000-8000-000000000001"  # noqa: S105


def ensure_sample_data(store: Store) -> bool:
    """Create the sample accounts on an empty database, once; True if this call created them.

    Does nothing when any account exists, so it never mixes samples into real data.
    """
    if store.list_accounts() or not store.claim(_CLAIM):
        return False

    bakery = store.create_account("Bluebird Bakery", "nano", actor=ACTOR)
    store.add_connection(
        bakery.id,
        SmtpSettings(
            "smtp.sendgrid.net",
            587,
            Security.STARTTLS,
            username="bluebird-bakery",  # the mistake: SendGrid wants the literal "apikey"
            password=FAKE_SENDGRID_KEY,
            from_address="orders@bluebird-bakery.example",
        ),
        label="SendGrid",
        actor=ACTOR,
    )

    store.create_account("Northwind Legal", "pro", actor=ACTOR)  # managed sending, no connection

    agency = store.create_account("Harbor & Pine Agency", "agency", actor=ACTOR)
    store.add_connection(
        agency.id,
        SmtpSettings(
            "email-smtp.eu-west-1.amazonaws.com",
            587,
            Security.STARTTLS,
            username=AWS_EXAMPLE_ACCESS_KEY_ID,
            password=FAKE_SES_SMTP_PASSWORD,
            from_address="hello@harborandpine.example",
        ),
        label="Amazon SES (eu-west-1)",
        actor=ACTOR,
    )
    store.add_connection(
        agency.id,
        SmtpSettings(
            "smtp.eu.mailgun.org",
            587,
            Security.STARTTLS,
            username="postmaster@mg.harborandpine.example",
            password=FAKE_MAILGUN_PASSWORD,
            from_address="news@mg.harborandpine.example",
        ),
        label="Mailgun EU (newsletters)",
        activate=False,
        actor=ACTOR,
    )

    gym = store.create_account("Lumen Fitness", "starter", actor=ACTOR)
    store.add_connection(
        gym.id,
        SmtpSettings(
            "email-smtp.us-east-1.amazonaws.com",
            465,
            Security.TLS,
            username=AWS_EXAMPLE_ACCESS_KEY_ID,
            password=AWS_EXAMPLE_SECRET_KEY,  # the mistake: the IAM secret, not the SMTP password
            from_address="classes@lumenfitness.example",
        ),
        label="Amazon SES",
        actor=ACTOR,
    )

    studio = store.create_account("Cedar Studio", "nano", actor=ACTOR)
    postmark = store.add_connection(
        studio.id,
        SmtpSettings(
            "smtp.postmarkapp.com",
            587,
            Security.STARTTLS,
            username=FAKE_POSTMARK_TOKEN,
            password=FAKE_POSTMARK_TOKEN,
            from_address="studio@cedarstudio.example",
        ),
        label="Postmark",
        actor=ACTOR,
    )
    store.delete_connection(postmark.id, actor=ACTOR)  # Nano with no connection: mail is paused
    return True
