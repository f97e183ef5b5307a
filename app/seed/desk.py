"""What a working helpdesk keeps for its agents: canned replies, macros and saved views,
shared the way a team would share them (app.sharing)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.replies.models import CannedReply, Macro
from app.views.models import SavedView

CANNED = [
    ("Thanks, looking into it", "Hi {{contact.first_name | there}},\n\nThanks for writing in. "
     "I'm looking into ticket #{{ticket.number}} and will get back to you today.\n\n"
     "{{agent.name}}", None),
    ("Refund policy", "Hi {{contact.first_name | there}},\n\nRefunds are possible within 30 "
     "days of the invoice date; I have started yours.\n\n{{agent.first_name}}", "Billing"),
    ("Password reset", "Hi {{contact.first_name | there}},\n\nYou can reset your password "
     "from the sign-in page with \"Forgot password\".\n\n{{agent.name}}", None),
]  # fmt: skip
MACROS = [
    ("Solve with thanks", {"reply": {"body": "Glad we could help, {{contact.first_name | "
     "there}}! I'm closing this for now; just reply to reopen it."}, "status": "solved"}, None),
    ("Escalate to Technical", {"reply": {"body": "Escalating to Technical.", "internal": True},
     "priority": "high", "add_tags": ["escalated"]}, "Technical"),
]  # fmt: skip
VIEWS = [
    ("Urgent and high", {"priority": ["urgent", "high"], "status": ["new", "open"]}, None),
    ("Refund requests", {"tag": "refund", "status": ["new", "open", "pending"]}, "Billing"),
]


async def seed_desk(
    session: AsyncSession, *, admin_id: int, team_ids: Mapping[str, int]
) -> dict[str, int]:
    def shared(team: str | None) -> dict[str, object]:
        if team is None:
            return {"owner_id": admin_id, "visibility": "everyone", "team_id": None}
        return {"owner_id": admin_id, "visibility": "team", "team_id": team_ids[team]}

    await session.execute(
        insert(CannedReply), [{"name": n, "body": b, **shared(t)} for n, b, t in CANNED]
    )
    await session.execute(
        insert(Macro), [{"name": n, "actions": a, **shared(t)} for n, a, t in MACROS]
    )
    await session.execute(
        insert(SavedView), [{"name": n, "filters": f, **shared(t)} for n, f, t in VIEWS]
    )
    return {"canned_replies": len(CANNED), "macros": len(MACROS), "saved_views": len(VIEWS)}
