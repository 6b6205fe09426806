//! FHIR R4 exports: a JSON Bundle (collection, searchset, transaction, …), a single resource,
//! or NDJSON (one resource per line, as a bulk export writes it). Patients become patient
//! contacts, general practitioners GP contacts, and appointments bookings.
//!
//! References are resolved inside the file only: by `fullUrl` (`urn:uuid:…` or an absolute
//! URL), by `Type/id`, by `#id` for contained resources, and by identifier for logical
//! references and a transaction's conditional ones (`Patient?identifier=system|value`). A
//! bulk export writes one file per resource type: concatenate them (`cat Patient.ndjson
//! Practitioner.ndjson Appointment.ndjson`) so that an appointment finds its patient.
//!
//! Choices, where the export leaves room:
//! - Identities: every identifier of a Patient, Practitioner or Organization is one, under its
//!   own `system` (`fhir:SYSTEM|VALUE`): the same value under two systems is two people. A
//!   RIZIV/INAMI number (a system naming riziv, inami or nihdi; 11 digits, separators
//!   dropped) goes in the RIZIV namespace instead, where the CSV exports put GPs; a national
//!   number (SSIN/INSZ) is kept by its 11 digits. A resource without identifiers is known by
//!   `Type/<id>` (`fhir:|Patient/pat2`). Two resources of the file sharing an identity are
//!   one contact, unless they disagree on name and birth date (or role): the second is
//!   rejected (`identifier`).
//! - The external id people read is, for a patient, their hospital number (an identifier
//!   typed `MR`, or whose system says `mrn`), else their first other identifier; the national
//!   number only when it is the only identifier, so that it is not copied where a hospital
//!   number would do; else `Patient/<id>`. For a GP, the RIZIV/INAMI number, else the first
//!   identifier, else `Practitioner/<id>`.
//! - A `Practitioner` is a GP contact only when a patient names it as `generalPractitioner`,
//!   or when its `qualification` or one of its `PractitionerRole`s (code or specialty) says
//!   general practice (SNOMED 62247001 "General practitioner", 394814009 "General practice",
//!   408443003 "General medical practice", the Dutch Vektis specialism 0100 "Huisartsen", or a
//!   text like "general practitioner" / "huisarts" / "médecin généraliste" / "médecine
//!   générale"). Any other practitioner (a hospital specialist) is no contact, with a notice;
//!   one who performs an appointment is named on it. An `Organization` named as
//!   `generalPractitioner` (a group practice) becomes a GP contact under its own name.
//! - Language: the preferred `communication` entry if it is nl, fr or en, else the first entry
//!   that is, else the preferred (or first) one kept as written, with a notice. A patient who
//!   prefers German but reads French is written to in French rather than in the campus
//!   language.
//! - One rule with the CSV reader: a resource is rejected only when it cannot be what it
//!   stands for (a patient without an identifier or a name; an appointment without an
//!   identifier, a patient, a start, a department or a campus); a bad optional field is
//!   dropped, the rest kept, and the resource listed in the rejects file as "kept without
//!   FIELD" (`Reject::kept`). Lengths are limited as in [`super::fields`].
//! - Numbers are read in the country of the (home) address, Belgium when there is none. A
//!   number libphonenumber does not accept, or an invalid e-mail address, is dropped
//!   (`telecom.phone`, `telecom.email`) and the contact still imported: a patient without a
//!   reachable number is on the call-centre list. SMS-capable numbers go to `mobile`, others
//!   to `phone` (a fixed line marked `mobile` too, with a notice); the lowest `rank` wins a
//!   slot; `old` and ended numbers are skipped.
//! - A patient with no phone or e-mail of their own (a newborn) is reached through a
//!   `Patient.contact` who answers for them: a guardian (`GUARD`, "guardian", "voogd",
//!   "tuteur"), or a parent (`PRN`, `MTH`, `FTH` …, "mother", "ouder", "mère" …) while the
//!   patient is under 18, with a notice naming them. An emergency contact, an employer or the
//!   parent of an adult is not told of a patient's appointments.
//! - An animal patient (the `patient-animal` extension, or DSTU2's `animal`) and its
//!   appointments are skipped with a notice: counted as skipped, neither accepted nor
//!   rejected.
//! - A transaction's entries without a resource (DELETE, GET) are not run: each is a notice.
//!   An import never deletes.
//! - A reference that a record cannot stand without (an appointment's patient) rejects it when
//!   it does not resolve; one that only adds detail (GP, practitioner, location, organisation)
//!   falls back to its `display`, else to a notice.
//! - An appointment's department is the label (text, else display) of its `serviceType`, else
//!   `specialty`, `appointmentType`, `serviceCategory`; a bare code with a notice; none rejects
//!   it (`serviceType`). Its campus is the Location participant's site (the `partOf` ancestor
//!   whose physical type is `si`), else the location's own name, else its managing
//!   organisation's name, else the participant's display; none rejects it (`participant`).
//! - A status FHIR does not define, or none, is dropped and read as booked.
//! - A deceased patient (`deceasedBoolean` true, or a `deceasedDateTime`) is rejected
//!   (`deceased`), and so are their appointments: nobody is told a dead relative's
//!   appointment moved.
//! - A start without an offset is read as Brussels time, with a notice; a date without a time,
//!   or none (a proposed appointment), rejects the appointment (`start`).
//! - `Reject::line` and `Notice::line` are the 1-based line for NDJSON and a single resource,
//!   and the 0-based index in `entry` for a Bundle (`entry[3]` is line 3).

use super::fields::{self, Kind};
use super::{ImportBatch, Notice, Reject, Unreadable};
use crate::domain::{AppointmentStatus, Identity, Language, NewAppointment, NewContact, Role};
use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::error::Category;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

