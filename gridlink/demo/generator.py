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
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import shapely
from shapely.geometry import LineString, MultiPoint, Polygon, mapping

from gridlink.accounts.roles import Role
from gridlink.core.validators import make_credit_code, make_id_number
from gridlink.geo.models import AreaKind, DepartmentKind, GridType, Level
from gridlink.registry.models import BuildingUse, OrganisationKind, ResidenceType, Sex

DEMO_PASSWORD = "gridlink-demo"  # noqa: S105  (the published password of the demo users)
DISTRICT_CODE = "370211"
VALID_FROM = dt.date(2020, 1, 1)
AGE_ON = dt.date(2025, 1, 1)  # ages are counted on this day, so a plan never drifts in time
PRECISION = 1e-7  # degrees; every polygon vertex sits on this grid
SCALES = ("small", "district")

Geom = Any  # shapely geometries carry no type information


# --- Reference tables ------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# A hand-drawn outline of the West Coast New Area (lon, lat), counter-clockwise from the
# border with Rizhao; edges 1–14 follow the coast.
_OUTLINE = [
    (119.60, 35.62), (119.72, 35.58), (119.85, 35.56), (119.93, 35.60), (119.97, 35.66),
    (120.02, 35.72), (120.07, 35.78), (120.05, 35.84), (120.12, 35.88), (120.17, 35.92),
    (120.22, 35.95), (120.30, 35.97), (120.34, 36.02), (120.30, 36.06), (120.24, 36.08),
    (120.19, 36.12), (120.10, 36.14), (120.00, 36.13), (119.90, 36.15), (119.80, 36.10),
    (119.72, 36.04), (119.66, 35.95), (119.62, 35.85), (119.60, 35.74),
]  # fmt: skip
_COAST_EDGES = range(1, 15)


@dataclass(frozen=True, slots=True)
class _StreetSpec:
    name_zh: str
    name_en: str
    town: bool
    lon: float
    lat: float


def _street(zh: str, en: str, lon: float, lat: float) -> _StreetSpec:
    town = zh.endswith("镇")
    return _StreetSpec(zh, f"{en} {'Town' if town else 'Subdistrict'}", town, lon, lat)


STREETS = (
    _street("黄岛街道", "Huangdao", 120.290, 36.040),
    _street("辛安街道", "Xin'an", 120.200, 36.050),
    _street("薛家岛街道", "Xuejiadao", 120.270, 35.990),
    _street("长江路街道", "Changjiang Road", 120.215, 35.975),
    _street("灵珠山街道", "Lingzhushan", 120.140, 35.990),
    _street("红石崖街道", "Hongshiya", 120.150, 36.100),
    _street("凤凰岛街道", "Fenghuangdao", 120.320, 36.015),
    _street("积米崖街道", "Jimiya", 120.185, 35.940),
    _street("灵山卫街道", "Lingshanwei", 120.100, 35.920),
    _street("隐珠街道", "Yinzhu", 120.030, 35.885),
    _street("珠海街道", "Zhuhai", 120.070, 35.850),
    _street("胶南街道", "Jiaonan", 120.010, 35.930),
    _street("滨海街道", "Binhai", 120.020, 35.780),
    _street("珠山街道", "Zhushan", 119.965, 35.840),
    _street("铁山街道", "Tieshan", 120.060, 36.060),
    _street("胶河街道", "Jiaohe", 119.930, 36.080),
    _street("王台镇", "Wangtai", 119.980, 36.000),
    _street("张家楼镇", "Zhangjialou", 119.900, 35.900),
    _street("宝山镇", "Baoshan", 119.840, 36.030),
    _street("六汪镇", "Liuwang", 119.760, 35.960),
    _street("黄山镇", "Huangshan", 119.700, 35.860),
    _street("大村镇", "Dacun", 119.800, 35.840),
    _street("藏南镇", "Zangnan", 119.890, 35.760),
    _street("海青镇", "Haiqing", 119.680, 35.700),
    _street("大场镇", "Dachang", 119.950, 35.680),
    _street("泊里镇", "Boli", 119.800, 35.660),
    _street("琅琊镇", "Langya", 119.920, 35.630),
)

SURNAMES = (
    ("王", 85), ("张", 75), ("李", 70), ("刘", 60), ("孙", 35), ("杨", 32), ("赵", 30),
    ("陈", 30), ("徐", 25), ("薛", 20), ("于", 20), ("高", 20), ("丁", 18), ("宋", 18),
    ("姜", 16), ("郭", 13), ("马", 13), ("周", 13), ("韩", 10), ("崔", 10), ("黄", 10),
    ("吴", 10), ("胡", 9), ("朱", 9), ("林", 9), ("董", 8), ("许", 8), ("郑", 8), ("曹", 7),
    ("冯", 7), ("田", 7), ("臧", 6), ("范", 6), ("邵", 6), ("何", 6), ("梁", 6), ("苏", 6),
    ("贾", 6), ("魏", 6), ("逄", 5), ("管", 5), ("纪", 5), ("袁", 5), ("卢", 5), ("谢", 5),
    ("牟", 4), ("滕", 4), ("匡", 3), ("殷", 3), ("褚", 3),
)  # fmt: skip
_SURNAME_CHARS = [s for s, _ in SURNAMES]
_SURNAME_CUM = [sum(w for _, w in SURNAMES[: i + 1]) for i in range(len(SURNAMES))]

# Given names by sex and generation: born before 1965, before 2000, from 2000.
_GIVEN = {
    ("M", 0): "建国 国庆 建华 志强 德福 玉山 振华 保国 学军 永胜 洪亮 文明 春生 立新 宝林 "
    "庆丰 树林 金山 军 强 华 明 平 刚 勇 林 山 海 胜 波 福 成",
    ("M", 1): "伟 磊 鹏 超 杰 浩 亮 辉 飞 斌 鑫 凯 健 涛 帅 龙 志刚 海涛 晓东 建军 俊杰 "
    "文博 永强 国栋 立伟 宏伟 春雷 明亮 东升 家乐 成龙 海波",
    ("M", 2): "浩然 宇轩 子轩 梓豪 俊熙 一鸣 博文 皓轩 子墨 铭泽 睿 宸 浩宇 天佑 沐辰 "
    "奕辰 梓睿 思远 嘉豪 俊宇 明轩 锦程 泽宇 航",
    ("F", 0): "秀英 桂英 桂兰 玉兰 秀兰 凤英 淑珍 秀珍 玉珍 桂芳 兰英 春兰 玉梅 秀云 "
    "翠花 凤兰 淑芬 玉芬 秀芳 美华",
    ("F", 1): "丽 静 敏 艳 芳 娜 霞 娟 燕 红 玲 丹 莉 萍 晓燕 海燕 丽娜 晓丽 雪梅 春燕 "
    "婷 倩 慧 颖 佳 秀娟 文静 美玲",
    ("F", 2): "梓涵 欣怡 子涵 雨桐 一诺 诗涵 紫涵 语桐 可欣 梓萱 思琪 若汐 雨萱 艺涵 "
    "佳怡 芷若 依诺 沐瑶 安琪 欣妍",
}
GIVEN_NAMES = {key: tuple(value.split()) for key, value in _GIVEN.items()}

