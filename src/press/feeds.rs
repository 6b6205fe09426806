//! The feeds of each language: Atom 1.0 (`{lang}/atom.xml`), RSS 2.0 (`{lang}/rss.xml`) and
//! JSON Feed 1.1 (`{lang}/feed.json`), every released update newest first.
//!
//! Ids. A feed reader shows an entry again as new when its id changes, so an update's id
//! never does: `tag:{host},{day}:{lang}/{reference}` (RFC 4151), from the host of
//! `public_url`, the day of its release (UTC) and its public reference, which are all fixed
//! once it is released. The same id is the Atom `<id>`, the RSS `<guid>` and the JSON Feed
//! `id`; the language is part of it since each language's entry is a text of its own. Only a
//! new host in `public_url` gives new ids (and new feed addresses) — for a move.
//!
//! Times. An entry's `published` and `updated` are its release time; a feed's own `updated`
//! is the newest of them, so a feed's bytes, and so its ETag, change only when an update is
//! released, halted or withdrawn.

use super::{Edition, File, Item, PressError, Site};
use crate::domain::{Language, UpdateKind};
use crate::render::{french_spacing, Locales};
use atom_syndication as atom;
use chrono::{DateTime, FixedOffset, Utc};
use fluent_bundle::{FluentArgs, FluentValue};
use serde::Serialize;
use std::borrow::Cow;
use url::Url;

pub(super) const ATOM_TYPE: &str = "application/atom+xml; charset=utf-8";
const RSS_TYPE: &str = "application/rss+xml; charset=utf-8";
const JSON_FEED_TYPE: &str = "application/feed+json; charset=utf-8";

/// Adds every language's three feeds to `site`.
pub(super) fn add(edition: &Edition, locales: &Locales, site: &mut Site) -> Result<(), PressError> {
    let last_modified = edition.last_modified();
    for language in Language::ALL {
        let channel = Channel::new(edition, locales, language)?;
        let entries = edition
            .items
            .iter()
            .map(|item| Entry::new(edition, locales, item, language))
            .collect::<Result<Vec<_>, _>>()?;
        let code = language.code();
        site.insert(
            format!("{code}/atom.xml"),
            File::new(atom(edition, &channel, &entries)?, ATOM_TYPE, last_modified),
        );
        site.insert(
            format!("{code}/rss.xml"),
            File::new(rss(edition, &channel, &entries)?, RSS_TYPE, last_modified),
        );
        site.insert(
            format!("{code}/feed.json"),
            File::new(
                json_feed(edition, &channel, &entries)?,
                JSON_FEED_TYPE,
                last_modified,
            ),
        );
    }
    Ok(())
}

/// What the three feeds of one language say of themselves.
struct Channel {
    language: Language,
    title: String,
    description: String,
    /// The language's timeline page.
    home: Url,
}

impl Channel {
    fn new(
        edition: &Edition,
        locales: &Locales,
        language: Language,
    ) -> Result<Channel, PressError> {
        let hospital = [("hospital", edition.hospital_name.as_str())];
        Ok(Channel {
            language,
            title: phrase(locales, language, "press-title", &hospital)?,
            description: phrase(locales, language, "press-feed-description", &hospital)?,
            home: join(edition, &format!("{}/index.html", language.code()))?,
        })
    }

    fn feed_url(&self, edition: &Edition, file: &str) -> Result<Url, PressError> {
        join(edition, &format!("{}/{file}", self.language.code()))
    }
}

/// One released update as one language's feeds and CAP `<info>` show it.
pub(super) struct Entry<'a> {
    pub item: &'a Item,
    pub language: Language,
    pub id: String,
    /// The kind as readers name it: "Waarschuwing", "Fin de la crise".
    pub kind: String,
    /// The spokesperson's title.
    pub title: String,
    /// The kind and the title: what a feed reader lists.
    pub heading: String,
    /// The stopped-sending note if it was halted, the spokesperson's text, and the reference
    /// to check it by, in paragraphs split by a blank line.
    pub text: String,
    /// Its page in this language.
    pub url: Url,
}

