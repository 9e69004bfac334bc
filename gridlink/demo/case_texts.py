"""What the demo cases say: sub-classes of the shipped taxonomy with believable Chinese reports,
the answers to their required attributes, and the reasons and results people give on the way.

Pure data and small drawing helpers (`random.Random` from the caller); `gridlink.demo.cases`
turns them into cases through the services.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Attributes = Callable[[random.Random], dict[str, Any]]


def _none(rng: random.Random) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class CategoryScript:
    """A sub-class the demo reports, what reporters write and what the handler answers."""

    code: str
    reports: tuple[str, ...]
    result: str
    attributes: Attributes = _none
    channels: tuple[str, ...] = ()  # only these channels (empty: any but the hotline-only)
    co_kinds: tuple[str, ...] = field(default=())  # departments summoned with the lead


def _cover(rng: random.Random) -> dict[str, Any]:
    return {
        "cover_type": rng.choice(["cast_iron", "composite", "concrete"]),
        "damage": rng.choice(["missing", "broken", "displaced", "sunken"]),
    }


def _lamp(rng: random.Random) -> dict[str, Any]:
    return {"fault": rng.choice(["dark", "day_on", "flicker", "damaged"]),
            "lamp_no": f"HD-LD-{rng.randrange(1000, 9999)}"}  # fmt: skip


def _noise(rng: random.Random) -> dict[str, Any]:
    return {"noise_period": sorted(rng.sample(["morning", "day", "evening", "night"], 2))}


def _stalls(rng: random.Random) -> dict[str, Any]:
    return {"stall_count": rng.randint(2, 9)}


def _hotline(rng: random.Random) -> dict[str, Any]:
    return {"hotline_order_no": f"12345-2026-{rng.randrange(10**6):06d}"}


def _depth(rng: random.Random) -> dict[str, Any]:
    return {"water_depth_cm": rng.choice([10, 15, 20, 30])}


SCRIPTS: tuple[CategoryScript, ...] = (
    CategoryScript("C0101", (
        "小区门口人行道上的自来水井盖缺了一块，晚上看不清，已有老人差点绊倒。",
        "公交站旁上水井盖松动，车一压就响，井盖边缘翘起约三厘米。",
        "路口的自来水井盖整个不见了，有人临时放了个塑料桶挡着，很危险。",
    ), "已更换新井盖并调平，与路面高差小于1厘米，现场警示已撤除。", _cover),
    CategoryScript("C0108", (
        "这条路连续三盏路灯不亮，晚上一片漆黑，居民出行不安全。",
        "路灯白天一直亮着，浪费电，已经好几天了。",
        "路灯灯杆被车撞歪，灯罩掉在绿化带里。",
    ), "已更换灯具和线路，夜间巡查亮灯正常。", _lamp),
    CategoryScript("C0302", (
        "垃圾箱盖子坏了，垃圾被风吹得满地都是，气味很大。",
        "路边的分类垃圾桶被撞翻，桶身开裂，一直没人来换。",
    ), "已更换新的分类垃圾箱，周边已清扫干净。"),
    CategoryScript("C0206", (
        "人行道板多处松动塌陷，下雨后一踩就溅水，推婴儿车很难走。",
        "学校门口的人行道砖被挖开后一直没有恢复，坑洼不平。",
    ), "已重新铺设人行道板约12平方米，路面平整。"),
    CategoryScript("C0401", (
        "行道树枯死的大树枝悬在人行道上方，刮风时晃得厉害，担心砸到人。",
        "行道树倾斜严重，树根把人行道拱起来了。",
    ), "已修剪枯枝并对倾斜树木加固支撑，现场已清理。"),
    CategoryScript("E0102", (
        "小区后门路边堆着一大堆生活垃圾，好几天没人清运，招了很多苍蝇。",
        "菜市场旁边有人乱倒垃圾，已经堆成小山。",
        "绿化带里扔了很多装修垃圾袋和饮料瓶。",
    ), "已组织保洁人员清运暴露垃圾约2车，并加密巡查。"),
    CategoryScript("E0104", (
        "这段路面油污很多，还有泥土，雨天特别滑。",
        "早市散场后路面满是菜叶和塑料袋，没有及时清扫。",
    ), "已安排机扫和人工冲洗，路面恢复整洁。"),
    CategoryScript("E0202", (
        "单元门口和电线杆上贴满了开锁、办证的小广告。",
        "小区外墙被喷涂了大片手机号小广告。",
    ), "已清除小广告并对喷涂处覆盖粉刷，号码已报送停机。"),
    CategoryScript("E0401", (
        "傍晚学校门口有好几个流动摊贩占道卖小吃，堵住了人行道。",
        "路口有商贩摆摊卖水果，车辆和行人通行困难。",
    ), "已劝离占道摊贩并引导至便民市场经营，现场秩序恢复。", _stalls),
    CategoryScript("E0403", (
        "消防通道上长期停着几辆私家车，消防车进不来。",
        "公交站台前有车辆违停，公交车只能停在路中间上下客。",
    ), "已联系车主挪车并对违停车辆贴单处罚，加装了禁停标识。"),
    CategoryScript("E0110", (
        "楼下的KTV每天夜里到一两点还很吵，窗户关着也能听到。",
        "附近一家商铺门口放大音箱招揽顾客，声音特别大。",
    ), "已现场检测噪声并责令整改，商户已降低音量并加装隔音设施。", _noise),
    CategoryScript("E0302", (
        "工地没有覆盖裸土，也不洒水，刮风时整条街都是灰。",
        "施工车辆出场不冲洗，带出大量泥土，扬尘很大。",
    ), "已责令工地覆盖裸土、启用雾炮和冲洗设施，复查扬尘已控制。"),
    CategoryScript("E0504", (
        "下雨后这个路段积水很深，电动车都熄火了。",
        "地下通道积水没过脚踝，行人只能绕行。",
    ), "已疏通雨水口并抽排积水，路面恢复通行。", _depth),
    CategoryScript("E0606", (
        "楼上邻居家漏水到我家，多次沟通不理，墙面已经发霉。",
        "两户邻居因为楼道堆放杂物发生争吵，需要社区调解。",
    ), "网格员和社区调解员已上门调解，双方达成协议并签字。"),
    CategoryScript("E0605", (
        "街边小餐馆后厨卫生很差，员工不戴口罩，餐具随地放。",
        "超市在售临期食品标签被更改，生产日期看不清。",
    ), "已对商户检查并下达整改通知，问题食品已下架封存。"),
    CategoryScript("E0601", (
        "市民来电反映：小区物业长期不作为，楼道灯坏了半年没人修。",
        "市民来电反映：附近工地夜间施工，投诉多次无果，请求督办。",
    ), "已协调相关单位处理并电话回复来电人。", _hotline, channels=("hotline",)),
    CategoryScript("E0501", (
        "路面突然塌陷出一个约两米宽的坑，下面能看到水管，已有车辆陷入。",
        "雨后主干道出现塌陷，周围路面开裂，需要马上封路。",
    ), "已封闭现场、抢修地下管线并回填恢复路面，已通车。",
        channels=("grid_patrol", "hotline", "sensor"), co_kinds=("water", "urban_management")),
)  # fmt: skip

# Categories that suit each channel; channels not listed take any (but hotline-only ones).
SENSOR_CODES = ("E0403", "E0102", "E0504", "E0302")

INVALID_REASONS = (
    "经网格员现场核实，反映的问题不存在。",
    "反映事项属于民事纠纷，已告知通过司法途径解决。",
    "上报位置与描述不符，无法核实，已电话联系上报人未果。",
)
RETURN_REASONS = (
    "该设施产权属于供电公司，非本单位管养范围。",
    "经查为小区内部道路，应由物业负责，非本单位职责。",
)
REJECT_RETURN_REASONS = ("经核查权责清单，该事项属于你单位职责，请按时办理。",)
ESCALATE_REASONS = (
    "涉及多个部门，网格层面无法解决，上报上级协调。",
    "问题复杂，超出本级处置能力，请求上级协调处理。",
)
EXTENSION_REASONS = (
    "需要采购专用配件，到货需要几个工作日。",
    "需协调产权单位共同施工，申请延期办理。",
)
DENY_REASONS = ("问题影响群众出行，不同意延期，请加快办理。",)
SUSPENSION_REASONS = (
    "需纳入年度道路改造计划，资金待批复，申请挂账。",
    "涉及历史遗留问题，需等待规划调整，申请缓办。",
)
DENY_SUSPENSION_REASONS = ("可采取临时措施先行处置，不同意缓办。",)
VERIFY_FAIL_REASONS = (
    "现场核查问题仍然存在，处置不彻底。",
    "处置后又出现同样问题，需要返工。",
)
REOPEN_REASONS = ("回访时群众反映问题又出现了，要求重办。",)
SUPERVISE_REASONS = (
    "群众多次反映，列入督办事项，请限期办结。",
    "超期未办，区指挥中心督办。",
)
RATE_COMMENTS = {
    "satisfied": ("处理很及时，谢谢！", "工作人员态度很好，问题解决了。"),
    "basically_satisfied": ("问题解决了，就是时间有点长。",),
    "dissatisfied": ("问题还是没有解决，希望重新处理。",),
}
TASK_RESULTS = {
    "water": "已关阀停水并抢修破损管线，恢复供水。",
    "urban_management": "已设置围挡和警示，配合清理现场渣土。",
    "transport": "已疏导交通并设置绕行提示。",
}
TASK_INSTRUCTIONS = {
    "lead": "牵头组织抢修，统筹各部门处置。",
    "water": "排查并抢修地下供水管线。",
    "urban_management": "设置围挡，清理现场。",
}
