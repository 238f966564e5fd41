"""The sweep's preflight: settings checked before anything is claimed or changes state.

A setting missing once (the signing secret) or a mail server that does not accept our
TLS or credentials is not the notices' fault: without this check every notice would be
tried, and given up, in one run. :func:`preflight` raises
:class:`~upslife.errors.ConfigurationError` naming the setting, and the sweep refuses to
start; every notice stays as it was. A mail server that is merely unreachable now is not a
setting: the sweep then plans (the outbox keeps what is due) but delivers nothing, and says
so, so cron learns to try again later (docs/operations.md).
"""

from __future__ import annotations

from upslife.errors import ConfigurationError, DeliveryFailed
from upslife.invitations import InvitationState, Keyring
from upslife.ports import MailSender, SelfChecking, Store

__all__ = ["preflight"]

MAIL_SETTING = "UPSLIFE_MAIL"
SECRET_SETTING = "UPSLIFE_SECRET"


def preflight(
    store: Store,
    mail: MailSender,
    keyring: Keyring | None,
) -> str | None:
    """Check what a sweep needs before it changes anything.

    Returns ``None`` when the sweep may deliver, or why the mail server cannot take
    messages now (unreachable, timing out, an untrusted certificate): deliver later.

    Raises:
        ConfigurationError: a connected reseller exists (an ACCEPTED invitation, so reseller
            notices can be planned, SPEC N6, I5), or a PENDING invitation whose mail is
            signed at delivery, and there is no signing keyring
            (``setting`` ``UPSLIFE_SECRET``); or the mail server refuses our settings: no
            STARTTLS where it is required, a TLS mismatch, the login refused
            (``UPSLIFE_MAIL``).
    """
    if keyring is None and store.has_invitation_in(InvitationState.ACCEPTED):
        raise ConfigurationError(
            "a reseller is connected and its notices need the signing secret for their "
            f"unsubscribe link (SPEC I5): set {SECRET_SETTING} (secret in the configuration "
            "file); nothing was sent or changed",
            setting=SECRET_SETTING,
        )
    if keyring is None and store.has_invitation_in(InvitationState.PENDING):
        raise ConfigurationError(
            "a reseller invitation is pending and its mail's links are signed when it is "
            f"sent (SPEC I5): set {SECRET_SETTING} (secret in the configuration file); "
            "nothing was sent or changed",
            setting=SECRET_SETTING,
        )
    if not isinstance(mail, SelfChecking):
        return None
    try:
        mail.check()
    except DeliveryFailed as e:
        if e.permanent:
            raise ConfigurationError(
                f"the mail settings do not work: {e}; fix {MAIL_SETTING} (mail in the "
                "configuration file); nothing was sent or changed",
                setting=MAIL_SETTING,
            ) from e
        return str(e)
    return None
