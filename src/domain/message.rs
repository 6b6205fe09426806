/// What one contact receives on one channel, as rendered: carried unchanged from the
/// renderer through the stored delivery to the channel that sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderedMessage {
    /// The e-mail's subject.
    pub subject: Option<String>,
    /// Plain text: the SMS, the e-mail's text part, or Telegram's HTML.
    pub body: String,
    /// The e-mail's HTML part.
    pub body_html: Option<String>,
}
