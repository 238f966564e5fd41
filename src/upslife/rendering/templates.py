"""The words of a notice message: its values and the user's templates (SPEC N5, N6, N10, E10).

A message is made of :class:`string.Template` texts (``$name`` placeholders) filled with the
values of one notice (:func:`notice_fields`) or of one digest (:func:`digest_fields`). Every
template is checked when it is built, so a typo such as ``$compnay`` is an
:class:`~upslife.errors.InvalidTemplate` at configuration time, never a half-filled message
at sending time; and a reseller template that leaves out a detail SPEC N6 requires is refused
too. Values are made single-line and printable here (control characters, line breaks and
lone surrogates become a space or U+FFFD) and escaped for HTML when they fill an HTML
template, so no customer detail can add a header, a tag or an attribute to a message.

>>> MessageTemplate(subject="$title", text="$modle", html="")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
upslife.errors.InvalidTemplate: template text: $modle is not a placeholder (did you mean...
"""

from __future__ import annotations

import difflib
import html
import re
import string
from collections.abc import Iterable, Mapping
from typing import Final, final

import attrs

from upslife.errors import InvalidInput, InvalidTemplate
from upslife.notifications import (
    Digest,
    EventKind,
    Notice,
    RecipientKind,
    Severity,
    Stage,
    format_date,
)

__all__ = [
    "DEFAULT_TEMPLATES",
    "DIGEST_PLACEHOLDERS",
    "NOTICE_PLACEHOLDERS",
    "OWNER_REQUIRED",
    "RESELLER_REQUIRED",
    "DigestTemplate",
    "MessageTemplate",
    "Templates",
    "clean",
    "digest_fields",
    "notice_fields",
    "templates_from_doc",
    "templates_to_doc",
]

NOTICE_PLACEHOLDERS: Final = frozenset(
    {
        "product",  # the product's name, as the caller passes it ("upslife")
        "title",  # the notice's title (SPEC N5): "Battery Replacement Due"
        "intro",  # one sentence saying why the recipient gets the message
        "severity",  # "Information", "Warning" or "Critical" (SPEC N5)
        "event",  # "Battery replacement", "Warranty expiry", ...
        "stage",  # "90 days before the due date", ..., "Reminder"
        "model",  # UPS model (SPEC N6)
        "serial",  # UPS serial number (SPEC N6)
        "due",  # due date, "1 March 2026"; a failure: "Now (reported on 1 March 2026)"
        "due_iso",  # due date (a failure: the day it was reported), "2026-03-01"
        "sku",  # what is needed (SPEC N6): battery cartridge, warranty extension, license
        "plan",  # the plan that expires, for a plan expiry ("Standard"); otherwise empty
        "sent_on",  # the sending day, "21 November 2026"
        "company",  # the customer's company name (SPEC N6)
        "full_name",  # the customer's full name (SPEC N6)
        "job_role",  # the customer's job role, or "not given" (SPEC N6)
        "email",  # the customer's email (SPEC N6)
        "phone",  # the customer's phone, or "not given" (SPEC N6)
        "recipient",  # the address the message goes to
    }
)
"""The ``$names`` a notice template (and a digest's item template) may use."""

DIGEST_PLACEHOLDERS: Final = frozenset(
    {"product", "count", "noun", "day", "day_iso", "severity", "recipient", "items"}
)
"""The ``$names`` a digest template may use; ``$items`` (the filled item templates, one per
notice) only in its text and HTML bodies, where it is required (SPEC N10)."""

RESELLER_REQUIRED: Final = frozenset(
    {"model", "serial", "due", "sku", "company", "full_name", "job_role", "email", "phone"}
)
"""What every reseller body must show: the details SPEC N6 lists."""

OWNER_REQUIRED: Final = frozenset({"model", "serial", "due", "sku"})
"""What every owner body must show: the device facts (SPEC N6)."""

