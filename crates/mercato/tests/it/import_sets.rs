//! Catalog imports end to end: upload a feed as a File, create an ImportSet,
//! poll it to its final status, then read the reports, the events and the
//! catalog. Row rules are covered by the `mercato-catalog` unit tests; these
//! tests cover the flow around them: file-level failures, API errors, upsert,
//! delete, replace, validate-only, inventory feeds, ordering, the live
//! cadence, archiving and the fix-and-reimport round trip.

use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{Reply, TestServer};

const HEADER: &str = "id,title,description,link,brand,image_link,availability,price,gtin,google_product_category,inventory_quantity";
const UPLOAD_PURPOSE: &str = "data_management_manual_upload";
const CATALOG_FORMAT: &str = "product_catalog_feed";
const INVENTORY_FORMAT: &str = "inventory_feed";
const FINAL_STATUS_WITHIN: Duration = Duration::from_secs(30);

/// A valid catalog row for `id` with `price` and a quantity.
fn row(id: &str, price: &str, quantity: u32) -> String {
    format!(
        "{id},Mug {id},A stoneware mug,https://shop.example/{id},Acme,\
         https://shop.example/{id}.jpg,in_stock,{price},4006381333931,Home > Kitchen,{quantity}"
    )
}

/// A feed of the standard header and `rows`, LF-terminated.
fn feed(rows: &[String]) -> Vec<u8> {
    let mut text = format!("{HEADER}\n");
    for line in rows {
        text.push_str(line);
        text.push('\n');
    }
    text.into_bytes()
}

/// A server whose job workers poll often, so imports finish quickly.
async fn start_server() -> TestServer {
    TestServer::start_with(|config| config.job_poll_interval_ms = 50).await
}

/// One caller: a secret key and the connected account it acts for.
struct Caller<'a> {
    server: &'a TestServer,
    key: String,
    account: String,
}

