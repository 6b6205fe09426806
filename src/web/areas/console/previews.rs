//! What a sample reader receives, per language and channel: the update's page shows it for
//! the saved update, the compose page for the texts as typed. Both come from the planner's
//! rendering (`App::preview`, `App::preview_unsaved`) and are shown by one template
//! (`previews.html.tera`): the e-mail's HTML as escaped source, never as a page.

use super::ConsoleError;
use crate::app::{App, AppError, Preview, Sample};
use crate::domain::{Language, NewUpdate};

/// Whose previews: a saved update's, or the compose form's texts not saved yet.
#[derive(Clone, Copy)]
pub enum Of<'a> {
    Saved(i64),
    Unsaved(&'a NewUpdate),
}

#[derive(Debug, serde::Serialize)]
pub struct PreviewRow {
    pub lang: &'static str,
    pub channel: &'static str,
    pub contact: String,
    pub external_id: String,
    pub subject: Option<String>,
    pub body: String,
    pub html: Option<String>,
    pub skipped: Option<String>,
}

#[derive(Debug, serde::Serialize)]
pub struct NoPreview {
    pub lang: &'static str,
    pub reason: String,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct Previews {
    pub previews: Vec<PreviewRow>,
    pub no_previews: Vec<NoPreview>,
}

impl Previews {
    /// The first reader of each audience in each language, on each channel they get.
    pub async fn of(app: &App, of: Of<'_>, language: Language) -> Result<Previews, ConsoleError> {
        let mut shown = Previews::default();
        for lang in Language::ALL {
            let sample = Sample::Language(lang);
            let found = match of {
                Of::Saved(id) => app.preview(id, sample, None).await,
                Of::Unsaved(update) => app.preview_unsaved(update, sample).await,
            };
            match found {
                Ok(found) => shown
                    .previews
                    .extend(found.into_iter().map(|preview| row(lang, preview))),
                Err(AppError::Refused(reason)) => shown.no_previews.push(NoPreview {
                    lang: lang.code(),
                    reason,
                }),
                Err(AppError::Refusal(refusal)) => shown.no_previews.push(NoPreview {
                    lang: lang.code(),
                    reason: super::pages::said(language, &refusal),
                }),
                // Texts being typed: what the configuration or a template refuses is said
                // beside the preview, for the author to act on, not as a failed page.
                Err(error @ (AppError::Config(_) | AppError::Render(_)))
                    if matches!(of, Of::Unsaved(_)) =>
                {
                    shown.no_previews.push(NoPreview {
                        lang: lang.code(),
                        reason: error.to_string(),
                    })
                }
                Err(other) => return Err(other.into()),
            }
        }
        Ok(shown)
    }
}

fn row(lang: Language, preview: Preview) -> PreviewRow {
    PreviewRow {
        lang: lang.code(),
        channel: preview.channel.as_str(),
        contact: preview.contact_name,
        external_id: preview.external_id,
        subject: preview.content.subject,
        body: preview.content.body,
        html: preview.content.body_html,
        skipped: preview.skipped,
    }
}
