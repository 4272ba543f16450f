//! What an uploaded file is: the type it declares (its part's
//! `Content-Type`, else its file name's extension), checked against its first
//! bytes. A text type must be UTF-8 text without NUL bytes and must not carry
//! a binary format's signature; a binary type must carry its own signature.

use crate::error::ApiError;

/// How many leading bytes are examined.
pub const HEAD_LEN: usize = 8 * 1024;

/// The file types Mercato stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Csv,
    Tsv,
    Pdf,
    Png,
    Jpeg,
    Gif,
}

impl FileKind {
    pub fn mime(self) -> &'static str {
        match self {
            FileKind::Csv => "text/csv",
            FileKind::Tsv => "text/tab-separated-values",
            FileKind::Pdf => "application/pdf",
            FileKind::Png => "image/png",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Gif => "image/gif",
        }
    }

    /// The File object's `type`.
    pub fn short_name(self) -> &'static str {
        match self {
            FileKind::Csv => "csv",
            FileKind::Tsv => "tsv",
            FileKind::Pdf => "pdf",
            FileKind::Png => "png",
            FileKind::Jpeg => "jpg",
            FileKind::Gif => "gif",
        }
    }

    fn is_text(self) -> bool {
        matches!(self, FileKind::Csv | FileKind::Tsv)
    }

    fn from_mime(mime: &str) -> Option<Self> {
        match mime {
            "text/csv"
            | "application/csv"
            | "text/comma-separated-values"
            | "application/vnd.ms-excel" => Some(FileKind::Csv),
            "text/tab-separated-values" | "text/tsv" => Some(FileKind::Tsv),
            "application/pdf" => Some(FileKind::Pdf),
            "image/png" => Some(FileKind::Png),
            "image/jpeg" | "image/jpg" => Some(FileKind::Jpeg),
            "image/gif" => Some(FileKind::Gif),
            _ => None,
        }
    }

    fn from_extension(filename: &str) -> Option<Self> {
        let (_, extension) = filename.rsplit_once('.')?;
        match extension.to_ascii_lowercase().as_str() {
            "csv" => Some(FileKind::Csv),
            "tsv" | "tab" => Some(FileKind::Tsv),
            "pdf" => Some(FileKind::Pdf),
            "png" => Some(FileKind::Png),
            "jpg" | "jpeg" => Some(FileKind::Jpeg),
            "gif" => Some(FileKind::Gif),
            _ => None,
        }
    }
}

/// Decides the file's kind. `complete` says that `head` holds the whole file,
/// so a multi-byte character cut at its end is an error rather than a cut.
pub fn identify(
    declared: Option<&str>,
    filename: Option<&str>,
    head: &[u8],
    complete: bool,
) -> Result<FileKind, ApiError> {
    let head = &head[..head.len().min(HEAD_LEN)];
    let kind = match declared_kind(declared, filename)? {
        Some(kind) => kind,
        None => detect(head, complete)?,
    };
    verify(kind, head, complete)?;
    Ok(kind)
}

/// The kind the upload claims: a specific MIME type wins over the extension;
/// `application/octet-stream` and `text/plain` defer to the extension.
fn declared_kind(
    declared: Option<&str>,
    filename: Option<&str>,
) -> Result<Option<FileKind>, ApiError> {
    let mime = declared
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|mime| !mime.is_empty());
    let by_extension = filename.and_then(FileKind::from_extension);
    match mime.as_deref() {
        None | Some("application/octet-stream") => Ok(by_extension),
        Some("text/plain") => Ok(by_extension.filter(|kind| kind.is_text())),
        Some(mime) => FileKind::from_mime(mime).map(Some).ok_or_else(|| {
            ApiError::invalid_param(
                "file",
                format!(
                    "Unsupported file type {mime}: send CSV (text/csv) or TSV \
                     (text/tab-separated-values) catalogs, PDF, PNG, JPEG or GIF documents."
                ),
            )
            .with_code("file_type_invalid")
        }),
    }
}

/// The kind read from the bytes alone.
fn detect(head: &[u8], complete: bool) -> Result<FileKind, ApiError> {
    if let Some(found) = infer::get(head) {
        if let Some(kind) = FileKind::from_mime(found.mime_type()) {
            return Ok(kind);
        }
    }
    if text_problem(head, complete).is_none() {
        let first_line = head.split(|byte| *byte == b'\n').next().unwrap_or_default();
        let tabs = first_line.iter().filter(|byte| **byte == b'\t').count();
        let commas = first_line.iter().filter(|byte| **byte == b',').count();
        return Ok(if tabs > commas {
            FileKind::Tsv
        } else {
            FileKind::Csv
        });
    }
    Err(ApiError::invalid_param(
        "file",
        "Could not tell the file's type: name it with its extension (.csv, .tsv, .pdf, .png, .jpg) \
         or send its Content-Type.",
    )
    .with_code("file_type_invalid"))
}

