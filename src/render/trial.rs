//! A trial run of every template, at start: Tera finds a variable it does not know, a
//! filter that does not exist or a `t()` message that is missing only when it renders, and
//! a hospital's own template must fail here rather than for the first patient of a broadcast.

use super::{Invites, RenderError, Renderer};
use crate::channels::sms::gsm;
use crate::channels::telegram::link::LinkKey;
use crate::domain::{
    AffectedPatient, Appointment, AppointmentOutcome, AppointmentStatus, Audience, CapFields,
    ChannelKind, Contact, Language, PublicReference, Recipient, Role, Update, UpdateKind,
    UpdateState, UpdateText,
};

/// Renders every template for every audience, language, channel it has and `appointments`
/// value, with and without a Telegram link, with recipients who have everything a template
/// may print (two appointments, a GP's patients with every field the configuration allows). Returns what makes an SMS UCS-2
/// although the update's text is GSM-7: a template's or a phrase's own characters, which
/// would cut every message's capacity from 160 to 70.
pub(super) fn render_everything(renderer: &Renderer) -> Result<Vec<String>, RenderError> {
    let recipients = sample_recipients();
    let mut not_gsm7 = Vec::new();
    for outcome in [
        AppointmentOutcome::Cancelled,
        AppointmentOutcome::Postponed,
        AppointmentOutcome::AsPlanned,
    ] {
        let update = sample_update(outcome);
        for invites in [None, Some(sample_invites())] {
            let prepared = renderer.prepare(&update)?.with_invites(invites);
            for language in Language::ALL {
                for (audience, recipient) in &recipients {
                    for &channel in audience.channels() {
                        let rendered = prepared.render(channel, *audience, language, recipient)?;
                        if channel != ChannelKind::Sms || gsm::is_gsm7(&rendered.body) {
                            continue;
                        }
                        let characters: String =
                            gsm::analyse(&rendered.body).non_gsm.into_iter().collect();
                        let finding = format!(
                        "the {language} SMS to {} travels as UCS-2 (70 characters a part instead of \
                         160) because of {characters:?} in its template or phrases",
                        audience.as_str()
                    );
                        if !not_gsm7.contains(&finding) {
                            not_gsm7.push(finding);
                        }
                    }
                }
            }
        }
    }
    Ok(not_gsm7)
}

/// Links to follow on Telegram, also in SMS, so that every template's link renders.
fn sample_invites() -> Invites {
    Invites {
        key: LinkKey::new([7; 32]),
        bot: "trial_bot".into(),
        expires_at_ms: 1_768_300_000_000,
        in_sms: true,
    }
}

fn sample_update(outcome: AppointmentOutcome) -> Update {
    let text = || UpdateText {
        title: "Title".into(),
        body: "First paragraph.\n\nSecond paragraph.".into(),
        sms: "Text.".into(),
    };
    Update {
        id: 1,
        reference: PublicReference::from_stored("TRIAL-20260113-0000".into()),
        incident_id: "trial".into(),
        kind: UpdateKind::Alert,
        follows: None,
        audiences: Vec::new(),
        channels: vec![ChannelKind::Email, ChannelKind::Sms, ChannelKind::Telegram],
        appointments: outcome,
        state: UpdateState::Draft,
        author: "trial".into(),
        approved_by: None,
        approved_at_ms: None,
        created_at_ms: 1_768_300_000_000,
        cap: CapFields::default(),
        paused: None,
        send_at_ms: None,
        nl: text(),
        fr: text(),
        en: text(),
    }
}

fn sample_recipients() -> [(Audience, Recipient); 4] {
    let person = |role: Role| Contact {
        id: 1,
        external_id: "trial".into(),
        role,
        first_name: "An".into(),
        last_name: "Peeters".into(),
        language: None,
        mobile: Some("+32471000000".into()),
        phone: None,
        email: Some("trial@example.be".into()),
        telegram_chat_id: None,
        telegram_language: None,
        organisation: Some("Trial".into()),
        birth_date: chrono::NaiveDate::from_ymd_opt(1980, 2, 1),
        opted_out: Vec::new(),
    };
    let appointment = |department: &str| Appointment {
        external_id: "trial".into(),
        starts_at: chrono::DateTime::from_timestamp_millis(1_768_300_000_000).unwrap_or_default(),
        campus: "Deurne".into(),
        department: department.into(),
        practitioner: Some("Dr. Trial".into()),
        status: AppointmentStatus::Booked,
    };
    let recipient = |role: Role| Recipient {
        contact: person(role),
        appointments: Vec::new(),
        affected_patients: Vec::new(),
        patients_by_language: Vec::new(),
    };
    let mut patient = recipient(Role::Patient);
    patient.appointments = vec![appointment("cardiology"), appointment("Unknown")];
    let mut gp = recipient(Role::Gp);
    gp.affected_patients = vec![AffectedPatient {
        first_name: "Jan".into(),
        last_name: "Peeters".into(),
        birth_date: chrono::NaiveDate::from_ymd_opt(1950, 3, 4),
        appointment: appointment("cardiology"),
    }];
    [
        (Audience::Patients, patient),
        (Audience::Gps, gp),
        (Audience::Media, recipient(Role::Journalist)),
        (Audience::Public, recipient(Role::Public)),
    ]
}
