//! Reading the file into resources: a Bundle, a single resource or NDJSON lines.

use super::datatypes::{array_at, str_at};
use crate::import::fields;
use crate::import::{Notice, Reject};
use serde_json::error::Category;
use serde_json::Value;
use std::ops::Range;

/// One resource of the file.
pub(super) struct Entry {
    pub(super) line: usize,
    pub(super) full_url: Option<String>,
    /// `request.url` of a transaction's PUT (`Patient/123`), another name for the resource.
    pub(super) put_url: Option<String>,
    /// Where the record stands in the text, for NDJSON lines.
    pub(super) span: Option<Range<usize>>,
    pub(super) resource: Value,
}

/// The resources of a file, and the records of it that could not be read.
#[derive(Default)]
pub(super) struct Resources {
    pub(super) entries: Vec<Entry>,
    pub(super) rejects: Vec<Reject>,
    pub(super) notices: Vec<Notice>,
    pub(super) records: usize,
}

pub(super) fn read(text: &str) -> Result<Resources, String> {
    if text.trim().is_empty() {
        return Err("the file is empty".into());
    }
    let whole = match serde_json::from_str::<Value>(text) {
        Ok(value) => return read_document(value),
        Err(error) => error,
    };
    // NDJSON: the first line is a JSON value on its own, or most lines are resources. A
    // truncated pretty-printed document is neither ("{" alone is not JSON, and its inner
    // objects end in commas or sit behind a key).
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let first_line_whole = lines
        .next()
        .is_some_and(|line| serde_json::from_str::<Value>(line).is_ok());
    let mostly_resources = || {
        let (mut resources, mut all) = (0, 0);
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            all += 1;
            resources += usize::from(
                serde_json::from_str::<Value>(line)
                    .is_ok_and(|value| str_at(&value, "resourceType").is_some()),
            );
        }
        resources * 2 >= all
    };
    if first_line_whole || mostly_resources() {
        read_ndjson(text)
    } else {
        Err(describe_json_error(&whole))
    }
}

fn describe_json_error(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let bare = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(bare, _)| bare);
    match error.classify() {
        Category::Eof => format!("truncated JSON at line {}: {bare}", error.line()),
        _ => format!(
            "not JSON (line {} column {}): {bare}",
            error.line(),
            error.column()
        ),
    }
}

/// The same for one NDJSON line, whose line number the reject already gives.
fn describe_line_error(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let bare = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(bare, _)| bare);
    match error.classify() {
        Category::Eof => format!("truncated JSON: {bare}"),
        _ => format!("not JSON (column {}): {bare}", error.column()),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "JSON null",
        Value::Bool(_) => "a JSON boolean",
        Value::Number(_) => "a JSON number",
        Value::String(_) => "a JSON string",
        Value::Array(_) => "a JSON array",
        Value::Object(_) => "a JSON object without resourceType",
    }
}

fn read_document(value: Value) -> Result<Resources, String> {
    let mut read = Resources::default();
    match str_at(&value, "resourceType") {
        Some("Bundle") => read_bundle(&mut read, value, None),
        Some("OperationOutcome") => {
            let said: Vec<&str> = array_at(&value, "issue")
                .iter()
                .filter_map(|issue| {
                    str_at(issue, "diagnostics").or_else(|| {
                        issue
                            .get("details")
                            .and_then(|details| str_at(details, "text"))
                    })
                })
                .collect();
            return Err(format!(
                "an OperationOutcome (the server's answer to a failed export), not data{}",
                if said.is_empty() {
                    String::new()
                } else {
                    format!(": {}", said.join("; "))
                }
            ));
        }
        Some(_) => {
            read.records = 1;
            read.entries.push(Entry {
                line: 1,
                full_url: None,
                put_url: None,
                span: None,
                resource: value,
            });
        }
        None => {
            return Err(format!(
                "{}: neither a FHIR Bundle, a FHIR resource nor NDJSON",
                json_kind(&value)
            ))
        }
    }
    Ok(read)
}

/// The entries of a Bundle; `line` is the NDJSON line the Bundle stood on, if it did.
fn read_bundle(read: &mut Resources, mut bundle: Value, line: Option<usize>) {
    if let Some(next) = array_at(&bundle, "link")
        .iter()
        .find(|link| str_at(link, "relation") == Some("next"))
    {
        read.notices.push(Notice {
            line: line.unwrap_or(0),
            field: "link".into(),
            message: format!(
                "this is one page of a search result: the next page ({}) is not in this file",
                str_at(next, "url").unwrap_or("no url")
            ),
        });
    }
    let Some(Value::Array(entries)) = bundle.get_mut("entry").map(Value::take) else {
        return;
    };
    for (index, mut entry) in entries.into_iter().enumerate() {
        let at = line.unwrap_or(index);
        let Some(resource) = entry.get_mut("resource").map(Value::take) else {
            read.notices.push(Notice {
                line: at,
                field: "request".into(),
                message: without_resource(&entry),
            });
            continue;
        };
        if str_at(&resource, "resourceType") == Some("Bundle") {
            read_bundle(read, resource, Some(at));
            continue;
        }
        read.records += 1;
        if str_at(&resource, "resourceType").is_none() {
            read.rejects.push(Reject::rejected(
                at,
                resource.to_string(),
                Some("resource"),
                format!("{}, not a FHIR resource", json_kind(&resource)),
            ));
            continue;
        }
        let request = entry.get("request");
        let put_url = request
            .filter(|request| str_at(request, "method") == Some("PUT"))
            .and_then(|request| str_at(request, "url"))
            .filter(|url| !url.contains('?'))
            .map(String::from);
        read.entries.push(Entry {
            line: at,
            full_url: str_at(&entry, "fullUrl").map(String::from),
            put_url,
            span: None,
            resource,
        });
    }
}