/// Refuses bytes that are not what `kind` says.
fn verify(kind: FileKind, head: &[u8], complete: bool) -> Result<(), ApiError> {
    let signature = infer::get(head).filter(|found| !found.mime_type().starts_with("text/"));
    let mismatch = |what: String| {
        ApiError::invalid_param(
            "file",
            format!(
                "The file's contents are {what}, not the declared {}.",
                kind.mime()
            ),
        )
        .with_code("file_type_mismatch")
    };
    if kind.is_text() {
        if let Some(found) = signature {
            return Err(mismatch(format!(
                "{} (.{})",
                found.mime_type(),
                found.extension()
            )));
        }
        if let Some(problem) = text_problem(head, complete) {
            return Err(mismatch(problem.to_owned()));
        }
        return Ok(());
    }
    match signature {
        Some(found) if FileKind::from_mime(found.mime_type()) == Some(kind) => Ok(()),
        Some(found) => Err(mismatch(format!(
            "{} (.{})",
            found.mime_type(),
            found.extension()
        ))),
        None if head.is_empty() => Ok(()),
        None => Err(mismatch("not recognizably that type".to_owned())),
    }
}

/// Why `head` is not text, if it is not.
fn text_problem(head: &[u8], complete: bool) -> Option<&'static str> {
    if head.contains(&0) {
        return Some("binary data (it contains NUL bytes)");
    }
    match std::str::from_utf8(head) {
        Ok(_) => None,
        Err(error) if error.error_len().is_none() && !complete => None,
        Err(_) => Some("not UTF-8 text"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZIP: &[u8] = b"PK\x03\x04\x14\x00\x00\x00\x08\x00rest-of-archive";
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR";
    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";

    #[test]
    fn kinds_follow_declaration_and_bytes() {
        type Case<'a> = (
            Option<&'a str>,
            Option<&'a str>,
            &'a [u8],
            Result<FileKind, &'a str>,
        );
        let cases: [Case; 14] = [
            (
                Some("text/csv"),
                Some("a.csv"),
                b"id,title\n1,Mug\n",
                Ok(FileKind::Csv),
            ),
            (
                Some("text/tab-separated-values"),
                None,
                b"id\ttitle\n",
                Ok(FileKind::Tsv),
            ),
            (
                Some("application/octet-stream"),
                Some("feed.tsv"),
                b"id\ttitle\n",
                Ok(FileKind::Tsv),
            ),
            (None, Some("feed.CSV"), b"id,title\n", Ok(FileKind::Csv)),
            (None, None, b"id\ttitle\tprice\n", Ok(FileKind::Tsv)),
            (None, None, b"id,title\n", Ok(FileKind::Csv)),
            (
                Some("text/plain"),
                Some("feed.csv"),
                b"id,title\n",
                Ok(FileKind::Csv),
            ),
            (Some("image/png"), Some("logo.png"), PNG, Ok(FileKind::Png)),
            (None, Some("evidence.pdf"), PDF, Ok(FileKind::Pdf)),
            (Some("text/csv"), Some("a.csv"), ZIP, Err("application/zip")),
            (
                Some("text/csv"),
                Some("a.csv"),
                b"id,\x00\x01\x02",
                Err("NUL bytes"),
            ),
            (
                Some("text/csv"),
                Some("a.csv"),
                b"id,\xff\xfe title",
                Err("not UTF-8"),
            ),
            (
                Some("image/png"),
                Some("logo.png"),
                b"id,title\n",
                Err("not recognizably"),
            ),
            (
                Some("application/zip"),
                Some("a.zip"),
                ZIP,
                Err("Unsupported file type"),
            ),
        ];
        for (declared, filename, head, expected) in cases {
            let outcome = identify(declared, filename, head, true);
            match (outcome, expected) {
                (Ok(kind), Ok(want)) => assert_eq!(kind, want, "{declared:?} {filename:?}"),
                (Err(error), Err(fragment)) => {
                    assert!(error.message.contains(fragment), "{}", error.message)
                }
                (outcome, expected) => {
                    panic!("{declared:?} {filename:?}: {outcome:?}, expected {expected:?}")
                }
            }
        }
    }

    #[test]
    fn a_character_cut_at_the_sniff_boundary_is_not_an_error_until_the_end() {
        let cut = "id,café".as_bytes();
        let cut = &cut[..cut.len() - 1];

        assert!(identify(Some("text/csv"), None, cut, false).is_ok());
        assert!(identify(Some("text/csv"), None, cut, true).is_err());
    }
}
