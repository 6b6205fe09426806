//! Where a new update file starts: an incident playbook (the first alert of a crisis the
//! hospital prepared for, `templates/playbooks/`, compiled in) or the update before it. Both
//! are update files as `tocsin update draft` reads them (`author`), made here as text for the
//! spokesperson to edit, in the console or in a file; nothing here reads or writes anything.

use crate::domain::{Language, Update, UpdateText};
use chrono::{Datelike, NaiveDate};
use std::fmt::Write;

/// An incident playbook: a complete update file whose blanks (`[[…]]`, see
/// [`crate::author::blanks`]) the spokesperson fills in.
#[derive(Debug)]
pub struct Playbook {
    key: &'static str,
    /// Its name in nl, fr, en (the order of `Language`), for a picker.
    names: [&'static str; 3],
    source: &'static str,
}

/// The blank a playbook's incident ends with, which [`Playbook::file`] fills.
const MONTH_BLANK: &str = "[[YYYY-MM]]";

macro_rules! playbook {
    ($key:literal, $nl:literal, $fr:literal, $en:literal) => {
        Playbook {
            key: $key,
            names: [$nl, $fr, $en],
            source: include_str!(concat!("../templates/playbooks/", $key, ".toml")),
        }
    };
}

static PLAYBOOKS: [Playbook; 4] = [
    playbook!("cyberattack", "Cyberaanval", "Cyberattaque", "Cyberattack"),
    playbook!(
        "it-outage",
        "Informaticastoring",
        "Panne informatique",
        "IT outage"
    ),
    playbook!(
        "power-cut",
        "Stroomonderbreking",
        "Coupure de courant",
        "Power cut"
    ),
    playbook!("evacuation", "Evacuatie", "Évacuation", "Evacuation"),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaybookError {
    #[error("there is no playbook {name:?}: use one of {}", known())]
    Unknown { name: String },
}

fn known() -> String {
    PLAYBOOKS
        .iter()
        .map(|playbook| playbook.key)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every playbook, in the order a picker shows them.
pub fn playbooks() -> &'static [Playbook] {
    &PLAYBOOKS
}

/// The playbook `key` names (`cyberattack`, `it-outage`, `power-cut`, `evacuation`).
pub fn playbook(key: &str) -> Result<&'static Playbook, PlaybookError> {
    PLAYBOOKS
        .iter()
        .find(|playbook| playbook.key == key)
        .ok_or_else(|| PlaybookError::Unknown {
            name: key.to_string(),
        })
}

impl Playbook {
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// Its name in `language`, for a picker.
    pub fn name(&self, language: Language) -> &'static str {
        self.names[language as usize]
    }

    /// The file as shipped, every blank in it, its incident's month too.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// The incident it opens in the month of `today` (the hospital's day): `cyberattack-2026-12`.
    pub fn incident(&self, today: NaiveDate) -> String {
        format!("{}-{:04}-{:02}", self.key, today.year(), today.month())
    }

    /// The file to fill in, opening `incident`; the other blanks are left for the spokesperson.
    pub fn file(&self, incident: &str) -> String {
        self.source.replacen(
            &format!("incident = \"{}-{MONTH_BLANK}\"", self.key),
            &format!("incident = {}", basic(incident)),
            1,
        )
    }
}

/// A new update file that follows `previous` in its incident: its audiences, channels,
/// appointments, CAP values and texts, `kind = "update"` and `follows` its id. Its texts are
/// the earlier ones, for the spokesperson to rewrite (a draft whose texts are those of an
/// update already released is warned about).
pub fn follow_up(previous: &Update) -> String {
    let mut file = String::new();
    // Writing to a String cannot fail.
    let _ = write_follow_up(&mut file, previous);
    file
}

