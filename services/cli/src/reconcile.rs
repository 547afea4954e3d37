//! `techcredit reconcile --bank BANK --as-of YYYY-MM-DD TAPE.csv`: streams a bank's loan
//! tape to the server with a progress bar (rows per second), and writes the discrepancy
//! report as CSV. The tape is read and sent in chunks, never held whole. Exit code 4 when
//! the report lists discrepancies.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use proto::v1 as pb;

use crate::connect::Authed;
use crate::failure::Failure;
use crate::{Ctx, out};

/// Columns every tape must have (any order; other columns are ignored but `maturity_date`,
/// which is compared when present).
const COLUMNS: [&str; 5] = ["bank_loan_number", "uscc", "outstanding_principal", "days_past_due", "classification"];
/// Rows per streamed message.
const CHUNK_ROWS: usize = 2000;
/// A field longer than this is cut (and so reported invalid) instead of being sent whole.
const MAX_FIELD_BYTES: usize = 1024;

/// `techcredit reconcile`.
#[derive(Debug, clap::Args)]
pub struct Reconcile {
    /// The bank whose tape this is ("nbcb" or "banks/nbcb").
    #[arg(long)]
    bank: String,
    /// The date the tape's figures are as of (YYYY-MM-DD).
    #[arg(long)]
    as_of: String,
    /// Where to write the discrepancy report (default: TAPE.discrepancies.csv).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Do not draw a progress bar.
    #[arg(long)]
    quiet: bool,
    /// The tape.
    tape: PathBuf,
}

impl Reconcile {
    /// The tape's header, checked before connecting.
    pub fn check(&self) -> Result<(), Failure> {
        check_header(&self.tape).map_err(Failure::Usage)
    }

    /// Streams the tape and writes the report.
    pub async fn run(self, ctx: &Ctx) -> Result<(), Failure> {
        let bank = if self.bank.starts_with("banks/") { self.bank.clone() } else { format!("banks/{}", self.bank) };
        let report_path = self.report.clone().unwrap_or_else(|| self.tape.with_extension("discrepancies.csv"));
        stream(ctx, &bank, &self.as_of, &self.tape, &report_path, self.quiet, false).await
    }
}

/// Column positions of the required columns, or a message naming what is missing.
fn columns(headers: &csv::ByteRecord) -> Result<[usize; 5], String> {
    let names: Vec<String> =
        headers.iter().map(|h| String::from_utf8_lossy(h).trim().trim_start_matches('\u{feff}').to_owned()).collect();
    let mut positions = [0usize; 5];
    let mut missing = Vec::new();
    for (slot, column) in COLUMNS.iter().enumerate() {
        match names.iter().position(|name| name == column) {
            Some(position) => positions[slot] = position,
            None => missing.push(*column),
        }
    }
    if missing.is_empty() {
        Ok(positions)
    } else {
        Err(format!("the tape's header lacks column(s) {}; it needs {}", missing.join(", "), COLUMNS.join(",")))
    }
}

/// Where an optional column is, when the header has it.
fn optional_column(headers: &csv::ByteRecord, column: &str) -> Option<usize> {
    headers.iter().position(|h| String::from_utf8_lossy(h).trim().trim_start_matches('\u{feff}') == column)
}

fn reader(tape: &Path) -> Result<csv::Reader<UnixLines<BufReader<File>>>, String> {
    let file = File::open(tape).map_err(|e| format!("cannot open {}: {e}", tape.display()))?;
    Ok(csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(UnixLines::new(BufReader::new(file))))
}

/// A tape as if written with `\n` line ends and no UTF-8 byte-order mark: the same rows get
/// the same line numbers and the same hash whether the file went through Excel (CRLF, a BOM)
/// or not.
struct UnixLines<R> {
    inner: R,
    line: Vec<u8>,
    at: usize,
    first: bool,
}

impl<R: std::io::BufRead> UnixLines<R> {
    fn new(inner: R) -> UnixLines<R> {
        UnixLines { inner, line: Vec::new(), at: 0, first: true }
    }
}

