//! Detached Ed25519 signatures of the feeds and CAP alerts. In a cyberattack fake messages
//! follow real ones, and a copy of the press room on another host (a CDN, a mirror) could be
//! altered: with `[press] signing_key` set, each feed and alert has its signature beside it
//! (`nl/atom.xml.sig`: the 64 bytes of RFC 8032's Ed25519 over the file's bytes) and the
//! public key is at `signing-key.pem`, so anyone can check a copy:
//! `openssl pkeyutl -verify -pubin -inkey signing-key.pem -rawin -in atom.xml -sigfile
//! atom.xml.sig`. Ed25519 signs deterministically: the same file gets the same signature in
//! every build, so signatures change, like the files' ETags, only when a file does.

use super::{Edition, File, PressError, Site};
use chrono::DateTime;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer, SigningKey};
use std::path::Path;

pub const PUBLIC_KEY_PATH: &str = "signing-key.pem";
const SIGNATURE_TYPE: &str = "application/octet-stream";
const PEM_TYPE: &str = "application/x-pem-file";

/// The key of `[press] signing_key`; the error names the file and never shows its content.
pub(super) fn read_key(path: &Path) -> Result<SigningKey, PressError> {
    let shown = path.display();
    let pem = std::fs::read_to_string(path)
        .map_err(|error| PressError::Config(format!("signing_key {shown}: {error}")))?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|_| {
        PressError::Config(format!(
            "signing_key {shown} is not an Ed25519 private key in PKCS#8 PEM: make one with \
             `openssl genpkey -algorithm ed25519 -out {shown}`"
        ))
    })
}

/// Whether `path` is a feed or a CAP alert (or their index): what gets a signature.
fn is_signed(path: &str) -> bool {
    path.ends_with("/atom.xml")
        || path.ends_with("/rss.xml")
        || path.ends_with("/feed.json")
        || (path.starts_with("cap/") && (path.ends_with(".xml") || path.ends_with(".atom")))
}

