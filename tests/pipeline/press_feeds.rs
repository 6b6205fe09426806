//! The press room's feeds and CAP alerts from update files drafted and approved in a real
//! store: what a spokesperson writes comes out in every feed, and the CAP alerts validate
//! against the official schema.

use crate::support::{require, TestApp};
use std::path::Path;
use std::process::Command;
use tocsin::press::Site;

/// Markup, the end of a CDATA section, an ampersand, template braces, an emoji and a
/// right-to-left mark, as a TOML basic string writes them.
const BAD_TOML: &str = r#"<script>alert('x')</script> ]]> & {{ title }} 🚑 \u200Fשלום"#;
const BAD: &str = "<script>alert('x')</script> ]]> & {{ title }} 🚑 \u{200F}שלום";

fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
    )
    .expect("the example update file")
}

fn body<'s>(site: &'s Site, path: &str) -> &'s [u8] {
    &site
        .get(path)
        .unwrap_or_else(|| panic!("{path} is not in the press room"))
        .body
}

fn between<'t>(text: &'t str, open: &str, close: &str) -> Option<&'t str> {
    let start = text.find(open)? + open.len();
    Some(&text[start..start + text[start..].find(close)?])
}

#[tokio::test]
async fn released_updates_come_out_in_every_feed_and_as_valid_cap_alerts() {
    let test = TestApp::new(|_| {}).await;
    let first = example("01-first-alert.toml")
        .replacen(
            "appointments = \"cancelled\"",
            "appointments = \"cancelled\"\n\n[cap]\nseverity = \"moderate\"",
            1,
        )
        .replacen(
            "We brengen u op de hoogte zodra er nieuws is.",
            &format!("We brengen u op de hoogte zodra er nieuws is. {BAD_TOML}"),
            1,
        );
    let first = test.approved_update(&first).await;
    let second = test
        .approved_update(&example("02-almost-24-hours-later.toml"))
        .await;
    let draft_file = test.dir.path().join("draft.toml");
    std::fs::write(&draft_file, example("01-first-alert.toml")).expect("written");
    test.app
        .draft(&draft_file, None, Default::default())
        .await
        .expect("a draft that nobody approves");

    let (edition, site) = test.app.press().await.expect("the press room builds");
    assert_eq!(edition.items.len(), 2, "a draft is not published");
    let reference = |id: i64| {
        edition
            .items
            .iter()
            .find(|item| item.update.id == id)
            .map(|item| item.update.reference.to_string())
            .expect("released")
    };
    let (first, second) = (reference(first), reference(second));

    let alert = String::from_utf8_lossy(body(&site, &format!("cap/{first}.xml"))).into_owned();
    assert_eq!(between(&alert, "<msgType>", "<"), Some("Alert"));
    assert!(!alert.contains("<references>"));
    assert_eq!(
        alert.matches("<severity>Moderate</severity>").count(),
        3,
        "{alert}"
    );
    let sender = between(&alert, "<sender>", "<")
        .expect("a sender")
        .to_string();
    assert_eq!(sender, "crisis.azt-testwijk.be");
    let identifier = between(&alert, "<identifier>", "<").expect("an identifier");
    assert_eq!(identifier, format!("{sender}.{first}"));
    let sent = between(&alert, "<sent>", "<").expect("sent");
    let follow_up = String::from_utf8_lossy(body(&site, &format!("cap/{second}.xml"))).into_owned();
    assert_eq!(between(&follow_up, "<msgType>", "<"), Some("Update"));
    assert_eq!(
        between(&follow_up, "<references>", "<"),
        Some(format!("{sender},{identifier},{sent}").as_str())
    );

    if require(
        "xmllint (Debian's libxml2-utils)",
        Command::new("xmllint").arg("--version").output().is_ok(),
    ) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let files: Vec<_> = [&first, &second]
            .iter()
            .map(|reference| {
                let path = dir.path().join(format!("{reference}.xml"));
                std::fs::write(&path, body(&site, &format!("cap/{reference}.xml")))
                    .expect("written");
                path
            })
            .collect();
        let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cap/CAP-v1.2.xsd");
        let output = Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(schema)
            .args(&files)
            .output()
            .expect("xmllint runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let feed = atom_syndication::Feed::read_from(body(&site, "nl/atom.xml")).expect("Atom");
    assert_eq!(feed.entries.len(), 2);
    assert!(
        feed.entries[0].id.ends_with(&format!("nl/{second}")),
        "newest first"
    );
    let content = feed.entries[1]
        .content
        .as_ref()
        .and_then(|c| c.value.as_deref());
    assert!(
        content.is_some_and(|text| text.contains(BAD)),
        "{content:?}"
    );
    let channel = rss::Channel::read_from(body(&site, "nl/rss.xml")).expect("RSS");
    assert_eq!(channel.items.len(), 2);
    assert!(channel.items[1]
        .description
        .as_deref()
        .is_some_and(|html| html.contains(&tera::escape_html(BAD))));
    let json: serde_json::Value =
        serde_json::from_slice(body(&site, "nl/feed.json")).expect("JSON");
    assert!(json["items"][1]["content_text"]
        .as_str()
        .is_some_and(|text| text.contains(BAD)));
    let index = atom_syndication::Feed::read_from(body(&site, "cap/index.atom")).expect("Atom");
    assert_eq!(index.entries.len(), 2);
    assert_eq!(
        index.entries[1].links[0].href,
        format!("https://crisis.azt-testwijk.be/cap/{first}.xml")
    );
}
