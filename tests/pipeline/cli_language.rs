//! The command line's own sentences in Dutch, French and English: by `TOCSIN_LANG`, by the
//! system locale, and English when neither says otherwise.

use crate::cli::{configure, text, with_database};
use crate::support::tocsin_binary;
use std::path::Path;
use std::process::{Command, Output};

/// `tocsin` with only the given language variables: none of the machine's own.
fn tocsin_in(dir: &Path, language: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(tocsin_binary());
    for name in ["TOCSIN_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"] {
        command.env_remove(name);
    }
    command
        .current_dir(dir)
        .envs(language.iter().copied())
        .args(args)
        .output()
        .expect("run tocsin")
}

/// A database with the press list and the first alert of `examples/` stored as draft 1.
fn with_a_draft(dir: &Path) {
    configure(dir, "");
    with_database(dir);
    std::fs::write(
        dir.join("alert.toml"),
        include_str!("../../examples/01-first-alert.toml"),
    )
    .expect("write");
}

#[test]
fn the_same_commands_speak_dutch_french_or_english_as_tocsin_lang_asks() {
    let dir = tempfile::tempdir().expect("temp dir");
    with_a_draft(dir.path());
    let draft = |language| {
        let out = tocsin_in(
            dir.path(),
            &[("TOCSIN_LANG", language)],
            &["update", "draft", "alert.toml", "--by", "els peeters"],
        );
        assert!(out.status.success(), "{:?}", text(&out));
        // Drafted once per language: three drafts, 1 to 3.
        text(&out).0
    };
    let nl = draft("nl");
    assert!(
        nl.contains("Update 1 opgeslagen als ontwerp (alert, door els peeters).")
            && nl.contains("De sms-teksten zoals geschreven:")
            && nl.contains("Wie ze nu bereikt (zoals tocsin update send het zou plannen):")
            && nl.contains("Volgende stap: tocsin update preview 1"),
        "{nl}"
    );
    let fr = draft("fr");
    assert!(
        fr.contains("Mise à jour 2 enregistrée comme brouillon (alert, par els peeters).")
            && fr.contains("Les textes SMS tels qu'ils sont écrits\u{a0}:")
            && fr.contains("Étape suivante\u{a0}: tocsin update preview 2"),
        "{fr}"
    );
    let en = draft("en");
    assert!(
        en.contains("Stored draft update 3 (alert, by els peeters).")
            && en.contains("The sms text as written:")
            && en.contains("Next: tocsin update preview 3"),
        "{en}"
    );

    let refused = |language| {
        let out = tocsin_in(
            dir.path(),
            &[("TOCSIN_LANG", language)],
            &["update", "approve", "1", "--by", "Els Peeters"],
        );
        assert!(
            !out.status.success(),
            "the author approved: {:?}",
            text(&out)
        );
        text(&out).1
    };
    assert_eq!(
        refused("nl"),
        "fout: update 1 is geschreven door els peeters: een tweede persoon moet ze goedkeuren \
         (vier ogen)\n"
    );
    assert_eq!(
        refused("fr"),
        "erreur\u{a0}: la mise à jour 1 a été rédigée par els peeters\u{a0}: une deuxième \
         personne doit l'approuver (principe des quatre yeux)\n"
    );
    assert_eq!(
        refused("en"),
        "error: update 1 was written by els peeters: a second person must approve it (four \
         eyes)\n"
    );

    let unapproved = tocsin_in(
        dir.path(),
        &[("TOCSIN_LANG", "nl")],
        &["update", "send", "1"],
    );
    assert_eq!(
        text(&unapproved).1,
        "fout: update 1 is een ontwerp: een tweede persoon moet ze goedkeuren voor ze wordt \
         verstuurd\n"
    );

    let status = |language| {
        let out = tocsin_in(dir.path(), &[("TOCSIN_LANG", language)], &["status", "1"]);
        assert!(out.status.success(), "{:?}", text(&out));
        text(&out).0
    };
    assert!(
        status("nl").starts_with("Update 1 is een ontwerp: er is niets gepland of verstuurd."),
        "{}",
        status("nl")
    );
    assert!(
        status("fr")
            .starts_with("La mise à jour 1 est un brouillon\u{a0}: rien n'est planifié ni envoyé."),
        "{}",
        status("fr")
    );
    assert!(
        status("en").starts_with("Update 1 is a draft: nothing is planned or sent."),
        "{}",
        status("en")
    );

    let unknown = |language| {
        let out = tocsin_in(dir.path(), &[("TOCSIN_LANG", language)], &["status", "7"]);
        assert!(!out.status.success());
        text(&out).1
    };
    assert_eq!(
        unknown("nl"),
        "fout: database sqlite://tocsin.db: update 7 bestaat niet (tocsin update list toont ze)\n"
    );
    assert_eq!(
        unknown("fr"),
        "erreur\u{a0}: base de données sqlite://tocsin.db\u{a0}: la mise à jour 7 n'existe pas \
         (tocsin update list les montre)\n"
    );
    assert_eq!(
        unknown("en"),
        "error: database sqlite://tocsin.db: update 7 not found\n"
    );

    let unreadable = |language| {
        let out = tocsin_in(
            dir.path(),
            &[("TOCSIN_LANG", language)],
            &["update", "draft", "missing.toml"],
        );
        assert!(!out.status.success());
        text(&out).1
    };
    assert!(
        unreadable("nl")
            .starts_with("fout: kan missing.toml niet lezen: dat bestand of die map bestaat niet"),
        "{}",
        unreadable("nl")
    );
    assert!(
        unreadable("fr").starts_with(
            "erreur\u{a0}: impossible de lire missing.toml\u{a0}: ce fichier ou ce dossier \
             n'existe pas"
        ),
        "{}",
        unreadable("fr")
    );
}

