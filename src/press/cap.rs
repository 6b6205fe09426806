//! CAP 1.2 (OASIS Common Alerting Protocol): one `<alert>` per released update at
//! `cap/{reference}.xml`, with an `<info>` per language, and `cap/index.atom`, the Atom feed
//! that lists them as OASIS's "Example Practices: CAP Feeds" describes (an entry per alert,
//! linking to it as `application/cap+xml`), for the alerting hubs and aggregators that poll
//! CAP.
//!
//! An alert's `identifier` is `{cap_sender}.{reference}` and its `sent` the release time in
//! the hospital's time zone, both fixed once it is released, so that the later alerts of the
//! incident can name it in their `references` (`sender,identifier,sent`, oldest first).

use super::feeds::{self, Entry};
use super::{Edition, File, Item, PressError, Site};
use crate::domain::{self, Language};
use crate::render::Locales;
use atom_syndication as atom;
use chrono_tz::Tz;
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use std::io;

pub const NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";
const CAP_TYPE: &str = "application/cap+xml; charset=utf-8";

/// Adds every released update's alert and the index of them all to `site`.
pub(super) fn add(edition: &Edition, locales: &Locales, site: &mut Site) -> Result<(), PressError> {
    let tz = locales.tz();
    for item in &edition.items {
        let entries = Language::ALL
            .iter()
            .map(|&language| Entry::new(edition, locales, item, language))
            .collect::<Result<Vec<_>, _>>()?;
        let path = alert_path(item);
        let body = alert(edition, locales, tz, item, &entries)
            .map_err(|error| feeds::render_error(&path, error))?;
        site.insert(path, File::new(body, CAP_TYPE, item.published));
    }
    site.insert(
        "cap/index.atom",
        File::new(
            index(edition, locales)?,
            feeds::ATOM_TYPE,
            edition.last_modified(),
        ),
    );
    Ok(())
}

fn alert_path(item: &Item) -> String {
    format!("cap/{}.xml", item.update.reference)
}

/// `{cap_sender}.{reference}`: neither has a space, a comma, `<` or `&`, which CAP forbids
/// in an identifier (`Edition::new` refuses such a sender; a reference is letters, digits
/// and dashes).
pub fn identifier(edition: &Edition, item: &Item) -> String {
    format!("{}.{}", edition.cap_sender, item.update.reference)
}

