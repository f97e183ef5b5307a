"""Composition root: builds the Litestar app from `Settings`.

Tests call `create_app(settings, sessionmaker=..., redis=...)` with their own resources;
`relaydesk serve` calls `create_app_from_env()`.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from copy import copy
from typing import Any

import httpx
from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from redis.asyncio import Redis
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from app.accounts.controller import AccountController
from app.agents.controller import AgentController, SkillController, TeamController
from app.assets import WIDGET_ROUTES, BuiltAssets
from app.attachments.controller import AttachmentController
from app.attachments.storage import AttachmentStore
from app.auth.controller import (
    AgentTokenController,
    AuthController,
    SecurityPolicyController,
    TwoFactorController,
    reset_two_factor,
)
from app.chat.controller import WIDGET_API_ROUTES
from app.chat.controller import upload as widget_upload
from app.chat.port import ChatChannel
from app.clock import Clock, utc_now
from app.config import Settings
from app.console import DIST as CONSOLE_DIST
from app.console.controller import CONSOLE_ROUTES
from app.contacts.controller import ContactController
from app.db.engine import SessionMaker, create_engine, create_sessionmaker
from app.db.rules_cache import listen_for_rule_changes
from app.deps import dependencies
from app.errors import problem_handlers
from app.health.controller import healthz, readyz
from app.health.metrics import Metrics, MetricsMiddleware, metrics_endpoint
from app.http.openapi import StrictInputSchemaPlugin, document_routes
from app.http.requests import JsonSafeRequest, answer_options
from app.inbound.controller import InboundController, InboundEmailController
from app.inboxes.controller import InboxController
from app.inboxes.service import ConnectionTests, SettingsValidators
from app.ingest.webhooks import WebhookAdapters
from app.outbox.controller import DeadLetterController
from app.realtime.controller import REALTIME_ROUTES
from app.realtime.hub import Hub
from app.realtime.local import install_local_delivery
from app.realtime.runtime import Realtime, leave, realtime_loops
from app.replies.controller import CannedReplyController, MacroController
from app.routing.controller import (
    AgentSkillsController,
    RoutingAdminController,
    TicketRoutingController,
)
from app.security.crypto import SecretBox
from app.sla.controller import SlaController
from app.sla.report_controller import ReportController
from app.supervisor import Supervisor, process_name
from app.tickets.controller import TicketController, contact_tickets
from app.tickets.hooks import LifecycleHooks, install_hooks
from app.views.controller import ViewController
from app.webhooks import webhook_delivery, webhook_handshake
from channels.chat import ChatAdapter, validate_chat_settings
from channels.email.connection import check_email_connection
from channels.email.settings import validate_email_settings
from routing import answers as routing_answers
from routing import hooks as routing_hooks
from routing import queue_view as routing_queue_view
from routing.sla.engine import RoutingSlaEngine, install_sla_hooks
from routing.sla.quiet import SlaQuietMessage
from widgets import DIST as WIDGET_DIST

# The composition root wires each channel's settings check into the inbox API.
CHANNEL_SETTINGS_VALIDATORS: SettingsValidators = {
    "email": validate_email_settings,
    "chat": validate_chat_settings,
}
# ... and each channel's connection test ("connect a mailbox": sign in to IMAP and SMTP).
CONNECTION_TESTS: ConnectionTests = {"email": check_email_connection}
# The chat channel's adapter (settings, identity verification) for the widget and sockets.
CHAT_ADAPTER: ChatChannel = ChatAdapter()
# The front ends' builds inside the installed packages (package data); tests pass their own.
BUILT_ASSETS = BuiltAssets(console=CONSOLE_DIST, widget=WIDGET_DIST)
# The channels that deliver by webhook, each with its adapter (WhatsApp, Messenger,
# Instagram and Telegram register here as they are built).
WEBHOOK_ADAPTERS: WebhookAdapters = {}

AppTask = Callable[[State], Coroutine[Any, Any, None]]
# Long-running tasks of the web process (the realtime hub's Redis subscriber, say), by the
# name /readyz reports them under. Each runs under the app's supervisor (app.supervisor)
# from start-up to shutdown and gets the app's state (sessionmaker, redis, settings, ...).
APP_BACKGROUND_TASKS: dict[str, AppTask] = {}


def build_lifecycle_hooks(settings: Settings) -> LifecycleHooks:
    """What runs after a ticket changes or a message is appended, in every process (web,
    worker, CLI). SLA, routing, realtime and search register here as they arrive."""
    # SLA first: its due times are what routing orders queues by.
    hooks = LifecycleHooks()
    install_sla_hooks(hooks)
    hooks.add_ticket_hook(
        routing_hooks.after_ticket_change, batch=routing_hooks.after_tickets_change
    )
    hooks.after_message_appended.append(routing_hooks.after_message_appended)
    # A customer writing again on an open ticket: routing's message hook acts on a
    # ticket's first message only, so the SLA's derivation is all there is to do.
    hooks.quiet_message = SlaQuietMessage()
    return hooks


API_ROUTERS: list[Any] = [
    AuthController,
    AgentController,
    AgentTokenController,
    TwoFactorController,
    reset_two_factor,
    SecurityPolicyController,
    TeamController,
    SkillController,
    InboxController,
    InboundController,
    InboundEmailController,
    AccountController,
    ContactController,
    TicketController,
    contact_tickets,
    DeadLetterController,
    ViewController,
    CannedReplyController,
    MacroController,
    SlaController,
    ReportController,
    AgentSkillsController,
    TicketRoutingController,
    RoutingAdminController,
    healthz,
    readyz,
    webhook_handshake,
    webhook_delivery,
    *(route for route in WIDGET_API_ROUTES if route is not widget_upload),
]

# Routes that take files, and so the attachment limit instead of the JSON body limit.
UPLOAD_ROUTERS: list[Any] = [AttachmentController]


def start_realtime(app: Litestar, supervisor: Supervisor) -> None:
    """The node's realtime hub: its sockets hear of commits on this node at once and of
    every node's through Redis. Its loops run under the app's supervisor (restarted after
    a crash, reported in /readyz)."""
    state = app.state
    realtime = Realtime(
        settings=state.settings,
        sessionmaker=state.sessionmaker,
        hub=Hub(state.sessionmaker, state.redis, prefix=state.settings.redis.channel_prefix),
        chat=state.chat,
        box=state.secret_box,
        store=state.attachment_store,
        clock=state.clock,
        answer_offer=routing_answers.answer_offer,
    )
    state.realtime = realtime
    install_local_delivery(state.sessionmaker, realtime.hub.deliver_local)
    for name, loop in realtime_loops(realtime).items():
        supervisor.run(name, loop)


def create_app(
    settings: Settings,
    *,
    sessionmaker: SessionMaker | None = None,
    redis: Redis | None = None,
    clock: Clock = utc_now,
    settings_validators: SettingsValidators = CHANNEL_SETTINGS_VALIDATORS,
    connection_tests: ConnectionTests | None = None,
    assets: BuiltAssets = BUILT_ASSETS,
    hooks: LifecycleHooks | None = None,
    webhook_adapters: WebhookAdapters | None = None,
    background_tasks: Mapping[str, AppTask] | None = None,
    supervisor: Supervisor | None = None,
    chat: ChatChannel = CHAT_ADAPTER,
    realtime: bool | None = None,
) -> Litestar:
    """`realtime`: run the hub's background tasks (default: when the app owns its database
    engine; a test that injects a sessionmaker shares one connection and drives no sockets)."""
    hooks = hooks or build_lifecycle_hooks(settings)
    tasks = APP_BACKGROUND_TASKS if background_tasks is None else background_tasks
    app_supervisor = supervisor or Supervisor(process_name("web"))
    run_hub = sessionmaker is None if realtime is None else realtime

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = None
        if sessionmaker is None:
            engine = create_engine(settings.database)
            app.state.sessionmaker = create_sessionmaker(engine)
            install_hooks(app.state.sessionmaker, hooks)
        own_redis = redis is None
        if own_redis:
            app.state.redis = Redis.from_url(settings.redis.url)
        app.state.http = httpx.AsyncClient(timeout=5.0)
        for name, task in tasks.items():
            app_supervisor.run(name, functools.partial(task, app.state))
        if run_hub:
            start_realtime(app, app_supervisor)
        if engine is not None:
            own_engine = engine
            app_supervisor.run("rules-cache", lambda: listen_for_rule_changes(own_engine))
        try:
            yield
        finally:
            await app_supervisor.close()
            if run_hub:
                await leave(app.state.realtime)
            await app.state.http.aclose()
            if own_redis:
                await app.state.redis.aclose()
            if engine is not None:
                await engine.dispose()

    async def search_health() -> str:
        if not settings.search.meilisearch_url:
            return "postgres"
        response = await app.state.http.get(settings.search.meilisearch_url.rstrip("/") + "/health")
        response.raise_for_status()
        return "meilisearch"

    metrics = Metrics()
    middleware: list[Any] = [MetricsMiddleware(metrics)]
    if settings.security.trusted_proxies:
        # The client address (login throttle, logs) comes from X-Forwarded-For only when the
        # peer is a trusted proxy: the right-most address that is not one. uvicorn's own
        # proxy handling is off (app.cli), so this is the one place that decides.
        trusted = list(settings.security.trusted_proxies)
        # uvicorn types its ASGI callables with its own TypedDicts, Litestar with its own.
        proxy = DefineMiddleware(ProxyHeadersMiddleware, trusted_hosts=trusted)  # type: ignore[arg-type]
        middleware.insert(0, proxy)
    # Every body is limited before it is read (Content-Length, then the bytes streamed):
    # uploads by the attachment limit, everything else by RELAYDESK_MAX_REQUEST_BODY_BYTES.
    uploads = Router(
        path="/",
        route_handlers=UPLOAD_ROUTERS,
        request_max_body_size=settings.storage.max_upload_body_bytes,
    )
    # The widget's upload shares its path with the widget's CORS preflight, so it cannot sit
    # in that router: its own copy carries the limit.
    visitor_upload = copy(widget_upload)
    visitor_upload.request_max_body_size = settings.storage.max_upload_body_bytes
    app = Litestar(
        route_handlers=[
            *API_ROUTERS,
            uploads,
            visitor_upload,
            metrics_endpoint,
            *CONSOLE_ROUTES,
            *WIDGET_ROUTES,
            *REALTIME_ROUTES,
        ],
        middleware=middleware,
        dependencies=dependencies,
        exception_handlers=problem_handlers,
        lifespan=[lifespan],
        request_max_body_size=settings.http.max_request_body_bytes,
        request_class=JsonSafeRequest,
        before_request=answer_options,
        plugins=[StrictInputSchemaPlugin()],
        openapi_config=OpenAPIConfig(
            title="Relaydesk API",
            version="1",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}
            ),
        ),
        state=None,
        debug=False,
    )
    document_routes(app)
    app.state.settings = settings
    app.state.clock = clock
    app.state.metrics = metrics
    app.state.supervisor = app_supervisor
    app.state.secret_box = SecretBox(settings.security.secret_key)
    app.state.settings_validators = settings_validators
    app.state.connection_tests = CONNECTION_TESTS if connection_tests is None else connection_tests
    app.state.webhook_adapters = WEBHOOK_ADAPTERS if webhook_adapters is None else webhook_adapters
    app.state.attachment_store = AttachmentStore(settings.storage)
    app.state.search_health = search_health
    app.state.assets = assets
    app.state.chat = chat
    app.state.sla_engine = RoutingSlaEngine()
    app.state.routing_queue = routing_queue_view.queue_snapshot
    if sessionmaker is not None:
        install_hooks(sessionmaker, hooks)
        app.state.sessionmaker = sessionmaker
    if redis is not None:
        app.state.redis = redis
    return app


def create_app_from_env() -> Litestar:
    return create_app(Settings.from_env())
