-- Each product's stock in a narrow table of its own, written by product
-- feeds and inventory feeds alike: an inventory feed then reads and writes
-- a few dozen bytes per product, in a table small enough to stay in the page
-- cache, instead of reading and rewriting each product's whole row, JSON
-- included. `catalog_products_current` is the catalog as readers see it.

CREATE TABLE catalog_stock (
    account_id TEXT NOT NULL,
    livemode BIGINT NOT NULL,
    product_id TEXT NOT NULL,
    availability TEXT NOT NULL,
    inventory_quantity BIGINT,
    updated BIGINT NOT NULL,
    PRIMARY KEY (account_id, livemode, product_id)
);

INSERT INTO catalog_stock (account_id, livemode, product_id, availability, inventory_quantity, updated)
SELECT account_id, livemode, product_id, availability, inventory_quantity, updated
FROM catalog_products;

-- The products' own copies are read by nothing now: the view below reads
-- the stock rows.
ALTER TABLE catalog_products DROP COLUMN availability;
ALTER TABLE catalog_products DROP COLUMN inventory_quantity;

CREATE VIEW catalog_products_current AS
SELECT p.seq, p.account_id, p.livemode, p.product_id, p.item_group_id, p.data, p.created,
       s.availability, s.inventory_quantity,
       CASE WHEN s.updated > p.updated THEN s.updated ELSE p.updated END AS updated
FROM catalog_products AS p
JOIN catalog_stock AS s
    ON s.account_id = p.account_id AND s.livemode = p.livemode AND s.product_id = p.product_id;
