from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    name = "gridlink.assessment"
    verbose_name = _("Supervision and assessment")

    def ready(self) -> None:
        from gridlink.assessment.rollups import rollup_on_event
        from gridlink.cases.services.events import EVENT_LISTENERS

        if rollup_on_event not in EVENT_LISTENERS:
            EVENT_LISTENERS.append(rollup_on_event)
