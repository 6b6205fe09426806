//! What a server's refusal means, step by step, and whose problem it is.

use crate::channels::Outcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Greeting,
    Ehlo,
    StartTls,
    Auth,
    Mail,
    Rcpt,
    /// The `DATA` command itself, before the message.
    Data,
    /// The server's verdict on the message, after its final `.`.
    Message,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::Greeting => "the server's greeting",
            Step::Ehlo => "EHLO",
            Step::StartTls => "STARTTLS",
            Step::Auth => "authentication",
            Step::Mail => "MAIL FROM (our sender)",
            Step::Rcpt => "RCPT TO (the recipient)",
            Step::Data => "DATA",
            Step::Message => "the message",
        })
    }
}

/// Why a transaction stopped.
pub(super) enum Failure {
    /// The server answered no at this step; the connection is still good after a `RSET`.
    Refused(Step, lettre::transport::smtp::Error),
    /// The connection is not to be trusted any more; the message was not handed over.
    Broken(String),
    /// The message was handed over, and the connection failed before the server answered:
    /// it may have the message. Never sent again on this account.
    Unanswered(String),
    /// Our own record of the handover failed; the message was left unfinished.
    NotRecorded,
}

/// The server's answer, or why the connection is not to be trusted any more.
pub(super) fn refused_or_broken(step: Step) -> impl Fn(lettre::transport::smtp::Error) -> Failure {
    move |error| {
        if error.is_transient() || error.is_permanent() {
            Failure::Refused(step, error)
        } else {
            Failure::Broken(error.to_string())
        }
    }
}

/// The server's answer as it wrote it (`550 5.1.1 …`), or what went wrong if it gave none.
pub(super) fn answer(error: &lettre::transport::smtp::Error) -> String {
    match (error.status(), std::error::Error::source(error)) {
        (Some(code), Some(text)) => format!("{code} {text}"),
        (Some(code), None) => code.to_string(),
        (None, _) => error.to_string(),
    }
}

/// Whose problem the server's refusal at `step` is. `code` is its reply code, `text` the rest
/// of its answer (with the enhanced status code, RFC 3463, if it gives one).
pub(super) fn verdict(step: Step, code: u16, text: &str, reason: String) -> Outcome {
    let permanent = (500..600).contains(&code);
    let enhanced = text.split_whitespace().next().and_then(|first| {
        let mut parts = first.split('.');
        let class = parts.next()?;
        let subject = parts.next()?;
        (parts.next().is_some() && (class == "5" || class == "4")).then_some(subject)
    });
    let misconfigured = Outcome::Misconfigured {
        reason: reason.clone(),
    };
    let unavailable = Outcome::Unavailable {
        after: None,
        reason: reason.clone(),
    };
    // 421: the server is closing the connection, whatever we said (RFC 5321 3.8). After
    // the message it is still an answer about the message: not taken, this message later.
    if code == 421 && step != Step::Message {
        return unavailable;
    }
    match step {
        // Before any recipient is named, a refusal is about us: the session, the TLS or
        // the account we use, or our sender (a 5xx to MAIL names no recipient). The same
        // answer would come for every message, until a person fixes the configuration.
        Step::Greeting | Step::Ehlo | Step::StartTls | Step::Auth | Step::Mail | Step::Data
            if permanent =>
        {
            misconfigured
        }
        Step::Greeting | Step::Ehlo | Step::StartTls | Step::Auth | Step::Mail => unavailable,
        // 530: authentication required (RFC 4954); "Relay access denied" (5.7.1): the
        // server will not relay for us. Both would refuse every recipient alike.
        Step::Rcpt
            if code == 530
                || (enhanced == Some("7") && text.to_ascii_lowercase().contains("relay")) =>
        {
            misconfigured
        }
        Step::Rcpt if permanent => Outcome::Rejected { reason },
        // After the data, the recipient has already been accepted: a 5xx is about the
        // recipient's mailbox only when the server says so (X.1.x addressing, X.2.x
        // mailbox: unknown, disabled, full); otherwise it is about the message or its
        // sender (size, content, policy: spam, DMARC), which every recipient of this update
        // would meet — our problem, not a fact about this recipient.
        Step::Message if permanent && matches!(enhanced, Some("1" | "2")) => {
            Outcome::Rejected { reason }
        }
        Step::Message if permanent => misconfigured,
        Step::Rcpt | Step::Data | Step::Message => Outcome::RetryLater {
            after: None,
            reason,
        },
    }
}