/// Reads a FHIR export: a JSON Bundle (type collection, searchset or transaction; also a single
/// resource) or NDJSON (one resource per line).
pub fn parse(file: &str, bytes: &[u8]) -> Result<ImportBatch, Unreadable> {
    let unreadable = |reason: String| Unreadable {
        file: file.to_string(),
        reason,
    };
    let text = std::str::from_utf8(bytes).map_err(|error| {
        unreadable(format!(
            "not text (invalid UTF-8 at byte {}): a FHIR export is JSON or NDJSON",
            error.valid_up_to()
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let read = read(text).map_err(unreadable)?;
    let mut import = Import::new(text, &read.entries);
    import.batch.records = read.records;
    import.batch.rejects = read.rejects;
    import.batch.notices = read.notices;
    import.run();
    // The rejects file in the file's order, whichever pass found the problem.
    import.batch.rejects.sort_by_key(|reject| reject.line);
    Ok(import.batch)
}

// ---------------------------------------------------------------------------------------------
// Reading the file into resources.

/// One resource of the file.
struct Entry {
    line: usize,
    full_url: Option<String>,
    /// `request.url` of a transaction's PUT (`Patient/123`), another name for the resource.
    put_url: Option<String>,
    /// Where the record stands in the text, for NDJSON lines.
    span: Option<Range<usize>>,
    resource: Value,
}

/// The resources of a file, and the records of it that could not be read.
#[derive(Default)]
struct Resources {
    entries: Vec<Entry>,
    rejects: Vec<Reject>,
    notices: Vec<Notice>,
    records: usize,
}

fn read(text: &str) -> Result<Resources, String> {
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

// ---------------------------------------------------------------------------------------------
// Mapping resources to contacts and appointments.

/// A resource: the entry it stands in, and its index in that entry's `contained` if it is
/// contained.
type Node = (usize, Option<usize>);

/// Why a resource is rejected: the field, and the reason.
type Refusal = (String, String);

fn refuse(field: &str, reason: impl Into<String>) -> Refusal {
    (field.to_string(), reason.into())
}

enum Target {
    Found(Node),
    /// A reference that names something not in the file, as written.
    Missing(String),
    /// No reference at all (absent, or a display only).
    Absent,
}

#[derive(Default)]
struct Reach {
    mobile: Option<String>,
    phone: Option<String>,
    email: Option<String>,
}

impl Reach {
    fn is_empty(&self) -> bool {
        self.mobile.is_none() && self.phone.is_none() && self.email.is_none()
    }

    fn fill(&mut self, other: Reach) {
        self.mobile = self.mobile.take().or(other.mobile);
        self.phone = self.phone.take().or(other.phone);
        self.email = self.email.take().or(other.email);
    }
}

struct Import<'a> {
    text: &'a str,
    entries: &'a [Entry],
    /// fullUrl, `Type/id` and PUT urls → entry.
    keys: HashMap<String, usize>,
    /// identifier value → entries that carry it, for logical references.
    by_identifier: HashMap<&'a str, Vec<usize>>,
    /// Practitioner → its PractitionerRole entries.
    roles_of: HashMap<Node, Vec<usize>>,
    /// Contacts built so far: their first identity, or None when rejected.
    built: HashMap<Node, Option<Identity>>,
    /// Resources left out on purpose (an animal patient), each with a notice.
    skipped: HashSet<Node>,
    /// A patient's GP, by the GP's first identity.
    patient_gp: HashMap<Node, Option<Identity>>,
    /// Every identity of the contacts kept → index in `batch.contacts`.
    contact_at: HashMap<Identity, usize>,
    batch: ImportBatch,
}

impl<'a> Import<'a> {
    fn new(text: &'a str, entries: &'a [Entry]) -> Import<'a> {
        let mut keys = HashMap::new();
        let mut by_identifier: HashMap<&'a str, Vec<usize>> = HashMap::new();
        for (index, entry) in entries.iter().enumerate() {
            let resource = &entry.resource;
            if let Some(url) = &entry.full_url {
                keys.entry(url.clone()).or_insert(index);
                if let Some(key) = type_and_id(strip_history(url)) {
                    keys.entry(key).or_insert(index);
                }
            }
            if let (Some(kind), Some(id)) =
                (str_at(resource, "resourceType"), str_at(resource, "id"))
            {
                keys.entry(format!("{kind}/{id}")).or_insert(index);
            }
            if let Some(key) = entry.put_url.as_deref().and_then(type_and_id) {
                keys.entry(key).or_insert(index);
            }
            for identifier in array_at(resource, "identifier") {
                if let Some(value) = str_at(identifier, "value") {
                    by_identifier.entry(value).or_default().push(index);
                }
            }
        }
        Import {
            text,
            entries,
            keys,
            by_identifier,
            roles_of: HashMap::new(),
            built: HashMap::new(),
            skipped: HashSet::new(),
            patient_gp: HashMap::new(),
            contact_at: HashMap::new(),
            batch: ImportBatch::default(),
        }
    }

    fn run(&mut self) {
        let entries = self.entries;
        for (index, entry) in entries.iter().enumerate() {
            if type_of(&entry.resource) == "PractitionerRole" {
                self.read_role(index);
            }
        }
        for (index, entry) in entries.iter().enumerate() {
            let node = (index, None);
            match type_of(&entry.resource) {
                "Patient" => {
                    self.contact(node);
                }
                "Practitioner" if self.is_gp(node) => {
                    self.contact(node);
                }
                "Appointment" => self.appointment(node),
                _ => {}
            }
        }
        // Only now is it known which practitioners a patient names as GP.
        for (index, entry) in entries.iter().enumerate() {
            let node = (index, None);
            if type_of(&entry.resource) == "Practitioner" && !self.built.contains_key(&node) {
                self.notice(
                    node,
                    "qualification",
                    "not a GP (no patient names this practitioner as generalPractitioner, and \
                     neither a qualification nor a PractitionerRole says general practice): not \
                     imported as a contact"
                        .into(),
                );
            }
        }
    }

    // --- the file -----------------------------------------------------------------------------

    fn res(&self, (index, contained): Node) -> &'a Value {
        let entries: &'a [Entry] = self.entries;
        let resource = &entries[index].resource;
        match contained {
            Some(at) => &array_at(resource, "contained")[at],
            None => resource,
        }
    }

    fn line(&self, node: Node) -> usize {
        self.entries[node.0].line
    }

    fn record(&self, node: Node) -> String {
        match (&self.entries[node.0].span, node.1) {
            (Some(span), None) => self.text[span.clone()].to_string(),
            _ => self.res(node).to_string(),
        }
    }

    fn notice(&mut self, node: Node, field: &str, message: String) {
        let line = self.line(node);
        self.batch.notices.push(Notice {
            line,
            field: field.to_string(),
            message,
        });
    }

    fn reject(&mut self, node: Node, (field, mut reason): Refusal) {
        let line = self.line(node);
        // Fields dropped from this record before it turned out to be rejected as a whole.
        if let Some(last) = self.batch.rejects.last() {
            if last.kept && last.line == line {
                reason.push_str(&format!("; {}", last.describe()));
                self.batch.rejects.pop();
            }
        }
        let reject = Reject::rejected(line, self.record(node), Some(&field), reason);
        self.batch.rejects.push(reject);
    }

    /// The record is taken without `field`: a "kept without" line in the rejects file.
    fn drop_field(&mut self, node: Node, field: &str, reason: String) {
        let line = self.line(node);
        let merged =
            matches!(self.batch.rejects.last(), Some(last) if last.kept && last.line == line);
        let record = if merged {
            String::new()
        } else {
            self.record(node)
        };
        self.batch.kept_without(line, || record, field, reason);
    }

    /// An optional text within its length limit, else dropped.
    fn optional(
        &mut self,
        node: Node,
        kind: Kind,
        field: &str,
        value: Option<String>,
    ) -> Option<String> {
        let value = value?;
        match fields::too_long(kind, &value) {
            Some(reason) => {
                self.drop_field(node, field, reason);
                None
            }
            None => Some(value),
        }
    }

    fn resolve(&self, reference: Option<&Value>, from: Node) -> Target {
        let Some(reference) = reference else {
            return Target::Absent;
        };
        if let Some(literal) = str_at(reference, "reference") {
            if let Some(local) = literal.strip_prefix('#') {
                if local.is_empty() {
                    return Target::Found((from.0, None));
                }
                let container = &self.entries[from.0].resource;
                return match array_at(container, "contained")
                    .iter()
                    .position(|resource| str_at(resource, "id") == Some(local))
                {
                    Some(at) => Target::Found((from.0, Some(at))),
                    None => Target::Missing(literal.to_string()),
                };
            }
            // A transaction's conditional reference: `Patient?identifier=system|value`.
            if let Some((kind, query)) = literal.split_once('?') {
                let Some(wanted) = query.split('&').find_map(|p| p.strip_prefix("identifier="))
                else {
                    return Target::Missing(literal.to_string());
                };
                let wanted = percent_decoded(wanted);
                let (system, value) = match wanted.split_once('|') {
                    Some((system, value)) => ((!system.is_empty()).then_some(system), value),
                    None => (None, wanted.as_str()),
                };
                let kind = (!kind.is_empty()).then_some(kind);
                return self.by_identifier(kind, system, value);
            }
            return match self.lookup(literal) {
                Some(index) => Target::Found((index, None)),
                None => Target::Missing(literal.to_string()),
            };
        }
        if let Some(identifier) = reference.get("identifier") {
            if let Some(value) = str_at(identifier, "value") {
                let system = str_at(identifier, "system");
                let kind = str_at(reference, "type");
                return self.by_identifier(kind, system, value);
            }
        }
        Target::Absent
    }

    /// A logical reference: the resource of that type carrying that identifier.
    fn by_identifier(&self, kind: Option<&str>, system: Option<&str>, value: &str) -> Target {
        let found = self.by_identifier.get(value).and_then(|candidates| {
            candidates.iter().copied().find(|&index| {
                let resource = &self.entries[index].resource;
                kind.is_none_or(|kind| type_of(resource) == kind)
                    && array_at(resource, "identifier").iter().any(|other| {
                        str_at(other, "value") == Some(value)
                            && system.is_none_or(|system| str_at(other, "system") == Some(system))
                    })
            })
        });
        match found {
            Some(index) => Target::Found((index, None)),
            None => Target::Missing(format!(
                "{} with identifier {}{value}",
                kind.unwrap_or("resource"),
                system
                    .map(|system| format!("{system}|"))
                    .unwrap_or_default()
            )),
        }
    }

    fn lookup(&self, literal: &str) -> Option<usize> {
        if let Some(&index) = self.keys.get(literal) {
            return Some(index);
        }
        let unversioned = strip_history(literal);
        if let Some(&index) = self.keys.get(unversioned) {
            return Some(index);
        }
        type_and_id(unversioned).and_then(|key| self.keys.get(&key).copied())
    }

    /// The Practitioner an actor names, directly or through a PractitionerRole.
    fn practitioner_of(&self, actor: Option<&Value>, from: Node) -> Option<Node> {
        let Target::Found(node) = self.resolve(actor, from) else {
            return None;
        };
        match type_of(self.res(node)) {
            "Practitioner" => Some(node),
            "PractitionerRole" => match self.resolve(self.res(node).get("practitioner"), node) {
                Target::Found(practitioner)
                    if type_of(self.res(practitioner)) == "Practitioner" =>
                {
                    Some(practitioner)
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// External id for a resource that has no identifier: `Type/id`, the fullUrl, or the
    /// container's id with `#id` for a contained resource.
    fn fallback_id(&self, node: Node) -> Option<String> {
        let resource = self.res(node);
        match node.1 {
            None => {
                let entry = &self.entries[node.0];
                match str_at(resource, "id") {
                    Some(id) => Some(format!("{}/{id}", type_of(resource))),
                    None => entry.full_url.as_deref().map(|url| {
                        type_and_id(strip_history(url)).unwrap_or_else(|| url.to_string())
                    }),
                }
            }
            Some(_) => {
                let container = self.fallback_id((node.0, None))?;
                Some(format!("{container}#{}", str_at(resource, "id")?))
            }
        }
    }

    fn no_id() -> Refusal {
        refuse("identifier", "no identifier, id or fullUrl to know it by")
    }

    // --- contacts -----------------------------------------------------------------------------

    /// The contact a Patient, Practitioner or Organization becomes, built once; by its first
    /// identity.
    fn contact(&mut self, node: Node) -> Option<Identity> {
        if let Some(done) = self.built.get(&node) {
            return done.clone();
        }
        // Guards against references that loop back (a GP that names itself).
        self.built.insert(node, None);
        if type_of(self.res(node)) == "Patient" && is_animal(self.res(node)) {
            self.skip(
                node,
                "extension",
                "an animal patient (patient-animal): not a person to write to, not imported".into(),
            );
            return None;
        }
        let built = match type_of(self.res(node)) {
            "Patient" => self.patient(node),
            "Practitioner" => self.practitioner(node),
            "Organization" => self.practice(node),
            other => Err(refuse(
                "resourceType",
                format!("a {other} is not a contact"),
            )),
        };
        let identity = match built {
            Ok(contact) => self.keep(node, contact),
            Err(refusal) => {
                self.reject(node, refusal);
                None
            }
        };
        self.built.insert(node, identity.clone());
        identity
    }

    /// Adds a contact, merged with one the file already gave under one of its identities
    /// (the same system and value) — unless the two cannot be one person, which rejects this
    /// one.
    fn keep(&mut self, node: Node, contact: NewContact) -> Option<Identity> {
        let shared = contact
            .identities
            .iter()
            .find_map(|identity| Some((identity, *self.contact_at.get(identity)?)));
        let Some((shared, at)) = shared else {
            let at = self.batch.contacts.len();
            for identity in &contact.identities {
                self.contact_at.insert(identity.clone(), at);
            }
            let first = contact.identities.first().cloned();
            self.batch.contacts.push(contact);
            return first;
        };
        if let Some(reason) = contact.disagreement(&self.batch.contacts[at]) {
            let shared = shared.to_string();
            self.reject(
                node,
                refuse(
                    "identifier",
                    format!("{shared} is already that of another record of this file: {reason}"),
                ),
            );
            return None;
        }
        for identity in &contact.identities {
            self.contact_at.entry(identity.clone()).or_insert(at);
        }
        let existing = &mut self.batch.contacts[at];
        for identity in contact.identities {
            if !existing.identities.contains(&identity) {
                existing.identities.push(identity);
            }
        }
        if existing.first_name.is_empty() && existing.last_name.is_empty() {
            existing.first_name = contact.first_name;
            existing.last_name = contact.last_name;
        }
        existing.language = existing.language.take().or(contact.language);
        existing.mobile = existing.mobile.take().or(contact.mobile);
        existing.phone = existing.phone.take().or(contact.phone);
        existing.email = existing.email.take().or(contact.email);
        existing.organisation = existing.organisation.take().or(contact.organisation);
        existing.birth_date = existing.birth_date.or(contact.birth_date);
        existing.identities.first().cloned()
    }

    fn patient(&mut self, node: Node) -> Result<NewContact, Refusal> {
        let resource = self.res(node);
        let (external_id, identities) = self.patient_id(node)?;
        within(Kind::Id, "identifier", &external_id)?;
        let deceased = resource.get("deceasedBoolean").and_then(Value::as_bool) == Some(true)
            || str_at(resource, "deceasedDateTime").is_some();
        if deceased {
            return Err(refuse(
                "deceased",
                "the patient has died: not to be contacted",
            ));
        }
        let (first_name, last_name) = person_name(resource.get("name"));
        if first_name.is_empty() && last_name.is_empty() {
            return Err(refuse(
                "name",
                "no name: a message cannot be addressed to a patient without one",
            ));
        }
        within(Kind::Name, "name.given", &first_name)?;
        within(Kind::Name, "name.family", &last_name)?;
        let birth_date = self.birth_date(node);
        let choices: Vec<_> = array_at(resource, "communication")
            .iter()
            .map(|communication| {
                (
                    communication
                        .get("language")
                        .map_or(Err(None), concept_language),
                    communication.get("preferred").and_then(Value::as_bool) == Some(true),
                )
            })
            .collect();
        let language = self.language(node, choices);
        let region = self.region(node);
        let mut reach = self.telecom(
            node,
            "telecom",
            array_at(resource, "telecom"),
            region.as_deref(),
        );
        if reach.is_empty() {
            reach = self.representative(node, birth_date, region.as_deref());
        }
        let gp = self.general_practitioner(node);
        self.patient_gp.insert(node, gp);
        Ok(NewContact {
            external_id,
            identities,
            role: Role::Patient,
            first_name,
            last_name,
            language,
            mobile: reach.mobile,
            phone: reach.phone,
            email: reach.email,
            telegram_chat_id: None,
            organisation: None,
            birth_date,
        })
    }

    /// The phone and e-mail of the person who answers for a patient with none of their own
    /// (a newborn): a guardian's, or a parent's while the patient is under 18. Any other
    /// `Patient.contact` (an emergency contact, an employer, a parent of an adult) is not told
    /// of a patient's appointments.
    fn representative(
        &mut self,
        node: Node,
        birth_date: Option<NaiveDate>,
        region: Option<&str>,
    ) -> Reach {
        let minor = birth_date.is_some_and(|born| {
            let today = Utc::now().date_naive();
            today.years_since(born).is_some_and(|years| years < 18)
        });
        let resource = self.res(node);
        for person in array_at(resource, "contact") {
            let Some(relation) = representative_relation(person) else {
                continue;
            };
            if relation == Relation::Parent && !minor {
                continue;
            }
            let reach = self.telecom(node, "contact.telecom", array_at(person, "telecom"), region);
            if reach.is_empty() {
                continue;
            }
            let (first, last) = person.get("name").map(human_name).unwrap_or_default();
            let name = format!("{first} {last}");
            let who = match name.trim() {
                "" => relation.noun().to_string(),
                name => format!("{} {name}", relation.noun()),
            };
            self.notice(
                node,
                "contact",
                format!(
                    "no phone or e-mail of the patient's own: messages go to the {who}, who \
                     answers for them"
                ),
            );
            return reach;
        }
        Reach::default()
    }

    /// The id people read (see the module's choices) and every identity of the patient,
    /// that id's first.
    fn patient_id(&self, node: Node) -> Result<(String, Vec<Identity>), Refusal> {
        let identifiers: Vec<&Value> = usable_identifiers(self.res(node)).collect();
        let chosen = identifiers
            .iter()
            .find(|identifier| is_hospital_number(identifier) && !is_ssin(identifier))
            .or_else(|| identifiers.iter().find(|identifier| !is_ssin(identifier)))
            .or_else(|| identifiers.iter().find(|identifier| is_ssin(identifier)));
        match chosen.and_then(|identifier| identity_of(identifier)) {
            Some(first) => Ok((first.value.clone(), self.identities(node, first))),
            None => {
                let id = self.fallback_id(node).ok_or_else(Self::no_id)?;
                Ok((id.clone(), vec![Identity::fhir("", id)]))
            }
        }
    }

    /// `first`, then the resource's other identities.
    fn identities(&self, node: Node, first: Identity) -> Vec<Identity> {
        let mut identities = vec![first];
        for identity in usable_identifiers(self.res(node)).filter_map(identity_of) {
            if !identities.contains(&identity) {
                identities.push(identity);
            }
        }
        identities
    }

    /// The GP a patient names, imported as a contact; by its first identity.
    fn general_practitioner(&mut self, patient: Node) -> Option<Identity> {
        let mut practitioner = None;
        let mut practice = None;
        let mut by_riziv = None;
        for reference in array_at(self.res(patient), "generalPractitioner") {
            match self.resolve(Some(reference), patient) {
                Target::Found(node) => match type_of(self.res(node)) {
                    "Practitioner" => {
                        practitioner.get_or_insert(node);
                    }
                    "PractitionerRole" => {
                        if let Some(node) = self.practitioner_of(Some(reference), patient) {
                            practitioner.get_or_insert(node);
                        }
                    }
                    "Organization" => {
                        practice.get_or_insert(node);
                    }
                    other => self.notice(
                        patient,
                        "generalPractitioner",
                        format!("names a {other}, not a practitioner: ignored"),
                    ),
                },
                Target::Missing(missing) => {
                    // A logical reference by RIZIV number finds a GP imported from elsewhere.
                    let riziv = reference.get("identifier").and_then(|identifier| {
                        str_at(identifier, "system")
                            .filter(|system| is_riziv(system))
                            .and(str_at(identifier, "value"))
                            .and_then(|value| digits_if(value, 11))
                    });
                    match riziv {
                        Some(riziv) => {
                            by_riziv.get_or_insert(Identity::riziv(riziv));
                        }
                        None => self.notice(
                            patient,
                            "generalPractitioner",
                            format!("{missing} is not in the file: imported without that GP"),
                        ),
                    }
                }
                Target::Absent => {}
            }
        }
        if let Some(node) = practitioner {
            if let Some(id) = self.contact(node) {
                return Some(id);
            }
        }
        if let Some(node) = practice {
            if let Some(id) = self.contact(node) {
                return Some(id);
            }
        }
        by_riziv
    }

    fn read_role(&mut self, index: usize) {
        let node = (index, None);
        let reference = self.res(node).get("practitioner");
        match self.resolve(reference, node) {
            Target::Found(practitioner) if type_of(self.res(practitioner)) == "Practitioner" => {
                self.roles_of.entry(practitioner).or_default().push(index);
            }
            Target::Found(other) => {
                let kind = type_of(self.res(other));
                self.reject(
                    node,
                    refuse(
                        "practitioner",
                        format!("names a {kind}, not a Practitioner"),
                    ),
                );
            }
            Target::Missing(missing) => self.reject(
                node,
                refuse("practitioner", format!("{missing} is not in the file")),
            ),
            Target::Absent => {}
        }
    }

    /// Whether the practitioner's qualification or one of its roles says general practice
    /// (a patient naming it as `generalPractitioner` makes it a GP contact too, through
    /// [`Import::general_practitioner`]).
    fn is_gp(&self, practitioner: Node) -> bool {
        let qualified = array_at(self.res(practitioner), "qualification")
            .iter()
            .filter_map(|qualification| qualification.get("code"))
            .any(is_general_practice);
        qualified
            || self.roles_of.get(&practitioner).is_some_and(|roles| {
                roles.iter().any(|&role| {
                    let role = &self.entries[role].resource;
                    array_at(role, "code")
                        .iter()
                        .chain(array_at(role, "specialty"))
                        .any(is_general_practice)
                })
            })
    }

    fn practitioner(&mut self, node: Node) -> Result<NewContact, Refusal> {
        let resource = self.res(node);
        let (external_id, identities) = self.practitioner_id(node)?;
        within(Kind::Id, "identifier", &external_id)?;
        let (first_name, last_name) = person_name(resource.get("name"));
        within(Kind::Name, "name.given", &first_name)?;
        within(Kind::Name, "name.family", &last_name)?;
        let choices = array_at(resource, "communication")
            .iter()
            .map(|concept| (concept_language(concept), false))
            .collect();
        let language = self.language(node, choices);
        let region = self.region(node);
        let mut reach = self.telecom(
            node,
            "telecom",
            array_at(resource, "telecom"),
            region.as_deref(),
        );
        let mut organisation = None;
        let roles = self.roles_of.get(&node).cloned().unwrap_or_default();
        for role in roles {
            let role = (role, None);
            let role_resource = self.res(role);
            let more = self.telecom(
                role,
                "telecom",
                array_at(role_resource, "telecom"),
                region.as_deref(),
            );
            reach.fill(more);
            if organisation.is_none() {
                let name = self.organisation_name(role_resource.get("organization"), role);
                organisation = self.optional(role, Kind::Text, "organization", name);
            }
        }
        Ok(NewContact {
            external_id,
            identities,
            role: Role::Gp,
            first_name,
            last_name,
            language,
            mobile: reach.mobile,
            phone: reach.phone,
            email: reach.email,
            telegram_chat_id: None,
            organisation,
            birth_date: None,
        })
    }

    /// A group practice named as a patient's GP.
    fn practice(&mut self, node: Node) -> Result<NewContact, Refusal> {
        let resource = self.res(node);
        let (external_id, identities) = self.practitioner_id(node)?;
        within(Kind::Id, "identifier", &external_id)?;
        let name = str_at(resource, "name").map(String::from);
        within(Kind::Text, "name", name.as_deref().unwrap_or_default())?;
        let region = self.region(node);
        let reach = self.telecom(
            node,
            "telecom",
            array_at(resource, "telecom"),
            region.as_deref(),
        );
        Ok(NewContact {
            external_id,
            identities,
            role: Role::Gp,
            first_name: String::new(),
            last_name: name.clone().unwrap_or_default(),
            language: None,
            mobile: reach.mobile,
            phone: reach.phone,
            email: reach.email,
            telegram_chat_id: None,
            organisation: name,
            birth_date: None,
        })
    }

    /// The id people read — the RIZIV/INAMI number, else the first identifier — and every
    /// identity, that id's first.
    fn practitioner_id(&mut self, node: Node) -> Result<(String, Vec<Identity>), Refusal> {
        let resource = self.res(node);
        for identifier in usable_identifiers(resource) {
            if !str_at(identifier, "system").is_some_and(is_riziv) {
                continue;
            }
            let value = str_at(identifier, "value").unwrap_or_default();
            match digits_if(value, 11) {
                Some(riziv) => {
                    return Ok((riziv.clone(), self.identities(node, Identity::riziv(riziv))))
                }
                None => self.notice(
                    node,
                    "identifier",
                    format!("{value:?} is not an 11-digit RIZIV/INAMI number"),
                ),
            }
        }
        match usable_identifiers(resource).find_map(identity_of) {
            Some(first) => Ok((first.value.clone(), self.identities(node, first))),
            None => {
                let id = self.fallback_id(node).ok_or_else(Self::no_id)?;
                Ok((id.clone(), vec![Identity::fhir("", id)]))
            }
        }
    }

    fn organisation_name(&mut self, reference: Option<&Value>, from: Node) -> Option<String> {
        let display = reference
            .and_then(|reference| str_at(reference, "display"))
            .map(String::from);
        match self.resolve(reference, from) {
            Target::Found(node) => str_at(self.res(node), "name").map(String::from).or(display),
            Target::Missing(missing) => {
                if display.is_none() {
                    self.notice(
                        from,
                        "organization",
                        format!("{missing} is not in the file: imported without an organisation"),
                    );
                }
                display
            }
            Target::Absent => display,
        }
    }

    fn birth_date(&mut self, node: Node) -> Option<NaiveDate> {
        let raw = str_at(self.res(node), "birthDate")?;
        match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                let partial = matches!(raw.len(), 4 | 7)
                    && raw.chars().all(|c| c.is_ascii_digit() || c == '-');
                let why = if partial {
                    "is only a year or a month"
                } else {
                    "is not a date"
                };
                self.drop_field(node, "birthDate", format!("{} {why}", fields::quoted(raw)));
                None
            }
        }
    }

    /// One of ours when the contact reads one, else what the export says, with a notice.
    fn language(
        &mut self,
        node: Node,
        choices: Vec<(Result<Language, Option<String>>, bool)>,
    ) -> Option<String> {
        let ours = |preferred_only: bool| {
            choices
                .iter()
                .filter(|(_, preferred)| *preferred || !preferred_only)
                .find_map(|(language, _)| language.as_ref().ok().copied())
        };
        if let Some(language) = ours(true).or_else(|| ours(false)) {
            return Some(language.code().to_string());
        }
        let raw = choices
            .iter()
            .find(|(_, preferred)| *preferred)
            .or_else(|| choices.first())
            .and_then(|(language, _)| language.as_ref().err().cloned().flatten())?;
        let raw = self.optional(node, Kind::Code, "communication", Some(raw))?;
        self.notice(
            node,
            "communication",
            format!(
                "{raw:?} is not nl, fr or en: kept as exported (messages go in the campus \
                 language, else English)"
            ),
        );
        Some(raw)
    }

    /// The ISO country numbers without a country code are read in: the home address's.
    fn region(&mut self, node: Node) -> Option<String> {
        let addresses = array_at(self.res(node), "address");
        let current = || {
            addresses.iter().filter(|address| {
                str_at(address, "use") != Some("old") && str_at(address, "country").is_some()
            })
        };
        let address = current()
            .find(|address| str_at(address, "use") == Some("home"))
            .or_else(|| current().next())?;
        let country = str_at(address, "country")?;
        let code = country_code(country);
        if code.is_none() {
            self.notice(
                node,
                "address.country",
                format!(
                    "{} is not a country Tocsin knows: numbers are read as Belgian",
                    fields::quoted(country)
                ),
            );
        }
        code
    }

    /// The numbers and address of `points` (the `field` of `node`): one that cannot be read is
    /// dropped, with a "kept without" line.
    fn telecom(
        &mut self,
        node: Node,
        field: &str,
        points: &'a [Value],
        region: Option<&str>,
    ) -> Reach {
        let mut points: Vec<&Value> = points.iter().collect();
        points.sort_by_key(|point| {
            point
                .get("rank")
                .and_then(Value::as_u64)
                .unwrap_or(u64::MAX)
        });
        let today = Utc::now().date_naive();
        let mut reach = Reach::default();
        for point in points {
            let Some(value) = str_at(point, "value") else {
                continue;
            };
            let used_as = str_at(point, "use");
            let ended = point
                .get("period")
                .and_then(|period| str_at(period, "end"))
                .and_then(|end| NaiveDate::parse_from_str(end.get(..10)?, "%Y-%m-%d").ok())
                .is_some_and(|end| end < today);
            if used_as == Some("old") || ended {
                continue;
            }
            match str_at(point, "system") {
                Some("email") => match fields::email(value) {
                    Ok(address) => {
                        reach.email.get_or_insert(address);
                    }
                    Err(why) => self.drop_field(node, &format!("{field}.email"), why),
                },
                Some(system @ ("phone" | "sms")) => {
                    let number = match fields::phone(value, region) {
                        Ok(number) => number,
                        Err(error) => {
                            let read_as = if region.is_none() {
                                " (no address country: read as Belgian)"
                            } else {
                                ""
                            };
                            self.drop_field(
                                node,
                                &format!("{field}.phone"),
                                format!("{error}{read_as}"),
                            );
                            continue;
                        }
                    };
                    if number.sms_capable {
                        reach.mobile.get_or_insert(number.e164);
                    } else {
                        if system == "sms" || used_as == Some("mobile") {
                            self.notice(
                                node,
                                &format!("{field}.phone"),
                                format!(
                                    "{value:?} is marked mobile but takes no SMS: kept as a \
                                     phone for the call centre"
                                ),
                            );
                        }
                        reach.phone.get_or_insert(number.e164);
                    }
                }
                _ => {}
            }
        }
        reach
    }

    // --- appointments -------------------------------------------------------------------------

    fn appointment(&mut self, node: Node) {
        match self.booking(node) {
            Ok(Some(appointment)) => self.batch.appointments.push(appointment),
            Ok(None) => {}
            Err(refusal) => self.reject(node, refusal),
        }
    }

    /// A record read and left out on purpose, with a notice: counted apart from those
    /// accepted and rejected.
    fn skip(&mut self, node: Node, field: &str, message: String) {
        self.notice(node, field, message);
        if node.1.is_none() {
            self.batch.skipped += 1;
        }
        self.skipped.insert(node);
    }

    /// The appointment, or None when it is skipped (an animal's).
    fn booking(&mut self, node: Node) -> Result<Option<NewAppointment>, Refusal> {
        let resource = self.res(node);
        let external_id = usable_identifiers(resource)
            .find_map(|identifier| str_at(identifier, "value"))
            .map(String::from)
            .or_else(|| self.fallback_id(node))
            .ok_or_else(Self::no_id)?;
        within(Kind::Id, "identifier", &external_id)?;
        // The patient first: a contained patient is a contact even if its booking is refused.
        let mut patient = None;
        let mut missing_patients = Vec::new();
        let mut practitioner = None;
        let mut location = None;
        let mut location_display = None;
        for participant in array_at(resource, "participant") {
            let actor = participant.get("actor");
            let display = actor.and_then(|actor| str_at(actor, "display"));
            let named = actor.and_then(|actor| {
                str_at(actor, "type").or_else(|| {
                    str_at(actor, "reference")
                        .and_then(|literal| type_and_id(strip_history(literal)))
                        .and_then(|key| key.split_once('/').map(|(kind, _)| kind.to_string()))
                        .and_then(|kind| {
                            ["Patient", "Practitioner", "PractitionerRole", "Location"]
                                .into_iter()
                                .find(|known| *known == kind)
                        })
                })
            });
            match self.resolve(actor, node) {
                Target::Found(found) => match type_of(self.res(found)) {
                    "Patient" => {
                        patient.get_or_insert(found);
                    }
                    "Practitioner" | "PractitionerRole" if practitioner.is_none() => {
                        practitioner = self
                            .practitioner_of(actor, node)
                            .and_then(|found| display_name(self.res(found)))
                            .or(display.map(String::from));
                    }
                    "Location" => {
                        location.get_or_insert(found);
                    }
                    _ => {}
                },
                Target::Missing(missing) => match named {
                    Some("Practitioner" | "PractitionerRole") => {
                        practitioner = practitioner.or(display.map(String::from));
                    }
                    Some("Location") => {
                        location_display = location_display.or(display);
                    }
                    Some("Patient") | None => missing_patients.push(missing),
                    Some(_) => {}
                },
                Target::Absent => match named {
                    Some("Practitioner" | "PractitionerRole") => {
                        practitioner = practitioner.or(display.map(String::from));
                    }
                    Some("Location") => location_display = location_display.or(display),
                    _ => {}
                },
            }
        }
        let Some(patient) = patient else {
            return Err(refuse(
                "participant",
                if missing_patients.is_empty() {
                    "no Patient among the participants".to_string()
                } else {
                    format!(
                        "the patient {} is not in the file",
                        missing_patients.join(", ")
                    )
                },
            ));
        };
        let patient_identity = self.contact(patient);
        if self.skipped.contains(&patient) {
            self.skip(
                node,
                "participant",
                "the appointment of an animal patient: not imported".into(),
            );
            return Ok(None);
        }
        let Some(patient_identity) = patient_identity else {
            let name = self.fallback_id(patient).unwrap_or_else(|| "named".into());
            return Err(refuse(
                "participant",
                format!("the patient {name} was rejected (see its own line)"),
            ));
        };
        let status = match str_at(resource, "status") {
            Some(
                "proposed" | "pending" | "booked" | "arrived" | "fulfilled" | "checked-in"
                | "waitlist",
            ) => AppointmentStatus::Booked,
            Some("cancelled" | "noshow" | "entered-in-error") => AppointmentStatus::Cancelled,
            // A patient is better told of an appointment already cancelled than not told of
            // one that is not.
            Some(other) => {
                let why = format!(
                    "{} is not an appointment status; read as booked",
                    fields::quoted(other)
                );
                self.drop_field(node, "status", why);
                AppointmentStatus::Booked
            }
            None => {
                self.drop_field(node, "status", "no status; read as booked".into());
                AppointmentStatus::Booked
            }
        };
        let raw_start = str_at(resource, "start").ok_or_else(|| {
            refuse(
                "start",
                "no start time (a proposed or requested appointment has none yet)",
            )
        })?;
        within(Kind::Code, "start", raw_start)?;
        let (starts_at, local) = start_time(raw_start).map_err(|why| refuse("start", why))?;
        let department = self.department(node)?;
        within(Kind::Place, "serviceType", &department)?;
        let campus = location
            .and_then(|location| self.campus(location))
            .or(location_display.map(String::from))
            .ok_or_else(|| {
                refuse(
                    "participant",
                    "no Location to name the campus: the patient would not know where",
                )
            })?;
        within(Kind::Place, "participant", &campus)?;
        let practitioner = self.optional(node, Kind::Text, "participant", practitioner);
        if local {
            self.notice(
                node,
                "start",
                format!("{raw_start:?} has no UTC offset: read as Brussels time"),
            );
        }
        Ok(Some(NewAppointment {
            external_id,
            gp: self.patient_gp.get(&patient).cloned().flatten(),
            patient: patient_identity,
            starts_at,
            campus,
            department,
            practitioner,
            status,
        }))
    }

    fn department(&mut self, node: Node) -> Result<String, Refusal> {
        let resource = self.res(node);
        let concepts: Vec<&Value> = array_at(resource, "serviceType")
            .iter()
            .chain(array_at(resource, "specialty"))
            .chain(resource.get("appointmentType"))
            .chain(array_at(resource, "serviceCategory"))
            .collect();
        if let Some(label) = concepts.iter().find_map(|concept| concept_label(concept)) {
            return Ok(label.to_string());
        }
        let code = concepts
            .iter()
            .flat_map(|concept| array_at(concept, "coding"))
            .find_map(|coding| str_at(coding, "code"))
            .ok_or_else(|| {
                refuse(
                    "serviceType",
                    "no serviceType, specialty, appointmentType or serviceCategory to name the \
                     department",
                )
            })?;
        self.notice(
            node,
            "serviceType",
            format!(
                "the department has only a code: named {}",
                fields::quoted(code)
            ),
        );
        Ok(code.to_string())
    }

    /// The campus a location is on: its site, else its own name, else its organisation's.
    fn campus(&mut self, location: Node) -> Option<String> {
        let mut seen = vec![location];
        let mut at = location;
        loop {
            let resource = self.res(at);
            let is_site = resource
                .get("physicalType")
                .map(|concept| array_at(concept, "coding"))
                .unwrap_or_default()
                .iter()
                .any(|coding| str_at(coding, "code") == Some("si"));
            if is_site {
                if let Some(name) = str_at(resource, "name") {
                    return Some(name.to_string());
                }
            }
            match self.resolve(resource.get("partOf"), at) {
                Target::Found(parent)
                    if type_of(self.res(parent)) == "Location" && !seen.contains(&parent) =>
                {
                    seen.push(parent);
                    at = parent;
                }
                _ => break,
            }
        }
        let resource = self.res(location);
        if let Some(name) = str_at(resource, "name") {
            return Some(name.to_string());
        }
        self.organisation_name(resource.get("managingOrganization"), location)
    }
}

// ---------------------------------------------------------------------------------------------
// Small readers of FHIR datatypes.

/// Refuses a value the record cannot stand without when it is over its length limit.
fn within(kind: Kind, field: &str, value: &str) -> Result<(), Refusal> {
    match fields::too_long(kind, value) {
        Some(reason) => Err(refuse(field, reason)),
        None => Ok(()),
    }
}

/// Who may answer for a patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Parent,
    Guardian,
}

impl Relation {
    fn noun(self) -> &'static str {
        match self {
            Relation::Parent => "parent",
            Relation::Guardian => "guardian",
        }
    }
}

/// Whether a `Patient.contact` is the patient's parent or guardian, by its relationship's
/// codes (HL7 v3 RoleCode) or words.
fn representative_relation(person: &Value) -> Option<Relation> {
    let concepts = array_at(person, "relationship");
    let codes = concepts
        .iter()
        .flat_map(|concept| array_at(concept, "coding"))
        .filter_map(|coding| str_at(coding, "code"));
    let words = concepts
        .iter()
        .flat_map(|concept| {
            array_at(concept, "coding")
                .iter()
                .filter_map(|coding| str_at(coding, "display"))
                .chain(str_at(concept, "text"))
        })
        .map(str::to_lowercase)
        .collect::<Vec<_>>();
    let mut found = None;
    for code in codes {
        match code {
            "GUARD" => return Some(Relation::Guardian),
            "PRN" | "NPRN" | "MTH" | "FTH" | "NMTH" | "NFTH" | "ADOPTP" | "ADOPTM" | "ADOPTF"
            | "STPPRN" | "STPMTH" | "STPFTH" | "GESTM" | "FTHFOST" | "MTHFOST" | "PRNFOST" => {
                found = Some(Relation::Parent)
            }
            _ => {}
        }
    }
    let says = |marks: &[&str]| {
        words
            .iter()
            .any(|word| marks.iter().any(|mark| word.contains(mark)))
    };
    if says(&["guardian", "voogd", "tuteur", "tutrice"]) {
        return Some(Relation::Guardian);
    }
    if says(&[
        "parent", "mother", "father", "ouder", "moeder", "vader", "mère", "mere", "père", "pere",
    ]) {
        found = Some(Relation::Parent);
    }
    found
}

/// An animal patient (R4's `patient-animal` extension, or DSTU2's `animal` element): not a
/// person to write to.
fn is_animal(resource: &Value) -> bool {
    resource.get("animal").is_some()
        || array_at(resource, "extension").iter().any(|extension| {
            str_at(extension, "url")
                == Some("http://hl7.org/fhir/StructureDefinition/patient-animal")
        })
}

fn str_at<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

fn array_at<'v>(value: &'v Value, key: &str) -> &'v [Value] {
    value
        .get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn type_of(resource: &Value) -> &str {
    str_at(resource, "resourceType").unwrap_or_default()
}

fn strip_history(reference: &str) -> &str {
    reference
        .find("/_history/")
        .map_or(reference, |at| &reference[..at])
}

/// `Type/id` from the end of a reference or URL.
fn type_and_id(reference: &str) -> Option<String> {
    let mut parts = reference.rsplit('/');
    let id = parts.next().filter(|id| !id.is_empty())?;
    let kind = parts
        .next()
        .filter(|kind| kind.starts_with(|c: char| c.is_ascii_uppercase()))?;
    Some(format!("{kind}/{id}"))
}

/// The digits of a number written with separators ("1-23456-78-901"), when there are `len`.
fn digits_if(value: &str, len: usize) -> Option<String> {
    let separators_only = value
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '/'));
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    (separators_only && digits.len() == len).then_some(digits)
}

