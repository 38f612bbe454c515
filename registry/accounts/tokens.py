"""Personal API tokens: shown once, stored as a SHA-256, revocable."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta, timezone

import sqlalchemy as sa

from registry import clock
from registry.accounts import policy
from registry.accounts.models import ApiToken, User, identity_options
from registry.audit import services as audit
from registry.errors import NotFound, ValidationFailed
from registry.extensions import db

PREFIX = "xzr_"  # makes a leaked token easy to recognise in logs and secret scanners
MAX_ACTIVE_PER_USER = 10
# Writing last_used_at on every call would turn each API read into a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def user_tokens(user: User) -> list[ApiToken]:
    """Return `user`'s tokens, newest first."""
    return list(db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.id.desc())))


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for `user`; return the row and the plain token (never stored)."""
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise ValidationFailed("令牌未创建", {"名称": ["请填写令牌名称（不超过 64 个字符）"]})
    active = db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)))
    if active >= MAX_ACTIVE_PER_USER:
        raise ValidationFailed("令牌未创建", {"名称": [f"每个账户最多 {MAX_ACTIVE_PER_USER} 个有效令牌，请先撤销不用的令牌"]})
    plain = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, prefix=plain[:10], token_hash=_digest(plain))
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", object_type="api_token", object_id=token.id, user=user,
                 details={"name": name, "prefix": token.prefix})
    db.session.commit()
    return token, plain


def revoke_token(user: User, token_id: int) -> ApiToken:
    """Revoke one of `user`'s own tokens (another user's token is reported as not found)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        audit.record("token.revoke", outcome="denied", object_type="api_token", object_id=token_id, user=user,
                     details={"reason": "not the owner" if token else "no such token"})
        db.session.commit()
        raise NotFound("令牌不存在")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        audit.record("token.revoke", object_type="api_token", object_id=token.id, user=user,
                     details={"name": token.name, "prefix": token.prefix})
        db.session.commit()
    return token


def revoke_all(user: User) -> int:
    """Mark every live token of `user` revoked (rows are kept); return how many (the caller audits and commits).

    Called when an account is deactivated, its password reset or its role changed: a token is a standing
    credential, and whatever ended the owner's sessions ends it too. Reactivation does not bring it back.
    """
    result = db.session.execute(sa.update(ApiToken)
                                .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                .values(revoked_at=clock.now())
                                .execution_options(synchronize_session=False))
    return result.rowcount


def user_for_token(plain: str) -> User | None:
    """Return the active user owning the unrevoked token `plain`, or None."""
    if not plain.startswith(PREFIX) or len(plain) > 200:
        return None
    row = db.session.execute(sa.select(ApiToken, *policy.stored_columns())
                             .where(ApiToken.token_hash == _digest(plain))
                             .options(*identity_options(ApiToken.user))).unique().first()
    if row is None:
        return None
    token = row[0]
    if token.revoked_at is not None or not token.user.active:
        return None
    policy.keep_for_request(row[1:])
    now = clock.now()
    last = token.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=timezone.utc)
    if last is None or now - last > LAST_USED_RESOLUTION:
        token.last_used_at = now
        session = db.session()
        # Only this token row changed; keeping the user just read (instead of expiring it on commit)
        # spares this request a second load of the user, department and categories.
        expire, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        finally:
            session.expire_on_commit = expire
    return token.user
