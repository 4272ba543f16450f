//! File uploads and downloads: streaming, limits, type checks, tenancy.
//!
//! `POST /v1/files` takes a multipart body with `purpose` and `file`. What is
//! refused (a wrong type, an oversized or empty file, a broken body) must be
//! a 400 in Stripe's error shape that leaves no row and no blob behind.

use std::path::{Path, PathBuf};

use futures_util::stream;
use reqwest::multipart::{Form, Part};
use reqwest::{Body, Method, RequestBuilder};

use crate::support::{Reply, TestServer};

const CATALOG_PURPOSE: &str = "data_management_manual_upload";
const CATALOG: &[u8] =
    b"id,title,price,currency\nsku_1,Stoneware mug,1200,usd\nsku_2,Teapot,3400,usd\n";
const FEED: &[u8] = b"id\ttitle\tprice\nsku_1\tStoneware mug\t1200\n";
const ZIP: &[u8] = b"PK\x03\x04\x14\x00\x00\x00\x08\x00\x21\x00catalog.csv and more";
const PNG_HEADER: &[u8] =
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06";
const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
const MIB: usize = 1024 * 1024;

/// A file part with its name and declared content type.
fn file_part(bytes: &[u8], filename: &str, content_type: &str) -> Part {
    Part::bytes(bytes.to_vec())
        .file_name(filename.to_owned())
        .mime_str(content_type)
        .expect("a valid content type")
}

/// The usual upload: `purpose`, then `file`.
fn upload_form(purpose: &str, file: Part) -> Form {
    Form::new()
        .text("purpose", purpose.to_owned())
        .part("file", file)
}

fn catalog_form() -> Form {
    upload_form(
        CATALOG_PURPOSE,
        file_part(CATALOG, "catalog.csv", "text/csv"),
    )
}

async fn send(request: RequestBuilder) -> Reply {
    Reply::read(request.send().await.expect("request sent")).await
}

async fn upload(server: &TestServer, form: Form) -> Reply {
    send(server.request(Method::POST, "/v1/files").multipart(form)).await
}

/// Uploads as the connected account `account` (`Stripe-Account`).
async fn upload_for(server: &TestServer, account: &str, form: Form) -> Reply {
    let request = server.request(Method::POST, "/v1/files");
    send(request.header("stripe-account", account).multipart(form)).await
}

async fn get_for(server: &TestServer, account: &str, path: &str) -> Reply {
    send(
        server
            .request(Method::GET, path)
            .header("stripe-account", account),
    )
    .await
}

/// Uploads `form` and returns the new file's id.
async fn uploaded_id(server: &TestServer, form: Form) -> String {
    let reply = upload(server, form).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["id"].as_str().expect("file id").to_owned()
}

fn string_field<'a>(reply: &'a Reply, field: &str) -> &'a str {
    reply.body[field].as_str().unwrap_or_default()
}

/// Asserts a 404 `resource_missing` naming the file.
fn assert_file_missing(reply: &Reply, id: &str) {
    let error = reply.error(404);
    assert_eq!(error["code"], "resource_missing", "{}", reply.body);
    assert_eq!(error["message"], format!("No such file: '{id}'"));
}

/// Every regular file under `dir`, at any depth.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let entries = std::fs::read_dir(dir).expect("readable directory");
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// Asserts that no upload left a row or a blob (finished or temporary).
async fn assert_nothing_stored(server: &TestServer) {
    let listed = server.get("/v1/files").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(
        listed.body["data"],
        serde_json::json!([]),
        "{}",
        listed.body
    );

    let blobs = server.data_dir().join("blobs");
    assert!(
        blobs.join("tmp").is_dir(),
        "the blob store keeps its tmp folder"
    );
    assert_eq!(
        files_under(&blobs),
        Vec::<PathBuf>::new(),
        "blobs left behind"
    );
}

