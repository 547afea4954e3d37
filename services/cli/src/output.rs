//! What a command prints: a table for people, or the API's own JSON mapping (stable for
//! scripts), or CSV. Colours only on a terminal, and never with `NO_COLOR`.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use prost_reflect::{DescriptorPool, DynamicMessage};

use crate::failure::Failure;

/// Prints a line to stdout; a closed pipe (`techcredit … | head`) is not worth a panic.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// The output format of a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// The protobuf JSON mapping of the API's response.
    Json,
    /// Comma-separated values with a header row.
    Csv,
}

/// How amounts are shown in tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Units {
    /// Yuan with thousands separators: 50,000,000.00.
    Yuan,
    /// 万元 / 亿元 as officials write them: 5,000.00万, 6.00亿.
    Wan,
}

/// What a read shows in a table or CSV.
pub enum View {
    /// One record: a field per line.
    Record(Vec<(&'static str, String)>),
    /// Rows under a header.
    Rows {
        /// Column names.
        header: Vec<&'static str>,
        /// Values, as many per row as the header has.
        rows: Vec<Vec<String>>,
    },
}

/// The printer of one invocation.
pub struct Printer {
    /// The format.
    pub format: Format,
    /// Amount style.
    pub units: Units,
    /// Colours allowed.
    pub color: bool,
    descriptors: DescriptorPool,
}

impl Printer {
    /// A printer; colours when stdout is a terminal and `NO_COLOR` is not set.
    pub fn new(format: Format, units: Units) -> Result<Printer, Failure> {
        let descriptors = DescriptorPool::decode(proto::FILE_DESCRIPTOR_SET)
            .map_err(|e| Failure::Usage(format!("the contract's descriptors are unreadable: {e}")))?;
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Ok(Printer { format, units, color, descriptors })
    }

    /// Prints `message` (the response named `full_name`, e.g. `techcredit.v1.Loan`) as JSON,
    /// or `view` as a table or CSV.
    pub fn show(
        &self,
        full_name: &str,
        message: &impl prost::Message,
        view: impl FnOnce(&Printer) -> View,
    ) -> Result<(), Failure> {
        match self.format {
            Format::Json => self.json(full_name, message),
            Format::Table => {
                self.table(&view(self));
                Ok(())
            }
            Format::Csv => csv(&view(&Printer { units: Units::Yuan, color: false, ..self.plain() })),
        }
    }

    fn plain(&self) -> Printer {
        Printer { format: self.format, units: self.units, color: false, descriptors: self.descriptors.clone() }
    }

    /// The message in the protobuf JSON mapping.
    pub fn json(&self, full_name: &str, message: &impl prost::Message) -> Result<(), Failure> {
        let descriptor = self
            .descriptors
            .get_message_by_name(full_name)
            .ok_or_else(|| Failure::Usage(format!("no message {full_name} in the contract")))?;
        let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
            .map_err(|e| Failure::Usage(format!("cannot read the answer as {full_name}: {e}")))?;
        let text = serde_json::to_string_pretty(&dynamic)
            .map_err(|e| Failure::Usage(format!("cannot write the answer as JSON: {e}")))?;
        out!("{text}");
        Ok(())
    }

    /// Prints `view` as a table.
    pub fn table(&self, view: &View) {
        match view {
            View::Record(fields) => {
                let width = fields.iter().map(|(name, _)| name.chars().count()).max().unwrap_or(0);
                for (name, value) in fields {
                    out!("{}  {value}", self.dim(&format!("{name:>width$}")));
                }
            }
            View::Rows { header, rows } => {
                let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
                for row in rows {
                    for (width, cell) in widths.iter_mut().zip(row) {
                        *width = (*width).max(display_width(cell));
                    }
                }
                let line = |cells: Vec<String>| {
                    let padded: Vec<String> =
                        cells.iter().zip(&widths).map(|(cell, width)| pad(cell, *width)).collect();
                    padded.join("  ").trim_end().to_owned()
                };
                out!("{}", self.bold(&line(header.iter().map(|h| (*h).to_owned()).collect())));
                for row in rows {
                    out!("{}", line(row.clone()));
                }
                if rows.is_empty() {
                    out!("{}", self.dim("(none)"));
                }
            }
        }
    }

    /// An amount for people: thousands separators, or 万元/亿元 with `--units wan`; in CSV
    /// the API's own text.
    pub fn money(&self, text: &str) -> String {
        if text.is_empty() || self.format == Format::Csv {
            return text.to_owned();
        }
        match self.units {
            Units::Yuan => thousands(text),
            Units::Wan => wan(text),
        }
    }

    /// Bold, on a terminal.
    pub fn bold(&self, text: &str) -> String {
        if self.color { format!("\u{1b}[1m{text}\u{1b}[0m") } else { text.to_owned() }
    }

    /// Dim, on a terminal.
    pub fn dim(&self, text: &str) -> String {
        if self.color { format!("\u{1b}[2m{text}\u{1b}[0m") } else { text.to_owned() }
    }

    /// Red (a warning: suspended, over a limit), on a terminal.
    pub fn alert(&self, text: &str) -> String {
        if self.color { format!("\u{1b}[31m{text}\u{1b}[0m") } else { text.to_owned() }
    }
}

fn csv(view: &View) -> Result<(), Failure> {
    let mut writer = csv::Writer::from_writer(std::io::stdout());
    let io = |e: csv::Error| Failure::Usage(format!("cannot write CSV: {e}"));
    match view {
        View::Record(fields) => {
            writer.write_record(["field", "value"]).map_err(io)?;
            for (name, value) in fields {
                writer.write_record([*name, value.as_str()]).map_err(io)?;
            }
        }
        View::Rows { header, rows } => {
            writer.write_record(header).map_err(io)?;
            for row in rows {
                writer.write_record(row).map_err(io)?;
            }
        }
    }
    writer.flush().map_err(|e| Failure::Usage(format!("cannot write CSV: {e}")))?;
    Ok(())
}

/// Characters shown, not counting terminal escapes; CJK characters take two columns.
fn display_width(text: &str) -> usize {
    let mut width = 0;
    let mut escape = false;
    for c in text.chars() {
        match (escape, c) {
            (false, '\u{1b}') => escape = true,
            (true, 'm') => escape = false,
            (true, _) => {}
            (false, c) if ('\u{2e80}'..='\u{9fff}').contains(&c) || ('\u{ff00}'..='\u{ffef}').contains(&c) => {
                width += 2
            }
            (false, '\u{2580}'..='\u{259f}') => width += 1,
            (false, _) => width += 1,
        }
    }
    width
}

fn pad(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(display_width(text));
    // Figures align right, words left.
    if text.starts_with(|c: char| c.is_ascii_digit() || c == '-')
        && text.chars().all(|c| !c.is_alphabetic() || "万亿".contains(c))
    {
        format!("{}{text}", " ".repeat(fill))
    } else {
        format!("{text}{}", " ".repeat(fill))
    }
}

pub use domain::display::{thousands, wan};

/// A progress bar of `width` cells for `fraction` (0–1, more is shown full).
pub fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// Writes `bytes` to `path` (an export), or to stdout for `-`.
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), Failure> {
    if path.as_os_str() == "-" {
        std::io::stdout().write_all(bytes).map_err(|e| Failure::Usage(format!("cannot write: {e}")))?;
        return Ok(());
    }
    std::fs::write(path, bytes).map_err(|e| Failure::Usage(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_by_what_is_shown() {
        assert_eq!(display_width("宁波银行"), 8);
        assert_eq!(display_width("\u{1b}[1mab\u{1b}[0m"), 2);
        assert_eq!(pad("12.00", 8), "   12.00");
        assert_eq!(pad("nbcb", 6), "nbcb  ");
        assert_eq!(bar(0.5, 10), "█████░░░░░");
    }
}