/// The outcome of a server's refusal, its reason scrubbed of addresses.
pub(super) fn refusal(step: Step, error: &lettre::transport::smtp::Error) -> Outcome {
    let answer = answer(error);
    let code = error
        .status()
        .and_then(|code| code.to_string().parse().ok())
        .unwrap_or(0);
    let text = answer.split_once(' ').map_or("", |(_, text)| text);
    let reason = scrub(&format!("{step} refused: {answer}"));
    verdict(step, code, text, reason)
}

/// The session could not be opened for another reason than an answer: TLS, or a mechanism
/// the server lacks, is our configuration; a lost connection, the server's state now.
pub(super) fn not_opened(step: Step, error: &lettre::transport::smtp::Error) -> Outcome {
    if error.is_transient() || error.is_permanent() {
        return refusal(step, error);
    }
    let reason = scrub(&format!("{step}: {error}"));
    if error.is_tls() || error.is_client() {
        Outcome::Misconfigured { reason }
    } else {
        Outcome::Unavailable {
            after: None,
            reason,
        }
    }
}

/// Every e-mail address in `text` masked (`a***@example.be`): servers quote the recipient,
/// and sometimes our sender, in their answers, and reasons go to logs and to the record.
pub(crate) fn scrub(text: &str) -> String {
    let local = |c: char| c.is_alphanumeric() || ".!#$%&'*+/=?^_`{|}~-".contains(c);
    let domain = |c: char| c.is_alphanumeric() || c == '.' || c == '-';
    let chars: Vec<char> = text.chars().collect();
    let mut scrubbed = String::with_capacity(text.len());
    let mut n = 0;
    while n < chars.len() {
        if chars[n] != '@' {
            scrubbed.push(chars[n]);
            n += 1;
            continue;
        }
        let mut start = scrubbed.len();
        for (at, c) in scrubbed.char_indices().rev() {
            if !local(c) {
                break;
            }
            start = at;
        }
        let mut end = n + 1;
        while end < chars.len() && domain(chars[end]) {
            end += 1;
        }
        // A sentence may end right after the address.
        while end > n + 1 && matches!(chars[end - 1], '.' | '-') {
            end -= 1;
        }
        if start == scrubbed.len() || end == n + 1 {
            scrubbed.push('@');
            n += 1;
            continue;
        }
        let address: String = scrubbed[start..]
            .chars()
            .chain(chars[n..end].iter().copied())
            .collect();
        scrubbed.truncate(start);
        scrubbed.push_str(&crate::channels::mask(&address));
        n = end;
    }
    scrubbed
}

/// The keywords of the server's last answer in `opening` (its answer to `EHLO`, after its
/// greeting), upper-cased: each line of a `250` reply after the first, first word.
pub(super) fn ehlo_keywords(opening: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(opening);
    let mut replies: Vec<Vec<&str>> = Vec::new();
    let mut reply = Vec::new();
    for line in text.lines() {
        reply.push(line);
        // `250-…` continues a reply, `250 …` ends it.
        if line.as_bytes().get(3) != Some(&b'-') {
            replies.push(std::mem::take(&mut reply));
        }
    }
    let Some(last) = replies.last().filter(|last| last[0].starts_with("250")) else {
        return Vec::new();
    };
    last.iter()
        .skip(1)
        .filter_map(|line| line.get(4..)?.split_whitespace().next())
        .map(str::to_ascii_uppercase)
        .collect()
}

