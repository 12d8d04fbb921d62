"""The start page: a case manager's own caseload, a supervisor's dashboard, an admin's users;
a data protection officer starts at the log of emergency access, the state at the report."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import select

from kimdb import labels, views
from kimdb.audit.views import record_list_read
from kimdb.auth.models import Role, User
from kimdb.caseload import chart, rules, service
from kimdb.caseload.rules import EXPECTED_CM_SHARE, Band
from kimdb.extensions import db
from kimdb.labels import gettext as _
from kimdb.substitution import service as substitution

bp = Blueprint("caseload", __name__)


@bp.get("/")
@login_required
def start():
    """Show the start page that fits the user's role."""
    if current_user.role is Role.CASE_MANAGER:
        return _case_manager_start()
    if current_user.role is Role.DPO:
        return redirect(url_for("emergency.log"))
    if current_user.role is Role.STATE:  # the state sees aggregates only (issue 7 item 5)
        return redirect(url_for("reports.index"))
    if current_user.role is Role.SUPERVISOR:
        return _supervisor_start()
    users = db.session.scalars(
        select(User)
        .where(User.organisation_id == current_user.organisation_id)
        .order_by(User.role, User.display_name)
    ).all()
    return render_template("caseload/admin.html", users=users)


def _case_manager_start():
    sort = request.args.get("sort", "inactive")
    if sort not in service.SORT_KEYS:
        sort = "inactive"
    descending = request.args.get("dir") == "desc"
    own = service.own_cases(current_user, sort, descending)
    rows = own.rows
    names = labels.row_labels()
    inactivity_days = current_app.config["INACTIVITY_DAYS"]
    substituted = substitution.substituted_cases(current_user)
    # The page lists clients' names: a read of client data (issue 6 item 3).
    record_list_read("read:caseload.start", f"{len(rows) + len(substituted)} Fälle")
    return render_template(
        "caseload/case_manager.html",
        caseload=service.caseload_of_rows(current_user, rows, own.fte),
        rows=rows,
        sort=sort,
        descending=descending,
        inactivity_days=inactivity_days,
        inactive=service.inactive_count(rows, inactivity_days),
        open_rows=open_case_rows(rows, inactivity_days, names),
        due=own.due,
        substituted=substituted,
        median_lag=own.median_lag,
        lag_count=own.lag_count,
        expected_cm_share=EXPECTED_CM_SHARE,
        Band=Band,
        names=names,
        # translated once, not per due row (a lazy label translates at every use)
        due_states={state: str(name) for state, name in labels.FOLLOW_UP_STATE.items()},
    )


def open_case_rows(
    rows: list[service.OpenCaseRow], inactivity_days: int, names: dict[str, dict]
) -> Markup:
    """Return the HTML of the start page's open-case rows (``<tr>`` of number with link,
    client, kind, stage, opened, last consultation, days without activity with the
    "inaktiv" tag from ``inactivity_days`` on), in the order of ``rows``; ``names``: the
    request's ``labels.row_labels()``.

    Built in one pass, as the case list's rows (``kimdb.cases.views.result_rows``), instead of
    by a loop of the template that cost Jinja per row eight escapes, the labels' lookups, two
    filter calls and the link (issue 8, profiled: the loop was a third of the start page's
    rendering). The client's name and the number are escaped per row, each label once per
    kind and stage, each date formatted once (``labels.format_day``, the ``date`` filter).
    The HTML is exactly what the loop rendered (tests/integration/test_start_page_lists.py).
    """
    case_url = views.url_builder("cases.show")
    label = escape(_("inaktiv"))  # outside the f-string: pybabel does not look inside one
    tag = f' <span class="tag tag-warn">{label}</span>'
    inactive_class = ' class="row-inactive"'
    kinds = views.Memo(
        lambda kind: (
            f'<abbr title="{escape(names["kind"][kind])}">'
            f"{escape(names['kind_short'][kind])}</abbr>"
        )
    )
    stages = views.Memo(lambda stage: escape(names["stage"][stage]))
    days = views.Memo(labels.format_day)
    html = []
    for c in rows:
        kind, stage = kinds[c.kind], stages[c.stage]
        opened, last = days[c.opened_on], days[c.last_consultation_on]
        inactive = c.days_inactive >= inactivity_days
        html.append(
            f"\n      <tr{inactive_class if inactive else ''}>\n"
            f'        <td><a href="{escape(case_url(case_id=c.id))}">{escape(c.number)}</a></td>\n'
            f"        <td>{escape(c.client_name)}</td>\n"
            f"        <td>{kind}</td>\n"
            f"        <td>{stage}</td>\n"
            f"        <td>{opened}</td>\n"
            f"        <td>{last or '–'}</td>\n"
            f'        <td class="num">{c.days_inactive}{tag if inactive else ""}</td>\n'
            f"      </tr>\n    "
        )
    return Markup("".join(html))  # noqa: S704 - escaped above, cell by cell


