"""Names and reference tables of the demo district, and its two scales.

Everything here is fixed data, except the helpers at the end, which draw a surname, a full
name, a mobile number or a weighted value with the caller's `random.Random`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

from gridlink.accounts.roles import Role
from gridlink.geo.models import DepartmentKind

DEMO_PASSWORD = "gridlink-demo"  # noqa: S105  (the published password of the demo users)
DISTRICT_CODE = "370211"
VALID_FROM = dt.date(2020, 1, 1)
AGE_ON = dt.date(2025, 1, 1)  # ages are counted on this day, so a plan never drifts in time


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --- Streets and towns -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreetSpec:
    name_zh: str
    name_en: str
    town: bool
    lon: float
    lat: float


def _street(zh: str, en: str, lon: float, lat: float) -> StreetSpec:
    town = zh.endswith("镇")
    return StreetSpec(zh, f"{en} {'Town' if town else 'Subdistrict'}", town, lon, lat)


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

# --- People's names, ID regions and mobiles --------------------------------------------

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
LOCAL_REGIONS = ("370211", "370211", "370211", "370284")
QINGDAO_REGIONS = ("370202", "370203", "370212", "370213", "370214", "370281", "370283")
SHANDONG_REGIONS = ("371122", "371321", "370782", "371426", "370725", "371525", "371722")
OTHER_REGIONS = (
    "410122", "411321", "341221", "320324", "230223", "220122", "510823", "522124",
    "130524", "140521", "612401", "421126", "362321",
)  # fmt: skip
_MOBILE_PREFIXES = _words(
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "166 176 177 178 180 181 182 183 185 186 187 188 189 198 199"
)

# --- Place, road and organisation names ------------------------------------------------

COMMUNITY_STEMS = _words(
    "长江 珠江 黄河 嵩山 泰山 庐山 峨眉山 五台山 井冈山 武夷山 香江 紫金山 滨海 海滨 "
    "金沙滩 银沙滩 唐岛湾 积米崖 安子 南岛 北岛 阿里山 太行山 昆仑山 衡山 华山 恒山 "
    "嘉陵江 漓江 松花江 辽河 淮河 珠山 隐珠 富春江 钱塘江 太湖 洞庭湖 鄱阳湖 青云 福瀛 "
    "海韵 海怡 东岳 兴华 和平 建设 振华 幸福 阳光 文化 盛世 锦绣 明珠 星光 翠湖 绿岛 "
    "新城 金海 银海 海港 渔港 灵港 凤凰 双珠 琅琊 望海 听涛 观澜 映月 朝阳"
)
COMMUNITY_SUFFIXES = ("", "路", "花园", "新村", "苑", "湾", "东", "西", "南", "北")
VILLAGE_PLACES = _words(
    "石 沟 河 岭 泉 山 营 台 埠 崖 柳 槐 杨 桃 枣 梨 松 竹 龙 凤 马 牛 鹿 莲 荷 "
    "黄 白 青 红 朱 金 银 铁 官 王 皇 古 寨"
)
VILLAGE_SUFFIXES = _words(
    "庄 沟 屯 岭 河 疃 崖 洼 埠 官庄 泊 台 营 店 集 夼 岚 头 家 口 窑 前 后 楼"
)
DIRECTIONS = _words("东 西 南 北 前 后 大 小 上 下 中")
ROADS = _words(
    "长江中路 长江东路 长江西路 井冈山路 珠江路 嘉陵江路 香江路 庐山路 峨眉山路 武夷山路 "
    "太行山路 五台山路 昆仑山路 衡山路 黄河东路 漓江路 紫金山路 前湾港路 江山南路 江山中路 "
    "滨海大道 海西路 人民路 珠山路 灵山湾路 泰山路 大珠山路 隐珠山路 双珠路 王台路 海滨大道 "
    "唐岛湾路 薛家岛路 凤凰山路 阿里山路 松花江路 淮河东路 辽河路 海南岛路 富春江路 "
    "钱塘江路 齐长城路 红石崖路 东岳路 世纪大道 金沙滩路 银沙滩路 琅琊台路 积米崖路 "
    "月亮湾路 朝阳山路 武当山路 太白山路 九华山路 普陀山路 峨眉山南路 灵海路 海王路"
)
ESTATE_SUFFIXES = ("花园", "小区", "苑", "新城", "家园", "公寓", "名邸", "雅居")
BRANDS = _words(
    "海润 恒通 鑫源 华泰 瑞丰 金诺 宏达 德盛 永兴 众诚 海川 中联 天润 博远 佳和 泰丰 "
    "裕隆 海晟 凯利 新元 鲁海 琴岛 港达 盛和 汇通 远洋 诚信 蓝海 东方 嘉禾"
)
INDUSTRIES = _words(
    "机械 电子 食品 物流 建材 船舶配件 海洋生物 纺织 贸易 科技 化工 家居 橡胶 物业管理 "
    "装饰工程 供应链 汽车零部件 海产品 新材料 软件"
)
SHOP_TYPES = _words(
    "便利店 超市 水饺馆 理发店 大药房 五金店 烟酒店 海鲜店 面馆 烧烤店 洗衣店 水果店 "
    "早餐店 修车行 通讯店 茶叶店 家电维修部 快递服务站"
)
SOCIAL_THEMES = _words("益邻 和美 同心 暖阳 乐龄 知行 向阳 善德 邻里 悦心 春晖 博爱")
PRODUCTS = _words("茶叶 蓝莓 果蔬 蔬菜 食用菌 渔业 樱桃 花生")


# --- Departments and tags --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DepartmentSpec:
    code: str
    name_zh: str
    name_en: str
    kind: str


DISTRICT_DEPARTMENTS = (
    DepartmentSpec(
        "CG", "区城市管理局", "Urban Management Bureau", DepartmentKind.URBAN_MANAGEMENT
    ),
    DepartmentSpec(
        "ZJ", "区住房和城乡建设局", "Housing and Construction Bureau", DepartmentKind.HOUSING
    ),
    DepartmentSpec(
        "STHJ", "市生态环境局黄岛分局", "Ecology and Environment Branch", DepartmentKind.ECOLOGY
    ),
    DepartmentSpec("SCJG", "区市场监督管理局", "Market Regulation Bureau", DepartmentKind.MARKET),
    DepartmentSpec(
        "GA", "市公安局黄岛分局", "Public Security Branch", DepartmentKind.PUBLIC_SECURITY
    ),
    DepartmentSpec("SW", "区水务局", "Water Bureau", DepartmentKind.WATER),
    DepartmentSpec("JT", "区交通运输局", "Transport Bureau", DepartmentKind.TRANSPORT),
    DepartmentSpec("MZ", "区民政局", "Civil Affairs Bureau", DepartmentKind.CIVIL_AFFAIRS),
    DepartmentSpec("WJ", "区卫生健康局", "Health Bureau", DepartmentKind.HEALTH),
    DepartmentSpec("YJ", "区应急管理局", "Emergency Management Bureau", DepartmentKind.EMERGENCY),
    # Power and telecom manhole covers and public chargers belong to utility companies; the
    # bureau that oversees them takes the cases of kind "other" and hands them on.
    DepartmentSpec(
        "GXJ",
        "区工业和信息化局",
        "Industry and Information Technology Bureau",
        DepartmentKind.OTHER,
    ),
    DepartmentSpec(
        "ZHZX", "区社会治理指挥中心", "District Command Centre", DepartmentKind.COMMAND_CENTRE
    ),
)
# Street-level stations: (code suffix, name suffix, English, kind, district parent).
STREET_STATIONS = (
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
SCALE_CONFIGS = {config.name: config for config in (SMALL, DISTRICT)}
SCALES = tuple(SCALE_CONFIGS)  # ("small", "district")


# --- Drawing from the tables -----------------------------------------------------------


def random_surname(rng: random.Random) -> str:
    return rng.choices(_SURNAME_CHARS, cum_weights=_SURNAME_CUM)[0]


def random_person_name(rng: random.Random, sex: str, born_year: int, surname: str = "") -> str:
    era = 0 if born_year < 1965 else 1 if born_year < 2000 else 2
    return (surname or random_surname(rng)) + rng.choice(GIVEN_NAMES[(sex, era)])


def random_mobile(rng: random.Random) -> str:
    return f"{rng.choice(_MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"


def weighted_choice[T](rng: random.Random, weighted: Sequence[tuple[T, int]]) -> T:
    """One value of `weighted`, a sequence of (value, weight) pairs."""
    return rng.choices([value for value, _ in weighted], [weight for _, weight in weighted])[0]