impl<R: std::io::BufRead> std::io::Read for UnixLines<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.line.len() {
            self.line.clear();
            self.at = 0;
            if self.inner.read_until(b'\n', &mut self.line)? == 0 {
                return Ok(0);
            }
            if self.line.ends_with(b"\r\n") {
                let end = self.line.len();
                self.line[end - 2] = b'\n';
                self.line.truncate(end - 1);
            }
            if std::mem::take(&mut self.first) && self.line.starts_with(&[0xEF, 0xBB, 0xBF]) {
                self.line.drain(..3);
            }
        }
        let n = out.len().min(self.line.len() - self.at);
        out[..n].copy_from_slice(&self.line[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn check_header(tape: &Path) -> Result<(), String> {
    let mut reader = reader(tape)?;
    let headers = reader.byte_headers().map_err(|e| format!("{} is not a CSV tape: {e}", tape.display()))?.clone();
    columns(&headers).map(|_| ()).map_err(|m| format!("{}: {m}", tape.display()))
}

fn field(record: &csv::ByteRecord, index: usize) -> String {
    let bytes = record.get(index).unwrap_or_default();
    let cut = &bytes[..bytes.len().min(MAX_FIELD_BYTES + 1)];
    String::from_utf8_lossy(cut).into_owned()
}

/// Streams a tape without a progress bar or a summary (the demo's monthly tapes); exit
/// status as `reconcile`'s.
pub async fn stream_quietly(
    ctx: &Ctx,
    bank: &str,
    as_of: &str,
    tape: &Path,
    report_path: &Path,
) -> Result<(), Failure> {
    stream(ctx, bank, as_of, tape, report_path, true, true).await
}

async fn stream(
    ctx: &Ctx,
    bank: &str,
    as_of: &str,
    tape: &Path,
    report_path: &Path,
    quiet: bool,
    silent: bool,
) -> Result<(), Failure> {
    let size = std::fs::metadata(tape).map(|m| m.len()).unwrap_or(0);
    let progress = if quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(size) };
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let (sender, receiver) = tokio::sync::mpsc::channel::<pb::ReconcileLoanTapeRequest>(4);
    let file_name = tape.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let header = pb::ReconcileLoanTapeRequest {
        part: Some(pb::reconcile_loan_tape_request::Part::Header(pb::LoanTapeHeader {
            bank: bank.to_owned(),
            as_of: as_of.to_owned(),
            file_name,
        })),
        request_id: format!("tape-{bank}-{as_of}-{}", std::process::id()),
    };
    if sender.send(header).await.is_err() {
        return Err(Failure::Unreachable("the stream closed before it started".to_owned()));
    }
    let tape_path = tape.to_path_buf();
    let bar = progress.clone();
    // Read on a blocking thread; the bounded channel holds at most a few chunks in memory.
    let producer = tokio::task::spawn_blocking(move || -> Result<u64, String> {
        let mut reader = reader(&tape_path)?;
        let headers = reader.byte_headers().map_err(|e| e.to_string())?.clone();
        let positions = columns(&headers)?;
        let maturity = optional_column(&headers, "maturity_date");
        let started = std::time::Instant::now();
        let mut rows = Vec::with_capacity(CHUNK_ROWS);
        let mut count = 0u64;
        let mut record = csv::ByteRecord::new();
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(error) => return Err(format!("{}: {error}", tape_path.display())),
            }
            let line = record.position().map_or(0, |p| p.line() as i64);
            rows.push(pb::LoanTapeRow {
                line_number: line,
                bank_loan_number: field(&record, positions[0]),
                uscc: field(&record, positions[1]),
                outstanding_principal: field(&record, positions[2]),
                days_past_due: field(&record, positions[3]),
                classification: field(&record, positions[4]),
                maturity_date: maturity.map(|at| field(&record, at)).unwrap_or_default(),
            });
            count += 1;
            if rows.len() == CHUNK_ROWS {
                let chunk = std::mem::replace(&mut rows, Vec::with_capacity(CHUNK_ROWS));
                let message = pb::ReconcileLoanTapeRequest {
                    part: Some(pb::reconcile_loan_tape_request::Part::Chunk(pb::LoanTapeChunk { rows: chunk })),
                    request_id: String::new(),
                };
                if sender.blocking_send(message).is_err() {
                    return Err("the server closed the stream".to_owned());
                }
                bar.set_position(record.position().map_or(0, |p| p.byte()));
                bar.set_message(format!(
                    "{count} rows, {:.0} rows/s",
                    count as f64 / started.elapsed().as_secs_f64().max(0.001)
                ));
            }
        }
        if !rows.is_empty() {
            let message = pb::ReconcileLoanTapeRequest {
                part: Some(pb::reconcile_loan_tape_request::Part::Chunk(pb::LoanTapeChunk { rows })),
                request_id: String::new(),
            };
            if sender.blocking_send(message).is_err() {
                return Err("the server closed the stream".to_owned());
            }
        }
        // The end message: only a tape read to its end is reconciled.
        let end = pb::ReconcileLoanTapeRequest {
            part: Some(pb::reconcile_loan_tape_request::Part::End(pb::LoanTapeEnd {
                rows: i64::try_from(count).unwrap_or(i64::MAX),
            })),
            request_id: String::new(),
        };
        if sender.blocking_send(end).is_err() {
            return Err("the server closed the stream".to_owned());
        }
        Ok(count)
    });
    let mut client = ctx.clients.settlement.clone();
    let response = client.reconcile_loan_tape(tokio_stream::wrappers::ReceiverStream::new(receiver)).await;
    let read = match producer.await {
        Ok(Ok(count)) => count,
        Ok(Err(message)) => return Err(Failure::Usage(message)),
        Err(error) => return Err(Failure::Usage(format!("reader failed: {error}"))),
    };
    progress.finish_and_clear();
    let response = response?.into_inner();
    let report = response.report.unwrap_or_default();
    if !silent {
        out!(
            "{}{}: {read} rows read, {} matched; missing in pool {}, missing at bank {}, balance mismatch {}, status mismatch {}, duplicate {}, invalid {}",
            report.name,
            if response.existing { " (this tape was reconciled before)" } else { "" },
            report.rows_matched,
            report.missing_in_pool,
            report.missing_at_bank,
            report.balance_mismatch,
            report.status_mismatch,
            report.duplicate_in_tape,
            report.invalid_record
        );
    }
    if !silent && !report.supersedes.is_empty() {
        out!("supersedes {}", report.supersedes);
    }
    let count = write_report(&mut client, &report.name, report_path).await?;
    if !silent {
        out!("{count} discrepancies written to {}", report_path.display());
    }
    if count > 0 {
        return Err(Failure::Found(format!(
            "{count} discrepancies in {} (see {})",
            report.name,
            report_path.display()
        )));
    }
    Ok(())
}