/// The release time in the hospital's time zone with its offset, to the second: the CAP
/// schema's pattern allows neither `Z` nor fractions of a second.
pub fn sent(tz: Tz, item: &Item) -> String {
    item.published
        .with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// The alerts of the same incident released before `item`, as CAP's `references` names
/// them, oldest first; `None` for the first.
fn references(edition: &Edition, tz: Tz, item: &Item) -> Option<String> {
    let key = |other: &Item| (other.published, other.update.id);
    let mut earlier: Vec<&Item> = edition
        .items
        .iter()
        .filter(|other| {
            other.update.incident_id == item.update.incident_id && key(other) < key(item)
        })
        .collect();
    earlier.sort_by_key(|other| key(other));
    (!earlier.is_empty()).then(|| {
        earlier
            .iter()
            .map(|other| {
                format!(
                    "{},{},{}",
                    edition.cap_sender,
                    identifier(edition, other),
                    sent(tz, other)
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn alert(
    edition: &Edition,
    locales: &Locales,
    tz: Tz,
    item: &Item,
    entries: &[Entry],
) -> Result<Vec<u8>, PressError> {
    let update = &item.update;
    let values = update.cap.resolve(update.kind);
    let contacts = Language::ALL
        .iter()
        .map(|&language| {
            feeds::phrase(
                locales,
                language,
                "press-cap-contact",
                &[("phone", &edition.press_phone)],
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sender_name = feeds::xml_safe(&edition.hospital_name);
    let references = references(edition, tz, item);
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    let written: io::Result<()> = (|| {
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        writer
            .create_element("alert")
            .with_attribute(("xmlns", NAMESPACE))
            .write_inner_content(|w| {
                text(w, "identifier", &identifier(edition, item))?;
                text(w, "sender", &edition.cap_sender)?;
                text(w, "sent", &sent(tz, item))?;
                text(w, "status", "Actual")?;
                text(w, "msgType", domain::message_type(update.kind))?;
                text(w, "scope", "Public")?;
                if let Some(references) = &references {
                    text(w, "references", references)?;
                }
                text(w, "incidents", &update.incident_id)?;
                for (entry, contact) in entries.iter().zip(&contacts) {
                    w.create_element("info").write_inner_content(|w| {
                        text(w, "language", entry.language.tag())?;
                        text(w, "category", "Health")?;
                        text(w, "event", &entry.kind)?;
                        text(w, "responseType", values.response_type.as_str())?;
                        text(w, "urgency", values.urgency.as_str())?;
                        text(w, "severity", values.severity.as_str())?;
                        text(w, "certainty", values.certainty.as_str())?;
                        text(w, "senderName", &sender_name)?;
                        text(w, "headline", &entry.title)?;
                        text(w, "description", &entry.text)?;
                        text(w, "web", entry.url.as_str())?;
                        text(w, "contact", contact)?;
                        Ok(())
                    })?;
                }
                Ok(())
            })?;
        Ok(())
    })();
    written.map_err(|error| feeds::render_error(&alert_path(item), error))?;
    let mut body = writer.into_inner();
    body.push(b'\n');
    Ok(body)
}

/// One element holding `value`, escaped.
fn text<W: io::Write>(writer: &mut Writer<W>, name: &str, value: &str) -> io::Result<()> {
    writer
        .create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

/// The Atom index of the alerts, in the hospital's default language: an entry per alert,
/// with the alert's headline and release time, linking to it.
fn index(edition: &Edition, locales: &Locales) -> Result<Vec<u8>, PressError> {
    let language = edition.default_language;
    let self_url = feeds::join(edition, "cap/index.atom")?;
    let home = feeds::join(edition, &format!("{}/index.html", language.code()))?;
    let title = feeds::phrase(
        locales,
        language,
        "press-cap-title",
        &[("hospital", &edition.hospital_name)],
    )?;
    let entries = edition
        .items
        .iter()
        .map(|item| {
            let entry = Entry::new(edition, locales, item, language)?;
            let alert = feeds::join(edition, &alert_path(item))?;
            Ok(atom::Entry {
                title: atom::Text::plain(&entry.heading),
                id: feeds::tag(
                    edition,
                    item.published,
                    &format!("cap/{}", item.update.reference),
                ),
                updated: feeds::fixed(item.published),
                published: Some(feeds::fixed(item.published)),
                links: vec![
                    feeds::link(&alert, "alternate", "application/cap+xml"),
                    feeds::link(&entry.url, "related", "text/html"),
                ],
                summary: Some(atom::Text::plain(&entry.text)),
                ..atom::Entry::default()
            })
        })
        .collect::<Result<Vec<_>, PressError>>()?;
    let feed = atom::Feed {
        title: atom::Text::plain(&title),
        id: self_url.to_string(),
        updated: feeds::fixed(edition.last_modified()),
        authors: vec![feeds::hospital(edition)],
        links: vec![
            feeds::link(&self_url, "self", "application/atom+xml"),
            feeds::link(&home, "alternate", "text/html"),
        ],
        lang: Some(language.tag().to_string()),
        entries,
        ..atom::Feed::default()
    };
    feeds::write_atom(&feed, "cap/index.atom")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CapFields, ResponseType, Severity, UpdateKind};
    use crate::press::feeds::tests::{body, chain, edition, locales, site, update, BAD};
    use quick_xml::events::Event;
    use quick_xml::Reader;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// Every element's text by its path (`alert/info/headline`), in document order.
    fn elements(xml: &[u8]) -> Vec<(String, String)> {
        let mut reader = Reader::from_reader(xml);
        let mut path: Vec<String> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        let mut found: Vec<(String, String)> = Vec::new();
        let mut buffer = Vec::new();
        loop {
            match reader
                .read_event_into(&mut buffer)
                .expect("well-formed XML")
            {
                Event::Start(start) => {
                    path.push(String::from_utf8_lossy(start.local_name().as_ref()).into_owned());
                    open.push(found.len());
                    found.push((path.join("/"), String::new()));
                }
                Event::End(_) => {
                    path.pop();
                    open.pop();
                }
                Event::Text(text) => {
                    let decoded = text.xml10_content().expect("valid text");
                    if let Some(&at) = open.last() {
                        found[at].1.push_str(&decoded);
                    }
                }
                Event::GeneralRef(reference) => {
                    let name = reference.decode().expect("valid reference");
                    let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                        .map(str::to_string)
                        .or_else(|| {
                            reference
                                .resolve_char_ref()
                                .ok()
                                .flatten()
                                .map(String::from)
                        })
                        .unwrap_or_else(|| panic!("unknown entity &{name};"));
                    if let Some(&at) = open.last() {
                        found[at].1.push_str(&resolved);
                    }
                }
                Event::Eof => break,
                _ => {}
            }
            buffer.clear();
        }
        found
    }

    fn values(xml: &[u8], path: &str) -> Vec<String> {
        elements(xml)
            .into_iter()
            .filter(|(at, _)| at == path)
            .map(|(_, value)| value)
            .collect()
    }

    fn value(xml: &[u8], path: &str) -> Option<String> {
        values(xml, path).into_iter().next()
    }

    /// Whether xmllint is here; without it the schema test is skipped, loudly, except under
    /// CI=true, where it fails.
    fn xmllint() -> bool {
        let present = Command::new("xmllint")
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success());
        if !present {
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("xmllint is missing, and CI=true: .ci/run must install libxml2-utils");
            }
            eprintln!("\n*** SKIPPED: xmllint (libxml2-utils) is missing ***\n");
        }
        present
    }

    fn schema() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cap/CAP-v1.2.xsd")
    }

    fn alert_of<'s>(site: &'s Site, reference: &str) -> &'s [u8] {
        body(site, &format!("cap/{reference}.xml"))
    }

    #[test]
    fn every_alert_validates_against_the_cap_schema() {
        if !xmllint() {
            return;
        }
        let mut bad = update(9, "cyberattack-2026-01", UpdateKind::AllClear, 400);
        bad.en.title = BAD.into();
        bad.fr.body = format!("{BAD}\u{1}");
        let mut updates = chain();
        updates.push(bad);
        let site = site(&edition(updates));
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut alerts = Vec::new();
        for (path, file) in site
            .files()
            .filter(|(path, _)| path.ends_with(".xml") && path.starts_with("cap/"))
        {
            let written = dir.path().join(path.trim_start_matches("cap/"));
            std::fs::write(&written, &file.body).expect("written");
            alerts.push(written);
        }
        assert_eq!(alerts.len(), 5);
        for (path, file) in site.files() {
            let p = std::path::Path::new("/tmp/feeds-dump").join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, &file.body).unwrap();
        }
        let output = Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(schema())
            .args(&alerts)
            .output()
            .expect("xmllint runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    #[test]
    fn an_alert_update_cancel_chain_names_what_it_follows() {
        let mut updates = chain();
        updates.push(update(5, "cyberattack-2026-01", UpdateKind::AllClear, 300));
        let site = site(&edition(updates));
        let alert = |id: u32| alert_of(&site, &format!("ZNA-20260113-{id:04}"));
        let expect = [
            (1, "Alert", None, "2026-01-13T07:30:00+01:00"),
            (
                2,
                "Update",
                Some("zna.example,zna.example.ZNA-20260113-0001,2026-01-13T07:30:00+01:00"),
                "2026-01-13T09:00:00+01:00",
            ),
            (3, "Alert", None, "2026-01-13T09:10:00+01:00"),
            (
                4,
                "Cancel",
                Some(
                    "zna.example,zna.example.ZNA-20260113-0001,2026-01-13T07:30:00+01:00 \
                     zna.example,zna.example.ZNA-20260113-0002,2026-01-13T09:00:00+01:00",
                ),
                "2026-01-13T10:50:00+01:00",
            ),
            (
                5,
                "Update",
                Some(
                    "zna.example,zna.example.ZNA-20260113-0001,2026-01-13T07:30:00+01:00 \
                     zna.example,zna.example.ZNA-20260113-0002,2026-01-13T09:00:00+01:00 \
                     zna.example,zna.example.ZNA-20260113-0004,2026-01-13T10:50:00+01:00",
                ),
                "2026-01-13T12:30:00+01:00",
            ),
        ];
        for (id, msg_type, references, sent) in expect {
            let xml = alert(id);
            assert_eq!(
                value(xml, "alert/identifier").as_deref(),
                Some(format!("zna.example.ZNA-20260113-{id:04}").as_str())
            );
            assert_eq!(value(xml, "alert/sender").as_deref(), Some("zna.example"));
            assert_eq!(value(xml, "alert/sent").as_deref(), Some(sent), "{id}");
            assert_eq!(value(xml, "alert/status").as_deref(), Some("Actual"));
            assert_eq!(
                value(xml, "alert/msgType").as_deref(),
                Some(msg_type),
                "{id}"
            );
            assert_eq!(value(xml, "alert/scope").as_deref(), Some("Public"));
            assert_eq!(
                value(xml, "alert/references").as_deref(),
                references,
                "{id}"
            );
            let incident = if id == 3 {
                "flood-2026-01"
            } else {
                "cyberattack-2026-01"
            };
            assert_eq!(value(xml, "alert/incidents").as_deref(), Some(incident));
        }
        let all_clear = alert(5);
        assert_eq!(
            values(all_clear, "alert/info/responseType"),
            ["AllClear"; 3]
        );
    }

    #[test]
    fn each_language_has_its_info_and_the_file_sets_the_cap_values() {
        let mut updates = chain();
        updates[1].cap = CapFields {
            severity: Some(Severity::Moderate),
            response_type: Some(ResponseType::Prepare),
            ..CapFields::default()
        };
        let edition = edition(updates);
        let site = site(&edition);
        let xml = alert_of(&site, "ZNA-20260113-0002");
        assert_eq!(values(xml, "alert/info/language"), ["nl-BE", "fr-BE", "en"]);
        assert_eq!(values(xml, "alert/info/category"), ["Health"; 3]);
        assert_eq!(
            values(xml, "alert/info/event"),
            ["Update", "Mise à jour", "Update"]
        );
        assert_eq!(values(xml, "alert/info/urgency"), ["Immediate"; 3]);
        assert_eq!(values(xml, "alert/info/severity"), ["Moderate"; 3]);
        assert_eq!(values(xml, "alert/info/certainty"), ["Observed"; 3]);
        assert_eq!(values(xml, "alert/info/responseType"), ["Prepare"; 3]);
        assert_eq!(values(xml, "alert/info/senderName"), ["ZNA & Co"; 3]);
        assert_eq!(
            values(xml, "alert/info/headline"),
            ["nl title 2", "fr title 2", "en title 2"]
        );
        let descriptions = values(xml, "alert/info/description");
        assert!(
            descriptions[0].starts_with("nl body 2.\n\nSecond paragraph 2."),
            "{descriptions:?}"
        );
        assert!(
            descriptions[1].ends_with("Référence\u{a0}: ZNA-20260113-0002"),
            "{descriptions:?}"
        );
        assert_eq!(
            values(xml, "alert/info/web"),
            ["nl", "fr", "en"].map(|code| format!(
                "https://status.zna.example/crisis/{code}/ZNA-20260113-0002.html"
            ))
        );
        assert_eq!(
            values(xml, "alert/info/contact"),
            [
                "Pers: +32 3 555 12 13",
                "Presse\u{a0}: +32 3 555 12 13",
                "Press: +32 3 555 12 13"
            ]
        );
        let cancel = alert_of(&site, "ZNA-20260113-0004");
        assert_eq!(values(cancel, "alert/info/urgency"), ["Past"; 3]);
        assert_eq!(values(cancel, "alert/info/responseType"), ["None"; 3]);
    }

    #[test]
    fn a_spokespersons_text_comes_out_escaped_and_whole_in_every_alert() {
        let mut bad = update(1, "cyberattack-2026-01", UpdateKind::Alert, 0);
        bad.nl.title = BAD.into();
        bad.fr.body = BAD.into();
        bad.en.title = format!("{BAD}\u{1}");
        let site = site(&edition(vec![bad]));
        let xml = alert_of(&site, "ZNA-20260113-0001");
        let raw = String::from_utf8_lossy(xml);
        assert!(!raw.contains("<script>") && !raw.contains("]]>"), "{raw}");
        assert_eq!(values(xml, "alert/info/headline"), [BAD, "fr title 1", BAD]);
        assert!(values(xml, "alert/info/description")[1].starts_with(&format!("{BAD}\n\n")));
        let index = String::from_utf8_lossy(body(&site, "cap/index.atom")).into_owned();
        assert!(!index.contains("<script>"), "{index}");
    }

    #[test]
    fn sent_is_the_release_time_in_brussels_with_its_offset() {
        let winter = edition(vec![update(1, "a", UpdateKind::Alert, 0)]);
        let tz = locales().tz();
        assert_eq!(sent(tz, &winter.items[0]), "2026-01-13T07:30:00+01:00");
        let summer = edition(vec![update(1, "a", UpdateKind::Alert, 60 * 24 * 180)]);
        assert_eq!(sent(tz, &summer.items[0]), "2026-07-12T08:30:00+02:00");
    }

    #[test]
    fn the_index_lists_every_alert_as_the_cap_feeds_practice_says() {
        let edition = edition(chain());
        let site = site(&edition);
        let file = site.get("cap/index.atom").expect("the index is built");
        assert_eq!(file.last_modified, edition.last_modified());
        let feed = atom::Feed::read_from(&file.body[..]).expect("the index is Atom");
        assert_eq!(feed.id, "https://status.zna.example/crisis/cap/index.atom");
        let title = feeds::phrase(
            &locales(),
            edition.default_language,
            "press-cap-title",
            &[("hospital", "ZNA & Co")],
        );
        assert_eq!(
            Ok(feed.title.value.clone()),
            title.map_err(|e| e.to_string())
        );
        assert_eq!(feed.updated, feeds::fixed(edition.last_modified()));
        assert_eq!(feed.authors[0].name, "ZNA & Co");
        assert!(feed
            .links
            .iter()
            .any(|link| link.rel == "self" && link.href == feed.id));
        assert_eq!(feed.entries.len(), 4);
        for (entry, item) in feed.entries.iter().zip(&edition.items) {
            let reference = &item.update.reference;
            assert_eq!(
                entry.id,
                format!("tag:status.zna.example,2026-01-13:cap/{reference}")
            );
            assert_eq!(entry.updated, feeds::fixed(item.published));
            let language = edition.default_language;
            assert!(entry
                .title
                .value
                .ends_with(&item.update.text(language).title));
            let alternate = entry.links.iter().find(|link| link.rel == "alternate");
            let alternate = alternate.expect("each entry links to its alert");
            assert_eq!(alternate.mime_type.as_deref(), Some("application/cap+xml"));
            assert_eq!(
                alternate.href,
                format!("https://status.zna.example/crisis/cap/{reference}.xml")
            );
            let alert = alert_of(&site, reference.as_str());
            assert_eq!(
                value(alert, "alert/identifier"),
                Some(identifier(&edition, item))
            );
        }
    }
}
