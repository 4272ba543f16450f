//! Reading a feed from any byte stream, one row at a time, never the whole
//! file in memory.
//!
//! [`FeedReader::open`] looks at the start of the stream: it skips a UTF-8
//! byte order mark, refuses bytes that are not text, detects the delimiter
//! (comma or tab) from the header line, maps the header, and makes sure at
//! least one data row follows. Each row is then read as raw bytes (RFC 4180
//! quoting, CRLF or LF) so that a row that is not UTF-8 or has the wrong
//! number of cells fails alone, validated, and handed out with its original
//! record and line for the reports. The first row with an id wins; a later
//! row with the same id fails.
//!
//! Records end at `\n`; the `\r` of a CRLF is removed from the last cell
//! here. Ending records on `\n` alone (and giving the last line a `\n` when
//! the file lacks one) is what makes line numbers exact: a record's first
//! line is the reader's line count after it, less the line ends it holds.

use std::collections::HashMap;
use std::io::{self, Chain, Cursor, Read};
use std::time::Instant;

use csv::ByteRecord;

use crate::columns::{Column, FeedFormat};
use crate::header::{Cells, FeedHeader};
use crate::inventory::validate_inventory_row;
use crate::messages::{FileError, FileWarning, NotTextProblem, Quoted, RowError};
use crate::pipeline::{Progress, Stage};
use crate::product_rules::validate_product_row;
use crate::row::{FeedRow, RowOutcome};

const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// How many leading bytes are searched for NUL bytes, as the upload check does.
const NUL_SEARCH_BYTES: usize = 8 * 1024;

/// The longest header line accepted.
const HEADER_LINE_MAX_BYTES: usize = 1024 * 1024;

/// How much is read at a time while looking for the header line.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// The CSV reader's buffer.
const CSV_BUFFER_BYTES: usize = 256 * 1024;

/// The cell separator, detected from the header line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delimiter {
    Comma,
    Tab,
}

impl Delimiter {
    fn byte(self) -> u8 {
        match self {
            Delimiter::Comma => b',',
            Delimiter::Tab => b'\t',
        }
    }
}

type FeedBytes<R> = WithFinalLineEnd<Chain<Cursor<Vec<u8>>, R>>;

/// A feed being read: yields one [`FeedRow`] per data row, or a
/// [`FileError`] if reading the stream fails midway (after which it ends).
pub struct FeedReader<R: Read> {
    format: FeedFormat,
    delimiter: Delimiter,
    csv_reader: csv::Reader<FeedBytes<R>>,
    header: FeedHeader,
    file_warnings: Vec<FileWarning>,
    first_row: Option<RawRecord>,
    scratch_cell: Vec<u8>,
    first_line_by_id: HashMap<Box<str>, u64>,
    byte_order_mark_length: u64,
    progress: Progress,
    is_finished: bool,
}

impl<R: Read> FeedReader<R> {
    /// Opens a feed: fails when the file as a whole cannot be imported
    /// (empty, header only, not text, a required column missing, a column
    /// named twice).
    pub fn open(read: R, format: FeedFormat) -> Result<FeedReader<R>, FileError> {
        let started = Instant::now();
        let (mut leading_bytes, rest) = read_leading_bytes(read)?;

        let byte_order_mark_length = strip_byte_order_mark(&mut leading_bytes);
        let header_line = first_non_blank_line(&leading_bytes).ok_or(FileError::Empty)?;
        check_looks_like_text(&leading_bytes, header_line)?;
        let delimiter = detect_delimiter(header_line);

        let feed_bytes = WithFinalLineEnd::new(Cursor::new(leading_bytes).chain(rest));
        let mut csv_reader = raw_record_reader(feed_bytes, delimiter);
        let mut scratch_cell = Vec::new();
        let header_record =
            read_record(&mut csv_reader, &mut scratch_cell)?.ok_or(FileError::Empty)?;
        let (header, file_warnings) = FeedHeader::read(header_record.record, format)?;
        let first_row =
            read_record(&mut csv_reader, &mut scratch_cell)?.ok_or(FileError::HeaderOnly)?;

        let mut reader = FeedReader {
            format,
            delimiter,
            csv_reader,
            header,
            file_warnings,
            first_row: Some(first_row),
            scratch_cell,
            first_line_by_id: HashMap::new(),
            byte_order_mark_length,
            progress: Progress::default(),
            is_finished: false,
        };
        reader
            .progress
            .stage_times
            .add(Stage::Parse, started.elapsed());
        reader.update_bytes_read();
        Ok(reader)
    }

