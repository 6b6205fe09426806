//! A rendered Telegram message (HTML parse mode) longer than Telegram takes, cut into parts
//! sent one after the other to the same chat.
//!
//! Telegram refuses a text over 4096 characters — UTF-16 code units of what the recipient
//! reads, once tags are removed and entities decoded — with `400 Bad Request: message is too
//! long`. A GP's message listing many affected patients can be that long. A part ends only
//! where no tag is open and never inside a tag or an entity (`&amp;`), so that each part is
//! HTML Telegram parses on its own: after a blank line (a paragraph) when that keeps at least
//! half a part, else after a line, else (a single line longer than a part) after a space, and
//! only when a line has no space either, between two characters. The white space at a cut
//! belongs to neither part (Telegram trims a message's ends anyway). Should a tag's own text
//! be longer than a part, the part holding it is left whole: Telegram refuses it, and the
//! refusal names the problem.

use super::{chat_key, mask, mask_chat, Handover, TelegramChannel, Verdict};
use std::ops::Range;
use std::time::Duration;

/// The longest text Telegram takes in one message, in UTF-16 code units as read.
pub const MAX_TEXT: usize = 4096;

/// `html` in order, as parts each within `max` units as the recipient reads them; one part,
/// `html` itself, when it fits; none when it is blank. Each part is a slice of `html`;
/// between two parts, and around them, lies white space only.
pub fn split(html: &str, max: usize) -> Vec<&str> {
    cuts(html, max)
        .into_iter()
        .map(|range| &html[range])
        .collect()
}

/// How often a later part is tried within the send.
const PART_ATTEMPTS: u32 = 3;

/// The longest a later part waits within the send for its chat (a 429's `retry_after`):
/// longer, and it is named undelivered instead.
const PART_WAIT_MAX: Duration = Duration::from_secs(30);

impl TelegramChannel {
    /// The parts after the first, once Telegram accepted the first (`gateway_id`).
    ///
    /// The delivery is sent from then on: the recipient has the headline and the reference,
    /// and the first part's id is its gateway id. Its handover is recorded before the rest
    /// goes, so that a crash meanwhile leaves it `uncertain`, never sent again from the
    /// start. Each later part keeps the chat's interval and the overall rate like any
    /// message, and is tried up to [`PART_ATTEMPTS`] times on a wait or an outage; a part
    /// that does not go stops the rest (they would arrive out of order), and the returned
    /// detail (`sent`, which starts it) names what did not arrive.
    pub(super) async fn later_parts(
        &self,
        addressed: &super::Recipient,
        later: &[&str],
        gateway_id: &str,
        sent: String,
        handover: &mut dyn Handover,
    ) -> String {
        let total = later.len() + 1;
        if !handover.commit(gateway_id, Box::new(|| {})).await {
            return format!(
                "{sent}: part 1 of {total} only; parts 2–{total} not sent, the send was halted"
            );
        }
        for (index, part) in later.iter().enumerate() {
            let number = index + 2;
            if let Err(reason) = self.later_part(addressed, part, &mut *handover).await {
                tracing::warn!(
                    message = "a long Telegram message arrived in part only",
                    chat = %mask_chat(addressed),
                    parts = total,
                    delivered = number - 1,
                    reason = %reason
                );
                let arrived = match number - 1 {
                    1 => "part 1".to_string(),
                    last => format!("parts 1–{last}"),
                };
                let missing = if number == total {
                    format!("part {total}")
                } else {
                    format!("parts {number}–{total}")
                };
                return format!("{sent}: {arrived} of {total}; {missing} not delivered: {reason}");
            }
        }
        format!("{sent}, in {total} messages")
    }