/// An identifier as an identity: a RIZIV/INAMI number in the RIZIV namespace (shared with the
/// CSV exports), a national number by its digits, anything else under its own system.
fn identity_of(identifier: &Value) -> Option<Identity> {
    let value = str_at(identifier, "value")?.trim();
    let system = str_at(identifier, "system").unwrap_or_default();
    if is_riziv(system) {
        if let Some(riziv) = digits_if(value, 11) {
            return Some(Identity::riziv(riziv));
        }
    }
    if is_ssin(&identifier) {
        if let Some(ssin) = digits_if(value, 11) {
            return Some(Identity::fhir(system, ssin));
        }
    }
    Some(Identity::fhir(system, value))
}

fn usable_identifiers(resource: &Value) -> impl Iterator<Item = &Value> {
    array_at(resource, "identifier")
        .iter()
        .filter(|identifier| {
            str_at(identifier, "value").is_some() && str_at(identifier, "use") != Some("old")
        })
}

fn identifier_type_codes(identifier: &Value) -> impl Iterator<Item = &str> {
    identifier
        .get("type")
        .map(|concept| array_at(concept, "coding"))
        .unwrap_or_default()
        .iter()
        .filter_map(|coding| str_at(coding, "code"))
}

/// The Belgian national number (SSIN, INSZ/NISS, rijksregisternummer).
fn is_ssin(identifier: &&Value) -> bool {
    let system = str_at(identifier, "system")
        .unwrap_or_default()
        .to_lowercase();
    [
        "ssin",
        "inss",
        "niss",
        "insz",
        "rijksregister",
        "registre-national",
    ]
    .iter()
    .any(|mark| system.contains(mark))
        || identifier_type_codes(identifier).any(|code| matches!(code, "NN" | "NI"))
}

