//! The loan-tape row parser: any row — bad numbers, odd Unicode, huge fields, repeated loan
//! numbers — is matched or becomes a discrepancy, never a panic, and the summary counts
//! every row.
#![no_main]

use domain::Money;
use domain::reconcile::{Reconciler, RegistryEntry, TapeRow};
use domain::terms::Classification;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let registry = (1..=3).map(|n| {
        (
            format!("L{n}"),
            RegistryEntry {
                loan_id: n,
                outstanding: Money::from_fen(100_000_00 * n),
                days_past_due: 0,
                classification: Classification::Normal,
                maturity_date: chrono::NaiveDate::from_ymd_opt(2027, 6, 30).unwrap(),
            },
        )
    });
    let mut reconciler = Reconciler::new(registry);
    let mut rows = 0;
    for (line, row) in text.lines().enumerate() {
        let fields: Vec<&str> = row.split(',').collect();
        let field = |i: usize| fields.get(i).copied().unwrap_or("");
        reconciler.row(&TapeRow {
            line: line as i64 + 2,
            bank_loan_number: field(0),
            uscc: field(1),
            outstanding: field(2),
            days_past_due: field(3),
            classification: field(4),
            maturity_date: field(5),
        });
        rows += 1;
    }
    let (summary, _missing) = reconciler.finish();
    assert_eq!(summary.rows_read, rows);
});
