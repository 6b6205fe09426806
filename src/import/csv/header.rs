//! The separator, the header row among the first lines, and the line each record starts on.

use super::columns::{is_known_column, normalise, Col, Columns, Schema, COLS};
use super::decoding::unreadable;
use super::REJECT_REASON;
use crate::import::{Notice, Unreadable};

const SEPARATORS: [u8; 3] = [b';', b',', b'\t'];
const HEADER_SEARCH: usize = 10;

/// An Excel `sep=;` first line: the separator, and the text after that line.
fn sep_line(text: &str) -> Option<(u8, &str)> {
    let line_end = text.find('\n').unwrap_or(text.len());
    let line = text[..line_end].trim_end_matches('\r').trim();
    let rest = line
        .strip_prefix("sep=")
        .or_else(|| line.strip_prefix("SEP="))?;
    let rest = rest.trim_matches('"');
    match rest.as_bytes() {
        [sep] if !sep.is_ascii_alphanumeric() && *sep != b'"' => {
            Some((*sep, &text[(line_end + 1).min(text.len())..]))
        }
        _ => None,
    }
}

/// The separator used most on one of the first lines, counted outside quotes; `;` on a tie.
fn sniff_separator(text: &str) -> u8 {
    let mut best = (0usize, b';');
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    let mut lines = 0;
    let mut blank = true;
    let mut flush = |counts: &mut [usize; 3]| {
        for (count, sep) in counts.iter().zip(SEPARATORS) {
            if *count > best.0 {
                best = (*count, sep);
            }
        }
        *counts = [0; 3];
    };
    for &b in text.as_bytes().iter().take(1 << 16) {
        match b {
            b'"' => {
                in_quotes = !in_quotes;
                blank = false;
            }
            b'\n' if !in_quotes => {
                flush(&mut counts);
                if !blank {
                    lines += 1;
                    if lines >= HEADER_SEARCH {
                        break;
                    }
                }
                blank = true;
            }
            b';' if !in_quotes => counts[0] += 1,
            b',' if !in_quotes => counts[1] += 1,
            b'\t' if !in_quotes => counts[2] += 1,
            b'\r' | b' ' => {}
            _ => blank = false,
        }
    }
    flush(&mut counts);
    best.1
}

pub(super) fn is_blank(record: &csv::StringRecord) -> bool {
    record.iter().all(|field| field.trim().is_empty())
}

/// Line numbers of records. `csv::Position::line` miscounts after CRLF line ends and blank
/// lines; a record's byte offset is right but points before the line ends that precede it.
pub(super) struct Lines<'t> {
    pub(super) bytes: &'t [u8],
    /// Lines before the text (an Excel `sep=` line).
    pub(super) offset: usize,
    pub(super) at: usize,
    pub(super) line: usize,
}

impl<'t> Lines<'t> {
    pub(super) fn new(text: &'t str, offset: usize) -> Lines<'t> {
        Lines {
            bytes: text.as_bytes(),
            offset,
            at: 0,
            line: 1,
        }
    }

    /// The 1-based line a record starts on; records must be asked for in order.
    pub(super) fn of(&mut self, record: &csv::StringRecord) -> usize {
        let mut start = record
            .position()
            .map_or(self.at, |position| position.byte() as usize)
            .clamp(self.at, self.bytes.len());
        while matches!(self.bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        self.line += self.bytes[self.at..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.at = start;
        self.line + self.offset
    }
}

pub(super) struct FoundHeader<'t> {
    pub(super) reader: csv::Reader<&'t [u8]>,
    pub(super) header: csv::StringRecord,
    header_line: usize,
    /// Lines of the non-empty rows skipped above the header.
    pub(super) skipped: Vec<usize>,
    pub(super) delimiter: u8,
    pub(super) lines: Lines<'t>,
}

pub(super) fn csv_error(file: &str, error: csv::Error) -> Unreadable {
    let at = error
        .position()
        .map(|position| format!("line {}: ", position.line()))
        .unwrap_or_default();
    unreadable(file, format!("{at}{error}"))
}

/// The header: the first row holding at least two known column names among the first
/// non-empty rows, else the first non-empty row.
pub(super) fn find_header<'t>(file: &str, text: &'t str) -> Result<FoundHeader<'t>, Unreadable> {
    let (delimiter, body, line_offset) = match sep_line(text) {
        Some((sep, rest)) => (sep, rest, 1),
        None => (sniff_separator(text), text, 0),
    };
    let builder = {
        let mut builder = csv::ReaderBuilder::new();
        builder
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true);
        builder
    };
    let mut record = csv::StringRecord::new();
    let mut probe = builder.from_reader(body.as_bytes());
    let mut header_index = 0;
    let mut seen = 0;
    while seen < HEADER_SEARCH
        && probe
            .read_record(&mut record)
            .map_err(|e| csv_error(file, e))?
    {
        if is_blank(&record) {
            continue;
        }
        let known = record
            .iter()
            .filter(|name| is_known_column(&normalise(name)))
            .count();
        if known >= 2 {
            header_index = seen;
            break;
        }
        seen += 1;
    }
    let mut reader = builder.from_reader(body.as_bytes());
    let mut lines = Lines::new(body, line_offset);
    let mut skipped = Vec::new();
    let mut index = 0;
    loop {
        if !reader
            .read_record(&mut record)
            .map_err(|e| csv_error(file, e))?
        {
            return Err(unreadable(
                file,
                "the file is empty: no header line with column names",
            ));
        }
        if is_blank(&record) {
            continue;
        }
        if index == header_index {
            break;
        }
        skipped.push(lines.of(&record));
        index += 1;
    }
    Ok(FoundHeader {
        reader,
        header_line: lines.of(&record),
        header: record,
        skipped,
        delimiter,
        lines,
    })
}