# Resident ID region codes (GB/T 2260). 370284 is the former Jiaonan city, merged in 2012.
_LOCAL_REGIONS = ("370211", "370211", "370211", "370284")
_QINGDAO_REGIONS = ("370202", "370203", "370212", "370213", "370214", "370281", "370283")
_SHANDONG_REGIONS = ("371122", "371321", "370782", "371426", "370725", "371525", "371722")
_OTHER_REGIONS = (
    "410122", "411321", "341221", "320324", "230223", "220122", "510823", "522124",
    "130524", "140521", "612401", "421126", "362321",
)  # fmt: skip
_MOBILE_PREFIXES = _words(
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "166 176 177 178 180 181 182 183 185 186 187 188 189 198 199"
)

_COMMUNITY_STEMS = _words(
    "长江 珠江 黄河 嵩山 泰山 庐山 峨眉山 五台山 井冈山 武夷山 香江 紫金山 滨海 海滨 "
    "金沙滩 银沙滩 唐岛湾 积米崖 安子 南岛 北岛 阿里山 太行山 昆仑山 衡山 华山 恒山 "
    "嘉陵江 漓江 松花江 辽河 淮河 珠山 隐珠 富春江 钱塘江 太湖 洞庭湖 鄱阳湖 青云 福瀛 "
    "海韵 海怡 东岳 兴华 和平 建设 振华 幸福 阳光 文化 盛世 锦绣 明珠 星光 翠湖 绿岛 "
    "新城 金海 银海 海港 渔港 灵港 凤凰 双珠 琅琊 望海 听涛 观澜 映月 朝阳"
)
_COMMUNITY_SUFFIXES = ("", "路", "花园", "新村", "苑", "湾", "东", "西", "南", "北")
_VILLAGE_PLACES = _words(
    "石 沟 河 岭 泉 山 营 台 埠 崖 柳 槐 杨 桃 枣 梨 松 竹 龙 凤 马 牛 鹿 莲 荷 "
    "黄 白 青 红 朱 金 银 铁 官 王 皇 古 寨"
)
_VILLAGE_SUFFIXES = _words(
    "庄 沟 屯 岭 河 疃 崖 洼 埠 官庄 泊 台 营 店 集 夼 岚 头 家 口 窑 前 后 楼"
)
_DIRECTIONS = _words("东 西 南 北 前 后 大 小 上 下 中")
_ROADS = _words(
    "长江中路 长江东路 长江西路 井冈山路 珠江路 嘉陵江路 香江路 庐山路 峨眉山路 武夷山路 "
    "太行山路 五台山路 昆仑山路 衡山路 黄河东路 漓江路 紫金山路 前湾港路 江山南路 江山中路 "
    "滨海大道 海西路 人民路 珠山路 灵山湾路 泰山路 大珠山路 隐珠山路 双珠路 王台路 海滨大道 "
    "唐岛湾路 薛家岛路 凤凰山路 阿里山路 松花江路 淮河东路 辽河路 海南岛路 富春江路 "
    "钱塘江路 齐长城路 红石崖路 东岳路 世纪大道 金沙滩路 银沙滩路 琅琊台路 积米崖路 "
    "月亮湾路 朝阳山路 武当山路 太白山路 九华山路 普陀山路 峨眉山南路 灵海路 海王路"
)
_ESTATE_SUFFIXES = ("花园", "小区", "苑", "新城", "家园", "公寓", "名邸", "雅居")
_BRANDS = _words(
    "海润 恒通 鑫源 华泰 瑞丰 金诺 宏达 德盛 永兴 众诚 海川 中联 天润 博远 佳和 泰丰 "
    "裕隆 海晟 凯利 新元 鲁海 琴岛 港达 盛和 汇通 远洋 诚信 蓝海 东方 嘉禾"
)
_INDUSTRIES = _words(
    "机械 电子 食品 物流 建材 船舶配件 海洋生物 纺织 贸易 科技 化工 家居 橡胶 物业管理 "
    "装饰工程 供应链 汽车零部件 海产品 新材料 软件"
)
_SHOP_TYPES = _words(
    "便利店 超市 水饺馆 理发店 大药房 五金店 烟酒店 海鲜店 面馆 烧烤店 洗衣店 水果店 "
    "早餐店 修车行 通讯店 茶叶店 家电维修部 快递服务站"
)
_SOCIAL_THEMES = _words("益邻 和美 同心 暖阳 乐龄 知行 向阳 善德 邻里 悦心 春晖 博爱")
_PRODUCTS = _words("茶叶 蓝莓 果蔬 蔬菜 食用菌 渔业 樱桃 花生")


@dataclass(frozen=True, slots=True)
class _DeptSpec:
    code: str
    name_zh: str
    name_en: str
    kind: str


