"""Flask extensions, created unbound; `create_app` binds them."""
from flask import g
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from registry.api_base import ErrorResponsesPlugin, RegistryApi

# Stable constraint names, so migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RegistryCSRFProtect(CSRFProtect):
    """CSRF on every form and every cookie-authenticated API write; bearer-token API calls are exempt."""

    def protect(self, apply_exemptions=False):
        """Skip the check only when a valid API token authenticated this request."""
        if g.get("token_authenticated"):
            return None
        return super().protect(apply_exemptions)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = RegistryCSRFProtect()
babel = Babel()
# flask-smorest: JSON API under /api/v1 with its OpenAPI document (errors documented per operation)
api = RegistryApi(spec_kwargs={"extra_plugins": [ErrorResponsesPlugin()]})
# Rate limits on chosen endpoints only (no default limit); RATELIMIT_ENABLED / RATELIMIT_STORAGE_URI configure it.
limiter = Limiter(get_remote_address, default_limits=[])
