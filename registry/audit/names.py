"""The Chinese names of audit actions, objects and detail keys: the one table the page, exports and filter use.

Records store the stable English code (`plan.lock`); people read 锁定计划. `details` is JSON with
before/after and context; `detail_rows` turns it into readable rows.
"""
from __future__ import annotations

import json
from datetime import date, datetime

from registry.enums import ALL_ENUMS
from registry.errors import without_exception_name

ACTION_NAMES = {
    "login": "登录", "logout": "退出登录", "password.change": "修改密码",
    "access.denied": "拒绝访问", "asset.access_denied": "拒绝访问设备", "privilege.escalation": "越权操作",
    "csrf.rejected": "表单校验失败", "session.rejected": "会话失效", "request.too_large": "上传内容过大",
    "token.create": "创建 API 令牌", "token.revoke": "吊销 API 令牌",
    "user.create": "新建账户", "user.change_role": "变更角色", "user.grant_admin_role": "授予管理员角色",
    "user.deactivate": "停用账户", "user.reactivate": "启用账户", "user.lock": "锁定账户",
    "user.reset_password": "重置密码", "policy.update": "修改安全策略",
    "audit.export": "导出审计日志", "audit.prune": "清理过期审计记录",
    "asset.create": "登记设备", "asset.update": "修改设备", "asset.bulk": "批量修改设备", "asset.delete": "删除设备",
    "asset.import": "导入台账", "asset.export": "导出台账", "asset.assess": "状况评定", "unit.create": "新建单位",
    "transfer.import_mapping": "导入映射",
    "rules.evaluate": "规则评估", "rules.seed": "载入规则包", "rules.version": "修改规则",
    "snapshot.created": "生成清单快照", "snapshot.export": "导出清单",
    "notice.draft": "通知书拟稿", "notice.sign": "签发通知书", "notice.discard": "撤回通知书草稿",
    "notice.supersede": "通知书草稿被替代", "notice.issue": "出具通知书", "notice.serve": "送达通知书", "notice.acknowledge": "签收通知书",
    "notice.complete": "办结通知书", "notice.overdue": "通知书逾期", "notice.void": "作废通知书",
    "notice.print": "打印通知书", "notice.download": "下载通知书", "notice.seal.upload": "上传印章",
    "notice.template.update": "修改通知书模板",
    "plan.create": "新建计划", "plan.rebuild": "重新编制计划", "plan.settings": "调整配额预算",
    "plan.submit": "上报计划", "plan.return": "退回计划", "plan.approve": "审批计划", "plan.lock": "锁定计划",
    "plan.revise": "新建计划修订", "plan.pin": "人工指定设备", "plan.unpin": "取消指定设备",
    "plan.comment": "计划意见", "plan.export": "导出计划", "plan.target.update": "修改目标",
    "plan.cost.update": "修改更新费用估算",
    "job.requested": "手动运行定时任务", "job.succeeded": "定时任务成功", "job.failed": "定时任务失败",
    "job.abandoned": "定时任务中断", "job.acknowledged": "确认任务失败",
}
OBJECT_NAMES = {
    "user": "账户", "asset": "设备", "notice": "通知书", "plan": "计划", "rule": "规则", "snapshot": "清单快照",
    "job_run": "任务运行", "audit_records": "审计记录", "token": "API 令牌", "api_token": "API 令牌", "unit": "单位", "policy": "安全策略",
    "security_policy": "安全策略", "seal": "印章", "notice_template": "通知书模板", "target": "目标",
    "plan_target": "目标", "cost": "费用估算", "replacement_cost": "费用估算", "evaluation": "评估",
    "department": "部门", "file": "文件", "request": "请求",
}
# Keys of `details`, in the words of the page; a key not listed is shown as 其他.
DETAIL_NAMES = {
    "username": "用户名", "reason": "原因", "path": "页面", "method": "方式", "role": "角色", "department": "部门",
    "status": "状态", "filters": "筛选条件", "rows": "行数", "format": "格式", "file": "文件", "errors": "错误数",
    "count": "数量", "assets": "设备", "snapshot_id": "清单快照", "served_on": "送达日期", "recipient": "签收人",
    "note": "备注", "kind": "凭证类型", "reference": "凭证编号", "deadline": "整改期限", "as_of": "评估日期",
    "number": "文号", "period": "周期", "job": "任务", "error": "错误", "trigger": "触发方式",
    "name": "名称", "code": "编码", "version": "版本", "comment": "意见", "year": "年度", "action": "操作",
    "category": "类别", "target": "目标", "value": "数值", "ip": "IP", "size": "大小", "limit": "上限",
    "endpoint": "页面", "required_roles": "所需角色", "user_role": "当前角色", "outcome": "结论",
    "findings": "发现数", "evaluation_id": "评估", "assets_count": "设备数", "pruned": "清理条数",
    "last_hash": "最后哈希", "retention_days": "保留天数", "active": "启用", "counts": "统计",
    "printed": "打印份数", "template": "模板", "seal": "印章", "notices": "通知书", "quotas": "配额",
    "budgets": "预算", "mapping": "映射", "sheet": "工作表", "profile": "映射方案", "via": "途径",
    "issued_on": "出具日期", "signed_by": "签发人", "drafts": "草稿", "superseded_by": "替代草稿",
    "job_id": "任务", "hash": "哈希", "items": "条目数", "key": "快照标识", "finding_count": "发现数",
    "rule_versions": "规则版本", "parent": "上一修订", "revision": "修订号", "assets_planned": "列入计划设备数",
    "department_id": "部门", "years": "年度", "asset": "设备", "diff": "与上一快照相比", "prefix": "令牌前缀",
    "privileged": "管理员角色", "packs": "规则包", "added": "新增", "from": "原状态", "to": "新状态",
    "formula": "公式", "object_type": "对象类型", "start": "开始日期", "end": "结束日期", "hits": "命中",
    "snapshot": "清单快照", "by_department": "按部门", "field": "字段", "source": "来源", "evaluation": "评估", "params": "参数", "enabled": "启用",
}
# Stored context values that are words, not data: shown in Chinese.
VALUE_WORDS = {
    "api token": "API 令牌", "api_token": "API 令牌", "web": "网页", "command line": "命令行", "cli": "命令行",
    "idle timeout": "空闲超时", "unknown user": "用户不存在", "bad password": "密码错误", "locked": "已锁定",
    "inactive": "已停用", "not the owner": "不是令牌所有人", "no such token": "令牌不存在",
    "GET": "打开页面", "POST": "提交", "PUT": "修改", "PATCH": "修改", "DELETE": "删除",
    "national": "国家标准规则包", "xlsx": "Excel", "csv": "CSV",
    "schedule": "定时", "catch-up": "补跑", "manual": "手动",
}
# Values whose meaning depends on their key: {key: {value: text}}.
KEYED_WORDS = {
    "source": {"notice": "更新通知书", "plan": "更新计划"},
    "packs": {"plan": "计划规则包", "national": "国家标准规则包"},
    "field": {"status": "使用状态", "condition_grade": "状况等级", "user_unit": "使用单位"},
}
# Every enumeration value the registry stores, with its label (a value two enums share keeps the first).
ENUM_LABELS: dict[str, str] = {}
for _enum in ALL_ENUMS:
    for _member in _enum:
        ENUM_LABELS.setdefault(_member.value, _member.label)