async fn write_report(
    client: &mut pb::settlement_service_client::SettlementServiceClient<Authed>,
    report: &str,
    path: &Path,
) -> Result<u64, Failure> {
    let file = File::create(path).map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
    let mut out = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let io = |e: csv::Error| Failure::Usage(format!("cannot write {}: {e}", path.display()));
    out.write_record(["kind", "line", "bank_loan_number", "loan", "bank_value", "pool_value", "difference", "detail"])
        .map_err(io)?;
    let mut token = String::new();
    let mut count = 0u64;
    loop {
        let page = client
            .list_discrepancies(pb::ListDiscrepanciesRequest {
                page_size: 1000,
                page_token: token.clone(),
                report: report.to_owned(),
                kind: 0,
            })
            .await?
            .into_inner();
        for d in &page.discrepancies {
            let kind = pb::DiscrepancyKind::try_from(d.kind)
                .map(|k| k.as_str_name().trim_start_matches("DISCREPANCY_KIND_").to_owned())
                .unwrap_or_default();
            out.write_record([
                kind.as_str(),
                &d.line_number.to_string(),
                &d.bank_loan_number,
                &d.loan,
                &d.bank_value,
                &d.pool_value,
                &d.difference,
                &d.detail,
            ])
            .map_err(io)?;
            count += 1;
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    out.flush().map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))?;
    std::io::stdout().flush().ok();
    Ok(count)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Read;

    use super::UnixLines;

    #[test]
    fn crlf_and_a_bom_read_as_plain_lines() {
        let mut read = String::new();
        UnixLines::new("\u{feff}a,b\r\n1,2\r\n3,\"x\ry\"\n".as_bytes()).read_to_string(&mut read).unwrap();
        assert_eq!(read, "a,b\n1,2\n3,\"x\ry\"\n");
    }
}