def _supervisor_start():
    sort, descending = rules.parse_dashboard_sort(request.args.get("sort"), request.args.get("dir"))
    board = service.supervisor_dashboard(
        current_user, current_app.config["INACTIVITY_DAYS"], sort, descending
    )
    # The figures' texts, each worked out once per distinct value: a dashboard shows the same
    # bounds, FTEs and counts many times (issue 8, profiled: 430 numbers formatted).
    cases_text = views.Memo(labels.format_cases)
    return render_template(
        "caseload/supervisor.html",
        board=board,
        charts=_charts(board, cases_text),
        month_labels=[labels.format_month(day) for day in board.days],
        sort=sort,
        descending=descending,
        Band=Band,
        expected_cm_share=EXPECTED_CM_SHARE,
        cases_text=cases_text,
        fte_text=views.Memo(labels.format_fte),
        percent_text=views.Memo(labels.format_percent),
        lag_titles=views.Memo(
            lambda num: labels.ngettext(
                "%(num)s Gespräch in den letzten 30 Tagen",
                "%(num)s Gespräche in den letzten 30 Tagen",
                num,
            )
        ),
    )


def _charts(board: service.Dashboard, cases_text: views.Memo) -> dict[str, tuple[str, str]]:
    """Return section key → (SVG of open cases per person, SVG of the 12-month trend); the
    chart module escapes every text, so the template marks the markup safe.

    The texts of the bars are translated once and filled per bar, the month and day labels
    made once per day, the band bounds formatted once per value (``cases_text``): issue 8,
    profiled: 70 translations and 150 formatted numbers per dashboard before.
    """
    legend = chart.Legend(
        bar=_("offene Fälle"), band=_("Empfehlung (50–60 je VZÄ)"), above=_("über der Empfehlung")
    )
    # Without variables, ``_`` leaves the placeholders to be filled per bar.
    month_text = _("%(day)s: %(open)s offene Fälle, Empfehlung %(lower)s–%(upper)s")
    bar_texts = _BarTexts(
        _("%(name)s: %(open)s offene Fälle, Empfehlung %(lower)s–%(upper)s"),
        _("%(name)s (deaktiviert): %(open)s offene Fälle"),
        cases_text,
    )
    day_labels = {day: (labels.format_month(day), labels.format_day(day)) for day in board.days}
    charts = {}
    for group in board.groups:
        for section in group.sections:
            unit = section.team_name or _("ohne Team")
            people = [_person_bar(r, bar_texts) for r in section.rows]
            months = [
                chart.Bar(
                    day_labels[p.day][0],
                    p.open_cases,
                    float(p.lower),
                    float(p.upper),
                    month_text
                    % {
                        "day": day_labels[p.day][1],
                        "open": p.open_cases,
                        "lower": cases_text[p.lower],
                        "upper": cases_text[p.upper],
                    },
                )
                for p in board.trends[section.key]
            ]
            charts[section.key] = (
                chart.caseload_bars(
                    people,
                    _("Offene Fälle je Person gegenüber der Empfehlung: %(unit)s", unit=unit),
                    legend,
                )
                if people
                else "",
                chart.trend_chart(
                    months, _("Offene Fälle der letzten 12 Monate: %(unit)s", unit=unit), legend
                ),
            )
    return charts


@dataclass(frozen=True)
class _BarTexts:
    """The translated descriptions of a person's bar, placeholders unfilled."""

    active: str
    deactivated: str
    cases_text: views.Memo


def _person_bar(row: rules.CaseManagerFigures, texts: _BarTexts) -> chart.Bar:
    """A person's bar; a deactivated user holds no post, so their bar has no band."""
    if not row.active:
        return chart.Bar(
            row.name,
            row.open_cases,
            0,
            0,
            texts.deactivated % {"name": row.name, "open": row.open_cases},
        )
    return chart.Bar(
        row.name,
        row.open_cases,
        float(row.caseload.lower),
        float(row.caseload.upper),
        texts.active
        % {
            "name": row.name,
            "open": row.open_cases,
            "lower": texts.cases_text[row.caseload.lower],
            "upper": texts.cases_text[row.caseload.upper],
        },
    )
