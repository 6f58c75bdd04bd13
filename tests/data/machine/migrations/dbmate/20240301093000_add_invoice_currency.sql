-- migrate:up transaction:false
alter table invoices add column currency char(3) not null default 'EUR';
create index concurrently invoices_currency_idx on invoices (currency);

-- migrate:down
