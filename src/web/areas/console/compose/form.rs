//! The compose form: what the author typed, kept as typed (a refused draft shows it all
//! again), turned into an update file's text with the `toml` crate, and the refusals placed
//! next to the fields they are about.

use crate::author::{DraftError, Problem};
use crate::domain::{
    AppointmentOutcome, AudienceSpec, CapFields, Certainty, ChannelKind, Language, NewUpdate,
    ResponseType, Severity, UpdateKind, UpdateText, Urgency,
};
use std::collections::BTreeMap;

pub const LANGUAGES: [Language; 3] = [Language::Nl, Language::Fr, Language::En];
/// The audiences the picker offers, in the order the file writes them.
pub const AUDIENCES: [&str; 4] = ["patients", "gps-of-affected", "all-gps", "media"];
pub const CHANNELS: [&str; 3] = ["sms", "email", "telegram"];
const TEXT_FIELDS: [&str; 3] = ["title", "body", "sms"];

/// One language's texts, as typed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TextForm {
    pub code: &'static str,
    pub title: String,
    pub body: String,
    pub sms: String,
}

/// Everything the form holds, as typed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ComposeForm {
    pub incident: String,
    pub kind: String,
    pub follows: String,
    pub appointments: String,
    pub audiences: Vec<String>,
    pub patients_from: String,
    pub patients_to: String,
    pub patients_campus: String,
    pub patients_department: String,
    pub channels: Vec<String>,
    pub cap_urgency: String,
    pub cap_severity: String,
    pub cap_certainty: String,
    pub cap_response_type: String,
    /// Take each SMS text's GSM-7 version (`update draft --sms-gsm7`).
    pub sms_gsm7: bool,
    /// nl, fr, en.
    pub texts: Vec<TextForm>,
}

impl Default for ComposeForm {
    /// An empty update: an alert to patients whose appointments are cancelled, by SMS and
    /// e-mail — the first message of most incidents; the author changes what differs.
    fn default() -> ComposeForm {
        ComposeForm {
            incident: String::new(),
            kind: UpdateKind::Alert.as_str().into(),
            follows: String::new(),
            appointments: AppointmentOutcome::Cancelled.as_str().into(),
            audiences: Vec::new(),
            patients_from: String::new(),
            patients_to: String::new(),
            patients_campus: String::new(),
            patients_department: String::new(),
            channels: vec!["sms".into(), "email".into()],
            cap_urgency: String::new(),
            cap_severity: String::new(),
            cap_certainty: String::new(),
            cap_response_type: String::new(),
            sms_gsm7: false,
            texts: LANGUAGES
                .iter()
                .map(|language| TextForm {
                    code: language.code(),
                    ..TextForm::default()
                })
                .collect(),
        }
    }
}

/// Refusals by field (`incident`, `audiences`, `nl` for the whole language, `nl_title` …).
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// What the form found wrong before the library looked: the common cases, in the user's
/// language (phrase id and its variables); the rest comes from `parse_draft`'s problems.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Local {
    pub field: String,
    pub key: &'static str,
    pub language: Option<&'static str>,
    pub part: Option<&'static str>,
}

#[derive(serde::Serialize)]
struct FileOut {
    incident: String,
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    follows: Option<i64>,
    audiences: Vec<String>,
    channels: Vec<String>,
    appointments: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cap: Option<CapOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nl: Option<TextOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fr: Option<TextOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    en: Option<TextOut>,
}

#[derive(serde::Serialize)]
struct CapOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    urgency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certainty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_type: Option<String>,
}

#[derive(serde::Serialize)]
struct TextOut {
    title: String,
    body: String,
    sms: String,
}

fn filled(value: &str) -> Option<String> {
    Some(value.trim().to_string()).filter(|value| !value.is_empty())
}

