//! The press room's HTML: the choice of language, per language the timeline, a page per
//! update and the reference check, and the stylesheet; plus what `tocsin serve` renders per
//! request (the check's answer, the page for an unknown address).
//!
//! Templates under `templates/press/` are compiled in and autoescaped: the spokesperson's
//! text is data. Phrases come from the Fluent files, formatted here once per language and
//! page, so the templates need no `t()`. Every link between files is relative with an
//! explicit `index.html`, so that the export works from `file://` and from any folder.

use super::{Edition, File, Item, PressError, Site};
use crate::domain::{Language, PublicReference, UpdateKind};
use crate::render::{french_spacing, paragraphs, LocaleError, Locales};
use chrono::SecondsFormat;
use fluent_bundle::{FluentArgs, FluentValue};
use std::collections::HashMap;
use std::sync::OnceLock;
use tera::{Context, Tera};

pub const HTML: &str = "text/html; charset=utf-8";
pub const CSS: &str = "text/css; charset=utf-8";

const TEMPLATES: &[(&str, &str)] = &[
    (
        "press/base.html.tera",
        include_str!("../../templates/press/base.html.tera"),
    ),
    (
        "press/article.html.tera",
        include_str!("../../templates/press/article.html.tera"),
    ),
    (
        "press/languages.html.tera",
        include_str!("../../templates/press/languages.html.tera"),
    ),
    (
        "press/timeline.html.tera",
        include_str!("../../templates/press/timeline.html.tera"),
    ),
    (
        "press/update.html.tera",
        include_str!("../../templates/press/update.html.tera"),
    ),
    (
        "press/check.html.tera",
        include_str!("../../templates/press/check.html.tera"),
    ),
    (
        "press/not-found.html.tera",
        include_str!("../../templates/press/not-found.html.tera"),
    ),
];

const STYLE: &str = include_str!("../../templates/press/style.css");

/// How much of an unreadable reference the check repeats back: enough to recognise it.
const TYPED_SHOWN: usize = 40;

/// The phrases every page takes, by the name templates use (`t.check_title`).
const PHRASES: &[(&str, &str)] = &[
    ("language_name", "press-language-name"),
    ("choose_language", "press-choose-language"),
    ("skip", "press-skip"),
    ("languages", "press-languages"),
    ("menu", "press-menu"),
    ("timeline_link", "press-timeline-link"),
    ("timeline_heading", "press-timeline-heading"),
    ("no_updates", "press-no-updates"),
    ("contact_heading", "press-contact-heading"),
    ("hospital_phone", "press-hospital-phone"),
    ("press_phone", "press-press-phone"),
    ("feeds_heading", "press-feeds-heading"),
    ("feed_atom", "press-feed-atom"),
    ("feed_rss", "press-feed-rss"),
    ("feed_json", "press-feed-json"),
    ("feed_cap", "press-feed-cap"),
    ("check_link", "press-check-link"),
    ("check_title", "press-check-title"),
    ("check_field", "press-check-field"),
    ("check_button", "press-check-button"),
    ("check_list_heading", "press-check-list-heading"),
    ("check_advice", "press-check-advice"),
    ("check_again", "press-check-again"),
    ("withdrawn", "press-withdrawn"),
    ("not_found_title", "press-not-found-title"),
    ("not_found_text", "press-not-found-text"),
];

fn tera() -> Result<&'static Tera, PressError> {
    static TERA: OnceLock<Result<Tera, String>> = OnceLock::new();
    TERA.get_or_init(|| {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html.tera"]);
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .map_err(|error| describe(&error))?;
        Ok(tera)
    })
    .as_ref()
    .map_err(|why| PressError::Render {
        what: "page templates".into(),
        why: why.clone(),
    })
}