#[tokio::test]
async fn a_csv_catalog_is_stored_and_served_back_byte_for_byte() {
    let server = TestServer::start().await;

    let created = upload(&server, catalog_form()).await;

    assert_eq!(created.status, 200, "{}", created.body);
    let id = string_field(&created, "id");
    assert!(id.starts_with("file_"), "{id}");
    assert_eq!(created.body["object"], "file");
    assert_eq!(created.body["purpose"], CATALOG_PURPOSE);
    assert_eq!(created.body["size"], CATALOG.len());
    assert_eq!(created.body["type"], "csv");
    assert_eq!(created.body["filename"], "catalog.csv");
    let url = string_field(&created, "url");
    assert!(url.ends_with(&format!("/v1/files/{id}/contents")), "{url}");
    assert!(created.body["created"]
        .as_i64()
        .is_some_and(|created| created > 0));

    let fetched = server.get(&format!("/v1/files/{id}")).await;
    assert_eq!(fetched.status, 200, "{}", fetched.body);
    assert_eq!(fetched.body, created.body);

    let contents = server.get(&format!("/v1/files/{id}/contents")).await;
    assert_eq!(contents.status, 200);
    assert_eq!(contents.header("content-type"), Some("text/csv"));
    assert_eq!(contents.bytes, CATALOG);
}

#[tokio::test]
async fn a_file_uploaded_for_a_connected_account_belongs_to_it_alone() {
    let server = TestServer::start().await;
    let shop = server.connected_account("Shop").await;
    let other_shop = server.connected_account("Other shop").await;

    let created = upload_for(&server, &shop, catalog_form()).await;

    assert_eq!(created.status, 200, "{}", created.body);
    let id = string_field(&created, "id").to_owned();
    let file_path = format!("/v1/files/{id}");
    let contents_path = format!("/v1/files/{id}/contents");

    let fetched = get_for(&server, &shop, &file_path).await;
    assert_eq!(fetched.body, created.body);
    let contents = get_for(&server, &shop, &contents_path).await;
    assert_eq!(contents.bytes, CATALOG);
    let listed = get_for(&server, &shop, "/v1/files").await;
    assert_eq!(listed.body["data"][0]["id"], id.as_str());

    assert_file_missing(&server.get(&file_path).await, &id);
    assert_file_missing(&server.get(&contents_path).await, &id);
    assert_eq!(
        server.get("/v1/files").await.body["data"],
        serde_json::json!([])
    );
    assert_file_missing(&get_for(&server, &other_shop, &file_path).await, &id);
    assert_file_missing(&get_for(&server, &other_shop, &contents_path).await, &id);
}

#[tokio::test]
async fn a_tsv_sent_as_octet_stream_is_typed_by_its_name_and_bytes() {
    let server = TestServer::start().await;
    let form = upload_form(
        CATALOG_PURPOSE,
        file_part(FEED, "feed.tsv", "application/octet-stream"),
    );

    let created = upload(&server, form).await;

    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["type"], "tsv");
    assert_eq!(created.body["filename"], "feed.tsv");
    assert_eq!(created.body["size"], FEED.len());
    let id = string_field(&created, "id");
    let contents = server.get(&format!("/v1/files/{id}/contents")).await;
    assert_eq!(
        contents.header("content-type"),
        Some("text/tab-separated-values")
    );
    assert_eq!(contents.bytes, FEED);
}

/// A CSV whose two-byte `é` straddles the 8 KiB that are sniffed.
fn csv_with_a_character_across_the_sniffed_head() -> Vec<u8> {
    let mut csv = b"id,title\n".to_vec();
    csv.resize(8 * 1024 - 1, b'a');
    csv.extend_from_slice("é,tail\n".as_bytes());
    csv
}

/// A PNG of exactly the 512 KiB that logos may have.
fn logo_at_the_limit() -> Vec<u8> {
    let mut png = PNG_HEADER.to_vec();
    png.resize(512 * 1024, 0);
    png
}

