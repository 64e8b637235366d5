"""Key rotation: re-encrypt every stored value under the active key."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from lumen.db.models import Conversation, Feedback, Message, PatientProfile, User
from lumen.db.session import Database
from lumen.security.crypto import Keyring
from lumen.services.conversations import (
    answer_context,
    comment_context,
    question_context,
    title_context,
)
from lumen.services.profiles import ENCRYPTED_FIELDS, field_context

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncryptedColumn:
    """A column of ciphertexts and how to name each value's associated data."""

    model: type
    column: str
    context: Callable[[str], str]


def _profile_context(name: str) -> Callable[[str], str]:
    def context(row_id: str) -> str:
        return field_context(row_id, name)

    return context


def _totp_context(row_id: str) -> str:
    return f"users.totp_secret:{row_id}"


ENCRYPTED_COLUMNS: tuple[EncryptedColumn, ...] = (
    EncryptedColumn(User, "totp_secret_enc", _totp_context),
    *(
        EncryptedColumn(PatientProfile, f"{name}_enc", _profile_context(name))
        for name in ENCRYPTED_FIELDS
    ),
    EncryptedColumn(Conversation, "title_enc", title_context),
    EncryptedColumn(Message, "question_enc", question_context),
    EncryptedColumn(Message, "answer_enc", answer_context),
    EncryptedColumn(Feedback, "comment_enc", comment_context),
)


def reencrypt_all(
    database: Database,
    keyring: Keyring,
    *,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Re-encrypt every value not under the active key; returns how many changed."""
    changed = 0
    for spec in ENCRYPTED_COLUMNS:
        model = spec.model
        last_id = ""
        while True:
            with database.session() as db:
                rows = db.scalars(
                    select(model)
                    .where(model.id > last_id)  # type: ignore[attr-defined]
                    .order_by(model.id)  # type: ignore[attr-defined]
                    .limit(batch)
                ).all()
                if not rows:
                    break
                for row in rows:
                    token = getattr(row, spec.column)
                    if token and keyring.needs_rotation(token):
                        setattr(
                            row, spec.column, keyring.reencrypt(token, context=spec.context(row.id))
                        )
                        changed += 1
                        if progress is not None:
                            progress(1)
                last_id = rows[-1].id
    logger.info("re-encrypted %s value(s) under key %s", changed, keyring.active_id)
    return changed