    async fn later_part(
        &self,
        addressed: &super::Recipient,
        text: &str,
        handover: &mut dyn Handover,
    ) -> Result<(), String> {
        let mut last = String::new();
        for attempt in 1..=PART_ATTEMPTS {
            let (chat, verdict) = self.send_to(addressed, text, None).await;
            let pause = match verdict {
                Verdict::Sent { .. } => return Ok(()),
                Verdict::Wait { after, reason } if after <= PART_WAIT_MAX => {
                    last = reason;
                    after
                }
                Verdict::Unavailable(reason) => {
                    last = reason;
                    Duration::from_secs(u64::from(attempt))
                }
                Verdict::Migrated { to } => {
                    // Between two parts: followed as for a first part.
                    {
                        let mut migrated = self.migrated.lock().unwrap_or_else(|e| e.into_inner());
                        migrated.insert(chat_key(addressed), to);
                        migrated.insert(chat_key(&chat), to);
                    }
                    let why = format!(
                        "Telegram: chat {chat} was upgraded to supergroup {to} \
                         (migrate_to_chat_id)"
                    );
                    handover.readdressed(&to.to_string(), &why).await;
                    last = format!("the chat moved to {}", mask(&to.to_string()));
                    Duration::ZERO
                }
                Verdict::Wait { reason, .. }
                | Verdict::Rejected(reason)
                | Verdict::Misconfigured(reason) => return Err(reason),
            };
            if attempt < PART_ATTEMPTS {
                tokio::time::sleep(pause).await;
            }
        }
        Err(last)
    }
}

/// Where a part may end, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cut {
    Paragraph,
    Line,
    Word,
    Character,
}

/// A place between two characters where no tag is open, and how many units precede it.
#[derive(Debug, Clone, Copy)]
struct Place {
    at: usize,
    units: usize,
    cut: Cut,
}

fn is_gap(c: char) -> bool {
    matches!(c, ' ' | '\n' | '\t' | '\r')
}

/// The byte ranges of the parts of `html`.
fn cuts(html: &str, max: usize) -> Vec<Range<usize>> {
    let whole = trimmed(html, 0..html.len());
    if whole.is_empty() {
        return vec![];
    }
    // A unit takes at least one byte: a text this short fits whatever it holds, and goes as
    // it is.
    let as_it_is = 0..html.len();
    if html.len() <= max {
        return vec![as_it_is];
    }
    let (places, total) = places(html);
    if total <= max {
        return vec![as_it_is];
    }
    let mut parts = Vec::new();
    let mut start = whole.start;
    // `places` is in order; `next` is the first place after `start`.
    let mut next = 0;
    let units_at = |at: usize, places: &[Place]| -> usize {
        places
            .binary_search_by_key(&at, |place| place.at)
            .map_or(0, |i| places[i].units)
    };
    loop {
        while next < places.len() && places[next].at <= start {
            next += 1;
        }
        let from = units_at(start, &places);
        if total - from <= max {
            let rest = trimmed(html, start..html.len());
            if !rest.is_empty() {
                parts.push(rest);
            }
            return parts;
        }
        let within = places[next..]
            .iter()
            .take_while(|place| place.units - from <= max)
            .copied()
            .collect::<Vec<_>>();
        let best = |kind: Cut, least: usize| {
            within
                .iter()
                .rev()
                .find(|place| place.cut <= kind && place.units - from >= least)
                .copied()
        };
        let end = best(Cut::Paragraph, max / 2)
            .or_else(|| best(Cut::Line, 1))
            .or_else(|| best(Cut::Word, 1))
            .or_else(|| best(Cut::Character, 1))
            // A tag's text alone is longer than a part: the part goes whole (see the top).
            .or_else(|| places.get(next + within.len()).copied());
        let Some(end) = end else {
            parts.push(trimmed(html, start..html.len()));
            return parts;
        };
        let part = trimmed(html, start..end.at);
        if !part.is_empty() {
            parts.push(part);
        }
        start = end.at;
        while let Some(c) = html[start..].chars().next().filter(|c| is_gap(*c)) {
            start += c.len_utf8();
        }
        if start >= html.len() {
            return parts;
        }
    }
}

/// `range` of `html` without the white space at its ends.
fn trimmed(html: &str, range: Range<usize>) -> Range<usize> {
    let text = &html[range.clone()];
    let start = range.start + (text.len() - text.trim_start_matches(is_gap).len());
    let end = range.start + text.trim_end_matches(is_gap).len();
    start..end.max(start)
}

