//! Exported statements: the canonical CSV, and a printable HTML page for the bank's
//! accountant (print to PDF from any browser).

use proto::v1 as pb;
use store::statements::StatementRecord;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A line kind in Chinese, with its English name.
fn kind_zh(kind: domain::statement::LineKind) -> &'static str {
    match kind {
        domain::statement::LineKind::Compensation => "代偿款",
        domain::statement::LineKind::ShortfallCarried => "前期未付代偿",
        domain::statement::LineKind::Recovery => "追偿回收（风险池份额）",
        domain::statement::LineKind::Clawback => "代偿追回（贷款已剔除）",
        domain::statement::LineKind::ContributionDue => "应缴出资",
    }
}

fn status_zh(record: &StatementRecord) -> String {
    use domain::statement::Status;
    let zh = match record.status {
        Status::Draft => "草稿（未确认）",
        Status::Confirmed => "已确认",
        Status::PartiallyPaid => "部分付款",
        Status::Paid => "已付清",
        Status::CarriedForward => "已结转",
    };
    if record.status.is_confirmed() { format!("{zh} {}", record.status.as_str()) } else { format!("{zh} DRAFT") }
}

/// The printable page, in Chinese (English beside the headings), with the bank's name as
/// people know it.
pub fn html(record: &StatementRecord, bank_name: &str) -> String {
    let s = &record.statement;
    let mut rows = String::new();
    for (index, line) in s.lines.iter().enumerate() {
        let owed = if line.kind.owed_to_bank() { "风险池 → 银行" } else { "银行 → 风险池" };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{} <small>{}</small></td><td>{}</td><td>{}</td><td>{}</td><td class=\"amount\">{}</td></tr>\n",
            index + 1,
            kind_zh(line.kind),
            line.kind.as_str(),
            escape(&line.source),
            escape(&line.description),
            owed,
            line.amount
        ));
    }
    // Co-sharers' parts: memo lines, outside the totals.
    let mut memos = String::new();
    if !s.memos.is_empty() {
        memos.push_str("<h2>共担方份额（备忘，不计入结算） <small>Co-sharers' parts (memo, not settled here)</small></h2>\n<table>\n<thead><tr><th>序号</th><th>共担方</th><th>理赔</th><th>说明</th><th class=\"amount\">金额（人民币元）</th></tr></thead>\n<tbody>\n");
        for (index, memo) in s.memos.iter().enumerate() {
            memos.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"amount\">{}</td></tr>\n",
                index + 1,
                escape(&memo.party),
                escape(&memo.source),
                escape(&memo.description),
                memo.amount
            ));
        }
        memos.push_str("</tbody>\n</table>\n");
    }
    let clawbacks = if s.clawbacks_total.fen() > 0 {
        format!(
            "<tr><td colspan=\"5\">代偿追回 <small>Clawbacks</small></td><td class=\"amount\">{}</td></tr>\n",
            s.clawbacks_total
        )
    } else {
        String::new()
    };
    let direction = match s.direction {
        domain::statement::Direction::PoolPaysBank => "风险池向银行支付 (The pool pays the bank)",
        domain::statement::Direction::BankPaysPool => "银行向风险池支付 (The bank pays the pool)",
        domain::statement::Direction::None => "无需支付 (Nothing to pay)",
    };
    format!(
        r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>结算单 {bank_name} {period}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; margin: 2cm; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #444; padding: 4px 8px; text-align: left; }}
td.amount, th.amount {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
small {{ color: #666; }}
.signatures td {{ border: none; padding-top: 3em; }}
</style>
</head>
<body>
<h1>科技信贷风险池 结算单 <small>Settlement statement</small></h1>
<p>合作银行：<strong>{bank_name}</strong>（{bank}） · 结算期间：<strong>{period}</strong> · 结算单号：statements/{id} · 状态：<strong>{status}</strong></p>
<p>内容校验码 SHA-256：<code>{sha}</code></p>
<table>
<thead><tr><th>序号</th><th>类型</th><th>来源</th><th>说明</th><th>方向</th><th class="amount">金额（人民币元）</th></tr></thead>
<tbody>
{rows}</tbody>
<tfoot>
<tr><td colspan="5">代偿款合计 <small>Compensation</small></td><td class="amount">{compensation}</td></tr>
<tr><td colspan="5">前期未付代偿 <small>Shortfall carried</small></td><td class="amount">{shortfall}</td></tr>
<tr><td colspan="5">追偿回收（风险池份额） <small>Pool share of recoveries</small></td><td class="amount">{recoveries}</td></tr>
<tr><td colspan="5">应缴出资 <small>Contributions due</small></td><td class="amount">{contributions}</td></tr>
{clawbacks}<tr><th colspan="5">{direction}</th><th class="amount">{net}</th></tr>
</tfoot>
</table>
{memos}
<table class="signatures"><tr><td>风险池财务（编制）：____________________</td><td>银行（核对）：____________________</td><td>日期：____________</td></tr></table>
</body>
</html>
"#,
        bank_name = escape(bank_name),
        bank = escape(s.bank.as_str()),
        period = s.period,
        id = record.statement_id,
        status = status_zh(record),
        sha = record.content_sha256,
        compensation = s.compensation_total,
        shortfall = s.shortfall_total,
        recoveries = s.recoveries_total,
        contributions = s.contributions_due_total,
        net = s.net,
    )
}

/// The export in the asked format (the CSV is the statement's canonical content, whose
/// SHA-256 finance confirms; the dashboard's download adds a byte order mark for Excel).
pub fn export(record: &StatementRecord, bank_name: &str, format: pb::ExportFormat) -> pb::ExportStatementResponse {
    let stem = format!("statement-{}-{}", record.statement.bank, record.statement.period);
    match format {
        pb::ExportFormat::Html => pb::ExportStatementResponse {
            content_type: "text/html; charset=utf-8".to_owned(),
            file_name: format!("{stem}.html"),
            content: html(record, bank_name).into_bytes(),
        },
        pb::ExportFormat::Csv | pb::ExportFormat::Unspecified => pb::ExportStatementResponse {
            content_type: "text/csv; charset=utf-8".to_owned(),
            file_name: format!("{stem}.csv"),
            content: record.statement.to_csv().into_bytes(),
        },
    }
}
