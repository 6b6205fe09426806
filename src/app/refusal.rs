//! What an operation refuses to do, and why, as a kind with its facts rather than a sentence:
//! the console says it in the visitor's language and the command line in its own, from the
//! same `locales/<lang>/refusals.ftl` (loaded with `cli.ftl` by [`CliText`]).

use crate::domain::{ApprovalError, ChannelKind, Language, UpdateState};
use crate::render::CliText;
use fluent_bundle::FluentValue;

/// A refusal a person meets while working an update, in the console or on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Four eyes: the author may not approve (or send back) their own update.
    SameAuthor {
        id: i64,
        author: String,
    },
    /// Only a draft can be approved or sent back.
    NotDraft {
        id: i64,
        state: UpdateState,
    },
    /// A draft cannot be sent before a second person approves it.
    NotApproved {
        id: i64,
    },
    /// Sending a halted or discarded update.
    NothingMoreSent {
        id: i64,
        state: UpdateState,
    },
    /// Sending again what was never sent.
    RetryNotSent {
        id: i64,
        state: UpdateState,
    },
    Halt {
        id: i64,
        state: UpdateState,
    },
    Discard {
        id: i64,
        state: UpdateState,
    },
    /// `planned`: approved, and its deliveries already written down.
    Revoke {
        id: i64,
        state: UpdateState,
        planned: bool,
    },
    Schedule {
        id: i64,
        state: UpdateState,
        planned: bool,
    },
    /// A send time already past, as the hospital's clock writes it.
    TimePassed {
        at: String,
    },
    NotATime {
        typed: String,
        tz: String,
    },
    /// A time skipped when the clocks go forward.
    NoSuchTime {
        typed: String,
        tz: String,
    },
    CommentEmpty,
    CommentTooLong {
        max: usize,
    },
    /// Pausing what is not being sent, or is paused already (`paused`: why).
    Pause {
        id: i64,
        state: UpdateState,
        paused: Option<String>,
    },
    NoLongerSending {
        id: i64,
    },
    Resume {
        id: i64,
        state: UpdateState,
    },
    FallbackNotSent {
        id: i64,
        state: UpdateState,
    },
    FallbackPaused {
        id: i64,
        reason: String,
    },
    /// A preview for a contact the update does not reach (on `channel`, if one was asked).
    PreviewContact {
        contact: i64,
        external: String,
        id: i64,
        channel: Option<ChannelKind>,
    },
    PreviewLanguage {
        id: i64,
        language: Language,
        channel: Option<ChannelKind>,
    },
    PreviewNobody {
        id: i64,
        channel: Option<ChannelKind>,
    },
    /// "Send me a test" without a signed-in user.
    TestSignedIn,
    TestNoAddress {
        user: String,
        channel: ChannelKind,
    },
    NoChannel {
        channel: ChannelKind,
    },
    /// The gateway's own reason, as it gave it.
    TestNotSent {
        reason: String,
    },
    IncidentDiscarded {
        incident: String,
    },
    NoIncident {
        incident: String,
    },
    FollowsOtherIncident {
        file: String,
        follows: i64,
        theirs: String,
        ours: String,
    },
}

