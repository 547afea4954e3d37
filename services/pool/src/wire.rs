//! The pool service's records on the wire, and its one free-text field reader.

use domain::audit::Report;
use proto::v1 as pb;
use rpc::WireEnum;
use rpc::convert::{format_date, timestamp};
use rust_decimal::Decimal;
use store::ledger::EntryRecord;

/// A journal entry on the wire.
pub(crate) fn entry_to_wire(entry: &EntryRecord) -> pb::JournalEntry {
    pb::JournalEntry {
        name: format!("journalEntries/{}", entry.entry_id),
        entry_id: entry.entry_id,
        kind: entry.kind.to_wire_i32(),
        effective_date: format_date(entry.effective_date),
        record_time: Some(timestamp(entry.recorded_at)),
        memo: entry.memo.clone(),
        postings: entry
            .postings
            .iter()
            .map(|p| pb::Posting {
                account: p.account.to_string(),
                debit: p.debit.to_string(),
                credit: p.credit.to_string(),
            })
            .collect(),
        reverses: entry.reverses.map(|id| format!("journalEntries/{id}")).unwrap_or_default(),
        reversed_by: entry.reversed_by.map(|id| format!("journalEntries/{id}")).unwrap_or_default(),
        source: entry.source.clone(),
    }
}

/// A ratio on the wire: six fraction digits ("0.055477", "12.000000"); empty when undefined.
pub(crate) fn ratio_text(value: Option<Decimal>) -> String {
    value.map(rpc::convert::ratio_to_wire).unwrap_or_default()
}

/// A verification report on the wire, checked at `checked`.
pub(crate) fn report_to_wire(report: Report, checked: chrono::DateTime<chrono::Utc>) -> pb::VerifyLedgerResponse {
    pb::VerifyLedgerResponse {
        ok: report.ok(),
        entries_checked: i64::try_from(report.entries_checked).unwrap_or(i64::MAX),
        accounts_checked: i64::try_from(report.accounts_checked).unwrap_or(i64::MAX),
        differences: report
            .differences
            .into_iter()
            .map(|d| pb::LedgerDifference { subject: d.subject, expected: d.expected, actual: d.actual })
            .collect(),
        check_time: Some(timestamp(checked)),
    }
}
