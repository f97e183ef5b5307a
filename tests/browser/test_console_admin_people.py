"""The admin screens for people, as an admin keeps them up to date: skills (create, rename,
delete), an agent's skills with levels and capacity per channel, editing and deactivating
agents, editing and deleting teams. Deleting asks first; a refused value is named at its
field. What the screens save is read back from the database, not only from the page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent, Skill, Team
from app.agents.service import get_agent
from tests.browser.conftest import Committed, Person
from tests.browser.support import assert_accessible, screenshot
from tests.browser.test_console import sign_in
from tests.factories.agents import make_agent, make_team

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}


async def open_admin(page: Page, admin: Person, section: str) -> None:
    await page.set_viewport_size(LAPTOP)
    await page.goto(f"/console/admin/{section}")
    await sign_in(page, admin)
    await expect(page.get_by_role("navigation", name="Admin")).to_be_visible()


async def problem_of(field: Locator) -> str:
    """The message the page gives a field it refused: its accessible description."""
    await expect(field).to_have_attribute("aria-invalid", "true")
    described = "(el) => document.getElementById(el.getAttribute('aria-describedby')).textContent"
    return str(await field.evaluate(described))


def row(table: Locator, text: str) -> Locator:
    return table.get_by_role("row").filter(has_text=text)


async def test_an_admin_keeps_skills_and_gives_an_agent_levels_and_capacity(
    page: Page, admin: Person, committed: Committed[Any]
) -> None:
    grace = await committed(
        lambda s: make_agent(s, name="Grace Hopper", email="grace@example.test")
    )
    await open_admin(page, admin, "skills")
    await expect(page.get_by_role("heading", name="Skills", exact=True)).to_be_visible()
    skills = page.get_by_role("table", name="Skills")
    await expect(skills).to_contain_text("No skills yet.")

    add = page.get_by_role("form", name="Add a skill")
    for name in ("Billing", "German", "Refunds"):
        await add.get_by_label("Name").fill(name)
        await add.get_by_role("button", name="Add skill").click()
        await expect(row(skills, name)).to_be_visible()
    await add.get_by_label("Name").fill("billing")  # names are unique, whatever the case
    await add.get_by_role("button", name="Add skill").click()
    assert "already exists" in await problem_of(add.get_by_label("Name"))
    await expect(add.get_by_role("alert")).to_contain_text("a skill named 'billing' already exists")

    await skills.get_by_role("button", name="Rename German").click()
    rename = page.get_by_role("form", name="Rename German")
    await rename.get_by_label("New name").fill("German (native)")
    await rename.get_by_role("button", name="Save name").click()
    await expect(row(skills, "German (native)")).to_be_visible()

    # Deleting asks first: Cancel keeps the skill, the dialog's button deletes it.
    await skills.get_by_role("button", name="Delete Refunds").click()
    question = page.get_by_role("alertdialog", name="Delete the skill Refunds?")
    await expect(question).to_be_visible()
    await question.get_by_role("button", name="Cancel").click()
    await expect(question).to_be_hidden()
    await expect(row(skills, "Refunds")).to_be_visible()
    await skills.get_by_role("button", name="Delete Refunds").click()
    await question.get_by_role("button", name="Delete skill").click()
    await expect(row(skills, "Refunds")).to_have_count(0)
    await assert_accessible(page)

    await page.get_by_role("navigation", name="Admin").get_by_role("link", name="Agents").click()
    agents = page.get_by_role("table", name="Agents")
    await agents.get_by_role("button", name="Edit Grace Hopper").click()
    editor = page.get_by_role("form", name="Edit Grace Hopper")
    await expect(editor.get_by_label("Name")).to_be_focused()
    await editor.get_by_label("Billing", exact=True).select_option(label="Level 4")
    await editor.get_by_label("German (native)", exact=True).select_option(label="Level 2")
    await editor.get_by_label("Email", exact=True).fill("grace@example.test")
    capacity = editor.get_by_role("group", name="Capacity")
    await capacity.get_by_label("Email tickets").fill("10")
    await capacity.get_by_label("Chat tickets").fill("3")
    await assert_accessible(page)
    await screenshot(page, "console-admin-agent-skills")
    await editor.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved Grace Hopper.")
    await expect(editor).to_be_hidden()
    grace_row = row(agents, "Grace Hopper")
    await expect(grace_row).to_contain_text("Billing 4")
    await expect(grace_row).to_contain_text("German (native) 2")
    await expect(grace_row).to_contain_text("Email 10, Chat 3")

    async def stored(session: AsyncSession) -> tuple[dict[str, int], dict[str, Any]]:
        agent = await get_agent(session, grace.id)
        return {s.skill.name: s.level for s in agent.skills}, dict(agent.capacity)

    assert await committed(stored) == (
        {"Billing": 4, "German (native)": 2},
        {"email": 10, "chat": 3},
    )

    # Lowering a level and dropping a skill is saved as such; the skills list shows it.
    await agents.get_by_role("button", name="Edit Grace Hopper").click()
    await expect(editor.get_by_label("Billing", exact=True)).to_have_value("4")
    await editor.get_by_label("Billing", exact=True).select_option(label="Level 1")
    await editor.get_by_label("German (native)", exact=True).select_option(label="Not held")
    await editor.get_by_role("button", name="Save changes").click()
    await expect(grace_row).to_contain_text("Billing 1")
    await expect(grace_row).not_to_contain_text("German")
    await page.get_by_role("navigation", name="Admin").get_by_role("link", name="Skills").click()
    await expect(row(skills, "Billing")).to_contain_text("Grace Hopper (1)")
    await expect(row(skills, "German (native)")).to_contain_text("Nobody yet")
    await screenshot(page, "console-admin-skills")

    names = await committed(lambda s: s.scalars(select(Skill.name).order_by(Skill.name)))
    assert list(names) == ["Billing", "German (native)"]


async def test_an_admin_edits_and_deactivates_agents_and_edits_and_deletes_teams(
    page: Page, admin: Person, committed: Committed[Any]
) -> None:
    async def seed(session: AsyncSession) -> tuple[int, int]:
        returns = await make_team(session, name="Returns")
        await make_team(session, name="Billing desk")
        linus = await make_agent(session, name="Linus Pauling", email="linus@example.test")
        await make_agent(session, name="Marie Curie", email="marie@example.test")
        return returns.id, linus.id

    returns_id, linus_id = await committed(seed)
    await open_admin(page, admin, "agents")
    agents = page.get_by_role("table", name="Agents")

    # A taken email is refused, and the page says so at the Email field.
    await agents.get_by_role("button", name="Edit Linus Pauling").click()
    editor = page.get_by_role("form", name="Edit Linus Pauling")
    await editor.get_by_label("Name").fill("Linus C. Pauling")
    await editor.get_by_label("Email", exact=True).fill("marie@example.test")
    await editor.get_by_role("checkbox", name="Returns").check()
    await editor.get_by_role("button", name="Save changes").click()
    assert "already exists" in await problem_of(editor.get_by_label("Email", exact=True))
    await expect(editor.get_by_role("alert")).to_contain_text("marie@example.test")
    await expect(row(agents, "Linus Pauling")).to_be_visible()  # nothing was saved
    await assert_accessible(page)
    await editor.get_by_label("Email", exact=True).fill("linus@chem.example.test")
    await editor.get_by_label("Role").select_option("supervisor")
    await editor.get_by_role("button", name="Save changes").click()
    linus_row = row(agents, "Linus C. Pauling")
    await expect(linus_row).to_contain_text("linus@chem.example.test")
    await expect(linus_row).to_contain_text("supervisor")
    await expect(linus_row).to_contain_text("Returns")

    # Deactivating asks first, then the agent stays listed as deactivated.
    await linus_row.get_by_role("button", name="Deactivate Linus C. Pauling").click()
    question = page.get_by_role("alertdialog", name="Deactivate Linus C. Pauling?")
    await expect(question).to_contain_text("signed out everywhere")
    await assert_accessible(page)
    await question.get_by_role("button", name="Deactivate agent").click()
    await expect(linus_row).to_contain_text("(deactivated)")
    await expect(page.get_by_role("status")).to_contain_text("deactivated")
    # An admin cannot deactivate themselves from here (the API would refuse the last one).
    yourself = row(agents, admin.name).get_by_role("button", name=f"Deactivate {admin.name}")
    await expect(yourself).to_have_count(0)

    async def linus(session: AsyncSession) -> Agent:
        return await get_agent(session, linus_id)

    stored = await committed(linus)
    assert (stored.name, stored.email, stored.role, stored.is_active) == (
        "Linus C. Pauling", "linus@chem.example.test", "supervisor", False,
    )  # fmt: skip
    assert [t.id for t in stored.teams] == [returns_id]
    await linus_row.get_by_role("button", name="Reactivate Linus C. Pauling").click()
    await expect(linus_row).not_to_contain_text("(deactivated)")
    assert (await committed(linus)).is_active

    # Teams: a taken name is refused at the field; a rename and new members are saved.
    await page.get_by_role("navigation", name="Admin").get_by_role("link", name="Teams").click()
    teams = page.get_by_role("table", name="Teams")
    await expect(row(teams, "Returns")).to_contain_text("Linus C. Pauling")
    await teams.get_by_role("button", name="Edit Returns").click()
    edit = page.get_by_role("form", name="Edit Returns")
    await edit.get_by_label("Name").fill("billing desk")
    await edit.get_by_role("button", name="Save team").click()
    assert "already exists" in await problem_of(edit.get_by_label("Name"))
    await edit.get_by_label("Name").fill("Returns and exchanges")
    await edit.get_by_label("Description").fill("Parcels coming back")
    await edit.get_by_role("checkbox", name="Marie Curie").check()
    await edit.get_by_role("checkbox", name="Linus C. Pauling").uncheck()
    await assert_accessible(page)
    await screenshot(page, "console-admin-edit-team")
    await edit.get_by_role("button", name="Save team").click()
    renamed = row(teams, "Returns and exchanges")
    await expect(renamed).to_contain_text("Parcels coming back")
    await expect(renamed).to_contain_text("Marie Curie")
    await expect(renamed).not_to_contain_text("Linus")

    await teams.get_by_role("button", name="Delete Billing desk").click()
    question = page.get_by_role("alertdialog", name="Delete the team Billing desk?")
    await question.get_by_role("button", name="Cancel").click()
    await expect(row(teams, "Billing desk")).to_be_visible()
    await teams.get_by_role("button", name="Delete Billing desk").click()
    await question.get_by_role("button", name="Delete team").click()
    await expect(row(teams, "Billing desk")).to_have_count(0)
    left = await committed(lambda s: s.scalars(select(Team.name).order_by(Team.name)))
    assert list(left) == ["Returns and exchanges"]
