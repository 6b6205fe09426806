//! Every CSV Tocsin writes (the rejects of an import, the call centre's unreached list) goes
//! through [`SheetWriter`], so all of them are in one dialect and safe to open in a
//! spreadsheet: UTF-8 with a byte-order mark (Excel shows accents right), `;` between fields
//! as Belgian Excel opens a CSV by default (or `,` / tab on request), every cell a spreadsheet
//! would run as a formula neutralised, and no cell longer than a spreadsheet can hold.

use std::fmt;
use std::io::Write;
use std::str::FromStr;

/// What separates the fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Separator {
    /// `;`: what Excel expects where the decimal mark is a comma (Belgium, France).
    #[default]
    Semicolon,
    Comma,
    Tab,
}

impl Separator {
    pub fn byte(self) -> u8 {
        match self {
            Separator::Semicolon => b';',
            Separator::Comma => b',',
            Separator::Tab => b'\t',
        }
    }
}

impl FromStr for Separator {
    type Err = String;

    fn from_str(raw: &str) -> Result<Separator, String> {
        match raw {
            ";" | "semicolon" => Ok(Separator::Semicolon),
            "," | "comma" => Ok(Separator::Comma),
            "\t" | "tab" => Ok(Separator::Tab),
            other => Err(format!(
                "{other:?} is not a separator: use ';' (semicolon), ',' (comma) or tab"
            )),
        }
    }
}

impl fmt::Display for Separator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Separator::Semicolon => ";",
            Separator::Comma => ",",
            Separator::Tab => "tab",
        })
    }
}

/// The most characters a cell of Excel or LibreOffice Calc holds; a longer one spills into
/// the next row and shifts everything after it.
pub const MAX_CELL_CHARS: usize = 32_767;

/// Marks a cell cut at [`MAX_CELL_CHARS`].
const CUT: &str = "…";

/// The first characters that make a spreadsheet read a cell as a formula (OWASP, "CSV
/// Injection"); a cell starting with one is written after a `'`, which shows it as text.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as written: defused and cut to what a spreadsheet holds.
pub fn cell(raw: &str) -> String {
    // A value that already looks neutralised (`'=…`) gets a `'` more, so that reading it back
    // gives the value itself.
    let defused = looks_like_a_formula(raw);
    let limit = MAX_CELL_CHARS - usize::from(defused);
    let cut = raw.char_indices().nth(limit).map(|(at, _)| {
        let keep = raw[..at]
            .char_indices()
            .nth(limit - CUT.chars().count())
            .map_or(at, |(end, _)| end);
        format!("{}{CUT}", &raw[..keep])
    });
    let text = cut.as_deref().unwrap_or(raw);
    if defused {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// A cell as the spreadsheet's own value: without the `'` that [`cell`] put before a formula.
/// The CSV readers use it, so that a rejects file corrected and imported again reads the
/// values the export had.
pub fn undefused(raw: &str) -> &str {
    match raw.strip_prefix('\'') {
        Some(rest) if looks_like_a_formula(rest) => rest,
        _ => raw,
    }
}

/// A formula, or a formula after `'`s.
fn looks_like_a_formula(raw: &str) -> bool {
    raw.trim_start_matches('\'').starts_with(FORMULA_STARTS)
}

/// Writes rows of cells in the dialect above.
pub struct SheetWriter<W: Write> {
    writer: csv::Writer<W>,
}

impl<W: Write> SheetWriter<W> {
    pub fn new(mut out: W, separator: Separator) -> Result<SheetWriter<W>, csv::Error> {
        out.write_all(b"\xEF\xBB\xBF")?;
        let writer = csv::WriterBuilder::new()
            .delimiter(separator.byte())
            .flexible(true)
            .from_writer(out);
        Ok(SheetWriter { writer })
    }

    pub fn row<I, S>(&mut self, cells: I) -> Result<(), csv::Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.writer
            .write_record(cells.into_iter().map(|raw| cell(raw.as_ref())))
    }

    pub fn finish(mut self) -> Result<(), csv::Error> {
        self.writer.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(separator: Separator, rows: &[&[&str]]) -> String {
        let mut out = Vec::new();
        let mut writer = SheetWriter::new(&mut out, separator).expect("bom");
        for row in rows {
            writer.row(row.iter()).expect("row");
        }
        writer.finish().expect("flush");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn every_cell_that_a_spreadsheet_would_run_is_written_as_text() {
        let text = written(
            Separator::Semicolon,
            &[&[
                "=HYPERLINK(\"http://evil\";\"click\")",
                "+32471123456",
                "-2+3",
                "@SUM(A1)",
                "\tx",
                "Peeters",
            ]],
        );
        assert_eq!(
            text,
            "\u{feff}\"'=HYPERLINK(\"\"http://evil\"\";\"\"click\"\")\";'+32471123456;'-2+3;\
             '@SUM(A1);'\tx;Peeters\n"
        );
        for raw in [
            "=1+1", "+1", "-1", "@x", "\tx", "Peeters", "'=kept", "''+1", "'quoted",
        ] {
            assert_eq!(undefused(&cell(raw)), raw);
        }
    }

    #[test]
    fn a_cell_longer_than_a_spreadsheet_holds_is_cut_with_a_mark() {
        let long = "é".repeat(MAX_CELL_CHARS + 10);
        let cut = cell(&long);
        assert_eq!(cut.chars().count(), MAX_CELL_CHARS);
        assert!(cut.ends_with(CUT));
        let formula = format!("={}", "a".repeat(MAX_CELL_CHARS));
        let cut = cell(&formula);
        assert_eq!(cut.chars().count(), MAX_CELL_CHARS);
        assert!(cut.starts_with("'="));
        assert_eq!(cell(&"a".repeat(MAX_CELL_CHARS)).len(), MAX_CELL_CHARS);
    }

    #[test]
    fn separators_read_as_written_on_the_command_line() {
        assert_eq!(";".parse(), Ok(Separator::Semicolon));
        assert_eq!("comma".parse(), Ok(Separator::Comma));
        assert_eq!("tab".parse(), Ok(Separator::Tab));
        assert!("|".parse::<Separator>().is_err());
        assert_eq!(
            written(Separator::Comma, &[&["a;b", "c"]]),
            "\u{feff}a;b,c\n"
        );
    }
}