fn write_follow_up(file: &mut String, previous: &Update) -> std::fmt::Result {
    writeln!(
        file,
        "# Follows update {} ({}, {}) of incident {}: its texts, to rewrite with what is new.",
        previous.id,
        previous.kind.as_str(),
        previous.state,
        previous.incident_id
    )?;
    writeln!(
        file,
        "# Check the audiences (the days, the campus) and what happens to the appointments;"
    )?;
    writeln!(
        file,
        "# then: tocsin update draft FILE --by \"Your Name\", preview, approve (someone else), send."
    )?;
    writeln!(file)?;
    writeln!(file, "incident = {}", basic(&previous.incident_id))?;
    writeln!(
        file,
        "kind = \"update\"                 # alert | update | cancel | allclear"
    )?;
    writeln!(file, "follows = {}", previous.id)?;
    writeln!(
        file,
        "# author = \"Your Name\"          # or: tocsin update draft FILE --by \"Your Name\""
    )?;
    let audiences: Vec<String> = previous
        .audiences
        .iter()
        // Implied by the telegram channel, never written in a file.
        .filter(|audience| **audience != crate::domain::AudienceSpec::Public)
        .map(|audience| basic(&audience.to_string()))
        .collect();
    writeln!(file, "audiences = [{}]", audiences.join(", "))?;
    let channels: Vec<String> = previous
        .channels
        .iter()
        .map(|channel| basic(channel.as_str()))
        .collect();
    writeln!(file, "channels = [{}]", channels.join(", "))?;
    writeln!(
        file,
        "appointments = {}      # cancelled | postponed | as-planned",
        basic(previous.appointments.as_str())
    )?;
    let cap = &previous.cap;
    let given = [
        ("urgency", cap.urgency.map(|value| value.as_str())),
        ("severity", cap.severity.map(|value| value.as_str())),
        ("certainty", cap.certainty.map(|value| value.as_str())),
        (
            "response_type",
            cap.response_type.map(|value| value.as_str()),
        ),
    ];
    if given.iter().any(|(_, value)| value.is_some()) {
        writeln!(file, "\n[cap]")?;
        for (key, value) in given {
            if let Some(value) = value {
                writeln!(file, "{key} = {}", basic(value))?;
            }
        }
    }
    for language in Language::ALL {
        let UpdateText { title, body, sms } = previous.text(language);
        writeln!(file, "\n[{language}]")?;
        writeln!(file, "title = {}", basic(title))?;
        writeln!(file, "body = {}", multiline(body))?;
        writeln!(file, "sms = {}", basic(sms))?;
    }
    Ok(())
}

/// A TOML basic string: `"…"`, escaped.
fn basic(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => escape_control(&mut out, c),
        }
    }
    out.push('"');
    out
}

/// A TOML multi-line basic string, its lines as written: `"""` on lines of their own.
fn multiline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str("\"\"\"\n");
    for c in text.chars() {
        match c {
            // Escaping every quote keeps `"""` in a text from closing the string.
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' | '\t' => out.push(c),
            c => escape_control(&mut out, c),
        }
    }
    out.push_str("\n\"\"\"");
    out
}

