"""German display names of the finding categories (Systemmanagement, FAQ KIM NRW Q32).

Through Flask-Babel like every label, so another language only needs its catalog.
"""

from __future__ import annotations

from kimdb.findings.models import FindingCategory
from kimdb.i18n import lazy_gettext as _l

CATEGORY = {
    FindingCategory.ACCESS: _l("Zugang / Erreichbarkeit"),
    FindingCategory.WAITING_TIMES: _l("Wartezeiten"),
    FindingCategory.LANGUAGE_BARRIER: _l("Sprachbarrieren / fehlende Sprachmittlung"),
    FindingCategory.MISSING_SERVICE: _l("Fehlendes Angebot"),
    FindingCategory.RESPONSIBILITY: _l("Ungeklärte Zuständigkeit / Schnittstellen"),
    FindingCategory.PROCEDURES: _l("Verfahren / Formulare / Digitalisierung"),
    FindingCategory.DISCRIMINATION: _l("Diskriminierung"),
    FindingCategory.COOPERATION: _l("Kooperation / Informationsfluss"),
    FindingCategory.OTHER: _l("Sonstiges"),
}
