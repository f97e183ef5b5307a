from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.agents import auth_headers, make_agent

TICKET = {"subject": "Invoice", "body": "See attached", "contact": {"email": "c@customer.test"}}


async def _ticket_with_file(
    client: AsyncClient, headers: dict[str, str], content: bytes, name: str, ctype: str
) -> tuple[dict, dict]:
    ticket = (await client.post("/api/v1/tickets", json=TICKET, headers=headers)).json()
    upload = await client.post(
        "/api/v1/attachments", files={"file": (name, content, ctype)}, headers=headers
    )
    assert upload.status_code == 201, upload.text
    reply = await client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "Here it is", "attachment_ids": [upload.json()["id"]]},
        headers=headers,
    )
    assert reply.status_code == 201, reply.text
    return ticket, reply.json()["attachments"][0]


async def test_uploaded_file_is_attached_and_downloadable(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session))
    _, attachment = await _ticket_with_file(
        client, headers, b"%PDF-1.4 fake", "invoice.pdf", "application/pdf"
    )

    response = await client.get(attachment["url"], headers=headers)

    assert response.status_code == 200
    assert response.content == b"%PDF-1.4 fake"
    assert response.headers["content-type"].startswith("application/pdf")
    assert response.headers["content-disposition"].startswith("attachment")
    assert "invoice.pdf" in response.headers["content-disposition"]
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_html_upload_is_served_as_bytes_not_a_page(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session))
    _, attachment = await _ticket_with_file(
        client, headers, b"<script>alert(1)</script>", "../../evil.html", "text/html"
    )

    response = await client.get(attachment["url"], headers=headers)

    assert response.headers["content-type"] == "application/octet-stream"
    assert attachment["filename"] == "evil.html"


async def test_agent_who_cannot_see_the_ticket_gets_404(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    owner_headers = await auth_headers(db_session, await make_agent(db_session))
    stranger_headers = await auth_headers(db_session, await make_agent(db_session))
    _, attachment = await _ticket_with_file(client, owner_headers, b"secret", "a.txt", "text/plain")

    assert (await client.get(attachment["url"], headers=stranger_headers)).status_code == 404
    assert (await client.get(attachment["url"])).status_code == 401


async def test_someone_elses_upload_cannot_be_attached(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    a = await auth_headers(db_session, await make_agent(db_session))
    b = await auth_headers(db_session, await make_agent(db_session))
    upload = (
        await client.post(
            "/api/v1/attachments", files={"file": ("x.txt", b"x", "text/plain")}, headers=a
        )
    ).json()
    ticket = (await client.post("/api/v1/tickets", json=TICKET, headers=b)).json()

    response = await client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "hi", "attachment_ids": [upload["id"]]},
        headers=b,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "attachment_ids"


async def test_oversized_upload_names_the_field(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session))

    response = await client.post(
        "/api/v1/attachments",
        files={"file": ("big.bin", b"x" * (1024 * 1024 + 1), "application/octet-stream")},
        headers=headers,
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"


async def test_missing_file_field_is_a_clear_error(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session))

    response = await client.post(
        "/api/v1/attachments", files={"other": ("a", b"a", "text/plain")}, headers=headers
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"
