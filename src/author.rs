//! Update files: what the spokesperson writes, read and checked before anything is stored.
//!
//! ```toml
//! incident = "cyberattack-2026-01"
//! kind = "alert"                 # alert | update | cancel | allclear
//! author = "Els Peeters"         # or `tocsin update draft FILE --by NAME`
//! audiences = ["patients from=2026-01-13 to=2026-01-14", "gps-of-affected", "media"]
//! channels = ["sms", "email"]
//! appointments = "cancelled"     # cancelled | postponed | as-planned
//! [cap]                          # optional: the press room's CAP 1.2 alert
//! urgency = "Immediate"          # defaults per kind: `domain::CapFields::resolve`
//! severity = "Severe"
//! certainty = "Observed"
//! response_type = "Monitor"
//! [nl]
//! title = "…"
//! body = """…"""
//! sms = "…"
//! ```
//!
//! A playbook (`crate::playbooks`) leaves blanks written `[[what to write]]`: a file that still
//! has one is refused, each blank named with its field and language.

use crate::channels::sms::gsm;
use crate::domain::{
    AppointmentOutcome, AudienceSpec, CapFields, Certainty, ChannelKind, Language, NewUpdate,
    ResponseType, Severity, UpdateKind, UpdateText, Urgency,
};
use serde::Deserialize;
use std::fmt;
use std::ops::Range;
use toml::Spanned;