impl<'a> Caller<'a> {
    /// A new connected account in test mode.
    async fn sandbox(server: &'a TestServer, name: &str) -> Caller<'a> {
        let account = server.connected_account(name).await;
        Caller {
            server,
            key: server.test_key.clone(),
            account,
        }
    }

    /// A new connected account in live mode, created with the live key.
    async fn live(server: &'a TestServer, name: &str) -> Caller<'a> {
        let response = server
            .client
            .post(format!("{}/v1/accounts", server.base))
            .bearer_auth(&server.live_key)
            .form(&[("type", "custom"), ("business_profile[name]", name)])
            .send()
            .await
            .expect("request sent");
        let reply = Reply::read(response).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        Caller {
            server,
            key: server.live_key.clone(),
            account: reply.body["id"].as_str().expect("account id").to_owned(),
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.server
            .client
            .request(method, format!("{}{path}", self.server.base))
            .bearer_auth(&self.key)
            .header("stripe-account", &self.account)
    }

    async fn get(&self, path: &str) -> Reply {
        let response = self.request(Method::GET, path).send().await;
        Reply::read(response.expect("request sent")).await
    }

    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Reply {
        let response = self.request(Method::POST, path).form(pairs).send().await;
        Reply::read(response.expect("request sent")).await
    }

    async fn upload_as(&self, bytes: &[u8], purpose: &str, filename: &str, mime: &str) -> Reply {
        let part = Part::bytes(bytes.to_vec())
            .file_name(filename.to_owned())
            .mime_str(mime)
            .expect("a valid content type");
        let form = Form::new()
            .text("purpose", purpose.to_owned())
            .part("file", part);
        let response = self
            .request(Method::POST, "/v1/files")
            .multipart(form)
            .send()
            .await;
        Reply::read(response.expect("request sent")).await
    }

    /// Uploads a CSV feed and returns the File id.
    async fn upload(&self, bytes: &[u8]) -> String {
        let reply = self
            .upload_as(bytes, UPLOAD_PURPOSE, "feed.csv", "text/csv")
            .await;
        assert_eq!(reply.status, 200, "upload: {}", reply.body);
        reply.body["id"].as_str().expect("file id").to_owned()
    }

    async fn create(&self, file: &str, format: &str, extra: &[(&str, &str)]) -> Reply {
        let mut pairs = vec![("file", file), ("standard_data_format", format)];
        pairs.extend_from_slice(extra);
        self.post("/v1/data_management/import_sets", &pairs).await
    }

    /// Creates an ImportSet and returns its id.
    async fn start_import(&self, bytes: &[u8], format: &str, extra: &[(&str, &str)]) -> String {
        let file = self.upload(bytes).await;
        let reply = self.create(&file, format, extra).await;
        assert_eq!(reply.status, 200, "create: {}", reply.body);
        assert_eq!(reply.body["object"], "data_management.import_set");
        assert_eq!(reply.body["status"], "pending", "{}", reply.body);
        reply.body["id"].as_str().expect("import set id").to_owned()
    }

    /// Polls the ImportSet until its status is no longer `pending`.
    async fn wait_final(&self, id: &str) -> Value {
        let started = Instant::now();
        loop {
            let reply = self
                .get(&format!("/v1/data_management/import_sets/{id}"))
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            if reply.body["status"] != "pending" {
                return reply.body;
            }
            assert!(
                started.elapsed() < FINAL_STATUS_WITHIN,
                "still pending after {FINAL_STATUS_WITHIN:?}: {}",
                reply.body
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Uploads, imports and waits; returns the final ImportSet.
    async fn import(&self, bytes: &[u8], format: &str, extra: &[(&str, &str)]) -> Value {
        let id = self.start_import(bytes, format, extra).await;
        self.wait_final(&id).await
    }

    async fn product(&self, id: &str) -> Reply {
        self.get(&format!("/v1/catalog/products/{id}")).await
    }

    /// The feed ids of every product, sorted, read page by page.
    async fn product_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        let mut path = "/v1/catalog/products?limit=100".to_owned();
        loop {
            let reply = self.get(&path).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            let data = reply.body["data"].as_array().expect("list data");
            for product in data {
                ids.push(product["id"].as_str().expect("product id").to_owned());
            }
            if reply.body["has_more"] != true {
                break;
            }
            let last = ids.last().expect("a page with more has items");
            path = format!("/v1/catalog/products?limit=100&starting_after={last}");
        }
        ids.sort();
        ids
    }

    /// The quantity and availability of a product, or `None` when it is absent.
    async fn stock(&self, id: &str) -> Option<(i64, String)> {
        let reply = self.product(id).await;
        if reply.status == 404 {
            return None;
        }
        assert_eq!(reply.status, 200, "{}", reply.body);
        let quantity = reply.body["inventory_quantity"]
            .as_i64()
            .expect("inventory_quantity");
        let availability = reply.body["availability"].as_str().unwrap_or_default();
        Some((quantity, availability.to_owned()))
    }

    /// The text of a File's contents.
    async fn contents(&self, file: &str) -> String {
        let reply = self.get(&format!("/v1/files/{file}/contents")).await;
        assert_eq!(reply.status, 200, "contents of {file}");
        String::from_utf8(reply.bytes).expect("report is UTF-8")
    }
}

/// Splits CSV text into records of cells (RFC 4180 quoting).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, _) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut cell));
                records.push(std::mem::take(&mut record));
            }
            (false, _) => cell.push(c),
        }
    }
    if !cell.is_empty() || !record.is_empty() {
        record.push(cell);
        records.push(record);
    }
    records
}

/// Writes records as CSV, quoting cells that need it.
fn write_csv(records: &[Vec<String>]) -> Vec<u8> {
    let mut text = String::new();
    for record in records {
        let cells: Vec<String> = record
            .iter()
            .map(|cell| {
                if cell.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", cell.replace('"', "\"\""))
                } else {
                    cell.clone()
                }
            })
            .collect();
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    text.into_bytes()
}

fn result_count(import_set: &Value, path: &[&str]) -> i64 {
    let mut value = &import_set["result"];
    for key in path {
        value = &value[key];
    }
    value
        .as_i64()
        .unwrap_or_else(|| panic!("result.{} in {import_set}", path.join(".")))
}

/// The seed's rows: three good, two broken in known ways.
fn seed_feed() -> Vec<u8> {
    feed(&[
        row("sku-1", "15.00 USD", 3),
        row("sku-2", "\"15,00 EUR\"", 4),
        row("sku-3", "20.00 USD", 5),
        row("sku-4", "not-a-price", 6),
        row("sku-5", "7.50 USD", 0),
    ])
}

#[tokio::test]
async fn the_seed_flow_reports_failing_rows_and_keeps_the_good_ones() {
    let server = start_server().await;
    let caller = Caller::sandbox(&server, "Seed shop").await;

    let done = caller.import(&seed_feed(), CATALOG_FORMAT, &[]).await;

    assert_eq!(done["status"], "succeeded_with_errors", "{done}");
    assert_eq!(done["failed_reason"], Value::Null);
    assert_eq!(result_count(&done, &["rows_processed"]), 5);
    assert_eq!(result_count(&done, &["successes", "row_count"]), 3);
    assert_eq!(result_count(&done, &["errors", "row_count"]), 2);
    assert_eq!(result_count(&done, &["objects_created"]), 3);
    let errors_file = done["result"]["errors"]["file"]
        .as_str()
        .expect("errors.file");
    assert!(errors_file.starts_with("file_"), "{errors_file}");

    let report = parse_csv(&caller.contents(errors_file).await);
    let original = parse_csv(std::str::from_utf8(&seed_feed()).expect("utf-8"));
    assert_eq!(report[0][0], "stripe_error_message");
    assert_eq!(
        report[0][1..],
        original[0][..],
        "the original header follows"
    );
    assert_eq!(
        report.len(),
        3,
        "header and the two failing rows: {report:?}"
    );
    assert_eq!(report[1][1..], original[2][..], "sku-2 cells untouched");
    assert_eq!(report[2][1..], original[4][..], "sku-4 cells untouched");
    for failing in &report[1..] {
        assert!(failing[0].starts_with("price: "), "{failing:?}");
    }
    assert!(report[1][0].contains("\"15,00 EUR\""), "{:?}", report[1]);

    let events = caller
        .get("/v1/events?type=data_management.import_set.succeeded_with_errors")
        .await;
    assert_eq!(events.status, 200, "{}", events.body);
    let data = events.body["data"].as_array().expect("events");
    assert_eq!(data.len(), 1, "{}", events.body);
    assert_eq!(data[0]["data"]["object"]["id"], done["id"]);

    let product = caller.product("sku-1").await;
    assert_eq!(product.status, 200, "{}", product.body);
    assert_eq!(product.body["object"], "catalog.product");
    assert_eq!(
        product.body["price"],
        json!({"amount": 1500, "currency": "usd"})
    );
    assert_eq!(product.body["inventory_quantity"], 3);
    assert_eq!(
        product.body["mpn"],
        Value::Null,
        "a field the feed left empty is shown as null"
    );
    assert!(
        product.body["custom_label_4"].is_null() && product.body.get("custom_label_4").is_some(),
        "{}",
        product.body
    );
    assert_eq!(caller.product("sku-2").await.status, 404);
    assert_eq!(
        caller.product_ids().await,
        ["sku-1", "sku-3", "sku-5"],
        "only the good rows are in the catalog"
    );
}

/// Feeds that fail as a whole, and the words their `failed_reason` must hold.
const FILE_FAILURES: &[(&str, &[u8], &str)] = &[
    (
        "header only",
        b"id,title,description,link,brand,image_link,availability,price,gtin,google_product_category,inventory_quantity\n",
        "the file has a header row but no data rows",
    ),
    (
        "missing the price column",
        b"id,title,description,link,brand,image_link,availability,gtin,google_product_category,inventory_quantity\n\
          sku-9,Mug,A mug,https://shop.example/m,Acme,https://shop.example/m.jpg,in_stock,4006381333931,Home,1\n",
        "the header is missing the required column: price",
    ),
    (
        "id twice, once as an alias",
        b"id,title,description,link,brand,image_link,availability,price,gtin,google_product_category,inventory_quantity,item_id\n\
          sku-9,Mug,A mug,https://shop.example/m,Acme,https://shop.example/m.jpg,in_stock,1.00 USD,4006381333931,Home,1,sku-9\n",
        "the column \"id\" appears twice in the header",
    ),
    (
        "a control character in the header",
        b"id,ti\x01tle,description\nsku-9,Mug,A mug\n",
        "control characters",
    ),
    // An empty file and a file with NUL bytes never reach an ImportSet: the
    // upload refuses both with a 400 (see `files.rs`).
];

#[tokio::test]
async fn file_level_problems_fail_the_import_set_and_change_nothing() {
    let server = start_server().await;
    let caller = Caller::sandbox(&server, "File failures").await;
    let kept = caller
        .import(&feed(&[row("kept", "1.00 USD", 1)]), CATALOG_FORMAT, &[])
        .await;
    assert_eq!(kept["status"], "succeeded", "{kept}");

    for (case, bytes, reason) in FILE_FAILURES {
        let done = caller.import(bytes, CATALOG_FORMAT, &[]).await;
        assert_eq!(done["status"], "failed", "{case}: {done}");
        let failed_reason = done["failed_reason"].as_str().unwrap_or_default();
        assert!(
            failed_reason.contains(reason),
            "{case}: failed_reason {failed_reason:?} should contain {reason:?}"
        );
        assert_eq!(caller.product_ids().await, ["kept"], "{case}");
        assert_eq!(caller.stock("kept").await, Some((1, "in_stock".into())));
    }

    let failed = caller
        .get("/v1/events?type=data_management.import_set.failed")
        .await;
    let count = failed.body["data"].as_array().map_or(0, Vec::len);
    assert_eq!(count, FILE_FAILURES.len(), "{}", failed.body);
}

#[tokio::test]
async fn uploads_that_cannot_be_imported_are_refused_at_upload() {
    let server = start_server().await;
    let caller = Caller::sandbox(&server, "Upload refusals").await;
    let cases: &[(&str, &[u8])] = &[("empty", b""), ("NUL bytes", b"id,\x00title\nsku,x\n")];
    for (case, bytes) in cases {
        let reply = caller
            .upload_as(bytes, UPLOAD_PURPOSE, "feed.csv", "text/csv")
            .await;
        assert_eq!(reply.error(400)["type"], "invalid_request_error", "{case}");
    }
}

#[tokio::test]
async fn create_refuses_bad_parameters_and_foreign_files() {
    let server = start_server().await;
    let caller = Caller::sandbox(&server, "API errors").await;
    let other = Caller::sandbox(&server, "Another shop").await;
    let good = caller.upload(&feed(&[row("a", "1.00 USD", 1)])).await;
    let theirs = other.upload(&feed(&[row("b", "1.00 USD", 1)])).await;
    let pdf =
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
    let evidence = caller
        .upload_as(pdf, "dispute_evidence", "evidence.pdf", "application/pdf")
        .await;
    assert_eq!(evidence.status, 200, "{}", evidence.body);
    let evidence = evidence.body["id"].as_str().expect("file id").to_owned();

    // (case, file, format, extra, status, param, code)
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a str,
        &'a [(&'a str, &'a str)],
        u16,
        &'a str,
        Option<&'a str>,
    );
    let cases: &[Case] = &[
        (
            "unknown format",
            &good,
            "shopping_feed",
            &[],
            400,
            "standard_data_format",
            None,
        ),
        (
            "no such file",
            "file_doesnotexist",
            CATALOG_FORMAT,
            &[],
            404,
            "file",
            None,
        ),
        (
            "another purpose",
            &evidence,
            CATALOG_FORMAT,
            &[],
            400,
            "file",
            None,
        ),
        (
            "another account's file",
            &theirs,
            CATALOG_FORMAT,
            &[],
            404,
            "file",
            None,
        ),
        (
            "unknown parameter",
            &good,
            CATALOG_FORMAT,
            &[("colour", "blue")],
            400,
            "",
            Some("parameter_unknown"),
        ),
        (
            "unknown mode",
            &good,
            CATALOG_FORMAT,
            &[("mode", "merge")],
            400,
            "",
            None,
        ),
    ];
    for (case, file, format, extra, status, param, code) in cases {
        let reply = caller.create(file, format, extra).await;
        let error = reply.error(*status);
        assert_eq!(error["type"], "invalid_request_error", "{case}: {error}");
        if !param.is_empty() {
            assert_eq!(error["param"], *param, "{case}: {error}");
        }
        if let Some(code) = code {
            assert_eq!(error["code"], *code, "{case}: {error}");
        }
    }

