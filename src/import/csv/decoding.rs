//! Bytes to text: UTF-8, UTF-16 or Windows-1252, and binary files refused.

use crate::import::Unreadable;
use std::borrow::Cow;
use std::fmt::Display;

pub(super) fn unreadable(file: &str, reason: impl Into<String>) -> Unreadable {
    Unreadable {
        file: file.to_string(),
        reason: reason.into(),
    }
}

/// The file's text: UTF-8 (BOM or not), UTF-16 with a BOM, else Windows-1252.
pub(super) fn decode<'a>(file: &str, bytes: &'a [u8]) -> Result<Cow<'a, str>, Unreadable> {
    const NOT_CSV: &str = "in Excel, use Save As → CSV UTF-8 (or CSV separated by semicolons)";
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(unreadable(
            file,
            format!("this is a zip archive (an Excel .xlsx or OpenDocument workbook?), not CSV: {NOT_CSV}"),
        ));
    }
    if bytes.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
        return Err(unreadable(
            file,
            format!("this is an old Excel workbook (.xls), not CSV: {NOT_CSV}"),
        ));
    }
    if bytes.starts_with(b"%PDF") {
        return Err(unreadable(file, "this is a PDF, not CSV"));
    }
    let text: Cow<'a, str> = if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        if encoding == encoding_rs::UTF_8 {
            utf8_or_windows_1252(file, &bytes[bom..])?
        } else {
            let (text, had_errors) = encoding.decode_without_bom_handling(&bytes[bom..]);
            if had_errors {
                return Err(unreadable(
                    file,
                    format!("not valid {} text", encoding.name()),
                ));
            }
            text
        }
    } else {
        utf8_or_windows_1252(file, bytes)?
    };
    check_text(file, &text)?;
    Ok(match text {
        Cow::Borrowed(text) => Cow::Borrowed(trim_text(text)),
        Cow::Owned(text) => {
            let trimmed = trim_text(&text);
            if trimmed.len() == text.len() {
                Cow::Owned(text)
            } else {
                Cow::Owned(trimmed.to_string())
            }
        }
    })
}

/// Without a second BOM, and without the DOS end-of-file mark some tools still append.
fn trim_text(text: &str) -> &str {
    text.trim_start_matches('\u{feff}')
        .trim_end_matches('\u{1a}')
}

fn utf8_or_windows_1252<'a>(file: &str, bytes: &'a [u8]) -> Result<Cow<'a, str>, Unreadable> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Cow::Borrowed(text));
    }
    if bytes.contains(&0) {
        return Err(binary(file, "it holds NUL bytes"));
    }
    let high = bytes.iter().filter(|&&b| b >= 0x80).count();
    if high * 10 > bytes.len() * 3 {
        return Err(binary(
            file,
            format!("{high} of its {} bytes are not text", bytes.len()),
        ));
    }
    // The five bytes Windows-1252 leaves undefined.
    let undefined = bytes
        .iter()
        .filter(|&&b| matches!(b, 0x81 | 0x8D | 0x8F | 0x90 | 0x9D))
        .count();
    too_many_controls(file, undefined, bytes.len())?;
    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
    Ok(text)
}

pub(super) fn binary(file: &str, why: impl Display) -> Unreadable {
    unreadable(
        file,
        format!("not a text file ({why}): a CSV export is expected"),
    )
}

/// Refuses binary data: NUL bytes, or more than a few control characters.
fn check_text(file: &str, text: &str) -> Result<(), Unreadable> {
    let bytes = text.as_bytes();
    if bytes.contains(&0) {
        return Err(binary(file, "it holds NUL bytes"));
    }
    let controls = bytes
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1A)) || b == 0x7F)
        .count();
    too_many_controls(file, controls, bytes.len())
}

fn too_many_controls(file: &str, controls: usize, len: usize) -> Result<(), Unreadable> {
    if controls > 8 && controls * 100 > len {
        return Err(binary(
            file,
            format!("{controls} control characters in {len} bytes"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {

    use crate::import::csv::appointments;
    use crate::import::testing::unreadable_reason;

    #[test]
    fn binary_garbage_is_unreadable_and_imports_nothing() {
        let mut seed = 0x2545_f491_u32;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        let reason = unreadable_reason(appointments("noise.csv", &noise));
        assert!(reason.contains("not a text file"), "{reason}");

        let no_nul: Vec<u8> = noise.iter().map(|&b| b | 1).collect();
        let reason = unreadable_reason(appointments("noise.csv", &no_nul));
        assert!(reason.contains("not a text file"), "{reason}");

        let workbook = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml";
        let error = appointments("afspraken.xlsx", workbook).expect_err("a workbook");
        assert_eq!(error.file, "afspraken.xlsx");
        assert!(error.reason.contains("Excel .xlsx"), "{}", error.reason);

        let reason = unreadable_reason(appointments("empty.csv", b"\xEF\xBB\xBF\r\n\r\n"));
        assert!(reason.contains("empty"), "{reason}");
    }
}