#[test]
fn a_belgian_french_locale_makes_the_command_line_french_and_tocsin_lang_wins_over_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    configure(dir.path(), "");
    std::fs::write(
        dir.path().join("press.csv"),
        "outlet,name,language,email\nDe Standaard,An Peeters,nl,an.peeters@example.be\n\
         Le Soir,Luc Dupont,fr,luc.dupont@example.be\n",
    )
    .expect("write");
    let import = tocsin_in(
        dir.path(),
        &[("LANG", "fr_BE.UTF-8")],
        &["import", "media", "press.csv"],
    );
    let (stdout, stderr) = text(&import);
    assert!(import.status.success(), "{stderr}");
    assert!(
        stdout.starts_with(
            "press.csv\u{a0}: 2 enregistrements lus, 2 acceptés, 0 refusé\n  contacts\u{a0}:"
        ),
        "{stdout}"
    );
    let show = |language: &[(&str, &str)]| {
        let out = tocsin_in(dir.path(), language, &["audience", "show", "media"]);
        assert!(out.status.success(), "{:?}", text(&out));
        text(&out).0
    };
    assert_eq!(
        show(&[("LANG", "fr_BE.UTF-8")]),
        "media\u{a0}: 2 contacts\n  par langue\u{a0}: nl 1, fr 1\n  joignables par\u{a0}: email 2\n"
    );
    assert_eq!(
        show(&[("LANG", "nl_BE.UTF-8")]),
        "media: 2 contacten\n  per taal: nl 1, fr 1\n  bereikbaar via: email 2\n"
    );
    assert_eq!(
        show(&[("LANG", "fr_BE.UTF-8"), ("TOCSIN_LANG", "en")]),
        "media: 2 contacts\n  by language: nl 1, fr 1\n  reachable by: email 2\n"
    );
    assert_eq!(
        show(&[("LC_ALL", "C.UTF-8"), ("LANG", "fr_BE.UTF-8")]),
        "media: 2 contacts\n  by language: nl 1, fr 1\n  reachable by: email 2\n",
        "LC_ALL wins over LANG, as POSIX has it"
    );
}

#[test]
fn without_tocsin_lang_or_a_known_locale_the_command_line_speaks_english_as_before() {
    let dir = tempfile::tempdir().expect("temp dir");
    configure(dir.path(), "");
    std::fs::write(
        dir.path().join("press.csv"),
        "outlet,name,language,email\nDe Standaard,An Peeters,nl,an.peeters@example.be\n",
    )
    .expect("write");
    let import = tocsin_in(dir.path(), &[], &["import", "media", "press.csv"]);
    assert_eq!(
        text(&import).0,
        "press.csv: 1 record read, 1 accepted, 0 rejected\n  \
         contacts:     1 new, 0 updated, 0 unchanged\n  \
         appointments: 0 new, 0 updated, 0 unchanged\n"
    );
    for language in [
        &[("LANG", "C.UTF-8")][..],
        &[("LANG", "de_DE.UTF-8")],
        &[("TOCSIN_LANG", "en"), ("LANG", "nl_BE.UTF-8")],
    ] {
        let again = tocsin_in(dir.path(), language, &["import", "media", "press.csv"]);
        assert_eq!(
            text(&again).0,
            "press.csv: 1 record read, 1 accepted, 0 rejected\n  \
             contacts:     0 new, 0 updated, 1 unchanged\n  \
             appointments: 0 new, 0 updated, 0 unchanged\n",
            "{language:?}"
        );
    }

    let misspelt = tocsin_in(
        dir.path(),
        &[("TOCSIN_LANG", "de_DE"), ("LANG", "fr_BE.UTF-8")],
        &["audience", "show", "media"],
    );
    let (stdout, stderr) = text(&misspelt);
    assert!(misspelt.status.success(), "{stderr}");
    assert_eq!(
        stderr,
        "warning: TOCSIN_LANG=de_DE is not a language of the command line (nl, fr or en): \
         Tocsin answers in English\n"
    );
    assert!(stdout.starts_with("media: 1 contact\n"), "{stdout}");
}