DISTRICT_DEPARTMENTS = (
    _DeptSpec("CG", "区城市管理局", "Urban Management Bureau", DepartmentKind.URBAN_MANAGEMENT),
    _DeptSpec(
        "ZJ", "区住房和城乡建设局", "Housing and Construction Bureau", DepartmentKind.HOUSING
    ),
    _DeptSpec(
        "STHJ", "市生态环境局黄岛分局", "Ecology and Environment Branch", DepartmentKind.ECOLOGY
    ),
    _DeptSpec("SCJG", "区市场监督管理局", "Market Regulation Bureau", DepartmentKind.MARKET),
    _DeptSpec("GA", "市公安局黄岛分局", "Public Security Branch", DepartmentKind.PUBLIC_SECURITY),
    _DeptSpec("SW", "区水务局", "Water Bureau", DepartmentKind.WATER),
    _DeptSpec("JT", "区交通运输局", "Transport Bureau", DepartmentKind.TRANSPORT),
    _DeptSpec("MZ", "区民政局", "Civil Affairs Bureau", DepartmentKind.CIVIL_AFFAIRS),
    _DeptSpec("WJ", "区卫生健康局", "Health Bureau", DepartmentKind.HEALTH),
    _DeptSpec("YJ", "区应急管理局", "Emergency Management Bureau", DepartmentKind.EMERGENCY),
    _DeptSpec(
        "ZHZX", "区社会治理指挥中心", "District Command Centre", DepartmentKind.COMMAND_CENTRE
    ),
)
# Street-level stations: (code suffix, name suffix, English, kind, district parent).
_STATIONS = (
    ("CG", "城管中队", "Urban Management Squad", DepartmentKind.URBAN_MANAGEMENT, "CG"),
    ("GA", "派出所", "Police Station", DepartmentKind.PUBLIC_SECURITY, "GA"),
    ("SC", "市场监管所", "Market Regulation Office", DepartmentKind.MARKET, "SCJG"),
)


@dataclass(frozen=True, slots=True)
class TagPlan:
    code: str
    name_zh: str
    name_en: str
    sensitive: bool = False
    granted_roles: tuple[str, ...] = ()


TAGS = (
    TagPlan("party_member", "党员", "Party member"),
    TagPlan("volunteer", "志愿者", "Volunteer"),
    TagPlan("veteran", "退役军人", "Veteran"),
    TagPlan("subsistence", "低保", "Subsistence allowance"),
    TagPlan("disability", "残疾", "Disability", True, (Role.COMMUNITY_STAFF, Role.GRID_WORKER)),
    TagPlan("serious_illness", "重病", "Serious illness", True, (Role.COMMUNITY_STAFF,)),
    TagPlan(
        "special_care", "特殊关爱", "Special care", True, (Role.COMMUNITY_STAFF, Role.GRID_WORKER)
    ),
    TagPlan(
        "minor_under_14", "未成年人(14岁以下)", "Minor under 14", True, (Role.COMMUNITY_STAFF,)
    ),
    TagPlan("petition", "信访", "Petition party", True, (Role.DISPATCHER, Role.SUPERVISOR)),
)


# --- Scales ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScaleConfig:
    """How big the demo district is; ranges are inclusive (low, high)."""

    name: str
    streets: tuple[str, ...]  # names from STREETS
    communities_per_street: tuple[int, int]
    villages_per_town: tuple[int, int]
    town_seats: int  # communities (社区) at the seat of each town
    urban_grids: tuple[int, ...]  # grids per urban community, drawn uniformly from these
    village_grids: tuple[int, ...]
    urban_households: tuple[int, int]  # per ordinary urban grid
    rural_households: tuple[int, int]  # per ordinary rural grid
    floors: tuple[int, ...]  # residential building floors, drawn uniformly
    units: tuple[int, int]  # stairwells per residential building
    organisations: tuple[int, int]  # per grid


SMALL = ScaleConfig(
    name="small",
    streets=("长江路街道", "隐珠街道", "泊里镇"),
    communities_per_street=(3, 4),
    villages_per_town=(3, 4),
    town_seats=1,
    urban_grids=(2, 3, 3, 4),
    village_grids=(1, 2, 2),
    urban_households=(45, 65),
    rural_households=(20, 35),
    floors=(3, 4, 5, 6),
    units=(1, 1),
    organisations=(3, 5),
)
DISTRICT = ScaleConfig(
    name="district",
    streets=tuple(s.name_zh for s in STREETS),
    communities_per_street=(20, 30),
    villages_per_town=(65, 82),
    town_seats=2,
    urban_grids=(1,) * 10 + (2,) * 7 + (3, 3, 4),
    village_grids=(1,) * 10 + (2,),
    urban_households=(140, 290),
    rural_households=(40, 120),
    floors=(6, 6, 6, 6, 7, 11, 11, 18, 18, 26, 33),
    units=(1, 3),
    organisations=(4, 16),
)
_CONFIGS = {"small": SMALL, "district": DISTRICT}


# --- Plan records ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AreaPlan:
    code: str
    level: int
    kind: str
    name_zh: str
    name_en: str
    grid_type: str
    parent_code: str | None
    shape: Geom = field(compare=False, repr=False)

    @property
    def geojson(self) -> dict[str, Any]:
        """The polygon as a GeoJSON dict of lists (so a JSON round trip compares equal)."""
        geojson: dict[str, Any] = _listify(mapping(self.shape))
        return geojson


@dataclass(frozen=True, slots=True)
class DepartmentPlan:
    code: str
    name_zh: str
    name_en: str
    kind: str
    parent_code: str | None
    area_codes: tuple[str, ...]
    phone: str


@dataclass(frozen=True, slots=True)
class UserPlan:
    username: str
    display_name: str
    phone: str
    role: str
    area_code: str | None = None
    department_code: str | None = None
    is_superuser: bool = False
    assigned_grid_code: str | None = None  # a GridAssignment for grid workers
    started_on: dt.date = VALID_FROM


@dataclass(frozen=True, slots=True)
class BuildingPlan:
    address_code: str
    address: str
    name: str
    grid_code: str
    lat: float
    lon: float
    use: str
    floors: int


@dataclass(frozen=True, slots=True)
class HouseholdPlan:
    number: str
    building_code: str
    room: str
    grid_code: str


@dataclass(frozen=True, slots=True)
class ResidentPlan:
    id_number: str
    name: str
    sex: str
    birth_date: dt.date
    phone: str
    household_number: str
    grid_code: str
    residence_type: str
    relation_to_head: str
    tag_codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OrganisationPlan:
    credit_code: str
    name: str
    kind: str
    grid_code: str
    building_code: str
    address: str
    legal_representative: str
    contact_phone: str
    employees: int


@dataclass(frozen=True, slots=True)
class GridPopulation:
    grid_code: str
    buildings: list[BuildingPlan]
    households: list[HouseholdPlan]
    residents: list[ResidentPlan]
    organisations: list[OrganisationPlan]