    pub fn format(&self) -> FeedFormat {
        self.format
    }

    pub fn delimiter(&self) -> Delimiter {
        self.delimiter
    }

    /// The header, with its original record for the reports.
    pub fn header(&self) -> &FeedHeader {
        &self.header
    }

    /// Problems of the file as a whole that did not stop it (unknown columns).
    pub fn file_warnings(&self) -> &[FileWarning] {
        &self.file_warnings
    }

    /// Counts and stage times so far.
    pub fn progress(&self) -> Progress {
        self.progress
    }

    fn next_record(&mut self) -> Result<Option<RawRecord>, FileError> {
        if let Some(raw_record) = self.first_row.take() {
            return Ok(Some(raw_record));
        }
        let started = Instant::now();
        let record = read_record(&mut self.csv_reader, &mut self.scratch_cell);
        self.progress
            .stage_times
            .add(Stage::Parse, started.elapsed());
        self.update_bytes_read();
        record
    }

    fn update_bytes_read(&mut self) {
        let added_line_end = u64::from(self.csv_reader.get_ref().has_added_line_end);
        let parsed_bytes = self.csv_reader.position().byte() - added_line_end;
        self.progress.bytes_read = self.byte_order_mark_length + parsed_bytes;
    }

    fn validate(&mut self, raw_record: RawRecord) -> FeedRow {
        let started = Instant::now();
        let RawRecord {
            record,
            line,
            is_cut_short,
        } = raw_record;
        let outcome = if is_cut_short {
            let errors = vec![RowError::UnclosedQuote];
            RowOutcome::Invalid { errors }
        } else {
            self.outcome(&record, line)
        };
        self.count_outcome(&outcome);
        self.progress
            .stage_times
            .add(Stage::Validate, started.elapsed());
        FeedRow {
            line,
            record,
            outcome,
        }
    }

    fn outcome(&mut self, record: &ByteRecord, line: u64) -> RowOutcome {
        if record.len() != self.header.len() {
            let errors = vec![RowError::CellCount {
                found: record.len(),
                expected: self.header.len(),
            }];
            return RowOutcome::Invalid { errors };
        }
        let cells = match Cells::decode(record, &self.header) {
            Ok(cells) => cells,
            Err(errors) => return RowOutcome::Invalid { errors },
        };

        let id = cells.get(Column::Id).trim();
        let duplicate = self
            .first_line_of_id(id, line)
            .map(|first_line| RowError::DuplicateId {
                value: Quoted::new(id),
                first_line,
            });

        let outcome = match self.format {
            FeedFormat::ProductCatalog => validate_product_row(cells),
            FeedFormat::Inventory => validate_inventory_row(cells),
        };
        match duplicate {
            Some(error) => with_error(outcome, error),
            None => outcome,
        }
    }

    /// The line of an earlier row with this id, or `None` after noting that
    /// this row is the first.
    fn first_line_of_id(&mut self, id: &str, line: u64) -> Option<u64> {
        if id.is_empty() {
            return None;
        }
        if let Some(first_line) = self.first_line_by_id.get(id) {
            return Some(*first_line);
        }
        self.first_line_by_id.insert(id.into(), line);
        None
    }

    fn count_outcome(&mut self, outcome: &RowOutcome) {
        self.progress.rows_processed += 1;
        match outcome {
            RowOutcome::Valid { warnings, .. } => {
                self.progress.rows_valid += 1;
                if !warnings.is_empty() {
                    self.progress.rows_with_warnings += 1;
                }
            }
            RowOutcome::Invalid { .. } => self.progress.rows_invalid += 1,
        }
    }
}

impl<R: Read> Iterator for FeedReader<R> {
    type Item = Result<FeedRow, FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.is_finished {
            return None;
        }
        match self.next_record() {
            Ok(Some(raw_record)) => Some(Ok(self.validate(raw_record))),
            Ok(None) => {
                self.is_finished = true;
                None
            }
            Err(error) => {
                self.is_finished = true;
                Some(Err(error))
            }
        }
    }
}