    let list = caller.get("/v1/data_management/import_sets").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["data"], json!([]), "nothing was created");
}

#[tokio::test]
async fn upsert_delete_and_replace_change_only_what_they_name() {
    let server = start_server().await;
    let caller = Caller::sandbox(&server, "Semantics").await;
    let first = feed(&[
        row("a", "1.00 USD", 1),
        row("b", "2.00 USD", 2),
        row("c", "3.00 USD", 3),
    ]);
    assert_eq!(
        caller.import(&first, CATALOG_FORMAT, &[]).await["status"],
        "succeeded"
    );

    let update_a = feed(&[row("a", "1.50 USD", 10)]);
    let done = caller.import(&update_a, CATALOG_FORMAT, &[]).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(result_count(&done, &["objects_updated"]), 1, "{done}");
    assert_eq!(
        caller.product_ids().await,
        ["a", "b", "c"],
        "upsert keeps b and c"
    );
    assert_eq!(caller.product("a").await.body["price"]["amount"], 150);

    let delete_b = format!("{HEADER},delete\n{},true\n", row("b", "2.00 USD", 2));
    let done = caller
        .import(delete_b.as_bytes(), CATALOG_FORMAT, &[])
        .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(result_count(&done, &["objects_deleted"]), 1, "{done}");
    assert_eq!(caller.product_ids().await, ["a", "c"]);

    let replace = feed(&[row("c", "3.00 USD", 3), row("d", "4.00 USD", 4)]);
    let done = caller
        .import(&replace, CATALOG_FORMAT, &[("mode", "replace")])
        .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["mode"], "replace");
    assert_eq!(result_count(&done, &["objects_deleted"]), 1, "{done}");
    assert_eq!(result_count(&done, &["objects_created"]), 1, "{done}");
    assert_eq!(
        caller.product_ids().await,
        ["c", "d"],
        "replace withdraws a"
    );
}