@dataclass(frozen=True)
class DemoPlan:
    """Everything the demo district holds; `populations()` yields the people grid by grid."""

    scale: str
    seed: int
    areas: tuple[AreaPlan, ...]  # parents before children, by level then code
    departments: tuple[DepartmentPlan, ...]
    tags: tuple[TagPlan, ...]
    users: tuple[UserPlan, ...]
    people: bool

    def by_level(self, level: int) -> list[AreaPlan]:
        return [a for a in self.areas if a.level == level]

    def populations(self) -> Iterator[GridPopulation]:
        """People of each grid in code order (nothing when the plan was built without)."""
        if not self.people:
            return
        maker = _PeopleMaker(self)
        for grid in self.by_level(Level.GRID):
            yield maker.grid(grid)


def build_plan(*, scale: str, seed: int, people: bool = True) -> DemoPlan:
    """Plan the demo district at `scale` ("small" or "district") from `seed`."""
    if scale not in _CONFIGS:
        raise ValueError(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    config = _CONFIGS[scale]
    rng = random.Random(f"gridlink-demo:{scale}:{seed}:areas")
    areas = _plan_areas(config, rng)
    return DemoPlan(
        scale=scale,
        seed=seed,
        areas=tuple(areas),
        departments=tuple(_plan_departments(areas, rng)),
        tags=TAGS,
        users=tuple(_plan_users(areas, rng)),
        people=people,
    )


# --- Geometry --------------------------------------------------------------------------


def _outline_and_coast() -> tuple[Polygon, Geom]:
    """The fixed district outline (the hand-drawn vertices, jittered between) and its coast."""
    rng = random.Random(int(DISTRICT_CODE))
    points: list[tuple[float, float]] = []
    coast: list[LineString] = []
    n = len(_OUTLINE)
    for i in range(n):
        (x0, y0), (x1, y1) = _OUTLINE[i], _OUTLINE[(i + 1) % n]
        dx, dy = x1 - x0, y1 - y0
        length = math.hypot(dx, dy)
        edge = [(x0, y0)]
        for j in range(1, 4):
            offset = rng.uniform(-0.12, 0.12) * length / 4
            edge.append(
                (x0 + dx * j / 4 - dy / length * offset, y0 + dy * j / 4 + dx / length * offset)
            )
        points.extend(edge)
        if i in _COAST_EDGES:
            coast.append(LineString([*edge, (x1, y1)]))
    outline = shapely.set_precision(Polygon(points), PRECISION)
    return outline, shapely.set_precision(shapely.union_all(coast), PRECISION)


def _parts(geom: Geom) -> list[Geom]:
    return [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and not g.is_empty]


def _spots(rng: random.Random, region: Geom) -> Iterator[tuple[float, float]]:
    """Endless uniform random points strictly inside `region`."""
    minx, miny, maxx, maxy = region.bounds
    shapely.prepare(region)
    while True:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(region, x, y):
            yield x, y


def _sample(rng: random.Random, region: Geom, n: int) -> list[tuple[float, float]]:
    spots = _spots(rng, region)
    return [next(spots) for _ in range(n)]


def _voronoi(points: Sequence[tuple[float, float]], region: Geom) -> list[Geom]:
    """The Voronoi cell of each point (in order), clipped to `region`."""
    if len(points) == 1:
        return [region]
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=region, ordered=True)
    parts = list(cells.geoms)
    if len(parts) != len(points):
        raise RuntimeError("Voronoi diagram lost a point; seed points must be distinct")
    return list(shapely.intersection(parts, region))


def _relax(
    points: list[tuple[float, float]], region: Geom, rounds: int = 2
) -> list[tuple[float, float]]:
    """Lloyd relaxation: move each point to its cell's centroid, for evener cells."""
    for _ in range(rounds if len(points) > 1 else 0):
        moved = []
        for point, cell in zip(points, _voronoi(points, region), strict=True):
            centre = cell.centroid
            inside = not centre.is_empty and shapely.contains_xy(region, centre.x, centre.y)
            moved.append((centre.x, centre.y) if inside else point)
        points = moved
    return points


def _union(geoms: Sequence[Geom]) -> Geom:
    return shapely.union_all(list(geoms), grid_size=PRECISION)


def _absorb_fragments(cells: list[Geom]) -> list[Geom]:
    """Give each stray piece of a multi-part cell to the neighbour it shares most edge with."""
    cells = list(cells)
    for i, cell in enumerate(list(cells)):
        parts = sorted(_parts(cell), key=lambda g: g.area, reverse=True)
        if len(parts) < 2:
            continue
        cells[i] = parts[0]
        tree = shapely.STRtree(cells)
        for part in parts[1:]:
            best, best_len = None, 0.0
            for j in tree.query(part, predicate="intersects"):
                shared = part.boundary.intersection(cells[j].boundary).length
                if int(j) != i and shared > best_len:
                    best, best_len = int(j), shared
            if best is None:
                cells[i] = _union([cells[i], part])
            else:
                cells[best] = _union([cells[best], part])
    return cells


def _contiguous(
    children: list[Geom], owner: list[int], n_owners: int
) -> tuple[list[int], list[Geom]]:
    """Reassign children so that each owner's union is one polygon; return owners and unions."""
    owner = list(owner)

    def unions() -> tuple[list[list[int]], list[Geom]]:
        groups: list[list[int]] = [[] for _ in range(n_owners)]
        for child, o in enumerate(owner):
            groups[o].append(child)
        return groups, [_union([children[c] for c in group]) for group in groups]

    groups, shapes = unions()
    for _ in range(20):
        tree = shapely.STRtree(shapes)
        moved = False
        for o, shape in enumerate(shapes):
            parts = sorted(_parts(shape), key=lambda g: g.area, reverse=True)
            for part in parts[1:]:
                shapely.prepare(part)
                members = [
                    c for c in groups[o] if part.contains(children[c].representative_point())
                ]
                best, best_len = None, 0.0
                for j in tree.query(part, predicate="intersects"):
                    shared = part.boundary.intersection(shapes[j].boundary).length
                    if int(j) != o and shared > best_len:
                        best, best_len = int(j), shared
                if best is not None and members:
                    for c in members:
                        owner[c] = best
                    moved = True
        if not moved:
            break
        groups, shapes = unions()
    return owner, shapes