/// Every place outside tags and entities where no tag is open, with the units before it,
/// and the units of the whole text.
fn places(html: &str) -> (Vec<Place>, usize) {
    let mut places = Vec::new();
    let mut units = 0;
    let mut depth = 0usize;
    let mut at = 0;
    let mut previous = None;
    while at < html.len() {
        let rest = &html[at..];
        let Some(c) = rest.chars().next() else { break };
        let used = if c == '<' {
            let end = rest.find('>').map_or(rest.len(), |end| end + 1);
            let tag = &rest[..end];
            if tag.starts_with("</") {
                depth = depth.saturating_sub(1);
            } else if !tag.ends_with("/>") {
                depth += 1;
            }
            previous = None;
            end
        } else if c == '&' {
            let (decoded, used) = entity(rest);
            units += decoded;
            previous = None;
            used
        } else {
            units += c.len_utf16();
            c.len_utf8()
        };
        at += used;
        if depth == 0 && at < html.len() {
            let cut = match (previous, c) {
                (Some('\n'), '\n') => Cut::Paragraph,
                (_, '\n') => Cut::Line,
                (_, c) if is_gap(c) => Cut::Word,
                _ => Cut::Character,
            };
            places.push(Place { at, units, cut });
        }
        if c != '<' && c != '&' {
            previous = Some(c);
        }
    }
    (places, units)
}

/// The units an entity at the start of `text` stands for, and its length in bytes; a `&`
/// that starts none is read as itself.
fn entity(text: &str) -> (usize, usize) {
    let Some(end) = text.find(';').filter(|end| *end <= 12) else {
        return (1, 1);
    };
    let name = &text[1..end];
    let number = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
        u32::from_str_radix(hex, 16).ok()
    } else {
        name.strip_prefix('#')
            .and_then(|digits| digits.parse().ok())
    };
    let units = number.and_then(char::from_u32).map_or(1, |c| c.len_utf16());
    (units, end + 1)
}

