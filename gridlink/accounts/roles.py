"""The roles of SPEC §1 and the capabilities each one carries.

A role is always held within a scope (an area subtree or a department); see
`gridlink.accounts.models.RoleAssignment`. What a role may do is the set of capability
strings below; `gridlink.accounts.permissions` answers "may this user do X here?".
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    RESIDENT = "resident", _("Resident")  # 居民
    GRID_WORKER = "grid_worker", _("Grid worker")  # 网格员
    COMMUNITY_STAFF = "community_staff", _("Community staff")  # 社区工作者
    STREET_STAFF = "street_staff", _("Street office staff")  # 街道办事处工作人员
    DISPATCHER = "dispatcher", _("Command-centre dispatcher")  # 街道/区指挥中心
    DEPT_HANDLER = "dept_handler", _("Department handler")  # 职能部门承办人
    DEPT_HEAD = "dept_head", _("Department head")  # 职能部门负责人
    HOTLINE_OPERATOR = "hotline_operator", _("Hotline operator")  # 12345 座席
    SUPERVISOR = "supervisor", _("Supervisor")  # 督查考核
    SOCIAL_ORG_MEMBER = "social_org_member", _("Social organisation member")
    EVALUATOR = "evaluator", _("Third-party evaluator")
    ADMIN = "admin", _("Administrator")


class Cap:
    """Capability names (one place, so a typo is an AttributeError, not a silent deny)."""

    AREA_VIEW = "area.view"
    REGISTRY_VIEW = "registry.view"
    REGISTRY_EDIT = "registry.edit"
    REGISTRY_UNMASK = "registry.unmask"
    REGISTRY_EXPORT = "registry.export"
    REGISTRY_IMPORT = "registry.import"
    REFERENCE_EDIT = "reference.edit"
    AUDIT_VIEW = "audit.view"


_STAFF_BASE = {Cap.AREA_VIEW}

CAPABILITIES: dict[str, frozenset[str]] = {
    Role.RESIDENT: frozenset({Cap.AREA_VIEW}),
    Role.GRID_WORKER: frozenset(
        _STAFF_BASE | {Cap.REGISTRY_VIEW, Cap.REGISTRY_EDIT, Cap.REGISTRY_UNMASK}
    ),
    Role.COMMUNITY_STAFF: frozenset(
        _STAFF_BASE
        | {Cap.REGISTRY_VIEW, Cap.REGISTRY_EDIT, Cap.REGISTRY_UNMASK, Cap.REGISTRY_EXPORT}
    ),
    Role.STREET_STAFF: frozenset(_STAFF_BASE | {Cap.REGISTRY_VIEW, Cap.REGISTRY_UNMASK}),
    Role.DISPATCHER: frozenset(_STAFF_BASE | {Cap.REGISTRY_VIEW, Cap.REGISTRY_UNMASK}),
    Role.DEPT_HANDLER: frozenset(_STAFF_BASE | {Cap.REGISTRY_VIEW}),
    Role.DEPT_HEAD: frozenset(_STAFF_BASE | {Cap.REGISTRY_VIEW, Cap.REGISTRY_UNMASK}),
    Role.HOTLINE_OPERATOR: frozenset(_STAFF_BASE),
    Role.SUPERVISOR: frozenset(_STAFF_BASE | {Cap.REGISTRY_VIEW, Cap.AUDIT_VIEW}),
    Role.SOCIAL_ORG_MEMBER: frozenset({Cap.AREA_VIEW}),
    Role.EVALUATOR: frozenset({Cap.AREA_VIEW}),
    Role.ADMIN: frozenset(
        _STAFF_BASE
        | {
            Cap.REGISTRY_VIEW,
            Cap.REGISTRY_EDIT,
            Cap.REGISTRY_UNMASK,
            Cap.REGISTRY_EXPORT,
            Cap.REGISTRY_IMPORT,
            Cap.REFERENCE_EDIT,
            Cap.AUDIT_VIEW,
        }
    ),
}

DEPARTMENT_ROLES = frozenset({Role.DEPT_HANDLER, Role.DEPT_HEAD})
"""Roles held within a department (a district department or one of its street stations,
such as a street's 城管中队): they act for cases whose unit is that department."""

AREA_OFFICE_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.STREET_STAFF})
"""Roles that act for an area office: community staff for a community (and its grids),
street office staff for a street (街道办事处)."""