impl Refusal {
    /// The sentence in `text`'s language.
    pub fn say(&self, text: &CliText) -> String {
        let state = |state: UpdateState| state_name(text, state.as_str());
        let id = |id: &i64| FluentValue::from(id.to_string());
        let channel = |channel: &Option<ChannelKind>| {
            FluentValue::from(channel.map_or("any", |channel| channel.as_str()))
        };
        let (message, args): (&str, Vec<(&str, FluentValue)>) = match self {
            Refusal::SameAuthor { id: n, author } => (
                "error-same-author",
                vec![("id", id(n)), ("author", author.as_str().into())],
            ),
            Refusal::NotDraft { id: n, state: s } => (
                "error-not-draft",
                vec![("id", id(n)), ("state", state(*s).into())],
            ),
            Refusal::NotApproved { id: n } => ("error-not-approved", vec![("id", id(n))]),
            Refusal::NothingMoreSent { id: n, state: s } => (
                "refusal-nothing-more-sent",
                vec![("id", id(n)), ("state", state(*s).into())],
            ),
            Refusal::RetryNotSent { id: n, state: s } => (
                "refusal-retry-not-sent",
                vec![("id", id(n)), ("state", state(*s).into())],
            ),
            Refusal::Halt { id: n, state: s } => (
                "refusal-halt",
                vec![
                    ("id", id(n)),
                    ("state", state(*s).into()),
                    ("code", s.as_str().into()),
                ],
            ),
            Refusal::Discard { id: n, state: s } => (
                "refusal-discard",
                vec![
                    ("id", id(n)),
                    ("state", state(*s).into()),
                    ("code", s.as_str().into()),
                ],
            ),
            Refusal::Revoke {
                id: n,
                state: s,
                planned,
            } => {
                let code = stage(*s, *planned);
                (
                    "refusal-revoke",
                    vec![
                        ("id", id(n)),
                        ("state", state_name(text, code).into()),
                        ("code", code.into()),
                    ],
                )
            }
            Refusal::Schedule {
                id: n,
                state: s,
                planned,
            } => (
                "refusal-schedule",
                vec![
                    ("id", id(n)),
                    ("state", state_name(text, stage(*s, *planned)).into()),
                ],
            ),
            Refusal::TimePassed { at } => ("refusal-time-passed", vec![("at", at.as_str().into())]),
            Refusal::NotATime { typed, tz } => (
                "refusal-not-a-time",
                vec![("typed", typed.as_str().into()), ("tz", tz.as_str().into())],
            ),
            Refusal::NoSuchTime { typed, tz } => (
                "refusal-no-such-time",
                vec![("typed", typed.as_str().into()), ("tz", tz.as_str().into())],
            ),
            Refusal::CommentEmpty => ("refusal-comment-empty", vec![]),
            Refusal::CommentTooLong { max } => (
                "refusal-comment-too-long",
                vec![("max", (*max as u64).into())],
            ),
            Refusal::Pause {
                id: n,
                paused: Some(reason),
                ..
            } => (
                "refusal-pause-paused",
                vec![("id", id(n)), ("reason", reason.as_str().into())],
            ),
            Refusal::Pause {
                id: n,
                state: s,
                paused: None,
            } => (
                "refusal-pause",
                vec![("id", id(n)), ("state", state(*s).into())],
            ),
            Refusal::NoLongerSending { id: n } => {
                ("refusal-no-longer-sending", vec![("id", id(n))])
            }
            Refusal::Resume { id: n, state: s } => (
                "refusal-resume",
                vec![("id", id(n)), ("state", state(*s).into())],
            ),
            Refusal::FallbackNotSent { id: n, state: s } => (
                "refusal-fallback-not-sent",
                vec![("id", id(n)), ("state", state(*s).into())],
            ),
            Refusal::FallbackPaused { id: n, reason } => (
                "refusal-fallback-paused",
                vec![("id", id(n)), ("reason", reason.as_str().into())],
            ),
            Refusal::PreviewContact {
                contact,
                external,
                id: n,
                channel: c,
            } => (
                "refusal-preview-contact",
                vec![
                    ("contact", id(contact)),
                    ("external", external.as_str().into()),
                    ("id", id(n)),
                    ("channel", channel(c)),
                ],
            ),
            Refusal::PreviewLanguage {
                id: n,
                language,
                channel: c,
            } => (
                "refusal-preview-language",
                vec![
                    ("id", id(n)),
                    ("language", language.code().into()),
                    ("channel", channel(c)),
                ],
            ),
            Refusal::PreviewNobody { id: n, channel: c } => (
                "refusal-preview-nobody",
                vec![("id", id(n)), ("channel", channel(c))],
            ),
            Refusal::TestSignedIn => ("refusal-test-signed-in", vec![]),
            Refusal::TestNoAddress { user, channel: c } => (
                "refusal-test-no-address",
                vec![
                    ("user", user.as_str().into()),
                    ("channel", c.as_str().into()),
                ],
            ),
            Refusal::NoChannel { channel: c } => {
                ("refusal-no-channel", vec![("channel", c.as_str().into())])
            }
            Refusal::TestNotSent { reason } => (
                "refusal-test-not-sent",
                vec![("reason", reason.as_str().into())],
            ),
            Refusal::IncidentDiscarded { incident } => (
                "refusal-incident-discarded",
                vec![("incident", incident.as_str().into())],
            ),
            Refusal::NoIncident { incident } => (
                "refusal-no-incident",
                vec![("incident", incident.as_str().into())],
            ),
            Refusal::FollowsOtherIncident {
                file,
                follows,
                theirs,
                ours,
            } => (
                "refusal-follows-other-incident",
                vec![
                    ("file", file.as_str().into()),
                    ("follows", id(follows)),
                    ("theirs", theirs.as_str().into()),
                    ("ours", ours.as_str().into()),
                ],
            ),
        };
        text.say(message, &args)
    }
}

/// The state a refusal names: an approved update whose deliveries are written down is past
/// the point where approval can be taken back, and says so.
fn stage(state: UpdateState, planned: bool) -> &'static str {
    if planned && state == UpdateState::Approved {
        "planned"
    } else {
        state.as_str()
    }
}

/// An update's state as a sentence names it (`update-state-*`).
pub fn state_name(text: &CliText, code: &str) -> String {
    text.say(&format!("update-state-{code}"), &[])
}

/// English, for logs, the audit log and `{}` of an [`super::AppError`].
impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.say(CliText::english()))
    }
}

impl std::error::Error for Refusal {}

impl super::AppError {
    /// The refusal this error is, when it is one a person can act on: the console and the
    /// command line say it in their language; other errors keep the library's English.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            super::AppError::Refusal(refusal) => Some(refusal.clone()),
            super::AppError::Approval(error) => approval_refusal(error),
            super::AppError::Plan(crate::plan::PlanError::NotApproved(id)) => {
                Some(Refusal::NotApproved { id: *id })
            }
            _ => None,
        }
    }
}

