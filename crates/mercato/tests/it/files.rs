//! File uploads and downloads: streaming, limits, type checks, tenancy.
