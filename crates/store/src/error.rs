//! The errors the store reports to its callers.

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no backend Mercato supports.
    #[error("unsupported database url {url:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl { url: String },

    /// The database refused or failed a query.
    #[error("database error")]
    Database(#[from] sqlx::Error),

    /// Applying the schema migrations failed.
    #[error("database migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),

    /// Reading or writing the blob store failed.
    #[error("blob store i/o failed")]
    Io(#[from] std::io::Error),

    /// A JSON column held text that does not parse.
    #[error("stored json is corrupt")]
    Json(#[from] serde_json::Error),

    /// A list cursor (`starting_after`, `ending_before`) names no object in
    /// the listed scope.
    #[error("no such object for the cursor: {id}")]
    CursorNotFound { id: String },

    /// An insert collided with a unique constraint.
    #[error("a {what} with this identity already exists")]
    AlreadyExists { what: &'static str },
}

impl StoreError {
    /// True when the database rejected a row for breaking a unique constraint.
    pub fn is_unique_violation(error: &sqlx::Error) -> bool {
        match error {
            sqlx::Error::Database(db_error) => db_error.is_unique_violation(),
            _ => false,
        }
    }
}