/// Any other control character (TOML refuses them raw) as `\uXXXX`.
fn escape_control(out: &mut String, c: char) {
    if c.is_control() {
        let _ = write!(out, "\\u{:04X}", u32::from(c));
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::author::{blanks, parse_draft, DraftOptions};
    use crate::channels::sms::gsm;
    use crate::domain::{
        AppointmentOutcome, AudienceSpec, CapFields, ChannelKind, PublicReference, Severity,
        UpdateKind, UpdateState, Urgency, RANDOM_CHARACTERS,
    };

    const AUTHOR: Option<&str> = Some("Els Peeters");

    fn december() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date")
    }

    /// What a spokesperson would write in each blank: dates where an audience wants them.
    fn filled(source: &str) -> String {
        let mut out = source.to_string();
        for blank in blanks(source) {
            let value = match blank {
                "[[first-day]]" => "2026-12-01",
                "[[last-day]]" => "2026-12-02",
                "[[campus]]" => "Deurne",
                _ => "vandaag",
            };
            out = out.replacen(blank, value, 1);
        }
        out
    }

    fn options() -> DraftOptions {
        DraftOptions {
            accept_gsm7: false,
            max_sms_segments: Some(1),
        }
    }

    #[test]
    fn every_playbook_parses_as_an_update_file_once_its_blanks_are_filled() {
        for playbook in playbooks() {
            let file = filled(&playbook.file(&playbook.incident(december())));
            let draft = parse_draft(playbook.key(), &file, AUTHOR, options())
                .unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(
                draft.update.incident_id,
                format!("{}-2026-12", playbook.key())
            );
            assert_eq!(draft.update.kind, UpdateKind::Alert);
            assert!(draft.update.channels.contains(&ChannelKind::Sms));
            assert!(draft.update.audiences.contains(&AudienceSpec::Media));
        }
    }

    #[test]
    fn a_blank_left_is_refused_with_its_language_field_and_line() {
        let source = playbook("cyberattack").expect("shipped").source();
        let error =
            parse_draft("cyberattack.toml", source, AUTHOR, options()).expect_err("blanks left");
        let messages: Vec<&str> = error
            .problems
            .iter()
            .map(|problem| problem.message.as_str())
            .collect();
        for expected in [
            "incident: the blank [[YYYY-MM]] is still there",
            "audiences: the blank [[first-day]] is still there",
            "audiences: the blank [[last-day]] is still there",
            "[nl] body: the blank [[wanneer]] is still there",
            "[nl] body: the blank [[op welke campussen]] is still there",
            "[fr] body: the blank [[quels jours]] is still there",
            "[en] body: the blank [[which days]] is still there",
        ] {
            assert!(
                messages.iter().any(|message| message.starts_with(expected)),
                "{expected:?} not in\n{error}"
            );
        }
        // Nothing but the blanks (those of the values: the comments name them too): the
        // file is otherwise right.
        let in_values: usize = source
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(|line| blanks(line).len())
            .sum();
        assert_eq!(error.problems.len(), in_values, "{error}");
        // Each is pointed at where it stands.
        let lines: Vec<&str> = source.lines().collect();
        for problem in &error.problems {
            let blank = problem
                .message
                .split_once("the blank ")
                .and_then(|(_, rest)| rest.split_once(" is still there"))
                .map(|(blank, _)| blank)
                .expect("names its blank");
            let line = lines[problem.line - 1];
            // Columns count bytes, as the rest of the file's problems do.
            let from = line.get(problem.column - 1..).unwrap_or_default();
            assert!(from.starts_with(blank), "{problem:?} at {line:?}");
        }
        // One blank left in a title is found too.
        let power_cut = playbook("power-cut").expect("shipped");
        let one_left = filled(&power_cut.file("power-cut-2026-12")).replacen(
            "title = \"Coupure de courant sur le campus Deurne",
            "title = \"Coupure de courant sur le campus [[campus]]",
            1,
        );
        let error =
            parse_draft("power-cut.toml", &one_left, AUTHOR, options()).expect_err("one left");
        assert_eq!(error.problems.len(), 1, "{error}");
        assert!(
            error.problems[0]
                .message
                .starts_with("[fr] title: the blank [[campus]] is still there"),
            "{error}"
        );
    }

    #[test]
    fn every_sms_text_is_gsm7_and_short() {
        for playbook in playbooks() {
            for source in [playbook.source().to_string(), filled(playbook.source())] {
                let file: toml::Table = toml::from_str(&source).expect("TOML");
                for language in Language::ALL {
                    let sms = file[language.code()]["sms"].as_str().expect("an sms text");
                    let analysis = gsm::analyse(sms);
                    assert_eq!(
                        analysis.encoding,
                        gsm::Encoding::Gsm7,
                        "{} [{language}] {sms:?}: {:?}",
                        playbook.key(),
                        analysis.non_gsm
                    );
                    // The template adds the sender, the appointments and whom to call.
                    assert!(
                        sms.chars().count() < 100,
                        "{} [{language}] {sms:?}",
                        playbook.key()
                    );
                    // It puts the sender and a colon before the text: a second colon in the
                    // sentence reads as a stutter.
                    assert!(
                        !sms.contains(':'),
                        "{} [{language}] {sms:?}",
                        playbook.key()
                    );
                }
            }
        }
    }

    #[test]
    fn every_playbook_is_written_and_named_in_the_three_languages() {
        for playbook in playbooks() {
            let file: toml::Table = toml::from_str(playbook.source()).expect("TOML");
            for language in Language::ALL {
                let text = file
                    .get(language.code())
                    .unwrap_or_else(|| panic!("{} has no [{language}]", playbook.key()));
                for field in ["title", "body", "sms"] {
                    assert!(
                        text[field].as_str().is_some_and(|t| !t.trim().is_empty()),
                        "{} [{language}] {field}",
                        playbook.key()
                    );
                }
                assert!(!playbook.name(language).is_empty());
            }
            assert_ne!(playbook.name(Language::Nl), playbook.name(Language::En));
            assert_eq!(
                playbook.source().matches(MONTH_BLANK).count(),
                1,
                "{}: the incident alone has the month's blank",
                playbook.key()
            );
        }
    }

    #[test]
    fn french_texts_set_their_marks_apart_with_a_plain_space() {
        for playbook in playbooks() {
            let file: toml::Table = toml::from_str(playbook.source()).expect("TOML");
            for field in ["title", "body", "sms"] {
                let text = file["fr"][field].as_str().expect("text");
                assert!(
                    !text.contains(['\u{a0}', '\u{202f}']),
                    "rendering sets them"
                );
                let chars: Vec<char> = text.chars().collect();
                for (at, c) in chars.iter().enumerate() {
                    let ends_clause = chars.get(at + 1).is_none_or(|next| next.is_whitespace());
                    if matches!(c, ':' | ';' | '?' | '!') && ends_clause {
                        assert_eq!(
                            chars[at - 1],
                            ' ',
                            "{} [fr] {field}: {:?}",
                            playbook.key(),
                            chars[at.saturating_sub(30)..=at].iter().collect::<String>()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn an_unknown_playbook_is_refused_naming_the_known_ones() {
        let error = playbook("fire").expect_err("unknown");
        assert_eq!(
            error.to_string(),
            "there is no playbook \"fire\": use one of cyberattack, it-outage, power-cut, evacuation"
        );
        assert_eq!(
            playbook("evacuation").expect("known").name(Language::Fr),
            "Évacuation"
        );
    }

    fn earlier() -> Update {
        let text = |title: &str| UpdateText {
            title: title.to_string(),
            body: "Eerste alinea met \"aanhalingstekens\" en een \\ schuine streep.\n\n\
                   Tweede alinea; \"\"\" drie tekens.\tTab."
                .to_string(),
            sms: format!("{title}: kort \"bericht\"."),
        };
        Update {
            id: 7,
            reference: PublicReference::new("ZNA", december(), [0; RANDOM_CHARACTERS]),
            incident_id: "cyberattack-2026-01".into(),
            kind: UpdateKind::Alert,
            follows: None,
            audiences: vec![
                AudienceSpec::parse("patients from=2026-01-13 to=2026-01-14 campus=Sint_Jozef")
                    .expect("valid"),
                AudienceSpec::GpsOfAffected,
                AudienceSpec::Media,
                AudienceSpec::Public,
            ],
            channels: vec![ChannelKind::Sms, ChannelKind::Email, ChannelKind::Telegram],
            appointments: AppointmentOutcome::Postponed,
            state: UpdateState::Sent,
            author: "Els Peeters".into(),
            approved_by: Some("Jan Claes".into()),
            approved_at_ms: Some(1),
            created_at_ms: 0,
            cap: CapFields {
                urgency: Some(Urgency::Immediate),
                severity: Some(Severity::Severe),
                certainty: None,
                response_type: None,
            },
            paused: None,
            send_at_ms: None,
            nl: text("Cyberaanval"),
            fr: text("Cyberattaque"),
            en: text("Cyberattack"),
        }
    }

    #[test]
    fn a_follow_up_keeps_the_audiences_channels_and_texts_and_follows_its_update() {
        let previous = earlier();
        let file = follow_up(&previous);
        let draft = parse_draft("next.toml", &file, AUTHOR, DraftOptions::default())
            .unwrap_or_else(|error| panic!("{error}\n{file}"));
        let update = draft.update;
        assert_eq!(update.incident_id, previous.incident_id);
        assert_eq!(update.kind, UpdateKind::Update);
        assert_eq!(update.follows, Some(7));
        assert_eq!(update.audiences, previous.audiences[..3].to_vec());
        assert_eq!(update.channels, previous.channels);
        assert_eq!(update.appointments, AppointmentOutcome::Postponed);
        assert_eq!(update.cap, previous.cap);
        assert_eq!(
            (update.nl, update.fr, update.en),
            (previous.nl, previous.fr, previous.en)
        );
        assert!(file.contains("body = \"\"\"\nEerste alinea"), "{file}");
        assert!(blanks(&file).is_empty());
    }
}
