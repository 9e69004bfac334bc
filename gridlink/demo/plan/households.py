"""Who lives in a household: residence type, family members, birth dates and regions, tags.

Pure draws from the caller's `random.Random`; `gridlink.demo.plan.people` turns them into
resident records with unique ID numbers and mobiles.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from gridlink.demo.plan.tables import (
    AGE_ON,
    DISTRICT_CODE,
    LOCAL_REGIONS,
    OTHER_REGIONS,
    QINGDAO_REGIONS,
    SHANDONG_REGIONS,
    random_surname,
    weighted_choice,
)
from gridlink.registry.models import ResidenceType, Sex

_HOUSEHOLD_SIZES = ((1, 22), (2, 32), (3, 26), (4, 12), (5, 6), (6, 2))
# Where the ID numbers of each residence type were issued (GB/T 2260 region codes).
_HOME_REGIONS = {
    ResidenceType.REGISTERED: LOCAL_REGIONS,
    ResidenceType.PERMANENT: QINGDAO_REGIONS + SHANDONG_REGIONS,
    ResidenceType.FLOATING: SHANDONG_REGIONS + OTHER_REGIONS + OTHER_REGIONS,
}
_MARRIED_IN = ("配偶", "父母")  # relations to the head who carry the spouse's surname


@dataclass(frozen=True, slots=True)
class Member:
    relation_to_head: str
    sex: str
    age: int


@dataclass(frozen=True, slots=True)
class HouseholdMakeup:
    residence_type: str
    members: list[Member]  # head first
    subsistence: bool  # the household receives the subsistence allowance (低保)
    surname: str
    spouse_surname: str
    home_region: str

    def surname_of(self, member: Member) -> str:
        married_in = member.relation_to_head in _MARRIED_IN
        return self.spouse_surname if married_in else self.surname


def household_makeup(rng: random.Random, *, urban: bool) -> HouseholdMakeup:
    """Draw one household; floating residents are likelier in urban grids."""
    roll = rng.random()
    floating_share = 0.2 if urban else 0.05
    if roll < floating_share:
        kind = ResidenceType.FLOATING
    elif roll < floating_share + 0.1:
        kind = ResidenceType.PERMANENT
    else:
        kind = ResidenceType.REGISTERED
    size = weighted_choice(rng, _HOUSEHOLD_SIZES)
    head_sex = "M" if rng.random() < 0.7 else "F"
    if kind == ResidenceType.FLOATING:
        head_age = round(rng.triangular(20, 55, 30))
    else:
        head_age = round(rng.triangular(23, 92, 45))
    if size == 1 and head_age > 70:
        head_sex = "F" if rng.random() < 0.6 else "M"
    members = _family(rng, size, head_sex, head_age)
    subsistence = rng.random() < 0.02
    surname = random_surname(rng)
    spouse_surname = random_surname(rng)
    home_region = rng.choice(_HOME_REGIONS[kind])
    return HouseholdMakeup(kind, members, subsistence, surname, spouse_surname, home_region)


def birth_date_and_region(
    rng: random.Random, household: HouseholdMakeup, member: Member
) -> tuple[dt.date, str]:
    """A birth date giving `member` their age on `AGE_ON`, and the region of their ID number."""
    age = member.age
    born = AGE_ON - dt.timedelta(days=age * 365 + rng.randrange(365) + age // 4)
    region = household.home_region
    if household.residence_type == ResidenceType.REGISTERED:
        # 370284 (the former Jiaonan city) merged into the district in 2012.
        region = DISTRICT_CODE if born.year >= 2012 else rng.choice(LOCAL_REGIONS)
    return born, region


def _family(rng: random.Random, size: int, head_sex: str, head_age: int) -> list[Member]:
    """The `size` members of a household, head first."""
    other = "F" if head_sex == "M" else "M"
    members = [Member("户主", head_sex, head_age)]
    if size >= 2:
        if rng.random() < 0.85:
            members.append(Member("配偶", other, max(20, head_age + rng.randint(-5, 3))))
        else:
            members.append(Member("子女", rng.choice("MF"), max(0, head_age - rng.randint(22, 34))))
    while len(members) < size:
        sex = rng.choice("MF")
        if head_age < 45 and rng.random() < 0.3:
            members.append(Member("父母", sex, min(96, head_age + rng.randint(24, 32))))
        elif head_age >= 58 and rng.random() < 0.5:
            members.append(Member("孙子女", sex, rng.randint(0, 16)))
        else:
            members.append(Member("子女", sex, max(0, head_age - rng.randint(22, 36))))
    return members


def resident_tags(
    rng: random.Random, household: HouseholdMakeup, member: Member
) -> tuple[str, ...]:
    """The codes of the tags (`tables.TAGS`) that `member` carries."""
    sex, age = member.sex, member.age
    size, subsistence = len(household.members), household.subsistence
    tags = []
    if age >= 18 and rng.random() < 0.09:
        tags.append("party_member")
    if 14 <= age <= 75 and rng.random() < 0.06:
        tags.append("volunteer")
    if sex == Sex.MALE and age >= 30 and rng.random() < 0.04:
        tags.append("veteran")
    if subsistence:
        tags.append("subsistence")
    if rng.random() < (0.06 if age >= 65 else 0.015):
        tags.append("disability")
    if age >= 40 and rng.random() < 0.02:
        tags.append("serious_illness")
    if (age >= 70 and size == 1 and rng.random() < 0.6) or rng.random() < 0.004:
        tags.append("special_care")
    if age < 14:
        tags.append("minor_under_14")
    if age >= 18 and rng.random() < 0.002:
        tags.append("petition")
    return tuple(tags)