_NOT_GIVEN: Final = "not given"
_NOT_KNOWN: Final = "not known"
_SEVERITY: Final[Mapping[Severity, str]] = {
    Severity.INFO: "Information",
    Severity.WARNING: "Warning",
    Severity.CRITICAL: "Critical",
}
_EVENT: Final[Mapping[EventKind, str]] = {
    EventKind.BATTERY_REPLACEMENT: "Battery replacement",
    EventKind.WARRANTY_EXPIRY: "Warranty expiry",
    EventKind.PLAN_EXPIRY: "Plan expiry",
    EventKind.BATTERY_FAILURE: "Battery failure",
    EventKind.UPS_UPGRADE: "UPS upgrade",
}
_STAGE: Final[Mapping[Stage, str]] = {
    Stage.D90: "90 days before the due date",
    Stage.D30: "30 days before the due date",
    Stage.D7: "7 days before the due date",
    Stage.DUE: "Due date",
    Stage.IMMEDIATE: "At once",
    Stage.REMINDER: "Reminder",
}

# Characters no single-line value may carry: C0 and C1 controls (CR, LF, TAB, NUL, ...) and
# the Unicode line and paragraph separators become a space; lone surrogates, which cannot be
# encoded, become U+FFFD.
_UNSAFE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_SPACES: Final = re.compile(" {2,}")


def clean(value: str) -> str:
    """``value`` as one printable line: controls and line breaks become a space.

    >>> clean("Acme\\r\\nBcc: evil@example.com")
    'Acme Bcc: evil@example.com'
    """
    if value.isprintable():
        return value
    value = _SURROGATE.sub("\ufffd", value)
    return _SPACES.sub(" ", _UNSAFE.sub(" ", value)).strip()


