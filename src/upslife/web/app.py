"""The ASGI application that serves the mailed links (SPEC I3–I5, S2).

Routes come from :class:`~upslife.app.links.Links`, the same object the mails are built
with. A GET (or HEAD) shows a page and changes nothing: mail security scanners open every
link before the person does. The page's button POSTs. The one exception is RFC 8058: a
POST of ``List-Unsubscribe=One-Click`` to an unsubscribe URL unsubscribes at once, with
no cookie, no redirect and no page to click.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any, TypeVar

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from upslife.app import Lifecycle
from upslife.app.link_views import InvitationView
from upslife.app.links import Link, Links
from upslife.app.resellers import Unsubscribed
from upslife.app.shares import ShareAcceptance, SharedDevice, ShareOutcome, ShareView
from upslife.errors import UpslifeError
from upslife.invitations import Invitation, InvitationState, TokenAction
from upslife.sharing import ShareState
from upslife.web import outcomes
from upslife.web.outcomes import Outcome, possessive
from upslife.web.security import AccessLog, BoundedBody, SafeHeaders

__all__ = ["DEFAULT_MAX_BODY", "create_app"]

DEFAULT_MAX_BODY = 16 * 1024
"""Request bodies above this many bytes are refused with 413 (the forms are a few bytes)."""

_log = logging.getLogger("upslife.web")
_T = TypeVar("_T")
_ONE_CLICK = ("List-Unsubscribe", "One-Click")  # RFC 8058 section 3.1

_NOT_FOUND = Outcome(404, "not-found", "Page not found", "There is no page at this address.")
_BAD_METHOD = Outcome(405, "bad-method", "This page cannot do that", "Open the link from the mail.")
_FAILED = Outcome(
    500,
    "error",
    "Something went wrong on our side",
    "Nothing was changed. Please try the link again in a few minutes.",
)
_SHARE_STATES = {
    ShareState.ACTIVE: outcomes.SHARE_USED,
    ShareState.REVOKED: outcomes.SHARE_REVOKED,
    ShareState.REMOVED: outcomes.SHARE_REVOKED,
    ShareState.EXPIRED: outcomes.SHARE_EXPIRED,
}
_ONE_CLICK_MISSING = Outcome(
    400,
    "invalid",
    "Use the Unsubscribe button",
    "Open the unsubscribe link from the mail and press its button.",
)


class _Pages:
    """The pages of one deployment: the routes' handlers over a :class:`Lifecycle`."""

    def __init__(
        self,
        lifecycle: Lifecycle,
        links: Links,
        sign_up_url: str | None,
        has_account: Callable[[str], bool] | None,
    ) -> None:
        self.lifecycle = lifecycle
        self.links = links
        self.sign_up_url = sign_up_url
        self.has_account = has_account
        # One state change at a time in this process: a double click, or a scanner and a
        # person at once, must not race between reading the invitation and writing it.
        self._writes = threading.Lock()
        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("upslife.web", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.css = resources.files("upslife.web").joinpath("static/upslife.css").read_bytes()

    # ------------------------------------------------------------------ rendering

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("slug", "ok")
        body = self._env.get_template(template).render(
            product="upslife", css=self.links.asset("upslife.css"), **context
        )
        return HTMLResponse(body, status_code=status)

    def outcome(self, outcome: Outcome, company: str | None = None, **context: Any) -> HTMLResponse:
        shown = outcome.for_company(company)
        return self.page(
            "message.html",
            shown.status,
            slug=shown.slug,
            title=shown.title,
            text=shown.text,
            sign_up_url=context.pop("sign_up_url", None),
            shared=context.pop("shared", ()),
        )

    async def refused(self, error: UpslifeError, link: Link) -> HTMLResponse:
        company = await self.call(lambda: self._company_of(error))
        return self.outcome(outcomes.refusal(error, link), company)

    def _company_of(self, error: UpslifeError) -> str | None:
        invitation_id = getattr(error, "invitation_id", None)
        if not isinstance(invitation_id, str):
            return None
        try:
            return self.lifecycle.store.get_invitation(invitation_id).company_name
        except UpslifeError:
            return None

    async def call(self, fn: Callable[[], _T], *, write: bool = False) -> _T:
        def run() -> _T:
            if not write:
                return fn()
            with self._writes:
                return fn()

        return await run_in_threadpool(run)

    # ------------------------------------------------------------------ invitation

    async def accept(self, request: Request) -> Response:
        return await self._invitation(request, Link.ACCEPT, TokenAction.ACCEPT)

    async def decline(self, request: Request) -> Response:
        return await self._invitation(request, Link.DECLINE, TokenAction.DECLINE)

    async def _invitation(self, request: Request, link: Link, action: TokenAction) -> Response:
        token = request.path_params["token"]
        try:
            if request.method == "POST":
                inv, _ = await self.call(lambda: self.lifecycle.respond(token, action), write=True)
                return self._answered(inv)
            view = await self.call(lambda: self.lifecycle.view_invitation(token, action))
        except UpslifeError as e:
            return await self.refused(e, link)
        return self._invitation_page(view)

    def _invitation_page(self, view: InvitationView) -> HTMLResponse:
        assert view.accept_token is not None  # a pending invitation's view has both
        assert view.decline_token is not None
        accepting = view.action is TokenAction.ACCEPT
        return self.page(
            "invitation.html",
            slug="invitation",
            title=(
                f"{view.company_name} invites you to renewal support"
                if accepting
                else f"Decline {possessive(view.company_name)} invitation?"
            ),
            company=view.company_name,
            expires=_when(view.expires_at),
            accept_action=self._path(Link.ACCEPT, view.accept_token),
            decline_action=self._path(Link.DECLINE, view.decline_token),
            primary="accept" if accepting else "decline",
        )

    def _answered(self, inv: Invitation) -> HTMLResponse:
        company = inv.company_name
        if inv.state is InvitationState.ACCEPTED:
            return self.outcome(
                Outcome(
                    200,
                    "accepted",
                    f"You now support {company}",
                    "You will be told by mail ahead of each battery, warranty and plan "
                    "renewal of {company}'s UPS units. Every mail has an unsubscribe link.",
                ),
                company,
            )
        return self.outcome(
            Outcome(
                200,
                "declined",
                "You declined the invitation",
                "{company} has been told. You will receive no mail about their UPS units.",
            ),
            company,
        )

    # ------------------------------------------------------------------ unsubscribe

    async def unsubscribe(self, request: Request) -> Response:
        token = request.path_params["token"]
        try:
            if request.method == "POST":
                form = await request.form(max_files=0, max_fields=8, max_part_size=1024)
                if form.get(_ONE_CLICK[0]) != _ONE_CLICK[1]:
                    return self.outcome(_ONE_CLICK_MISSING)
                done = await self.call(lambda: self.lifecycle.unsubscribe(token), write=True)
                return self._unsubscribed(done)
            view = await self.call(lambda: self.lifecycle.view_unsubscribe(token))
        except UpslifeError as e:
            return await self.refused(e, Link.UNSUBSCRIBE)
        if not view.companies:
            return self.outcome(outcomes.NOT_CONNECTED)
        names = _names(view.companies)
        whose = possessive(names) if len(view.companies) == 1 else "these customers'"
        if InvitationState.ACCEPTED in view.states:
            text = (
                f"You receive renewal notices for {whose} UPS units. Unsubscribe, and no "
                f"more will be sent to you; {names} will be told."
            )
        elif InvitationState.PENDING in view.states:
            text = (
                f"Unsubscribing declines the invitation of {names}: no mail about their UPS "
                f"units will be sent to you, and {names} will be told."
            )
        else:
            text = f"You receive no mail about {whose} UPS units: there is nothing to do."
        title = (
            f"Unsubscribe from {possessive(names)} renewal notices"
            if len(view.companies) == 1
            else f"Unsubscribe from the renewal notices of {names}"
        )
        return self.page(
            "unsubscribe.html",
            slug="unsubscribe",
            title=title,
            text=text,
            can_unsubscribe=view.subscribed,
            action=self._path(Link.UNSUBSCRIBE, token),
        )

    def _unsubscribed(self, done: Unsubscribed) -> HTMLResponse:
        names = _names(tuple(inv.company_name for inv in done.invitations))
        told = _names(tuple(self._company_of_owner(n.owner_id, done) for n in done.notices))
        text = f"You will receive no more mail about the UPS units of {names}."
        if told:
            text += f" {told} {'has' if len(done.notices) == 1 else 'have'} been told."
        return self.outcome(Outcome(200, "unsubscribed", "You are unsubscribed", text))

    @staticmethod
    def _company_of_owner(owner_id: str, done: Unsubscribed) -> str:
        return next(i.company_name for i in done.invitations if i.owner_id == owner_id)

    # ------------------------------------------------------------------ share

    async def share(self, request: Request) -> Response:
        token = request.path_params["token"]
        try:
            if request.method == "POST":
                accepted = await self.call(lambda: self._accept_share(token), write=True)
                return self._share_answered(*accepted)
            view = await self.call(lambda: self.lifecycle.view_share(token))
        except UpslifeError as e:
            return await self.refused(e, Link.SHARE)
        refusal = _SHARE_STATES.get(view.state)
        if refusal is not None:
            return self.outcome(refusal)
        found = view.share
        return self.page(
            "share.html",
            slug="share",
            title=f"{view.company} shares a UPS with you",
            company=view.company,
            model=view.model,
            serial=found.device,
            user=found.user,
            needs_sign_up=found.needs_sign_up,
            sign_up_url=self.sign_up_url,
            expires=_when(found.expires_at),
            action=self._path(Link.SHARE, token),
        )

    def _accept_share(
        self, token: str
    ) -> tuple[ShareAcceptance, ShareView, tuple[SharedDevice, ...]]:
        view = self.lifecycle.view_share(token)
        has_account = self.has_account(view.share.user) if self.has_account else None
        accepted = self.lifecycle.accept_share_link(token, user_has_account=has_account)
        shared: tuple[SharedDevice, ...] = ()
        if accepted.outcome is ShareOutcome.ACCEPTED:
            shared = self.lifecycle.shared_with_me(accepted.share.user)
        return accepted, view, shared

    def _share_answered(
        self, accepted: ShareAcceptance, view: ShareView, shared: tuple[SharedDevice, ...]
    ) -> HTMLResponse:
        if accepted.outcome is ShareOutcome.SIGN_UP_REQUIRED:
            return self.outcome(
                Outcome(
                    200,
                    "sign-up",
                    "Sign up first",
                    f"To accept the UPS that {view.company} shares with you, create your "
                    f"account with the address {view.share.user} first, then open this "
                    "link again and accept. Nothing was changed.",
                ),
                sign_up_url=self.sign_up_url,
            )
        return self.outcome(
            Outcome(
                200,
                "shared",
                "The UPS is shared with you",
                f"{view.company} shares their {view.model} (serial {view.share.device}) with "
                "you. It is now in your list of devices shared with you.",
            ),
            shared=shared,
        )

    # ------------------------------------------------------------------ others

    async def health(self, request: Request) -> Response:
        try:
            await self.call(lambda: self.lifecycle.store.token_used("health-check"))
        except UpslifeError as e:
            _log.warning("health check failed: %s", type(e).__name__)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def stylesheet(self, request: Request) -> Response:
        return Response(self.css, media_type="text/css")

    async def http_error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        outcome = {404: _NOT_FOUND, 405: _BAD_METHOD}.get(status)
        if outcome is None:
            outcome = Outcome(status, "error", "This request cannot be served", _FAILED.text)
        return self.outcome(outcome)

    async def server_error(self, request: Request, exc: Exception) -> Response:
        # the type only: a message could hold a token from the path
        _log.error("unexpected %s while serving a link", type(exc).__name__)
        return self.outcome(_FAILED)

    # ------------------------------------------------------------------ paths

    def _path(self, link: Link, token: str) -> str:
        return self.links.path_of(link, token)


def _names(names: tuple[str, ...]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _when(at: datetime) -> str:
    utc = at.astimezone(UTC)
    return f"{utc.day} {utc:%B %Y} at {utc:%H:%M} UTC"


def create_app(
    lifecycle: Lifecycle,
    *,
    links: Links | None = None,
    sign_up_url: str | None = None,
    has_account: Callable[[str], bool] | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> Starlette:
    """The ASGI application serving the mailed links of ``lifecycle``.

    ``links`` and ``sign_up_url`` default to the lifecycle's delivery settings
    (``public_url``, ``sign_up_url``), the very ones its mails are built with. The routes
    include the path of ``public_url``: serve the app at the root of its host (``upslife
    serve``, or a reverse proxy that passes the path unchanged).

    ``has_account(email)`` is the embedding product's word on whether a user has an
    account now (the library does not own accounts, SPEC S2): a share link accepted by a
    user without one answers "sign up first" and changes nothing. Without it, what was
    recorded when the share was sent stands.
    """
    links = links or lifecycle.settings.links
    pages = _Pages(lifecycle, links, sign_up_url or lifecycle.settings.sign_up_url, has_account)
    methods = ["GET", "POST"]  # HEAD comes with GET
    routes = [
        Route(links.path(Link.ACCEPT), pages.accept, methods=methods),
        Route(links.path(Link.DECLINE), pages.decline, methods=methods),
        Route(links.path(Link.UNSUBSCRIBE), pages.unsubscribe, methods=methods),
        Route(links.path(Link.SHARE), pages.share, methods=methods),
        Route(links.health_path, pages.health, methods=["GET"]),
        Route(links.asset("upslife.css"), pages.stylesheet, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(AccessLog),
            Middleware(SafeHeaders),
            Middleware(BoundedBody, limit=max_body),
        ],
        exception_handlers={HTTPException: pages.http_error, Exception: pages.server_error},
    )
