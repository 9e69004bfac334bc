"""The demo district as a plan: areas with polygons, departments, tags, users and people.

Pure and deterministic: everything comes from `random.Random` seeded with (scale, seed),
and nothing touches the database (`gridlink.demo.seed` writes a plan). The same scale and
seed always give the same codes, names, ID numbers and credit codes.

Geometry tiles exactly. Grid cells are the Voronoi cells of seeded points clipped to a
fixed, irregular outline of the district; communities are unions of their grids, streets
unions of their communities, the district the union of its streets. Every overlay runs on
a 1e-7° precision grid (about 1 cm), so neighbours share their edges exactly.

People are generated one grid at a time (`DemoPlan.populations()`), so a district-scale
plan of half a million residents never sits in memory at once.

Which module holds what:

- `build`: `build_plan` and `DemoPlan`, which tie the rest together.
- `tables`: names and reference tables (streets, name pools, ID regions, departments,
  tags), the two scales, and drawing names and mobiles from the tables.
- `geometry`: the district outline, Voronoi tiling, snapping to the precision grid.
- `areas`: the district, streets and towns, communities and villages, and grids.
- `staff`: departments, street stations and the demo users.
- `people`: each grid's buildings, households, residents and organisations, with unique
  identifiers; `households` and `organisations` draw who lives and works there.
"""

from gridlink.demo.plan.areas import AreaPlan
from gridlink.demo.plan.build import DemoPlan, build_plan
from gridlink.demo.plan.people import (
    BuildingPlan,
    GridPopulation,
    HouseholdPlan,
    OrganisationPlan,
    ResidentPlan,
)
from gridlink.demo.plan.staff import DEMO_LOGINS, DepartmentPlan, UserPlan
from gridlink.demo.plan.tables import DEMO_PASSWORD, SCALES, VALID_FROM, TagPlan

__all__ = [
    "DEMO_LOGINS",
    "DEMO_PASSWORD",
    "SCALES",
    "VALID_FROM",
    "AreaPlan",
    "BuildingPlan",
    "DemoPlan",
    "DepartmentPlan",
    "GridPopulation",
    "HouseholdPlan",
    "OrganisationPlan",
    "ResidentPlan",
    "TagPlan",
    "UserPlan",
    "build_plan",
]