def _escape_all(values: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    return {name: html.escape(values[name], quote=True) for name in names}


# --------------------------------------------------------------------------- values


def _intro(notice: Notice, company: str, full_name: str) -> str:
    if notice.recipient.kind is RecipientKind.RESELLER:
        if notice.stage is Stage.REMINDER:
            return f"{full_name} of {company} asks you to follow up on this UPS."
        return f"{company}, a customer connected to you, has a UPS that needs attention."
    return "One of your UPS units needs attention."


def notice_fields(notice: Notice, *, product: str = "upslife") -> dict[str, str]:
    """The values of every :data:`NOTICE_PLACEHOLDERS` name for ``notice``, as plain text.

    Every value is :func:`clean`: one printable line. Escaping for HTML or chat markup is
    the renderer's business. An unknown SKU reads "not known"; a missing job role or phone
    "not given" (SPEC N6).
    """
    if not isinstance(notice, Notice):
        raise InvalidInput(f"expected a Notice, got {type(notice).__name__}")
    event, customer = notice.event, notice.customer
    if event.due is not None:
        due, due_iso = format_date(event.due), event.due.isoformat()
    else:  # a battery failure: notified at once (SPEC N1)
        assert event.reported_on is not None  # guaranteed by LifecycleEvent
        due = f"Now (reported on {format_date(event.reported_on)})"
        due_iso = event.reported_on.isoformat()
    company, full_name = clean(customer.company), clean(customer.full_name)
    return {
        "product": clean(product),
        "title": clean(notice.title),
        "intro": _intro(notice, company, full_name),
        "severity": _SEVERITY[notice.severity],
        "event": _EVENT[event.kind],
        "stage": _STAGE[notice.stage],
        "model": clean(event.model),
        "serial": clean(event.serial),
        "due": due,
        "due_iso": due_iso,
        "sku": _NOT_KNOWN if event.sku is None else clean(event.sku),
        "plan": "" if event.plan is None else event.plan.title,
        "sent_on": format_date(notice.sent_on),
        "company": company,
        "full_name": full_name,
        "job_role": _NOT_GIVEN if customer.job_role is None else clean(customer.job_role),
        "email": clean(customer.email),
        "phone": _NOT_GIVEN if customer.phone is None else clean(customer.phone),
        "recipient": clean(notice.recipient.address),
    }


def digest_fields(digest: Digest, *, product: str = "upslife") -> dict[str, str]:
    """The values of :data:`DIGEST_PLACEHOLDERS` for ``digest``, but ``items`` (SPEC N10)."""
    if not isinstance(digest, Digest):
        raise InvalidInput(f"expected a Digest, got {type(digest).__name__}")
    count = len(digest.notices)
    return {
        "product": clean(product),
        "count": str(count),
        "noun": "notice" if count == 1 else "notices",
        "day": format_date(digest.day),
        "day_iso": digest.day.isoformat(),
        "severity": _SEVERITY[digest.severity],
        "recipient": clean(digest.recipient.address),
    }


# --------------------------------------------------------------------------- checking templates


def _compile(
    source: object,
    where: str,
    allowed: frozenset[str],
    required: frozenset[str] = frozenset(),
    *,
    single_line: bool = False,
) -> string.Template:
    """``source`` as a checked :class:`string.Template`, or :class:`InvalidTemplate`."""
    if not isinstance(source, str):
        raise InvalidTemplate(where, f"must be a string, got {type(source).__name__}")
    if single_line and _UNSAFE.search(source):
        raise InvalidTemplate(where, "a subject is one line: no line breaks or control characters")
    template = string.Template(source)
    if not template.is_valid():
        for match in template.pattern.finditer(source):
            if match.group("invalid") is not None:
                at = match.start("invalid")
                raise InvalidTemplate(
                    where,
                    f"the '$' at position {at} starts no placeholder; write $$ for a dollar "
                    "sign and ${name} when letters follow the name",
                )
    used = set(template.get_identifiers())
    for name in sorted(used - allowed):
        close = difflib.get_close_matches(name, sorted(allowed), n=1)
        hint = f" (did you mean ${close[0]}?)" if close else ""
        raise InvalidTemplate(
            where,
            f"${name} is not a placeholder{hint}; known: "
            + ", ".join(f"${known}" for known in sorted(allowed)),
        )
    missing = sorted(required - used)
    if missing:
        raise InvalidTemplate(
            where,
            "must show " + ", ".join(f"${name}" for name in missing) + " (SPEC N10)",
        )
    return template


def _lines(source: str) -> str:
    """Template sources with any line ending are stored with "\\n" (the mail's own)."""
    return source.replace("\r\n", "\n").replace("\r", "\n")


def _body(value: object) -> object:
    return _lines(value) if isinstance(value, str) else value


@final
@attrs.frozen
class MessageTemplate:
    """The subject, plain-text body and HTML body of one notice message (SPEC E10).

    Each is a :class:`string.Template` source over :data:`NOTICE_PLACEHOLDERS`, checked
    when built: an unknown ``$name`` or a stray ``$`` is an :class:`InvalidTemplate`, and
    the subject is one line. :class:`Templates` checks in turn that the bodies show what
    their recipient must see (SPEC N6). In the HTML body every value is HTML-escaped. The
    renderer adds the unsubscribe footer itself (before ``</body>`` when there is one), so a
    template cannot leave it out.
    """

    subject: str
    text: str = attrs.field(converter=_body)
    html: str = attrs.field(converter=_body)
    _subject: string.Template = attrs.field(init=False, repr=False, eq=False, hash=False)
    _text: string.Template = attrs.field(init=False, repr=False, eq=False, hash=False)
    _html: string.Template = attrs.field(init=False, repr=False, eq=False, hash=False)
    _html_names: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        allowed = NOTICE_PLACEHOLDERS
        set_ = object.__setattr__
        set_(self, "_subject", _compile(self.subject, "subject", allowed, single_line=True))
        set_(self, "_text", _compile(self.text, "text", allowed))
        set_(self, "_html", _compile(self.html, "html", allowed))
        set_(self, "_html_names", tuple(dict.fromkeys(self._html.get_identifiers())))

    def shown(self) -> frozenset[str]:
        """The placeholders that both bodies show."""
        return frozenset(self._text.get_identifiers()) & frozenset(self._html.get_identifiers())

    def fill(self, values: Mapping[str, str]) -> tuple[str, str, str]:
        """``(subject, text, html)`` filled with :func:`notice_fields` values."""
        return (
            self._subject.substitute(values),
            self._text.substitute(values),
            self._html.substitute(_escape_all(values, self._html_names)),
        )


@final
@attrs.frozen
class DigestTemplate:
    """The message of a daily digest (SPEC N10, E10).

    ``subject``, ``text`` and ``html`` use :data:`DIGEST_PLACEHOLDERS`; both bodies must
    place ``$items``, which the renderer fills with ``item_text`` (or ``item_html``) filled
    for each notice, in the digest's order. Item templates use :data:`NOTICE_PLACEHOLDERS`.
    """

    subject: str
    text: str = attrs.field(converter=_body)
    html: str = attrs.field(converter=_body)
    item_text: str = attrs.field(converter=_body)
    item_html: str = attrs.field(converter=_body)
    _subject: string.Template = attrs.field(init=False, repr=False, eq=False, hash=False)
    _text: string.Template = attrs.field(init=False, repr=False, eq=False, hash=False)
    _html: string.Template = attrs.field(init=False, repr=False, eq=False, hash=False)
    _item_text: string.Template = attrs.field(init=False, repr=False, eq=False, hash=False)
    _item_html: string.Template = attrs.field(init=False, repr=False, eq=False, hash=False)
    _html_names: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False, hash=False)
    _item_html_names: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        heading = DIGEST_PLACEHOLDERS - {"items"}
        items = frozenset({"items"})
        notice = NOTICE_PLACEHOLDERS
        set_ = object.__setattr__
        set_(self, "_subject", _compile(self.subject, "subject", heading, single_line=True))
        set_(self, "_text", _compile(self.text, "text", DIGEST_PLACEHOLDERS, items))
        set_(self, "_html", _compile(self.html, "html", DIGEST_PLACEHOLDERS, items))
        set_(self, "_item_text", _compile(self.item_text, "item_text", notice))
        set_(self, "_item_html", _compile(self.item_html, "item_html", notice))
        names = tuple(n for n in dict.fromkeys(self._html.get_identifiers()) if n != "items")
        set_(self, "_html_names", names)
        set_(self, "_item_html_names", tuple(dict.fromkeys(self._item_html.get_identifiers())))

    def shown(self) -> frozenset[str]:
        """The placeholders that both item templates show, for every notice of a digest."""
        return frozenset(self._item_text.get_identifiers()) & frozenset(
            self._item_html.get_identifiers()
        )

    def fill_item(self, values: Mapping[str, str]) -> tuple[str, str]:
        """``(text, html)`` of one notice of the digest, from :func:`notice_fields`."""
        return (
            self._item_text.substitute(values),
            self._item_html.substitute(_escape_all(values, self._item_html_names)),
        )

    def fill(
        self, values: Mapping[str, str], items_text: str, items_html: str
    ) -> tuple[str, str, str]:
        """``(subject, text, html)`` from :func:`digest_fields` and the filled items.

        ``items_html`` is inserted as it is: it is made of filled ``item_html`` templates,
        whose values were escaped already.
        """
        escaped = _escape_all(values, self._html_names)
        escaped["items"] = items_html
        return (
            self._subject.substitute(values),
            self._text.substitute(values, items=items_text),
            self._html.substitute(escaped),
        )


