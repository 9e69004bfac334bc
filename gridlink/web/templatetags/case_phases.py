"""`{% case_phases case as phases %}`: the due times of a case's handling phases (multi-phase
deadlines, gridlink.cases.phases) for the staff case page; [] outside the handling stage."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from gridlink.cases.phases import PhaseDue
from gridlink.cases.phases import case_phases as phases_of_case

register = template.Library()


@register.simple_tag
def case_phases(case: Any) -> list[PhaseDue]:
    return phases_of_case(case, now=timezone.now())
