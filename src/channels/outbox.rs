//! The file outbox: one file per message, for every channel. It is the default, so nothing
//! needs credentials to run, and the demo's output can be read with any text editor.
//!
//! A file is written under a temporary name and renamed into place, and its name is the
//! delivery id: a message sent again after a crash replaces its own file, never adds one.

use super::email::MailBuilder;
use super::sms::gsm;
use super::{Channel, Handover, Message, Outcome};
use crate::domain::ChannelKind;
use async_trait::async_trait;
use std::path::PathBuf;

pub struct Outbox {
    dir: PathBuf,
    kind: ChannelKind,
    mail: Option<MailBuilder>,
}

impl Outbox {
    /// `mail` formats e-mails as they would travel; SMS and Telegram files are JSON.
    pub fn new(
        dir: PathBuf,
        kind: ChannelKind,
        mail: Option<MailBuilder>,
    ) -> std::io::Result<Outbox> {
        std::fs::create_dir_all(&dir)?;
        Ok(Outbox { dir, kind, mail })
    }

    fn content(&self, message: &Message) -> Result<(String, Vec<u8>, String), String> {
        match (self.kind, &self.mail) {
            (ChannelKind::Email, Some(mail)) => {
                let built = mail.build(message, false)?;
                Ok(("eml".into(), built.bytes, built.message_id))
            }
            (ChannelKind::Email, None) => Err("the e-mail outbox has no sender configured".into()),
            (ChannelKind::Sms, _) => {
                let analysis = gsm::analyse(&message.content.body);
                let json = serde_json::json!({
                    "delivery_id": message.delivery_id,
                    "to": message.address,
                    "language": message.language,
                    "text": message.content.body,
                    "encoding": analysis.encoding.as_str(),
                    "segments": analysis.segments,
                });
                Ok(("json".into(), json_bytes(&json)?, String::new()))
            }
            (ChannelKind::Telegram, _) => {
                let json = serde_json::json!({
                    "delivery_id": message.delivery_id,
                    "chat_id": message.address,
                    "language": message.language,
                    "text": message.content.body,
                    "parse_mode": "HTML",
                });
                Ok(("json".into(), json_bytes(&json)?, String::new()))
            }
        }
    }
}

fn json_bytes(value: &serde_json::Value) -> Result<Vec<u8>, String> {
    serde_json::to_vec_pretty(value).map_err(|error| error.to_string())
}

#[async_trait]
impl Channel for Outbox {
    async fn send(&self, message: &Message, _handover: &mut dyn Handover) -> Outcome {
        let (extension, bytes, message_id) = match self.content(message) {
            Ok(content) => content,
            Err(reason) => return Outcome::Rejected { reason },
        };
        let name = format!("{:08}.{extension}", message.delivery_id);
        let path = self.dir.join(&name);
        let temporary = self.dir.join(format!(".{name}.tmp"));
        let written = async {
            tokio::fs::write(&temporary, &bytes).await?;
            tokio::fs::rename(&temporary, &path).await
        };
        match written.await {
            Ok(()) => Outcome::Accepted {
                gateway_id: if message_id.is_empty() {
                    name
                } else {
                    message_id
                },
                detail: Some(format!("written to {}", path.display())),
            },
            Err(error) => Outcome::Unavailable {
                after: None,
                reason: format!("cannot write {}: {error}", path.display()),
            },
        }
    }
}