# --------------------------------------------------------------------------- the defaults

_CSS: Final = (
    "body{font-family:Arial,Helvetica,sans-serif;color:#222}"
    "th{text-align:left;padding:2px 12px 2px 0;color:#555;font-weight:normal}"
    "td{padding:2px 0}"
)
_DEVICE_TEXT: Final = """\
UPS model:      $model
Serial number:  $serial
Due date:       $due
Needed:         $sku
Severity:       $severity"""
_CUSTOMER_TEXT: Final = """\
Customer:       $company
Contact:        $full_name
Job role:       $job_role
Email:          $email
Phone:          $phone"""
_DEVICE_HTML: Final = (
    "<tr><th>UPS model</th><td>$model</td></tr>\n"
    "<tr><th>Serial number</th><td>$serial</td></tr>\n"
    "<tr><th>Due date</th><td>$due</td></tr>\n"
    "<tr><th>Needed</th><td>$sku</td></tr>\n"
    "<tr><th>Severity</th><td>$severity</td></tr>\n"
)
_CUSTOMER_HTML: Final = (
    "<tr><th>Customer</th><td>$company</td></tr>\n"
    "<tr><th>Contact</th><td>$full_name</td></tr>\n"
    "<tr><th>Job role</th><td>$job_role</td></tr>\n"
    '<tr><th>Email</th><td><a href="mailto:$email">$email</a></td></tr>\n'
    "<tr><th>Phone</th><td>$phone</td></tr>\n"
)


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_CSS}</style></head>\n<body>\n{body}</body></html>\n"
    )


