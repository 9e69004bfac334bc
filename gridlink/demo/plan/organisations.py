"""Organisations in the demo district: the mix of kinds by kind of grid, and each
organisation's name, size and unified social credit code."""

from __future__ import annotations

import random

from gridlink.core.validators import make_credit_code
from gridlink.demo.plan.areas import AreaPlan
from gridlink.demo.plan.tables import (
    BRANDS,
    DISTRICT_CODE,
    ESTATE_SUFFIXES,
    INDUSTRIES,
    PRODUCTS,
    SHOP_TYPES,
    SOCIAL_THEMES,
    random_surname,
    weighted_choice,
)
from gridlink.geo.models import AreaKind
from gridlink.registry.models import OrganisationKind

# Weighted kinds of organisation by grid profile ("urban", "rural" or "enterprise").
_ORG_KINDS = {
    "urban": (
        (OrganisationKind.SHOP, 45),
        (OrganisationKind.ENTERPRISE, 25),
        (OrganisationKind.SOCIAL_ORG, 10),
        (OrganisationKind.SCHOOL, 6),
        (OrganisationKind.PUBLIC_INSTITUTION, 8),
        (OrganisationKind.GOVERNMENT, 4),
        (OrganisationKind.OTHER, 2),
    ),
    "rural": (
        (OrganisationKind.SHOP, 40),
        (OrganisationKind.ENTERPRISE, 35),
        (OrganisationKind.SOCIAL_ORG, 5),
        (OrganisationKind.SCHOOL, 8),
        (OrganisationKind.PUBLIC_INSTITUTION, 8),
        (OrganisationKind.GOVERNMENT, 4),
    ),
    "enterprise": (
        (OrganisationKind.ENTERPRISE, 80),
        (OrganisationKind.SHOP, 15),
        (OrganisationKind.OTHER, 5),
    ),
}
_GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def random_organisation_kind(rng: random.Random, profile: str) -> str:
    return weighted_choice(rng, _ORG_KINDS[profile])


def random_credit_code(rng: random.Random, prefix: str) -> str:
    """A unified social credit code registered in the district, starting with `prefix`."""
    return make_credit_code(f"{prefix}{DISTRICT_CODE}{_organisation_code(rng)}")


def _organisation_code(rng: random.Random) -> str:
    """A 9-character organisation code (GB 11714) with its check character."""
    body = "".join(rng.choice(_ORG_CODE_CHARS) for _ in range(8))
    total = sum(int(c, 36) * w for c, w in zip(body, _GB11714_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def organisation_identity(
    rng: random.Random, kind: str, street: AreaPlan, community: AreaPlan
) -> tuple[str, str, int]:
    """(name, first two credit-code characters, employees) for an organisation of `kind`."""
    place = community.name_zh.removesuffix("社区").removesuffix("村")
    brand = rng.choice(BRANDS)
    if kind == OrganisationKind.ENTERPRISE:
        if community.kind == AreaKind.VILLAGE and rng.random() < 0.3:
            name = f"青岛西海岸新区{place}{rng.choice(PRODUCTS)}专业合作社"
            return name, "93", rng.randint(5, 40)
        name = f"青岛{brand}{rng.choice(INDUSTRIES)}有限公司"
        return name, "91", int(rng.lognormvariate(3.5, 1.0)) + 5
    if kind == OrganisationKind.SHOP:
        owner = rng.choice((brand, f"{random_surname(rng)}记", f"老{random_surname(rng)}"))
        return f"黄岛区{owner}{rng.choice(SHOP_TYPES)}", "92", rng.randint(1, 8)
    if kind == OrganisationKind.SCHOOL:
        level = rng.choice(("小学", "小学", "初级中学", "幼儿园", "幼儿园"))
        if rng.random() < 0.3:
            return f"青岛西海岸新区{brand}{level}", "52", rng.randint(15, 80)
        return f"青岛西海岸新区{place}{level}", "12", rng.randint(20, 150)
    if kind == OrganisationKind.SOCIAL_ORG:
        theme = rng.choice(SOCIAL_THEMES)
        name, prefix = rng.choice(
            (
                (f"青岛西海岸新区{theme}社会工作服务中心", "52"),
                (f"{community.name_zh}志愿者协会", "51"),
                (f"青岛西海岸新区{theme}公益基金会", "53"),
                (f"青岛西海岸新区{place}养老服务中心", "52"),
            )
        )
        return name, prefix, rng.randint(2, 30)
    if kind == OrganisationKind.PUBLIC_INSTITUTION:
        unit = rng.choice(("社区卫生服务中心", "综合文化站", "便民服务中心", "农业技术推广站"))
        return f"{street.name_zh}{unit}", "12", rng.randint(8, 80)
    if kind == OrganisationKind.GOVERNMENT:
        unit = rng.choice(("司法所", "财政所", "人民武装部", "退役军人服务站"))
        return f"{street.name_zh}{unit}", "11", rng.randint(4, 30)
    return f"{brand}{rng.choice(ESTATE_SUFFIXES)}业主委员会", "Y1", rng.randint(0, 7)
