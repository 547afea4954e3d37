//! The command groups, by service: each command builds its request, calls, and prints the
//! answer (a table, the API's JSON, or CSV).

pub mod admin;
pub mod audit;
pub mod loans;
pub mod pool;
pub mod settlement;

use crate::failure::Failure;
use crate::out;

/// `collection/id` from `id` or from the full name.
pub fn name(collection: &str, id: &str) -> String {
    let id = id.trim();
    if id.starts_with(&format!("{collection}/")) { id.to_owned() } else { format!("{collection}/{id}") }
}

/// An optional filter as a name: empty when not given.
pub fn optional_name(collection: &str, id: &Option<String>) -> String {
    id.as_deref().map(|id| name(collection, id)).unwrap_or_default()
}

/// A wire enum's name without its prefix (`BANK_STATUS_ACTIVE` → `ACTIVE`), for tables.
pub fn label(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_owned()
}

/// A timestamp for tables: RFC 3339 in UTC, to the second.
pub fn time(timestamp: &Option<prost_types::Timestamp>) -> String {
    timestamp
        .as_ref()
        .and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Where a list goes on: says so on stderr, so that stdout stays the list itself.
pub fn more(next_page_token: &str) {
    if !next_page_token.is_empty() {
        eprintln!("(more: --page-token {next_page_token})");
    }
}

/// Paging flags of every list.
#[derive(Debug, Clone, clap::Args)]
pub struct Paging {
    /// Rows per page.
    #[arg(long, default_value_t = 100)]
    pub page_size: i32,
    /// The page after the one that printed this token.
    #[arg(long, default_value = "")]
    pub page_token: String,
}

/// Reads a whole file, or says which one could not be read.
pub fn read(path: &std::path::Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))
}

/// Prints what a change did, in one line.
pub fn done(message: impl std::fmt::Display) {
    out!("{message}");
}