/// The units of `html` as the recipient reads it.
#[cfg(test)]
fn units(html: &str) -> usize {
    places(html).1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GP's message as the template writes it: a title, the body, and a line per patient.
    fn gp_message(patients: usize) -> String {
        let mut html = String::from(
            "<b>Cyberaanval – patiënten &amp; huisartsen</b>\n\nBeste collega,\n\nAlle geplande \
             operaties gaan niet door.\n\n<b>Deze patiënten van u zijn getroffen:</b>\n",
        );
        for n in 0..patients {
            html.push_str(&format!(
                "• Patiënt{n} Peeters-D&#39;Hondt (°17/05/1960) — dinsdag 13 januari om 9.30 uur, \
                 <i>Cardiologie &amp; Vaatziekten</i>, campus Deurne 🏥\n"
            ));
        }
        html.push_str(
            "\n<i>Crisiscel ZNA</i>\n\nReferentie: ZNA-2026-0001\nControleer: <a \
             href=\"https://pers.zna.be/check?ref=ZNA-2026-0001&amp;x=1\">https://pers.zna.be/\
             check</a>\n",
        );
        html
    }

    /// Every part's tags are balanced and whole, and no entity is cut.
    fn well_formed(part: &str) {
        let mut depth = 0i32;
        let mut rest = part;
        while let Some(at) = rest.find(['<', '>', '&']) {
            match rest.as_bytes()[at] {
                b'<' => {
                    let end = rest[at..].find('>').expect("a tag is whole");
                    let tag = &rest[at..at + end + 1];
                    depth += if tag.starts_with("</") { -1 } else { 1 };
                    assert!(
                        depth >= 0,
                        "a tag closed that this part did not open: {part}"
                    );
                    rest = &rest[at + end + 1..];
                }
                b'>' => panic!("a tag cut in two: {part}"),
                _ => {
                    let end = rest[at..].find(';').expect("an entity is whole");
                    assert!(end <= 12, "an entity cut in two: {part}");
                    rest = &rest[at + end + 1..];
                }
            }
        }
        assert_eq!(depth, 0, "every tag closed within its part: {part}");
    }

    /// The parts lie in order in `html`, with only white space between them and around.
    fn in_order_and_whole(html: &str, parts: &[&str]) {
        let mut at = 0;
        for part in parts {
            let start = part.as_ptr() as usize - html.as_ptr() as usize;
            assert!(start >= at, "parts in order");
            assert!(
                html[at..start].chars().all(is_gap),
                "only white space left out"
            );
            at = start + part.len();
        }
        assert!(html[at..].chars().all(is_gap));
        let joined: String = parts.concat();
        let strip = |text: &str| text.chars().filter(|c| !is_gap(*c)).collect::<String>();
        assert_eq!(strip(&joined), strip(html), "nothing lost, nothing added");
    }

    #[test]
    fn a_message_that_fits_is_one_part_and_an_empty_one_none() {
        let html = gp_message(3);
        assert_eq!(split(&html, MAX_TEXT), vec![html.as_str()], "as it is");
        assert!(split(" \n", MAX_TEXT).is_empty());
    }

    #[test]
    fn a_long_gp_message_is_cut_between_lines_each_part_within_the_limit_and_well_formed() {
        for patients in [40, 120, 400] {
            let html = gp_message(patients);
            let parts = split(&html, MAX_TEXT);
            assert!(units(&html) > MAX_TEXT);
            assert!(
                parts.len() >= 2,
                "{patients} patients: {} parts",
                parts.len()
            );
            for part in &parts {
                assert!(units(part) <= MAX_TEXT, "{} units", units(part));
                well_formed(part);
                assert!(part.ends_with("🏥") || part.ends_with("</a>") || part.ends_with("</b>"));
            }
            in_order_and_whole(&html, &parts);
            // Full parts: but at a paragraph, a part ends only where its next line would not fit.
            for pair in parts.windows(2) {
                let start = pair[1].as_ptr() as usize - html.as_ptr() as usize;
                let end = pair[0].as_ptr() as usize - html.as_ptr() as usize + pair[0].len();
                if html[end..start].contains("\n\n") {
                    continue;
                }
                let next_line = pair[1].lines().next().map_or(0, units);
                assert!(units(pair[0]) + 1 + next_line > MAX_TEXT);
            }
        }
    }

    #[test]
    fn the_limit_is_what_the_recipient_reads_in_utf16_units_not_bytes() {
        // 🏥 is two UTF-16 units and four bytes; `&amp;` one unit and five bytes; tags none.
        let line = "<b>🏥</b> &amp;\n";
        assert_eq!(units(line), 5);
        let html = line.repeat(10);
        let parts = split(&html, 10);
        assert_eq!(parts.len(), 5, "{parts:?}");
        for part in &parts {
            assert_eq!(*part, "<b>🏥</b> &amp;\n<b>🏥</b> &amp;");
            assert_eq!(units(part), 9);
        }
    }

    #[test]
    fn a_paragraph_break_is_preferred_while_it_keeps_half_a_part() {
        let html = "aaaa aaaa\n\nbbbb\ncccc\ndddd";
        assert_eq!(split(html, 20), vec!["aaaa aaaa", "bbbb\ncccc\ndddd"]);
        assert_eq!(split(html, 24), vec!["aaaa aaaa\n\nbbbb\ncccc", "dddd"]);
    }

    #[test]
    fn a_line_longer_than_a_part_is_cut_at_a_space_outside_tags_then_anywhere_outside_them() {
        let html = "een <a href=\"https://x.be/a b\">twee drie</a> vier &amp; vijf zes";
        let parts = split(html, 12);
        for part in &parts {
            well_formed(part);
            assert!(units(part) <= 12, "{part}");
        }
        in_order_and_whole(html, &parts);
        assert_eq!(
            parts,
            vec![
                "een",
                "<a href=\"https://x.be/a b\">twee drie</a>",
                "vier &amp; vijf",
                "zes"
            ]
        );
        let word = "x".repeat(25);
        assert_eq!(
            split(&word, 10),
            vec![&word[..10], &word[10..20], &word[20..]]
        );
    }

    #[test]
    fn a_tags_text_longer_than_a_part_is_left_whole_for_telegram_to_refuse() {
        let html = format!("kort\n<b>{}</b>\nnog", "y".repeat(30));
        let parts = split(&html, 10);
        assert_eq!(parts, vec!["kort", &html[5..html.len() - 4], "nog"]);
    }
}