DEFAULT_OWNER_TEMPLATE: Final = MessageTemplate(
    subject="$title: $model $serial",
    text=f"$title\n\n$intro\n\n{_DEVICE_TEXT}\n\nAccount:        $company\n\n-- \n$product\n",
    html=_page(
        "$title",
        "<h1>$title</h1>\n<p>$intro</p>\n<table>\n"
        + _DEVICE_HTML
        + "<tr><th>Account</th><td>$company</td></tr>\n</table>\n<p>$product</p>\n",
    ),
)
DEFAULT_RESELLER_TEMPLATE: Final = MessageTemplate(
    subject="$title: $company, $model $serial",
    text=f"$title\n\n$intro\n\n{_DEVICE_TEXT}\n\n{_CUSTOMER_TEXT}\n\n-- \n$product\n",
    html=_page(
        "$title",
        "<h1>$title</h1>\n<p>$intro</p>\n<table>\n"
        + _DEVICE_HTML
        + _CUSTOMER_HTML
        + "</table>\n<p>$product</p>\n",
    ),
)
_DIGEST_SUBJECT: Final = "$count lifecycle $noun for $day"
_DIGEST_TEXT: Final = "$count lifecycle $noun for $day\n\n$items-- \n$product\n"
_DIGEST_HTML: Final = _page(
    "$count lifecycle $noun for $day",
    "<h1>$count lifecycle $noun for $day</h1>\n$items<p>$product</p>\n",
)
DEFAULT_OWNER_DIGEST_TEMPLATE: Final = DigestTemplate(
    subject=_DIGEST_SUBJECT,
    text=_DIGEST_TEXT,
    html=_DIGEST_HTML,
    item_text=f"* $title\n{_DEVICE_TEXT}\n\n",
    item_html=f"<h2>$title</h2>\n<table>\n{_DEVICE_HTML}</table>\n",
)
DEFAULT_RESELLER_DIGEST_TEMPLATE: Final = DigestTemplate(
    subject=_DIGEST_SUBJECT,
    text=_DIGEST_TEXT,
    html=_DIGEST_HTML,
    item_text=f"* $title\n{_DEVICE_TEXT}\n{_CUSTOMER_TEXT}\n\n",
    item_html=f"<h2>$title</h2>\n<table>\n{_DEVICE_HTML}{_CUSTOMER_HTML}</table>\n",
)


# --------------------------------------------------------------------------- the set


def _by_kind(value: object) -> tuple[tuple[EventKind, MessageTemplate], ...]:
    pairs = value.items() if isinstance(value, Mapping) else value
    if not isinstance(pairs, Iterable):
        raise InvalidInput(f"templates by kind must map EventKind to MessageTemplate: {value!r}")
    result: dict[EventKind, MessageTemplate] = {}
    for pair in pairs:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise InvalidInput(f"templates by kind must map EventKind to MessageTemplate: {pair!r}")
        kind, template = pair
        if not isinstance(kind, EventKind) or not isinstance(template, MessageTemplate):
            raise InvalidInput(
                f"templates by kind must map EventKind to MessageTemplate, got {kind!r}: "
                f"{type(template).__name__}"
            )
        result[kind] = template
    order = list(EventKind)
    return tuple(sorted(result.items(), key=lambda item: order.index(item[0])))