fn is_hospital_number(identifier: &&Value) -> bool {
    identifier_type_codes(identifier).any(|code| code == "MR")
        || str_at(identifier, "system").is_some_and(|system| system.to_lowercase().contains("mrn"))
}

fn is_riziv(system: &str) -> bool {
    let system = system.to_lowercase();
    ["riziv", "inami", "nihdi"]
        .iter()
        .any(|mark| system.contains(mark))
}

fn is_general_practice(concept: &Value) -> bool {
    let codings = array_at(concept, "coding");
    let by_code = codings.iter().any(|coding| {
        let code = str_at(coding, "code");
        matches!(code, Some("62247001" | "394814009" | "408443003"))
            // Vektis COD016 (Dutch AGB specialisms): 0100 "Huisartsen, niet nader gespecificeerd".
            || (str_at(coding, "system") == Some("urn:oid:2.16.840.1.113883.2.4.6.7")
                && code == Some("0100"))
    });
    let by_name = codings
        .iter()
        .filter_map(|coding| str_at(coding, "display"))
        .chain(str_at(concept, "text"))
        .any(|name| {
            let name = name.to_lowercase();
            [
                "general practi",
                "general medical practice",
                "huisarts",
                "généraliste",
                "generaliste",
                "médecine générale",
                "medecine generale",
                "family medicine",
                "family practi",
            ]
            .iter()
            .any(|mark| name.contains(mark))
        });
    by_code || by_name
}