#[tokio::test]
async fn validate_only_reports_but_changes_nothing() {
    let server = start_server().await;
    let caller = Caller::sandbox(&server, "Validate only").await;
    let first = feed(&[row("a", "1.00 USD", 1)]);
    assert_eq!(
        caller.import(&first, CATALOG_FORMAT, &[]).await["status"],
        "succeeded"
    );

    let trial = feed(&[
        row("a", "9.00 USD", 9),
        row("new", "2.00 USD", 2),
        row("bad", "two dollars", 2),
    ]);
    let done = caller
        .import(
            &trial,
            CATALOG_FORMAT,
            &[("validate_only", "true"), ("mode", "replace")],
        )
        .await;
    assert_eq!(done["status"], "succeeded_with_errors", "{done}");
    assert_eq!(done["validate_only"], true);
    assert_eq!(result_count(&done, &["rows_processed"]), 3);
    assert_eq!(result_count(&done, &["errors", "row_count"]), 1);
    let report = done["result"]["errors"]["file"]
        .as_str()
        .expect("errors.file");
    assert!(caller.contents(report).await.contains("two dollars"));

    assert_eq!(caller.product_ids().await, ["a"]);
    assert_eq!(caller.stock("a").await, Some((1, "in_stock".into())));
    assert_eq!(caller.product("a").await.body["price"]["amount"], 100);
}

#[tokio::test]
async fn an_inventory_feed_updates_quantities_of_known_products_only() {
    let server = start_server().await;
    let caller = Caller::sandbox(&server, "Inventory").await;
    let catalog = feed(&[row("a", "1.00 USD", 5), row("b", "2.00 USD", 5)]);
    assert_eq!(
        caller.import(&catalog, CATALOG_FORMAT, &[]).await["status"],
        "succeeded"
    );

    let inventory = b"id,inventory_quantity\na,0\nb,42\nsku-x,3\n";
    let done = caller.import(inventory, INVENTORY_FORMAT, &[]).await;
    assert_eq!(done["status"], "succeeded_with_errors", "{done}");
    assert_eq!(done["standard_data_format"], INVENTORY_FORMAT);
    assert_eq!(result_count(&done, &["successes", "row_count"]), 2);
    assert_eq!(result_count(&done, &["errors", "row_count"]), 1);
    assert_eq!(result_count(&done, &["objects_updated"]), 2, "{done}");
    assert_eq!(result_count(&done, &["objects_created"]), 0, "{done}");

    let report_id = done["result"]["errors"]["file"]
        .as_str()
        .expect("errors.file");
    let report = parse_csv(&caller.contents(report_id).await);
    assert_eq!(
        report[0],
        ["stripe_error_message", "id", "inventory_quantity"]
    );
    assert_eq!(
        report[1],
        [
            "id: \"sku-x\" is not a product in this catalog",
            "sku-x",
            "3"
        ]
    );
    assert_eq!(report.len(), 2, "{report:?}");

    assert_eq!(caller.stock("a").await, Some((0, "out_of_stock".into())));
    assert_eq!(caller.stock("b").await, Some((42, "in_stock".into())));
    assert_eq!(caller.stock("sku-x").await, None);

    let trial = b"id,inventory_quantity\na,8\nsku-y,1\n";
    let done = caller
        .import(trial, INVENTORY_FORMAT, &[("validate_only", "true")])
        .await;
    assert_eq!(done["status"], "succeeded_with_errors", "{done}");
    assert_eq!(result_count(&done, &["errors", "row_count"]), 1, "{done}");
    assert_eq!(
        caller.stock("a").await,
        Some((0, "out_of_stock".into())),
        "validating changes no stock"
    );
}

