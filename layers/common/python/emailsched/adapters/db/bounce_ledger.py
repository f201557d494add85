"""What a refusal does beyond failing its email (domain/bounces.py): a hard bounce puts the
address on the user's suppression list and may pause its batch; a policy block counts
against the sender. Rare next to sends, so each is its own short transaction."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, text

from emailsched.adapters.db.errors import transaction
from emailsched.adapters.db.events import recorded
from emailsched.domain.bounces import BounceClass, should_pause_batch
from emailsched.domain.events import Actor
from emailsched.domain.model import HOLDABLE_EMAIL_STATUSES, EmailStatus, sql_list

NOTE_BOUNCE = text("""
    UPDATE emails SET bounce_class = :bounce, updated_at = now() WHERE id = :id
    RETURNING user_id, lower(recipient_email), sender_id, batch_id
""")
SUPPRESS_HARD_BOUNCE = text("""
    INSERT INTO suppressions (user_id, email, reason) VALUES (:user_id, :email, 'hard_bounce')
    ON CONFLICT (user_id, email) DO NOTHING
""")
COUNT_POLICY_BLOCK = text("""
    UPDATE senders SET policy_blocks = policy_blocks + 1, updated_at = now() WHERE id = :id
""")
# batch_bounce_rate: sends that reached an outcome (ix_emails_batch_status_seq, two ranges)
# and hard bounces (ix_emails_batch_hard_bounce, partial): asked after each hard bounce.
BATCH_BOUNCE_RATE = text(f"""
    SELECT (SELECT count(*) FROM emails WHERE batch_id = :batch_id
              AND status IN ({sql_list([EmailStatus.SENT, EmailStatus.FAILED])})),
           (SELECT count(*) FROM emails WHERE batch_id = :batch_id
              AND bounce_class = 'hard_bounce')
""")
PAUSE_FOR_BOUNCES = text("""
    UPDATE batches SET status = 'paused', paused_reason = 'bounce_rate', updated_at = now()
    WHERE id = :batch_id AND status = 'active'
""")
# The same hold as a pause by the user (EmailTransition.PAUSE): what no worker holds yet.
HOLD_FOR_BOUNCES = text(recorded(f"""
    UPDATE emails SET status = '{EmailStatus.PAUSED.value}', claim_token = NULL,
                      updated_at = now()
    WHERE batch_id = :batch_id AND status IN ({sql_list(HOLDABLE_EMAIL_STATUSES)})
    RETURNING id, user_id, batch_id
""", "'paused'", Actor.WORKER, "'bounce_rate'"))


class PgBounces:
    def __init__(self, engine: Engine, pause_percent: float, minimum_sends: int = 20):
        self._engine = engine
        self._percent, self._minimum = pause_percent, minimum_sends

    def record(self, email_id: uuid.UUID, bounce: BounceClass) -> bool:
        """Note the refusal's class on the email and act on it; whether its batch paused."""
        with transaction(self._engine) as connection:
            row = connection.execute(NOTE_BOUNCE, {"id": email_id,
                                                   "bounce": bounce.value}).one_or_none()
            if row is None:
                return False
            user_id, address, sender_id, batch_id = row
            if bounce is BounceClass.POLICY:
                connection.execute(COUNT_POLICY_BLOCK, {"id": sender_id})
            if bounce is not BounceClass.HARD_BOUNCE:
                return False
            connection.execute(SUPPRESS_HARD_BOUNCE, {"user_id": user_id, "email": address})
            sends, hard = connection.execute(BATCH_BOUNCE_RATE, {"batch_id": batch_id}).one()
            if not should_pause_batch(int(sends), int(hard), self._percent, self._minimum):
                return False
            if not connection.execute(PAUSE_FOR_BOUNCES, {"batch_id": batch_id}).rowcount:
                return False  # paused or cancelled already
            connection.execute(HOLD_FOR_BOUNCES, {"batch_id": batch_id})
            return True
