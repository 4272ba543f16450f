//! The error report and the warnings report: CSV files holding a leading
//! message column (`stripe_error_message` or `warning_message`), then every
//! original column in the original order, and only the rows concerned.
//!
//! **Original cells are written back byte for byte**, quoted only where CSV
//! needs it, so a merchant can fix the rows and upload the report again once
//! the message column is removed ([`strip_message_column`] does that).
//! Messages about the file as a whole (unknown columns) go into the warnings
//! report as rows that hold only a message.

use std::io::{Read, Write};

use csv::ByteRecord;

use crate::header::FeedHeader;
use crate::messages::FileWarning;
use crate::row::FeedRow;

/// Which report a writer produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportKind {
    /// The rows that failed, with why.
    Errors,
    /// The rows that were imported after cleaning, with what changed.
    Warnings,
}

impl ReportKind {
    /// The name of the leading column.
    pub fn message_column(self) -> &'static str {
        match self {
            ReportKind::Errors => "stripe_error_message",
            ReportKind::Warnings => "warning_message",
        }
    }
}

/// Writing or reading a report failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the report could not be written")]
    Write(#[source] csv::Error),

    #[error("the report could not be read")]
    Read(#[source] csv::Error),

    #[error("the file is not a report: its first column is neither stripe_error_message nor warning_message")]
    NotAReport,
}

/// Writes one report.
pub struct ReportWriter<W: Write> {
    csv_writer: csv::Writer<W>,
    rows_written: u64,
}

impl<W: Write> ReportWriter<W> {
    /// Starts a report with the message column and the original header.
    pub fn new(
        out: W,
        kind: ReportKind,
        header: &ByteRecord,
    ) -> Result<ReportWriter<W>, ReportError> {
        let csv_writer = csv::WriterBuilder::new().flexible(true).from_writer(out);
        let mut writer = ReportWriter {
            csv_writer,
            rows_written: 0,
        };
        writer.write_record(kind.message_column(), header)?;
        Ok(writer)
    }

    /// Adds a row: the message, then the row's original cells.
    pub fn write_row(&mut self, message: &str, record: &ByteRecord) -> Result<(), ReportError> {
        self.write_record(message, record)?;
        self.rows_written += 1;
        Ok(())
    }

    /// Adds a row holding only a message about the whole file.
    pub fn write_file_message(&mut self, message: &str) -> Result<(), ReportError> {
        self.csv_writer
            .write_record([message])
            .map_err(ReportError::Write)
    }

    /// How many feed rows the report holds (file messages not counted).
    pub fn rows_written(&self) -> u64 {
        self.rows_written
    }

    /// Flushes the report and gives back the output.
    pub fn finish(self) -> Result<W, ReportError> {
        self.csv_writer
            .into_inner()
            .map_err(|error| ReportError::Write(csv::Error::from(error.into_error())))
    }

    fn write_record(&mut self, first: &str, record: &ByteRecord) -> Result<(), ReportError> {
        let fields = std::iter::once(first.as_bytes()).chain(record.iter());
        self.csv_writer
            .write_record(fields)
            .map_err(ReportError::Write)
    }
}

/// Both reports of one import, fed row by row.
pub struct FeedReports<E: Write, W: Write> {
    errors: ReportWriter<E>,
    warnings: ReportWriter<W>,
    has_file_messages: bool,
}

/// A finished report and what it holds.
pub struct FinishedReport<W> {
    pub out: W,
    /// Feed rows in the report: the `row_count` of the ImportSet's result.
    pub row_count: u64,
    /// Whether the report holds anything beyond its header; when not, the
    /// result's `file` is null.
    pub has_content: bool,
}

impl<E: Write, W: Write> FeedReports<E, W> {
    /// Starts both reports; the file's warnings open the warnings report.
    pub fn new(
        error_out: E,
        warning_out: W,
        header: &FeedHeader,
        file_warnings: &[FileWarning],
    ) -> Result<FeedReports<E, W>, ReportError> {
        let errors = ReportWriter::new(error_out, ReportKind::Errors, header.record())?;
        let mut warnings = ReportWriter::new(warning_out, ReportKind::Warnings, header.record())?;
        for file_warning in file_warnings {
            warnings.write_file_message(&file_warning.to_string())?;
        }
        Ok(FeedReports {
            errors,
            warnings,
            has_file_messages: !file_warnings.is_empty(),
        })
    }

    /// Writes the row into the report it belongs to, if any.
    pub fn record(&mut self, row: &FeedRow) -> Result<(), ReportError> {
        if let Some(message) = row.outcome.error_message() {
            return self.errors.write_row(&message, &row.record);
        }
        if let Some(message) = row.outcome.warning_message() {
            return self.warnings.write_row(&message, &row.record);
        }
        Ok(())
    }

    /// Flushes both reports: the error report first.
    pub fn finish(self) -> Result<(FinishedReport<E>, FinishedReport<W>), ReportError> {
        let error_row_count = self.errors.rows_written();
        let warning_row_count = self.warnings.rows_written();
        let errors = FinishedReport {
            out: self.errors.finish()?,
            row_count: error_row_count,
            has_content: error_row_count > 0,
        };
        let warnings = FinishedReport {
            out: self.warnings.finish()?,
            row_count: warning_row_count,
            has_content: warning_row_count > 0 || self.has_file_messages,
        };
        Ok((errors, warnings))
    }
}

/// Copies a report without its message column and without its file-message
/// rows: what a merchant uploads again after fixing the rows. Returns how
/// many data rows were written.
pub fn strip_message_column<R: Read, W: Write>(report: R, out: W) -> Result<u64, ReportError> {
    let mut csv_reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(report);
    let mut csv_writer = csv::WriterBuilder::new().flexible(true).from_writer(out);

    let mut record = ByteRecord::new();
    let mut rows_written = 0;
    let mut is_header = true;
    while csv_reader
        .read_byte_record(&mut record)
        .map_err(ReportError::Read)?
    {
        if is_header && !is_message_column(record.get(0)) {
            return Err(ReportError::NotAReport);
        }
        if record.len() > 1 {
            let original_cells = record.iter().skip(1);
            csv_writer
                .write_record(original_cells)
                .map_err(ReportError::Write)?;
            rows_written += u64::from(!is_header);
        }
        is_header = false;
    }
    csv_writer
        .flush()
        .map_err(|error| ReportError::Write(csv::Error::from(error)))?;
    Ok(rows_written)
}

fn is_message_column(name: Option<&[u8]>) -> bool {
    [ReportKind::Errors, ReportKind::Warnings]
        .iter()
        .any(|kind| name == Some(kind.message_column().as_bytes()))
}

#[cfg(test)]
mod tests;
