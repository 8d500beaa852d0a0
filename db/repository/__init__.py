"""The stores the bot reads and writes, over an async session factory, one module a purpose:

- `incidents`, `sources`: incidents and the sources they cite (`Repository`);
- `mapping`: rows <-> `IncidentView`s;
- `community`: unmatched claims, askers, feedback, language settings;
- `staff`: moderators and admins; `audit`: the audit trail and undo;
- `replication`: the change log and shared rate windows several processes agree on;
- `runtime`: form drafts, pending uploads, the update inbox.

Every write runs in one transaction and records its AuditEvent in that same transaction.
"""

from db.repository._base import (
    Actor,
    ConflictError,
    NotFoundError,
    RepositoryError,
    SaveOutcome,
    Store,
    WriteGate,
    audit_event,
    insert_for,
)
from db.repository.audit import AuditTrail
from db.repository.community import CommunityRepository, FollowUp, QueueEntry, UnmatchedClaim
from db.repository.incidents import Repository
from db.repository.mapping import source_view
from db.repository.replication import CHANGES_PER_READ, MAX_HOLES, ChangeCursor, SharedState
from db.repository.runtime import DeskRequests, FormDrafts, PendingUploads, UpdateInbox
from db.repository.staff import StaffRepository

__all__ = [
    "CHANGES_PER_READ",
    "MAX_HOLES",
    "Actor",
    "AuditTrail",
    "ChangeCursor",
    "CommunityRepository",
    "ConflictError",
    "DeskRequests",
    "FollowUp",
    "FormDrafts",
    "NotFoundError",
    "PendingUploads",
    "QueueEntry",
    "Repository",
    "RepositoryError",
    "SaveOutcome",
    "SharedState",
    "StaffRepository",
    "Store",
    "UnmatchedClaim",
    "UpdateInbox",
    "WriteGate",
    "audit_event",
    "insert_for",
    "source_view",
]
