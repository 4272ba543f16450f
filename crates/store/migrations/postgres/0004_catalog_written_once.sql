-- Imports now write products straight into the catalog inside one
-- transaction, so the staging table goes. Each product remembers the import
-- that last wrote it, which is how `mode=replace` finds the products an
-- import did not name.
--
-- A product's feed JSON moves to a table of its own, so that changing stock
-- rewrites only the narrow product row and not the JSON beside it.

DROP TABLE catalog_staging;
ALTER TABLE catalog_products ADD COLUMN import_set_id TEXT;

CREATE TABLE catalog_product_data (
    product_seq BIGINT PRIMARY KEY REFERENCES catalog_products (seq) ON DELETE CASCADE,
    data TEXT NOT NULL
);
INSERT INTO catalog_product_data (product_seq, data) SELECT seq, data FROM catalog_products;
ALTER TABLE catalog_products DROP COLUMN data;