/// Adds the signature of every feed and alert of `site`, and the public key, when the
/// edition has a key.
pub(super) fn add(edition: &Edition, site: &mut Site) -> Result<(), PressError> {
    let Some(key) = &edition.signing_key else {
        return Ok(());
    };
    let signatures: Vec<(String, File)> = site
        .files()
        .filter(|(path, _)| is_signed(path))
        .map(|(path, file)| {
            let signature = key.sign(&file.body).to_bytes();
            (
                format!("{path}.sig"),
                File::new(signature.to_vec(), SIGNATURE_TYPE, file.last_modified),
            )
        })
        .collect();
    for (path, file) in signatures {
        site.insert(path, file);
    }
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|error| super::feeds::render_error(PUBLIC_KEY_PATH, error))?;
    site.insert(
        PUBLIC_KEY_PATH,
        File::new(public, PEM_TYPE, DateTime::UNIX_EPOCH),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::press::feeds::tests::{chain, locales};
    use ed25519_dalek::pkcs8::{DecodePublicKey, EncodePrivateKey};
    use ed25519_dalek::{Signature, VerifyingKey};
    use std::process::Command;

    fn signed_edition(dir: &Path) -> super::super::Edition {
        let key = SigningKey::from_bytes(&[7; 32]);
        let path = dir.join("press-signing-key.pem");
        let pem = key.to_pkcs8_pem(LineEnding::LF).expect("a PEM key");
        std::fs::write(&path, pem.as_bytes()).expect("written");
        let mut config = Config::default();
        config.press.public_url = Some("https://status.zna.example/".into());
        config.press.signing_key = Some(path);
        super::super::Edition::new(&config, chain()).expect("a valid edition")
    }

    #[test]
    fn every_feed_and_alert_has_a_signature_the_public_key_verifies() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let edition = signed_edition(dir.path());
        let site = super::super::build(&edition, &locales()).expect("the press room builds");
        let pem = site
            .get(PUBLIC_KEY_PATH)
            .expect("the public key is published");
        let public = VerifyingKey::from_public_key_pem(&String::from_utf8_lossy(&pem.body))
            .expect("an Ed25519 public key");
        let signed: Vec<&str> = site
            .files()
            .map(|(path, _)| path)
            .filter(|path| is_signed(path))
            .collect();
        assert_eq!(
            signed.len(),
            9 + 4 + 1,
            "3 × 3 feeds, 4 alerts, their index"
        );
        for path in signed {
            let file = site.get(path).expect("listed");
            let signature = site.get(&format!("{path}.sig")).expect("signed");
            let signature =
                Signature::from_slice(&signature.body).expect("a 64-byte Ed25519 signature");
            assert!(
                public.verify_strict(&file.body, &signature).is_ok(),
                "{path}"
            );
            let mut altered = file.body.to_vec();
            altered.extend_from_slice(b"<!-- -->");
            assert!(
                public.verify_strict(&altered, &signature).is_err(),
                "{path}"
            );
        }
        let again = super::super::build(&edition, &locales()).expect("builds");
        assert_eq!(site, again, "signatures are deterministic: ETags stay");
    }

    #[test]
    fn a_key_made_by_openssl_signs_what_openssl_verifies_as_the_readme_says() {
        let present = Command::new("openssl")
            .arg("version")
            .output()
            .is_ok_and(|output| output.status.success());
        if !present {
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("openssl is missing, and CI=true: .ci/run must install it");
            }
            eprintln!("\n*** SKIPPED: openssl is missing ***\n");
            return;
        }
        let dir = tempfile::tempdir().expect("a temporary folder");
        let key = dir.path().join("press-signing-key.pem");
        let made = Command::new("openssl")
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&key)
            .output()
            .expect("openssl runs");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let mut config = Config::default();
        config.press.public_url = Some("https://status.zna.example/".into());
        config.press.signing_key = Some(key);
        let edition = super::super::Edition::new(&config, chain()).expect("openssl's key reads");
        let site = super::super::build(&edition, &locales()).expect("the press room builds");
        for (name, path) in [
            ("signing-key.pem", PUBLIC_KEY_PATH),
            ("atom.xml", "nl/atom.xml"),
            ("atom.xml.sig", "nl/atom.xml.sig"),
        ] {
            std::fs::write(dir.path().join(name), &site.get(path).expect("built").body)
                .expect("written");
        }
        let verify = |file: &str| {
            Command::new("openssl")
                .current_dir(dir.path())
                .args([
                    "pkeyutl",
                    "-verify",
                    "-pubin",
                    "-inkey",
                    "signing-key.pem",
                    "-rawin",
                ])
                .args(["-in", file, "-sigfile", "atom.xml.sig"])
                .output()
                .expect("openssl runs")
        };
        let output = verify("atom.xml");
        assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        std::fs::write(dir.path().join("forged.xml"), b"<feed/>").expect("written");
        assert!(!verify("forged.xml").status.success());
    }

    #[test]
    fn a_key_that_is_not_one_is_refused_naming_the_file_only() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("key.pem");
        std::fs::write(
            &path,
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n",
        )
        .expect("written");
        let error = read_key(&path).expect_err("not a key").to_string();
        assert!(
            error.contains("key.pem") && error.contains("openssl genpkey"),
            "{error}"
        );
        assert!(!error.contains("c2VjcmV0"), "{error}");
        let missing = read_key(&dir.path().join("none.pem")).expect_err("no file");
        assert!(missing.to_string().contains("none.pem"));
    }

    #[test]
    fn without_a_key_nothing_is_signed() {
        let site = crate::press::feeds::tests::site(&crate::press::feeds::tests::edition(chain()));
        assert!(site.get("nl/atom.xml").is_some());
        assert!(site
            .files()
            .all(|(path, _)| !path.ends_with(".sig") && path != PUBLIC_KEY_PATH));
    }
}