impl<'a> Entry<'a> {
    pub(super) fn new(
        edition: &Edition,
        locales: &Locales,
        item: &'a Item,
        language: Language,
    ) -> Result<Entry<'a>, PressError> {
        let update = &item.update;
        let typeset = |text: String| typeset(language, text);
        let kind = phrase(locales, language, kind_phrase(update.kind), &[])?;
        let title = xml_safe(update.text(language).title.trim()).into_owned();
        let heading = phrase(
            locales,
            language,
            "press-feed-entry-title",
            &[("kind", &kind), ("title", &title)],
        )?;
        let mut paragraphs = Vec::with_capacity(3);
        if item.withdrawn() {
            paragraphs.push(phrase(locales, language, "press-withdrawn", &[])?);
        }
        paragraphs.push(xml_safe(update.text(language).body.trim()).into_owned());
        paragraphs.push(phrase(
            locales,
            language,
            "press-reference",
            &[("reference", update.reference.as_str())],
        )?);
        Ok(Entry {
            item,
            language,
            id: tag(
                edition,
                item.published,
                &format!("{}/{}", language.code(), update.reference),
            ),
            kind: typeset(kind),
            title: typeset(title),
            heading: typeset(heading),
            text: typeset(paragraphs.join("\n\n")),
            url: edition.update_url(language, update),
        })
    }

    /// The text as HTML paragraphs, every character of the spokesperson's escaped: RSS
    /// readers and JSON Feed's `content_html` take HTML.
    fn html(&self) -> String {
        self.text
            .split("\n\n")
            .map(str::trim)
            .filter(|paragraph| !paragraph.is_empty())
            .map(|paragraph| {
                format!(
                    "<p>{}</p>",
                    tera::escape_html(paragraph).replace('\n', "<br>")
                )
            })
            .collect()
    }
}

/// `tag:{host},{day}:{path}`: see the module's documentation.
pub(super) fn tag(edition: &Edition, released: DateTime<Utc>, path: &str) -> String {
    format!(
        "tag:{},{}:{path}",
        edition.public_url.host_str().unwrap_or("localhost"),
        released.format("%Y-%m-%d")
    )
}

pub(super) fn kind_phrase(kind: UpdateKind) -> &'static str {
    match kind {
        UpdateKind::Alert => "press-kind-alert",
        UpdateKind::Update => "press-kind-update",
        UpdateKind::Cancel => "press-kind-cancel",
        UpdateKind::AllClear => "press-kind-allclear",
    }
}

/// French sets `:` `;` `?` `!` apart with a space that must not break the line, in the
/// spokesperson's text as in the phrases, as in the e-mails.
fn typeset(language: Language, text: String) -> String {
    match language {
        Language::Fr => french_spacing(&text),
        Language::Nl | Language::En => text,
    }
}

/// A phrase of `locales/`, typeset, without what XML cannot carry.
pub(super) fn phrase(
    locales: &Locales,
    language: Language,
    id: &str,
    args: &[(&str, &str)],
) -> Result<String, PressError> {
    let mut fluent = FluentArgs::with_capacity(args.len());
    for (name, value) in args {
        fluent.set(*name, FluentValue::from(*value));
    }
    locales
        .format(language, id, (!args.is_empty()).then_some(&fluent))
        .map(|text| typeset(language, xml_safe(&text).into_owned()))
        .map_err(|error| render_error(id, error))
}

/// `path` under the press room's public address.
pub(super) fn join(edition: &Edition, path: &str) -> Result<Url, PressError> {
    edition
        .public_url
        .join(path)
        .map_err(|error| render_error(path, error))
}

pub(super) fn render_error(what: &str, why: impl std::fmt::Display) -> PressError {
    PressError::Render {
        what: what.to_string(),
        why: why.to_string(),
    }
}

/// The text without the characters XML 1.0 cannot carry even escaped (control characters
/// other than tab and line ends, U+FFFE, U+FFFF): a stray one pasted into an update would
/// otherwise make every XML feed unreadable. JSON could carry them; it gets the same text so
/// that every feed says the same.
pub(super) fn xml_safe(text: &str) -> Cow<'_, str> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c >= '\u{10000}'
    };
    if text.chars().all(allowed) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.chars().filter(|&c| allowed(c)).collect())
    }
}

pub(super) fn fixed(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.fixed_offset()
}