#[test]
fn the_refusal_of_the_example_hospital_details_is_in_the_command_lines_language() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("alert.toml"),
        include_str!("../../examples/01-first-alert.toml"),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("press.csv"),
        "outlet,name,language,email\nDe Standaard,An Peeters,nl,an.peeters@example.be\n",
    )
    .expect("write");
    let import = tocsin_in(dir.path(), &[], &["import", "media", "press.csv"]);
    assert!(import.status.success(), "{:?}", text(&import));
    let refused = |language| {
        let out = tocsin_in(
            dir.path(),
            &[("LANG", language)],
            &["update", "draft", "alert.toml"],
        );
        assert!(!out.status.success(), "drafted: {:?}", text(&out));
        text(&out).1
    };
    let nl = refused("nl_BE.UTF-8");
    assert!(
        nl.starts_with(
            "fout: Tocsin weigert een update als ontwerp op te slaan: de berichten zouden de \
             voorbeeldgegevens van een ziekenhuis dragen, niet de uwe. Pas het volgende aan in \
             tocsin.toml (er staat er geen in de werkmap; of geef --config BESTAND):\n  \
             [hospital] name is nog het voorbeeld \"Ziekenhuis Noord-Antwerpen\"\n"
        ) && nl.ends_with("`tocsin check` toont alles wat de configuratie zal doen.\n"),
        "{nl}"
    );
    let fr = refused("fr_BE.UTF-8");
    assert!(
        fr.starts_with(
            "erreur\u{a0}: Tocsin refuse d'enregistrer une mise à jour comme brouillon\u{a0}: \
             les messages porteraient"
        ) && fr.contains(
            "  [hospital] name vaut encore l'exemple «\u{a0}Ziekenhuis Noord-Antwerpen\u{a0}»\n"
        ),
        "{fr}"
    );
    let en = refused("C.UTF-8");
    assert!(
        en.starts_with(
            "error: refusing to draft an update: messages would carry the example hospital \
             details, not yours. Set in tocsin.toml (none was found in the working directory; \
             or pass --config FILE):\n  [hospital] name is still the example \
             \"Ziekenhuis Noord-Antwerpen\"\n"
        ),
        "{en}"
    );
}

#[test]
fn a_refusal_names_the_updates_state_in_the_command_lines_language() {
    let dir = tempfile::tempdir().expect("temp dir");
    with_a_draft(dir.path());
    let run = |language, args: &[&str]| tocsin_in(dir.path(), &[("TOCSIN_LANG", language)], args);
    let drafted = run(
        "en",
        &["update", "draft", "alert.toml", "--by", "els peeters"],
    );
    assert!(drafted.status.success(), "{:?}", text(&drafted));
    let halt = |language| {
        let out = run(language, &["update", "halt", "1", "--by", "Jan Claes"]);
        assert!(
            !out.status.success(),
            "a draft was halted: {:?}",
            text(&out)
        );
        text(&out).1
    };
    assert_eq!(
        halt("fr"),
        "erreur\u{a0}: la mise à jour 1 est à l'état «\u{a0}brouillon\u{a0}»\u{a0}: seule une \
         mise à jour approuvée ou en cours d'envoi peut être arrêtée (un brouillon \
         s'abandonne\u{a0}: tocsin update discard)\n"
    );
    assert_eq!(
        halt("nl"),
        "fout: update 1 heeft de status ‘ontwerp’: alleen een goedgekeurde update of een update \
         die wordt verstuurd, kan worden stopgezet (een ontwerp schrapt u: tocsin update \
         discard)\n"
    );
    assert_eq!(
        halt("en"),
        "error: update 1 is draft: only an approved or running update can be halted (a draft \
         is discarded: tocsin update discard)\n"
    );

    let approved = run("en", &["update", "approve", "1", "--by", "Jan Claes"]);
    assert!(approved.status.success(), "{:?}", text(&approved));
    let again = |language| {
        let out = run(
            language,
            &["update", "approve", "1", "--by", "Piet Janssens"],
        );
        assert!(!out.status.success(), "approved twice: {:?}", text(&out));
        text(&out).1
    };
    assert_eq!(
        again("fr"),
        "erreur\u{a0}: la mise à jour 1 est à l'état «\u{a0}approuvée\u{a0}»\u{a0}; seul un \
         brouillon peut être approuvé\n"
    );
    assert_eq!(
        again("nl"),
        "fout: update 1 heeft de status ‘goedgekeurd’; alleen een ontwerp kan worden \
         goedgekeurd\n"
    );
    let discard = run("nl", &["update", "discard", "1", "--by", "Jan Claes"]);
    assert_eq!(
        text(&discard).1,
        "fout: update 1 heeft de status ‘goedgekeurd’: alleen een ontwerp kan worden geschrapt \
         (trek eerst de goedkeuring in: tocsin update revoke)\n"
    );
}