def _require_covering(
    where: str, template: MessageTemplate | DigestTemplate, needed: frozenset[str]
) -> None:
    if not isinstance(template, MessageTemplate | DigestTemplate):
        raise InvalidInput(f"{where} must be a template, got {type(template).__name__}")
    missing = sorted(needed - template.shown())
    if missing:
        raise InvalidTemplate(
            where,
            "its text and HTML bodies must both show "
            + ", ".join(f"${name}" for name in missing)
            + " (SPEC N6)",
        )


@final
@attrs.frozen
class Templates:
    """Every email template the renderer uses: the user's customization (SPEC E10).

    ``owner`` and ``reseller`` shape a notice to the owner or to the connected reseller;
    ``owner_by_kind`` and ``reseller_by_kind`` replace them for some event kinds (a
    mapping, or pairs, of :class:`~upslife.notifications.EventKind` to
    :class:`MessageTemplate`); ``owner_digest`` and ``reseller_digest`` shape digests
    (SPEC N10). Reseller bodies (a digest's: its items) must show every
    :data:`RESELLER_REQUIRED` placeholder, owner bodies every :data:`OWNER_REQUIRED` one:
    a customized message still carries what SPEC N6 lists. Customizing emails is a
    STANDARD feature (E10): the application layer passes :data:`DEFAULT_TEMPLATES` for an
    owner whose plan lacks it.
    """

    owner: MessageTemplate = DEFAULT_OWNER_TEMPLATE
    reseller: MessageTemplate = DEFAULT_RESELLER_TEMPLATE
    owner_digest: DigestTemplate = DEFAULT_OWNER_DIGEST_TEMPLATE
    reseller_digest: DigestTemplate = DEFAULT_RESELLER_DIGEST_TEMPLATE
    owner_by_kind: tuple[tuple[EventKind, MessageTemplate], ...] = attrs.field(
        default=(), converter=_by_kind
    )
    reseller_by_kind: tuple[tuple[EventKind, MessageTemplate], ...] = attrs.field(
        default=(), converter=_by_kind
    )

    def __attrs_post_init__(self) -> None:
        _require_covering("owner", self.owner, OWNER_REQUIRED)
        _require_covering("owner_digest", self.owner_digest, OWNER_REQUIRED)
        _require_covering("reseller", self.reseller, RESELLER_REQUIRED)
        _require_covering("reseller_digest", self.reseller_digest, RESELLER_REQUIRED)
        for kind, template in self.owner_by_kind:
            _require_covering(f"owner_by_kind[{kind.name}]", template, OWNER_REQUIRED)
        for kind, template in self.reseller_by_kind:
            _require_covering(f"reseller_by_kind[{kind.name}]", template, RESELLER_REQUIRED)

    def for_notice(self, notice: Notice) -> MessageTemplate:
        """The template of ``notice``: by its recipient's kind, then its event's kind."""
        if notice.recipient.kind is RecipientKind.RESELLER:
            pairs, fallback = self.reseller_by_kind, self.reseller
        else:
            pairs, fallback = self.owner_by_kind, self.owner
        for kind, template in pairs:
            if kind is notice.event.kind:
                return template
        return fallback

    def for_digest(self, digest: Digest) -> DigestTemplate:
        """The digest template for ``digest``'s recipient (SPEC N10)."""
        if digest.recipient.kind is RecipientKind.RESELLER:
            return self.reseller_digest
        return self.owner_digest


DEFAULT_TEMPLATES: Final = Templates()
"""The shipped templates: plain English, every SPEC N6 detail, a small inline-styled HTML."""


# --------------------------------------------------------------------------- as a document

_MESSAGE_PARTS: Final = ("subject", "text", "html")
_DIGEST_PARTS: Final = ("subject", "text", "html", "item_text", "item_html")
_SINGLE: Final = ("owner", "reseller")
_DIGESTS: Final = ("owner_digest", "reseller_digest")
_BY_KIND: Final = ("owner_by_kind", "reseller_by_kind")


