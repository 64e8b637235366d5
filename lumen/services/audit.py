"""The audit trail: an append-only, hash-chained log of data access and security events.

Each row holds who (user id and role), what (an action name), which object (type and id),
when (UTC), from where (client address) and the outcome; never patient data. A row's hash
covers its fields and the previous row's hash, and the chain head is kept in its own table,
so an edited, inserted, deleted or cut-off row shows up in :meth:`AuditLog.verify`.

Someone who can write to the database can still rewrite the whole chain and its head
consistently. Anchors close that gap: the head (sequence number and hash) copied at times to
a place the database's writers cannot change (a file shipped elsewhere, a ticket, a
write-once bucket) and checked against the chain later; a rewritten or cut row before an
anchor no longer matches it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from lumen.clock import Clock
from lumen.db.models import AuditEvent, AuditHead
from lumen.db.session import Database
from lumen.errors import InputError

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
_ADVISORY_LOCK_ID = 0x4C554D454E  # "LUMEN"


@dataclass(frozen=True)
class Actor:
    """Who acts, and from where; a missing user id means anonymous or the system."""

    user_id: str | None = None
    role: str | None = None
    ip: str | None = None

    @classmethod
    def system(cls) -> Actor:
        """Lumen itself (retention, key rotation run from the CLI)."""
        return cls(user_id=None, role="system", ip=None)


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the chain."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Anchor:
    """The chain head at one moment, kept outside the database."""

    seq: int
    hash: str
    taken_at: str

    def to_json(self) -> str:
        """One line of an anchor file."""
        return json.dumps(asdict(self), separators=(",", ":"))


def read_anchors(path: Path) -> list[Anchor]:
    """The anchors in a file written by :func:`append_anchor` (one JSON object per line)."""
    if not path.is_file():
        raise InputError(f"no anchor file at {path}")
    anchors = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
            anchor = Anchor(int(fields["seq"]), str(fields["hash"]), str(fields["taken_at"]))
        except (ValueError, KeyError, TypeError) as error:
            raise InputError(f"{path}, line {number}: not an audit anchor ({error})") from None
        if anchor.seq < 0 or len(anchor.hash) != len(GENESIS):
            raise InputError(f"{path}, line {number}: not an audit anchor (seq or hash)")
        anchors.append(anchor)
    return anchors


def append_anchor(path: Path, anchor: Anchor) -> None:
    """Add ``anchor`` to the end of an anchor file (created when missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(anchor.to_json() + "\n")


def event_hash(
    prev_hash: str,
    *,
    seq: int,
    ts: datetime,
    actor_id: str | None,
    actor_role: str | None,
    action: str,
    object_type: str | None,
    object_id: str | None,
    ip: str | None,
    outcome: str,
) -> str:
    """SHA-256 over the previous hash and this row's fields in a fixed encoding."""
    fields = [
        seq,
        ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        actor_id,
        actor_role,
        action,
        object_type,
        object_id,
        ip,
        outcome,
    ]
    payload = prev_hash + "\n" + json.dumps(fields, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _row_hash(row: AuditEvent) -> str:
    return event_hash(
        row.prev_hash,
        seq=row.seq,
        ts=row.ts,
        actor_id=row.actor_id,
        actor_role=row.actor_role,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        ip=row.ip,
        outcome=row.outcome,
    )


class AuditLog:
    """Appends to and checks the audit chain; each append is its own short transaction."""

    def __init__(self, database: Database, clock: Clock) -> None:
        self._database = database
        self._clock = clock
        self._lock = threading.Lock()

    def record(
        self,
        *,
        actor: Actor,
        action: str,
        outcome: str = "success",
        object_type: str | None = None,
        object_id: str | None = None,
    ) -> int:
        """Append one event and return its sequence number."""
        # Timestamps are truncated to microseconds, which every backend keeps exactly.
        ts = datetime.fromtimestamp(round(self._clock.now(), 6), UTC)
        with self._database.audit_session() as session:
            # Check the connection out first: no lock is ever held while waiting for a pool.
            session.connection()
            if self._database.dialect == "postgresql":
                # The chain lock lives in the database (held until commit), for every process.
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_ID})
                seq = self._append(session, ts, actor, action, outcome, object_type, object_id)
                session.commit()
            else:
                with self._lock:  # SQLite: one writer process; its threads take turns
                    seq = self._append(session, ts, actor, action, outcome, object_type, object_id)
                    session.commit()
        logger.debug("audit %s %s %s", action, object_type or "-", outcome)
        return int(seq)

    @staticmethod
    def _append(
        session: Session,
        ts: datetime,
        actor: Actor,
        action: str,
        outcome: str,
        object_type: str | None,
        object_id: str | None,
    ) -> int:
        head = session.get(AuditHead, 1, with_for_update=True)
        if head is None:
            head = AuditHead(id=1, seq=0, hash=GENESIS)
            session.add(head)
        seq = head.seq + 1
        row = AuditEvent(
            seq=seq,
            ts=ts,
            actor_id=actor.user_id,
            actor_role=actor.role,
            action=action,
            object_type=object_type,
            object_id=object_id,
            ip=actor.ip,
            outcome=outcome,
            prev_hash=head.hash,
            hash="",
        )
        row.hash = _row_hash(row)
        session.add(row)
        head.seq, head.hash = seq, row.hash
        return int(seq)

    def head(self) -> Anchor:
        """The chain head now, to be kept outside the database as an anchor."""
        taken_at = datetime.fromtimestamp(self._clock.now(), UTC).isoformat(timespec="seconds")
        with self._database.session() as session:
            head = session.get(AuditHead, 1)
            seq, hash_ = (head.seq, head.hash) if head else (0, GENESIS)
        return Anchor(int(seq), str(hash_), taken_at)

    def verify(self, *, batch: int = 1000, anchors: Sequence[Anchor] = ()) -> ChainReport:
        """Recompute the chain from the first row; report the first row that breaks it.

        Each of ``anchors`` must still match: the row at its sequence number has its hash.
        """
        report = self._verify_chain(batch, {a.seq: a for a in anchors if a.seq > 0})
        if not report.ok:
            return report
        beyond = [a for a in anchors if a.seq > report.checked]
        if beyond:
            first = min(beyond, key=lambda a: a.seq)
            reason = f"rows up to the anchor taken at {first.taken_at} were removed"
            return ChainReport(False, report.checked, report.checked + 1, reason)
        return report

    def _verify_chain(self, batch: int, anchors: dict[int, Anchor]) -> ChainReport:
        expected_prev = GENESIS
        expected_seq = 1
        checked = 0
        with self._database.session() as session:
            last_seq = 0
            while True:
                rows: Sequence[AuditEvent] = (
                    session.scalars(
                        select(AuditEvent)
                        .where(AuditEvent.seq > last_seq)
                        .order_by(AuditEvent.seq)
                        .limit(batch)
                    )
                    .unique()
                    .all()
                )
                if not rows:
                    break
                for row in rows:
                    if row.seq != expected_seq:
                        return ChainReport(False, checked, expected_seq, "a row is missing")
                    if row.prev_hash != expected_prev:
                        return ChainReport(False, checked, row.seq, "the link to the previous row")
                    if _row_hash(row) != row.hash:
                        return ChainReport(False, checked, row.seq, "the row was changed")
                    anchor = anchors.get(row.seq)
                    if anchor is not None and anchor.hash != row.hash:
                        reason = f"the chain differs from the anchor taken at {anchor.taken_at}"
                        return ChainReport(False, checked, row.seq, reason)
                    expected_prev = row.hash
                    expected_seq += 1
                    checked += 1
                last_seq = rows[-1].seq
                session.expunge_all()
            head = session.get(AuditHead, 1)
        head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
        if head_seq != checked or head_hash != expected_prev:
            return ChainReport(False, checked, checked + 1, "rows after the last one were removed")
        return ChainReport(True, checked)

    def list_events(
        self,
        session: Session,
        *,
        limit: int,
        offset: int,
        actor_id: str | None = None,
        action: str | None = None,
    ) -> tuple[list[AuditEvent], int]:
        """Newest first, optionally filtered, with the total count."""
        query = select(AuditEvent)
        count = select(func.count()).select_from(AuditEvent)
        if actor_id:
            query = query.where(AuditEvent.actor_id == actor_id)
            count = count.where(AuditEvent.actor_id == actor_id)
        if action:
            query = query.where(AuditEvent.action.startswith(action))
            count = count.where(AuditEvent.action.startswith(action))
        rows = session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit).offset(offset))
        return list(rows), int(session.scalar(count) or 0)