#[tokio::test]
async fn stock_from_inventory_feeds_holds_until_a_product_feed_writes_the_product() {
    let server = start_server().await;
    let caller = Caller::sandbox(&server, "Stock").await;
    let catalog = feed(&[
        row("a", "1.00 USD", 5),
        row("b", "2.00 USD", 5),
        row("c", "3.00 USD", 5),
    ]);
    assert_eq!(
        caller.import(&catalog, CATALOG_FORMAT, &[]).await["status"],
        "succeeded"
    );

    let sold_out = b"id,inventory_quantity\na,0\nb,7\n";
    let done = caller.import(sold_out, INVENTORY_FORMAT, &[]).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let out_of_stock = caller
        .get("/v1/catalog/products?availability=out_of_stock")
        .await;
    assert_eq!(out_of_stock.status, 200, "{}", out_of_stock.body);
    assert_eq!(
        out_of_stock.body["data"][0]["id"], "a",
        "{}",
        out_of_stock.body
    );
    assert_eq!(out_of_stock.body["data"].as_array().map(Vec::len), Some(1));

    let restocked = b"id,inventory_quantity\na,3\n";
    let done = caller.import(restocked, INVENTORY_FORMAT, &[]).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        caller.stock("a").await,
        Some((3, "in_stock".into())),
        "back in stock from the availability the last feed set"
    );
    assert_eq!(caller.stock("b").await, Some((7, "in_stock".into())));

    let rewrite_b = feed(&[row("b", "2.00 USD", 1)]);
    let done = caller.import(&rewrite_b, CATALOG_FORMAT, &[]).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        caller.stock("b").await,
        Some((1, "in_stock".into())),
        "the product feed's stock replaces the inventory feed's"
    );
    assert_eq!(caller.stock("a").await, Some((3, "in_stock".into())));

    let only_c = feed(&[row("c", "3.00 USD", 5)]);
    let done = caller
        .import(&only_c, CATALOG_FORMAT, &[("mode", "replace")])
        .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        caller.stock("a").await,
        None,
        "replace removes a and its stock"
    );
    let again = feed(&[row("a", "1.00 USD", 9)]);
    assert_eq!(
        caller.import(&again, CATALOG_FORMAT, &[]).await["status"],
        "succeeded"
    );
    assert_eq!(caller.stock("a").await, Some((9, "in_stock".into())));
}

#[tokio::test]
async fn a_failing_row_keeps_the_earlier_version_and_a_duplicate_id_loses() {
    let server = start_server().await;
    let caller = Caller::sandbox(&server, "Row failures").await;
    let first = feed(&[row("a", "1.00 USD", 1)]);
    assert_eq!(
        caller.import(&first, CATALOG_FORMAT, &[]).await["status"],
        "succeeded"
    );

    let second = feed(&[
        row("a", "one dollar", 7),
        row("dup", "3.00 USD", 3),
        row("dup", "4.00 USD", 4),
    ]);
    let done = caller.import(&second, CATALOG_FORMAT, &[]).await;
    assert_eq!(done["status"], "succeeded_with_errors", "{done}");
    assert_eq!(result_count(&done, &["errors", "row_count"]), 2, "{done}");

    assert_eq!(caller.stock("a").await, Some((1, "in_stock".into())));
    assert_eq!(caller.product("a").await.body["price"]["amount"], 100);
    assert_eq!(
        caller.stock("dup").await,
        Some((3, "in_stock".into())),
        "first wins"
    );

    let report_id = done["result"]["errors"]["file"]
        .as_str()
        .expect("errors.file");
    let report = parse_csv(&caller.contents(report_id).await);
    let duplicate = report
        .iter()
        .find(|record| record[1] == "dup")
        .expect("the duplicate row is reported");
    assert_eq!(
        duplicate[8], "4.00 USD",
        "the second row is the one reported"
    );
    assert_eq!(
        duplicate[0],
        "id: \"dup\" repeats the id of the row on line 3; the first row with an id wins"
    );
}

#[tokio::test]
async fn a_catalog_feed_then_an_inventory_feed_apply_in_creation_order() {
    let server = start_server().await;
    let caller = Caller::sandbox(&server, "Ordering").await;
    let rows: Vec<String> = (0..2_000)
        .map(|n| row(&format!("p{n:05}"), "1.00 USD", 1))
        .collect();
    let inventory: String = std::iter::once("id,inventory_quantity\n".to_owned())
        .chain((0..2_000).map(|n| format!("p{n:05},{}\n", n + 100)))
        .collect();
    let catalog_file = caller.upload(&feed(&rows)).await;
    let inventory_file = caller.upload(inventory.as_bytes()).await;

    let catalog = caller.create(&catalog_file, CATALOG_FORMAT, &[]).await;
    let stock = caller.create(&inventory_file, INVENTORY_FORMAT, &[]).await;
    assert_eq!(catalog.status, 200, "{}", catalog.body);
    assert_eq!(stock.status, 200, "{}", stock.body);
    let catalog = caller
        .wait_final(catalog.body["id"].as_str().expect("id"))
        .await;
    let stock = caller
        .wait_final(stock.body["id"].as_str().expect("id"))
        .await;

    assert_eq!(catalog["status"], "succeeded", "{catalog}");
    assert_eq!(stock["status"], "succeeded", "{stock}");
    for n in [0, 999, 1_999] {
        let id = format!("p{n:05}");
        assert_eq!(
            caller.stock(&id).await,
            Some((n + 100, "in_stock".into())),
            "{id}"
        );
    }
}

