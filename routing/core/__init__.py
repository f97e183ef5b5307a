"""The routing core: pure functions over plain dataclasses, with the clock passed in.

Nothing here does I/O or imports the rest of the project (tests/test_architecture.py
checks it): `routing/driver.py` loads state from the database, calls these functions and
applies what they decide. Modules by concept:

- `calendars`, `business_time`: business calendars and exact business-time arithmetic;
- `sla_policy`, `sla_timeline`: SLA policies and a ticket's due, warning, met and breached
  instants computed from its history;
- `model`: agents, queued tickets, queues and the helpdesk's routing rules;
- `load`, `presence`: load accounting against capacity and limits; presence, idle
  timeout and the requeueing of an offline agent's live chats;
- `ordering`, `eligibility`, `strategies`, `router`: queue order, who may take a ticket
  as it waits (skills, overflow), how a queue picks among them, and the routing round;
- `offers`: offers accepted, declined or timed out;
- `explain`: why each decision chose whom, as data.
"""
