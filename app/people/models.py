"""People: everyone who can hold a role, own an action item or be emailed."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import String, true
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Person(Base):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    timezone: Mapped[Optional[str]] = mapped_column(String(64))
    jira_account_id: Mapped[Optional[str]] = mapped_column(String(128))
    # Someone who has left: kept for the history they are part of, no longer offered in pickers.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Person {self.email}>"
