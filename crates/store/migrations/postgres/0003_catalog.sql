-- ImportSets, the staging area an import fills before it applies, and the
-- catalog itself.

CREATE TABLE import_sets (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    livemode BIGINT NOT NULL,
    file_id TEXT NOT NULL,
    standard_data_format TEXT NOT NULL,
    mode TEXT NOT NULL,
    validate_only BIGINT NOT NULL,
    status TEXT NOT NULL,
    failed_reason TEXT,
    result TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX import_sets_by_account ON import_sets (account_id, livemode, seq);
CREATE INDEX import_sets_by_format ON import_sets (account_id, livemode, standard_data_format, created);

CREATE TABLE catalog_staging (
    import_set_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    action TEXT NOT NULL,
    item_group_id TEXT,
    availability TEXT,
    inventory_quantity BIGINT,
    data TEXT,
    PRIMARY KEY (import_set_id, product_id)
);

CREATE TABLE catalog_products (
    seq BIGSERIAL PRIMARY KEY,
    account_id TEXT NOT NULL,
    livemode BIGINT NOT NULL,
    product_id TEXT NOT NULL,
    item_group_id TEXT,
    availability TEXT NOT NULL,
    inventory_quantity BIGINT,
    data TEXT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    UNIQUE (account_id, livemode, product_id)
);
CREATE INDEX catalog_products_by_account ON catalog_products (account_id, livemode, seq);
CREATE INDEX catalog_products_by_group ON catalog_products (account_id, livemode, item_group_id);