/// What a CodeableConcept says in words: its text, else a coding's display.
fn concept_label(concept: &Value) -> Option<&str> {
    str_at(concept, "text").or_else(|| {
        array_at(concept, "coding")
            .iter()
            .find_map(|coding| str_at(coding, "display"))
    })
}

/// A language CodeableConcept: one of ours, or what it says as written.
fn concept_language(concept: &Value) -> Result<Language, Option<String>> {
    let codings = array_at(concept, "coding");
    codings
        .iter()
        .filter_map(|coding| str_at(coding, "code"))
        .chain(
            codings
                .iter()
                .filter_map(|coding| str_at(coding, "display")),
        )
        .chain(str_at(concept, "text"))
        .find_map(|written| Language::parse(written).ok())
        .ok_or_else(|| {
            codings
                .iter()
                .find_map(|coding| str_at(coding, "code"))
                .or_else(|| str_at(concept, "text"))
                .map(String::from)
        })
}

/// (first name, last name) of the official HumanName, else the first.
fn person_name(names: Option<&Value>) -> (String, String) {
    let names = names
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let Some(name) = names
        .iter()
        .find(|name| str_at(name, "use") == Some("official"))
        .or_else(|| names.first())
    else {
        return (String::new(), String::new());
    };
    human_name(name)
}

/// (first name, last name) of one HumanName: given and family, else its text as the last name.
fn human_name(name: &Value) -> (String, String) {
    let given = words(array_at(name, "given"));
    let family = match name.get("family") {
        Some(Value::Array(parts)) => words(parts),
        Some(Value::String(family)) => family.trim().to_string(),
        _ => String::new(),
    };
    if given.is_empty() && family.is_empty() {
        if let Some(text) = str_at(name, "text") {
            return (String::new(), text.to_string());
        }
    }
    (given, family)
}

/// How a practitioner is named on an appointment: "Dr Adam Careful".
fn display_name(resource: &Value) -> Option<String> {
    let names = array_at(resource, "name");
    let name = names
        .iter()
        .find(|name| str_at(name, "use") == Some("official"))
        .or_else(|| names.first())?;
    if let Some(text) = str_at(name, "text") {
        return Some(text.to_string());
    }
    let (given, family) = person_name(resource.get("name"));
    let whole = [words(array_at(name, "prefix")), given, family]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!whole.is_empty()).then_some(whole)
}