fn with_error(outcome: RowOutcome, error: RowError) -> RowOutcome {
    match outcome {
        RowOutcome::Valid { .. } => RowOutcome::Invalid {
            errors: vec![error],
        },
        RowOutcome::Invalid { mut errors } => {
            errors.push(error);
            RowOutcome::Invalid { errors }
        }
    }
}

/// A CSV reader of raw, possibly ragged records that end at `\n`.
fn raw_record_reader<R: Read>(read: R, delimiter: Delimiter) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter.byte())
        .terminator(csv::Terminator::Any(b'\n'))
        .buffer_capacity(CSV_BUFFER_BYTES)
        .from_reader(read)
}

/// A record as read, before validation.
struct RawRecord {
    record: ByteRecord,
    /// The line the record starts on.
    line: u64,
    /// Whether the file ended inside a quoted cell of this record.
    is_cut_short: bool,
}

/// Reads the next record that is not a blank line.
fn read_record<R: Read>(
    csv_reader: &mut csv::Reader<R>,
    scratch_cell: &mut Vec<u8>,
) -> Result<Option<RawRecord>, FileError> {
    let first_line_after_previous_record = csv_reader.position().line();
    let mut record = ByteRecord::new();
    loop {
        match csv_reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(error) => return Err(file_error_from_csv(error)),
        }
        remove_carriage_return(&mut record, scratch_cell);
        if is_blank_line(&record) {
            continue;
        }
        let line = first_line_of_record(csv_reader.position().line(), &record);
        let is_cut_short = line < first_line_after_previous_record;
        return Ok(Some(RawRecord {
            record,
            line: line.max(first_line_after_previous_record),
            is_cut_short,
        }));
    }
}

/// The line a record starts on, from the reader's line count after it: less
/// the line ends inside its cells and the one that ends it. A record cut
/// short by the end of the file, inside quotes, has no line end of its own,
/// so the result then comes out before the end of the previous record: that
/// is how such a record is recognized.
fn first_line_of_record(line_count_after: u64, record: &ByteRecord) -> u64 {
    let cells = record.as_slice();
    let line_ends_inside = if cells.contains(&b'\n') {
        cells.iter().filter(|byte| **byte == b'\n').count()
    } else {
        0
    };
    line_count_after.saturating_sub(line_ends_inside as u64 + 1)
}

/// Removes the `\r` of a CRLF line end from the record's last cell.
fn remove_carriage_return(record: &mut ByteRecord, scratch_cell: &mut Vec<u8>) {
    let last_position = record.len() - 1;
    let Some(last_cell) = record.get(last_position) else {
        return;
    };
    let Some(without_carriage_return) = last_cell.strip_suffix(b"\r") else {
        return;
    };
    scratch_cell.clear();
    scratch_cell.extend_from_slice(without_carriage_return);
    record.truncate(last_position);
    record.push_field(scratch_cell);
}

/// A line of nothing but whitespace, which the CSV reader returns as a record
/// of one cell.
fn is_blank_line(record: &ByteRecord) -> bool {
    record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace)
}

/// Reading raw, flexible records, the CSV reader only fails when reading
/// the stream fails.
fn file_error_from_csv(error: csv::Error) -> FileError {
    if !error.is_io_error() {
        return FileError::Parse(error);
    }
    match error.into_kind() {
        csv::ErrorKind::Io(io_error) => FileError::Read(io_error),
        _ => FileError::Read(io::Error::other("the csv reader failed")),
    }
}

/// Reads from the start of the stream until the first non-blank line is
/// complete (or the stream ends, or the line is too long). Returns those
/// bytes and the rest of the stream, to be read after them.
fn read_leading_bytes<R: Read>(mut read: R) -> Result<(Vec<u8>, R), FileError> {
    let mut leading_bytes = Vec::with_capacity(READ_CHUNK_BYTES);
    let mut chunk = vec![0; READ_CHUNK_BYTES];
    loop {
        let count = match read.read(&mut chunk) {
            Ok(0) => return Ok((leading_bytes, read)),
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(FileError::Read(error)),
        };
        leading_bytes.extend_from_slice(&chunk[..count]);
        if has_complete_non_blank_line(&leading_bytes) {
            return Ok((leading_bytes, read));
        }
        if leading_bytes.len() > HEADER_LINE_MAX_BYTES {
            check_no_nul_bytes(&leading_bytes)?;
            return Err(FileError::HeaderTooLong {
                limit_bytes: HEADER_LINE_MAX_BYTES,
            });
        }
    }
}

