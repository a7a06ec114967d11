/**
 * Webhook delivery state: operational, not history, so it lives outside the ledger schema (which a
 * rebuild replaces) and is never replayed. Registrations themselves are events on the projects topic;
 * only what cannot or need not be an event is here: the signing secret (HMAC needs it in the clear,
 * so it stays out of Kafka), the cursor, the delivery in flight and the delivery log.
 */
export const WEBHOOKS_SCHEMA = 'webhooks';

// Append only from here on: a deployed database has applied these by position.
export const WEBHOOK_MIGRATIONS: readonly string[] = [
  `create table endpoints (
     webhook_id text primary key,
     project_id text not null,
     secret text not null,
     cursor bigint not null,
     consecutive_failures int not null default 0,
     delivery_id text,
     delivery_last_id bigint,
     attempt int not null default 0,
     next_attempt_at timestamptz,
     last_attempt_at timestamptz,
     last_success_at timestamptz,
     last_status int,
     last_error text,
     last_duration_ms int,
     created_at timestamptz not null default now()
   )`,
  `create index endpoints_by_project on endpoints(project_id)`,
  `create table delivery_log (
     id bigserial primary key,
     webhook_id text not null,
     delivery_id text not null,
     attempt int not null,
     change_ids bigint[] not null,
     ok boolean not null,
     http_status int,
     error text,
     duration_ms int not null,
     attempted_at timestamptz not null,
     next_retry_at timestamptz
   )`,
  `create index delivery_log_by_webhook on delivery_log(webhook_id, id desc)`,
];
