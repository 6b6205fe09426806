//! The MIME message: text and HTML parts, the reader's language, and text sent as it is where
//! the server takes 8-bit.

use crate::channels::Message;
use lettre::message::header::{
    ContentTransferEncoding, ContentType, Header, HeaderName, HeaderValue,
};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::Address;

/// `Content-Language`: lets mail clients pick spelling and speech for the reader.
#[derive(Debug, Clone)]
struct ContentLanguage(String);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ContentLanguage(s.to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// A message as it travels.
pub struct BuiltMail {
    pub bytes: Vec<u8>,
    pub from: Address,
    pub to: Address,
    pub message_id: String,
    /// Holds 8-bit text: sent with `BODY=8BITMIME`.
    pub eight_bit: bool,
}

/// Builds the MIME message of a delivery. The Message-ID derives from the delivery, so a
/// message sent again is recognisably the same message to the reader's mail client.
#[derive(Debug, Clone)]
pub struct MailBuilder {
    pub(super) from: Mailbox,
    reply_to: Option<Mailbox>,
    message_id_domain: String,
}

impl MailBuilder {
    pub fn new(
        from: &str,
        reply_to: Option<&str>,
        message_id_domain: &str,
    ) -> Result<MailBuilder, String> {
        let parse = |raw: &str| {
            raw.parse::<Mailbox>()
                .map_err(|error| format!("{raw:?} is not a valid sender: {error}"))
        };
        Ok(MailBuilder {
            from: parse(from)?,
            reply_to: reply_to.map(parse).transpose()?,
            message_id_domain: message_id_domain.to_string(),
        })
    }

    /// `eight_bit`: the server takes 8-bit text (`8BITMIME`), so the parts need no
    /// quoted-printable (a part with a line over 998 bytes gets it all the same).
    /// `BODY=8BITMIME` goes with the message only if it holds 8-bit text.
    pub fn build(&self, message: &Message, eight_bit: bool) -> Result<BuiltMail, String> {
        let to: Address = message
            .address
            .parse()
            .map_err(|error| format!("{}: {error}", crate::channels::mask(&message.address)))?;
        let message_id = format!(
            "<tocsin.{}.{}@{}>",
            message.update_id, message.delivery_id, self.message_id_domain
        );
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to.clone()))
            .subject(message.content.subject.clone().unwrap_or_default())
            .message_id(Some(message_id.clone()))
            .header(ContentLanguage(message.language.tag().to_string()));
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let body =
            |text: &str| unencoded(text, eight_bit).unwrap_or_else(|| Body::new(text.to_string()));
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(body(&message.content.body));
        let email = match &message.content.body_html {
            Some(html) => builder.multipart(
                MultiPart::alternative().singlepart(text).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(body(html)),
                ),
            ),
            None => builder.singlepart(text),
        }
        .map_err(|error| error.to_string())?;
        let bytes = email.formatted();
        Ok(BuiltMail {
            eight_bit: !bytes.is_ascii(),
            bytes,
            from: self.from.email.clone(),
            to,
            message_id,
        })
    }
}

/// The longest line, CRLF excluded, that `7bit` and `8bit` may carry (RFC 5322 2.1.1).
const MAX_LINE: usize = 998;

/// The text as it is, without quoted-printable: `7bit` if it is ASCII, `8bit` if the server
/// takes it (`eight_bit`); None when a line is too long for either, or holds a NUL or a bare
/// CR. lettre's own check (`Body::new_with_encoding`) refuses any line of 76 characters or
/// more — quoted-printable's limit, not 8bit's — so every message whose text had one
/// paragraph of a normal length went quoted-printable to servers offering `8BITMIME`.
fn unencoded(text: &str, eight_bit: bool) -> Option<Body> {
    let encoding = if text.is_ascii() {
        ContentTransferEncoding::SevenBit
    } else if eight_bit {
        ContentTransferEncoding::EightBit
    } else {
        return None;
    };
    let mut crlf = String::with_capacity(text.len() + text.len() / 32);
    for (n, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.len() > MAX_LINE || line.contains(['\r', '\0']) {
            return None;
        }
        if n > 0 {
            crlf.push_str("\r\n");
        }
        crlf.push_str(line);
    }
    Some(Body::dangerous_pre_encoded(crlf.into_bytes(), encoding))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_goes_as_it_is_where_the_server_allows_it() {
        let long = format!(
            "Votre rendez-vous du mardi 13 janvier 2026 à 09h30 {}",
            "é".repeat(60)
        );
        let body = unencoded(&format!("Madame,\n{long}\n"), true).expect("8bit");
        assert_eq!(body.encoding(), ContentTransferEncoding::EightBit);
        assert_eq!(
            String::from_utf8(body.into_vec()).expect("UTF-8"),
            format!("Madame,\r\n{long}\r\n")
        );
        let ascii = unencoded(&"a".repeat(200), false).expect("7bit");
        assert_eq!(ascii.encoding(), ContentTransferEncoding::SevenBit);
        assert!(unencoded(&long, false).is_none(), "no 8BITMIME: encoded");
        assert!(
            unencoded(&"é".repeat(500), true).is_none(),
            "a line over 998 bytes"
        );
        assert!(unencoded("a\rb", true).is_none(), "a bare CR");
    }
}
