-- migrate:up
create table invoices (
  id integer primary key,
  amount_cents integer not null,
  note text default 'it''s; fine'
);

-- migrate:down
drop table invoices;