/// `(purpose, bytes, filename, declared content type, File type, served content type)`.
type AcceptedUpload = (
    &'static str,
    fn() -> Vec<u8>,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

#[rustfmt::skip]
const ACCEPTED_UPLOADS: &[AcceptedUpload] = &[
    (CATALOG_PURPOSE, || CATALOG.to_vec(), "catalog.csv", "text/csv; charset=utf-8", "csv", "text/csv"),
    (CATALOG_PURPOSE, || CATALOG.to_vec(), "catalog.csv", "application/vnd.ms-excel", "csv", "text/csv"),
    (CATALOG_PURPOSE, || CATALOG.to_vec(), "catalog.csv", "text/plain", "csv", "text/csv"),
    (CATALOG_PURPOSE, || [b"\xEF\xBB\xBF", CATALOG].concat(), "excel-export.csv", "text/csv", "csv", "text/csv"),
    (CATALOG_PURPOSE, csv_with_a_character_across_the_sniffed_head, "long.csv", "text/csv", "csv", "text/csv"),
    (CATALOG_PURPOSE, || FEED.to_vec(), "feed.tsv", "text/tab-separated-values", "tsv", "text/tab-separated-values"),
    ("dispute_evidence", || PDF.to_vec(), "evidence.pdf", "application/pdf", "pdf", "application/pdf"),
    ("dispute_evidence", || PNG_HEADER.to_vec(), "receipt.png", "image/png", "png", "image/png"),
    ("business_logo", logo_at_the_limit, "logo.png", "image/png", "png", "image/png"),
    ("business_icon", || PNG_HEADER.to_vec(), "icon.png", "application/octet-stream", "png", "image/png"),
];

#[tokio::test]
async fn accepted_uploads_are_typed_and_served_back_as_sent() {
    let server = TestServer::start().await;
    let mut failures = Vec::new();

    for (purpose, bytes, filename, declared, file_type, served_type) in ACCEPTED_UPLOADS {
        let bytes = bytes();
        let created = upload(
            &server,
            upload_form(purpose, file_part(&bytes, filename, declared)),
        )
        .await;
        if created.status != 200
            || created.body["type"] != *file_type
            || created.body["size"] != bytes.len()
        {
            failures.push(format!(
                "{purpose} {filename} as {declared}: got {} {}",
                created.status, created.body
            ));
            continue;
        }
        let id = string_field(&created, "id");
        let contents = server.get(&format!("/v1/files/{id}/contents")).await;
        let length = bytes.len().to_string();
        if contents.header("content-type") != Some(served_type)
            || contents.header("content-length") != Some(length.as_str())
            || contents.bytes != bytes
        {
            failures.push(format!(
                "{purpose} {filename}: served {:?} {:?}",
                contents.headers,
                contents.bytes.len()
            ));
        }
    }

    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[tokio::test]
async fn an_uploaded_file_keeps_only_the_last_segment_of_its_name() {
    let server = TestServer::start().await;
    let cases = [
        ("../../etc/catalog.csv", "catalog.csv"),
        ("C:\\exports\\feed.csv", "feed.csv"),
    ];

    for (sent, kept) in cases {
        let form = upload_form(CATALOG_PURPOSE, file_part(CATALOG, sent, "text/csv"));
        let created = upload(&server, form).await;
        assert_eq!(created.status, 200, "{sent}: {}", created.body);
        assert_eq!(created.body["filename"], kept, "{sent}");
    }
}

/// A body for `POST /v1/files`.
enum Upload {
    Multipart(Form),
    /// A body sent as is, with this content type.
    Raw(&'static str, Vec<u8>),
}

fn catalog_upload(bytes: &[u8], content_type: &str) -> Upload {
    Upload::Multipart(upload_form(
        CATALOG_PURPOSE,
        file_part(bytes, "catalog.csv", content_type),
    ))
}

/// A 600 KiB PNG: over the 512 KiB limit of logos.
fn oversized_logo() -> Upload {
    let mut png = PNG_HEADER.to_vec();
    png.resize(600 * 1024, 0);
    Upload::Multipart(upload_form(
        "business_logo",
        file_part(&png, "logo.png", "image/png"),
    ))
}

/// The same logo with `file` before `purpose`: the limit is only known at the end.
fn oversized_logo_before_its_purpose() -> Upload {
    let mut png = PNG_HEADER.to_vec();
    png.resize(600 * 1024, 0);
    let form = Form::new().part("file", file_part(&png, "logo.png", "image/png"));
    Upload::Multipart(form.text("purpose", "business_logo"))
}

/// A multipart body that stops inside the file part, without its closing boundary.
fn truncated_multipart() -> Upload {
    let body = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n{CATALOG_PURPOSE}\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"catalog.csv\"\r\n\
         Content-Type: text/csv\r\n\r\nid,title\nsku_1,Mug\n"
    );
    Upload::Raw("multipart/form-data; boundary=XyZ", body.into_bytes())
}

/// A multipart body whose only part has no name.
fn nameless_part() -> Upload {
    let body = "--XyZ\r\nContent-Disposition: form-data\r\n\r\nid,title\r\n--XyZ--\r\n";
    Upload::Raw(
        "multipart/form-data; boundary=XyZ",
        body.as_bytes().to_vec(),
    )
}

/// `(what, body, error.param, error.code, message fragment)`; every one is a 400.
type RefusedUpload = (
    &'static str,
    fn() -> Upload,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

#[rustfmt::skip]
const REFUSED_UPLOADS: &[RefusedUpload] = &[
    ("a ZIP declared as CSV", || catalog_upload(ZIP, "text/csv"), Some("file"), Some("file_type_mismatch"), "contents are application/zip (.zip), not the declared text/csv"),
    ("NUL bytes declared as CSV", || catalog_upload(b"id,title\nsku_1,\x00\x00\x01\n", "text/csv"), Some("file"), Some("file_type_mismatch"), "binary data (it contains NUL bytes)"),
    ("an empty file", || catalog_upload(b"", "text/csv"), Some("file"), Some("file_empty"), "The uploaded file is empty"),
    ("an unknown purpose", || Upload::Multipart(upload_form("catalog", file_part(CATALOG, "catalog.csv", "text/csv"))), Some("purpose"), Some("parameter_invalid"), "Invalid purpose: must be one of data_management_manual_upload, dispute_evidence"),
    ("no purpose", || Upload::Multipart(Form::new().part("file", file_part(CATALOG, "catalog.csv", "text/csv"))), Some("purpose"), Some("parameter_missing"), "Missing required param: purpose."),
    ("no file", || Upload::Multipart(Form::new().text("purpose", CATALOG_PURPOSE)), Some("file"), Some("parameter_missing"), "Missing required param: file."),
    ("a 600 KiB logo", oversized_logo, Some("file"), Some("file_too_large"), "files for purpose business_logo may be at most 524288 bytes"),
    ("a 600 KiB logo before its purpose", oversized_logo_before_its_purpose, Some("file"), Some("file_too_large"), "files for purpose business_logo may be at most 524288 bytes"),
    ("a PNG as a catalog", || catalog_upload(PNG_HEADER, "image/png"), Some("file"), Some("file_type_invalid"), "Files of type image/png are not accepted for purpose data_management_manual_upload; send one of: text/csv"),
    ("a truncated multipart body", truncated_multipart, None, None, "Invalid multipart body: field \"file\" received with incomplete data"),
    ("a form body", || Upload::Raw("application/x-www-form-urlencoded", b"purpose=data_management_manual_upload&file=id%2Ctitle".to_vec()), None, None, "must be sent as multipart/form-data with the fields `purpose` and `file`"),
    ("two files", || Upload::Multipart(catalog_form().part("file", file_part(CATALOG, "b.csv", "text/csv"))), Some("file"), Some("parameter_invalid"), "Only one file may be uploaded per request"),
    ("a purpose of 2,000 characters", || Upload::Multipart(upload_form(&"x".repeat(2000), file_part(CATALOG, "catalog.csv", "text/csv"))), Some("purpose"), Some("parameter_invalid"), "Invalid purpose: the value is too long"),
    ("a part without a name", nameless_part, None, None, "Invalid multipart body: a part has no name"),
    ("an unknown field after the file", || Upload::Multipart(catalog_form().text("colour", "blue")), Some("colour"), Some("parameter_unknown"), "Received unknown parameter: colour"),
];

#[tokio::test]
async fn refused_uploads_get_a_specific_400_and_leave_nothing_behind() {
    let server = TestServer::start().await;
    let mut failures = Vec::new();

    for (what, body, param, code, fragment) in REFUSED_UPLOADS {
        let request = server.request(Method::POST, "/v1/files");
        let request = match body() {
            Upload::Multipart(form) => request.multipart(form),
            Upload::Raw(content_type, bytes) => {
                request.header("content-type", content_type).body(bytes)
            }
        };
        let reply = match request.send().await {
            Ok(response) => Reply::read(response).await,
            Err(error) => {
                failures.push(format!("{what}: no answer: {error:?}"));
                continue;
            }
        };
        let error = &reply.body["error"];
        let request_id = reply.header("request-id").unwrap_or_default();
        let fits = reply.status == 400
            && request_id.starts_with("req_")
            && error["type"] == "invalid_request_error"
            && error["param"].as_str() == *param
            && error["code"].as_str() == *code
            && error["message"]
                .as_str()
                .is_some_and(|message| message.contains(fragment));
        if !fits {
            failures.push(format!(
                "{what}: expected 400 param {param:?} code {code:?} message with {fragment:?}; \
                 got {} {} (request-id {request_id:?})",
                reply.status, reply.body
            ));
        }
    }

    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert_nothing_stored(&server).await;
}

/// `chunks` MiB of catalog lines, generated as they are sent.
fn streamed_catalog(chunks: usize) -> Part {
    let line = b"sku_000001,Stoneware mug in speckled glaze,1200,usd\n";
    let chunk: Vec<u8> = line.iter().copied().cycle().take(MIB).collect();
    let body = stream::iter((0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    Part::stream_with_length(Body::wrap_stream(body), (chunks * MIB) as u64)
        .file_name("catalog.csv")
        .mime_str("text/csv")
        .expect("a valid content type")
}

#[tokio::test]
async fn a_catalog_over_200_mib_is_refused_without_storing_anything() {
    let server = TestServer::start().await;
    let form = upload_form(CATALOG_PURPOSE, streamed_catalog(201));

    let reply = upload(&server, form).await;

    let error = reply.error(400);
    assert_eq!(error["code"], "file_too_large", "{}", reply.body);
    assert_eq!(error["param"], "file");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("may be at most 209715200 bytes"),
        "{message}"
    );
    assert_nothing_stored(&server).await;
}

#[tokio::test]
async fn lists_filter_by_purpose_and_page_newest_first() {
    let server = TestServer::start().await;
    let oldest = uploaded_id(&server, catalog_form()).await;
    let evidence = uploaded_id(
        &server,
        upload_form(
            "dispute_evidence",
            file_part(PDF, "evidence.pdf", "application/pdf"),
        ),
    )
    .await;
    let newest = uploaded_id(&server, catalog_form()).await;

    let disputes = server.get("/v1/files?purpose=dispute_evidence").await;
    assert_eq!(disputes.status, 200, "{}", disputes.body);
    let ids = |reply: &Reply| -> Vec<String> {
        let data = reply.body["data"].as_array().cloned().unwrap_or_default();
        data.iter()
            .map(|file| file["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(ids(&disputes), [evidence.as_str()]);
    assert_eq!(disputes.body["data"][0]["type"], "pdf");

    let first = server.get("/v1/files?limit=2").await;
    assert_eq!(first.body["object"], "list");
    assert_eq!(first.body["url"], "/v1/files");
    assert_eq!(first.body["has_more"], true);
    assert_eq!(ids(&first), [newest.as_str(), evidence.as_str()]);

    let rest = server
        .get(&format!("/v1/files?limit=2&starting_after={evidence}"))
        .await;
    assert_eq!(rest.body["has_more"], false);
    assert_eq!(ids(&rest), [oldest]);

    let unknown = server.get("/v1/files?purpose=catalog").await;
    let error = unknown.error(400);
    assert_eq!(error["param"], "purpose");
    assert_eq!(error["code"], "parameter_invalid");
}

#[tokio::test]
async fn a_test_mode_file_does_not_exist_in_live_mode() {
    let server = TestServer::start().await;
    let id = uploaded_id(&server, catalog_form()).await;

    let live_get = |path: String| {
        let request = server.client.get(format!("{}{path}", server.base));
        send(request.bearer_auth(&server.live_key))
    };

    assert_file_missing(&live_get(format!("/v1/files/{id}")).await, &id);
    assert_file_missing(&live_get(format!("/v1/files/{id}/contents")).await, &id);
    let listed = live_get("/v1/files".to_owned()).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["data"], serde_json::json!([]));
}

#[tokio::test]
async fn the_server_goes_on_after_a_refused_upload() {
    let server = TestServer::start().await;
    let refused = upload(
        &server,
        upload_form(CATALOG_PURPOSE, file_part(ZIP, "a.csv", "text/csv")),
    )
    .await;
    assert_eq!(refused.error(400)["code"], "file_type_mismatch");

    let health = send(server.client.get(format!("{}/healthz", server.base))).await;
    let accepted = upload(&server, catalog_form()).await;

    assert_eq!(health.status, 200);
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(accepted.body["size"], CATALOG.len());
}