#[tokio::test]
async fn live_mode_allows_one_import_per_format_per_cadence() {
    let server = start_server().await;
    let live = Caller::live(&server, "Live shop").await;
    let catalog = feed(&[row("a", "1.00 USD", 1)]);

    let first = live.upload(&catalog).await;
    let created = live.create(&first, CATALOG_FORMAT, &[]).await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["livemode"], true);

    let again = live.upload(&catalog).await;
    let refused = live.create(&again, CATALOG_FORMAT, &[]).await;
    let error = refused.error(429);
    assert_eq!(error["code"], "rate_limit", "{error}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("next one is allowed at"), "{message}");

    let inventory = live.upload(b"id,inventory_quantity\na,3\n").await;
    let other_format = live.create(&inventory, INVENTORY_FORMAT, &[]).await;
    assert_eq!(other_format.status, 200, "{}", other_format.body);

    let sandbox = Caller::sandbox(&server, "Sandbox shop").await;
    for _ in 0..3 {
        let file = sandbox.upload(&catalog).await;
        let reply = sandbox.create(&file, CATALOG_FORMAT, &[]).await;
        assert_eq!(reply.status, 200, "sandbox has no cadence: {}", reply.body);
    }
}

#[tokio::test]
async fn archiving_deletes_the_reports_and_keeps_the_catalog() {
    let server = start_server().await;
    let caller = Caller::sandbox(&server, "Archive").await;
    let done = caller.import(&seed_feed(), CATALOG_FORMAT, &[]).await;
    let id = done["id"].as_str().expect("id");
    let report = done["result"]["errors"]["file"]
        .as_str()
        .expect("errors.file");
    assert_eq!(caller.get(&format!("/v1/files/{report}")).await.status, 200);

    let archived = caller
        .post(
            &format!("/v1/data_management/import_sets/{id}/archive"),
            &[],
        )
        .await;
    assert_eq!(archived.status, 200, "{}", archived.body);
    assert_eq!(archived.body["status"], "archived");
    assert_eq!(archived.body["result"]["errors"]["file"], Value::Null);
    assert_eq!(archived.body["result"]["errors"]["row_count"], 2);

    let read = caller
        .get(&format!("/v1/data_management/import_sets/{id}"))
        .await;
    assert_eq!(read.body["status"], "archived");
    assert_eq!(
        caller.get(&format!("/v1/files/{report}")).await.error(404)["type"],
        "invalid_request_error"
    );
    let contents = caller.get(&format!("/v1/files/{report}/contents")).await;
    assert_eq!(contents.status, 404);
    assert_eq!(caller.product_ids().await, ["sku-1", "sku-3", "sku-5"]);
}

#[tokio::test]
async fn fixing_the_error_report_and_importing_it_completes_the_catalog() {
    let server = start_server().await;
    let caller = Caller::sandbox(&server, "Round trip").await;
    let done = caller.import(&seed_feed(), CATALOG_FORMAT, &[]).await;
    let report_id = done["result"]["errors"]["file"]
        .as_str()
        .expect("errors.file");
    let report = parse_csv(&caller.contents(report_id).await);

    let price_column = report[0]
        .iter()
        .position(|name| name == "price")
        .expect("price column");
    let fixed: Vec<Vec<String>> = report
        .iter()
        .enumerate()
        .map(|(line, record)| {
            let mut cells = record[1..].to_vec();
            if line > 0 {
                cells[price_column - 1] = "15.00 USD".to_owned();
            }
            cells
        })
        .collect();
    let again = caller.import(&write_csv(&fixed), CATALOG_FORMAT, &[]).await;

    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(result_count(&again, &["objects_created"]), 2);
    assert_eq!(
        caller.product_ids().await,
        ["sku-1", "sku-2", "sku-3", "sku-4", "sku-5"]
    );
}

/// Rows in the feed that is interrupted by a kill -9.
const LARGE_FEED_ROWS: usize = 30_000;

/// `mercato serve` as a child process on a fixture's database.
struct ServeProcess {
    child: tokio::process::Child,
    base: String,
}

impl ServeProcess {
    async fn start(fixture: &crate::support::Fixture, test_key: &str) -> ServeProcess {
        use tokio::io::{AsyncBufReadExt, BufReader};

        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_mercato"));
        command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(fixture.dir.path().join("data"))
            .args(["--database-url", &fixture.database_url])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        for (name, _) in std::env::vars() {
            if name.starts_with("MERCATO_") {
                command.env_remove(name);
            }
        }
        command.envs([
            ("MERCATO_BOOTSTRAP_TEST_KEY", test_key),
            ("MERCATO_LOG_LEVEL", "warn"),
            ("MERCATO_JOB_POLL_INTERVAL_MS", "50"),
        ]);
        let mut child = command.spawn().expect("mercato starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(base) = line.strip_prefix("Listening on ") {
                    return base.trim().to_owned();
                }
            }
            panic!("mercato exited before listening");
        })
        .await
        .expect("mercato listens within a minute");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ServeProcess { child, base }
    }

    async fn kill_9(mut self) {
        self.child.start_kill().expect("SIGKILL sent");
        self.child.wait().await.expect("process reaped");
    }
}

/// A client of a child server, acting for one connected account.
struct ChildCaller {
    client: reqwest::Client,
    base: String,
    key: String,
    account: String,
}

impl ChildCaller {
    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let request = request
            .bearer_auth(&self.key)
            .header("stripe-account", &self.account);
        Reply::read(request.send().await.expect("request sent")).await
    }

    async fn import_set(&self, id: &str) -> Value {
        let url = format!("{}/v1/data_management/import_sets/{id}", self.base);
        let reply = self.send(self.client.get(url)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }
}

async fn product_count(db: &mercato_store::Db, account: &str) -> i64 {
    let account = mercato_core::ids::AccountId::parse(account).expect("account id");
    let mut conn = db.pool().acquire().await.expect("a connection");
    mercato_store::catalog::count(&mut conn, &account, false)
        .await
        .expect("count products")
}

