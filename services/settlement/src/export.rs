//! Exported statements: the canonical CSV, and a printable HTML page for the bank's
//! accountant (print to PDF from any browser).

use proto::v1 as pb;
use store::statements::StatementRecord;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The printable page.
pub fn html(record: &StatementRecord) -> String {
    let s = &record.statement;
    let status = if record.status.is_confirmed() { record.status.as_str() } else { "DRAFT — not yet confirmed" };
    let mut rows = String::new();
    for (index, line) in s.lines.iter().enumerate() {
        let owed = if line.kind.owed_to_bank() { "pool → bank" } else { "bank → pool" };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"amount\">{}</td></tr>\n",
            index + 1,
            line.kind.as_str(),
            escape(&line.source),
            escape(&line.description),
            owed,
            line.amount
        ));
    }
    let direction = match s.direction {
        domain::statement::Direction::PoolPaysBank => "The pool pays the bank",
        domain::statement::Direction::BankPaysPool => "The bank pays the pool",
        domain::statement::Direction::None => "Nothing to pay",
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>Settlement statement {bank} {period}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans", sans-serif; margin: 2cm; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #444; padding: 4px 8px; text-align: left; }}
td.amount, th.amount {{ text-align: right; font-variant-numeric: tabular-nums; }}
.signatures td {{ border: none; padding-top: 3em; }}
</style>
</head>
<body>
<h1>Technology-credit risk pool — settlement statement</h1>
<p>Bank: <strong>{bank}</strong> · Period: <strong>{period}</strong> · Statement: statements/{id} · Status: <strong>{status}</strong></p>
<p>Content SHA-256: <code>{sha}</code></p>
<table>
<thead><tr><th>#</th><th>Kind</th><th>Source</th><th>Description</th><th>Owed</th><th class="amount">Amount (CNY)</th></tr></thead>
<tbody>
{rows}</tbody>
<tfoot>
<tr><td colspan="5">Compensation</td><td class="amount">{compensation}</td></tr>
<tr><td colspan="5">Shortfall carried</td><td class="amount">{shortfall}</td></tr>
<tr><td colspan="5">Pool share of recoveries</td><td class="amount">{recoveries}</td></tr>
<tr><td colspan="5">Contributions due</td><td class="amount">{contributions}</td></tr>
<tr><th colspan="5">{direction}</th><th class="amount">{net}</th></tr>
</tfoot>
</table>
<table class="signatures"><tr><td>Prepared by (pool finance): ____________________</td><td>Checked by (bank): ____________________</td><td>Date: ____________</td></tr></table>
</body>
</html>
"#,
        bank = escape(s.bank.as_str()),
        period = s.period,
        id = record.statement_id,
        sha = record.content_sha256,
        compensation = s.compensation_total,
        shortfall = s.shortfall_total,
        recoveries = s.recoveries_total,
        contributions = s.contributions_due_total,
        net = s.net,
    )
}

/// The export in the asked format.
pub fn export(record: &StatementRecord, format: pb::ExportFormat) -> pb::ExportStatementResponse {
    let stem = format!("statement-{}-{}", record.statement.bank, record.statement.period);
    match format {
        pb::ExportFormat::Html => pb::ExportStatementResponse {
            content_type: "text/html; charset=utf-8".to_owned(),
            file_name: format!("{stem}.html"),
            content: html(record).into_bytes(),
        },
        pb::ExportFormat::Csv | pb::ExportFormat::Unspecified => pb::ExportStatementResponse {
            content_type: "text/csv; charset=utf-8".to_owned(),
            file_name: format!("{stem}.csv"),
            content: record.statement.to_csv().into_bytes(),
        },
    }
}