fn has_complete_non_blank_line(bytes: &[u8]) -> bool {
    let Some(content_start) = bytes.iter().position(|byte| !byte.is_ascii_whitespace()) else {
        return false;
    };
    bytes[content_start..].contains(&b'\n')
}

/// Removes a leading UTF-8 byte order mark; returns how long it was.
fn strip_byte_order_mark(bytes: &mut Vec<u8>) -> u64 {
    if !bytes.starts_with(BYTE_ORDER_MARK) {
        return 0;
    }
    bytes.drain(..BYTE_ORDER_MARK.len());
    BYTE_ORDER_MARK.len() as u64
}

/// The first line with something other than whitespace, without its line end.
fn first_non_blank_line(bytes: &[u8]) -> Option<&[u8]> {
    let content_start = bytes.iter().position(|byte| !byte.is_ascii_whitespace())?;
    let line_start = bytes[..content_start]
        .iter()
        .rposition(|byte| *byte == b'\n')
        .map_or(0, |position| position + 1);
    let line_end = bytes[content_start..]
        .iter()
        .position(|byte| *byte == b'\n')
        .map_or(bytes.len(), |position| content_start + position);
    let line = &bytes[line_start..line_end];
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

fn check_looks_like_text(leading_bytes: &[u8], header_line: &[u8]) -> Result<(), FileError> {
    check_no_nul_bytes(leading_bytes)?;
    let header_text = std::str::from_utf8(header_line).map_err(|_| FileError::NotText {
        problem: NotTextProblem::HeaderNotUtf8,
    })?;
    if header_text
        .chars()
        .any(|character| character.is_control() && character != '\t' && character != '\r')
    {
        return Err(FileError::NotText {
            problem: NotTextProblem::HeaderControlCharacter,
        });
    }
    Ok(())
}

fn check_no_nul_bytes(leading_bytes: &[u8]) -> Result<(), FileError> {
    let searched = &leading_bytes[..leading_bytes.len().min(NUL_SEARCH_BYTES)];
    if searched.contains(&0) {
        return Err(FileError::NotText {
            problem: NotTextProblem::NulBytes,
        });
    }
    Ok(())
}

/// A stream that ends with a line end: gives one `\n` at the end when the
/// inner stream's last byte is something else, so that every record ends
/// on a line end.
struct WithFinalLineEnd<R> {
    inner: R,
    last_byte: u8,
    is_done: bool,
    has_added_line_end: bool,
}

impl<R> WithFinalLineEnd<R> {
    fn new(inner: R) -> WithFinalLineEnd<R> {
        WithFinalLineEnd {
            inner,
            last_byte: b'\n',
            is_done: false,
            has_added_line_end: false,
        }
    }
}

impl<R: Read> Read for WithFinalLineEnd<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.is_done || buffer.is_empty() {
            return Ok(0);
        }
        let count = self.inner.read(buffer)?;
        if count > 0 {
            self.last_byte = buffer[count - 1];
            return Ok(count);
        }
        self.is_done = true;
        if self.last_byte == b'\n' {
            return Ok(0);
        }
        buffer[0] = b'\n';
        self.has_added_line_end = true;
        Ok(1)
    }
}

/// Tab when the header line has more tabs than commas outside quotes.
fn detect_delimiter(header_line: &[u8]) -> Delimiter {
    let mut is_quoted = false;
    let (mut commas, mut tabs) = (0_usize, 0_usize);
    for byte in header_line {
        match byte {
            b'"' => is_quoted = !is_quoted,
            b',' if !is_quoted => commas += 1,
            b'\t' if !is_quoted => tabs += 1,
            _ => {}
        }
    }
    if tabs > commas {
        Delimiter::Tab
    } else {
        Delimiter::Comma
    }
}

#[cfg(test)]
mod tests;
