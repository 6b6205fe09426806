//! Mapping resources to contacts and appointments.

use super::datatypes::{
    array_at, concept_label, concept_language, country_code, digits_if, display_name, human_name,
    identity_of, is_animal, is_general_practice, is_hospital_number, is_riziv, is_ssin,
    percent_decoded, person_name, representative_relation, start_time, str_at, strip_history,
    type_and_id, type_of, usable_identifiers, within, Relation,
};
use super::reading::Entry;
use crate::domain::{AppointmentStatus, Identity, Language, NewAppointment, NewContact, Role};
use crate::import::fields::{self, Kind};
use crate::import::{ImportBatch, Notice, Reject};
use chrono::{NaiveDate, Utc};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// A resource: the entry it stands in, and its index in that entry's `contained` if it is
/// contained.
type Node = (usize, Option<usize>);

/// Why a resource is rejected: the field, and the reason.
pub(super) type Refusal = (String, String);

pub(super) fn refuse(field: &str, reason: impl Into<String>) -> Refusal {
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
    pub(super) mobile: Option<String>,
    pub(super) phone: Option<String>,
    pub(super) email: Option<String>,
}

impl Reach {
    pub(super) fn is_empty(&self) -> bool {
        self.mobile.is_none() && self.phone.is_none() && self.email.is_none()
    }

    fn fill(&mut self, other: Reach) {
        self.mobile = self.mobile.take().or(other.mobile);
        self.phone = self.phone.take().or(other.phone);
        self.email = self.email.take().or(other.email);
    }
}

pub(super) struct Import<'a> {
    pub(super) text: &'a str,
    pub(super) entries: &'a [Entry],
    /// fullUrl, `Type/id` and PUT urls → entry.
    keys: HashMap<String, usize>,
    /// identifier value → entries that carry it, for logical references.
    by_identifier: HashMap<&'a str, Vec<usize>>,
    /// Practitioner → its PractitionerRole entries.
    roles_of: HashMap<Node, Vec<usize>>,
    /// Contacts built so far: their first identity, or None when rejected.
    built: HashMap<Node, Option<Identity>>,
    /// Resources left out on purpose (an animal patient), each with a notice.
    pub(super) skipped: HashSet<Node>,
    /// A patient's GP, by the GP's first identity.
    patient_gp: HashMap<Node, Option<Identity>>,
    /// Every identity of the contacts kept → index in `batch.contacts`.
    contact_at: HashMap<Identity, usize>,
    pub(super) batch: ImportBatch,
}

impl<'a> Import<'a> {
    pub(super) fn new(text: &'a str, entries: &'a [Entry]) -> Import<'a> {
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

    pub(super) fn run(&mut self) {
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

    pub(super) fn line(&self, node: Node) -> usize {
        self.entries[node.0].line
    }

    pub(super) fn record(&self, node: Node) -> String {
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
    pub(super) fn contact(&mut self, node: Node) -> Option<Identity> {
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

    pub(super) fn patient(&mut self, node: Node) -> Result<NewContact, Refusal> {
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
    pub(super) fn identities(&self, node: Node, first: Identity) -> Vec<Identity> {
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
    pub(super) fn skip(&mut self, node: Node, field: &str, message: String) {
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

    pub(super) fn department(&mut self, node: Node) -> Result<String, Refusal> {
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