pub(super) fn hospital(edition: &Edition) -> atom::Person {
    atom::Person {
        name: xml_safe(&edition.hospital_name).into_owned(),
        uri: Some(edition.public_url.to_string()),
        ..atom::Person::default()
    }
}

pub(super) fn link(href: &Url, rel: &str, mime_type: &str) -> atom::Link {
    atom::Link {
        href: href.to_string(),
        rel: rel.to_string(),
        mime_type: Some(mime_type.to_string()),
        ..atom::Link::default()
    }
}

pub(super) fn write_atom(feed: &atom::Feed, what: &str) -> Result<Vec<u8>, PressError> {
    let config = atom::WriteConfig {
        write_document_declaration: true,
        indent_size: Some(2),
    };
    feed.write_with_config(Vec::new(), config)
        .map_err(|error| render_error(what, error))
}

fn atom(edition: &Edition, channel: &Channel, entries: &[Entry]) -> Result<Vec<u8>, PressError> {
    let self_url = channel.feed_url(edition, "atom.xml")?;
    let feed = atom::Feed {
        title: atom::Text::plain(&channel.title),
        id: self_url.to_string(),
        updated: fixed(edition.last_modified()),
        authors: vec![hospital(edition)],
        links: vec![
            link(&self_url, "self", "application/atom+xml"),
            link(&channel.home, "alternate", "text/html"),
        ],
        subtitle: Some(atom::Text::plain(&channel.description)),
        lang: Some(channel.language.tag().to_string()),
        entries: entries
            .iter()
            .map(|entry| atom::Entry {
                title: atom::Text::plain(&entry.heading),
                id: entry.id.clone(),
                updated: fixed(entry.item.published),
                published: Some(fixed(entry.item.published)),
                categories: vec![atom::Category {
                    term: entry.item.update.kind.as_str().to_string(),
                    label: Some(entry.kind.clone()),
                    ..atom::Category::default()
                }],
                links: vec![link(&entry.url, "alternate", "text/html")],
                content: Some(atom::Content {
                    value: Some(entry.text.clone()),
                    content_type: Some("text".to_string()),
                    ..atom::Content::default()
                }),
                ..atom::Entry::default()
            })
            .collect(),
        ..atom::Feed::default()
    };
    write_atom(&feed, &format!("{}/atom.xml", channel.language.code()))
}

fn rss(edition: &Edition, channel: &Channel, entries: &[Entry]) -> Result<Vec<u8>, PressError> {
    let self_url = channel.feed_url(edition, "rss.xml")?;
    let newest = (!entries.is_empty()).then(|| edition.last_modified().to_rfc2822());
    let feed = rss::Channel {
        title: channel.title.clone(),
        link: channel.home.to_string(),
        description: channel.description.clone(),
        language: Some(channel.language.tag().to_string()),
        pub_date: newest.clone(),
        last_build_date: newest,
        atom_ext: Some(rss::extension::atom::AtomExtension {
            links: vec![link(&self_url, "self", "application/rss+xml")],
        }),
        items: entries
            .iter()
            .map(|entry| rss::Item {
                title: Some(entry.heading.clone()),
                link: Some(entry.url.to_string()),
                description: Some(entry.html()),
                categories: vec![rss::Category {
                    name: entry.kind.clone(),
                    domain: None,
                }],
                guid: Some(rss::Guid {
                    value: entry.id.clone(),
                    permalink: false,
                }),
                pub_date: Some(entry.item.published.to_rfc2822()),
                ..rss::Item::default()
            })
            .collect(),
        ..rss::Channel::default()
    };
    feed.pretty_write_to(Vec::new(), b' ', 2)
        .map_err(|error| render_error(&format!("{}/rss.xml", channel.language.code()), error))
}

/// JSON Feed 1.1 (<https://jsonfeed.org/version/1.1>).
#[derive(Serialize)]
struct JsonFeed<'a> {
    version: &'static str,
    title: &'a str,
    home_page_url: &'a str,
    feed_url: &'a str,
    description: &'a str,
    language: &'static str,
    authors: [JsonAuthor<'a>; 1],
    items: Vec<JsonItem<'a>>,
}