# Keys whose values are identifiers to copy exactly (hashes, prefixes), shown as code.
VERBATIM_KEYS = {"hash", "prefix", "key", "last_hash", "path", "endpoint", "job_id"}  # job ids: see 定时任务


def action_label(code: str) -> str:
    """Return the Chinese name of an audit action (the code itself only for an action nobody named)."""
    return ACTION_NAMES.get(code, code)


def object_label(code: str | None) -> str:
    """Return the Chinese name of an audit object type."""
    if not code:
        return ""
    return OBJECT_NAMES.get(code, code)


def actions_named(text: str) -> list[str]:
    """Return the action codes a filter text means: the code itself, or every action whose name contains it."""
    text = text.strip()
    if not text:
        return []
    if text in ACTION_NAMES:
        return [text]
    named = [code for code, name in ACTION_NAMES.items() if name == text]
    return named or [code for code, name in ACTION_NAMES.items() if text in name] or [text]


def _show(value, key: str | None = None) -> str:
    """Return a detail value as text: lists joined, dicts as 键：值, booleans as 是/否, stored words in Chinese."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        return (KEYED_WORDS.get(key, {}).get(value) or VALUE_WORDS.get(value) or ENUM_LABELS.get(value)
                or without_exception_name(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return "、".join(_show(v, key) for v in value) or "—"
    if isinstance(value, dict):
        return "；".join(f"{detail_label(k)}：{_show(v, k)}" for k, v in value.items()) or "—"
    return str(value)


def detail_label(key: str) -> str:
    """Return the Chinese name of a details key (an enum value used as a key, as in counts, shows its label)."""
    return DETAIL_NAMES.get(key) or ENUM_LABELS.get(key) or key


def detail_rows(details: str | None) -> list[tuple[str, str, str | None, bool]]:
    """Return readable (name, before-or-value, after, verbatim) rows of a record's JSON details.

    `after` is None for context rows; before/after pairs come from "before"/"after" (dicts or single
    values) and from "from"/"to"; `verbatim` marks identifiers (hashes, paths) to show as code.
    """
    if not details:
        return []
    try:
        data = json.loads(details)
    except (TypeError, ValueError):
        return [("详情", details, None, True)]
    if not isinstance(data, dict):
        return [("详情", _show(data), None, False)]
    rows = []
    paired = set()
    for old_key, new_key, name in (("before", "after", "变更"), ("from", "to", "状态")):
        if old_key not in data and new_key not in data:
            continue
        paired |= {old_key, new_key}
        before, after = data.get(old_key), data.get(new_key)
        if isinstance(before, dict) or isinstance(after, dict):
            before = before if isinstance(before, dict) else {}
            after = after if isinstance(after, dict) else {}
            for key in dict.fromkeys([*before, *after]):
                rows.append((detail_label(key), _show(before.get(key), key), _show(after.get(key), key), False))
        else:
            rows.append((name, _show(before), _show(after), False))
    for key, value in data.items():
        if key not in paired:
            rows.append((detail_label(key), _show(value, key), None, key in VERBATIM_KEYS))
    return rows


def details_text(details: str | None) -> str:
    """Return a record's details as one readable line (for the Excel and CSV exports)."""
    parts = []
    for name, first, second, _verbatim in detail_rows(details):
        parts.append(f"{name}：{first} → {second}" if second is not None else f"{name}：{first}")
    return "；".join(parts)
