"""The statistics report (issue 7): choose a scope and a period, read the report as a page with
charts, download its tables as CSV, the whole report as XLSX or PDF.

For coordination (supervisors: their team, organisation or county) and the state (statewide and
per county). Nobody else: case managers, administrators and the data protection officer get
403. The report holds only aggregates with small cells suppressed; nothing here lists a case
or a client (issue 7 items 2 and 5).

All routes are GET (nothing changes): the form's values are query parameters, so a report can be
bookmarked; bad values answer 422 with the form and German messages at the fields, a scope the
user may not see 403.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import format_decimal
from flask_login import current_user
from markupsafe import Markup

from kimdb.auth.models import Role
from kimdb.findings.labels import CATEGORY
from kimdb.i18n import lazy_gettext as _l
from kimdb.reports import charts, exports, rules, service
from kimdb.reports.findings import DESCRIPTIONS_PER_CELL, findings_section
from kimdb.reports.forms import ReportForm
from kimdb.reports.model import Cell, Report, Scope, ScopeKind
from kimdb.rules import RuleViolation
from kimdb.views import attach_error, role_required

bp = Blueprint("reports", __name__, url_prefix="/reports")

REPORT_ROLES = (Role.SUPERVISOR, Role.STATE)
FORM_KEYS = ("scope", "kind", "year", "number", "date_from", "date_to")


def scope_value(scope: Scope) -> str:
    """Return the form value of ``scope``: "state", or kind and id as "municipality:3"."""
    return scope.kind.value if scope.id is None else f"{scope.kind.value}:{scope.id}"


def _parse_scope(value: str) -> Scope | None:
    """Return the Scope a form value names (label empty), None if it names none."""
    kind, _, number = value.partition(":")
    try:
        scope_kind = ScopeKind(kind)
    except ValueError:
        return None
    if scope_kind is ScopeKind.STATE:
        return Scope(scope_kind, None, "") if not number else None
    if not number.isdigit() or not 0 < int(number) < 2**31:
        return None
    return Scope(scope_kind, int(number), "")


class _BadRequest(Exception):
    """The form's values do not make a report; the form carries the messages."""


def _read_form(form: ReportForm, scopes: list[Scope]):
    """Return (scope, period) from ``form``; raise _BadRequest with the messages put at the
    fields, or abort 403 for a scope the user may not see."""
    form.validate()  # parse errors of year and dates (German messages)
    chosen = (form.scope.data or "").strip()
    scope = None
    if not chosen:
        form.scope.errors = [*form.scope.errors, _l("Bitte einen Bereich wählen.")]
    else:
        scope = next((s for s in scopes if scope_value(s) == chosen), None)
        if scope is None:
            wanted = _parse_scope(chosen)
            if wanted is None:
                form.scope.errors = [
                    *form.scope.errors,
                    _l("Bitte einen Bereich aus der Liste wählen."),
                ]
            else:
                try:
                    scope = service.check_scope(current_user, wanted)
                except service.NotAllowed:
                    abort(403)
    period = None
    if not any(f.errors for f in form):
        try:
            period = rules.parse_period(
                form.kind.data,
                form.year.data,
                form.number_value(),
                form.date_from.data,
                form.date_to.data,
            )
        except RuleViolation as error:
            attach_error(form, error)
    if scope is None or period is None or any(f.errors for f in form) or form.form_errors:
        raise _BadRequest
    return scope, period


def _form_page(form: ReportForm, status: int):
    return render_template("reports/index.html", form=form), status


def _requested_report():
    """Return (report, findings section, query) for the request's values, or a response: the
    form with its messages (422)."""
    scopes = service.scopes_for(current_user)
    form = _form(scopes, submitted=True)
    try:
        scope, period = _read_form(form, scopes)
    except _BadRequest:
        return None, _form_page(form, 422)
    min_cell = current_app.config["STATS_MIN_CELL"]
    report = service.build_report(scope, period, min_cell)
    section = findings_section(scope, period, min_cell)
    report.tables.append(section.table)
    query = {k: request.args[k] for k in FORM_KEYS if request.args.get(k)}
    return (report, section, query), None


def _form(scopes: list[Scope], submitted: bool) -> ReportForm:
    form = ReportForm(formdata=request.args if submitted else None)
    form.scope.choices = [("", _l("– bitte wählen –"))] + [
        (scope_value(s), s.label) for s in scopes
    ]
    if not submitted and len(scopes) == 1:
        form.scope.data = scope_value(scopes[0])
    return form


def show_cell(cell: Cell, min_cell: int) -> Markup:
    """Return a table cell's content as HTML: the number in the locale's format, or the
    "< N" mark with its explanation (``abbr`` title)."""
    if cell.suppressed:
        title = _l(
            "Weniger als %(n)s Personen – oder unterdrückt, damit sich eine kleine Zahl nicht "
            "aus Summen zurückrechnen lässt.",
            n=min_cell,
        )
        return Markup('<abbr class="suppressed" title="{}">&lt; {}</abbr>').format(
            str(title), min_cell
        )
    if cell.value is None:
        return Markup("–")
    pattern = "#,##0" if float(cell.value).is_integer() else "#,##0.0"
    return Markup.escape(format_decimal(cell.value, pattern))


def _download(data: bytes, mimetype: str, name: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
@role_required(*REPORT_ROLES)
def index():
    """The form: scope (those the user may see) and period."""
    form = _form(service.scopes_for(current_user), submitted=False)
    return _form_page(form, 200)


@bp.get("/view")
@role_required(*REPORT_ROLES)
def view():
    """The report as a page: cover line, headline figures, every table with totals and
    charts, the structural findings with their descriptions, links to the exports."""
    result, error = _requested_report()
    if error:
        return error
    report, section, query = result
    return render_template(
        "reports/view.html",
        report=report,
        section=section,
        charts={t.key: charts.table_chart(t, report.min_cell) for t in report.tables},
        rule=exports.suppression_rule(report.min_cell),
        cut_off=exports.cut_off_text(report),
        cut_off_note=exports.cut_off_note(),
        show_cell=show_cell,
        query_string=urlencode(query),
        categories=CATEGORY,
        per_cell=DESCRIPTIONS_PER_CELL,
    )


@bp.get("/export.csv")
@role_required(*REPORT_ROLES)
def export_csv():
    """One table (``table=<key>``) as CSV in the German Excel dialect; 404 for an unknown key."""
    result, error = _requested_report()
    if error:
        return error
    report: Report = result[0]
    try:
        table = report.table(request.args.get("table", ""))
    except KeyError:
        abort(404)
    return _download(
        exports.to_csv(report, table), "text/csv", exports.filename(report, "csv", table)
    )


@bp.get("/export.xlsx")
@role_required(*REPORT_ROLES)
def export_xlsx():
    """The whole report as an XLSX workbook: cover sheet and one sheet per table."""
    result, error = _requested_report()
    if error:
        return error
    report: Report = result[0]
    return _download(
        exports.to_xlsx(report),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        exports.filename(report, "xlsx"),
    )


@bp.get("/export.pdf")
@role_required(*REPORT_ROLES)
def export_pdf():
    """The whole report as a PDF with figures, tables, charts and the findings' texts."""
    result, error = _requested_report()
    if error:
        return error
    report, section, _query = result
    texts = [(f"{CATEGORY[d.category]}: {d.agency}", d.text) for d in section.descriptions]
    return _download(
        exports.to_pdf(report, descriptions=texts),
        "application/pdf",
        exports.filename(report, "pdf"),
    )