/// The catalog is wholly before or wholly after an ImportSet killed while it
/// runs, and the ImportSet reaches a final status after the restart.
#[tokio::test]
async fn kill_9_during_a_large_import_leaves_the_catalog_before_or_after() {
    let fixture = crate::support::Fixture::new().await;
    let test_key = fixture
        .config()
        .bootstrap_test_key
        .expect("a bootstrap key");
    let first = ServeProcess::start(&fixture, &test_key).await;
    let client = reqwest::Client::new();
    let created = Reply::read(
        client
            .post(format!("{}/v1/accounts", first.base))
            .bearer_auth(&test_key)
            .form(&[("type", "custom")])
            .send()
            .await
            .expect("request sent"),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.body);
    let mut caller = ChildCaller {
        client,
        base: first.base.clone(),
        key: test_key.clone(),
        account: created.body["id"].as_str().expect("account id").to_owned(),
    };
    let db = mercato_store::Db::connect(&fixture.database_url, 2)
        .await
        .expect("connect to the store");

    let small = feed(&[
        row("before-1", "1.00 USD", 1),
        row("before-2", "1.00 USD", 1),
    ]);
    let rows: Vec<String> = (0..LARGE_FEED_ROWS)
        .map(|n| row(&format!("large-{n:06}"), "2.50 USD", 7))
        .collect();
    let large = feed(&rows);
    let mut ids = Vec::new();
    for bytes in [small, large] {
        let part = Part::bytes(bytes)
            .file_name("feed.csv")
            .mime_str("text/csv")
            .expect("a valid content type");
        let form = Form::new()
            .text("purpose", UPLOAD_PURPOSE)
            .part("file", part);
        let url = format!("{}/v1/files", caller.base);
        let upload = caller.send(caller.client.post(url).multipart(form)).await;
        assert_eq!(upload.status, 200, "{}", upload.body);
        let file = upload.body["id"].as_str().expect("file id").to_owned();
        let url = format!("{}/v1/data_management/import_sets", caller.base);
        let pairs = [
            ("file", file.as_str()),
            ("standard_data_format", CATALOG_FORMAT),
        ];
        let reply = caller.send(caller.client.post(url).form(&pairs)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        ids.push(reply.body["id"].as_str().expect("id").to_owned());
    }

    let started = Instant::now();
    while caller.import_set(&ids[0]).await["status"] == "pending" {
        assert!(
            started.elapsed() < FINAL_STATUS_WITHIN,
            "the small import finishes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = product_count(&db, &caller.account).await;
    assert_eq!(before, 2);
    let large_state = caller.import_set(&ids[1]).await;
    assert_eq!(
        large_state["status"], "pending",
        "killed while pending: {large_state}"
    );
    first.kill_9().await;
    let full = before + i64::try_from(LARGE_FEED_ROWS).expect("row count");
    let at_kill = product_count(&db, &caller.account).await;
    assert!(
        at_kill == before || at_kill == full,
        "a partial catalog at the kill: {at_kill} products"
    );

    let second = ServeProcess::start(&fixture, &test_key).await;
    caller.base = second.base.clone();
    let restarted = Instant::now();
    let done = loop {
        let count = product_count(&db, &caller.account).await;
        assert!(
            count == before || count == full,
            "a partial catalog: {count} products"
        );
        let state = caller.import_set(&ids[1]).await;
        if state["status"] != "pending" {
            break state;
        }
        assert!(
            restarted.elapsed() < Duration::from_secs(120),
            "still pending two minutes after the restart: {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let count = product_count(&db, &caller.account).await;
    match done["status"].as_str() {
        Some("succeeded") => assert_eq!(count, full, "{done}"),
        Some("failed") => {
            assert!(done["failed_reason"].is_string(), "{done}");
            assert_eq!(count, before, "{done}");
        }
        _ => panic!("unexpected final state: {done}"),
    }
    second.kill_9().await;
}

/// Two servers on one database share the import queue: every ImportSet is
/// processed exactly once, in order per account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_process_each_import_set_once() {
    const ACCOUNTS: usize = 3;
    const IMPORTS_EACH: usize = 4;
    const ROWS: usize = 40;
    let server = start_server().await;
    let second = server.start_another().await;

    let mut callers = Vec::new();
    for account in 0..ACCOUNTS {
        callers.push(Caller::sandbox(&server, &format!("Node shop {account}")).await);
    }
    let mut started = Vec::new();
    for import in 0..IMPORTS_EACH {
        for (account, caller) in callers.iter().enumerate() {
            let rows: Vec<String> = (0..ROWS)
                .map(|row_number| row(&format!("sku-{import}-{row_number}"), "1.00 USD", 1))
                .collect();
            let id = caller.start_import(&feed(&rows), CATALOG_FORMAT, &[]).await;
            started.push((account, id));
        }
    }

    for (account, id) in &started {
        let done = callers[*account].wait_final(id).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(done["result"]["objects_created"], ROWS, "{done}");
    }
    for caller in &callers {
        let events = caller
            .get("/v1/events?type=data_management.import_set.succeeded&limit=100")
            .await;
        let mut announced: Vec<&str> = events.body["data"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|event| event["data"]["object"]["id"].as_str())
            .collect();
        announced.sort_unstable();
        let before_dedup = announced.len();
        announced.dedup();
        assert_eq!(before_dedup, IMPORTS_EACH, "one event per ImportSet");
        assert_eq!(announced.len(), IMPORTS_EACH, "no ImportSet finished twice");
        assert_eq!(caller.product_ids().await.len(), IMPORTS_EACH * ROWS);
    }
    let runs: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, attempts FROM jobs WHERE kind = 'catalog.import'")
            .fetch_all(server.db().pool())
            .await
            .expect("read the import jobs");
    assert_eq!(runs.len(), ACCOUNTS * IMPORTS_EACH);
    for (state, attempts) in runs {
        assert_eq!(
            (state.as_str(), attempts),
            ("succeeded", 1),
            "each import ran once"
        );
    }
    second.shutdown().await.expect("second server stops");
}

#[tokio::test]
async fn the_catalog_lists_by_group_availability_and_updated_with_cursors() {
    let server = start_server().await;
    let caller = Caller::sandbox(&server, "Catalog reader").await;
    let grouped = |id: &str, group: &str| format!("{},{group}", row(id, "4.00 USD", 2));
    let catalog = format!(
        "{HEADER},item_group_id\n{}\n{}\n{}\n{}\n",
        grouped("a1", "g1"),
        grouped("a2", "g1"),
        grouped("b1", "g2"),
        grouped("c1", "")
    );
    let done = caller.import(catalog.as_bytes(), CATALOG_FORMAT, &[]).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let done = caller
        .import(b"id,inventory_quantity\na2,0\n", INVENTORY_FORMAT, &[])
        .await;
    assert_eq!(done["status"], "succeeded", "{done}");

    let ids_of = |reply: &Reply| -> Vec<String> {
        let data = reply.body["data"].as_array().expect("list data");
        let mut ids: Vec<String> = data
            .iter()
            .map(|product| product["id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        ids
    };
    let group = caller.get("/v1/catalog/products?item_group_id=g1").await;
    assert_eq!(group.status, 200, "{}", group.body);
    assert_eq!(ids_of(&group), ["a1", "a2"]);
    assert_eq!(group.body["data"][0]["object"], "catalog.product");

    let sold_out = caller
        .get("/v1/catalog/products?availability=out_of_stock")
        .await;
    assert_eq!(ids_of(&sold_out), ["a2"], "{}", sold_out.body);

    let restocked = caller.product("a2").await.body["updated"]
        .as_i64()
        .expect("updated");
    let since = caller
        .get(&format!("/v1/catalog/products?updated[gte]={restocked}"))
        .await;
    assert!(ids_of(&since).contains(&"a2".to_owned()), "{}", since.body);
    let after = caller
        .get(&format!("/v1/catalog/products?updated[gt]={restocked}"))
        .await;
    assert_eq!(ids_of(&after), Vec::<String>::new(), "{}", after.body);

    let mut walked = Vec::new();
    let mut path = "/v1/catalog/products?limit=1".to_owned();
    loop {
        let page = caller.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let ids = ids_of(&page);
        assert_eq!(ids.len(), 1, "{}", page.body);
        walked.extend(ids);
        if page.body["has_more"] != true {
            break;
        }
        let last = walked.last().expect("a page");
        path = format!("/v1/catalog/products?limit=1&starting_after={last}");
    }
    walked.sort();
    assert_eq!(walked, ["a1", "a2", "b1", "c1"]);
}

#[tokio::test]
async fn catalog_reads_refuse_bad_filters_and_unknown_products() {
    let server = start_server().await;
    let caller = Caller::sandbox(&server, "Catalog errors").await;

    let bad = caller.get("/v1/catalog/products?availability=soon").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.body["error"]["type"], "invalid_request_error");
    assert_eq!(bad.body["error"]["param"], "availability");

    let unknown = caller.get("/v1/catalog/products?colour=red").await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);

    let missing = caller.product("no-such-product").await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(missing.body["error"]["code"], "resource_missing");
}

#[tokio::test]
async fn import_sets_list_newest_first_by_status_and_format_with_cursors() {
    let server = start_server().await;
    let caller = Caller::sandbox(&server, "Import history").await;
    let catalog = caller
        .import(&feed(&[row("a", "1.00 USD", 1)]), CATALOG_FORMAT, &[])
        .await;
    let inventory = caller
        .import(b"id,inventory_quantity\na,3\n", INVENTORY_FORMAT, &[])
        .await;
    let failed = caller
        .import(format!("{HEADER}\n").as_bytes(), CATALOG_FORMAT, &[])
        .await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let id = |import_set: &Value| import_set["id"].as_str().expect("id").to_owned();
    let ids_of = |reply: &Reply| -> Vec<String> {
        assert_eq!(reply.status, 200, "{}", reply.body);
        let data = reply.body["data"].as_array().expect("list data");
        data.iter().map(id).collect()
    };

    let all = caller.get("/v1/data_management/import_sets").await;
    assert_eq!(ids_of(&all), [id(&failed), id(&inventory), id(&catalog)]);
    assert_eq!(all.body["object"], "list");

    let by_format = caller
        .get("/v1/data_management/import_sets?standard_data_format=inventory_feed")
        .await;
    assert_eq!(ids_of(&by_format), [id(&inventory)]);
    let by_status = caller
        .get("/v1/data_management/import_sets?status=failed")
        .await;
    assert_eq!(ids_of(&by_status), [id(&failed)]);

    let first = caller.get("/v1/data_management/import_sets?limit=2").await;
    assert_eq!(ids_of(&first), [id(&failed), id(&inventory)]);
    assert_eq!(first.body["has_more"], true);
    let rest = caller
        .get(&format!(
            "/v1/data_management/import_sets?limit=2&starting_after={}",
            id(&inventory)
        ))
        .await;
    assert_eq!(ids_of(&rest), [id(&catalog)]);
    assert_eq!(rest.body["has_more"], false);

    let bad = caller
        .get("/v1/data_management/import_sets?status=done")
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.body["error"]["param"], "status");
}
