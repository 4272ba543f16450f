-- Imports now write products straight into the catalog inside one
-- transaction, so the staging table goes. Each product remembers the import
-- that last wrote it, which is how `mode=replace` finds the products an
-- import did not name.

DROP TABLE catalog_staging;
ALTER TABLE catalog_products ADD COLUMN import_set_id TEXT;