/// How many whole replies the server gave in `opening`: one means it refused at its
/// greeting, two at `EHLO`.
pub(super) fn replies(opening: &[u8]) -> usize {
    String::from_utf8_lossy(opening)
        .lines()
        .filter(|line| line.as_bytes().get(3) != Some(&b'-'))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_capability_is_read_from_the_one_ehlo_answer() {
        let opening = b"220 vm ESMTP OpenSMTPD\r\n\
            250-vm Hello [127.0.0.1] [127.0.0.1], pleased to meet you\r\n\
            250-8BITMIME\r\n250-pipelining\r\n250-SIZE 36700160\r\n250 HELP\r\n";
        assert_eq!(
            ehlo_keywords(opening),
            ["8BITMIME", "PIPELINING", "SIZE", "HELP"]
        );
        assert_eq!(replies(opening), 2);
        let refused = b"220-relay.example.be ESMTP\r\n220 welcome\r\n550 5.7.1 Go away\r\n";
        assert!(ehlo_keywords(refused).is_empty());
        assert_eq!(replies(refused), 2);
        assert_eq!(replies(b"554 5.7.1 No SMTP service here\r\n"), 1);
    }

    #[test]
    fn addresses_in_a_servers_answer_are_masked() {
        assert_eq!(
            scrub("550 5.1.1 <anne.dumont+203@example.be>: Recipient address rejected"),
            "550 5.1.1 <a***@example.be>: Recipient address rejected"
        );
        assert_eq!(
            scrub("mailbox Bert.Peeters@Zna.Example.BE. is full, ask postmaster@zna.be"),
            "mailbox B***@Zna.Example.BE. is full, ask p***@zna.be"
        );
        assert_eq!(
            scrub("550 Invalid recipient: <jean-marc.o'brien@example.be>"),
            "550 Invalid recipient: <j***@example.be>"
        );
        assert_eq!(
            scrub("4.3.0 queue @ 80%, @home"),
            "4.3.0 queue @ 80%, @home"
        );
    }

    fn judged(step: Step, code: u16, text: &str) -> &'static str {
        match verdict(step, code, text, String::new()) {
            Outcome::Accepted { .. } => "accepted",
            Outcome::RetryLater { .. } => "retry later",
            Outcome::Unavailable { .. } => "unavailable",
            Outcome::Misconfigured { .. } => "misconfigured",
            Outcome::Rejected { .. } => "rejected",
        }
    }

    #[test]
    fn a_refusal_is_judged_by_whose_problem_it_is() {
        let cases = [
            (
                Step::Greeting,
                554,
                "5.7.1 No SMTP service here",
                "misconfigured",
            ),
            (Step::Greeting, 421, "4.3.2 Too busy", "unavailable"),
            (
                Step::Ehlo,
                550,
                "5.7.1 Client host rejected",
                "misconfigured",
            ),
            (
                Step::StartTls,
                454,
                "4.7.0 TLS not available",
                "unavailable",
            ),
            (
                Step::Auth,
                535,
                "5.7.8 Authentication credentials invalid",
                "misconfigured",
            ),
            (
                Step::Auth,
                454,
                "4.7.0 Temporary authentication failure",
                "unavailable",
            ),
            (
                Step::Mail,
                553,
                "5.7.1 Sender address rejected: not owned by user",
                "misconfigured",
            ),
            (
                Step::Mail,
                452,
                "4.5.3 Too many messages sent",
                "unavailable",
            ),
            (Step::Rcpt, 550, "5.1.1 User unknown", "rejected"),
            (Step::Rcpt, 450, "4.2.1 Mailbox busy", "retry later"),
            (Step::Rcpt, 421, "4.4.2 Timeout, closing", "unavailable"),
            (
                Step::Rcpt,
                530,
                "5.7.0 Authentication required",
                "misconfigured",
            ),
            (
                Step::Rcpt,
                554,
                "5.7.1 <x@y.be>: Relay access denied",
                "misconfigured",
            ),
            (
                Step::Rcpt,
                554,
                "5.7.1 <x@y.be>: Recipient address rejected: Access denied",
                "rejected",
            ),
            (
                Step::Data,
                554,
                "5.5.1 Error: no valid recipients",
                "misconfigured",
            ),
            (
                Step::Message,
                451,
                "4.3.0 Temporary failure, try again later",
                "retry later",
            ),
            (Step::Message, 421, "4.3.0 Temporary Error", "retry later"),
            (Step::Message, 552, "5.2.2 Mailbox full", "rejected"),
            (Step::Message, 550, "5.1.1 Mailbox unavailable", "rejected"),
            (
                Step::Message,
                554,
                "5.7.1 Message rejected as spam",
                "misconfigured",
            ),
            (Step::Message, 552, "5.3.4 Message too big", "misconfigured"),
            (Step::Message, 550, "Rejected", "misconfigured"),
        ];
        for (step, code, text, expected) in cases {
            assert_eq!(judged(step, code, text), expected, "{step:?} {code} {text}");
        }
    }
}
