"""Imports every domain's models so Base.metadata (and Alembic) sees all tables."""

from app.actions import models as actions  # noqa: F401
from app.auth import models as auth  # noqa: F401
from app.documents import models as documents  # noqa: F401
from app.incidents import models as incidents  # noqa: F401
from app.people import models as people  # noqa: F401
from app.reminders import models as reminders  # noqa: F401
from app.retros import models as retros  # noqa: F401
from app.services import models as services  # noqa: F401
from app.intake import models as intake  # noqa: F401
from app.chat import models as chat  # noqa: F401
