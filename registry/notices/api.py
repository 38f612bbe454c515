"""JSON API /api/v1/notices: list (filters, cursor), read, preview, download, draft, sign, discard, lifecycle, print."""
from __future__ import annotations

from flask import Response, request
from flask_login import current_user

from registry.accounts.access import roles_required
from registry.api_base import ERROR, Blueprint, stacked
from registry.downloads import send_bytes
from registry.enums import NoticeStatus, Role
from registry.notices import lifecycle, queries
from registry.notices.batch import print_batch as merge
from registry.notices.printing import render_notice
from registry.notices.schemas import (
    AcknowledgeIn,
    CompleteIn,
    DiscardIn,
    IssueIn,
    NoticeDetailOut,
    NoticeOut,
    NoticePageOut,
    NoticeQuery,
    PrintIn,
    ServeIn,
    SignIn,
    VoidIn,
)
from registry.notices.services import discard_draft, download_pdf, find_notices, get_notice, sign_notices
from registry.notices.sources import draft_for_asset as make_draft
from registry.notices.sources import draft_from_findings

blp = Blueprint("notices_api", __name__, url_prefix="/api/v1/notices", description="更新通知书")
PDF_RESPONSE = {"200": {"description": "PDF 文件", "content": {"application/pdf": {"schema": {"type": "string",
                                                                                       "format": "binary"}}}}}

READERS = (Role.MAINTAINER, Role.INSPECTOR, Role.DEPT_HEAD, Role.TASKFORCE)
DRAFTERS = (Role.MAINTAINER, Role.INSPECTOR)


@blp.route("/", methods=["GET"])
@blp.arguments(NoticeQuery, location="query", as_kwargs=False)
@blp.response(200, NoticePageOut)
@roles_required(*READERS)
def list_notices(_args):
    """List the notices the caller may read, newest first; follow `next_cursor` for the next page."""
    filters = queries.parse_filters(request.args)
    page = queries.list_notices(filters, current_user, request.args.get("cursor"),
                                queries.parse_limit(request.args.get("limit")))
    return {"items": page.items, "next_cursor": page.next_cursor}


@blp.route("/<int:notice_id>", methods=["GET"])
@blp.response(200, NoticeDetailOut)
@roles_required(*READERS)
def read_notice(notice_id: int):
    """Return one notice with the exact text it was issued with and its assets."""
    return get_notice(notice_id, current_user)


@blp.route("/<int:notice_id>/pdf", methods=["GET"])
@blp.doc(responses=PDF_RESPONSE)
@roles_required(*READERS)
def notice_pdf(notice_id: int):
    """Download the stored PDF (byte-identical every time)."""
    return download_pdf(notice_id, current_user)


@blp.route("/<int:notice_id>/preview", methods=["GET"])
@blp.doc(responses=PDF_RESPONSE)
@roles_required(*READERS)
def notice_preview(notice_id: int):
    """Render the PDF on the fly (a draft's shows 拟稿 in place of number and date; nothing is stored)."""
    notice = get_notice(notice_id, current_user)
    return Response(render_notice(notice), mimetype="application/pdf", headers={"Cache-Control": "no-store"})


@blp.route("/issue", methods=["POST"])
@blp.arguments(IssueIn)
@blp.response(201, NoticeOut(many=True))
@roles_required(Role.MAINTAINER)
def issue(args):
    """Draft notices (拟稿, no number) for the caller's department from mandatory findings (by asset ids or filter)."""
    return draft_from_findings(current_user, asset_ids=args["asset_ids"], township=args["township"],
                               category=args["category"], snapshot_id=args["snapshot_id"],
                               issued_on=args["issued_on"])


@blp.route("/from-asset/<int:asset_id>", methods=["POST"])
@blp.response(201, NoticeOut)
@blp.alt_response(409, response=ERROR[409])
@blp.alt_response(422, response=ERROR[422])  # the asset has no mandatory finding
@roles_required(*DRAFTERS)
def draft_for_asset(asset_id: int):
    """Evaluate one asset now (per-asset rules path) and draft its notice."""
    return make_draft(current_user, asset_id)


@blp.route("/sign", methods=["POST"])
@blp.arguments(SignIn)
@blp.response(200, NoticeOut(many=True))
@blp.alt_response(409, response=ERROR[409])
@roles_required(Role.DEPT_HEAD)
def sign(args):
    """Sign drafts (签发) as the department head, all or none; each takes the next number."""
    return sign_notices(args["ids"], current_user, issued_on=args["issued_on"])


def _notice_action(action: str, schema, *roles: Role):
    """Declare POST /<id>/<action>: `schema` body, one notice back, 409 on a refused transition, `roles` only."""
    return stacked(blp.route(f"/<int:notice_id>/{action}", methods=["POST"]), blp.arguments(schema),
                   blp.response(200, NoticeOut), blp.alt_response(409, response=ERROR[409]), roles_required(*roles))


@_notice_action("discard", DiscardIn, Role.DEPT_HEAD, Role.MAINTAINER)
def discard(args, notice_id: int):
    """Discard a draft with a reason (撤稿); it never had a number."""
    return discard_draft(get_notice(notice_id, current_user), current_user, args["reason"])


@_notice_action("serve", ServeIn, Role.INSPECTOR)
def serve(args, notice_id: int):
    """Record service on the owner unit."""
    return lifecycle.serve(get_notice(notice_id, current_user), current_user, args["served_on"], args["recipient"])


@_notice_action("acknowledge", AcknowledgeIn, Role.INSPECTOR)
def acknowledge(args, notice_id: int):
    """Record the owner unit's acknowledgement."""
    return lifecycle.acknowledge(get_notice(notice_id, current_user), current_user, args["note"])


@_notice_action("complete", CompleteIn, Role.INSPECTOR)
def complete(args, notice_id: int):
    """Close the notice with disposal evidence."""
    return lifecycle.complete(get_notice(notice_id, current_user), current_user, args["kind"],
                              args["reference"], args["replacement_code"])


@_notice_action("void", VoidIn, Role.MAINTAINER)
def void(args, notice_id: int):
    """Void a notice with a reason; it keeps its number."""
    return lifecycle.void(get_notice(notice_id, current_user), current_user, args["reason"])


@blp.route("/print", methods=["POST"])
@blp.arguments(PrintIn)
@blp.doc(responses=PDF_RESPONSE)
@roles_required(Role.MAINTAINER, Role.INSPECTOR)
def print_batch(args):
    """Merge the selected notices into one PDF ordered by township."""
    notices = find_notices(current_user, status=None if args["ids"] else NoticeStatus(args["status"]),
                           township=args["township"], unprinted=args["unprinted"], ids=args["ids"], signed=True)
    return send_bytes(merge(notices, current_user), "notices-batch.pdf")