fn words(parts: &[Value]) -> String {
    parts
        .iter()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `%7C` and the like in a URL query, decoded.
fn percent_decoded(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = (bytes[at] == b'%')
            .then(|| raw.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                at += 3;
            }
            None => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// ISO 3166 alpha-2 for an address country as exports write it.
fn country_code(country: &str) -> Option<String> {
    let name: String = country
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'ï' | 'î' => 'i',
            'ü' | 'û' => 'u',
            'ö' | 'ô' => 'o',
            'ä' | 'â' | 'à' => 'a',
            'ç' => 'c',
            'ñ' => 'n',
            other => other,
        })
        .collect();
    #[rustfmt::skip]
    const NAMES: &[(&str, &[&str])] = &[
        ("BE", &["bel", "belgium", "belgie", "belgique", "belgien", "belgica"]),
        ("NL", &["nld", "netherlands", "the netherlands", "nederland", "pays-bas", "niederlande", "holland"]),
        ("FR", &["fra", "france", "frankrijk", "frankreich"]),
        ("DE", &["deu", "germany", "deutschland", "duitsland", "allemagne"]),
        ("LU", &["lux", "luxembourg", "luxemburg"]),
        ("GB", &["gbr", "uk", "united kingdom", "great britain", "verenigd koninkrijk", "royaume-uni"]),
        ("IE", &["irl", "ireland", "ierland", "irlande"]),
        ("ES", &["esp", "spain", "spanje", "espagne", "espana"]),
        ("IT", &["ita", "italy", "italie", "italia"]),
        ("PT", &["prt", "portugal"]),
        ("CH", &["che", "switzerland", "zwitserland", "suisse", "schweiz"]),
        ("AT", &["aut", "austria", "oostenrijk", "autriche", "osterreich"]),
        ("PL", &["pol", "poland", "polen", "pologne"]),
        ("RO", &["rou", "romania", "roemenie", "roumanie"]),
        ("TR", &["tur", "turkey", "turkije", "turquie", "turkiye"]),
        ("MA", &["mar", "morocco", "marokko", "maroc"]),
        ("US", &["usa", "united states", "verenigde staten", "etats-unis"]),
        ("AU", &["aus", "australia", "australie"]),
    ];
    if let Some((code, _)) = NAMES
        .iter()
        .find(|(code, names)| code.eq_ignore_ascii_case(&name) || names.contains(&name.as_str()))
    {
        return Some(code.to_string());
    }
    (name.len() == 2 && name.chars().all(|c| c.is_ascii_alphabetic()))
        .then(|| name.to_ascii_uppercase())
}

