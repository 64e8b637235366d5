"""Request and response bodies, one family per entity (Create / Update / Public)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    StringConstraints,
)

from lumen.documents import COLLECTION_NAME_PATTERN

T = TypeVar("T")

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def valid_text(value: str) -> str:
    """``value`` if it is storable text: no NUL character, no lone surrogate (valid UTF-8)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


Text = Annotated[str, AfterValidator(valid_text)]
"""Every text a client sends: valid UTF-8 without NUL characters, else a 422."""

Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
"""An object id (a UUID, a session id): letters, digits, ``-`` and ``_``, up to 64."""

CollectionRef = Annotated[str, StringConstraints(pattern=COLLECTION_NAME_PATTERN)]
"""A collection: ``knowledge``, ``drugs``, ``regulatory`` or an organisation's own."""

DemographicValue = bool | int | FiniteFloat | Text | None
"""Booleans first: ``true`` stays ``true`` (not 1); NaN and infinities are a 422."""

RoleName = Literal["patient", "pharma", "admin"]


class Strict(BaseModel):
    """Rejects unknown fields, so that typos surface as 422s."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    total: int
    limit: int
    offset: int


class ErrorField(BaseModel):
    """A field and what is wrong with it."""

    field: str
    message: str


class ErrorBody(BaseModel):
    """The error part of every error response."""

    status: int
    code: str
    message: str
    fields: list[ErrorField] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    """Every error response has this shape."""

    error: ErrorBody


# Accounts and sessions


class UserCreate(Strict):
    """Sign-up."""

    email: Text = Field(max_length=320, description="E-mail address, used to sign in.")
    password: Text = Field(
        max_length=4096, description="At least 15 characters; any characters; no rules."
    )


class UserPublic(BaseModel):
    """An account as its owner (or an admin) sees it."""

    id: str
    email: str
    role: RoleName
    organisation: str | None = Field(
        None, description="A pharma user's organisation: the collection they upload to."
    )
    two_factor_enabled: bool
    created_at: datetime
    last_login_at: datetime | None = None


class LoginRequest(Strict):
    """Sign-in with e-mail and password."""

    email: Text = Field(max_length=320)
    password: Text = Field(max_length=4096)


class MfaRequest(Strict):
    """The second step of sign-in: a TOTP code or a recovery code."""

    ticket: Text = Field(max_length=200)
    code: Text | None = Field(None, max_length=12, description="Six digits from the app.")
    recovery_code: Text | None = Field(None, max_length=40)


class LoginResponse(BaseModel):
    """A session (cookie set, token for API clients), or a ticket for the TOTP step."""

    mfa_required: bool
    ticket: str | None = None
    token: str | None = Field(None, description="Bearer token for API clients.")
    user: UserPublic | None = None
    expires_in: int | None = Field(None, description="Seconds until the idle timeout.")


class SessionPublic(BaseModel):
    """One of the user's sessions."""

    id: str
    created_at: datetime
    last_seen: datetime
    ip: str | None
    user_agent: str | None
    current: bool


class PasswordChange(Strict):
    """Change the password; every other session ends."""

    current_password: Text = Field(max_length=4096)
    new_password: Text = Field(max_length=4096)


class PasswordConfirm(Strict):
    """A request that needs the password again."""

    password: Text = Field(max_length=4096)


class TotpSetup(BaseModel):
    """A new TOTP secret for the authenticator app."""

    secret: str
    otpauth_uri: str


class TotpEnable(Strict):
    """A code from the authenticator app, and the password.

    A stolen session alone must not put the account behind a code only the thief has.
    """

    code: Text = Field(max_length=12)
    password: Text = Field(max_length=4096)


class RecoveryCodes(BaseModel):
    """Single-use recovery codes, shown once."""

    recovery_codes: list[str]


class RoleUpdate(Strict):
    """An admin changes a user's role."""

    role: RoleName


# Personal API keys


class ApiKeyCreate(Strict):
    """A new personal API key."""

    name: Text = Field(min_length=1, max_length=100, description="What the key is for.")
    expires_in_days: int | None = Field(
        None, ge=1, le=3650, description="Days until the key stops working; none: never."
    )
    store_conversations: bool = Field(
        True, description="Keep questions asked with this key in the conversation history."
    )


class ApiKeyPublic(BaseModel):
    """A key without its secret."""

    id: str
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    role: RoleName
    store_conversations: bool
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    active: bool


class ApiKeyCreated(ApiKeyPublic):
    """A new key with its secret, shown only in this response."""

    key: str = Field(description="The secret: shown once, stored only as a hash.")


# Patient profiles


class ProfileBase(Strict):
    """Fields of a patient profile."""

    label: Text = Field("Me", min_length=1, max_length=100, description="Whose profile this is.")
    demographics: dict[Text, DemographicValue] = Field(
        default_factory=dict, description="e.g. birth_year, sex, weight_kg, pregnant."
    )
    conditions: list[Text] = Field(default_factory=list, max_length=100)
    medications: list[Text] = Field(default_factory=list, max_length=100)
    allergies: list[Text] = Field(default_factory=list, max_length=100)