def _parts(template: MessageTemplate | DigestTemplate, names: tuple[str, ...]) -> dict[str, str]:
    return {name: getattr(template, name) for name in names}


def templates_to_doc(templates: Templates) -> dict[str, object]:
    """``templates`` as a JSON-ready document, listing only what differs from the shipped
    defaults (:data:`DEFAULT_TEMPLATES`); :func:`templates_from_doc` reads it back equal.

    >>> templates_to_doc(DEFAULT_TEMPLATES)
    {}
    """
    if not isinstance(templates, Templates):
        raise InvalidInput(f"expected Templates, got {type(templates).__name__}")
    doc: dict[str, object] = {}
    for name in _SINGLE:
        if getattr(templates, name) != getattr(DEFAULT_TEMPLATES, name):
            doc[name] = _parts(getattr(templates, name), _MESSAGE_PARTS)
    for name in _DIGESTS:
        if getattr(templates, name) != getattr(DEFAULT_TEMPLATES, name):
            doc[name] = _parts(getattr(templates, name), _DIGEST_PARTS)
    for name in _BY_KIND:
        pairs = getattr(templates, name)
        if pairs:
            doc[name] = {kind.name: _parts(t, _MESSAGE_PARTS) for kind, t in pairs}
    return doc


def _exact(where: str, value: object, names: tuple[str, ...]) -> dict[str, object]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where} must be an object of {', '.join(names)}")
    unknown = sorted(set(value) - set(names))
    missing = [name for name in names if name not in value]
    if unknown or missing:
        raise InvalidInput(
            f"{where} has exactly {', '.join(names)}"
            + (f"; unknown: {', '.join(map(str, unknown))}" if unknown else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
        )
    return dict(value)


def _message(where: str, value: object) -> MessageTemplate:
    try:
        return MessageTemplate(**_exact(where, value, _MESSAGE_PARTS))  # type: ignore[arg-type]
    except InvalidTemplate as e:
        raise InvalidTemplate(f"{where}.{e.template}", e.reason) from e


def _kinds(where: str, value: object) -> tuple[tuple[EventKind, MessageTemplate], ...]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where} must map event kinds to templates")
    pairs = []
    for name, template in value.items():
        if not isinstance(name, str) or name not in EventKind.__members__:
            known = ", ".join(EventKind.__members__)
            raise InvalidInput(f"{where}: {name!r} is no event kind; known: {known}")
        pairs.append((EventKind[name], _message(f"{where}[{name}]", template)))
    return tuple(pairs)


def templates_from_doc(doc: object) -> Templates:
    """The :class:`Templates` a document describes (SPEC E10), checked in full.

    Keys left out keep the shipped default, so ``{"owner": {...}}`` customizes only the
    owner's notice. Each template gives every part (``subject``, ``text``, ``html``; a
    digest also ``item_text`` and ``item_html``).

    Raises:
        InvalidTemplate: a placeholder that does not exist, a stray ``$``, a subject on
            several lines, or a body that leaves out what its recipient must see (N6).
        InvalidInput: a key that is not a template, a missing part, an unknown kind.
    """
    if not isinstance(doc, Mapping):
        raise InvalidInput(f"templates are an object, got {type(doc).__name__}")
    known = (*_SINGLE, *_DIGESTS, *_BY_KIND)
    unknown = sorted(str(k) for k in doc if k not in known)
    if unknown:
        raise InvalidInput(f"unknown template(s) {', '.join(unknown)}; known: {', '.join(known)}")
    fields: dict[str, object] = {}
    for name in _SINGLE:
        if name in doc:
            fields[name] = _message(name, doc[name])
    for name in _DIGESTS:
        if name in doc:
            try:
                fields[name] = DigestTemplate(**_exact(name, doc[name], _DIGEST_PARTS))  # type: ignore[arg-type]
            except InvalidTemplate as e:
                raise InvalidTemplate(f"{name}.{e.template}", e.reason) from e
    for name in _BY_KIND:
        if name in doc:
            fields[name] = _kinds(name, doc[name])
    return Templates(**fields)  # type: ignore[arg-type]