/// One thing wrong with an update file, with where it is and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Every problem of one file: the author fixes them all in one go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DraftError {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for DraftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} was not stored:", self.file)?;
        for problem in &self.problems {
            writeln!(
                f,
                "  {}:{}:{}: {}",
                self.file, problem.line, problem.column, problem.message
            )?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateFile {
    incident: Spanned<String>,
    kind: Spanned<String>,
    follows: Option<i64>,
    author: Option<Spanned<String>>,
    audiences: Spanned<Vec<Spanned<String>>>,
    channels: Spanned<Vec<Spanned<String>>>,
    appointments: Option<Spanned<String>>,
    cap: Option<CapFile>,
    nl: Option<TextFile>,
    fr: Option<TextFile>,
    en: Option<TextFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapFile {
    urgency: Option<Spanned<String>>,
    severity: Option<Spanned<String>>,
    certainty: Option<Spanned<String>>,
    response_type: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TextFile {
    title: Spanned<String>,
    body: Spanned<String>,
    sms: Spanned<String>,
}

/// A checked update file.
#[derive(Debug, Clone)]
pub struct Draft {
    pub update: NewUpdate,
    /// Per language, how its SMS text travels.
    pub sms: Vec<(Language, gsm::SmsAnalysis)>,
}

struct Lines<'a>(&'a str);

impl Lines<'_> {
    fn at(&self, offset: usize) -> (usize, usize) {
        let before = &self.0[..offset.min(self.0.len())];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rfind('\n')
            .map_or(before.len(), |nl| before.len() - nl - 1)
            + 1;
        (line, column)
    }

    fn problem(&self, span: Range<usize>, message: impl Into<String>) -> Problem {
        let (line, column) = self.at(span.start);
        Problem {
            line,
            column,
            message: message.into(),
        }
    }
}

/// Options that change what the author gets back, not what the file says.
#[derive(Debug, Clone, Copy, Default)]
pub struct DraftOptions {
    /// Replace each SMS text by its proposed GSM-7 version.
    pub accept_gsm7: bool,
    /// Refuse an SMS text longer than this many parts.
    pub max_sms_segments: Option<usize>,
}

/// Reads an update file. `author` from the command line wins over the file's.
pub fn parse_draft(
    file: &str,
    source: &str,
    author: Option<&str>,
    options: DraftOptions,
) -> Result<Draft, DraftError> {
    let lines = Lines(source);
    let fail = |problems: Vec<Problem>| DraftError {
        file: file.to_string(),
        problems,
    };
    let parsed: UpdateFile = toml::from_str(source).map_err(|error| {
        let (line, column) = lines.at(error.span().map_or(0, |span| span.start));
        fail(vec![Problem {
            line,
            column,
            message: format!(
                "{} (see examples/ for a complete update file)",
                error.message().trim_end()
            ),
        }])
    })?;

    let mut problems = Vec::new();
    let incident = parsed.incident.get_ref().trim().to_string();
    // A blank is named as such: that the name is not valid yet says nothing more.
    let blank = blanks_left(&lines, &mut problems, "incident", &parsed.incident);
    if !blank
        && (incident.is_empty()
            || !incident
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        problems.push(lines.problem(
            parsed.incident.span(),
            "incident must be a short name of letters, digits and dashes, e.g. \"cyberattack-2026-01\"",
        ));
    }
    let kind = parsed
        .kind
        .get_ref()
        .parse::<UpdateKind>()
        .map_err(|message| problems.push(lines.problem(parsed.kind.span(), message)))
        .ok();
    let appointments = match &parsed.appointments {
        None => Some(AppointmentOutcome::Cancelled),
        Some(value) => value
            .get_ref()
            .parse::<AppointmentOutcome>()
            .map_err(|message| problems.push(lines.problem(value.span(), message)))
            .ok(),
    };
    let cap = parsed
        .cap
        .map(|cap| CapFields {
            urgency: cap_value(&lines, &mut problems, cap.urgency, Urgency::parse),
            severity: cap_value(&lines, &mut problems, cap.severity, Severity::parse),
            certainty: cap_value(&lines, &mut problems, cap.certainty, Certainty::parse),
            response_type: cap_value(
                &lines,
                &mut problems,
                cap.response_type,
                ResponseType::parse,
            ),
        })
        .unwrap_or_default();
    let mut audiences = Vec::new();
    let mut audience_blanks = false;
    for audience in parsed.audiences.get_ref() {
        if blanks_left(&lines, &mut problems, "audiences", audience) {
            audience_blanks = true;
            continue;
        }
        match AudienceSpec::parse(audience.get_ref()) {
            Ok(parsed) if !audiences.contains(&parsed) => audiences.push(parsed),
            Ok(_) => {}
            Err(error) => problems.push(lines.problem(audience.span(), error.to_string())),
        }
    }
    if parsed.audiences.get_ref().is_empty() {
        problems.push(lines.problem(
            parsed.audiences.span(),
            "audiences is empty: name at least one of patients, gps-of-affected, all-gps, media",
        ));
    }
    let has_patients = audiences
        .iter()
        .any(|audience| matches!(audience, AudienceSpec::Patients(_)));
    if audiences.contains(&AudienceSpec::GpsOfAffected) && !has_patients && !audience_blanks {
        problems.push(lines.problem(
            parsed.audiences.span(),
            "gps-of-affected needs a patients audience in the same update: it reaches the GPs of those patients",
        ));
    }
    let mut channels = Vec::new();
    for channel in parsed.channels.get_ref() {
        match channel.get_ref().parse::<ChannelKind>() {
            Ok(parsed) if !channels.contains(&parsed) => channels.push(parsed),
            Ok(_) => {}
            Err(error) => problems.push(lines.problem(channel.span(), error.to_string())),
        }
    }
    if parsed.channels.get_ref().is_empty() {
        problems.push(lines.problem(
            parsed.channels.span(),
            "channels is empty: name at least one of email, sms, telegram",
        ));
    }
    if let (None, Some(written)) = (author, &parsed.author) {
        let blank = blanks_left(&lines, &mut problems, "author", written);
        if let Some(message) = not_one_line("author", written.get_ref()).filter(|_| !blank) {
            problems.push(lines.problem(written.span(), message));
        }
    }
    if let Some(message) = author.and_then(|given| not_one_line("--by", given)) {
        problems.push(Problem {
            line: 1,
            column: 1,
            message,
        });
    }
    let author = author
        .map(str::to_string)
        .or(parsed.author.map(Spanned::into_inner))
        .map(|author| author.trim().to_string())
        .filter(|author| !author.is_empty());
    if author.is_none() {
        problems.push(Problem {
            line: 1,
            column: 1,
            message: "no author: add author = \"Your Name\" or pass --by NAME".into(),
        });
    }

    let end = lines.at(source.len());
    let mut texts = Vec::new();
    let mut analyses = Vec::new();
    for (language, text) in [
        (Language::Nl, parsed.nl),
        (Language::Fr, parsed.fr),
        (Language::En, parsed.en),
    ] {
        let Some(text) = text else {
            problems.push(Problem {
                line: end.0,
                column: 1,
                message: format!(
                    "the [{language}] text is missing: every update is written in nl, fr and en; \
                     add a [{language}] table with title, body and sms"
                ),
            });
            continue;
        };
        for (field, value) in [
            ("title", &text.title),
            ("body", &text.body),
            ("sms", &text.sms),
        ] {
            if value.get_ref().trim().is_empty() {
                problems.push(lines.problem(
                    value.span(),
                    format!("[{language}] {field} is empty: write the {field} in {language}"),
                ));
            }
            blanks_left(
                &lines,
                &mut problems,
                &format!("[{language}] {field}"),
                value,
            );
        }
        if let Some(message) =
            not_one_line(&format!("[{language}] title"), text.title.get_ref().trim())
        {
            problems.push(lines.problem(text.title.span(), message));
        }
        let mut sms_text = text.sms.get_ref().trim().to_string();
        if options.accept_gsm7 {
            if let Some(gsm) = gsm::gsm7_version(&sms_text) {
                sms_text = gsm;
            }
        }
        let analysis = gsm::analyse(&sms_text);
        if let Some(max) = options.max_sms_segments {
            if analysis.segments > max {
                problems.push(lines.problem(
                    text.sms.span(),
                    format!(
                        "[{language}] sms takes {} parts in {} (at most {max}): shorten it",
                        analysis.segments,
                        analysis.encoding.as_str()
                    ),
                ));
            }
        }
        analyses.push((language, analysis));
        texts.push(UpdateText {
            title: text.title.get_ref().trim().to_string(),
            body: text.body.get_ref().trim().to_string(),
            sms: sms_text,
        });
    }

    if !problems.is_empty() {
        return Err(fail(problems));
    }
    let (Some(kind), Some(appointments), Some(author), [nl, fr, en]) = (
        kind,
        appointments,
        author,
        <[UpdateText; 3]>::try_from(texts).map_err(|_| fail(vec![]))?,
    ) else {
        return Err(fail(vec![]));
    };
    Ok(Draft {
        update: NewUpdate {
            incident_title: en.title.clone(),
            incident_id: incident,
            kind,
            follows: parsed.follows,
            audiences,
            channels,
            appointments,
            author,
            cap,
            nl,
            fr,
            en,
        },
        sms: analyses,
    })
}

/// The blanks a playbook leaves in a text, each `[[what to write]]` whole: `[[`, up to 80
/// characters on one line without brackets, `]]`.
pub fn blanks(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("[[") {
        let after = &rest[open + 2..];
        let inside = after
            .find(['[', ']', '\n'])
            .filter(|&end| end > 0 && end <= 80 && after[end..].starts_with("]]"));
        match inside {
            Some(end) => {
                found.push(&rest[open..open + 2 + end + 2]);
                rest = &after[end + 2..];
            }
            None => rest = &rest[open + 1..],
        }
    }
    found
}

/// Notes each blank left in `value` at its own line and column; whether there was one.
fn blanks_left(
    lines: &Lines,
    problems: &mut Vec<Problem>,
    field: &str,
    value: &Spanned<String>,
) -> bool {
    let span = value.span();
    let written = lines.0.get(span.clone()).unwrap_or_default();
    let mut searched = 0;
    let found = blanks(value.get_ref());
    for blank in &found {
        // A blank has no escapes, so it stands in the file as it does in the value.
        let at = match written[searched..].find(blank) {
            Some(offset) => {
                searched += offset + blank.len();
                span.start + searched - blank.len()
            }
            None => span.start,
        };
        problems.push(lines.problem(
            at..at,
            format!(
                "{field}: the blank {blank} is still there: replace it, brackets included, \
                 with what it asks for"
            ),
        ));
    }
    !found.is_empty()
}

/// One value of the `[cap]` table, or `None` (the kind's default) with its problem noted.
fn cap_value<T>(
    lines: &Lines,
    problems: &mut Vec<Problem>,
    value: Option<Spanned<String>>,
    parse: fn(&str) -> Result<T, String>,
) -> Option<T> {
    let value = value?;
    parse(value.get_ref())
        .map_err(|message| problems.push(lines.problem(value.span(), format!("[cap] {message}"))))
        .ok()
}

/// A field that must stay on one line (a title becomes the e-mail's Subject header): a line
/// break or another control character in it is refused.
fn not_one_line(field: &str, value: &str) -> Option<String> {
    let found = value.chars().find(|c| c.is_control())?;
    Some(match found {
        '\r' | '\n' => format!(
            "{field} spans several lines: it must be one line (a title becomes the e-mail's \
             subject); join its lines"
        ),
        other => format!(
            "{field} contains the control character U+{:04X}: remove it",
            u32::from(other)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"incident = "cyberattack-2026-01"
kind = "alert"
author = "Els Peeters"
audiences = ["patients", "media"]
channels = ["sms", "email"]

[nl]
title = "Cyberaanval"
body = "Alle operaties zijn geannuleerd."
sms = "Door een cyberaanval zijn alle operaties geannuleerd."

[fr]
title = "Cyberattaque"
body = "Toutes les opérations sont annulées."
sms = "Suite à une cyberattaque, toutes les opérations sont annulées."

[en]
title = "Cyberattack"
body = "All operations are cancelled."
sms = "Due to a cyberattack, all operations are cancelled."
"#;

    fn parse(source: &str) -> Result<Draft, DraftError> {
        parse_draft("alert.toml", source, None, DraftOptions::default())
    }

    #[test]
    fn a_complete_file_is_accepted_with_its_sms_costs() {
        let draft = parse(GOOD).expect("valid");
        assert_eq!(draft.update.author, "Els Peeters");
        assert_eq!(
            draft.update.audiences,
            vec![
                AudienceSpec::parse("patients").expect("valid"),
                AudienceSpec::Media
            ]
        );
        assert_eq!(draft.update.incident_title, "Cyberattack");
        assert!(draft.sms.iter().all(
            |(_, analysis)| analysis.encoding == gsm::Encoding::Gsm7 && analysis.segments == 1
        ));
    }

    #[test]
    fn a_missing_language_is_named() {
        let source = GOOD.split("[en]").next().expect("has en");
        let error = parse(source).expect_err("refused");
        assert!(
            error.to_string().contains("the [en] text is missing"),
            "{error}"
        );
    }

    #[test]
    fn an_empty_body_is_refused_at_its_line() {
        let source = GOOD.replace(
            "body = \"Toutes les opérations sont annulées.\"",
            "body = \"  \"",
        );
        let error = parse(&source).expect_err("refused");
        assert_eq!(error.problems.len(), 1);
        assert_eq!(error.problems[0].line, 14);
        assert!(error.problems[0].message.contains("[fr] body is empty"));
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_line_and_name() {
        let source = GOOD.replace("kind = \"alert\"", "kind = \"alert\"\nurgency = \"high\"");
        let error = parse(&source).expect_err("refused");
        assert_eq!(error.problems[0].line, 3, "{error}");
        assert!(error.problems[0].message.contains("urgency"), "{error}");
    }

    #[test]
    fn invalid_toml_is_refused_with_its_line() {
        let source = GOOD.replace("title = \"Cyberaanval\"", "title = \"Cyberaanval");
        let error = parse(&source).expect_err("refused");
        assert_eq!(error.problems[0].line, 8, "{error}");
        assert!(error.to_string().starts_with("alert.toml was not stored:"));
    }

    #[test]
    fn the_gsm7_proposal_can_be_accepted() {
        let source = GOOD.replace(
            "sms = \"Door een cyberaanval zijn alle operaties geannuleerd.\"",
            "sms = \"De patiënt wordt geïnformeerd – later meer.\"",
        );
        let draft = parse(&source).expect("valid");
        let (_, nl) = &draft.sms[0];
        assert_eq!(nl.encoding, gsm::Encoding::Ucs2);
        assert_eq!(nl.non_gsm, vec!['ë', 'ï', '–']);
        let options = DraftOptions {
            accept_gsm7: true,
            max_sms_segments: None,
        };
        let draft = parse_draft("alert.toml", &source, None, options).expect("valid");
        assert_eq!(
            draft.update.nl.sms,
            "De patient wordt geinformeerd - later meer."
        );
        assert_eq!(draft.sms[0].1.encoding, gsm::Encoding::Gsm7);
    }

    #[test]
    fn an_sms_longer_than_the_configured_parts_is_refused_at_its_line() {
        let long = "Door een cyberaanval gaan geplande operaties niet door. ".repeat(4);
        let source = GOOD.replace(
            "sms = \"Door een cyberaanval zijn alle operaties geannuleerd.\"",
            &format!("sms = \"{long}\""),
        );
        let options = DraftOptions {
            accept_gsm7: false,
            max_sms_segments: Some(1),
        };
        let error = parse_draft("alert.toml", &source, None, options).expect_err("refused");
        assert_eq!(error.problems.len(), 1, "{error}");
        assert_eq!(error.problems[0].line, 10);
        assert!(
            error.problems[0]
                .message
                .contains("[nl] sms takes 2 parts in GSM-7 (at most 1)"),
            "{error}"
        );
    }

    #[test]
    fn a_title_with_a_line_break_is_refused_at_its_line() {
        let source = GOOD.replace(
            "title = \"Cyberattaque\"",
            "title = \"Cyberattaque\\r\\nBcc: everyone@example.be\"",
        );
        let error = parse(&source).expect_err("refused");
        assert_eq!(error.problems.len(), 1, "{error}");
        assert_eq!(error.problems[0].line, 13);
        assert!(
            error.problems[0]
                .message
                .contains("[fr] title spans several lines"),
            "{error}"
        );
        let source = GOOD.replace(
            "title = \"Cyberaanval\"",
            "title = \"\"\"Cyber\naanval\"\"\"",
        );
        let error = parse(&source).expect_err("refused");
        assert_eq!(error.problems[0].line, 8, "{error}");
        let source = GOOD.replace("author = \"Els Peeters\"", "author = \"Els\\u0007\"");
        let error = parse(&source).expect_err("refused");
        assert_eq!(error.problems[0].line, 3, "{error}");
        assert!(error.problems[0].message.contains("U+0007"), "{error}");
    }

    #[test]
    fn a_blank_is_found_whole_and_a_bracket_alone_is_not_one() {
        assert_eq!(
            blanks("a [[x]] b [[op welke campus]] [[]] [x] [[a\nb]] [[[c]]"),
            vec!["[[x]]", "[[op welke campus]]", "[[c]]"]
        );
        let source = GOOD.replace("Alle operaties", "Op [[campus]] alle operaties");
        let error = parse(&source).expect_err("a blank left");
        assert_eq!(error.problems.len(), 1, "{error}");
        assert_eq!(
            (error.problems[0].line, error.problems[0].column),
            (9, 12),
            "{error}"
        );
        assert!(
            error.problems[0]
                .message
                .starts_with("[nl] body: the blank [[campus]] is still there"),
            "{error}"
        );
    }

    #[test]
    fn four_eyes_needs_an_author() {
        let source = GOOD.replace("author = \"Els Peeters\"\n", "");
        let error = parse(&source).expect_err("refused");
        assert!(error.to_string().contains("no author"));
        let draft =
            parse_draft("a.toml", &source, Some("Els"), DraftOptions::default()).expect("ok");
        assert_eq!(draft.update.author, "Els");
    }
}
