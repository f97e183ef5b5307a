"""The SLA engine the composition root installed (`app.state.sla_engine`)."""

from __future__ import annotations

from litestar.datastructures import State

from app.sla.port import SlaEngine


def provide_sla_engine(state: State) -> SlaEngine:
    engine: SlaEngine = state.sla_engine
    return engine