/// Maps the header onto the schema's columns, refusing a file without its required ones.
pub(super) fn map_columns(
    file: &str,
    found: &FoundHeader<'_>,
    schema: &Schema,
    notices: &mut Vec<Notice>,
) -> Result<Columns, Unreadable> {
    let mut columns: Columns = [None; COLS];
    let mut rank = [usize::MAX; COLS];
    let line = found.header_line;
    for (index, raw) in found.header.iter().enumerate() {
        let name = raw.trim();
        if name.is_empty() {
            continue;
        }
        let normalised = normalise(name);
        let Some((spec, this_rank)) = schema.find(&normalised) else {
            if normalised != REJECT_REASON {
                notices.push(Notice {
                    line,
                    field: name.to_string(),
                    message: "column not used by this import".to_string(),
                });
            }
            continue;
        };
        let slot = spec.col as usize;
        match columns[slot] {
            None => {
                columns[slot] = Some(index);
                rank[slot] = this_rank;
            }
            Some(previous) => {
                let (kept, ignored) = if this_rank < rank[slot] {
                    columns[slot] = Some(index);
                    rank[slot] = this_rank;
                    (index, previous)
                } else {
                    (previous, index)
                };
                notices.push(Notice {
                    line,
                    field: found.header[ignored].trim().to_string(),
                    message: format!(
                        "another column for {} ({:?}) is used; this one is ignored",
                        spec.name,
                        found.header[kept].trim()
                    ),
                });
            }
        }
    }
    if schema.name_means_last_name_beside_first_name
        && columns[Col::LastName as usize].is_none()
        && columns[Col::FirstName as usize].is_some()
    {
        columns[Col::LastName as usize] = columns[Col::Name as usize].take();
    }
    let missing: Vec<String> = schema
        .required
        .iter()
        .filter(|group| group.iter().all(|&col| columns[col as usize].is_none()))
        .map(|group| {
            group
                .iter()
                .map(|&col| {
                    let spec = schema
                        .specs
                        .iter()
                        .find(|spec| spec.col == col)
                        .expect("a required column is in its schema");
                    let aliases: Vec<&str> = spec.aliases.iter().take(4).copied().collect();
                    if aliases.is_empty() {
                        spec.name.to_string()
                    } else {
                        format!("{} (or {})", spec.name, aliases.join(", "))
                    }
                })
                .collect::<Vec<_>>()
                .join(" or ")
        })
        .collect();
    if !missing.is_empty() {
        let mut found_names: Vec<String> = found
            .header
            .iter()
            .map(|name| name.trim())
            .filter(|name| !name.is_empty())
            .map(|name| {
                let mut shown: String = name.chars().take(60).collect();
                if shown.len() < name.len() {
                    shown.push('…');
                }
                format!("{shown:?}")
            })
            .collect();
        if found_names.len() > 40 {
            found_names.truncate(40);
            found_names.push("…".to_string());
        }
        let found_names = if found_names.is_empty() {
            "none".to_string()
        } else {
            found_names.join(", ")
        };
        return Err(unreadable(
            file,
            format!(
                "line {line}: missing required column{} {}; columns found: {found_names}",
                if missing.len() == 1 { "" } else { "s" },
                missing.join("; "),
            ),
        ));
    }
    if let (Some(&first), Some(&last)) = (found.skipped.first(), found.skipped.last()) {
        notices.push(Notice {
            line: first,
            field: "header".to_string(),
            message: if first == last {
                format!("line {first} above the header was skipped")
            } else {
                format!("lines {first}–{last} above the header were skipped")
            },
        });
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {

    use crate::import::csv::appointments;
    use crate::import::testing::{appointment, utc};

    #[test]
    fn title_lines_above_the_header_and_an_excel_sep_line_are_skipped() {
        let text = "sep=;\r\nAfsprakenlijst Campus Noord;;;;;\r\nGemaakt op 12/01/2026;;;;;\r\n\
            patient_id;last_name;appointment_id;start;campus;department\r\n\
            P1;Peeters;A1;13/01/2026 09:30;Campus Noord;Cardiologie\r\n\
            P2;Janssens;A2;13-01-2026 9u45;Campus Noord;Cardiologie\r\n";
        let batch = appointments("x.csv", text.as_bytes()).expect("readable");
        assert_eq!((batch.records, batch.appointments.len()), (2, 2));
        assert_eq!(
            appointment(&batch, "A2").starts_at,
            utc("2026-01-13T08:45:00Z")
        );
        assert_eq!(batch.notices.len(), 1);
        assert_eq!(batch.notices[0].line, 2);
        assert_eq!(batch.notices[0].field, "header");

        let shifted = "patient_id;last_name;appointment_id;start;campus;department\n\
            P1;Peeters;A1;13/01/2026 09:30;Campus Noord;Cardio;logie\n";
        let batch = appointments("x.csv", shifted.as_bytes()).expect("readable");
        assert_eq!(batch.rejects.len(), 1);
        assert_eq!(batch.rejects[0].field, None);
        assert!(batch.rejects[0]
            .reason
            .contains("7 fields but the header has 6"));
    }
}