/// Four eyes' refusals (an approval without a name is a bug of the caller's, not one).
pub fn approval_refusal(error: &ApprovalError) -> Option<Refusal> {
    match error {
        ApprovalError::SameAuthor { id, author } => Some(Refusal::SameAuthor {
            id: *id,
            author: author.clone(),
        }),
        ApprovalError::NotDraft(id, state) => Some(Refusal::NotDraft {
            id: *id,
            state: *state,
        }),
        ApprovalError::NoApprover => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each kind, with the facts that choose a variant.
    fn every_kind() -> Vec<Refusal> {
        let (id, state) = (5, UpdateState::Sending);
        let text = |s: &str| s.to_string();
        vec![
            Refusal::SameAuthor {
                id,
                author: text("els"),
            },
            Refusal::NotDraft { id, state },
            Refusal::NotApproved { id },
            Refusal::NothingMoreSent {
                id,
                state: UpdateState::Halted,
            },
            Refusal::RetryNotSent {
                id,
                state: UpdateState::Approved,
            },
            Refusal::Halt {
                id,
                state: UpdateState::Draft,
            },
            Refusal::Discard { id, state },
            Refusal::Revoke {
                id,
                state: UpdateState::Approved,
                planned: true,
            },
            Refusal::Schedule {
                id,
                state,
                planned: false,
            },
            Refusal::TimePassed {
                at: text("2026-12-01 09:30"),
            },
            Refusal::NotATime {
                typed: text("tomorrow"),
                tz: text("Europe/Brussels"),
            },
            Refusal::NoSuchTime {
                typed: text("2026-03-29 02:30"),
                tz: text("Europe/Brussels"),
            },
            Refusal::CommentEmpty,
            Refusal::CommentTooLong { max: 2_000 },
            Refusal::Pause {
                id,
                state: UpdateState::Sent,
                paused: None,
            },
            Refusal::Pause {
                id,
                state,
                paused: Some(text("by piet")),
            },
            Refusal::NoLongerSending { id },
            Refusal::Resume { id, state },
            Refusal::FallbackNotSent {
                id,
                state: UpdateState::Approved,
            },
            Refusal::FallbackPaused {
                id,
                reason: text("by piet"),
            },
            Refusal::PreviewContact {
                contact: 7,
                external: text("P-7"),
                id,
                channel: Some(ChannelKind::Sms),
            },
            Refusal::PreviewLanguage {
                id,
                language: Language::Fr,
                channel: None,
            },
            Refusal::PreviewNobody {
                id,
                channel: Some(ChannelKind::Email),
            },
            Refusal::TestSignedIn,
            Refusal::TestNoAddress {
                user: text("els"),
                channel: ChannelKind::Sms,
            },
            Refusal::NoChannel {
                channel: ChannelKind::Email,
            },
            Refusal::TestNotSent {
                reason: text("550"),
            },
            Refusal::IncidentDiscarded {
                incident: text("cyber-2026-01"),
            },
            Refusal::NoIncident {
                incident: text("flood"),
            },
            Refusal::FollowsOtherIncident {
                file: text("console"),
                follows: 3,
                theirs: text("a"),
                ours: text("b"),
            },
        ]
    }

    #[test]
    fn every_refusal_is_said_in_each_language_and_not_in_english_in_dutch_or_french() {
        let [nl, fr, en] = Language::ALL.map(CliText::of);
        for refusal in every_kind() {
            let english = refusal.say(en);
            for text in [nl, fr] {
                let said = refusal.say(text);
                assert!(
                    !said.starts_with("refusal-") && !said.starts_with("error-"),
                    "{refusal:?} is not formatted: {said}"
                );
                assert_ne!(
                    said,
                    english,
                    "{refusal:?} is English in {:?}",
                    text.language()
                );
            }
        }
    }

    #[test]
    fn a_refusal_names_the_updates_state_in_its_own_language() {
        let halt = Refusal::Halt {
            id: 5,
            state: UpdateState::Draft,
        };
        assert_eq!(
            halt.say(CliText::of(Language::Fr)),
            "la mise à jour 5 est à l'état «\u{a0}brouillon\u{a0}»\u{a0}: seule une mise à \
             jour approuvée ou en cours d'envoi peut être arrêtée (un brouillon s'abandonne\u{a0}: \
             tocsin update discard)"
        );
        assert_eq!(
            halt.to_string(),
            "update 5 is draft: only an approved or running update can be halted (a draft is \
             discarded: tocsin update discard)"
        );
        let revoke = Refusal::Revoke {
            id: 5,
            state: UpdateState::Approved,
            planned: true,
        };
        assert_eq!(
            revoke.say(CliText::of(Language::Nl)),
            "update 5 heeft de status ‘ingepland’: alleen van een goedgekeurde update waarvan de \
             verzending nog niet begonnen is, kan de goedkeuring worden ingetrokken (om ze te \
             stoppen: tocsin update halt)"
        );
    }
}
