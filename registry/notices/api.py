"""JSON API /api/v1/notices: list, read, download, issue, lifecycle actions, batch print."""
from __future__ import annotations

from flask import Response
from flask_login import current_user

from registry.accounts.access import roles_required
from registry.api_base import ERROR, Blueprint
from registry.enums import NoticeStatus, Role
from registry.notices import lifecycle
from registry.notices.schemas import (
    AcknowledgeIn, CompleteIn, IssueIn, NoticeDetailOut, NoticeOut, NoticeQuery, PrintIn, ServeIn, VoidIn,
)
from registry.notices.services import find_notices, get_notice, record_download

blp = Blueprint("notices_api", __name__, url_prefix="/api/v1/notices", description="更新通知书")
PDF_RESPONSE = {"200": {"description": "PDF 文件", "content": {"application/pdf": {"schema": {"type": "string",
                                                                                       "format": "binary"}}}}}

READERS = (Role.MAINTAINER, Role.INSPECTOR, Role.TASKFORCE)


@blp.route("/", methods=["GET"])
@blp.arguments(NoticeQuery, location="query")
@blp.response(200, NoticeOut(many=True))
@roles_required(*READERS)
def list_notices(args):
    """List the notices the caller may read, in print order."""
    status = NoticeStatus(args["status"]) if args.get("status") else None
    return find_notices(current_user, status=status, township=args.get("township"), limit=1000)


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
    from registry.notices.printing import pdf_response
    notice = get_notice(notice_id, current_user)
    response = pdf_response(notice)
    record_download(notice, current_user)
    return response


@blp.route("/issue", methods=["POST"])
@blp.arguments(IssueIn)
@blp.response(201, NoticeOut(many=True))
@roles_required(Role.MAINTAINER)
def issue(args):
    """Issue notices for the caller's department from mandatory findings (by asset ids or filter)."""
    from registry.notices.sources import issue_from_findings
    return issue_from_findings(current_user, asset_ids=args["asset_ids"], township=args["township"],
                               category=args["category"], snapshot_id=args["snapshot_id"],
                               issued_on=args["issued_on"])


@blp.route("/<int:notice_id>/serve", methods=["POST"])
@blp.arguments(ServeIn)
@blp.response(200, NoticeOut)
@blp.alt_response(409, response=ERROR[409])
@roles_required(Role.INSPECTOR)
def serve(args, notice_id: int):
    """Record service on the owner unit."""
    return lifecycle.serve(get_notice(notice_id, current_user), current_user, args["served_on"], args["recipient"])


@blp.route("/<int:notice_id>/acknowledge", methods=["POST"])
@blp.arguments(AcknowledgeIn)
@blp.response(200, NoticeOut)
@blp.alt_response(409, response=ERROR[409])
@roles_required(Role.INSPECTOR)
def acknowledge(args, notice_id: int):
    """Record the owner unit's acknowledgement."""
    return lifecycle.acknowledge(get_notice(notice_id, current_user), current_user, args["note"])


@blp.route("/<int:notice_id>/complete", methods=["POST"])
@blp.arguments(CompleteIn)
@blp.response(200, NoticeOut)
@blp.alt_response(409, response=ERROR[409])
@roles_required(Role.INSPECTOR)
def complete(args, notice_id: int):
    """Close the notice with disposal evidence."""
    return lifecycle.complete(get_notice(notice_id, current_user), current_user, args["kind"],
                              args["reference"], args["replacement_code"])


@blp.route("/<int:notice_id>/void", methods=["POST"])
@blp.arguments(VoidIn)
@blp.response(200, NoticeOut)
@blp.alt_response(409, response=ERROR[409])
@roles_required(Role.MAINTAINER)
def void(args, notice_id: int):
    """Void a notice with a reason; it keeps its number."""
    return lifecycle.void(get_notice(notice_id, current_user), current_user, args["reason"])


@blp.route("/print", methods=["POST"])
@blp.arguments(PrintIn)
@blp.doc(responses=PDF_RESPONSE)
@roles_required(Role.MAINTAINER, Role.INSPECTOR)
def print_batch(args):
    """Merge the selected notices into one PDF ordered by township."""
    from registry.notices.printing import print_batch as merge
    notices = find_notices(current_user, status=None if args["ids"] else NoticeStatus(args["status"]),
                           township=args["township"], unprinted=args["unprinted"], ids=args["ids"])
    return Response(merge(notices, current_user), mimetype="application/pdf",
                    headers={"Content-Disposition": "attachment; filename=notices-batch.pdf"})
