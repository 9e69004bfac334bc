"""Who may do what with schemes, scorecards, bonuses and exemptions — small named predicates.

- create or publish a scheme, propose a bonus: a supervisor or administrator (any scope), or a
  superuser; review a bonus: the same, never its proposer;
- see schemes and scorecards: the oversight roles (supervisor, evaluator, administrator,
  dispatcher) and superusers;
- request an exemption: a dispatcher or supervisor whose area covers the case's grid, or a
  superuser; review it: a supervisor whose area covers the grid, or a superuser — never the
  person who asked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gridlink.accounts.permissions import area_roles, roles_in_area
from gridlink.accounts.roles import Role
from gridlink.assessment.selectors import OVERSIGHT

if TYPE_CHECKING:
    from gridlink.accounts.permissions import AnyUser
    from gridlink.assessment.models import Bonus, Exemption
    from gridlink.cases.models import Case

MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN})


def _active(actor: AnyUser) -> bool:
    return bool(actor.is_authenticated and actor.is_active)


def may_manage_schemes(actor: AnyUser) -> bool:
    if not _active(actor):
        return False
    return bool(actor.is_superuser) or any(r in MANAGERS for r, _p in area_roles(actor))


def may_view_scorecards(actor: AnyUser) -> bool:
    if not _active(actor):
        return False
    return bool(actor.is_superuser) or any(r in OVERSIGHT for r, _p in area_roles(actor))


def may_review_bonus(actor: AnyUser, bonus: Bonus) -> bool:
    return may_manage_schemes(actor) and bonus.requested_by_id != actor.pk


def may_request_exemption(actor: AnyUser, case: Case) -> bool:
    if not _active(actor):
        return False
    if actor.is_superuser:
        return True
    return bool(roles_in_area(actor, case.grid) & {Role.DISPATCHER, Role.SUPERVISOR})


def may_review_exemption(actor: AnyUser, exemption: Exemption) -> bool:
    if not _active(actor) or exemption.requested_by_id == actor.pk:
        return False
    if actor.is_superuser:
        return True
    return Role.SUPERVISOR in roles_in_area(actor, exemption.case.grid)