def _reading_order(geoms: Sequence[Geom]) -> list[int]:
    """Indexes of `geoms` north to south, then west to east (how codes are numbered)."""
    points = [g.representative_point() for g in geoms]
    return sorted(range(len(geoms)), key=lambda i: (-round(points[i].y, 2), points[i].x))


# --- Areas -----------------------------------------------------------------------------


@dataclass
class _Community:
    street: int
    seed_point: tuple[float, float]
    grid_points: list[tuple[float, float]]


def _plan_areas(config: ScaleConfig, rng: random.Random) -> list[AreaPlan]:
    outline, coast = _outline_and_coast()
    specs = [s for s in STREETS if s.name_zh in config.streets]
    street_points = []
    for spec in specs:
        x, y = spec.lon + rng.uniform(-0.004, 0.004), spec.lat + rng.uniform(-0.004, 0.004)
        street_points.append((x, y) if shapely.contains_xy(outline, x, y) else (spec.lon, spec.lat))
    street_regions = _voronoi(street_points, outline)

    # Provisional communities inside each street, then grid seed points inside each community.
    communities: list[_Community] = []
    for s, (spec, region) in enumerate(zip(specs, street_regions, strict=True)):
        low, high = config.villages_per_town if spec.town else config.communities_per_street
        points = _relax(_sample(rng, region, rng.randint(low, high)), region)
        for point, cell in zip(points, _voronoi(points, region), strict=True):
            choices = config.village_grids if spec.town else config.urban_grids
            k = rng.choice(choices)
            grid_points = [point] if k == 1 else _relax(_sample(rng, cell, k), cell)
            communities.append(_Community(s, point, grid_points))

    # Final grid cells: one Voronoi diagram over every grid point, clipped to the outline.
    points = [p for c in communities for p in c.grid_points]
    grid_community = [ci for ci, c in enumerate(communities) for _ in c.grid_points]
    raw = shapely.voronoi_polygons(MultiPoint(points), extend_to=outline, ordered=True)
    cells = _absorb_fragments(
        list(shapely.intersection(list(raw.geoms), outline, grid_size=PRECISION))
    )
    grid_community, community_shapes = _contiguous(cells, grid_community, len(communities))
    community_street, street_shapes = _contiguous(
        community_shapes, [c.street for c in communities], len(specs)
    )
    district = _union(street_shapes)
    grids_of: list[list[int]] = [[] for _ in communities]
    for g, c in enumerate(grid_community):
        grids_of[c].append(g)

    areas = [
        AreaPlan(
            DISTRICT_CODE,
            Level.DISTRICT,
            AreaKind.DISTRICT,
            "黄岛区",
            "Huangdao District (West Coast New Area)",
            "",
            None,
            district,
        )
    ]
    names = _Names(rng)
    street_no, town_no = 0, 100
    for s, spec in enumerate(specs):
        if spec.town:
            town_no += 1
            code = f"{DISTRICT_CODE}{town_no:03d}"
        else:
            street_no += 1
            code = f"{DISTRICT_CODE}{street_no:03d}"
        kind = AreaKind.TOWN if spec.town else AreaKind.STREET
        areas.append(
            AreaPlan(
                code,
                Level.STREET,
                kind,
                spec.name_zh,
                spec.name_en,
                "",
                DISTRICT_CODE,
                street_shapes[s],
            )
        )
        members = [c for c in range(len(communities)) if community_street[c] == s]
        seat = shapely.Point(street_points[s])
        by_distance = sorted(members, key=lambda c: community_shapes[c].distance(seat))
        seats = set(by_distance[: config.town_seats])
        village_no, community_no = 200, 0
        for m in _reading_order([community_shapes[c] for c in members]):
            c = members[m]
            village = spec.town and c not in seats
            if village:
                village_no += 1
                c_code = f"{code}{village_no:03d}"
                c_name = names.village()
            else:
                community_no += 1
                c_code = f"{code}{community_no:03d}"
                c_name = names.town_seat(spec.name_zh) if spec.town else names.community()
            c_kind = AreaKind.VILLAGE if village else AreaKind.COMMUNITY
            areas.append(
                AreaPlan(c_code, Level.COMMUNITY, c_kind, c_name, "", "", code, community_shapes[c])
            )
            v2c = (spec.town and not village) or (not spec.town and rng.random() < 0.12)
            grids = grids_of[c]
            for n, g in enumerate(_reading_order([cells[i] for i in grids])):
                cell = cells[grids[g]]
                grid_type = _grid_type(rng, spec, village, v2c, cell.intersects(coast))
                suffix = _GRID_SUFFIX.get(grid_type, "")
                areas.append(
                    AreaPlan(
                        f"{c_code}{n + 1:03d}",
                        Level.GRID,
                        AreaKind.GRID,
                        f"{c_name}第{n + 1}网格{suffix}",
                        "",
                        grid_type,
                        c_code,
                        cell,
                    )
                )
    return sorted(areas, key=lambda a: (a.level, a.code))


_GRID_SUFFIX: dict[str, str] = {
    GridType.ENTERPRISE: "（园区）",
    GridType.SPECIAL: "（专属）",
    GridType.SEA: "（海域）",
    GridType.MOUNTAIN_FOREST: "（山林）",
}


def _grid_type(
    rng: random.Random, spec: _StreetSpec, village: bool, v2c: bool, coastal: bool
) -> str:
    roll = rng.random()
    if coastal and roll < 0.15:
        return GridType.SEA
    if village:
        return GridType.MOUNTAIN_FOREST if roll > 0.93 else GridType.RURAL
    if "山" in spec.name_zh and roll > 0.88:
        return GridType.MOUNTAIN_FOREST
    if roll > 0.95:
        return GridType.ENTERPRISE
    if roll > 0.91:
        return GridType.SPECIAL
    return GridType.VILLAGE_TO_COMMUNITY if v2c else GridType.URBAN


