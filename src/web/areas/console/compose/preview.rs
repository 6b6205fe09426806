//! The live preview of the compose page: the form's texts as typed, not saved, rendered for
//! a sample patient, GP and journalist in each language on each channel their audience
//! gets — through the planner, as the update's page shows the saved draft and as it is sent
//! (`previews::Previews`). What keeps the draft from being saved and can be seen already (a
//! playbook's blanks, an audience that cannot be read, no channel) is said beside it.

use super::form::ComposeForm;
use crate::domain::{AudienceSpec, Language};
use crate::web::areas::console::previews::{Of, Previews};
use crate::web::areas::console::{Console, ConsoleError, SignedIn};
use fluent_bundle::{FluentArgs, FluentValue};

/// What the preview area shows.
#[derive(Debug, serde::Serialize)]
pub struct ComposePreview {
    /// Why the draft would be refused as it stands, in the user's language.
    pub refusals: Vec<String>,
    #[serde(flatten)]
    pub shown: Previews,
}

impl ComposePreview {
    pub async fn of(
        console: &Console,
        signed_in: &SignedIn,
        form: &ComposeForm,
    ) -> Result<ComposePreview, ConsoleError> {
        let language = signed_in.visit.language;
        let mut refusals = Vec::new();
        let phrase = |key: &str, args: &FluentArgs| phrase(console, language, key, args);
        for text in &form.texts {
            for (part, value) in [
                ("title", &text.title),
                ("body", &text.body),
                ("sms", &text.sms),
            ] {
                let blanks = crate::author::blanks(value);
                if blanks.is_empty() {
                    continue;
                }
                let mut args = FluentArgs::new();
                let named = phrase(
                    &format!("console-compose-language-{}", text.code),
                    &FluentArgs::new(),
                )?;
                args.set("language", FluentValue::from(named));
                let label = phrase(&format!("console-compose-{part}"), &FluentArgs::new())?;
                args.set("part", FluentValue::from(label));
                args.set("blanks", FluentValue::from(blanks.join(" ")));
                refusals.push(phrase("console-compose-preview-blanks", &args)?);
            }
        }
        let specs = form.audience_specs();
        if specs.is_empty() {
            refusals.push(phrase(
                "console-compose-preview-no-audience",
                &FluentArgs::new(),
            )?);
        }
        for spec in &specs {
            if let Err(error) = AudienceSpec::parse(spec) {
                let mut args = FluentArgs::new();
                args.set("reason", FluentValue::from(error.to_string()));
                refusals.push(phrase("console-compose-preview-audience", &args)?);
            }
        }
        if form.channels.is_empty() {
            refusals.push(phrase(
                "console-compose-preview-no-channel",
                &FluentArgs::new(),
            )?);
        }
        if let Err(error) = console.app.refuse_placeholders("draft an update") {
            refusals.push(error.to_string());
        }
        let update = form.provisional(signed_in.user.name.as_str(), form.sms_gsm7);
        let shown = if update.audiences.is_empty() {
            Previews::default()
        } else {
            Previews::of(&console.app, Of::Unsaved(&update), language).await?
        };
        Ok(ComposePreview { refusals, shown })
    }
}

fn phrase(
    console: &Console,
    language: Language,
    key: &str,
    args: &FluentArgs,
) -> Result<String, ConsoleError> {
    let text = console
        .app
        .renderer
        .locales()
        .format(language, key, Some(args))
        .map_err(|e| ConsoleError::Internal(e.to_string()))?;
    Ok(match language {
        Language::Fr => crate::render::french_spacing(&text),
        Language::Nl | Language::En => text,
    })
}