/// Tera keeps the useful part of its errors in `source()`.
fn describe(error: &tera::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Writes every page of `edition` into `site`.
pub fn write(edition: &Edition, locales: &Locales, site: &mut Site) -> Result<(), PressError> {
    let modified = edition.last_modified();
    site.insert("style.css", File::new(STYLE, CSS, modified));
    let pages = Pages::new(edition, locales)?;
    site.insert("index.html", File::new(pages.languages()?, HTML, modified));
    for language in Language::ALL {
        let code = language.code();
        site.insert(
            format!("{code}/index.html"),
            File::new(pages.timeline(language)?, HTML, modified),
        );
        site.insert(
            format!("{code}/check.html"),
            File::new(pages.check(language, None)?.html, HTML, modified),
        );
        for item in &edition.items {
            site.insert(
                format!("{code}/{}.html", item.update.reference),
                File::new(pages.update(language, item)?, HTML, item.published),
            );
        }
    }
    Ok(())
}

/// What the reference check answers to `typed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckAnswer {
    /// An update the hospital released carries it.
    pub genuine: bool,
    pub html: String,
}

/// The check page in `language` answering `typed` (the `ref` of `check.html?ref=`): the
/// released update with that reference, or "not issued by us" with what to do. Drafts are
/// not in an edition, so their references are not issued.
pub fn check_answer(
    edition: &Edition,
    locales: &Locales,
    language: Language,
    typed: &str,
) -> Result<CheckAnswer, PressError> {
    Pages::new(edition, locales)?.check(language, Some(typed))
}

/// The page for an address that is not in the press room, in `language`. Served at any
/// depth, so its links start at the server's root.
pub fn not_found(
    edition: &Edition,
    locales: &Locales,
    language: Language,
) -> Result<String, PressError> {
    let pages = Pages::new(edition, locales)?;
    let mut context = pages.context(language, Place::ServerRoot, "index.html")?;
    let title = pages.phrase(language, "press-not-found-title", &[])?;
    context.insert("page_title", &pages.page_title(&title));
    pages.render("press/not-found.html.tera", language, &context)
}

/// Where a page sits, which decides how its links start.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// `index.html` at the press room's root.
    Root,
    /// In its language's folder.
    LanguageFolder,
    /// Anywhere on the server (a 404): links from `/`.
    ServerRoot,
}

struct Pages<'a> {
    edition: &'a Edition,
    locales: &'a Locales,
    tera: &'static Tera,
    phrases: [HashMap<&'static str, String>; 3],
}

