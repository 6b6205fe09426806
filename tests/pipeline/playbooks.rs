//! `tocsin update new`: a new update file from an incident playbook or from the update
//! before it, then drafted as any other.

use crate::cli::{configure, text, tocsin, with_database};
use std::path::Path;

/// This month as the hospital (Brussels) counts months: `2026-12`.
fn this_month() -> String {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Brussels)
        .format("%Y-%m")
        .to_string()
}

/// The incident a file opens.
fn incident_of(file: &str) -> String {
    file.lines()
        .find_map(|line| line.strip_prefix("incident = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("no incident in\n{file}"))
        .to_string()
}

/// What a spokesperson writes in each `[[…]]`: days where the audiences want them.
fn fill_in(file: &str) -> String {
    let mut filled = String::new();
    let mut rest = file;
    while let Some(open) = rest.find("[[") {
        let close = rest[open..].find("]]").expect("a closed blank") + open;
        filled.push_str(&rest[..open]);
        filled.push_str(match &rest[open + 2..close] {
            "first-day" => "2026-01-13",
            "last-day" => "2026-01-14",
            "campus" => "Deurne",
            _ => "vandaag",
        });
        rest = &rest[close + 2..];
    }
    filled.push_str(rest);
    filled
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read")
}

#[test]
fn a_playbook_is_written_to_a_new_file_refused_until_filled_in_and_then_drafted() {
    let dir = tempfile::tempdir().expect("temp dir");
    configure(dir.path(), "");

    // The list needs no database.
    let list = tocsin(dir.path(), &["update", "playbooks"]);
    let (stdout, stderr) = text(&list);
    assert!(list.status.success(), "{stderr}");
    for line in [
        "cyberattack  Cyberaanval / Cyberattaque / Cyberattack",
        "it-outage    Informaticastoring / Panne informatique / IT outage",
        "power-cut    Stroomonderbreking / Coupure de courant / Power cut",
        "evacuation   Evacuatie / Évacuation / Evacuation",
    ] {
        assert!(stdout.contains(line), "{line:?} not in\n{stdout}");
    }

    with_database(dir.path());
    let unknown = tocsin(dir.path(), &["update", "new", "--playbook", "fire"]);
    let (_, stderr) = text(&unknown);
    assert!(!unknown.status.success());
    assert!(
        stderr.contains(
            "there is no playbook \"fire\": use one of cyberattack, it-outage, power-cut, \
             evacuation"
        ),
        "{stderr}"
    );

    let before = this_month();
    let new = tocsin(
        dir.path(),
        &[
            "update",
            "new",
            "--playbook",
            "cyberattack",
            "-o",
            "alert.toml",
        ],
    );
    let after = this_month();
    let (stdout, stderr) = text(&new);
    assert!(new.status.success(), "{stderr}");
    assert_eq!(
        stdout,
        "alert.toml written: fill in each [[...]] blank, then: tocsin update draft alert.toml \
         --by NAME\n"
    );
    let file = read(&dir.path().join("alert.toml"));
    // Either side of the command, should a month end while it runs.
    let incident = incident_of(&file);
    assert!(
        [before, after].contains(&incident.replace("cyberattack-", "")),
        "{incident}"
    );
    // Standard output carries the same file.
    let printed = tocsin(dir.path(), &["update", "new", "--playbook", "cyberattack"]);
    assert_eq!(text(&printed).0, file);

    // An existing file is left alone.
    std::fs::write(dir.path().join("mine.toml"), "my own notes").expect("write");
    let again = tocsin(
        dir.path(),
        &[
            "update",
            "new",
            "--playbook",
            "power-cut",
            "-o",
            "mine.toml",
        ],
    );
    let (_, stderr) = text(&again);
    assert!(!again.status.success());
    assert!(
        stderr.contains("mine.toml exists already: not overwritten"),
        "{stderr}"
    );
    assert_eq!(read(&dir.path().join("mine.toml")), "my own notes");

    // Blanks left: refused, each named by language and field at its line; nothing stored.
    let draft = tocsin(
        dir.path(),
        &["update", "draft", "alert.toml", "--by", "Els Peeters"],
    );
    let (stdout, stderr) = text(&draft);
    assert!(!draft.status.success(), "{stdout}");
    let body_line = file
        .lines()
        .position(|line| line.contains("[[wanneer]]"))
        .expect("a blank in the Dutch body")
        + 1;
    for expected in [
        format!("alert.toml:{body_line}:"),
        "[nl] body: the blank [[wanneer]] is still there".to_string(),
        "[fr] body: the blank [[quand]] is still there".to_string(),
        "[en] body: the blank [[when]] is still there".to_string(),
        "audiences: the blank [[first-day]] is still there".to_string(),
    ] {
        assert!(stderr.contains(&expected), "{expected:?} not in\n{stderr}");
    }
    assert_eq!(text(&tocsin(dir.path(), &["update", "list"])).0, "");

    // Filled in, it is drafted like any update file.
    std::fs::write(dir.path().join("alert.toml"), fill_in(&file)).expect("write");
    let draft = tocsin(
        dir.path(),
        &["update", "draft", "alert.toml", "--by", "Els Peeters"],
    );
    let (stdout, stderr) = text(&draft);
    assert!(draft.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("Stored draft update 1 (alert, by Els Peeters)."),
        "{stdout}"
    );
    // The press release holds the three texts, rendered.
    let preview = tocsin(
        dir.path(),
        &["update", "preview", "1", "--channel", "email"],
    );
    let (stdout, stderr) = text(&preview);
    assert!(preview.status.success(), "{stderr}");
    for title in [
        "Cyberaanval: geplande operaties en consultaties gaan niet door",
        "Cyberattaque\u{a0}: les opérations et consultations prévues n'auront pas lieu",
        "Cyberattack: planned operations and consultations will not go ahead",
    ] {
        assert!(stdout.contains(title), "{title:?} not in\n{stdout}");
    }

    // The next cyberattack of the month opens an incident of its own.
    let second = tocsin(dir.path(), &["update", "new", "--playbook", "cyberattack"]);
    let incident = incident_of(&text(&second).0);
    assert_eq!(incident, format!("{}-2", incident_of(&file)));
}

#[test]
fn a_follow_up_is_prefilled_from_the_stored_update_and_drafted_after_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    configure(dir.path(), "");
    with_database(dir.path());
    std::fs::write(
        dir.path().join("alert.toml"),
        include_str!("../../examples/01-first-alert.toml"),
    )
    .expect("write");
    assert!(tocsin(dir.path(), &["update", "draft", "alert.toml"])
        .status
        .success());
    assert!(tocsin(
        dir.path(),
        &["update", "approve", "1", "--by", "Dr. Jan Claes"]
    )
    .status
    .success());

    let new = tocsin(
        dir.path(),
        &["update", "new", "--follow", "1", "-o", "next.toml"],
    );
    let (stdout, stderr) = text(&new);
    assert!(new.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("next.toml written: rewrite its texts with what is new, then: "),
        "{stdout}"
    );
    let file = read(&dir.path().join("next.toml"));
    for line in [
        "incident = \"cyberattack-2026-01\"",
        "kind = \"update\"",
        "follows = 1",
        "audiences = [\"patients from=2026-01-13 to=2026-01-14\", \"gps-of-affected\", \
         \"all-gps\", \"media\"]",
        "channels = [\"sms\", \"email\", \"telegram\"]",
        "appointments = \"cancelled\"",
        "title = \"Cyberattaque : les opérations et consultations prévues n'auront pas lieu\"",
        "sms = \"Due to a cyberattack, planned operations and consultations are cancelled.\"",
        "Ons ziekenhuis is in de nacht van maandag op dinsdag getroffen door een cyberaanval.",
    ] {
        assert!(
            file.lines().any(|written| written.starts_with(line)),
            "{line:?} not in\n{file}"
        );
    }
    // By the incident's name: its latest update.
    let by_incident = tocsin(
        dir.path(),
        &["update", "new", "--follow", "cyberattack-2026-01"],
    );
    assert_eq!(text(&by_incident).0, file);

    // Drafted as it is, it is stored, and said to repeat update 1.
    let draft = tocsin(
        dir.path(),
        &["update", "draft", "next.toml", "--by", "Els Peeters"],
    );
    let (stdout, stderr) = text(&draft);
    assert!(draft.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("Stored draft update 2 (update, by Els Peeters)."),
        "{stdout}"
    );
    assert!(
        stderr.contains("WARNING: the texts are exactly those of update 1 (approved"),
        "{stderr}"
    );
    let latest = tocsin(
        dir.path(),
        &["update", "new", "--follow", "cyberattack-2026-01"],
    );
    assert!(
        text(&latest).0.contains("\nfollows = 2\n"),
        "{}",
        text(&latest).0
    );

    for (follow, refusal) in [
        ("99", "update 99 not found"),
        ("flood-2026-01", "there is no incident \"flood-2026-01\""),
    ] {
        let out = tocsin(dir.path(), &["update", "new", "--follow", follow]);
        let (_, stderr) = text(&out);
        assert!(!out.status.success());
        assert!(stderr.contains(refusal), "{refusal:?} not in {stderr}");
    }
}
