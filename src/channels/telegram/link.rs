//! Deep links that bind a Telegram chat to a contact: `https://t.me/<bot>?start=<token>`.
//!
//! A token is the contact's id, the minute it expires and an HMAC-SHA256 of both under a key
//! Tocsin keeps with its data (`Store::telegram_link_key`), cut to 96 bits: nobody can make
//! one for another contact or move its expiry, and nothing is stored when one is issued —
//! planning 100,000 messages writes no tokens. A token binds once: the store keeps its MAC
//! when it is used (`Store::bind_telegram_chat`). Telegram passes at most 64 characters of
//! `A-Z a-z 0-9 _ -` as a start parameter; a token is 32 of them (base64url).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of the MAC a token carries.
const MAC_BYTES: usize = 12;
const TOKEN_BYTES: usize = 8 + 4 + MAC_BYTES;

/// The key deep links are signed with.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkKey([u8; 32]);

impl LinkKey {
    pub fn new(bytes: [u8; 32]) -> LinkKey {
        LinkKey(bytes)
    }

    fn hmac(&self, contact_id: i64, expires_minute: u32) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"tocsin telegram link v1");
        mac.update(&contact_id.to_be_bytes());
        mac.update(&expires_minute.to_be_bytes());
        mac
    }
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(<redacted>)")
    }
}

/// A token that is genuine and not expired: who it binds, and the MAC that marks it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaim {
    pub contact_id: i64,
    pub expires_at_ms: i64,
    /// Hex: the key under which its use is recorded.
    pub mac: String,
}

/// Why a token binds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    /// Not a token, or not one we made: a typo, a cut-off link, a forgery.
    #[error("not a valid link")]
    Invalid,
    #[error("the link has expired")]
    Expired,
}

/// The token for `contact_id`, valid until `expires_at_ms` (rounded up to the minute).
pub fn issue(key: &LinkKey, contact_id: i64, expires_at_ms: i64) -> String {
    let minute = u32::try_from((expires_at_ms.max(0) as u64).div_ceil(60_000)).unwrap_or(u32::MAX);
    let mut bytes = Vec::with_capacity(TOKEN_BYTES);
    bytes.extend_from_slice(&contact_id.to_be_bytes());
    bytes.extend_from_slice(&minute.to_be_bytes());
    bytes.extend_from_slice(&key.hmac(contact_id, minute).finalize().into_bytes()[..MAC_BYTES]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What `token` binds at `now_ms`, if it is genuine and has not expired. Whether it was used
/// already is the store's to say.
pub fn open(key: &LinkKey, token: &str, now_ms: i64) -> Result<LinkClaim, LinkRefusal> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| LinkRefusal::Invalid)?;
    if bytes.len() != TOKEN_BYTES {
        return Err(LinkRefusal::Invalid);
    }
    let (id, rest) = bytes.split_at(8);
    let (minute, mac) = rest.split_at(4);
    let contact_id = i64::from_be_bytes(id.try_into().map_err(|_| LinkRefusal::Invalid)?);
    let minute = u32::from_be_bytes(minute.try_into().map_err(|_| LinkRefusal::Invalid)?);
    // In constant time: the MAC is the secret part.
    key.hmac(contact_id, minute)
        .verify_truncated_left(mac)
        .map_err(|_| LinkRefusal::Invalid)?;
    let expires_at_ms = i64::from(minute) * 60_000;
    if now_ms >= expires_at_ms {
        return Err(LinkRefusal::Expired);
    }
    Ok(LinkClaim {
        contact_id,
        expires_at_ms,
        mac: hex::encode(mac),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    fn key() -> LinkKey {
        LinkKey::new([7; 32])
    }

    #[test]
    fn a_token_binds_its_contact_until_it_expires_and_fits_telegrams_start_parameter() {
        let token = issue(&key(), 4711, NOW + 14 * 86_400_000);
        assert_eq!(token.len(), 32);
        assert!(token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        let claim = open(&key(), &token, NOW).expect("genuine");
        assert_eq!(claim.contact_id, 4711);
        assert_eq!(claim.mac.len(), MAC_BYTES * 2);
        assert_eq!(
            open(&key(), &token, NOW + 15 * 86_400_000),
            Err(LinkRefusal::Expired)
        );
    }

    #[test]
    fn a_token_for_another_contact_another_expiry_or_another_key_is_invalid() {
        let token = issue(&key(), 4711, NOW + 86_400_000);
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
        bytes[7] ^= 1;
        let other_contact = URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(open(&key(), &other_contact, NOW), Err(LinkRefusal::Invalid));
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
        bytes[11] ^= 1;
        let later = URL_SAFE_NO_PAD.encode(&bytes);
        assert_eq!(open(&key(), &later, NOW), Err(LinkRefusal::Invalid));
        assert_eq!(
            open(&LinkKey::new([8; 32]), &token, NOW),
            Err(LinkRefusal::Invalid)
        );
        for junk in ["", "hello", "../../etc/passwd", &token[..31]] {
            assert_eq!(open(&key(), junk, NOW), Err(LinkRefusal::Invalid), "{junk}");
        }
    }
}