class ProfileCreate(ProfileBase):
    """A new profile."""


class ProfileUpdate(Strict):
    """Fields to change."""

    label: Text | None = Field(None, min_length=1, max_length=100)
    demographics: dict[Text, DemographicValue] | None = None
    conditions: list[Text] | None = Field(None, max_length=100)
    medications: list[Text] | None = Field(None, max_length=100)
    allergies: list[Text] | None = Field(None, max_length=100)


class ProfilePublic(ProfileBase):
    """A profile as its owner sees it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    created_at: datetime
    updated_at: datetime


# Conversations and messages


class ConversationCreate(Strict):
    """A new conversation."""

    title: Text | None = Field(None, max_length=200)


class ConversationUpdate(Strict):
    """Rename a conversation."""

    title: Text = Field(min_length=1, max_length=200)


class ConversationPublic(BaseModel):
    """A conversation without its messages."""

    id: str
    title: str
    created_at: datetime
    updated_at: datetime


class MessageCreate(Strict):
    """A question."""

    content: Text = Field(min_length=1, max_length=4000, description="The question.")
    collections: list[CollectionRef] | None = Field(
        None,
        max_length=8,
        description="Collections to search: patients knowledge only; pharma users and admins "
        "also drugs and regulatory, a pharma user their organisation's collection, an admin "
        "any existing one.",
    )
    use_profile: bool = Field(
        False, description="Consent to let the answer take the patient profile into account."
    )
    profile_id: Identifier | None = Field(None, max_length=64)
    stream: bool = Field(False, description="Answer as server-sent events.")


class CitationPublic(BaseModel):
    """A source that supports answer sentences, numbered as in the answer text."""

    n: int
    title: str
    url: str
    source: str
    collection: str
    chunk_id: str
    snippet: str = Field(description="The passage that supports the cited sentences.")
    score: float
    supports: list[int] = Field(description="Indexes (0-based) of the sentences it supports.")


class AnswerSentencePublic(BaseModel):
    """One sentence of the answer and the numbers of the citations that support it."""

    text: str
    citations: list[int]


class RetrievedSourcePublic(BaseModel):
    """A passage retrieval returned, cited or not."""

    chunk_id: str
    title: str
    url: str
    source: str
    score: float


class AnswerPublic(BaseModel):
    """A verified answer: every sentence cited by Lumen's own check, or an abstention."""

    answer: str
    sentences: list[AnswerSentencePublic]
    citations: list[CitationPublic]
    abstained: bool
    mode: Literal["generated", "extractive", "abstained", "crisis", "emergency", "refused"]
    disclaimer: str
    timings_ms: dict[str, float] = Field(default_factory=dict)
    retrieved: list[RetrievedSourcePublic] = Field(default_factory=list)
    dropped_sentences: int = 0
    safety: dict[str, Any] = Field(
        default_factory=dict,
        description="Safety flags: triage category and, for crises, the resources to contact.",
    )
    searched_for: str | None = Field(
        None,
        description="The question as searched when Lumen corrected its spelling (else null).",
    )


class MessagePublic(BaseModel):
    """A question and its verified answer (null while pending or after a failure)."""

    id: str
    conversation_id: str
    question: str
    status: Literal["pending", "answered", "failed"]
    answer: AnswerPublic | None
    collections: list[str]
    used_profile: bool
    cached: bool
    error: str | None
    created_at: datetime


class FeedbackReceipt(BaseModel):
    """The feedback that was stored."""

    id: str
    message_id: str
    rating: Literal[1, -1]


class SessionsRevoked(BaseModel):
    """How many sessions ended and API keys were revoked."""

    revoked: int
    api_keys_revoked: int = 0


class ConversationDetail(ConversationPublic):
    """A conversation with its messages."""

    messages: list[MessagePublic]


class FeedbackCreate(Strict):
    """Thumbs up (1) or down (-1), with an optional comment."""

    rating: Literal[1, -1]
    comment: Text | None = Field(None, max_length=2000)


class FeedbackPublic(BaseModel):
    """Feedback as admins see it."""

    id: str
    message_id: str
    user_id: str
    rating: int
    comment: str | None
    created_at: datetime


# Admin


class AuditEventPublic(BaseModel):
    """An audit row."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    ts: datetime
    actor_id: str | None
    actor_role: str | None
    action: str
    object_type: str | None
    object_id: str | None
    ip: str | None
    outcome: str
    hash: str


class AuditVerification(BaseModel):
    """Whether the audit chain is intact."""

    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str | None


class AuditAnchorPublic(BaseModel):
    """The audit chain's head, to keep outside the database (``audit verify --anchors``)."""

    seq: int
    hash: str
    taken_at: str


class CollectionStatsPublic(BaseModel):
    """One collection's counts."""

    name: str
    points: int
    documents: int
    sources: dict[str, int]


class IndexStats(BaseModel):
    """What the vector store holds."""

    collections: list[CollectionStatsPublic]
    embedding_model: str | None = None


class Health(BaseModel):
    """Liveness or readiness."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, bool] = Field(default_factory=dict)
