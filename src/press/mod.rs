//! The press room: every released update on public pages and in feeds (Atom, RSS, JSON Feed,
//! CAP 1.2), in nl, fr and en, as a [`Site`] of files built from the store's
//! `published_updates`. `tocsin serve` answers it from memory and builds it again only when an
//! update is released, halted or withdrawn; `tocsin press export` writes it to a folder.
//!
//! Paths, relative to the press room's root (every link between them is relative, so the
//! files work from any folder, a CDN or `file://`):
//!
//! | path | what |
//! |---|---|
//! | `index.html` | the choice of language |
//! | `style.css` | the one stylesheet |
//! | `{lang}/index.html` | the timeline, newest first |
//! | `{lang}/{reference}.html` | one update |
//! | `{lang}/check.html` | the reference check (`serve` also answers `?ref=`) |
//! | `{lang}/atom.xml`, `{lang}/rss.xml`, `{lang}/feed.json` | the feeds |
//! | `cap/{reference}.xml` | one CAP alert per update, an `<info>` per language |
//! | `cap/index.atom` | the Atom index of the CAP alerts |
//! | `{feed or alert}.sig` | its Ed25519 signature, when `[press] signing_key` is set |
//! | `signing-key.pem` | the public key that verifies them, then |

mod cap;
mod export;
mod feeds;
pub mod links;
pub mod pages;
mod sign;
mod site;

pub use export::{export, ExportError, ExportReport, MANIFEST};
pub use site::{File, Site};

use crate::config::Config;
use crate::domain::{Language, Update, UpdateState};
use crate::render::Locales;
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum PressError {
    #[error("[press] {0}")]
    Config(String),
    /// The press room's address, naming the key it was read from.
    #[error("{0}")]
    Address(String),
    #[error("the press room's {what} could not be written: {why}")]
    Render { what: String, why: String },
}

/// One released update as the press room shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub update: Update,
    /// When it was released (approved): the time pages and feeds give it.
    pub published: DateTime<Utc>,
}

impl Item {
    /// A person halted it while it was being sent: it is shown, marked as stopped, since
    /// some recipients did get it and must be able to check it.
    pub fn withdrawn(&self) -> bool {
        self.update.state == UpdateState::Halted
    }
}

/// What the press room is built from.
#[derive(Debug, Clone)]
pub struct Edition {
    /// Absolute, ending with `/`: feeds and messages link to `{public_url}{lang}/{reference}.html`.
    pub public_url: Url,
    /// CAP's `sender`.
    pub cap_sender: String,
    pub hospital_name: String,
    pub hospital_phone: String,
    pub press_phone: String,
    pub default_language: Language,
    pub cache_seconds: u32,
    /// Signs the feeds and CAP alerts, from `[press] signing_key`.
    pub signing_key: Option<SigningKey>,
    /// Newest release first.
    pub items: Vec<Item>,
}

impl Edition {
    /// The edition of `updates` (as `Store::published_updates` gives them) under `config`.
    pub fn new(config: &Config, updates: Vec<Update>) -> Result<Edition, PressError> {
        let public_url = public_url(config)?;
        let cap_sender = cap_sender(config, &public_url)?;
        let signing_key = config
            .press
            .signing_key
            .as_deref()
            .map(sign::read_key)
            .transpose()?;
        let mut items: Vec<Item> = updates
            .into_iter()
            .map(|update| Item {
                published: DateTime::from_timestamp_millis(
                    update.approved_at_ms.unwrap_or(update.created_at_ms),
                )
                .unwrap_or_default(),
                update,
            })
            .collect();
        items.sort_by_key(|item| std::cmp::Reverse((item.published, item.update.id)));
        Ok(Edition {
            public_url,
            cap_sender,
            hospital_name: config.hospital.name.clone(),
            hospital_phone: config.hospital.phone.clone(),
            press_phone: config.hospital.press_phone.clone(),
            default_language: config.hospital.default_language,
            cache_seconds: config.press.cache_seconds,
            signing_key,
            items,
        })
    }

    /// The newest release time, for the files that show every update.
    pub fn last_modified(&self) -> DateTime<Utc> {
        self.items
            .iter()
            .map(|item| item.published)
            .max()
            .unwrap_or_default()
    }

    /// The absolute address of an update's page in `language`.
    pub fn update_url(&self, language: Language, update: &Update) -> Url {
        links::update_page(&self.public_url, language, &update.reference)
    }
}

/// `[press] public_url`, else `[hospital] website`: absolute, ending with `/`.
pub fn public_url(config: &Config) -> Result<Url, PressError> {
    let (key, written) = match config.press.public_url.as_deref() {
        Some(url) => ("[press] public_url", url),
        None => (
            "[hospital] website (the press room's address while [press] public_url is unset)",
            config.hospital.website.as_str(),
        ),
    };
    let mut url = Url::parse(written.trim()).map_err(|error| {
        PressError::Address(format!(
            "{key} {written:?} is not an absolute URL ({error}): write it as https://status.example.be/"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(PressError::Address(format!(
            "{key} {written:?} must start with https:// (or http://)"
        )));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// Every page and feed of `edition`.
pub fn build(edition: &Edition, locales: &Locales) -> Result<Site, PressError> {
    let mut site = Site::default();
    pages::write(edition, locales, &mut site)?;
    feeds::add(edition, locales, &mut site)?;
    cap::add(edition, locales, &mut site)?;
    sign::add(edition, &mut site)?;
    Ok(site)
}

/// `[press] cap_sender`, else the public URL's host: CAP forbids spaces, commas and `<` `&`
/// in it, since `references` lists alerts as `sender,identifier,sent` separated by spaces.
pub fn cap_sender(config: &Config, public_url: &Url) -> Result<String, PressError> {
    match &config.press.cap_sender {
        Some(sender) => {
            let sender = sender.trim();
            if sender.is_empty() || sender.contains([' ', ',', '<', '&']) {
                return Err(PressError::Config(format!(
                    "cap_sender {sender:?} must not be empty nor hold spaces, commas, < or &"
                )));
            }
            Ok(sender.to_string())
        }
        None => Ok(public_url.host_str().unwrap_or("tocsin").to_string()),
    }
}
