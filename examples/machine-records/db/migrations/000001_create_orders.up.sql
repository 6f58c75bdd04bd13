CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE TABLE orders (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    customer_id   uuid        NOT NULL,
    status        text        NOT NULL DEFAULT 'pending',
    legacy_status smallint,
    total_cents   bigint      NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
