//! What the console's compose page asks of the app besides `draft_source`: the SMS as
//! recipients would get them for texts not stored yet, the users' own addresses, and "send
//! me a test".

use super::{Actor, App, AppError, Preview, Refusal, Sample};
use crate::channels::{Message, NoHandover, Outcome};
use crate::domain::{
    AffectedPatient, Appointment, AppointmentStatus, Audience, ChannelKind, Contact, Language,
    NewUpdate, Recipient, UserName,
};
use crate::plan::{forecast, SmsForecast};
use crate::store::UserContact;
use std::collections::BTreeMap;

/// A test's recipient: as whom the user reads the update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestReader {
    Patient,
    Gp,
    Journalist,
}

impl TestReader {
    pub fn parse(raw: &str) -> Option<TestReader> {
        match raw {
            "patient" => Some(TestReader::Patient),
            "gp" => Some(TestReader::Gp),
            "journalist" => Some(TestReader::Journalist),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TestReader::Patient => "patient",
            TestReader::Gp => "gp",
            TestReader::Journalist => "journalist",
        }
    }

    fn audience(self) -> Audience {
        match self {
            TestReader::Patient => Audience::Patients,
            TestReader::Gp => Audience::Gps,
            TestReader::Journalist => Audience::Media,
        }
    }
}

/// What a test send asked for.
#[derive(Debug, Clone, Copy)]
pub struct TestRequest {
    pub update_id: i64,
    pub reader: TestReader,
    pub language: Language,
    pub channel: ChannelKind,
}

impl App {
    /// The SMS of `update` as its audiences would get them now, per language: what
    /// `update draft` reports (the same `forecast`), for texts not stored yet. Nothing is
    /// written.
    pub async fn sms_forecast(
        &self,
        update: &NewUpdate,
    ) -> Result<BTreeMap<Language, SmsForecast>, AppError> {
        self.refuse_wrong_address("count an SMS")?;
        let now = self.clock.now_ms();
        let reference = self.new_reference(now).await?;
        let forecast = forecast(
            self.store.as_ref(),
            &self.renderer,
            &self.config,
            &update.as_draft(0, reference, now),
        )
        .await?;
        Ok(forecast.sms)
    }

    /// Exactly what the readers `sample` chooses would receive of `update`, texts not
    /// stored yet: [`App::preview`]'s own rendering (the planner's, for the update page
    /// and what is sent), with a reference given for the preview only — the draft gets its
    /// own when it is saved. Nothing is written.
    pub async fn preview_unsaved(
        &self,
        update: &NewUpdate,
        sample: Sample<'_>,
    ) -> Result<Vec<Preview>, AppError> {
        self.refuse_wrong_address("preview an update")?;
        let now = self.clock.now_ms();
        let reference = self.new_reference(now).await?;
        self.previews_of(&update.as_draft(0, reference, now), sample, None, false)
            .await
    }

    /// Sets a user's own e-mail address and mobile number, checked as an import checks a
    /// contact's; `None` keeps what is stored.
    pub async fn set_user_contact(
        &self,
        name: &str,
        email: Option<&str>,
        phone: Option<&str>,
        actor: &Actor,
    ) -> Result<(), AppError> {
        let name = UserName::parse(name).map_err(|e| AppError::Refused(e.to_string()))?;
        let UserContact { email, phone } = checked_contact(email, phone)?;
        self.store
            .set_user_contact(&name, email.as_deref(), phone.as_deref())
            .await?;
        let mut set = Vec::new();
        if email.is_some() {
            set.push("e-mail");
        }
        if phone.is_some() {
            set.push("phone");
        }
        self.audit(
            actor,
            "user.contact",
            Some(name.as_str()),
            Some(set.join(", ")),
        )
        .await
    }

    /// A user's own addresses.
    pub async fn user_contact(&self, name: &UserName) -> Result<UserContact, AppError> {
        Ok(self.store.user_contact(name).await?)
    }