class _Names:
    """Unique community and village names drawn from the pools above."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()
        pool = [f"{stem}{suffix}" for stem in _COMMUNITY_STEMS for suffix in _COMMUNITY_SUFFIXES]
        rng.shuffle(pool)
        self.community_pool = pool

    def _unique(self, name: str) -> str:
        n = 1
        candidate = name
        while candidate in self.used:
            n += 1
            candidate = f"{name[:-2]}{n}{name[-2:]}"
        self.used.add(candidate)
        return candidate

    def community(self) -> str:
        while self.community_pool:
            name = f"{self.community_pool.pop()}社区"
            if name not in self.used:
                return self._unique(name)
        return self._unique(f"{self.rng.choice(_COMMUNITY_STEMS)}社区")

    def town_seat(self, town: str) -> str:
        base = town.removesuffix("镇")
        for name in (f"{base}社区", f"{base}东社区", f"{base}西社区", f"{base}南社区"):
            if name not in self.used:
                return self._unique(name)
        return self._unique(f"{base}社区")

    def village(self) -> str:
        rng = self.rng
        for _ in range(50):
            suffix = rng.choice(_VILLAGE_SUFFIXES)
            roll = rng.random()
            if roll < 0.45:
                stem = f"{_surname(rng)}家"
            elif roll < 0.75:
                stem = f"{rng.choice(_DIRECTIONS)}{_surname(rng)}家"
            else:
                stem = f"{rng.choice(_DIRECTIONS)}{rng.choice(_VILLAGE_PLACES)}"
            name = f"{stem}{suffix}村".replace("家家", "家")
            if name not in self.used:
                return self._unique(name)
        return self._unique(f"{_surname(rng)}家庄村")


# --- Departments and users -------------------------------------------------------------


def _plan_departments(areas: list[AreaPlan], rng: random.Random) -> list[DepartmentPlan]:
    def phone() -> str:
        return f"0532-86{rng.randrange(10**6):06d}"

    out = [
        DepartmentPlan(d.code, d.name_zh, d.name_en, d.kind, None, (DISTRICT_CODE,), phone())
        for d in DISTRICT_DEPARTMENTS
    ]
    for street in (a for a in areas if a.level == Level.STREET):
        office = "人民政府" if street.kind == AreaKind.TOWN else "办事处"
        out.append(
            DepartmentPlan(
                f"{street.code}-JD",
                f"{street.name_zh}{office}",
                f"{street.name_en} Office",
                DepartmentKind.STREET_OFFICE,
                None,
                (street.code,),
                phone(),
            )
        )
        short = street.name_zh.removesuffix("街道").removesuffix("镇")
        for suffix, name, name_en, kind, parent in _STATIONS:
            out.append(
                DepartmentPlan(
                    f"{street.code}-{suffix}",
                    f"{short}{name}",
                    f"{street.name_en} {name_en}",
                    kind,
                    parent,
                    (street.code,),
                    phone(),
                )
            )
    return out


# The demo logins that `demo_logins` prints, one per role: (role, username).
DEMO_LOGINS = (
    (Role.ADMIN, "admin"),
    (Role.GRID_WORKER, "grid001"),
    (Role.COMMUNITY_STAFF, "community1"),
    (Role.DISPATCHER, "dispatcher1"),
    (Role.DISPATCHER, "district_dispatcher"),
    (Role.DEPT_HANDLER, "dept_cg"),
    (Role.DEPT_HEAD, "dept_head_cg"),
    (Role.HOTLINE_OPERATOR, "hotline1"),
    (Role.SUPERVISOR, "supervisor1"),
    (Role.SOCIAL_ORG_MEMBER, "socialorg1"),
    (Role.EVALUATOR, "evaluator1"),
    (Role.RESIDENT, "resident1"),
)


def _plan_users(areas: list[AreaPlan], rng: random.Random) -> list[UserPlan]:
    def person() -> tuple[str, str]:
        sex = "M" if rng.random() < 0.5 else "F"
        return _person_name(rng, sex, rng.randint(1965, 1999)), _mobile(rng)

    def user(username: str, role: str, **scope: Any) -> UserPlan:
        name, phone = person()
        return UserPlan(username, name, phone, role, **scope)

    streets = [a for a in areas if a.level == Level.STREET]
    communities = [a for a in areas if a.level == Level.COMMUNITY]
    grids = [a for a in areas if a.level == Level.GRID]
    district = DISTRICT_CODE
    out = [UserPlan("admin", "系统管理员", "", Role.ADMIN, area_code=district, is_superuser=True)]
    for i, grid in enumerate(grids, start=1):
        started = VALID_FROM + dt.timedelta(days=rng.randrange(4 * 365))
        out.append(
            user(
                f"grid{i:03d}",
                Role.GRID_WORKER,
                area_code=grid.code,
                assigned_grid_code=grid.code,
                started_on=started,
            )
        )
    for i, community in enumerate(communities, start=1):
        out.append(user(f"community{i}", Role.COMMUNITY_STAFF, area_code=community.code))
    for i, street in enumerate(streets, start=1):
        out.append(user(f"dispatcher{i}", Role.DISPATCHER, area_code=street.code))
    out.append(user("district_dispatcher", Role.DISPATCHER, area_code=district))
    for dept in DISTRICT_DEPARTMENTS:
        slug = dept.code.lower()
        out.append(user(f"dept_{slug}", Role.DEPT_HANDLER, department_code=dept.code))
        out.append(user(f"dept_head_{slug}", Role.DEPT_HEAD, department_code=dept.code))
    for username, role in (
        ("hotline1", Role.HOTLINE_OPERATOR),
        ("hotline2", Role.HOTLINE_OPERATOR),
        ("supervisor1", Role.SUPERVISOR),
        ("socialorg1", Role.SOCIAL_ORG_MEMBER),
        ("evaluator1", Role.EVALUATOR),
    ):
        out.append(user(username, role, area_code=district))
    out.append(user("resident1", Role.RESIDENT, area_code=grids[0].code))
    return out


# --- People ----------------------------------------------------------------------------


def _surname(rng: random.Random) -> str:
    return rng.choices(_SURNAME_CHARS, cum_weights=_SURNAME_CUM)[0]


def _person_name(rng: random.Random, sex: str, born_year: int, surname: str = "") -> str:
    era = 0 if born_year < 1965 else 1 if born_year < 2000 else 2
    return (surname or _surname(rng)) + rng.choice(GIVEN_NAMES[(sex, era)])


def _mobile(rng: random.Random) -> str:
    return f"{rng.choice(_MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"


def _listify(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_listify(v) for v in value]
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    return value


_URBAN_TYPES = {
    GridType.URBAN,
    GridType.VILLAGE_TO_COMMUNITY,
    GridType.SPECIAL,
    GridType.ENTERPRISE,
}
# Share of an ordinary grid's households that live in grids of each special type.
_HOUSEHOLD_SHARE: dict[str, float] = {
    GridType.ENTERPRISE: 0.15,
    GridType.SPECIAL: 0.2,
    GridType.SEA: 0.1,
    GridType.MOUNTAIN_FOREST: 0.3,
}
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
_HOUSEHOLD_SIZES = ((1, 22), (2, 32), (3, 26), (4, 12), (5, 6), (6, 2))
_GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _organisation_code(rng: random.Random) -> str:
    """A 9-character organisation code (GB 11714) with its check character."""
    body = "".join(rng.choice(_ORG_CODE_CHARS) for _ in range(8))
    total = sum(int(c, 36) * w for c, w in zip(body, _GB11714_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


class _PeopleMaker:
    """Generates each grid's buildings, households, residents and organisations.

    Each grid has its own `random.Random`, so grids are independent; only the sets of
    issued ID numbers, mobiles and credit codes carry from one grid to the next, which
    keeps them unique. Grids are visited in code order, so the result is deterministic.
    """

    def __init__(self, plan: DemoPlan) -> None:
        self.seed = plan.seed
        self.config = _CONFIGS[plan.scale]
        self.areas = {a.code: a for a in plan.areas}
        self.id_numbers: set[str] = set()
        self.mobiles: set[str] = set()
        self.credit_codes: set[str] = set()

    def grid(self, grid: AreaPlan) -> GridPopulation:
        rng = random.Random(f"gridlink-demo:{self.config.name}:{self.seed}:people:{grid.code}")
        community = self.areas[grid.parent_code or ""]
        roads = random.Random(f"{self.seed}:roads:{community.code}").sample(_ROADS, 3)
        inner = grid.shape.buffer(-2e-5)
        region = inner if inner.area > grid.shape.area * 0.2 else grid.shape
        out = GridPopulation(grid.code, [], [], [], [])
        urban = grid.grid_type in _URBAN_TYPES
        low, high = self.config.urban_households if urban else self.config.rural_households
        target = round(rng.randint(low, high) * _HOUSEHOLD_SHARE.get(grid.grid_type, 1.0))
        spots = _spots(rng, region)
        if urban:
            self._urban_homes(rng, grid, roads, spots, target, out)
        else:
            self._rural_homes(rng, grid, community, spots, target, out)
        self._organisations(rng, grid, community, roads, spots, out)
        return out

    def _building(
        self,
        out: GridPopulation,
        grid: AreaPlan,
        spot: tuple[float, float],
        address: str,
        name: str,
        use: str,
        floors: int,
    ) -> BuildingPlan:
        building = BuildingPlan(
            f"{grid.code}{len(out.buildings) + 1:04d}",
            address,
            name,
            grid.code,
            spot[1],
            spot[0],
            use,
            floors,
        )
        out.buildings.append(building)
        return building

    def _urban_homes(
        self,
        rng: random.Random,
        grid: AreaPlan,
        roads: list[str],
        spots: Iterator[tuple[float, float]],
        target: int,
        out: GridPopulation,
    ) -> None:
        estate = f"{rng.choice(_BRANDS)}{rng.choice(_ESTATE_SUFFIXES)}"
        road, number, block = rng.choice(roads), rng.randrange(1, 400), 0
        while len(out.households) < target:
            block += 1
            floors = rng.choice(self.config.floors)
            units = rng.randint(*self.config.units)
            use = BuildingUse.MIXED if rng.random() < 0.1 else BuildingUse.RESIDENTIAL
            building = self._building(
                out,
                grid,
                next(spots),
                f"{road}{number}号{block}号楼",
                f"{estate}{block}号楼",
                use,
                floors,
            )
            for unit in range(1, units + 1):
                for floor in range(1, floors + 1):
                    for door in (1, 2):
                        if len(out.households) < target and rng.random() < 0.85:
                            self._household(rng, grid, building, f"{unit}-{floor}{door:02d}", out)

    def _rural_homes(
        self,
        rng: random.Random,
        grid: AreaPlan,
        community: AreaPlan,
        spots: Iterator[tuple[float, float]],
        target: int,
        out: GridPopulation,
    ) -> None:
        number = 0
        for _ in range(target):
            number += rng.randint(1, 4)
            building = self._building(
                out,
                grid,
                next(spots),
                f"{community.name_zh}{number}号",
                "",
                BuildingUse.RURAL_HOUSE,
                rng.choice((1, 1, 1, 2)),
            )
            self._household(rng, grid, building, "", out)

    def _household(
        self,
        rng: random.Random,
        grid: AreaPlan,
        building: BuildingPlan,
        room: str,
        out: GridPopulation,
    ) -> None:
        number = f"H{grid.code}{len(out.households) + 1:04d}"
        out.households.append(HouseholdPlan(number, building.address_code, room, grid.code))
        roll = rng.random()
        floating_share = 0.2 if grid.grid_type in _URBAN_TYPES else 0.05
        if roll < floating_share:
            kind = ResidenceType.FLOATING
        elif roll < floating_share + 0.1:
            kind = ResidenceType.PERMANENT
        else:
            kind = ResidenceType.REGISTERED
        size = rng.choices([s for s, _ in _HOUSEHOLD_SIZES], [w for _, w in _HOUSEHOLD_SIZES])[0]
        head_sex = "M" if rng.random() < 0.7 else "F"
        if kind == ResidenceType.FLOATING:
            head_age = round(rng.triangular(20, 55, 30))
        else:
            head_age = round(rng.triangular(23, 92, 45))
        if size == 1 and head_age > 70:
            head_sex = "F" if rng.random() < 0.6 else "M"
        family = _family(rng, size, head_sex, head_age)
        subsistence = rng.random() < 0.02
        surname = _surname(rng)
        spouse_surname = _surname(rng)
        region_pool = {
            ResidenceType.REGISTERED: _LOCAL_REGIONS,
            ResidenceType.PERMANENT: _QINGDAO_REGIONS + _SHANDONG_REGIONS,
            ResidenceType.FLOATING: _SHANDONG_REGIONS + _OTHER_REGIONS + _OTHER_REGIONS,
        }[kind]
        home_region = rng.choice(region_pool)
        for relation, sex, age in family:
            born = AGE_ON - dt.timedelta(days=age * 365 + rng.randrange(365) + age // 4)
            region = home_region
            if kind == ResidenceType.REGISTERED:
                region = "370211" if born.year >= 2012 else rng.choice(_LOCAL_REGIONS)
            own_surname = spouse_surname if relation in ("配偶", "父母") else surname
            tags = _tags(rng, sex, age, size, subsistence)
            has_phone = age >= 14 and rng.random() < (0.55 if age >= 80 else 0.95)
            id_number, born = self._id_number(rng, region, born, sex)
            out.residents.append(
                ResidentPlan(
                    id_number=id_number,
                    name=_person_name(rng, sex, born.year, own_surname),
                    sex=sex,
                    birth_date=born,
                    phone=self._mobile(rng) if has_phone else "",
                    household_number=number,
                    grid_code=grid.code,
                    residence_type=kind,
                    relation_to_head=relation,
                    tag_codes=tags,
                )
            )

    def _id_number(
        self, rng: random.Random, region: str, born: dt.date, sex: str
    ) -> tuple[str, dt.date]:
        """A unique ID number whose sequence parity matches `sex` (odd = male), and the
        birth date it carries (moved a day earlier if that day's numbers are all taken)."""
        while True:
            for _ in range(20):
                sequence = rng.randrange(500) * 2 + (1 if sex == Sex.MALE else 0)
                value = make_id_number(region, born, sequence)
                if value not in self.id_numbers:
                    self.id_numbers.add(value)
                    return value, born
            born -= dt.timedelta(days=1)

    def _mobile(self, rng: random.Random) -> str:
        value = _mobile(rng)
        while value in self.mobiles:
            value = _mobile(rng)
        self.mobiles.add(value)
        return value

    def _credit_code(self, rng: random.Random, prefix: str) -> str:
        while True:
            value = make_credit_code(f"{prefix}{DISTRICT_CODE}{_organisation_code(rng)}")
            if value not in self.credit_codes:
                self.credit_codes.add(value)
                return value

    def _organisations(
        self,
        rng: random.Random,
        grid: AreaPlan,
        community: AreaPlan,
        roads: list[str],
        spots: Iterator[tuple[float, float]],
        out: GridPopulation,
    ) -> None:
        count = rng.randint(*self.config.organisations)
        street = self.areas[community.parent_code or ""]
        if grid.grid_type == GridType.ENTERPRISE:
            count, profile, use = count * 2, "enterprise", BuildingUse.INDUSTRIAL
        elif grid.grid_type in _URBAN_TYPES:
            profile, use = "urban", BuildingUse.COMMERCIAL
        else:
            count, profile, use = max(1, count // 2), "rural", BuildingUse.COMMERCIAL
        kinds = _ORG_KINDS[profile]
        premises: list[BuildingPlan] = []
        for _ in range(max(1, math.ceil(count / 3))):
            road = rng.choice(roads) if profile != "rural" else f"{community.name_zh}"
            address = f"{road}{rng.randrange(1, 500)}号"
            premises.append(
                self._building(out, grid, next(spots), address, "", use, rng.randint(1, 5))
            )
        for _ in range(count):
            kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
            name, prefix, employees = _organisation(rng, kind, street, community)
            building = rng.choice(premises)
            out.organisations.append(
                OrganisationPlan(
                    credit_code=self._credit_code(rng, prefix),
                    name=name,
                    kind=kind,
                    grid_code=grid.code,
                    building_code=building.address_code,
                    address=building.address,
                    legal_representative=_person_name(
                        rng, rng.choice("MF"), rng.randint(1955, 1995)
                    ),
                    contact_phone=self._mobile(rng),
                    employees=employees,
                )
            )


def _family(
    rng: random.Random, size: int, head_sex: str, head_age: int
) -> list[tuple[str, str, int]]:
    """(relation to head, sex, age) of each member, head first."""
    other = "F" if head_sex == "M" else "M"
    members = [("户主", head_sex, head_age)]
    if size >= 2:
        if rng.random() < 0.85:
            members.append(("配偶", other, max(20, head_age + rng.randint(-5, 3))))
        else:
            members.append(("子女", rng.choice("MF"), max(0, head_age - rng.randint(22, 34))))
    while len(members) < size:
        sex = rng.choice("MF")
        if head_age < 45 and rng.random() < 0.3:
            members.append(("父母", sex, min(96, head_age + rng.randint(24, 32))))
        elif head_age >= 58 and rng.random() < 0.5:
            members.append(("孙子女", sex, rng.randint(0, 16)))
        else:
            members.append(("子女", sex, max(0, head_age - rng.randint(22, 36))))
    return members


def _tags(rng: random.Random, sex: str, age: int, size: int, subsistence: bool) -> tuple[str, ...]:
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


def _organisation(
    rng: random.Random, kind: str, street: AreaPlan, community: AreaPlan
) -> tuple[str, str, int]:
    """(name, first two credit-code characters, employees) for an organisation of `kind`."""
    place = community.name_zh.removesuffix("社区").removesuffix("村")
    brand = rng.choice(_BRANDS)
    if kind == OrganisationKind.ENTERPRISE:
        if community.kind == AreaKind.VILLAGE and rng.random() < 0.3:
            name = f"青岛西海岸新区{place}{rng.choice(_PRODUCTS)}专业合作社"
            return name, "93", rng.randint(5, 40)
        name = f"青岛{brand}{rng.choice(_INDUSTRIES)}有限公司"
        return name, "91", int(rng.lognormvariate(3.5, 1.0)) + 5
    if kind == OrganisationKind.SHOP:
        owner = rng.choice((brand, f"{_surname(rng)}记", f"老{_surname(rng)}"))
        return f"黄岛区{owner}{rng.choice(_SHOP_TYPES)}", "92", rng.randint(1, 8)
    if kind == OrganisationKind.SCHOOL:
        level = rng.choice(("小学", "小学", "初级中学", "幼儿园", "幼儿园"))
        if rng.random() < 0.3:
            return f"青岛西海岸新区{brand}{level}", "52", rng.randint(15, 80)
        return f"青岛西海岸新区{place}{level}", "12", rng.randint(20, 150)
    if kind == OrganisationKind.SOCIAL_ORG:
        theme = rng.choice(_SOCIAL_THEMES)
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
    return f"{brand}{rng.choice(_ESTATE_SUFFIXES)}业主委员会", "Y1", rng.randint(0, 7)