/// What an entry without a resource asked for, and that it is not done: Tocsin imports, it
/// does not run a transaction's requests.
fn without_resource(entry: &Value) -> String {
    let request = entry.get("request");
    let method = request.and_then(|request| str_at(request, "method"));
    let url = request
        .and_then(|request| str_at(request, "url"))
        .map_or(String::new(), |url| format!(" {}", fields::quoted(url)));
    match method {
        Some("DELETE") => format!(
            "DELETE{url}: not done; an import adds and updates, it never deletes a contact or \
             an appointment (cancel the appointment in the export instead)"
        ),
        Some(read @ ("GET" | "HEAD")) => {
            format!("{read}{url}: a request to read, with no data: ignored")
        }
        Some(other) => format!(
            "{}{url} without a resource: nothing to import",
            fields::quoted(other)
        ),
        None => "an entry without a resource: nothing to import".into(),
    }
}

fn read_ndjson(text: &str) -> Result<Resources, String> {
    let mut read = Resources::default();
    let (mut lines, mut bad) = (0, 0);
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        lines += 1;
        let number = index + 1;
        let reason = match serde_json::from_str::<Value>(line) {
            Ok(value) if str_at(&value, "resourceType") == Some("Bundle") => {
                read_bundle(&mut read, value, Some(number));
                continue;
            }
            Ok(value) if str_at(&value, "resourceType").is_some() => {
                read.records += 1;
                read.entries.push(Entry {
                    line: number,
                    full_url: None,
                    put_url: None,
                    span: Some(start..start + line.len()),
                    resource: value,
                });
                continue;
            }
            Ok(value) => format!("{}, not a FHIR resource", json_kind(&value)),
            Err(error) => describe_line_error(&error),
        };
        read.records += 1;
        bad += 1;
        read.rejects
            .push(Reject::rejected(number, line.to_string(), None, reason));
    }
    if read.entries.is_empty() && bad == lines {
        let first = &read.rejects[0];
        return Err(format!(
            "no line of {lines} is a FHIR resource (line {}: {})",
            first.line, first.reason
        ));
    }
    Ok(read)
}

#[cfg(test)]
mod tests {

    use crate::import::fhir::parse;

    const OFFICIAL: &[u8] = include_bytes!("../../../tests/fixtures/fhir/bundle-official.json");

    fn unreadable(bytes: &[u8]) -> String {
        match parse("export.json", bytes) {
            Err(error) => {
                assert_eq!(error.file, "export.json");
                error.reason
            }
            Ok(batch) => panic!("read as {batch:#?}"),
        }
    }

    #[test]
    fn ndjson_whose_every_line_is_broken_is_unreadable() {
        let reason = unreadable(b"1\n2\n3\n");
        assert_eq!(
            reason,
            "no line of 3 is a FHIR resource (line 1: a JSON number, not a FHIR resource)"
        );
        let reason = unreadable(b"{\"resourceType\":\"Patient\"\n{\"resourceType\":\n");
        assert_eq!(
            reason, "not JSON (line 2 column 1): expected `,` or `}`",
            "two cut lines read as one broken document"
        );
    }

    #[test]
    fn ndjson_with_a_broken_first_line_is_still_ndjson() {
        let lines = b"{\"resourceType\":\"Patient\",\"id\":\n\
            {\"resourceType\":\"Patient\",\"id\":\"b\",\"name\":[{\"text\":\"B\"}]}\n\
            {\"resourceType\":\"Patient\",\"id\":\"c\",\"name\":[{\"text\":\"C\"}]}\n";
        let batch = parse("export.ndjson", lines).expect("readable");
        assert_eq!(batch.records, 3);
        let ids: Vec<&str> = batch
            .contacts
            .iter()
            .map(|c| c.external_id.as_str())
            .collect();
        assert_eq!(ids, ["Patient/b", "Patient/c"]);
        assert_eq!(batch.rejects.len(), 1);
        assert_eq!(batch.rejects[0].line, 1);
        assert_eq!(
            batch.rejects[0].reason,
            "truncated JSON: EOF while parsing a value"
        );
    }

    #[test]
    fn truncated_json_is_unreadable_with_the_line_where_it_stops() {
        let cut = &OFFICIAL[..OFFICIAL.len() / 2];
        let reason = unreadable(cut);
        let line = cut.iter().filter(|&&b| b == b'\n').count() + 1;
        assert_eq!(
            reason,
            format!("truncated JSON at line {line}: EOF while parsing a string"),
        );
    }

    #[test]
    fn binary_garbage_is_unreadable() {
        let reason = unreadable(&[0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x00, 0x9c]);
        assert_eq!(
            reason,
            "not text (invalid UTF-8 at byte 1): a FHIR export is JSON or NDJSON"
        );
        let reason = unreadable(b"PK\x03\x04 not json");
        assert!(reason.starts_with("not JSON (line 1 column 1)"), "{reason}");
    }

    #[test]
    fn a_json_array_of_numbers_is_unreadable() {
        assert_eq!(
            unreadable(b"[1, 2, 3]"),
            "a JSON array: neither a FHIR Bundle, a FHIR resource nor NDJSON"
        );
        assert_eq!(
            unreadable(b"{\"name\": \"Jan\"}"),
            "a JSON object without resourceType: neither a FHIR Bundle, a FHIR resource nor NDJSON"
        );
        assert_eq!(unreadable(b"  \n"), "the file is empty");
    }

    #[test]
    fn a_servers_error_answer_is_unreadable_with_what_it_said() {
        let outcome = br#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"Access denied"}]}"#;
        assert_eq!(
            unreadable(outcome),
            "an OperationOutcome (the server's answer to a failed export), not data: Access denied"
        );
    }
}
