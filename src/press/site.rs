//! The press room as files: what `tocsin serve` answers from memory and `tocsin press export`
//! writes, path for path, so that both show the same thing.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One page or feed, with the validators a conditional GET compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub body: Arc<[u8]>,
    pub content_type: &'static str,
    /// A strong validator: the same bytes give the same tag in every process, so a CDN's
    /// copy stays valid across restarts.
    pub etag: String,
    /// The newest release time among the updates the file shows.
    pub last_modified: DateTime<Utc>,
}

impl File {
    pub fn new(
        body: impl Into<Vec<u8>>,
        content_type: &'static str,
        last_modified: DateTime<Utc>,
    ) -> File {
        let body: Vec<u8> = body.into();
        let digest = Sha256::digest(&body);
        File {
            etag: format!("\"{}\"", hex::encode(&digest[..12])),
            body: body.into(),
            content_type,
            last_modified,
        }
    }
}

/// Every file by its path relative to the press room's root (`nl/index.html`,
/// `cap/index.atom`), `/`-separated, never starting with one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Site {
    files: BTreeMap<String, File>,
}

impl Site {
    pub fn insert(&mut self, path: impl Into<String>, file: File) {
        self.files.insert(path.into(), file);
    }

    pub fn get(&self, path: &str) -> Option<&File> {
        self.files.get(path)
    }

    pub fn files(&self) -> impl Iterator<Item = (&str, &File)> {
        self.files.iter().map(|(path, file)| (path.as_str(), file))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}
