"""Events of the tenants service about a company's people. All on one topic keyed by user,
so a consumer sees one person's changes in order (an invitation is keyed by its own id)."""

from typing import ClassVar, Literal
from uuid import UUID

from common.events.envelope import Event, Payload

USERS_TOPIC = "users.changed"


class UserInvitedV1(Payload):
    invitation_id: UUID
    email: str
    role: str
    invited_by: UUID | None
    expires_at: str
    """ISO 8601."""


class UserInvited(Event):
    topic: ClassVar[str] = USERS_TOPIC
    type: Literal["user.invited"] = "user.invited"
    version: Literal[1] = 1
    payload: UserInvitedV1

    def key(self) -> str:
        return str(self.payload.invitation_id)


class UserJoinedV1(Payload):
    user_id: UUID
    email: str
    role: str
    invitation_id: UUID | None = None


class UserJoined(Event):
    topic: ClassVar[str] = USERS_TOPIC
    type: Literal["user.joined"] = "user.joined"
    version: Literal[1] = 1
    payload: UserJoinedV1

    def key(self) -> str:
        return str(self.payload.user_id)


class UserRoleChangedV1(Payload):
    user_id: UUID
    old_role: str
    new_role: str
    changed_by: UUID | None


class UserRoleChanged(Event):
    topic: ClassVar[str] = USERS_TOPIC
    type: Literal["user.role_changed"] = "user.role_changed"
    version: Literal[1] = 1
    payload: UserRoleChangedV1

    def key(self) -> str:
        return str(self.payload.user_id)


class UserDeactivatedV1(Payload):
    user_id: UUID
    deactivated_by: UUID | None


class UserDeactivated(Event):
    topic: ClassVar[str] = USERS_TOPIC
    type: Literal["user.deactivated"] = "user.deactivated"
    version: Literal[1] = 1
    payload: UserDeactivatedV1

    def key(self) -> str:
        return str(self.payload.user_id)