    /// "Send me a test": the update rendered for a made-up patient, GP or journalist in
    /// `language`, marked as a test in its subject and first line, sent through the real
    /// channel to the user's own address and to nobody else. No delivery row is written
    /// (it is no delivery: nobody is reached); the audit log records the test before it
    /// leaves (what is sent is written down first) and its outcome after.
    pub async fn send_test(&self, request: TestRequest, actor: &Actor) -> Result<(), AppError> {
        self.refuse_placeholders("send a test")?;
        let Some(user) = &actor.user else {
            return Err(Refusal::TestSignedIn.into());
        };
        let update = self.store.update(request.update_id).await?;
        let own = self.store.user_contact(user).await?;
        let address = match request.channel {
            ChannelKind::Email => own.email,
            ChannelKind::Sms => own.phone,
            ChannelKind::Telegram => None,
        }
        .ok_or_else(|| Refusal::TestNoAddress {
            user: user.to_string(),
            channel: request.channel,
        })?;
        let recipient = self.test_recipient(request, user, &address).await?;
        // No Telegram invitation: its link would name a contact that does not exist.
        let prepared = self.renderer.prepare(&update)?;
        let mut content = prepared.render(
            request.channel,
            request.reader.audience(),
            request.language,
            &recipient,
        )?;
        let mark = self
            .renderer
            .locales()
            .format(request.language, "test-mark", None)
            .map_err(crate::render::RenderError::from)?;
        mark_as_test(&mut content, &mark);
        let detail = format!(
            "as {} in {} by {} to {}",
            request.reader.as_str(),
            request.language,
            request.channel,
            crate::channels::mask(&address)
        );
        let target = request.update_id.to_string();
        self.audit(actor, "update.test", Some(&target), Some(detail.clone()))
            .await?;
        let channels = self.channels()?;
        let channel = channels.get(&request.channel).ok_or(Refusal::NoChannel {
            channel: request.channel,
        })?;
        let message = Message {
            delivery_id: 0,
            update_id: update.id,
            channel: request.channel,
            address,
            language: request.language,
            content,
            attempt: 1,
            reply_to: None,
        };
        let outcome = channel.send(&message, &mut NoHandover).await;
        let refused = match &outcome {
            Outcome::Accepted { .. } => None,
            Outcome::RetryLater { reason, .. }
            | Outcome::Unavailable { reason, .. }
            | Outcome::Misconfigured { reason }
            | Outcome::Rejected { reason } => Some(reason.clone()),
        };
        let result = match &refused {
            None => format!("{detail}: accepted"),
            Some(reason) => format!("{detail}: not sent: {reason}"),
        };
        self.audit(actor, "update.test.result", Some(&target), Some(result))
            .await?;
        match refused {
            None => Ok(()),
            Some(reason) => Err(Refusal::TestNotSent { reason }.into()),
        }
    }

    /// A made-up reader with the user's address: a patient with one appointment tomorrow
    /// at 9:30 at a place the imports booked (so the SMS is as long as a patient's), a GP
    /// with one such patient, a journalist.
    async fn test_recipient(
        &self,
        request: TestRequest,
        user: &UserName,
        address: &str,
    ) -> Result<Recipient, AppError> {
        let tz = self.config.hospital.tz().map_err(AppError::Config)?;
        let place = self.store.booked_places().await?.into_iter().next();
        let (campus, department) = place
            .map(|place| (place.campus, place.department))
            .unwrap_or_default();
        let tomorrow = chrono::DateTime::from_timestamp_millis(self.clock.now_ms())
            .unwrap_or_default()
            .with_timezone(&tz)
            .date_naive()
            .succ_opt()
            .unwrap_or_default();
        let starts_at = tomorrow
            .and_hms_opt(9, 30, 0)
            .and_then(|at| at.and_local_timezone(tz).earliest())
            .map(|at| at.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        let appointment = Appointment {
            external_id: "test".into(),
            starts_at,
            campus,
            department,
            practitioner: None,
            status: AppointmentStatus::Booked,
        };
        let mut contact = Contact {
            id: 0,
            external_id: "test".into(),
            role: request.reader.audience().role(),
            first_name: user.to_string(),
            last_name: String::new(),
            language: Some(request.language.code().to_string()),
            mobile: None,
            phone: None,
            email: None,
            telegram_chat_id: None,
            telegram_language: None,
            organisation: None,
            birth_date: None,
            opted_out: Vec::new(),
        };
        match request.channel {
            ChannelKind::Sms => contact.mobile = Some(address.to_string()),
            ChannelKind::Email | ChannelKind::Telegram => contact.email = Some(address.to_string()),
        }
        let (appointments, affected_patients) = match request.reader {
            TestReader::Patient => (vec![appointment], Vec::new()),
            TestReader::Gp => (
                Vec::new(),
                vec![AffectedPatient {
                    first_name: "Test".into(),
                    last_name: "Test".into(),
                    birth_date: None,
                    appointment,
                }],
            ),
            TestReader::Journalist => (Vec::new(), Vec::new()),
        };
        Ok(Recipient {
            contact,
            appointments,
            affected_patients,
            patients_by_language: Vec::new(),
        })
    }
}

/// A user's own addresses, checked as an import checks a contact's (`user add` checks them
/// before it creates the account).
pub fn checked_contact(email: Option<&str>, phone: Option<&str>) -> Result<UserContact, AppError> {
    let email = email
        .map(crate::import::fields::email)
        .transpose()
        .map_err(|why| AppError::Refused(format!("--email: {why}")))?;
    let phone = phone
        .map(|raw| crate::import::fields::phone(raw, None))
        .transpose()
        .map_err(|why| AppError::Refused(format!("--phone: {why}")))?
        .map(|phone| phone.e164);
    Ok(UserContact { email, phone })
}

/// The test mark in the e-mail's subject and at the start of every text a recipient reads
/// first: the SMS, the e-mail's text and HTML parts.
fn mark_as_test(content: &mut crate::domain::RenderedMessage, mark: &str) {
    if let Some(subject) = &mut content.subject {
        *subject = format!("[{mark}] {subject}");
    }
    content.body = format!("[{mark}]\n{}", content.body);
    if let Some(html) = &mut content.body_html {
        let escaped = mark.replace('&', "&amp;").replace('<', "&lt;");
        let banner = format!("<p><strong>[{escaped}]</strong></p>");
        *html = match html
            .find("<body")
            .and_then(|at| html[at..].find('>').map(|end| at + end + 1))
        {
            Some(at) => format!("{}{banner}{}", &html[..at], &html[at..]),
            None => format!("{banner}{html}"),
        };
    }
}