/// An appointment's start in UTC, and whether it was read as Brussels time for want of an
/// offset.
fn start_time(raw: &str) -> Result<(DateTime<Utc>, bool), String> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(raw) {
        return Ok((instant.with_timezone(&Utc), false));
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(raw, format).ok());
    let Some(naive) = naive else {
        if NaiveDate::parse_from_str(raw, "%Y-%m-%d").is_ok() {
            return Err(format!("{raw:?} is a date without a time of day"));
        }
        return Err(format!(
            "{raw:?} is not a FHIR instant (like 2026-01-13T09:30:00+01:00)"
        ));
    };
    match chrono_tz::Europe::Brussels.from_local_datetime(&naive) {
        LocalResult::Single(local) | LocalResult::Ambiguous(local, _) => {
            Ok((local.with_timezone(&Utc), true))
        }
        LocalResult::None => Err(format!(
            "{raw:?} does not exist in Brussels time (the clocks skip that hour)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFICIAL: &[u8] = include_bytes!("../../tests/fixtures/fhir/bundle-official.json");
    const BELGIAN: &[u8] = include_bytes!("../../tests/fixtures/fhir/bundle-belgian.json");
    const NDJSON: &[u8] = include_bytes!("../../tests/fixtures/fhir/export.ndjson");
    const PATIENT: &[u8] = include_bytes!("../../tests/fixtures/fhir/Patient-example.json");
    const APPOINTMENT: &[u8] = include_bytes!("../../tests/fixtures/fhir/Appointment-example.json");

    fn contact<'b>(batch: &'b ImportBatch, external_id: &str) -> &'b NewContact {
        batch
            .contacts
            .iter()
            .find(|contact| contact.external_id == external_id)
            .unwrap_or_else(|| panic!("no contact {external_id} in {:#?}", batch.contacts))
    }

    fn appointment<'b>(batch: &'b ImportBatch, external_id: &str) -> &'b NewAppointment {
        batch
            .appointments
            .iter()
            .find(|appointment| appointment.external_id == external_id)
            .unwrap_or_else(|| panic!("no appointment {external_id} in {:#?}", batch.appointments))
    }

    fn utc(instant: &str) -> DateTime<Utc> {
        instant.parse().expect("an instant")
    }

    fn date(raw: &str) -> Option<NaiveDate> {
        Some(raw.parse().expect("a date"))
    }

    fn some(text: &str) -> Option<String> {
        Some(text.to_string())
    }

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
    fn the_official_hl7_examples_import_as_one_patient_one_gp_and_one_appointment() {
        let batch = parse("bundle-official.json", OFFICIAL).expect("readable");
        assert_eq!(batch.records, 7);
        assert_eq!(batch.contacts.len(), 2, "{:#?}", batch.contacts);

        // The example patient is Australian but its address names no country: its numbers
        // are read as Belgian, which they are not, so it is imported without them.
        assert_eq!(
            contact(&batch, "12345"),
            &NewContact {
                external_id: "12345".into(),
                identities: vec![Identity::fhir("urn:oid:1.2.36.146.595.217.0.1", "12345")],
                role: Role::Patient,
                first_name: "Peter James".into(),
                last_name: "Chalmers".into(),
                language: None,
                mobile: None,
                phone: None,
                email: None,
                telegram_chat_id: None,
                organisation: None,
                birth_date: date("1974-12-25"),
            }
        );
        // Dr Careful's PractitionerRole says "General medical practice": a GP, though he
        // also performs the appointment. His role adds its e-mail address.
        assert_eq!(
            contact(&batch, "23"),
            &NewContact {
                external_id: "23".into(),
                identities: vec![Identity::fhir("http://www.acme.org/practitioners", "23")],
                role: Role::Gp,
                first_name: "Adam".into(),
                last_name: "Careful".into(),
                language: None,
                mobile: None,
                phone: None,
                email: some("adam.southern@example.org"),
                telegram_chat_id: None,
                organisation: None,
                birth_date: None,
            }
        );

        assert_eq!(
            batch.appointments,
            vec![NewAppointment {
                external_id: "Appointment/example".into(),
                patient: Identity::fhir("urn:oid:1.2.36.146.595.217.0.1", "12345"),
                gp: None,
                starts_at: utc("2013-12-10T09:00:00Z"),
                campus: "South Wing, second floor".into(),
                department: "General Discussion".into(),
                practitioner: some("Dr Adam Careful"),
                status: AppointmentStatus::Booked,
            }]
        );

        // Australian numbers without an address country do not read as Belgian: the patient
        // and the practitioner's role are kept without them; the requested appointment has no
        // start yet.
        let rejects: Vec<(usize, bool, Option<&str>)> = batch
            .rejects
            .iter()
            .map(|reject| (reject.line, reject.kept, reject.field.as_deref()))
            .collect();
        assert_eq!(
            rejects,
            [
                (0, true, Some("telecom.phone")),
                (2, true, Some("telecom.phone")),
                (6, false, Some("start"))
            ],
            "{:#?}",
            batch.rejects
        );
        assert_eq!(
            batch.rejects[0].describe(),
            "kept without telecom.phone: \"(03) 5555 6473\" is not a valid number in BE (no \
             address country: read as Belgian); kept without telecom.phone: \"(03) 3410 5613\" \
             is not a valid number in BE (no address country: read as Belgian)"
        );
        assert!(
            batch.rejects[2].record.contains("\"examplereq\""),
            "{}",
            batch.rejects[2].record
        );
        assert_eq!((batch.rejected(), batch.kept_without_a_field()), (1, 2));

        let notices: Vec<(usize, &str)> = batch
            .notices
            .iter()
            .map(|notice| (notice.line, notice.field.as_str()))
            .collect();
        assert_eq!(notices, vec![(2, "organization")], "{:#?}", batch.notices);
        assert_eq!(
            batch.notices[0].message,
            "Organization/f001 is not in the file: imported without an organisation"
        );
    }

    const NOT_A_GP: &str = "not a GP (no patient names this practitioner as \
        generalPractitioner, and neither a qualification nor a PractitionerRole says general \
        practice): not imported as a contact";

    #[test]
    fn a_belgian_transaction_imports_languages_numbers_gps_and_campuses() {
        let batch = parse("bundle-belgian.json", BELGIAN).expect("readable");
        // Sixteen resources; the DELETE entry carries none.
        assert_eq!(batch.records, 16);

        const SSIN: &str = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin";
        const NUM: &str = "https://ziekenhuis.example.be/fhir/NamingSystem/patient-number";
        const MRN: &str = "https://ziekenhuis.example.be/fhir/NamingSystem/mrn";
        let gp = "12345678901";
        let patients = [
            NewContact {
                external_id: "P100231".into(),
                identities: vec![
                    Identity::fhir(
                        "https://ziekenhuis.example.be/fhir/NamingSystem/patient-number",
                        "P100231",
                    ),
                    Identity::fhir(SSIN, "58031412345"),
                ],
                role: Role::Patient,
                first_name: "Jan".into(),
                last_name: "Peeters".into(),
                language: some("nl"),
                mobile: some("+32471123456"),
                phone: some("+3232177111"),
                email: some("jan.peeters@example.be"),
                telegram_chat_id: None,
                organisation: None,
                birth_date: date("1958-03-14"),
            },
            // The national number, only because it is her only identifier.
            NewContact {
                external_id: "92110520461".into(),
                identities: vec![Identity::fhir(SSIN, "92110520461")],
                role: Role::Patient,
                first_name: "Marie-Claire".into(),
                last_name: "Dubois".into(),
                language: some("fr"),
                mobile: None,
                phone: some("+3225551212"),
                email: None,
                telegram_chat_id: None,
                organisation: None,
                birth_date: date("1992-11-05"),
            },
            NewContact {
                external_id: "P100233".into(),
                identities: vec![Identity::fhir(MRN, "P100233")],
                role: Role::Patient,
                first_name: "Pieter".into(),
                last_name: "de Vries".into(),
                language: some("nl"),
                mobile: some("+31612345678"),
                phone: None,
                email: None,
                telegram_chat_id: None,
                organisation: None,
                birth_date: date("1971-09-30"),
            },
            NewContact {
                external_id: "P100234".into(),
                identities: vec![Identity::fhir(MRN, "P100234")],
                role: Role::Patient,
                first_name: "Anna Maria".into(),
                last_name: "Janssens".into(),
                language: None,
                mobile: None,
                phone: None,
                email: None,
                telegram_chat_id: None,
                organisation: None,
                birth_date: date("1990-06-01"),
            },
        ];
        for patient in &patients {
            assert_eq!(contact(&batch, &patient.external_id), patient);
        }
        assert_eq!(
            contact(&batch, gp),
            &NewContact {
                external_id: gp.into(),
                identities: vec![Identity::riziv(gp)],
                role: Role::Gp,
                first_name: "Sofie".into(),
                last_name: "Claes".into(),
                language: some("nl"),
                mobile: None,
                phone: some("+3233124567"),
                email: some("sofie.claes@huisartsen-delinde.be"),
                telegram_chat_id: None,
                organisation: some("Huisartsenpraktijk De Linde"),
                birth_date: None,
            }
        );
        // Dr Wouters performs an appointment and nothing says he is a GP: no contact.
        assert_eq!(batch.contacts.len(), 5, "{:#?}", batch.contacts);

        assert_eq!(
            batch.appointments,
            vec![
                NewAppointment {
                    external_id: "AFS-2026-0001".into(),
                    patient: Identity::fhir(NUM, "P100231"),
                    gp: Some(Identity::riziv(gp)),
                    starts_at: utc("2026-01-13T08:30:00Z"),
                    campus: "Deurne".into(),
                    department: "Cardiologie".into(),
                    practitioner: some("Dr. Koen Wouters"),
                    status: AppointmentStatus::Booked,
                },
                NewAppointment {
                    external_id: "AFS-2026-0002".into(),
                    patient: Identity::fhir(SSIN, "92110520461"),
                    gp: Some(Identity::riziv(gp)),
                    starts_at: utc("2026-01-14T13:00:00Z"),
                    campus: "Antwerpen".into(),
                    department: "Dermatologie".into(),
                    practitioner: None,
                    status: AppointmentStatus::Cancelled,
                },
                NewAppointment {
                    external_id: "AFS-2026-0003".into(),
                    patient: Identity::fhir(MRN, "P100233"),
                    gp: None,
                    starts_at: utc("2026-07-01T08:00:00Z"),
                    campus: "Deurne".into(),
                    department: "Orthopedie".into(),
                    practitioner: None,
                    status: AppointmentStatus::Booked,
                },
            ]
        );

        // An appointment without a campus cannot be told where; the patient stays a contact.
        assert!(batch.contacts.iter().any(|c| c.external_id == "P100234"));
        let rejects: Vec<(usize, Option<&str>, &str)> = batch
            .rejects
            .iter()
            .map(|r| (r.line, r.field.as_deref(), r.reason.as_str()))
            .collect();
        assert_eq!(
            rejects,
            [
                (
                    14,
                    Some("participant"),
                    "no Location to name the campus: the patient would not know where"
                ),
                (
                    15,
                    Some("participant"),
                    "the patient Patient/does-not-exist is not in the file"
                )
            ]
        );
        assert!(batch.rejects[1].record.contains("AFS-2026-0005"));

        // The transaction's DELETE is said, not done.
        let notices: Vec<(usize, &str, &str)> = batch
            .notices
            .iter()
            .map(|n| (n.line, n.field.as_str(), n.message.as_str()))
            .collect();
        assert_eq!(
            notices,
            vec![
                (
                    16,
                    "request",
                    "DELETE \"Appointment?identifier=AFS-2025-0999\": not done; an import adds and \
                     updates, it never deletes a contact or an appointment (cancel the appointment \
                     in the export instead)"
                ),
                (7, "qualification", NOT_A_GP),
            ]
        );
    }

    #[test]
    fn ndjson_of_a_few_resources_imports_and_a_broken_line_is_a_reject() {
        let batch = parse("export.ndjson", NDJSON).expect("readable");
        assert_eq!(batch.records, 5, "four resources and a broken line");
        assert_eq!(
            batch.contacts,
            vec![
                NewContact {
                    external_id: "P200001".into(),
                    identities: vec![Identity::fhir(
                        "https://ziekenhuis.example.be/fhir/NamingSystem/mrn",
                        "P200001",
                    )],
                    role: Role::Patient,
                    first_name: "Luc".into(),
                    last_name: "Lambert".into(),
                    // German is preferred but not written in; French is read.
                    language: some("fr"),
                    mobile: some("+32486554433"),
                    phone: None,
                    email: some("luc.lambert@example.be"),
                    telegram_chat_id: None,
                    organisation: None,
                    birth_date: None,
                },
                NewContact {
                    external_id: "P200002".into(),
                    identities: vec![Identity::fhir(
                        "https://ziekenhuis.example.be/fhir/NamingSystem/mrn",
                        "P200002",
                    )],
                    role: Role::Patient,
                    first_name: String::new(),
                    last_name: "Fatima El Amrani".into(),
                    language: some("ar"),
                    mobile: None,
                    phone: None,
                    email: None,
                    telegram_chat_id: None,
                    organisation: None,
                    birth_date: None,
                },
            ]
        );
        assert_eq!(
            batch.appointments,
            vec![NewAppointment {
                external_id: "Appointment/na1".into(),
                patient: Identity::fhir(
                    "https://ziekenhuis.example.be/fhir/NamingSystem/mrn",
                    "P200001"
                ),
                // By RIZIV number: a GP imported from another list.
                gp: Some(Identity::riziv("19876543210")),
                starts_at: utc("2026-02-02T12:45:00Z"),
                campus: "Dag-oncologie".into(),
                department: "Oncologie".into(),
                practitioner: None,
                status: AppointmentStatus::Booked,
            }]
        );
        assert_eq!(batch.rejects.len(), 2);
        let kept = &batch.rejects[0];
        assert_eq!(
            (kept.line, kept.kept, kept.field.as_deref()),
            (3, true, Some("telecom.phone"))
        );
        assert!(kept.record.contains("\"n2\""), "{}", kept.record);
        let reject = &batch.rejects[1];
        assert_eq!(reject.line, 6);
        assert_eq!(reject.field, None);
        assert!(
            reject
                .reason
                .starts_with("truncated JSON: EOF while parsing"),
            "{}",
            reject.reason
        );
        assert!(reject
            .record
            .starts_with("{\"resourceType\":\"Appointment\",\"id\":\"na2\""));
        let notices: Vec<(usize, &str)> = batch
            .notices
            .iter()
            .map(|n| (n.line, n.field.as_str()))
            .collect();
        assert_eq!(notices, vec![(3, "communication")]);
    }

    #[test]
    fn one_identifier_for_two_people_in_one_file_rejects_the_second_and_keeps_two_systems_apart() {
        let patient = |id: &str, system: &str, given: &str, born: &str| {
            format!(
                r#"{{"resourceType":"Patient","id":"{id}","identifier":[{{"system":"{system}",
                "value":"123456"}}],"name":[{{"family":"Test","given":["{given}"]}}],
                "birthDate":"{born}"}}"#
            )
        };
        let ndjson = [
            patient("a", "urn:oid:0.1.2.3.4.5.6.7", "Eva", "1950-01-01"),
            patient("b", "https://other.example.be/mrn", "Tom", "2001-06-06"),
            patient("c", "urn:oid:0.1.2.3.4.5.6.7", "Eva", "1950-01-01"),
            patient("d", "urn:oid:0.1.2.3.4.5.6.7", "Mia", "1999-09-09"),
        ]
        .map(|line| line.replace('\n', ""))
        .join("\n");
        let batch = parse("patients.ndjson", ndjson.as_bytes()).expect("readable");
        let names: Vec<(&str, &Identity)> = batch
            .contacts
            .iter()
            .map(|c| (c.first_name.as_str(), &c.identities[0]))
            .collect();
        assert_eq!(
            names,
            [
                ("Eva", &Identity::fhir("urn:oid:0.1.2.3.4.5.6.7", "123456")),
                (
                    "Tom",
                    &Identity::fhir("https://other.example.be/mrn", "123456")
                ),
            ],
            "the same value under two systems is two people; the same person twice is one"
        );
        assert_eq!(batch.rejects.len(), 1, "{:#?}", batch.rejects);
        let reject = &batch.rejects[0];
        assert_eq!(
            (reject.line, reject.field.as_deref()),
            (4, Some("identifier"))
        );
        assert_eq!(
            reject.reason,
            "fhir:urn:oid:0.1.2.3.4.5.6.7|123456 is already that of another record of this \
             file: Mia Test, born 1999-09-09, is not Eva Test, born 1950-01-01"
        );
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

    #[test]
    fn a_single_resource_file_imports_that_resource() {
        let batch = parse("Patient-example.json", PATIENT).expect("readable");
        assert_eq!(batch.records, 1);
        assert_eq!(batch.contacts.len(), 1);
        assert_eq!(batch.contacts[0].external_id, "12345");
        assert!(batch.notices.iter().all(|notice| notice.line == 1));
    }

    #[test]
    fn an_appointment_without_its_patient_in_the_file_is_rejected() {
        let batch = parse("Appointment-example.json", APPOINTMENT).expect("readable");
        assert!(batch.appointments.is_empty());
        assert_eq!(batch.rejects.len(), 1);
        assert_eq!(batch.rejects[0].line, 1);
        assert_eq!(batch.rejects[0].field.as_deref(), Some("participant"));
        assert_eq!(
            batch.rejects[0].reason,
            "the patient Patient/example is not in the file"
        );
    }

    #[test]
    fn a_bad_email_drops_the_address_and_a_nameless_patient_is_rejected_with_their_booking() {
        let bundle = br#"{"resourceType":"Bundle","type":"searchset",
          "link":[{"relation":"next","url":"https://fhir.example.be/Appointment?page=2"}],
          "entry":[
            {"fullUrl":"https://fhir.example.be/Patient/x","resource":{"resourceType":"Patient","id":"x",
              "name":[{"family":"Peeters","given":["Jan"]}],
              "telecom":[{"system":"email","value":"jan at example.be"},{"system":"phone","value":"0471 12 34 56"}]}},
            {"resource":{"resourceType":"Appointment","id":"a","status":"booked","start":"2026-01-13T09:30:00Z",
              "serviceType":[{"text":"Cardiologie"}],"participant":[{"actor":{"reference":"Patient/x"}},
              {"actor":{"display":"Deurne","type":"Location"}}]}},
            {"resource":{"resourceType":"Patient","id":"y","telecom":[{"system":"phone","value":"0472 12 34 56"}]}},
            {"resource":{"resourceType":"Appointment","id":"b","status":"booked","start":"2026-01-13T10:30:00Z",
              "serviceType":[{"text":"Cardiologie"}],"participant":[{"actor":{"reference":"Patient/y"}},
              {"actor":{"display":"Deurne","type":"Location"}}]}}
          ]}"#;
        let batch = parse("search.json", bundle).expect("readable");
        let jan = contact(&batch, "Patient/x");
        assert_eq!(
            (jan.mobile.as_deref(), jan.email.as_deref()),
            (Some("+32471123456"), None)
        );
        assert_eq!(batch.contacts.len(), 1);
        assert_eq!(
            appointment(&batch, "Appointment/a").patient,
            Identity::fhir("", "Patient/x")
        );
        assert_eq!(batch.appointments.len(), 1);
        let rejects: Vec<(usize, bool, String)> = batch
            .rejects
            .iter()
            .map(|r| (r.line, r.kept, r.describe()))
            .collect();
        assert_eq!(
            rejects,
            vec![
                (
                    0,
                    true,
                    "kept without telecom.email: \"jan at example.be\" is not an e-mail address"
                        .to_string()
                ),
                (
                    2,
                    false,
                    "name: no name: a message cannot be addressed to a patient without one"
                        .to_string()
                ),
                (
                    3,
                    false,
                    "participant: the patient Patient/y was rejected (see its own line)"
                        .to_string()
                ),
            ]
        );
        assert_eq!(batch.notices[0].field, "link");
    }

    #[test]
    fn contained_patients_group_practices_and_landlines_marked_mobile_are_understood() {
        let bundle = br##"{"resourceType":"Bundle","type":"collection","entry":[
            {"fullUrl":"urn:uuid:org","resource":{"resourceType":"Organization","id":"wgc",
              "identifier":[{"system":"https://www.riziv.fgov.be/practice","value":"1.23456.78.901"}],
              "name":"Wijkgezondheidscentrum De Schelde",
              "telecom":[{"system":"phone","value":"03 201 02 03"}]}},
            {"resource":{"resourceType":"Appointment","id":"a","status":"noshow",
              "start":"2026-03-29T02:30:00","serviceType":[{"text":"Pediatrie"}],
              "participant":[{"actor":{"reference":"#kid"}}],
              "contained":[{"resourceType":"Patient","id":"kid","name":[{"given":["Lotte"],"family":"Smets"}],
                "telecom":[{"system":"phone","use":"mobile","value":"03 201 02 04"}],
                "generalPractitioner":[{"reference":"urn:uuid:org"}]}]}},
            {"resource":{"resourceType":"Appointment","id":"b","status":"entered-in-error",
              "start":"2026-03-30T10:00:00+02:00","specialty":[{"coding":[{"code":"PED"}]}],
              "participant":[{"actor":{"reference":"#kid"}},{"actor":{"type":"Location","display":"Deurne"}}],
              "contained":[{"resourceType":"Patient","id":"kid","identifier":[{"value":"P300001"}],
                "name":[{"given":["Lotte"],"family":"Smets"}]}]}}
          ]}"##;
        let batch = parse("bundle.json", bundle).expect("readable");
        assert_eq!(batch.records, 3);
        let practice = contact(&batch, "12345678901");
        assert_eq!(practice.role, Role::Gp);
        assert_eq!(practice.last_name, "Wijkgezondheidscentrum De Schelde");
        assert_eq!(
            practice.organisation.as_deref(),
            Some("Wijkgezondheidscentrum De Schelde")
        );
        assert_eq!(practice.phone.as_deref(), Some("+3232010203"));
        let kid = contact(&batch, "Appointment/a#kid");
        assert_eq!(
            (kid.first_name.as_str(), kid.last_name.as_str()),
            ("Lotte", "Smets")
        );
        assert_eq!(
            (kid.mobile.as_deref(), kid.phone.as_deref()),
            (None, Some("+3232010204"))
        );
        assert!(contact(&batch, "P300001").role == Role::Patient);

        // Lotte is imported from the first appointment, though 02:30 on the last Sunday of
        // March does not exist in Brussels and the booking itself is refused.
        assert_eq!(batch.rejects.len(), 1, "{:#?}", batch.rejects);
        assert_eq!(batch.rejects[0].field.as_deref(), Some("start"));
        assert_eq!(batch.appointments.len(), 1);
        let b = appointment(&batch, "Appointment/b");
        assert_eq!(b.status, AppointmentStatus::Cancelled);
        assert_eq!(b.department, "PED");
        assert_eq!(b.patient, Identity::fhir("", "P300001"));
        assert_eq!(b.starts_at, utc("2026-03-30T08:00:00Z"));
        assert!(batch
            .notices
            .iter()
            .any(|n| n.field == "telecom.phone" && n.message.contains("marked mobile")));
        assert!(batch.notices.iter().any(|n| n.field == "serviceType"));
    }

    #[test]
    fn conditional_references_find_the_patient_and_the_dead_are_not_contacted() {
        let bundle = br#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"fullUrl":"urn:uuid:p1","resource":{"resourceType":"Patient",
              "identifier":[{"system":"https://zna.example.be/mrn","value":"P1"}],
              "name":[{"family":"Wuyts","given":["Karel"]}]},
             "request":{"method":"PUT","url":"Patient?identifier=https://zna.example.be/mrn|P1"}},
            {"fullUrl":"urn:uuid:p2","resource":{"resourceType":"Patient",
              "identifier":[{"system":"https://zna.example.be/mrn","value":"P2"}],
              "deceasedDateTime":"2026-01-02"}},
            {"resource":{"resourceType":"Appointment","status":"booked","start":"2026-01-20T09:00:00Z",
              "identifier":[{"value":"A1"}],"serviceType":[{"text":"Geriatrie"}],
              "participant":[{"actor":{"reference":"Patient?identifier=https%3A%2F%2Fzna.example.be%2Fmrn%7CP1"}},
                {"actor":{"type":"Location","display":"Deurne"}}]}},
            {"resource":{"resourceType":"Appointment","status":"booked","start":"2026-01-21T09:00:00Z",
              "identifier":[{"value":"A2"}],"serviceType":[{"text":"Geriatrie"}],
              "participant":[{"actor":{"reference":"urn:uuid:p2"}}]}}
          ]}"#;
        let batch = parse("transaction.json", bundle).expect("readable");
        assert_eq!(batch.contacts.len(), 1);
        assert_eq!(contact(&batch, "P1").last_name, "Wuyts");
        assert_eq!(batch.appointments.len(), 1);
        assert_eq!(
            appointment(&batch, "A1").patient,
            Identity::fhir("https://zna.example.be/mrn", "P1")
        );
        let rejects: Vec<(usize, Option<&str>)> = batch
            .rejects
            .iter()
            .map(|r| (r.line, r.field.as_deref()))
            .collect();
        assert_eq!(
            rejects,
            vec![(1, Some("deceased")), (3, Some("participant"))]
        );
    }

    #[test]
    fn animals_are_skipped_newborns_are_reached_through_a_parent_and_requests_are_reported() {
        let bundle = br#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"resource":{"resourceType":"Patient","id":"animal","name":[{"given":["Kenzi"]}],
              "extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-animal",
                "extension":[{"url":"species","valueCodeableConcept":{"coding":[{"code":"canislf"}]}}]}],
              "contact":[{"relationship":[{"coding":[{"code":"owner"}]}],
                "telecom":[{"system":"phone","value":"0471 99 88 77"}]}]}},
            {"resource":{"resourceType":"Appointment","id":"vet","status":"booked",
              "start":"2026-01-13T09:30:00+01:00","serviceType":[{"text":"Cardiologie"}],
              "participant":[{"actor":{"reference":"Patient/animal"}},
                {"actor":{"type":"Location","display":"Deurne"}}]}},
            {"resource":{"resourceType":"Patient","id":"newborn","birthDate":"2026-01-05",
              "name":[{"family":"Janssens","given":["Noor"]}],
              "contact":[{"relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-RoleCode","code":"MTH"}]}],
                "name":{"family":"Janssens","given":["Els"]},
                "telecom":[{"system":"phone","value":"0472 11 22 33"},{"system":"email","value":"els@example.be"}]}]}},
            {"resource":{"resourceType":"Patient","id":"adult","birthDate":"1950-01-05",
              "name":[{"family":"Maes","given":["Jan"]}],
              "contact":[{"relationship":[{"coding":[{"code":"C"}]},{"text":"father"}],
                "telecom":[{"system":"phone","value":"0473 11 22 33"}]}]}},
            {"request":{"method":"GET","url":"Patient?name=Peeters"}}
          ]}"#;
        let batch = parse("transaction.json", bundle).expect("readable");
        assert_eq!((batch.records, batch.skipped), (4, 2));
        assert!(batch.rejects.is_empty(), "{:#?}", batch.rejects);
        assert!(batch.appointments.is_empty());
        let ids: Vec<&str> = batch
            .contacts
            .iter()
            .map(|c| c.external_id.as_str())
            .collect();
        assert_eq!(ids, ["Patient/newborn", "Patient/adult"]);
        let noor = contact(&batch, "Patient/newborn");
        assert_eq!(
            (noor.mobile.as_deref(), noor.email.as_deref()),
            (Some("+32472112233"), Some("els@example.be"))
        );
        let jan = contact(&batch, "Patient/adult");
        assert_eq!(
            (jan.mobile.as_deref(), jan.phone.as_deref()),
            (None, None),
            "an adult's emergency contact is not told of their appointments"
        );
        let notices: Vec<(usize, &str, &str)> = batch
            .notices
            .iter()
            .map(|n| (n.line, n.field.as_str(), n.message.as_str()))
            .collect();
        assert_eq!(
            notices,
            [
                (
                    4,
                    "request",
                    "GET \"Patient?name=Peeters\": a request to read, with no data: ignored"
                ),
                (
                    0,
                    "extension",
                    "an animal patient (patient-animal): not a person to write to, not imported"
                ),
                (
                    1,
                    "participant",
                    "the appointment of an animal patient: not imported"
                ),
                (
                    2,
                    "contact",
                    "no phone or e-mail of the patient's own: messages go to the parent Els \
                     Janssens, who answers for them"
                ),
            ]
        );
    }

    #[test]
    fn countries_are_read_as_exports_write_them() {
        for (written, code) in [
            ("BE", "BE"),
            ("BEL", "BE"),
            ("Belgium", "BE"),
            ("België", "BE"),
            ("Belgique", "BE"),
            ("NL", "NL"),
            ("Nederland", "NL"),
            ("Netherlands", "NL"),
            ("FR", "FR"),
            ("France", "FR"),
            ("DE", "DE"),
            ("Deutschland", "DE"),
            ("LU", "LU"),
            ("Luxembourg", "LU"),
            ("AUS", "AU"),
            ("es", "ES"),
        ] {
            assert_eq!(country_code(written).as_deref(), Some(code), "{written}");
        }
        assert_eq!(country_code("Narnia"), None);
    }
}