#[derive(Serialize)]
struct JsonAuthor<'a> {
    name: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    url: &'a str,
    title: &'a str,
    content_text: &'a str,
    content_html: String,
    date_published: String,
    date_modified: String,
    tags: [&'a str; 1],
}

fn json_feed(
    edition: &Edition,
    channel: &Channel,
    entries: &[Entry],
) -> Result<Vec<u8>, PressError> {
    let feed_url = channel.feed_url(edition, "feed.json")?;
    let public_url = edition.public_url.to_string();
    let feed = JsonFeed {
        version: "https://jsonfeed.org/version/1.1",
        title: &channel.title,
        home_page_url: channel.home.as_str(),
        feed_url: feed_url.as_str(),
        description: &channel.description,
        language: channel.language.tag(),
        authors: [JsonAuthor {
            name: &edition.hospital_name,
            url: &public_url,
        }],
        items: entries
            .iter()
            .map(|entry| {
                let released = entry.item.published.to_rfc3339();
                JsonItem {
                    id: &entry.id,
                    url: entry.url.as_str(),
                    title: &entry.heading,
                    content_text: &entry.text,
                    content_html: entry.html(),
                    date_published: released.clone(),
                    date_modified: released,
                    tags: [&entry.kind],
                }
            })
            .collect(),
    };
    serde_json::to_vec_pretty(&feed)
        .map_err(|error| render_error(&format!("{}/feed.json", channel.language.code()), error))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::config::Config;
    use crate::domain::{
        AppointmentOutcome, CapFields, PublicReference, Update, UpdateState, UpdateText,
    };
    use chrono::TimeZone;

    /// What a spokesperson might paste: markup, the end of a CDATA section, an ampersand,
    /// template braces, an emoji and a right-to-left mark.
    pub const BAD: &str = "<script>alert('x')</script> ]]> & {{ title }} 🚑 \u{200F}שלום";

    pub fn locales() -> Locales {
        Locales::load(None, chrono_tz::Europe::Brussels).expect("built-in locales load")
    }

    /// An update of `incident` released `minutes` after 13 January 2026, 7:30 Brussels time.
    pub fn update(id: i64, incident: &str, kind: UpdateKind, minutes: i64) -> Update {
        let released = Utc
            .with_ymd_and_hms(2026, 1, 13, 6, 30, 0)
            .single()
            .expect("a valid time")
            + chrono::Duration::minutes(minutes);
        let text = |language: &str| UpdateText {
            title: format!("{language} title {id}"),
            body: format!("{language} body {id}.\n\nSecond paragraph {id}."),
            sms: format!("{language} sms {id}"),
        };
        Update {
            id,
            reference: PublicReference::from_stored(format!("ZNA-20260113-{id:04}")),
            incident_id: incident.into(),
            kind,
            follows: None,
            audiences: Vec::new(),
            channels: Vec::new(),
            appointments: AppointmentOutcome::AsPlanned,
            state: UpdateState::Sent,
            author: "spokesperson".into(),
            approved_by: Some("director".into()),
            approved_at_ms: Some(released.timestamp_millis()),
            created_at_ms: released.timestamp_millis() - 600_000,
            cap: CapFields::default(),
            paused: None,
            send_at_ms: None,
            nl: text("nl"),
            fr: text("fr"),
            en: text("en"),
        }
    }

    /// An alert, its update and its cancellation, and an alert of another incident between.
    pub fn chain() -> Vec<Update> {
        vec![
            update(1, "cyberattack-2026-01", UpdateKind::Alert, 0),
            update(2, "cyberattack-2026-01", UpdateKind::Update, 90),
            update(3, "flood-2026-01", UpdateKind::Alert, 100),
            update(4, "cyberattack-2026-01", UpdateKind::Cancel, 200),
        ]
    }

    pub fn edition(updates: Vec<Update>) -> Edition {
        let mut config = Config::default();
        config.hospital.name = "ZNA & Co".into();
        config.hospital.press_phone = "+32 3 555 12 13".into();
        config.press.public_url = Some("https://status.zna.example/crisis".into());
        config.press.cap_sender = Some("zna.example".into());
        Edition::new(&config, updates).expect("a valid edition")
    }

    pub fn site(edition: &Edition) -> Site {
        super::super::build(edition, &locales()).expect("the press room builds")
    }

    pub fn body<'s>(site: &'s Site, path: &str) -> &'s [u8] {
        &site
            .get(path)
            .unwrap_or_else(|| panic!("{path} is built"))
            .body
    }

    fn read_atom(site: &Site, path: &str) -> atom::Feed {
        atom::Feed::read_from(body(site, path)).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    fn read_rss(site: &Site, path: &str) -> rss::Channel {
        rss::Channel::read_from(body(site, path)).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    fn read_json(site: &Site, path: &str) -> serde_json::Value {
        serde_json::from_slice(body(site, path)).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    fn entry_texts(language: Language, update: &Update) -> (String, String) {
        let locales = locales();
        let kind = phrase(&locales, language, kind_phrase(update.kind), &[]).expect("phrase");
        let separator = if language == Language::Fr {
            "\u{a0}: "
        } else {
            ": "
        };
        (
            format!("{kind}{separator}{}", update.text(language).title),
            phrase(
                &locales,
                language,
                "press-reference",
                &[("reference", update.reference.as_str())],
            )
            .map(|reference| match language {
                Language::Fr => french_spacing(&reference),
                _ => reference,
            })
            .expect("phrase"),
        )
    }

    #[test]
    fn atom_feeds_parse_back_with_every_required_element() {
        let edition = edition(chain());
        let site = site(&edition);
        for language in Language::ALL {
            let code = language.code();
            let feed = read_atom(&site, &format!("{code}/atom.xml"));
            let self_url = format!("https://status.zna.example/crisis/{code}/atom.xml");
            assert_eq!(feed.id, self_url);
            let title = phrase(
                &locales(),
                language,
                "press-title",
                &[("hospital", "ZNA & Co")],
            )
            .expect("phrase");
            assert_eq!(feed.title.value, title);
            assert_eq!(feed.updated, fixed(edition.last_modified()));
            assert_eq!(feed.lang.as_deref(), Some(language.tag()));
            assert_eq!(feed.authors[0].name, "ZNA & Co");
            let href = |rel: &str| {
                feed.links
                    .iter()
                    .find(|link| link.rel == rel)
                    .map(|link| link.href.clone())
            };
            assert_eq!(href("self").as_deref(), Some(self_url.as_str()));
            assert_eq!(
                href("alternate"),
                Some(format!(
                    "https://status.zna.example/crisis/{code}/index.html"
                ))
            );
            assert_eq!(feed.entries.len(), 4);
            for (entry, item) in feed.entries.iter().zip(&edition.items) {
                let update = &item.update;
                assert_eq!(
                    entry.id,
                    format!(
                        "tag:status.zna.example,2026-01-13:{code}/{}",
                        update.reference
                    )
                );
                let (heading, reference) = entry_texts(language, update);
                assert_eq!(entry.title.value, heading);
                assert_eq!(entry.updated, fixed(item.published));
                assert_eq!(entry.published, Some(fixed(item.published)));
                assert_eq!(entry.links[0].rel, "alternate");
                assert_eq!(
                    entry.links[0].href,
                    edition.update_url(language, update).as_str()
                );
                assert_eq!(entry.categories[0].term, update.kind.as_str());
                let content = entry.content.as_ref().and_then(|c| c.value.as_deref());
                let content = content.expect("every entry has its text");
                assert!(content.contains(&update.text(language).body), "{content}");
                assert!(content.ends_with(&reference), "{content}");
            }
            let newest_first: Vec<_> = feed.entries.iter().map(|entry| entry.updated).collect();
            assert!(newest_first.windows(2).all(|pair| pair[0] >= pair[1]));
        }
    }

    #[test]
    fn rss_feeds_parse_back_with_every_required_element() {
        let edition = edition(chain());
        let site = site(&edition);
        for language in Language::ALL {
            let code = language.code();
            let channel = read_rss(&site, &format!("{code}/rss.xml"));
            assert!(channel.title.starts_with("ZNA & Co"), "{}", channel.title);
            assert_eq!(
                channel.link,
                format!("https://status.zna.example/crisis/{code}/index.html")
            );
            assert!(channel.description.contains("ZNA & Co"));
            assert_eq!(channel.language.as_deref(), Some(language.tag()));
            let newest = edition.last_modified();
            assert_eq!(channel.last_build_date, Some(newest.to_rfc2822()));
            let atom_self = channel.atom_ext.as_ref().map(|ext| &ext.links[0]);
            let atom_self = atom_self.expect("an atom:link to itself");
            assert_eq!(atom_self.rel, "self");
            assert_eq!(
                atom_self.href,
                format!("https://status.zna.example/crisis/{code}/rss.xml")
            );
            let atom = read_atom(&site, &format!("{code}/atom.xml"));
            assert_eq!(channel.items.len(), 4);
            for ((item, entry), released) in
                channel.items.iter().zip(&atom.entries).zip(&edition.items)
            {
                let guid = item.guid.as_ref().expect("every item has a guid");
                assert_eq!(guid.value, entry.id, "the RSS guid is the Atom id");
                assert!(!guid.permalink);
                assert_eq!(item.title.as_deref(), Some(entry.title.value.as_str()));
                assert_eq!(item.link.as_deref(), Some(entry.links[0].href.as_str()));
                let published = item.pub_date.as_deref().expect("every item has a pubDate");
                assert_eq!(
                    DateTime::parse_from_rfc2822(published).expect("RFC 2822"),
                    released.published
                );
                let description = item.description.as_deref().unwrap_or_default();
                assert!(description.starts_with("<p>"), "{description}");
            }
        }
    }

    #[test]
    fn json_feeds_have_what_version_1_1_requires() {
        let edition = edition(chain());
        let site = site(&edition);
        for language in Language::ALL {
            let code = language.code();
            let feed = read_json(&site, &format!("{code}/feed.json"));
            assert_eq!(feed["version"], "https://jsonfeed.org/version/1.1");
            assert!(feed["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("ZNA & Co")));
            assert_eq!(
                feed["feed_url"],
                format!("https://status.zna.example/crisis/{code}/feed.json")
            );
            assert_eq!(
                feed["home_page_url"],
                format!("https://status.zna.example/crisis/{code}/index.html")
            );
            assert_eq!(feed["language"], language.tag());
            let atom = read_atom(&site, &format!("{code}/atom.xml"));
            let items = feed["items"].as_array().expect("items is an array");
            assert_eq!(items.len(), 4);
            for ((item, entry), released) in items.iter().zip(&atom.entries).zip(&edition.items) {
                assert_eq!(item["id"], entry.id.as_str());
                assert_eq!(item["url"], entry.links[0].href.as_str());
                assert_eq!(item["title"], entry.title.value.as_str());
                let text = item["content_text"].as_str().expect("content_text");
                assert_eq!(
                    Some(text),
                    entry.content.as_ref().and_then(|c| c.value.as_deref())
                );
                assert!(item["content_html"]
                    .as_str()
                    .is_some_and(|html| html.starts_with("<p>")));
                for field in ["date_published", "date_modified"] {
                    let at = item[field].as_str().expect(field);
                    assert_eq!(
                        DateTime::parse_from_rfc3339(at).expect("RFC 3339"),
                        released.published
                    );
                }
            }
        }
    }

    #[test]
    fn a_spokespersons_text_comes_out_escaped_and_whole_in_every_feed() {
        let mut bad = update(1, "cyberattack-2026-01", UpdateKind::Alert, 0);
        for language in Language::ALL {
            let text = match language {
                Language::Nl => &mut bad.nl,
                Language::Fr => &mut bad.fr,
                Language::En => &mut bad.en,
            };
            text.title = format!("Title {BAD}");
            // A control character XML cannot carry is dropped, not allowed to break the feed.
            text.body = format!("Body {BAD}\u{1}.\n\nEnd.");
        }
        let site = site(&edition(vec![bad]));
        let body = format!("Body {BAD}.");
        for language in Language::ALL {
            let code = language.code();
            for file in ["atom.xml", "rss.xml"] {
                let raw = String::from_utf8_lossy(body_of(&site, code, file)).into_owned();
                assert!(
                    !raw.contains("<script>"),
                    "{code}/{file} has raw markup:\n{raw}"
                );
                // The rss crate writes descriptions as CDATA sections: only their own ends.
                assert_eq!(
                    raw.matches("]]>").count(),
                    raw.matches("<![CDATA[").count(),
                    "{code}/{file}: {raw}"
                );
            }
            let entry = &read_atom(&site, &format!("{code}/atom.xml")).entries[0];
            assert!(
                entry.title.value.ends_with(&format!("Title {BAD}")),
                "{}",
                entry.title.value
            );
            let content = entry
                .content
                .as_ref()
                .and_then(|c| c.value.clone())
                .unwrap_or_default();
            assert!(
                content.starts_with(&format!("{body}\n\nEnd.")),
                "{content:?}"
            );

            let item = &read_rss(&site, &format!("{code}/rss.xml")).items[0];
            assert!(item
                .title
                .as_deref()
                .unwrap_or_default()
                .ends_with(&format!("Title {BAD}")));
            let html = item.description.as_deref().unwrap_or_default();
            assert!(
                html.starts_with(&format!("<p>{}</p>", tera::escape_html(&body))),
                "{html}"
            );
            assert!(
                !html.contains("<script>"),
                "an RSS reader would run it: {html}"
            );

            let json = read_json(&site, &format!("{code}/feed.json"));
            let item = &json["items"][0];
            assert!(item["title"]
                .as_str()
                .is_some_and(|t| t.ends_with(&format!("Title {BAD}"))));
            assert!(item["content_text"]
                .as_str()
                .is_some_and(|t| t.starts_with(&body)));
            assert!(item["content_html"]
                .as_str()
                .is_some_and(|h| !h.contains("<script>")));
        }
    }

    fn body_of<'s>(site: &'s Site, code: &str, file: &str) -> &'s [u8] {
        body(site, &format!("{code}/{file}"))
    }

    #[test]
    fn a_withdrawn_update_says_so_first() {
        let mut edition = edition(chain());
        edition.items[0].update.state = UpdateState::Halted;
        let site = site(&edition);
        for language in Language::ALL {
            let note = phrase(&locales(), language, "press-withdrawn", &[]).expect("phrase");
            let feed = read_atom(&site, &format!("{}/atom.xml", language.code()));
            let text = |at: usize| {
                feed.entries[at]
                    .content
                    .as_ref()
                    .and_then(|c| c.value.clone())
                    .unwrap_or_default()
            };
            assert!(text(0).starts_with(&format!("{note}\n\n")), "{}", text(0));
            assert!(!text(1).contains(&note));
        }
    }

    #[test]
    fn ids_stay_the_same_and_a_new_update_changes_every_feed() {
        let before = site(&edition(chain()));
        assert_eq!(
            before,
            site(&edition(chain())),
            "the same updates give the same bytes"
        );
        let mut more = chain();
        more.push(update(5, "cyberattack-2026-01", UpdateKind::AllClear, 300));
        let after = site(&edition(more));
        for language in Language::ALL {
            for file in ["atom.xml", "rss.xml", "feed.json"] {
                let path = format!("{}/{file}", language.code());
                let (old, new) = (before.get(&path), after.get(&path));
                let (old, new) = (old.expect("built"), new.expect("built"));
                assert_ne!(old.etag, new.etag, "{path}");
                assert!(new.last_modified > old.last_modified, "{path}");
            }
            let path = format!("{}/atom.xml", language.code());
            let ids = |site: &Site| -> Vec<String> {
                read_atom(site, &path)
                    .entries
                    .into_iter()
                    .map(|entry| entry.id)
                    .collect()
            };
            let (old, new) = (ids(&before), ids(&after));
            assert_eq!(new.len(), 5);
            assert_eq!(new[1..], old[..], "earlier updates keep their ids");
            assert!(!old.contains(&new[0]));
        }
    }

    #[test]
    fn an_empty_press_room_still_has_valid_feeds() {
        let site = site(&edition(Vec::new()));
        for language in Language::ALL {
            let code = language.code();
            assert!(read_atom(&site, &format!("{code}/atom.xml"))
                .entries
                .is_empty());
            assert!(read_rss(&site, &format!("{code}/rss.xml")).items.is_empty());
            assert_eq!(
                read_json(&site, &format!("{code}/feed.json"))["items"],
                serde_json::json!([])
            );
        }
    }
}