impl<'a> Pages<'a> {
    fn new(edition: &'a Edition, locales: &'a Locales) -> Result<Pages<'a>, PressError> {
        let phrases = |language: Language| -> Result<_, PressError> {
            let mut map = HashMap::with_capacity(PHRASES.len() + 4);
            for (name, id) in PHRASES {
                map.insert(*name, format_phrase(locales, language, id, &[])?);
            }
            let hospital = [("hospital", edition.hospital_name.as_str())];
            for (name, id) in [
                ("title", "press-title"),
                ("footer", "press-footer"),
                ("check_intro", "press-check-intro"),
                ("check_list_note", "press-check-list-note"),
            ] {
                map.insert(name, format_phrase(locales, language, id, &hospital)?);
            }
            map.insert(
                "check_call",
                format_phrase(
                    locales,
                    language,
                    "press-check-call",
                    &[("phone", &edition.hospital_phone)],
                )?,
            );
            Ok(map)
        };
        Ok(Pages {
            edition,
            locales,
            tera: tera()?,
            phrases: [
                phrases(Language::Nl)?,
                phrases(Language::Fr)?,
                phrases(Language::En)?,
            ],
        })
    }

    fn phrase(
        &self,
        language: Language,
        id: &str,
        args: &[(&str, &str)],
    ) -> Result<String, PressError> {
        format_phrase(self.locales, language, id, args)
    }

    fn page_title(&self, title: &str) -> String {
        format!("{title} – {}", self.edition.hospital_name)
    }

    /// What every page shows: the header, the language switcher for the page called `page`
    /// in each language folder, the footer's phone numbers and feeds.
    fn context(&self, language: Language, place: Place, page: &str) -> Result<Context, PressError> {
        let edition = self.edition;
        let mut context = Context::new();
        context.insert("lang", language.code());
        context.insert("lang_tag", language.tag());
        context.insert("t", &self.phrases[language as usize]);
        let (root, here) = match place {
            Place::Root => (String::new(), String::new()),
            Place::LanguageFolder => ("../".to_string(), String::new()),
            Place::ServerRoot => ("/".to_string(), format!("/{}/", language.code())),
        };
        let switcher: Vec<_> = Language::ALL
            .iter()
            .map(|other| {
                serde_json::json!({
                    "tag": other.tag(),
                    "name": self.phrases[*other as usize]["language_name"],
                    "href": format!("{root}{}/{page}", other.code()),
                    "current": *other == language,
                })
            })
            .collect();
        context.insert("root", &root);
        context.insert("here", &here);
        context.insert("switcher", &switcher);
        context.insert("feeds", &(place != Place::Root));
        let alternates: Vec<_> = if place == Place::LanguageFolder {
            Language::ALL
                .iter()
                .map(|other| {
                    serde_json::json!({
                        "tag": other.tag(),
                        "url": absolute(edition, &format!("{}/{page}", other.code())),
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        context.insert("alternates", &alternates);
        let canonical = match place {
            Place::LanguageFolder => {
                Some(absolute(edition, &format!("{}/{page}", language.code())))
            }
            Place::Root => Some(absolute(edition, "index.html")),
            Place::ServerRoot => None,
        };
        context.insert("canonical", &canonical);
        context.insert(
            "hospital",
            &serde_json::json!({
                "name": edition.hospital_name,
                "phone": edition.hospital_phone,
                "phone_tel": tel(&edition.hospital_phone),
                "press_phone": edition.press_phone,
                "press_phone_tel": tel(&edition.press_phone),
            }),
        );
        Ok(context)
    }

    fn render(
        &self,
        template: &str,
        language: Language,
        context: &Context,
    ) -> Result<String, PressError> {
        let html = self
            .tera
            .render(template, context)
            .map_err(|error| PressError::Render {
                what: format!("{template} ({language})"),
                why: describe(&error),
            })?;
        Ok(match language {
            Language::Fr => french_spacing(&html),
            Language::Nl | Language::En => html,
        })
    }

    /// One update as the templates show it, linked from a page in its language's folder.
    fn item(&self, language: Language, item: &Item) -> Result<serde_json::Value, PressError> {
        let update = &item.update;
        let text = update.text(language);
        let reference = update.reference.as_str();
        let at = self
            .locales
            .datetime(language, item.published)
            .map_err(phrase_error)?;
        let kind = match update.kind {
            UpdateKind::Alert => "press-kind-alert",
            UpdateKind::Update => "press-kind-update",
            UpdateKind::Cancel => "press-kind-cancel",
            UpdateKind::AllClear => "press-kind-allclear",
        };
        let withdrawn = if item.withdrawn() {
            Some(self.phrase(language, "press-withdrawn", &[])?)
        } else {
            None
        };
        Ok(serde_json::json!({
            "reference": reference,
            "reference_label": self.phrase(language, "press-reference", &[("reference", reference)])?,
            "href": format!("{reference}.html"),
            "kind": update.kind.as_str(),
            "kind_label": self.phrase(language, kind, &[])?,
            "title": text.title,
            "paragraphs": paragraphs(&text.body),
            "published": self.phrase(language, "press-published", &[("when", &at.when)])?,
            "date": at.date,
            "iso": item.published.to_rfc3339_opts(SecondsFormat::Secs, true),
            "withdrawn": withdrawn,
        }))
    }

    fn items(&self, language: Language) -> Result<Vec<serde_json::Value>, PressError> {
        self.edition
            .items
            .iter()
            .map(|item| self.item(language, item))
            .collect()
    }

    fn languages(&self) -> Result<String, PressError> {
        let language = self.edition.default_language;
        let mut context = self.context(language, Place::Root, "index.html")?;
        let choices = Language::ALL
            .iter()
            .map(|choice| {
                let phrases = &self.phrases[*choice as usize];
                serde_json::json!({
                    "tag": choice.tag(),
                    "href": format!("{}/index.html", choice.code()),
                    "name": phrases["language_name"],
                    "title": typeset(*choice, &phrases["title"]),
                    "prompt": typeset(*choice, &phrases["choose_language"]),
                })
            })
            .collect::<Vec<_>>();
        context.insert("choices", &choices);
        context.insert("switcher", &Vec::<()>::new());
        let title = &self.phrases[language as usize]["choose_language"];
        context.insert("page_title", &self.page_title(title));
        self.render("press/languages.html.tera", language, &context)
    }

    fn timeline(&self, language: Language) -> Result<String, PressError> {
        let mut context = self.context(language, Place::LanguageFolder, "index.html")?;
        context.insert("items", &self.items(language)?);
        context.insert(
            "page_title",
            &self.phrases[language as usize]["title"].clone(),
        );
        self.render("press/timeline.html.tera", language, &context)
    }

    fn update(&self, language: Language, item: &Item) -> Result<String, PressError> {
        let page = format!("{}.html", item.update.reference);
        let mut context = self.context(language, Place::LanguageFolder, &page)?;
        context.insert("item", &self.item(language, item)?);
        let title = &item.update.text(language).title;
        context.insert("page_title", &self.page_title(title));
        self.render("press/update.html.tera", language, &context)
    }

    /// The check page; with `typed`, its answer to that reference.
    fn check(&self, language: Language, typed: Option<&str>) -> Result<CheckAnswer, PressError> {
        let mut context = self.context(language, Place::LanguageFolder, "check.html")?;
        context.insert("items", &self.items(language)?);
        let title = &self.phrases[language as usize]["check_title"];
        context.insert("page_title", &self.page_title(title));
        let mut genuine = false;
        match typed {
            None => context.insert("typed", ""),
            Some(typed) => {
                let reference = PublicReference::parse(typed);
                let found = reference.as_ref().and_then(|reference| {
                    self.edition
                        .items
                        .iter()
                        .find(|item| &item.update.reference == reference)
                });
                // What the reader typed, as we read it, or as typed (cut short) if it is not
                // a reference at all.
                let shown = match &reference {
                    Some(reference) => reference.to_string(),
                    None => typed.trim().chars().take(TYPED_SHOWN).collect(),
                };
                context.insert("typed", &shown);
                let hospital = self.edition.hospital_name.as_str();
                let args = [("reference", shown.as_str()), ("hospital", hospital)];
                let answer = match found {
                    Some(item) => {
                        genuine = true;
                        serde_json::json!({
                            "message": self.phrase(language, "press-check-genuine", &args)?,
                            "item": self.item(language, item)?,
                        })
                    }
                    None => serde_json::json!({
                        "message": self.phrase(language, "press-check-not-issued", &args)?,
                        "item": null,
                    }),
                };
                context.insert("answer", &answer);
            }
        }
        Ok(CheckAnswer {
            genuine,
            html: self.render("press/check.html.tera", language, &context)?,
        })
    }
}

fn format_phrase(
    locales: &Locales,
    language: Language,
    id: &str,
    args: &[(&str, &str)],
) -> Result<String, PressError> {
    let mut fluent_args = FluentArgs::with_capacity(args.len());
    for (name, value) in args {
        fluent_args.set(*name, FluentValue::from(*value));
    }
    locales
        .format(language, id, Some(&fluent_args))
        .map_err(phrase_error)
}

/// A phrase shown inside a page of another language (the choice of language) gets its own
/// language's typography; the page's is applied to the page as a whole.
fn typeset(language: Language, text: &str) -> String {
    match language {
        Language::Fr => french_spacing(text),
        Language::Nl | Language::En => text.to_string(),
    }
}

/// The public address of a file of the press room, for `hreflang` and `canonical`.
fn absolute(edition: &Edition, path: &str) -> String {
    edition
        .public_url
        .join(path)
        .map(String::from)
        .unwrap_or_else(|_| edition.public_url.to_string())
}

/// "+32 3 555 12 12" → "+3235551212", as a `tel:` link dials it.
fn tel(phone: &str) -> String {
    phone
        .trim()
        .chars()
        .enumerate()
        .filter(|(n, c)| c.is_ascii_digit() || (*n == 0 && *c == '+'))
        .map(|(_, c)| c)
        .collect()
}

fn phrase_error(error: LocaleError) -> PressError {
    PressError::Render {
        what: "a phrase of the pages".into(),
        why: error.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Config;
    use crate::domain::{
        AppointmentOutcome, AudienceSpec, CapFields, ChannelKind, Update, UpdateState, UpdateText,
    };
    use quick_xml::events::Event;

    pub(crate) const NASTY: &str =
        "Dit is <script>alert('x')</script> ]]> & {{ hospital }} {% raw %} 🚑 \u{200F}שלום";

    pub(crate) fn update(id: i64, reference: &str, approved_at_ms: i64, title: &str) -> Update {
        let text = |language: &str| UpdateText {
            title: format!("{title} ({language})"),
            body: format!("Eerste alinea {language} : waarom ?\n\nTweede alinea {language}."),
            sms: "sms".into(),
        };
        Update {
            id,
            reference: PublicReference::from_stored(reference.into()),
            incident_id: "cyber".into(),
            kind: UpdateKind::Alert,
            follows: None,
            audiences: vec![AudienceSpec::parse("media").expect("valid")],
            channels: vec![ChannelKind::Email],
            appointments: AppointmentOutcome::Cancelled,
            state: UpdateState::Sent,
            author: "a".into(),
            approved_by: Some("b".into()),
            approved_at_ms: Some(approved_at_ms),
            created_at_ms: approved_at_ms - 60_000,
            cap: CapFields::default(),
            paused: None,
            send_at_ms: None,
            nl: text("nl"),
            fr: text("fr"),
            en: text("en"),
        }
    }

    pub(crate) fn edition(updates: Vec<Update>) -> Edition {
        let mut config = Config::default();
        config.press.public_url = Some("https://crisis.example.be/pers".into());
        Edition::new(&config, updates).expect("edition")
    }

    pub(crate) fn locales() -> Locales {
        Locales::load(None, chrono_tz::Europe::Brussels).expect("locales")
    }

    /// Two released updates, the second halted and with the nasty text in every language.
    fn two_updates() -> Edition {
        let first = update(1, "ZNA-20260113-7JQ4", 1_768_285_800_000, "Cyberaanval");
        let mut second = update(2, "ZNA-20260114-K2M9", 1_768_372_200_000, "Almost");
        second.state = UpdateState::Halted;
        second.kind = UpdateKind::Update;
        for text in [&mut second.nl, &mut second.fr, &mut second.en] {
            text.title = format!("Titel {NASTY}");
            text.body = format!("{NASTY}\n\nNog een alinea.");
        }
        edition(vec![first, second])
    }

    /// A page read back as XML (the templates write XHTML-compatible HTML), so that a page
    /// that is not well formed fails here.
    #[derive(Debug, Default)]
    pub(crate) struct Parsed {
        pub lang: Option<String>,
        /// Every element's name and attributes, in document order.
        pub elements: Vec<(String, Vec<(String, String)>)>,
        /// The text of `body`, entities resolved.
        pub text: String,
        /// The text of each h1, h2 …, with its level.
        pub headings: Vec<(u8, String)>,
    }

    impl Parsed {
        pub fn attributes<'p>(&'p self, name: &'p str) -> impl Iterator<Item = &'p str> + 'p {
            self.elements.iter().flat_map(move |(_, attributes)| {
                attributes
                    .iter()
                    .filter(move |(key, _)| key == name)
                    .map(|(_, value)| value.as_str())
            })
        }

        pub fn count(&self, element: &str) -> usize {
            self.elements
                .iter()
                .filter(|(name, _)| name == element)
                .count()
        }
    }

    pub(crate) fn parse(html: &str) -> Parsed {
        let mut reader = quick_xml::Reader::from_str(html);
        let mut parsed = Parsed::default();
        let mut open_heading: Option<(u8, String)> = None;
        let push_text = |parsed: &mut Parsed, heading: &mut Option<(u8, String)>, text: &str| {
            parsed.text.push_str(text);
            if let Some((_, heading)) = heading {
                heading.push_str(text);
            }
        };
        loop {
            match reader.read_event() {
                Err(error) => panic!(
                    "not well formed at {}: {error}\n{html}",
                    reader.buffer_position()
                ),
                Ok(Event::Eof) => break,
                Ok(Event::Start(element)) | Ok(Event::Empty(element)) => {
                    let name = String::from_utf8_lossy(element.name().as_ref()).to_string();
                    let attributes: Vec<(String, String)> = element
                        .attributes()
                        .map(|attribute| {
                            let attribute = attribute.expect("attribute");
                            (
                                String::from_utf8_lossy(attribute.key.as_ref()).to_string(),
                                attribute
                                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                    .expect("value")
                                    .to_string(),
                            )
                        })
                        .collect();
                    if name == "html" {
                        parsed.lang = attributes
                            .iter()
                            .find(|(key, _)| key == "lang")
                            .map(|(_, value)| value.clone());
                    }
                    if let Some(level) = name
                        .strip_prefix('h')
                        .and_then(|level| level.parse::<u8>().ok())
                    {
                        open_heading = Some((level, String::new()));
                    }
                    parsed.elements.push((name, attributes));
                }
                Ok(Event::End(element)) => {
                    if element.name().as_ref().starts_with(b"h") {
                        if let Some(heading) = open_heading.take() {
                            parsed.headings.push(heading);
                        }
                    }
                }
                Ok(Event::Text(text)) => {
                    let text = text.decode().expect("utf-8").to_string();
                    push_text(&mut parsed, &mut open_heading, &text);
                }
                Ok(Event::GeneralRef(reference)) => {
                    let text = match reference.resolve_char_ref().expect("character reference") {
                        Some(c) => c.to_string(),
                        None => match reference.decode().expect("utf-8").as_ref() {
                            "amp" => "&".into(),
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "quot" => "\"".into(),
                            "apos" => "'".into(),
                            other => panic!("entity &{other}; is not XML's"),
                        },
                    };
                    push_text(&mut parsed, &mut open_heading, &text);
                }
                Ok(_) => {}
            }
        }
        parsed
    }

    fn html_files(site: &Site) -> Vec<(&str, &str)> {
        site.files()
            .filter(|(path, _)| path.ends_with(".html"))
            .map(|(path, file)| (path, std::str::from_utf8(&file.body).expect("utf-8")))
            .collect()
    }

    #[test]
    fn the_spokespersons_text_comes_out_escaped_and_literal_on_every_page() {
        let edition = two_updates();
        let locales = locales();
        let mut site = Site::default();
        write(&edition, &locales, &mut site).expect("pages");
        let mut shown = 0;
        for (path, html) in html_files(&site) {
            let page = parse(html);
            assert_eq!(page.count("script"), 0, "{path}: a script element");
            assert!(!html.contains("<script>"), "{path}");
            if page.text.contains("Titel") {
                assert!(page.text.contains(NASTY), "{path}: {}", page.text);
                shown += 1;
            }
        }
        // Per language: the timeline, the check's list and the second update's page.
        assert!(shown >= 9, "{shown} pages show the text");
        let answer =
            check_answer(&edition, &locales, Language::En, "zna-20260114-k2m9").expect("answer");
        assert!(answer.genuine);
        let page = parse(&answer.html);
        assert!(page.text.contains(NASTY), "{}", page.text);
        assert!(page.text.contains("Sending of this message was stopped."));
    }

    #[test]
    fn every_page_has_its_language_one_h1_landmarks_and_headings_in_order() {
        let locales = locales();
        for edition in [two_updates(), edition(Vec::new())] {
            let site = crate::press::build(&edition, &locales).expect("site");
            let mut pages = html_files(&site);
            let not_found = not_found(&edition, &locales, Language::Fr).expect("404");
            pages.push(("404", &not_found));
            for (path, html) in pages {
                let page = parse(html);
                let expected = match path.split('/').next() {
                    Some("nl") => "nl-BE",
                    Some("fr") | Some("404") => "fr-BE",
                    _ => edition.default_language.tag(),
                };
                assert_eq!(page.lang.as_deref(), Some(expected), "{path}");
                assert_eq!(page.count("h1"), 1, "{path}");
                for landmark in ["header", "main", "footer"] {
                    assert_eq!(page.count(landmark), 1, "{path}: {landmark}");
                }
                assert!(
                    page.count("nav") >= 1 || path == "index.html",
                    "{path}: nav"
                );
                let levels: Vec<u8> = page.headings.iter().map(|(level, _)| *level).collect();
                assert_eq!(levels.first(), Some(&1), "{path}: {levels:?}");
                for pair in levels.windows(2) {
                    assert!(pair[1] <= pair[0] + 1, "{path}: headings {levels:?}");
                }
                for number in ["tel:+3230000000", "tel:+3230000001"] {
                    assert!(page.attributes("href").any(|href| href == number), "{path}");
                }
            }
        }
    }

    #[test]
    fn links_between_pages_are_relative_and_name_their_file() {
        let edition = two_updates();
        let site = crate::press::build(&edition, &locales()).expect("site");
        let feeds = ["atom.xml", "rss.xml", "feed.json", "cap/index.atom"];
        for (path, html) in html_files(&site) {
            let page = parse(html);
            let folder = path.rsplit_once('/').map(|(folder, _)| folder);
            for href in page.attributes("href") {
                if href.starts_with("tel:") || href.starts_with("https://crisis.example.be/pers/") {
                    continue;
                }
                assert!(
                    !href.contains("://") && !href.starts_with('/'),
                    "{path}: {href}"
                );
                if href.starts_with('#') {
                    continue;
                }
                let file = href.split('?').next().unwrap_or_default();
                let resolved = match (folder, file.strip_prefix("../")) {
                    (Some(_), Some(up)) => up.to_string(),
                    (Some(folder), None) => format!("{folder}/{file}"),
                    (None, _) => file.to_string(),
                };
                let written_by_feeds = feeds.iter().any(|feed| resolved.ends_with(feed));
                assert!(
                    site.get(&resolved).is_some() || written_by_feeds,
                    "{path}: {href} leads nowhere"
                );
            }
            if path.contains('/') {
                let alternates: Vec<_> = page
                    .elements
                    .iter()
                    .filter(|(name, attributes)| {
                        name == "link" && attributes.iter().any(|(key, _)| key == "hreflang")
                    })
                    .collect();
                assert_eq!(alternates.len(), 3, "{path}");
                let page_name = path.split_once('/').map(|(_, name)| name).unwrap_or(path);
                for language in Language::ALL {
                    let url = format!(
                        "https://crisis.example.be/pers/{}/{page_name}",
                        language.code()
                    );
                    assert!(
                        page.attributes("href").any(|href| href == url),
                        "{path}: {url}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_timeline_shows_the_newest_first_with_kind_time_reference_and_withdrawal() {
        let site = crate::press::build(&two_updates(), &locales()).expect("site");
        let html = std::str::from_utf8(&site.get("fr/index.html").expect("timeline").body)
            .expect("utf-8")
            .to_string();
        let page = parse(&html);
        let newest = page.text.find("Titel").expect("second update");
        let oldest = page.text.find("Cyberaanval (fr)").expect("first update");
        assert!(newest < oldest, "newest first");
        for seen in [
            "Alerte",
            "Mise à jour",
            "Publié le mardi 13 janvier 2026 à 7h30",
            "Publié le mercredi 14 janvier 2026 à 7h30",
            "Référence\u{a0}: ZNA-20260113-7JQ4",
            "L'envoi de ce message a été interrompu.",
            "Eerste alinea fr\u{a0}: waarom\u{a0}?",
        ] {
            assert!(page.text.contains(seen), "{seen:?} in {}", page.text);
        }
        assert!(page
            .attributes("href")
            .any(|href| href == "ZNA-20260113-7JQ4.html"));
        assert_eq!(
            page.attributes("datetime").next(),
            Some("2026-01-14T06:30:00Z")
        );
    }

    #[test]
    fn the_check_answers_genuine_only_for_a_released_reference() {
        let edition = two_updates();
        let locales = locales();
        let typed_as_people_do = "  zna-2026O113-7jq4 ".replace('O', "0");
        let genuine =
            check_answer(&edition, &locales, Language::Nl, &typed_as_people_do).expect("answer");
        assert!(genuine.genuine);
        let page = parse(&genuine.html);
        assert!(page
            .text
            .contains("De referentie ZNA-20260113-7JQ4 hoort bij een echt bericht van Ziekenhuis Noord-Antwerpen."));
        assert!(page.text.contains("Cyberaanval (nl)"));
        let lenient =
            check_answer(&edition, &locales, Language::En, "ZNA-20260114-K2M9").expect("answer");
        assert!(lenient.genuine);

        for (typed, shown) in [
            ("ZNA-20260113-7JQ5", "ZNA-20260113-7JQ5"),
            ("<b>ZNA</b>", "<b>ZNA</b>"),
        ] {
            let answer = check_answer(&edition, &locales, Language::Fr, typed).expect("answer");
            assert!(!answer.genuine, "{typed}");
            let page = parse(&answer.html);
            let expected =
                format!("La référence {shown} n'a pas été émise par Ziekenhuis Noord-Antwerpen.");
            assert!(page.text.contains(&expected), "{}", page.text);
            assert!(page
                .text
                .contains("Appeler l'hôpital\u{a0}: +32 3 000 00 00"));
            assert_eq!(page.count("b"), 0, "typed markup stays text");
        }
        let drafts_are_not_in_an_edition = edition_without_second();
        let answer = check_answer(
            &drafts_are_not_in_an_edition,
            &locales,
            Language::En,
            "ZNA-20260114-K2M9",
        )
        .expect("answer");
        assert!(!answer.genuine);
    }

    fn edition_without_second() -> Edition {
        edition(vec![update(
            1,
            "ZNA-20260113-7JQ4",
            1_768_285_800_000,
            "Cyberaanval",
        )])
    }

    #[test]
    fn the_static_check_page_lists_every_reference_and_says_others_are_not_ours() {
        let site = crate::press::build(&two_updates(), &locales()).expect("site");
        let html = std::str::from_utf8(&site.get("en/check.html").expect("check").body)
            .expect("utf-8")
            .to_string();
        let page = parse(&html);
        for seen in [
            "ZNA-20260113-7JQ4",
            "ZNA-20260114-K2M9",
            "Tuesday 13 January 2026",
            "A reference that is not in this list was not issued by Ziekenhuis Noord-Antwerpen.",
        ] {
            assert!(page.text.contains(seen), "{seen:?}");
        }
        let form = page
            .elements
            .iter()
            .find(|(name, _)| name == "form")
            .expect("form");
        assert!(form.1.contains(&("action".into(), "check.html".into())));
        assert!(form.1.contains(&("method".into(), "get".into())));
        assert!(page.attributes("name").any(|name| name == "ref"));
    }

    #[test]
    fn a_phone_number_is_dialled_as_written_without_its_spaces() {
        assert_eq!(tel(" +32 3 555 12 12"), "+3235551212");
        assert_eq!(tel("03/555.12.12"), "035551212");
    }
}