impl ComposeForm {
    /// The form as a browser posts it (`application/x-www-form-urlencoded`, checkboxes as
    /// repeated names); unknown names (the CSRF token, the button) are left out.
    pub fn from_pairs(body: &[u8]) -> ComposeForm {
        let mut form = ComposeForm {
            audiences: Vec::new(),
            channels: Vec::new(),
            ..ComposeForm::default()
        };
        for (name, value) in form_urlencoded::parse(body) {
            let value = value.into_owned();
            match name.as_ref() {
                "incident" => form.incident = value,
                "kind" => form.kind = value,
                "follows" => form.follows = value,
                "appointments" => form.appointments = value,
                "audience" => form.audiences.push(value),
                "patients_from" => form.patients_from = value,
                "patients_to" => form.patients_to = value,
                "patients_campus" => form.patients_campus = value,
                "patients_department" => form.patients_department = value,
                "channel" => form.channels.push(value),
                "cap_urgency" => form.cap_urgency = value,
                "cap_severity" => form.cap_severity = value,
                "cap_certainty" => form.cap_certainty = value,
                "cap_response_type" => form.cap_response_type = value,
                "sms_gsm7" => form.sms_gsm7 = !value.is_empty(),
                other => {
                    let Some((code, field)) = other.split_once('_') else {
                        continue;
                    };
                    let Some(text) = form.texts.iter_mut().find(|text| text.code == code) else {
                        continue;
                    };
                    match field {
                        "title" => text.title = value,
                        "body" => text.body = value,
                        "sms" => text.sms = value,
                        _ => {}
                    }
                }
            }
        }
        form
    }

