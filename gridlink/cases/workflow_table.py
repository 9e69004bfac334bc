"""The case workflow as data: states, flags, actions and the one transition table (SPEC §3).

Pure Python — no models, no database. `gridlink.cases.workflow` validates this table at
import and answers "may this role do that in this state?"; the case service applies it;
`gridlink workflow diagram` renders it into `docs/workflow.md`. Change the workflow here and
nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.db import models
from django.utils.translation import gettext_lazy as _

from gridlink.accounts.roles import Role

Stage = Literal["sign_for", "handle", "verify"]  # the three per-stage deadlines of a sub-class


class State(models.TextChoices):
    REPORTED = "reported", _("Reported")  # 已上报
    ACCEPTED = "accepted", _("Accepted")  # 已受理
    INVALID = "invalid", _("Not accepted")  # 不予受理
    MERGED = "merged", _("Merged")  # 已合并
    FILED = "filed", _("Filed")  # 已立案
    DISPATCHED = "dispatched", _("Dispatched")  # 已派遣
    RETURNED = "returned", _("Returned")  # 已退回
    ESCALATED = "escalated", _("Escalated")  # 已上报上级
    SIGNED = "signed", _("Signed for")  # 已签收
    IN_PROGRESS = "in_progress", _("In progress")  # 处置中
    EXTENSION_REQUESTED = "extension_requested", _("Extension requested")  # 延期申请中
    EXTENSION_ENDORSED = "extension_endorsed", _("Extension endorsed")  # 延期部门已审核
    EXTENDED = "extended", _("Extended")  # 已延期
    SUSPENSION_REQUESTED = "suspension_requested", _("Suspension requested")  # 缓办申请中
    SUSPENSION_ENDORSED = "suspension_endorsed", _("Suspension endorsed")  # 缓办部门已审核
    SUSPENDED = "suspended", _("Suspended")  # 缓办/挂账
    HANDLED = "handled", _("Handled")  # 已处置
    VERIFYING = "verifying", _("Verifying")  # 核查中
    VERIFIED = "verified", _("Verified")  # 核查通过
    REWORK = "rework", _("Rework")  # 返工
    CLOSED = "closed", _("Closed")  # 已结案
    EVALUATED = "evaluated", _("Evaluated")  # 已评价
    REOPENED = "reopened", _("Reopened")  # 重办


STATE_ZH: dict[State, str] = {
    State.REPORTED: "已上报",
    State.ACCEPTED: "已受理",
    State.INVALID: "不予受理",
    State.MERGED: "已合并",
    State.FILED: "已立案",
    State.DISPATCHED: "已派遣",
    State.RETURNED: "已退回",
    State.ESCALATED: "已上报上级",
    State.SIGNED: "已签收",
    State.IN_PROGRESS: "处置中",
    State.EXTENSION_REQUESTED: "延期申请中",
    State.EXTENSION_ENDORSED: "延期部门已审核",
    State.EXTENDED: "已延期",
    State.SUSPENSION_REQUESTED: "缓办申请中",
    State.SUSPENSION_ENDORSED: "缓办部门已审核",
    State.SUSPENDED: "缓办/挂账",
    State.HANDLED: "已处置",
    State.VERIFYING: "核查中",
    State.VERIFIED: "核查通过",
    State.REWORK: "返工",
    State.CLOSED: "已结案",
    State.EVALUATED: "已评价",
    State.REOPENED: "重办",
}


class Flag(models.TextChoices):
    """Marks on a case beside its state; setting one is not a state change."""

    SUPERVISED = "supervised", _("Supervised")  # 督办
    YELLOW = "yellow", _("Yellow card")  # 黄牌: deadline near
    RED = "red", _("Red card")  # 红牌: overdue


class Trigger(models.TextChoices):
    """Why a case is put under supervision (the `supervise` action's `trigger` input)."""

    MANUAL = "manual", _("Opened by a supervisor")  # 人工督办
    DISSATISFIED_TWICE = "dissatisfied_twice", _("Dissatisfied twice")  # 两次不满意
    VERIFICATION_FAILED = "verification_failed", _("Failed verification 3 times")  # 三次核查不通过
    OVERDUE = "overdue", _("Overdue")  # 超期


class Action(models.TextChoices):
    ACCEPT = "accept", _("Accept")  # 受理
    INVALIDATE = "invalidate", _("Do not accept")  # 不予受理
    MERGE = "merge", _("Merge into another case")  # 合并
    FILE = "file", _("File")  # 立案
    FILE_DIRECTLY = "file_directly", _("File directly")  # 网格员直接立案
    HANDLE_ON_THE_SPOT = "handle_on_the_spot", _("Handle on the spot")  # 自处置
    DISPATCH = "dispatch", _("Dispatch")  # 派遣
    WHISTLE = "whistle", _("Summon departments")  # 吹哨
    SIGN_FOR = "sign_for", _("Sign for")  # 签收
    RETURN_NOT_OUR_DUTY = "return_not_our_duty", _("Return: not our duty")  # 退回
    REJECT_RETURN = "reject_return", _("Reject the return")  # 驳回退回
    ESCALATE = "escalate", _("Escalate")  # 上报上级
    START_HANDLING = "start_handling", _("Start handling")  # 开始处置
    REQUEST_EXTENSION = "request_extension", _("Request extension")  # 申请延期
    ENDORSE_EXTENSION = "endorse_extension", _("Endorse extension (head)")  # 部门负责人审核
    APPROVE_EXTENSION = "approve_extension", _("Approve extension")
    DENY_EXTENSION = "deny_extension", _("Deny extension")
    REQUEST_SUSPENSION = "request_suspension", _("Request suspension")  # 申请缓办/挂账
    ENDORSE_SUSPENSION = "endorse_suspension", _("Endorse suspension (head)")  # 部门负责人审核
    APPROVE_SUSPENSION = "approve_suspension", _("Approve suspension")
    DENY_SUSPENSION = "deny_suspension", _("Deny suspension")
    RESUME = "resume", _("Resume")  # 恢复处置
    SUBMIT_RESULT = "submit_result", _("Submit result")  # 处置反馈
    SEND_FOR_VERIFICATION = "send_for_verification", _("Send for verification")  # 派发核查
    VERIFY_PASS = "verify_pass", _("Verification passed")  # 核查通过
    VERIFY_FAIL = "verify_fail", _("Verification failed")  # 核查不通过 → 返工
    CLOSE = "close", _("Close the case")  # 结案
    RATE = "rate", _("Rate")  # 评价 / 回访
    REOPEN = "reopen", _("Reopen")  # 重办
    RECORD_CONTACT = "record_contact", _("Record contact with the reporter")  # 联系诉求人
    SUPERVISE = "supervise", _("Supervise")  # 督办


@dataclass(frozen=True)
class Transition:
    """One row: `action` moves a case from any of `sources` to `target` (None: stays).

    `roles` may perform it (within their scope — the service checks scope); `requires` are the
    input fields that must be present and non-empty; `starts_deadline` is the stage whose
    deadline starts; `stops_clock` / `restarts_clock` pause and resume deadline counting;
    `extends_deadline` adds the approved time; `excludes_handler` means the actor must not be
    the case's handler (verification by someone else); `public` says whether the timeline
    event is shown to the resident.
    """

    action: Action
    sources: frozenset[State]
    target: State | None
    roles: frozenset[Role]
    zh: str
    en: str
    requires: frozenset[str] = frozenset()
    starts_deadline: Stage | None = None
    stops_clock: bool = False
    restarts_clock: bool = False
    extends_deadline: bool = False
    excludes_handler: bool = False
    public: bool = True


S = State
A = Action
R = Role

_HANDLERS = frozenset({R.DEPT_HANDLER, R.DEPT_HEAD, R.COMMUNITY_STAFF, R.STREET_STAFF})
_HEAD = frozenset({R.DEPT_HEAD})
# The dispatcher decides; with two-step approval a department's head endorses first
# (`GRIDLINK_HEAD_APPROVAL`, see `services/guards.py`) and may refuse.
_DECIDE = frozenset({R.DISPATCHER, R.DEPT_HEAD})
_EXT_ASKED = frozenset({S.EXTENSION_REQUESTED, S.EXTENSION_ENDORSED})
_SUS_ASKED = frozenset({S.SUSPENSION_REQUESTED, S.SUSPENSION_ENDORSED})
_DISPATCH = frozenset({R.DISPATCHER})
# Also the hotline operator, on a 12345 order where the district lets them dispatch it
# (`GRIDLINK_HOTLINE_DISPATCH`, see `permissions.operator_dispatches`).
_DISPATCH_12345 = _DISPATCH | {R.HOTLINE_OPERATOR}
_REASON = frozenset({"reason"})

# States a supervisor may put under supervision: every open one.
_OPEN = frozenset(State) - {S.INVALID, S.MERGED, S.CLOSED, S.EVALUATED}
# Open states in which a unit has been given the case (from the dispatch on).
_WITH_UNIT = _OPEN - {S.REPORTED, S.ACCEPTED, S.FILED, S.RETURNED}

TRANSITIONS: tuple[Transition, ...] = (
    # 1 collect → 2 file
    Transition(A.ACCEPT, frozenset({S.REPORTED}), S.ACCEPTED, _DISPATCH_12345,
               "受理上报", "Accept the report (verify on site if needed)"),
    Transition(A.INVALIDATE, frozenset({S.REPORTED, S.ACCEPTED}), S.INVALID, _DISPATCH,
               "不予受理", "Close the report as invalid, with a reason", requires=_REASON),
    Transition(A.MERGE, frozenset({S.REPORTED, S.ACCEPTED, S.FILED}), S.MERGED, _DISPATCH,
               "合并到主案卷", "Merge a duplicate into its parent case",
               requires=frozenset({"parent_case_id"})),
    Transition(A.FILE, frozenset({S.ACCEPTED}), S.FILED, _DISPATCH_12345,
               "立案", "File the case (its filing condition is met)"),
    Transition(A.FILE_DIRECTLY, frozenset({S.REPORTED}), S.FILED, frozenset({R.GRID_WORKER}),
               "网格员直接立案", "A grid worker files their own patrol report"),
    Transition(A.HANDLE_ON_THE_SPOT, frozenset({S.REPORTED, S.FILED}), S.HANDLED,
               frozenset({R.GRID_WORKER}), "网格自处置",
               "A grid worker solves a small problem on the spot, with photos",
               requires=frozenset({"evidence"})),
    # 3 dispatch
    Transition(A.DISPATCH, frozenset({S.FILED, S.RETURNED, S.ESCALATED}), S.DISPATCHED,
               _DISPATCH_12345, "派遣", "Dispatch to one responsible unit",
               requires=frozenset({"unit_id"}), starts_deadline="sign_for"),
    Transition(A.WHISTLE, frozenset({S.FILED, S.RETURNED, S.ESCALATED}), S.DISPATCHED,
               _DISPATCH, "吹哨报到", "Summon several departments: one lead, co-handlers",
               requires=frozenset({"department_ids", "lead_department_id"}),
               starts_deadline="sign_for"),
    Transition(A.SIGN_FOR, frozenset({S.DISPATCHED}), S.SIGNED, _HANDLERS,
               "签收", "The unit signs for the case", starts_deadline="handle"),
    Transition(A.RETURN_NOT_OUR_DUTY, frozenset({S.DISPATCHED, S.SIGNED}), S.RETURNED,
               _HANDLERS, "退回（非本单位职责）", "Return: not our duty", requires=_REASON,
               public=False),
    Transition(A.REJECT_RETURN, frozenset({S.RETURNED}), S.DISPATCHED, _DISPATCH,
               "驳回退回", "Refuse the return; the same unit must sign for it",
               requires=_REASON, starts_deadline="sign_for", public=False),
    Transition(A.ESCALATE,
               frozenset({S.FILED, S.DISPATCHED, S.SIGNED, S.IN_PROGRESS, S.EXTENDED,
                          S.RETURNED, S.ESCALATED, S.REWORK, S.REOPENED}),
               S.ESCALATED,
               frozenset({R.GRID_WORKER, R.COMMUNITY_STAFF, R.STREET_STAFF, R.DISPATCHER,
                          R.DEPT_HEAD}),
               "上报上级", "Escalate one level up the ladder, with a reason",
               requires=_REASON, starts_deadline="handle"),
    # 4 handle
    Transition(A.START_HANDLING, frozenset({S.SIGNED, S.ESCALATED, S.REWORK, S.REOPENED}),
               S.IN_PROGRESS, _HANDLERS, "开始处置", "Start handling"),
    Transition(A.REQUEST_EXTENSION, frozenset({S.SIGNED, S.IN_PROGRESS}),
               S.EXTENSION_REQUESTED, _HANDLERS, "申请延期", "Ask for more time (once)",
               requires=frozenset({"reason", "duration"}), public=False),
    Transition(A.ENDORSE_EXTENSION, frozenset({S.EXTENSION_REQUESTED}), S.EXTENSION_ENDORSED,
               _HEAD, "部门负责人审核延期",
               "The department head endorses the request; it goes on to the dispatcher",
               public=False),
    Transition(A.APPROVE_EXTENSION, _EXT_ASKED, S.EXTENDED, _DISPATCH,
               "批准延期", "Approve: the handle deadline moves by the approved time",
               extends_deadline=True),
    Transition(A.DENY_EXTENSION, _EXT_ASKED, S.IN_PROGRESS, _DECIDE,
               "驳回延期", "Deny the extension (the head or the dispatcher); the deadline stands",
               requires=_REASON, public=False),
    Transition(A.REQUEST_SUSPENSION, frozenset({S.SIGNED, S.IN_PROGRESS, S.EXTENDED}),
               S.SUSPENSION_REQUESTED, _HANDLERS, "申请缓办/挂账",
               "Ask to suspend (cannot be solved for now)", requires=_REASON, public=False),
    Transition(A.ENDORSE_SUSPENSION, frozenset({S.SUSPENSION_REQUESTED}),
               S.SUSPENSION_ENDORSED, _HEAD, "部门负责人审核缓办",
               "The department head endorses the request; it goes on to the dispatcher",
               public=False),
    Transition(A.APPROVE_SUSPENSION, _SUS_ASKED, S.SUSPENDED,
               _DISPATCH, "批准缓办/挂账", "Approve: the deadline clock stops",
               stops_clock=True),
    Transition(A.DENY_SUSPENSION, _SUS_ASKED, S.IN_PROGRESS,
               _DECIDE, "驳回缓办",
               "Deny the suspension (the head or the dispatcher); handling goes on",
               requires=_REASON, public=False),
    Transition(A.RESUME, frozenset({S.SUSPENDED}), S.IN_PROGRESS, _DISPATCH,
               "恢复处置", "Resume handling: the clock runs again", restarts_clock=True),
    # 5 report back
    Transition(A.SUBMIT_RESULT, frozenset({S.IN_PROGRESS, S.EXTENDED, S.REWORK}), S.HANDLED,
               _HANDLERS, "处置反馈", "Submit the result with evidence photos",
               requires=frozenset({"evidence"})),
    # 6 verify and close
    Transition(A.SEND_FOR_VERIFICATION, frozenset({S.HANDLED}), S.VERIFYING,
               frozenset({R.DISPATCHER, R.COMMUNITY_STAFF}), "派发核查",
               "Ask someone other than the handler to verify on site",
               requires=frozenset({"verifier_id"}), starts_deadline="verify", public=False),
    Transition(A.VERIFY_PASS, frozenset({S.VERIFYING}), S.VERIFIED,
               frozenset({R.GRID_WORKER, R.SUPERVISOR}), "核查通过",
               "On-site check: solved", excludes_handler=True),
    Transition(A.VERIFY_FAIL, frozenset({S.VERIFYING}), S.REWORK,
               frozenset({R.GRID_WORKER, R.SUPERVISOR}), "核查不通过，返工",
               "On-site check: not solved, back for rework", requires=_REASON,
               starts_deadline="handle", excludes_handler=True, public=False),
    Transition(A.CLOSE, frozenset({S.VERIFIED}), S.CLOSED, _DISPATCH,
               "结案", "Close the case (its closing condition is met)"),
    # 7 evaluate
    Transition(A.RATE, frozenset({S.CLOSED}), S.EVALUATED,
               frozenset({R.RESIDENT, R.HOTLINE_OPERATOR}), "评价/回访",
               "The reporter rates satisfaction and whether it was solved (or a callback)",
               requires=frozenset({"satisfaction", "solved"})),
    Transition(A.REOPEN, frozenset({S.CLOSED, S.EVALUATED}), S.REOPENED,
               frozenset({R.DISPATCHER, R.HOTLINE_OPERATOR}), "重办",
               "Dissatisfied: the same unit handles it again", requires=_REASON,
               starts_deadline="handle"),
    # steps that leave the state as it is
    Transition(A.RECORD_CONTACT, _WITH_UNIT, None, _HANDLERS | {R.HOTLINE_OPERATOR},
               "联系诉求人", "Record that the reporter was contacted (now; the response rate)",
               public=False),
    # flags
    Transition(A.SUPERVISE, _OPEN, None, frozenset({R.SUPERVISOR}), "督办",
               "Put the case under supervision (with its supervision order; sets the flag)",
               requires=_REASON,
               public=False),
)  # fmt: skip

# Where a case may end up: no way out, except the actions listed in EXITS_FROM_FINAL.
FINAL_STATES = frozenset({S.INVALID, S.MERGED, S.CLOSED, S.EVALUATED})
EXITS_FROM_FINAL = frozenset({A.RATE, A.REOPEN})
INITIAL_STATE = S.REPORTED
