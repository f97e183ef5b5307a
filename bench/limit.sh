#!/usr/bin/env bash
# What PostgreSQL alone sustains for a ticket-shaped transaction on this machine: the
# ceiling `POST /api/v1/tickets` is compared with (`make bench` prints the ratio).
#
#   bench/limit.sh                 # 16 clients, 20 s per transaction shape
#   CLIENTS=32 SECONDS_EACH=10 bench/limit.sh
#
# It creates the scratch database relaydesk_bench_limit (dropped at the end unless
# KEEP_DB=1), migrates it with the project's own migrations (so the tables, constraints,
# indexes and the outbox NOTIFY trigger are Relaydesk's), loads 10,000 contacts with their
# email identities, and runs pgbench (prepared statements, no vacuum) with two scripts:
#
#   full     what one API create writes today: the contact lookup by email identity, the
#            ticket, its first message, two ticket_events rows (ticket.created,
#            message.created), two outbox rows and the audit row;
#   minimal  the lookup, then ticket, message and one outbox row.
#
# The last two lines are machine-readable: `limit_tps_full=...` and `limit_tps_minimal=...`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
DB=${BENCH_LIMIT_DATABASE:-relaydesk_bench_limit}  # another checkout on the same server picks its own
CLIENTS=${CLIENTS:-16}
THREADS=${THREADS:-2}
SECONDS_EACH=${SECONDS_EACH:-20}
CONTACTS=10000
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
PSQL=(psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -v ON_ERROR_STOP=1 -qX)
WORK=$(mktemp -d)

cleanup() {
	rm -rf "$WORK"
	if [ "${KEEP_DB:-0}" != 1 ]; then
		"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
	fi
}
trap cleanup EXIT

echo "limit: scratch database $DB, migrating"
"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
(cd "$ROOT" && DATABASE_URL="postgresql+asyncpg://$PG_USER@$PG_HOST:$PG_PORT/$DB" \
	"$PYTHON" -m alembic upgrade head >/dev/null)

echo "limit: loading $CONTACTS contacts"
"${PSQL[@]}" -d "$DB" <<SQL
INSERT INTO agents (email, name, role, password_hash, is_active)
VALUES ('limit@bench.relaydesk.test', 'Limit', 'admin', 'x', true);
INSERT INTO contacts (name, email)
SELECT 'Customer ' || g, 'customer' || g || '@limit.example' FROM generate_series(1, $CONTACTS) g;
INSERT INTO contact_identities (contact_id, kind, value)
SELECT id, 'email', email FROM contacts;
ANALYZE;
SQL

cat >"$WORK/full.sql" <<'SQL'
\set n random(1, 10000)
BEGIN;
SELECT c.id AS contact_id, c.account_id AS account_id FROM contact_identities i
  JOIN contacts c ON c.id = i.contact_id
  WHERE i.kind = 'email' AND i.value = 'customer' || :n || '@limit.example' \gset
INSERT INTO tickets (subject, status, priority, channel, contact_id, last_seq, created_at, updated_at)
  VALUES ('Load test ticket: cannot export invoices', 'new', 'normal', 'api', :contact_id, 2, now(), now())
  RETURNING id AS ticket_id, number AS number \gset
INSERT INTO messages (ticket_id, seq, direction, author_type, author_contact_id, internal, subject,
                      body_text, status, created_at)
  VALUES (:ticket_id, 2, 'inbound', 'contact', :contact_id, false, 'Load test ticket: cannot export invoices',
          repeat('Hello, the export button does nothing since this morning. ', 3), 'received', now())
  RETURNING id AS message_id \gset
INSERT INTO ticket_events (ticket_id, seq, type, at, actor_type, actor_id, data) VALUES
  (:ticket_id, 1, 'ticket.created', now(), 'agent', 1,
   jsonb_build_object('ticket_id', :ticket_id::bigint, 'number', :number::bigint, 'status', 'new', 'priority', 'normal')),
  (:ticket_id, 2, 'message.created', now(), 'agent', 1,
   jsonb_build_object('ticket_id', :ticket_id::bigint, 'message_id', :message_id::bigint, 'direction', 'inbound'));
INSERT INTO outbox_events (topic, ticket_id, seq, payload) VALUES
  ('ticket.created', :ticket_id, 1,
   jsonb_build_object('ticket_id', :ticket_id::bigint, 'number', :number::bigint, 'status', 'new', 'priority', 'normal')),
  ('message.created', :ticket_id, 2,
   jsonb_build_object('ticket_id', :ticket_id::bigint, 'message_id', :message_id::bigint, 'direction', 'inbound'));
INSERT INTO audit_log (actor_id, action, entity_type, entity_id, before, after)
  VALUES (1, 'ticket.created', 'ticket', :ticket_id, '{}', jsonb_build_object('status', 'new'));
END;
SQL

cat >"$WORK/minimal.sql" <<'SQL'
\set n random(1, 10000)
BEGIN;
SELECT c.id AS contact_id FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
  WHERE i.kind = 'email' AND i.value = 'customer' || :n || '@limit.example' \gset
INSERT INTO tickets (subject, status, priority, channel, contact_id, last_seq, created_at, updated_at)
  VALUES ('Load test ticket: cannot export invoices', 'new', 'normal', 'api', :contact_id, 2, now(), now())
  RETURNING id AS ticket_id \gset
INSERT INTO messages (ticket_id, seq, direction, author_type, author_contact_id, internal, subject,
                      body_text, status, created_at)
  VALUES (:ticket_id, 2, 'inbound', 'contact', :contact_id, false, 'Load test ticket: cannot export invoices',
          repeat('Hello, the export button does nothing since this morning. ', 3), 'received', now());
INSERT INTO outbox_events (topic, ticket_id, seq, payload)
  VALUES ('ticket.created', :ticket_id, 1, jsonb_build_object('ticket_id', :ticket_id::bigint));
END;
SQL

declare -A TPS
for shape in full minimal; do
	echo "limit: pgbench, $shape create, $CLIENTS clients, ${SECONDS_EACH}s"
	pgbench -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -n -M prepared -c "$CLIENTS" -j "$THREADS" \
		-T "$SECONDS_EACH" -P 5 -f "$WORK/$shape.sql" "$DB" 2>&1 | tee "$WORK/$shape.out" |
		grep -E "^progress|^latency|^tps|failed" || true
	TPS[$shape]=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$WORK/$shape.out" | tail -1)
	if [ -z "${TPS[$shape]}" ]; then
		echo "limit: pgbench printed no tps:" >&2
		cat "$WORK/$shape.out" >&2
		exit 1
	fi
done
echo "limit_tps_full=${TPS[full]}"
echo "limit_tps_minimal=${TPS[minimal]}"
