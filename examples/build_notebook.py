"""Write ``examples/product_owners.ipynb`` from the cells below, so its source is reviewable.

The notebook is stored clean (no outputs, no execution counts): ``tests/test_notebook.py``
executes it and checks its figures and printed values. After editing a cell here, run::

    .venv/bin/python examples/build_notebook.py          # rewrite the notebook
    .venv/bin/python examples/build_notebook.py --check  # exit 1 if the notebook differs

Cell ids are fixed (``cell-00``, ``cell-01``...), so rebuilding an unchanged notebook
changes no byte of it. Cell lines stay within 92 characters here, so that the notebook's
own lines stay within ruff's 100.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat import NotebookNode

NOTEBOOK = Path(__file__).with_name("product_owners.ipynb")

# Each cell is ("md" | "code", source): raw strings, dedented and stripped.
CELLS: list[tuple[str, str]] = [
    (
        "md",
        r"""
        # upslife for product owners: the rules, in pictures

        This notebook walks through the lifecycle rules of `upslife` for APC Smart-UPS
        fleets as a product owner meets them: which plan a device is on and until when, when
        customers hear about a battery that needs replacing, how a reseller gets connected,
        and what a fleet will cost to keep running next year.

        Every date, count and price in a picture or a printout is computed by the library
        from the inputs written in the cells; nothing is drawn by hand. Rules are cited by
        their number in the rulebook, `docs/rules.md` (*E4* is the coverage rule, and so on).

        1. One device's coverage: DEFER or FORFEIT (SPEC E4)
        2. The notice calendar: 90, 30, 7 days and the due day (SPEC N2, N4, N5)
        3. The reseller invitation (SPEC I1–I6)
        4. A fleet's renewal forecast (SPEC N1, R2, R4, R6)
        5. End to end: a sweep and its emails

        How to open and run it: see `examples/README.md`.
        """,
    ),
    (
        "code",
        r"""
        import random
        import secrets
        from datetime import UTC, date, datetime, time, timedelta
        from decimal import Decimal

        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch

        from upslife.catalog import Catalog
        from upslife.entitlements import Plan
        from upslife.notifications import Severity

        CATALOG = Catalog.default()  # the model data shipped with the package (SPEC C1)

        PLAN_COLOURS = {Plan.BASIC: "#cfcfcf", Plan.STANDARD: "#4e8fd6", Plan.ADVANCED: "#f0953a"}
        SEVERITY_COLOURS = {
            Severity.INFO: "#4e8fd6",
            Severity.WARNING: "#f0b429",
            Severity.CRITICAL: "#d64545",
        }
        """,
    ),
    # ------------------------------------------------------------------ 1. coverage
    (
        "md",
        r"""
        ## 1. One device's coverage: DEFER or FORFEIT

        **The rule (SPEC E2, E4, E5).** A device holds remaining time per paid plan, like
        bank accounts. The highest plan that still has time is in force and only its time
        is used up; when it runs out, the next lower plan with time resumes; when none is
        left, the device is on BASIC, which is free and never expires.

        **The worked example.** A Smart-UPS is registered on 2024-08-31 and gets the
        6-month STANDARD trial (E2). Then three licenses are assigned to it:

        | day | license | what happens |
        |---|---|---|
        | 2024-10-10 | STANDARD 1Y `L1` | same plan as the trial: **appended** (E4a) |
        | 2024-12-10 | ADVANCED 1Y `L2` | a higher plan: the **upgrade starts at once** (E4c) |
        | 2025-03-01 | STANDARD 3Y `L3` | lower than the plan in force: **queued** (E4e) |

        Appending means no day is lost by renewing early: `L1` starts where the trial ends.

        **The choice (E4d).** On 2024-12-10 the device still had STANDARD time that had been
        paid for. With `DEFER` (the default) that time is paused and comes back when
        ADVANCED ends; with `FORFEIT` it is dropped. The picture shows the same device under
        both policies.
        """,
    ),
    (
        "code",
        r"""
        from upslife.entitlements import License, UpgradePolicy, add_months, coverage

        registered_on = date(2024, 8, 31)
        licenses = [
            License.of("L1", Plan.STANDARD, "1Y", date(2024, 10, 10)),
            License.of("L2", Plan.ADVANCED, "1Y", date(2024, 12, 10)),
            License.of("L3", Plan.STANDARD, "3Y", date(2025, 3, 1)),
        ]
        coverages = {
            policy: coverage(registered_on, licenses, policy=policy)
            for policy in (UpgradePolicy.DEFER, UpgradePolicy.FORFEIT)
        }
        """,
    ),
    (
        "code",
        r"""
        # BASIC never ends: draw it for six months past the latest paid day.
        horizon = add_months(max(cov.paid_until for cov in coverages.values()), 6)

        fig, ax = plt.subplots(figsize=(13, 4.5))
        for y, cov in zip((1, 0), coverages.values(), strict=True):
            for segment in cov.segments:
                start = mdates.date2num(segment.start)
                end = mdates.date2num(segment.end or horizon)
                ax.broken_barh([(start, end - start)], (y - 0.3, 0.6), edgecolor="white",
                               facecolors=PLAN_COLOURS[segment.plan], linewidth=2)
                if end - start > 300:  # label the segments wide enough to hold text
                    until = f"until {segment.end}" if segment.end else "free, never expires"
                    ax.text((start + end) / 2, y, f"{segment.plan.title}\n{until}",
                            ha="center", va="center", fontsize=9)
            paid_until = mdates.date2num(cov.paid_until)
            ax.annotate(f"paid until {cov.paid_until}", (paid_until, y + 0.3), xytext=(0, 5),
                        textcoords="offset points", ha="center", fontsize=9, fontweight="bold")

        # The registration and license days, the same under both policies.
        marks = [(registered_on, f"registered {registered_on}")]
        marks += [(lic.assigned_on, f"{lic.id}: {lic.plan.title} {lic.months // 12}Y, "
                   f"{lic.assigned_on}") for lic in licenses]
        for step, (day, label) in enumerate(marks):  # the earliest label lowest
            x, label_y = mdates.date2num(day), -0.45 - 0.17 * (len(marks) - 1 - step)
            ax.plot([x, x], [label_y, 1.3], color="black", linestyle=":", linewidth=1, zorder=0)
            ax.text(x, label_y, f" {label}", fontsize=8, va="center")

        ax.set_yticks([1, 0], [policy.name for policy in coverages])
        ax.set_ylim(-1.2, 1.55)
        ax.xaxis_date()
        ax.xaxis.set_major_locator(mdates.YearLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        ax.legend(handles=[Patch(color=c, label=p.title) for p, c in PLAN_COLOURS.items()],
                  loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=3, fontsize=9)
        ax.set_title("One device, two upgrade policies (SPEC E4 worked example)")
        plt.show()
        """,
    ),
    (
        "md",
        r"""
        Each bar is the list of segments the library returns (`Coverage.segments`), and
        every segment knows why it exists (SPEC E12). This is what support would read:
        """,
    ),
    (
        "code",
        r"""
        for policy, cov in coverages.items():
            print(f"{policy.name}:")
            print(cov.explain())
            print()

        defer, forfeit = coverages[UpgradePolicy.DEFER], coverages[UpgradePolicy.FORFEIT]
        kept = (defer.paid_until - forfeit.paid_until).days
        print(f"With DEFER the customer keeps {kept} more days of paid coverage "
              f"({defer.paid_until} instead of {forfeit.paid_until}).")
        """,
    ),
    (
        "md",
        r"""
        **What you are choosing between.** Both policies give ADVANCED from the day it is
        bought, for exactly the year bought. `DEFER` never takes back time the customer paid
        for: the paused STANDARD days come back after ADVANCED, before the queued 3Y license,
        so an early upgrade costs the customer nothing. `FORFEIT` is simpler to put on an
        invoice, but it punishes upgrading early: the earlier the upgrade, the more paid time
        is lost. The SPEC makes `DEFER` the default and keeps `FORFEIT` as an explicit
        option so that this trade-off can be seen, as above.
        """,
    ),
    # ------------------------------------------------------------------ 2. notices
    (
        "md",
        r"""
        ## 2. The notice calendar: 90, 30, 7 days and the due day

        **The rules (SPEC N2, N4, N5).** Every lifecycle event with a due date (battery
        replacement, warranty expiry, plan expiry, UPS upgrade) gives at most four notices:
        90, 30 and 7 days before the due date, and on the due date. The 90-day notice is
        informational, the 30- and 7-day ones are warnings, the due day is critical (N5).

        Notices are sent by a *sweep*, a job that runs regularly. When it does not run every
        day, the rule is to catch up without spamming (N4): on a sweep day an event sends
        only the latest stage that is due and not sent yet; a skipped stage is never sent
        late, except the due-day notice, which may still go out up to 7 days late.

        **The example.** One SMT1500C whose battery was installed on 2022-03-01. Its
        replace-by date is the install date plus the model's expected battery life from the
        catalog (E9). The real notice rules (`due_notices`) run once with a daily sweep and
        once with a sweep that runs on Mondays only.
        """,
    ),
    (
        "code",
        r"""
        from upslife.entitlements import Battery
        from upslife.notifications import (
            DEFAULT_DUE_GRACE_DAYS,
            SCHEDULE,
            Contact,
            DeviceFacts,
            EventKind,
            due_notices,
            sent_stages,
        )

        model = CATALOG.get("SMT1500C")
        battery = Battery(installed_on=date(2022, 3, 1))
        replace_by = battery.replace_by(model.battery_life_months)
        device = DeviceFacts("AS2203010001", model.model, coverage(battery.installed_on),
                             battery_replace_by=replace_by, battery_sku=model.battery_sku)
        owner = Contact("Acme Hosting", "Ada Lovelace", "ops@acme.example")
        print(f"{model.model}: battery life {model.battery_life_months} months, "
              f"replace by {replace_by}, cartridge {model.battery_sku}")


        def run_sweeps(days):
            # The battery notices a sweep sends on each of the days, remembering what it sent.
            sent, notices = [], []
            for day in days:
                today = [n for n in due_notices(device, day, owner=owner, sent=sent)
                         if n.kind is EventKind.BATTERY_REPLACEMENT]
                sent.extend(sent_stages(today))
                notices.extend(today)
            return notices


        first_stage_day = replace_by - timedelta(days=SCHEDULE[0].days_before)
        days = [first_stage_day + timedelta(days=n) for n in range(-14, 111)]
        sweeps = {
            "daily sweep": days,
            "Monday-only sweep": [day for day in days if day.weekday() == 0],
        }
        calendars = {name: run_sweeps(sweep_days) for name, sweep_days in sweeps.items()}

        for name, notices in calendars.items():
            print(f"\n{name}:")
            for n in notices:
                print(f"  {n.sent_on} {n.sent_on:%a}  {n.stage.name:<4} {n.severity.name:<8} "
                      f"{n.title}")
        """,
    ),
    (
        "code",
        r"""
        fig, ax = plt.subplots(figsize=(13, 4.5))
        # The stage windows, from the schedule: D90 from due - 90 days to due - 31, and so
        # on; the due-day window runs DEFAULT_DUE_GRACE_DAYS past the due date.
        severity_of = {n.stage: n.severity for n in calendars["daily sweep"]}
        starts = [replace_by - timedelta(days=stage.days_before) for stage in SCHEDULE]
        ends = [*starts[1:], replace_by + timedelta(days=DEFAULT_DUE_GRACE_DAYS + 1)]
        for stage, start, end in zip(SCHEDULE, starts, ends, strict=True):
            ax.axvspan(start, end, color=SEVERITY_COLOURS[severity_of[stage]], alpha=0.12)
            ax.text(start + (end - start) / 2, 2.3, stage.name, fontsize=8, ha="center",
                    va="top")
        ax.axvline(replace_by, color="black", linestyle="--", linewidth=1)
        ax.text(replace_by, -0.75, f" replace by {replace_by}", fontsize=9)

        for y, (name, notices) in zip((1.4, 0.2), calendars.items(), strict=True):
            ax.plot(sweeps[name], [y] * len(sweeps[name]), "|", color="grey", alpha=0.5)
            for k, n in enumerate(notices):
                ax.scatter(n.sent_on, y, s=90, color=SEVERITY_COLOURS[n.severity], zorder=3,
                           edgecolor="black")
                ax.annotate(f"{n.title}\n{n.stage.name}, {n.sent_on:%a %d %b}", (n.sent_on, y),
                            xytext=(-6, 12 if k % 2 == 0 else -30), textcoords="offset points",
                            fontsize=8, ha="right" if k else "left")

        ax.set_yticks([1.4, 0.2], list(calendars))
        ax.set_ylim(-0.9, 2.4)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%Y"))
        severities = [Patch(color=c, label=s.name.lower()) for s, c in SEVERITY_COLOURS.items()]
        ax.legend(handles=severities, loc="upper left", fontsize=9, title="severity (N5)",
                  title_fontsize=9)
        ax.set_title(f"When the battery notices go out ({model.model}); shaded: each stage's "
                     "window; grey ticks: sweep days")
        plt.show()
        """,
    ),
    (
        "md",
        r"""
        **Reading the picture.** With a daily sweep the four notices go out exactly on their
        days. With a Monday-only sweep each notice goes out on the first Monday inside its
        window: nothing is skipped, but the due-day notice arrives the day *after* the
        replace-by date, and its title says so: *Battery End of Life Exceeded* instead of
        *Replace Battery* (N5). A sweep that ran less often than once a week could miss the
        7-day window and skip that warning: that is the catch-up rule, not a bug.
        """,
    ),
    # ------------------------------------------------------------------ 3. invitations
    (
        "md",
        r"""
        ## 3. The reseller invitation

        **The rules (SPEC I1–I4, I6).** An owner can connect one reseller, who then receives
        the renewal notices of the owner's devices (N6). The reseller is invited by email and
        has 7 × 24 hours to accept (I2). The owner can cancel a pending invitation or
        disconnect an accepted one; the reseller can decline, let it expire, or opt out
        later. The owner is told when the reseller declines, lets it expire, or opts out
        (I4). Once it is over, reconnecting takes a new invitation and a new acceptance (I6).

        The diagram is not drawn from a list typed here: the cell below tries every action
        on an invitation in every state with the library's own functions, prints what each
        one does, and the diagram draws the moves that succeed.
        """,
    ),
    (
        "code",
        r"""
        from upslife.errors import UpslifeError
        from upslife.invitations import (
            InvitationState,
            accept,
            cancel,
            decline,
            disconnect,
            expire,
            invite,
            opt_out,
        )

        sent_at = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
        hour = timedelta(hours=1)
        pending = invite("owner-1", "renewals@reseller.example", "Acme Hosting", sent_at,
                         current=None, invitation_id="inv-1")
        accepted = accept(pending, sent_at + hour)

        # Who acts, and the action; each returns (invitation, notice for the owner or None).
        ACTIONS = {
            "accept": ("reseller", lambda inv, at: (accept(inv, at), None)),
            "decline": ("reseller", decline),
            "cancel": ("owner", lambda inv, at: (cancel(inv, at), None)),
            "expire": ("7 days pass", expire),
            "disconnect": ("owner", lambda inv, at: (disconnect(inv, at), None)),
            "opt out": ("reseller", opt_out),
        }
        example = {
            InvitationState.PENDING: pending,
            InvitationState.ACCEPTED: accepted,
            InvitationState.DECLINED: decline(pending, sent_at + hour)[0],
            InvitationState.CANCELLED: cancel(pending, sent_at + hour),
            InvitationState.EXPIRED: expire(pending, pending.expires_at)[0],
            InvitationState.DISCONNECTED: disconnect(accepted, sent_at + 2 * hour),
            InvitationState.OPTED_OUT: opt_out(accepted, sent_at + 2 * hour)[0],
        }

        moves, outcome = [], {}
        for state, invitation in example.items():
            for action, (who, step) in ACTIONS.items():
                at = invitation.expires_at if action == "expire" else invitation.last_at + hour
                try:
                    after, notice = step(invitation, at)
                except UpslifeError as refused:
                    outcome[state, action] = "no: " + type(refused).__name__[len("Invitation"):]
                    continue
                told = " + notice" if notice else ""
                outcome[state, action] = f"-> {after.state.name}{told}"
                if after.state is not state:
                    moves.append((state, after.state, f"{action}\n({who})", notice is not None))

        print("".ljust(14) + "".join(action.ljust(22) for action in ACTIONS))
        for state in example:
            print(state.name.ljust(14) + "".join(outcome[state, a].ljust(22) for a in ACTIONS))
        """,
    ),
    (
        "code",
        r"""
        # Only the layout is chosen here; the states and the arrows come from the run above.
        position = {
            InvitationState.PENDING: (0, 2), InvitationState.ACCEPTED: (5.5, 2),
            InvitationState.DECLINED: (-3.4, 0), InvitationState.EXPIRED: (0, 0),
            InvitationState.CANCELLED: (3.4, 0), InvitationState.DISCONNECTED: (9.5, 3),
            InvitationState.OPTED_OUT: (9.5, 1),
        }
        fig, ax = plt.subplots(figsize=(12, 4.5))
        boxes = {}
        for state, (x, y) in position.items():
            over = not any(source is state for source, *_ in moves)
            boxes[state] = ax.text(x, y, state.name, ha="center", va="center", fontsize=11,
                                   bbox={"boxstyle": "round,pad=0.6", "linewidth": 1.5,
                                         "facecolor": "#eeeeee" if over else "#d9e8f7"})
        for source, target, label, tells_owner in moves:
            colour = "#d64545" if tells_owner else "#333333"
            ax.annotate("", xy=position[target], xytext=position[source],
                        arrowprops={"arrowstyle": "-|>", "color": colour, "linewidth": 1.6,
                                    "patchA": boxes[source].get_bbox_patch(),
                                    "patchB": boxes[target].get_bbox_patch()})
            (x0, y0), (x1, y1) = position[source], position[target]
            text = label + ("\nowner told (I4)" if tells_owner else "")
            ax.text((x0 + x1) / 2, (y0 + y1) / 2, text, ha="center", va="center", fontsize=8,
                    color=colour, bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
        ax.text(-4.3, 3.4, "Grey: the invitation is over; reconnecting needs a new one (I6).\n"
                "Red: the owner is told (I4).", fontsize=9, style="italic", va="top")
        ax.set_xlim(-4.5, 11)
        ax.set_ylim(-0.5, 3.5)
        ax.axis("off")
        ax.set_title("Reseller invitation states (SPEC I1), as the library moves them")
        plt.show()
        """,
    ),
    (
        "md",
        r"""
        **Two invitations, step by step.** The first is accepted and later disconnected by
        the owner: nobody is notified, the owner did it. The owner then invites again (I6);
        this time the reseller does nothing. One second before the 7 days are up the sweep
        changes nothing; at 7 days it expires the invitation and returns the notice the
        owner gets (I4). A click on Accept after that is refused with its own error (I3).
        """,
    ),
    (
        "code",
        r"""
        def show(at, what, invitation, notice=None):
            told = f"owner told: {notice.kind.value} ({notice.reseller_email})" if notice else ""
            print(f"{at:%Y-%m-%d %H:%M:%S}  {what:<11} -> {invitation.state.name:<13}{told}")


        first = invite("owner-1", "renewals@reseller.example", "Acme Hosting", sent_at,
                       current=None, invitation_id="inv-1")
        show(first.sent_at, "invite", first)
        first = accept(first, sent_at + timedelta(days=2))
        show(first.responded_at, "accept", first)
        first = disconnect(first, sent_at + timedelta(days=40))
        show(first.ended_at, "disconnect", first)

        second = invite("owner-1", "renewals@reseller.example", "Acme Hosting",
                        first.ended_at + timedelta(days=1), current=first, invitation_id="inv-2")
        print()
        show(second.sent_at, "invite", second)
        for at in (second.expires_at - timedelta(seconds=1), second.expires_at):
            second, notice = expire(second, at)
            show(at, "sweep", second, notice)
        try:
            accept(second, second.expires_at + hour)
        except UpslifeError as refused:
            print(f"\nAccept clicked too late: {type(refused).__name__}: {refused}")
        """,
    ),
    # ------------------------------------------------------------------ 4. forecast
    (
        "md",
        r"""
        ## 4. A fleet's renewal forecast

        **The rules (SPEC N1, R6, C1).** The lifecycle events of a fleet are also a budget:
        plan renewals (each day a paid plan ends, N1), battery replacements (E9), warranty
        expiries (an extension to buy, E8) and UPS upgrades (a UPS reaching its model's
        recommended service life). `budget_forecast` counts them month by month. Batteries
        already past their replace-by date and UPSs already past their service life are still
        needed: they are counted as *overdue* in the first month, drawn here as a bar of
        their own.

        **The sample fleet.** 40 devices of a few catalog models, registered between 2017
        and 2025 (seeded, so every run gives the same fleet). When the trial ends most
        customers buy a 1Y, 3Y or 5Y plan, and some keep renewing; most batteries were
        replaced on time, some were not. Battery life, warranty, service life and SKUs come
        from the shipped catalog.

        **Prices are data.** The library holds no prices: the price list below belongs to
        this notebook; it is illustrative, in euros, and not APC's list prices. A UPS at the
        end of its service life is quoted as a like-for-like replacement of the same model.
        """,
    ),
    (
        "code",
        r"""
        from upslife.entitlements import Term, register
        from upslife.reports import budget_forecast, renewal_rows, report_device, sorted_for_renewal

        FORECAST_START = date(2026, 1, 1)
        FLEET_MODELS = ("SMT750C", "SMT1500C", "SMT1500RM2UC", "SMT2200RM2UC", "SMT3000C",
                        "SMC1000C", "SMC1500C")
        PLAN_LICENSE_SKU = {Plan.STANDARD: "Standard plan license 1Y",
                            Plan.ADVANCED: "Advanced plan license 1Y"}
        PRICES = {  # illustrative, EUR
            "Standard plan license 1Y": Decimal("59"), "Advanced plan license 1Y": Decimal("119"),
            "RBC48": Decimal("190"), "RBC7": Decimal("290"), "APCRBC133": Decimal("330"),
            "RBC43": Decimal("520"), "RBC55": Decimal("480"), "RBC6": Decimal("230"),
            "WEXTWAR1YR-SP-01": Decimal("75"), "WEXTWAR1YR-SP-02": Decimal("105"),
            "WEXTWAR1YR-SP-03": Decimal("160"),
            # like-for-like replacement units, for UPSs at the end of their service life
            "SMT750C": Decimal("520"), "SMT1500C": Decimal("790"), "SMT1500RM2UC": Decimal("990"),
            "SMT2200RM2UC": Decimal("1650"), "SMT3000C": Decimal("1790"),
            "SMC1000C": Decimal("450"), "SMC1500C": Decimal("560"),
        }

        rng = random.Random(2026)
        fleet = []
        for n in range(40):
            model = CATALOG.get(rng.choice(FLEET_MODELS))
            registered_on = date(2017, 9, 1) + timedelta(days=rng.randrange(8 * 365))
            licenses = []
            if rng.random() < 0.7:  # a plan is bought when the trial ends, maybe renewed
                paid_until = coverage(registered_on).paid_until
                while paid_until < FORECAST_START:
                    plan = rng.choice((Plan.STANDARD, Plan.STANDARD, Plan.ADVANCED))
                    term = rng.choice(list(Term))
                    licenses.append(License.of(f"L{n}-{len(licenses)}", plan, term, paid_until))
                    paid_until = coverage(registered_on, licenses).paid_until
                    if rng.random() < 0.4:
                        break
            battery = Battery(registered_on)
            due = battery.replace_by(model.battery_life_months)
            while due < FORECAST_START and rng.random() < 0.75:  # replaced within 45 days
                replaced_on = due + timedelta(days=rng.randrange(45))
                battery = battery.installed(min(replaced_on, FORECAST_START - timedelta(days=1)))
                due = battery.replace_by(model.battery_life_months)
            registration = register(f"AS{n + 1:010d}", model.model, registered_on)
            fleet.append(report_device(registration, CATALOG, licenses=licenses, battery=battery,
                                       upgrade_sku=model.model))

        forecast = budget_forecast(fleet, FORECAST_START, 12, prices=PRICES,
                                   plan_license_sku=PLAN_LICENSE_SKU.__getitem__)
        print(f"{len(fleet)} devices, forecast from {forecast.start}: total {forecast.total} EUR, "
              f"complete: {forecast.complete}, missing prices: {list(forecast.missing_prices)}")
        """,
    ),
    (
        "code",
        r"""
        KINDS = {  # EventKind was imported in section 2
            EventKind.PLAN_EXPIRY: ("plan renewals", "#4e8fd6"),
            EventKind.BATTERY_REPLACEMENT: ("battery replacements", "#d64545"),
            EventKind.WARRANTY_EXPIRY: ("warranty extensions", "#f0b429"),
            EventKind.UPS_UPGRADE: ("UPS upgrades", "#6a4c93"),
        }

        # Column 0 holds what is already overdue on the start day, then one column a month.
        columns = ["overdue\nalready", *(f"{m.month:%b}\n{m.month:%Y}" for m in forecast.months)]
        cost = {kind: [0.0] * len(columns) for kind in KINDS}
        count = {kind: [0] * len(columns) for kind in KINDS}
        for index, month in enumerate(forecast.months, start=1):
            for line in month.lines:
                overdue_cost = line.unit_price * line.overdue
                cost[line.kind][0] += float(overdue_cost)
                cost[line.kind][index] += float(line.cost - overdue_cost)
                count[line.kind][0] += line.overdue
                count[line.kind][index] += line.count - line.overdue
        assert sum(map(sum, cost.values())) == forecast.total  # every euro is in the chart

        fig, (ax_cost, ax_count) = plt.subplots(2, 1, figsize=(13, 7.5), sharex=True,
                                                height_ratios=(2, 1))
        for ax, values in ((ax_cost, cost), (ax_count, count)):
            bottom = [0.0] * len(columns)
            for kind, (label, colour) in KINDS.items():
                ax.bar(columns, values[kind], bottom=bottom, label=label, color=colour)
                bottom = [b + v for b, v in zip(bottom, values[kind], strict=True)]
            ax.axvline(0.5, color="grey", linewidth=1, linestyle=":")
            ax.set_ylim(0, max(bottom) * 1.1)
        ax_cost.set_ylabel("EUR (illustrative prices)")
        ax_count.set_ylabel("events")
        ax_count.yaxis.get_major_locator().set_params(integer=True)
        ax_cost.legend(loc="upper right", fontsize=9)
        ax_cost.set_title(f"What {len(fleet)} UPSs will need in the 12 months from "
                          f"{forecast.start}: {forecast.total:,.0f} EUR in all")
        plt.show()
        """,
    ),
    (
        "md",
        r"""
        The same devices in MyRenewals, the report a reseller or a buyer works from (R2, R4):
        most urgent first, with the SKUs each device needs in the next 12 months. It has no
        operational data at all (no status, load or firmware): that is a privacy rule (R2).
        """,
    ),
    (
        "code",
        r"""
        rows = sorted_for_renewal(
            renewal_rows(fleet, FORECAST_START, plan_license_sku=PLAN_LICENSE_SKU.__getitem__)
        )
        print(f"{'serial':<13}{'model':<14}{'plan':<10}{'plan ends':<12}{'warranty':<12}"
              f"{'battery by':<12}{'due first':<12}SKUs needed")
        for row in rows[:10]:
            print(f"{row.serial:<13}{row.model:<14}{row.plan.title:<10}"
                  f"{row.plan_expires_on or '-'!s:<12}{row.warranty_expires_on!s:<12}"
                  f"{row.battery_replace_by!s:<12}{row.renewal_due_on or '-'!s:<12}"
                  f"{', '.join(row.skus_needed)}")
        print(f"... and {len(rows) - 10} more")
        """,
    ),
    # ------------------------------------------------------------------ 5. end to end
    (
        "md",
        r"""
        ## 5. End to end: a sweep and its emails

        The same rules, run by the application layer. An owner in Paris registers a UPS on
        2025-11-01 and invites a reseller, who accepts the next day. The store keeps, for
        each device, the next day it has a notice to send; the sweep of that day sends it to
        the owner and to the reseller (N6). The store here is the in-memory one shipped for
        tests (`MemoryStore`) and the emails are caught by `RecordingMail`; in production
        the store is SQLite or PostgreSQL, the mail goes out by SMTP, and the clock is real.
        """,
    ),
    (
        "code",
        r"""
        from upslife.app import FixedClock, Lifecycle
        from upslife.invitations import Keyring, SigningKey, TokenAction
        from upslife.ports import Owner
        from upslife.testing.fakes import RecordingMail
        from upslife.testing.memory import MemoryStore

        clock = FixedClock(datetime(2025, 11, 1, 9, 0, tzinfo=UTC))
        keyring = Keyring(SigningKey("notebook", secrets.token_bytes(32)))  # from configuration
        service = Lifecycle(MemoryStore(), clock=clock, keyring=keyring)
        mail = RecordingMail()


        def sweep_and_show():
            # Run the day's sweep and print the headers of the emails it sent.
            before = len(mail.sent)
            service.sweep(mail)
            for message in mail.sent[before:]:
                print()
                for header in ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe"):
                    if message[header] is not None:
                        print(f"{header}: {message[header]}")


        ada = Contact("Acme Hosting", "Ada Lovelace", "ops@acme.example", "IT manager",
                      "+33 1 23 45 67 89")
        service.add_owner(Owner(ada.email, ada, "Europe/Paris"))
        service.register_device(ada.email, "AS2511010001", "SMT1500C", on=date(2025, 11, 1))
        links = service.invite_reseller(ada.email, "renewals@reseller.example")
        print("== sweep of 2025-11-01: the invitation goes out")
        sweep_and_show()

        clock.advance(timedelta(days=1))
        service.respond(links.accept_token, TokenAction.ACCEPT)  # the reseller clicks Accept
        device = service.device("AS2511010001")
        print(f"\n{service.explain(device.serial)}")
        print(f"\n== sweep of {device.next_notice_on}, the device's next notice day")
        clock.set(datetime.combine(device.next_notice_on, time(9, 0), tzinfo=UTC))
        sweep_and_show()
        """,
    ),
    (
        "md",
        r"""
        The invitation names only the owner's company (N6). The first notice is the 90-day
        notice of the trial's end (E2, N2): the plan-expiry event of a device with no plan
        bought yet. It goes to the owner and, since the connection is accepted, to the
        reseller (N6, N7), whose copy carries a one-click unsubscribe link (I5). Each
        `Message-ID` is derived from the notice's idempotency key, so a sweep that is run
        twice sends nothing twice (N9).
        """,
    ),
]


def build() -> NotebookNode:
    """The notebook, clean: no outputs, no execution counts, fixed cell ids."""
    # nbformat's v4 constructors and writer are not annotated: hence the narrow ignores.
    notebook: NotebookNode = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for number, (kind, source) in enumerate(CELLS):
        text = textwrap.dedent(source).strip()
        cell: NotebookNode
        if kind == "md":
            cell = nbformat.v4.new_markdown_cell(text)  # type: ignore[no-untyped-call]
        elif kind == "code":
            cell = nbformat.v4.new_code_cell(text)  # type: ignore[no-untyped-call]
        else:
            raise ValueError(f"cell {number}: unknown kind {kind!r}")
        cell.id = f"cell-{number:02d}"
        notebook.cells.append(cell)
    nbformat.validate(notebook)
    return notebook


def render() -> str:
    """The notebook file's exact text."""
    text: str = nbformat.writes(build())  # type: ignore[no-untyped-call]
    return text + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write examples/product_owners.ipynb.")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the notebook differs from these cells"
    )
    parser.add_argument("--output", type=Path, default=NOTEBOOK, help="where to write it")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run examples/build_notebook.py", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
