"""The SLA engine's I/O: builds `routing.core` calendars, policies and ticket histories
from the database, stores each ticket's computed SLA on it (a lifecycle hook), records
every target's warning, breach and meeting, and fires them on time (`scheduler`)."""
