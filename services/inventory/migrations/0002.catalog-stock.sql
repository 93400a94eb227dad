-- Catalog (storages, categories, products), stock balances and their ledger, bills of materials,
-- location settings, and the marks that make every automatic effect happen once (schema "inventory").

-- A storage belongs to one location; its id is the booking system's (or a generated UUID).
CREATE TABLE storages (
    chain_id    text        NOT NULL,
    id          text        NOT NULL,
    location_id text        NOT NULL,
    name        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, id)
);
CREATE INDEX storages_location ON storages (chain_id, location_id);

CREATE TABLE categories (
    chain_id   text        NOT NULL,
    id         uuid        NOT NULL,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, id)
);
CREATE UNIQUE INDEX categories_name ON categories (chain_id, lower(name));

-- A product of the chain (location_id NULL), or of one location (a membership type's product there).
CREATE TABLE products (
    chain_id           text          NOT NULL,
    id                 text          NOT NULL,
    name               text          NOT NULL,
    category_id        uuid,
    unit               text          NOT NULL,
    sale_price         numeric(14,2) NOT NULL,
    cost_price         numeric(14,2) NOT NULL,
    barcode            text,
    min_stock          numeric(14,3),
    location_id        text,
    membership_type_id uuid,
    allow_without_code boolean       NOT NULL DEFAULT false,  -- membership products: sold without a code
    archived           boolean       NOT NULL DEFAULT false,
    -- occurred_at of the membership_type event last applied (events of two topics may cross).
    source_at          timestamptz,
    created_at         timestamptz   NOT NULL DEFAULT now(),
    updated_at         timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, id)
);
CREATE INDEX products_category ON products (chain_id, category_id);
CREATE UNIQUE INDEX products_membership ON products (chain_id, membership_type_id, coalesce(location_id, ''))
    WHERE membership_type_id IS NOT NULL;

-- The balance of each product in each storage now; NUMERIC(14,3) (pieces are whole numbers).
CREATE TABLE stock (
    chain_id   text          NOT NULL,
    storage_id text          NOT NULL,
    product_id text          NOT NULL,
    balance    numeric(14,3) NOT NULL,
    updated_at timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, storage_id, product_id)
);

-- Every movement of stock (the ledger): stock at a date is the sum of the movements before it.
CREATE TABLE movements (
    id           bigserial     PRIMARY KEY,
    chain_id     text          NOT NULL,
    storage_id   text          NOT NULL,
    product_id   text          NOT NULL,
    operation_id uuid          NOT NULL,
    delta        numeric(14,3) NOT NULL,
    occurred_at  timestamptz   NOT NULL
);
CREATE INDEX movements_at ON movements (chain_id, storage_id, product_id, occurred_at);

-- Operations: the second storage of a relocation, the client of a sale, a comment.
ALTER TABLE operations ADD COLUMN to_storage_id text;
ALTER TABLE operations ADD COLUMN client jsonb;
ALTER TABLE operations ADD COLUMN comment text;
CREATE INDEX operations_source ON operations (chain_id, source);

-- What one unit of a service consumes, per location (location_id '' = every location without its own).
CREATE TABLE bills_of_materials (
    chain_id    text        NOT NULL,
    service_id  text        NOT NULL,
    location_id text        NOT NULL,
    storage_id  text,
    items       jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, service_id, location_id)
);

CREATE TABLE location_settings (
    chain_id                 text        NOT NULL,
    location_id              text        NOT NULL,
    consumables_on           text        NOT NULL DEFAULT 'arrived',
    consumables_storage_id   text,
    updated_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, location_id)
);

-- Consumables of a visit's service are written off once, whichever event (and however often) comes.
CREATE TABLE consumables_done (
    chain_id     text        NOT NULL,
    visit_id     text        NOT NULL,
    service_id   text        NOT NULL,
    operation_id uuid,
    done_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain_id, visit_id, service_id)
);
