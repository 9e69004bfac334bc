"""factory_boy factories for every model the tests build."""

from __future__ import annotations

import datetime as dt

import factory

from gridlink.accounts.models import ApiToken, RoleAssignment, User
from gridlink.accounts.roles import Role
from gridlink.core.validators import make_credit_code, make_id_number
from gridlink.geo.models import Area, AreaKind, Department, DepartmentKind, Level
from gridlink.registry.models import Building, BuildingUse, Household, Organisation, Resident, Tag


def square(lon0: float, lat0: float, lon1: float, lat1: float) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]],
    }


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Faker("name", locale="zh_CN")
    password = factory.django.Password("pass-word-123")


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area

    level = Level.DISTRICT
    kind = AreaKind.DISTRICT
    code = "370211"
    name_zh = factory.Sequence(lambda n: f"区域{n}")
    valid_from = dt.date(2020, 1, 1)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    code = factory.Sequence(lambda n: f"D{n:03d}")
    name_zh = factory.Sequence(lambda n: f"部门{n}")
    kind = DepartmentKind.URBAN_MANAGEMENT


class RoleAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleAssignment

    user = factory.SubFactory(UserFactory)
    role = Role.GRID_WORKER
    valid_from = dt.date(2020, 1, 1)


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"tag{n}")
    name_zh = factory.Sequence(lambda n: f"标签{n}")


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Building

    address_code = factory.Sequence(lambda n: f"A{n:010d}")
    address = factory.Sequence(lambda n: f"测试路{n}号")
    lat = 35.9
    lon = 120.1
    use = BuildingUse.RESIDENTIAL


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    number = factory.Sequence(lambda n: f"H{n:08d}")


class ResidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resident

    id_number = factory.Sequence(
        lambda n: make_id_number("370211", dt.date(1980, 1, 1) + dt.timedelta(days=n), n)
    )
    name = factory.Faker("name", locale="zh_CN")
    sex = "M"
    birth_date = dt.date(1980, 1, 1)
    phone = factory.Sequence(lambda n: f"138{n:08d}")


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    credit_code = factory.Sequence(lambda n: make_credit_code(f"91370211{n:09d}"))
    name = factory.Sequence(lambda n: f"测试企业{n}有限公司")
    kind = "enterprise"
    contact_phone = factory.Sequence(lambda n: f"139{n:08d}")


class ApiTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiToken

    name = "test client"
