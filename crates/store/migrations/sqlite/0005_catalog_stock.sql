-- Stock that inventory feeds set, in a narrow table of its own: an inventory
-- feed then writes a few dozen bytes per product instead of rewriting each
-- product's whole row, JSON included. A row here overrides the product's own
-- `availability` and `inventory_quantity` until a product feed writes the
-- product again. `catalog_products_current` is the catalog as readers see it.
-- Without a rowid, a stock row lives in its key's B-tree alone.

CREATE TABLE catalog_stock (
    account_id TEXT NOT NULL,
    livemode INTEGER NOT NULL,
    product_id TEXT NOT NULL,
    availability TEXT NOT NULL,
    inventory_quantity BIGINT NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (account_id, livemode, product_id)
) WITHOUT ROWID;

CREATE VIEW catalog_products_current AS
SELECT p.seq, p.account_id, p.livemode, p.product_id, p.item_group_id, p.data, p.created,
       COALESCE(s.availability, p.availability) AS availability,
       CASE WHEN s.product_id IS NULL THEN p.inventory_quantity
            ELSE s.inventory_quantity END AS inventory_quantity,
       CASE WHEN s.updated > p.updated THEN s.updated ELSE p.updated END AS updated
FROM catalog_products AS p
LEFT JOIN catalog_stock AS s
    ON s.account_id = p.account_id AND s.livemode = p.livemode AND s.product_id = p.product_id;
