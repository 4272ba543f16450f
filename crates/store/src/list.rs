//! Cursor pagination shared by every list endpoint.
//!
//! Lists are newest first, ordered by the table's `seq` column. A cursor is an
//! object id; it is resolved to its `seq` inside the same scope (account,
//! mode, filters), so a cursor naming another tenant's object is simply not
//! found. One row more than asked is fetched to learn `has_more`.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, FromRow};

use crate::StoreError;

/// A value bound to a placeholder.
#[derive(Clone, Debug)]
pub enum Bind {
    Text(String),
    Int(i64),
}

/// How a filter compares its column with its value.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Op {
    fn sql(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Gt => ">",
            Op::Gte => ">=",
            Op::Lt => "<",
            Op::Lte => "<=",
        }
    }
}

/// Where a page starts.
#[derive(Clone, Debug, Default)]
pub enum Cursor {
    /// The newest objects.
    #[default]
    Newest,
    /// Objects older than this id.
    StartingAfter(String),
    /// Objects newer than this id.
    EndingBefore(String),
}

/// One page's request: its size (1-100) and where it starts.
#[derive(Clone, Debug)]
pub struct PageRequest {
    pub limit: u32,
    pub cursor: Cursor,
}

/// A page of objects, newest first.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    /// The same page with every item converted.
    pub fn map<U>(self, convert: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(convert).collect(),
            has_more: self.has_more,
        }
    }
}

/// A list query over one table: its columns and its filters.
#[derive(Clone, Debug)]
pub struct ListQuery {
    table: &'static str,
    columns: &'static str,
    id_column: &'static str,
    filters: Vec<Filter>,
}

/// One condition of a list query.
#[derive(Clone, Debug)]
enum Filter {
    Compare(&'static str, Op, Bind),
    OneOf(&'static str, Vec<Bind>),
}

impl ListQuery {
    pub fn new(table: &'static str, columns: &'static str) -> Self {
        Self {
            table,
            columns,
            id_column: "id",
            filters: Vec::new(),
        }
    }

    /// Names the column that cursors refer to, when it is not `id`.
    pub fn with_id_column(mut self, id_column: &'static str) -> Self {
        self.id_column = id_column;
        self
    }

    /// Keeps rows whose `column` compares with `value` by `op`.
    pub fn filter(mut self, column: &'static str, op: Op, value: Bind) -> Self {
        self.filters.push(Filter::Compare(column, op, value));
        self
    }

    /// Keeps rows whose `column` is one of `values`; no values keeps all.
    pub fn one_of(mut self, column: &'static str, values: Vec<Bind>) -> Self {
        if !values.is_empty() {
            self.filters.push(Filter::OneOf(column, values));
        }
        self
    }

    /// Keeps rows whose `column` equals `value`.
    pub fn eq(self, column: &'static str, value: Bind) -> Self {
        self.filter(column, Op::Eq, value)
    }

    /// Fetches one page.
    pub async fn fetch<T>(&self, pool: &AnyPool, page: &PageRequest) -> Result<Page<T>, StoreError>
    where
        T: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    {
        let limit = i64::from(page.limit.clamp(1, 100));
        let (cursor_clause, order, cursor_bind) = match &page.cursor {
            Cursor::Newest => ("", "DESC", None),
            Cursor::StartingAfter(id) => {
                (" AND seq < $C", "DESC", Some(self.seq_of(pool, id).await?))
            }
            Cursor::EndingBefore(id) => {
                (" AND seq > $C", "ASC", Some(self.seq_of(pool, id).await?))
            }
        };

        let mut binds = self.binds();
        let mut sql = format!(
            "SELECT {} FROM {} WHERE {}",
            self.columns,
            self.table,
            self.where_sql()
        );
        if let Some(seq) = cursor_bind {
            binds.push(Bind::Int(seq));
            sql.push_str(&cursor_clause.replace("$C", &format!("${}", binds.len())));
        }
        binds.push(Bind::Int(limit + 1));
        sql.push_str(&format!(" ORDER BY seq {order} LIMIT ${}", binds.len()));

        let mut query = sqlx::query_as::<_, T>(&sql);
        for bind in binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(number) => query.bind(number),
            };
        }
        let mut items = query.fetch_all(pool).await?;

        let has_more = items.len() as i64 > limit;
        items.truncate(limit as usize);
        if order == "ASC" {
            items.reverse();
        }
        Ok(Page { items, has_more })
    }

    /// The values of every filter, in placeholder order.
    fn binds(&self) -> Vec<Bind> {
        self.filters
            .iter()
            .flat_map(|filter| match filter {
                Filter::Compare(_, _, bind) => vec![bind.clone()],
                Filter::OneOf(_, binds) => binds.clone(),
            })
            .collect()
    }

    fn where_sql(&self) -> String {
        if self.filters.is_empty() {
            return "1 = 1".to_owned();
        }
        let mut next_placeholder = 0;
        let mut placeholder = || {
            next_placeholder += 1;
            format!("${next_placeholder}")
        };
        self.filters
            .iter()
            .map(|filter| match filter {
                Filter::Compare(column, op, _) => {
                    format!("{column} {} {}", op.sql(), placeholder())
                }
                Filter::OneOf(column, binds) => {
                    let list: Vec<String> = binds.iter().map(|_| placeholder()).collect();
                    format!("{column} IN ({})", list.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    async fn seq_of(&self, pool: &AnyPool, id: &str) -> Result<i64, StoreError> {
        let binds = self.binds();
        let sql = format!(
            "SELECT seq FROM {} WHERE {} AND {} = ${}",
            self.table,
            self.where_sql(),
            self.id_column,
            binds.len() + 1
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for bind in binds {
            query = match bind {
                Bind::Text(text) => query.bind(text),
                Bind::Int(number) => query.bind(number),
            };
        }
        query
            .bind(id.to_owned())
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| StoreError::CursorNotFound { id: id.to_owned() })
    }
}
