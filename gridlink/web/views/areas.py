"""The area browser: districts down to grids, the hover card, and locating a point."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from gridlink.accounts.roles import Cap
from gridlink.geo.locator import PointOutsideGrids, locator
from gridlink.geo.models import Area, Level
from gridlink.web import selectors
from gridlink.web.forms import LocateForm
from gridlink.web.maps import area_map
from gridlink.web.views.common import capability_required, htmx_partial

if TYPE_CHECKING:
    from gridlink.web.views.common import AuthedRequest


@capability_required(Cap.AREA_VIEW)
def area_index(request: AuthedRequest) -> HttpResponse:
    districts = list(Area.objects.current().filter(level=Level.DISTRICT))
    if len(districts) == 1:
        return redirect("web:area_detail", code=districts[0].code)
    context = {
        "area": None,
        "rows": [selectors.AreaRow(d, selectors.area_totals(d)[0]) for d in districts],
        "map": area_map(districts),
        "locate_form": LocateForm(),
    }
    return render(request, "web/area_detail.html", context)


@capability_required(Cap.AREA_VIEW)
def area_detail(request: AuthedRequest, code: str) -> HttpResponse:
    area = get_object_or_404(Area, code=code)
    totals, rows = selectors.area_totals(area)
    shown, parent = selectors.map_children(area)
    context = {
        "area": area,
        "ancestors": selectors.ancestors_of(area),
        "totals": totals,
        "rows": rows,
        "map": area_map(shown, parent=parent, highlight=area if parent != area else None),
        "departments": selectors.departments_serving(area),
        "counts": selectors.registry_counts(request.user, area),
        "locate_form": LocateForm(),
    }
    return render(request, "web/area_detail.html", context)


@require_GET
@capability_required(Cap.AREA_VIEW)
def area_card(request: AuthedRequest, code: str) -> HttpResponse:
    area = get_object_or_404(Area, code=code)
    context = {
        "card": area,
        "card_totals": selectors.area_totals(area)[0],
        "card_counts": selectors.registry_counts(request.user, area),
    }
    return render(request, "web/area_detail.html#area-card", context)


@require_GET
@capability_required(Cap.AREA_VIEW)
def area_locate(request: AuthedRequest) -> HttpResponse:
    form = LocateForm(request.GET)
    chain: list[Area] = []
    svg = None
    if form.is_valid():
        lat, lon = form.point()
        try:
            refs = locator.locate(lat, lon)
        except PointOutsideGrids:
            form.add_error(
                None,
                _("No grid contains the point (%(lat)s, %(lon)s). Check the numbers.")
                % {"lat": lat, "lon": lon},
            )
        else:
            by_id = Area.objects.in_bulk([r.id for r in refs])
            chain = [by_id[r.id] for r in refs if r.id in by_id]
            if chain:
                shown, parent = selectors.map_children(chain[-1])
                svg = area_map(shown, parent=parent, highlight=chain[-1], point=(lat, lon))
    context = {"locate_form": form, "chain": chain, "located_map": svg}
    return render(request, htmx_partial(request, "web/locate.html", "locate"), context)