    /// The form holding an update file's values, read leniently: a playbook's file
    /// (`App::playbook_file`) keeps its `[[blanks]]`, which the draft refuses until they are
    /// written; a follow-up's (`App::follow_up_file`) has the earlier update's values.
    pub fn from_file(source: &str) -> ComposeForm {
        let mut form = ComposeForm {
            channels: Vec::new(),
            ..ComposeForm::default()
        };
        let Ok(file) = source.parse::<toml::Table>() else {
            return form;
        };
        let text = |table: &toml::Table, key: &str| {
            table
                .get(key)
                .and_then(toml::Value::as_str)
                .map(str::to_string)
        };
        let strings = |key: &str| -> Vec<String> {
            file.get(key)
                .and_then(toml::Value::as_array)
                .map(|values| {
                    values
                        .iter()
                        .filter_map(|value| value.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        form.incident = text(&file, "incident").unwrap_or_default();
        form.kind = text(&file, "kind").unwrap_or(form.kind);
        form.appointments = text(&file, "appointments").unwrap_or(form.appointments);
        form.follows = file
            .get("follows")
            .and_then(toml::Value::as_integer)
            .map(|id| id.to_string())
            .unwrap_or_default();
        for spec in strings("audiences") {
            let mut words = spec.split_whitespace();
            let kind = match words.next().unwrap_or_default() {
                "gps" => "all-gps",
                "press" => "media",
                other => other,
            };
            if kind == "patients" {
                // Only the first selection of patients has fields in the picker.
                if form.audiences.iter().any(|picked| picked == "patients") {
                    continue;
                }
                for option in words {
                    let Some((key, value)) = option.split_once('=') else {
                        continue;
                    };
                    let value = value.replace('_', " ");
                    match key {
                        "from" => form.patients_from = value,
                        "to" => form.patients_to = value,
                        "campus" => form.patients_campus = value,
                        "department" => form.patients_department = value,
                        _ => {}
                    }
                }
            }
            if !form.audiences.iter().any(|picked| picked == kind) {
                form.audiences.push(kind.to_string());
            }
        }
        form.channels = strings("channels");
        if let Some(cap) = file.get("cap").and_then(toml::Value::as_table) {
            form.cap_urgency = text(cap, "urgency").unwrap_or_default();
            form.cap_severity = text(cap, "severity").unwrap_or_default();
            form.cap_certainty = text(cap, "certainty").unwrap_or_default();
            form.cap_response_type = text(cap, "response_type").unwrap_or_default();
        }
        for typed in &mut form.texts {
            if let Some(table) = file.get(typed.code).and_then(toml::Value::as_table) {
                typed.title = text(table, "title").unwrap_or_default();
                typed.body = text(table, "body").unwrap_or_default();
                typed.sms = text(table, "sms").unwrap_or_default();
            }
        }
        form
    }

    /// The audiences as an update file names them, in the picker's order.
    pub fn audience_specs(&self) -> Vec<String> {
        AUDIENCES
            .iter()
            .filter(|name| self.audiences.iter().any(|picked| picked == *name))
            .map(|name| match *name {
                "patients" => {
                    let mut spec = String::from("patients");
                    for (key, value) in [
                        ("from", &self.patients_from),
                        ("to", &self.patients_to),
                        ("campus", &self.patients_campus),
                        ("department", &self.patients_department),
                    ] {
                        if let Some(value) = filled(value) {
                            // The syntax's words are split at spaces; `_` stands for one.
                            let value = value.split_whitespace().collect::<Vec<_>>().join("_");
                            spec.push_str(&format!(" {key}={value}"));
                        }
                    }
                    spec
                }
                other => other.to_string(),
            })
            .collect()
    }

    fn cap(&self) -> Option<CapOut> {
        let cap = CapOut {
            urgency: filled(&self.cap_urgency),
            severity: filled(&self.cap_severity),
            certainty: filled(&self.cap_certainty),
            response_type: filled(&self.cap_response_type),
        };
        let any = cap.urgency.is_some()
            || cap.severity.is_some()
            || cap.certainty.is_some()
            || cap.response_type.is_some();
        any.then_some(cap)
    }

    /// The update file's text (serialized by the `toml` crate: whatever was typed stays a
    /// string), and what the form itself finds wrong. A language left wholly empty is left
    /// out of the file, so the library names it missing.
    pub fn update_file(&self) -> (String, Vec<Local>) {
        let mut local = Vec::new();
        let incident = self.incident.trim();
        if incident.is_empty() {
            local.push(Local::new("incident", "console-compose-problem-incident"));
        }
        let follows = match filled(&self.follows) {
            None => None,
            Some(raw) => match raw.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => {
                    local.push(Local::new("follows", "console-compose-problem-follows"));
                    None
                }
            },
        };
        let audiences = self.audience_specs();
        if audiences.is_empty() {
            local.push(Local::new("audiences", "console-compose-problem-audiences"));
        }
        let channels: Vec<String> = self
            .channels
            .iter()
            .filter(|channel| CHANNELS.contains(&channel.as_str()))
            .cloned()
            .collect();
        if channels.is_empty() {
            local.push(Local::new("channels", "console-compose-problem-channels"));
        }
        let mut texts: [Option<TextOut>; 3] = [None, None, None];
        for (slot, text) in texts.iter_mut().zip(&self.texts) {
            let values = [&text.title, &text.body, &text.sms];
            if values.iter().all(|value| value.trim().is_empty()) {
                local.push(Local {
                    field: text.code.into(),
                    key: "console-compose-problem-language",
                    language: Some(text.code),
                    part: None,
                });
                continue;
            }
            for (part, value) in TEXT_FIELDS.iter().zip(values) {
                if value.trim().is_empty() {
                    local.push(Local {
                        field: format!("{}_{part}", text.code),
                        key: "console-compose-problem-empty",
                        language: Some(text.code),
                        part: Some(part),
                    });
                }
            }
            *slot = Some(TextOut {
                title: text.title.clone(),
                body: text.body.clone(),
                sms: text.sms.clone(),
            });
        }
        let [nl, fr, en] = texts;
        let file = FileOut {
            incident: incident.to_string(),
            kind: self.kind.trim().to_string(),
            follows,
            audiences,
            channels,
            appointments: self.appointments.trim().to_string(),
            cap: self.cap(),
            nl,
            fr,
            en,
        };
        let source = toml::to_string(&file).unwrap_or_default();
        (source, local)
    }

    /// The update as the form stands, leniently (what is invalid is left at its default):
    /// what the live SMS counter renders while the author is still typing.
    pub fn provisional(&self, author: &str, accept_gsm7: bool) -> NewUpdate {
        let text = |code: &str| {
            let typed = self
                .texts
                .iter()
                .find(|text| text.code == code)
                .cloned()
                .unwrap_or_default();
            let mut sms = typed.sms.trim().to_string();
            if accept_gsm7 {
                if let Some(gsm) = crate::channels::sms::gsm::gsm7_version(&sms) {
                    sms = gsm;
                }
            }
            UpdateText {
                title: typed.title.trim().to_string(),
                body: typed.body.trim().to_string(),
                sms,
            }
        };
        let mut audiences = Vec::new();
        for spec in self.audience_specs() {
            if let Ok(spec) = AudienceSpec::parse(&spec) {
                audiences.push(spec);
            }
        }
        let en = text("en");
        NewUpdate {
            incident_id: self.incident.trim().to_string(),
            incident_title: en.title.clone(),
            kind: self.kind.parse().unwrap_or(UpdateKind::Alert),
            follows: self.follows.trim().parse().ok(),
            audiences,
            channels: self
                .channels
                .iter()
                .filter_map(|channel| channel.parse::<ChannelKind>().ok())
                .collect(),
            appointments: self
                .appointments
                .parse()
                .unwrap_or(AppointmentOutcome::Cancelled),
            author: author.to_string(),
            cap: CapFields {
                urgency: Urgency::parse(&self.cap_urgency).ok(),
                severity: Severity::parse(&self.cap_severity).ok(),
                certainty: Certainty::parse(&self.cap_certainty).ok(),
                response_type: ResponseType::parse(&self.cap_response_type).ok(),
            },
            nl: text("nl"),
            fr: text("fr"),
            en,
        }
    }
}

impl Local {
    fn new(field: &str, key: &'static str) -> Local {
        Local {
            field: field.into(),
            key,
            language: None,
            part: None,
        }
    }
}

/// The field a problem of `parse_draft` is about: the key whose value holds its line in the
/// file the form wrote (`nl_title`, `audiences` …), or `form` when none does (the author).
pub fn field_of(source: &str, problem: &Problem) -> String {
    let mut table = String::new();
    let mut field = String::from("form");
    for (index, line) in source.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            table = name.to_string();
            if number <= problem.line {
                field = table.clone();
            }
        } else if let Some((key, _)) = trimmed.split_once(" = ") {
            if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && number <= problem.line
            {
                field = match table.as_str() {
                    "" => key.to_string(),
                    "cap" => "cap".to_string(),
                    language => format!("{language}_{key}"),
                };
            }
        }
        if number >= problem.line {
            break;
        }
    }
    // A missing language is reported at the file's end: it belongs to that language.
    for language in LANGUAGES {
        if problem
            .message
            .starts_with(&format!("the [{language}] text is missing"))
        {
            return language.code().to_string();
        }
    }
    field
}

/// The library's refusal, by field.
pub fn place(source: &str, error: &DraftError, errors: &mut FieldErrors) {
    for problem in &error.problems {
        errors
            .entry(field_of(source, problem))
            .or_default()
            .push(problem.message.clone());
    }
}

/// Appointment outcomes, kinds and the CAP values, for the selects.
pub fn choices() -> serde_json::Value {
    serde_json::json!({
        "kinds": ["alert", "update", "cancel", "allclear"],
        "outcomes": ["cancelled", "postponed", "as-planned"],
        "urgency": Urgency::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "severity": Severity::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "certainty": Certainty::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "response_type": ResponseType::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
        "audiences": AUDIENCES,
        "channels": CHANNELS,
    })
}
