//! SMS shaping: which encoding a text needs, what it costs in parts, how a
//! phone receives it split, and how to bring it back to GSM-7 when possible.
//!
//! One character outside the GSM 03.38 tables turns the whole message into
//! UCS-2, which cuts its capacity from 160 to 70 — so a single curly quote
//! can double or triple the price of a message.

/// How an SMS text travels: GSM 03.38 7-bit default alphabet, or UCS-2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        }
    }

    /// Kannel's `coding` value (0 = 7-bit, 2 = UCS-2); the gateway derives
    /// the on-air data coding scheme from it.
    pub fn dcs(self) -> u8 {
        match self {
            Encoding::Gsm7 => 0,
            Encoding::Ucs2 => 2,
        }
    }

    /// (single message, part of a concatenated message): the 6-octet
    /// concatenation header eats 7 septets or 3 UTF-16 units of each part.
    fn capacity(self) -> (usize, usize) {
        match self {
            Encoding::Gsm7 => (160, 153),
            Encoding::Ucs2 => (70, 67),
        }
    }

    fn cost(self, c: char) -> usize {
        match self {
            // Only chosen when every character is in the tables, so the
            // fallback is never reached.
            Encoding::Gsm7 => gsm_septets(c).unwrap_or(1),
            Encoding::Ucs2 => c.len_utf16(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsAnalysis {
    pub encoding: Encoding,
    /// length in code units of the chosen encoding: septets for GSM-7 (extension chars count 2), UTF-16 units for UCS-2
    pub units: usize,
    /// number of SMS segments (1 if it fits one single message; 0 for the empty text)
    pub segments: usize,
    /// characters (distinct, in order of first appearance) that are in neither the GSM basic nor extension table, i.e. what forced UCS-2; empty for GSM-7
    pub non_gsm: Vec<char>,
}

/// GSM 03.38 default alphabet in code order (0x00..=0x7F). Kept as one
/// string so it can be checked against the standard at a glance.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1b}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                         ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// Reached through ESC (0x1B), hence two septets each: form feed ^ { } \ [ ~ ] | €.
const GSM_EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// ESC occupies slot 0x1B of the basic table but is a prefix, not text.
const ESC: char = '\u{1b}';

fn gsm_septets(c: char) -> Option<usize> {
    if c != ESC && GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| gsm_septets(c).is_some())
}

pub fn analyse(text: &str) -> SmsAnalysis {
    let mut non_gsm = Vec::new();
    for c in text.chars() {
        if gsm_septets(c).is_none() && !non_gsm.contains(&c) {
            non_gsm.push(c);
        }
    }
    let encoding = if non_gsm.is_empty() {
        Encoding::Gsm7
    } else {
        Encoding::Ucs2
    };
    SmsAnalysis {
        encoding,
        units: text.chars().map(|c| encoding.cost(c)).sum(),
        // Counted from the real split: an escape sequence or surrogate pair
        // pushed to the next part can cost one part more than units / 153.
        segments: split(text, encoding).len(),
        non_gsm,
    }
}

/// Splits the text into the segments a phone would receive (concatenated SMS with UDH): 160 septets single / 153 per part for GSM-7, 70 single / 67 per part UCS-2. Never splits an escape sequence (a 2-septet extension char stays whole in one part) or a UTF-16 surrogate pair. Returns the text of each part.
pub fn segments(text: &str) -> Vec<String> {
    let encoding = if is_gsm7(text) {
        Encoding::Gsm7
    } else {
        Encoding::Ucs2
    };
    split(text, encoding)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn split(text: &str, encoding: Encoding) -> Vec<&str> {
    let (single, part) = encoding.capacity();
    let total: usize = text.chars().map(|c| encoding.cost(c)).sum();
    if text.is_empty() {
        return Vec::new();
    }
    if total <= single {
        return vec![text];
    }
    let mut parts = Vec::new();
    let (mut start, mut used) = (0, 0);
    // Splitting on char boundaries keeps escape sequences and surrogate
    // pairs whole: a character that does not fit opens the next part.
    for (i, c) in text.char_indices() {
        let cost = encoding.cost(c);
        if used + cost > part {
            parts.push(&text[start..i]);
            start = i;
            used = 0;
        }
        used += cost;
    }
    parts.push(&text[start..]);
    parts
}

/// Proposes a GSM-7 version of the text: typographic quotes ‘ ’ ‚ ‛ “ ” „ ‟ « » → straight ' or ", dashes – — ‑ ‒ → -, ellipsis … → ..., non-breaking and other unicode spaces → space, and letters with diacritics that are not in GSM (ë ï ê ç â î ô û œ Œ ÿ á í ó ú ã õ and their capitals where not in the table, etc.) → the nearest GSM letter that keeps the word readable (ë→e, ï→i, ê→e, ç→c, œ→oe, Ê→E ...). Characters already in GSM (é è à ù ì ò ä ö ü ñ É Ç etc.) stay as they are. Returns None when no GSM-7 version exists (text keeps something unmappable like emoji or CJK after substitutions) and Some(text) otherwise (Some(same text) when already GSM).
pub fn gsm7_version(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if gsm_septets(c).is_some() {
            out.push(c);
        } else {
            out.push_str(fold(c, chars.peek().copied())?);
        }
    }
    Some(out)
}

/// GSM-7 stand-in for a character outside the tables. `next` decides the
/// case of capital ligatures: "Œuvre" reads as "Oeuvre", "ŒUVRE" as "OEUVRE".
fn fold(c: char, next: Option<char>) -> Option<&'static str> {
    let word_goes_on_lower = next.is_some_and(char::is_lowercase);
    let folded = match c {
        '‘' | '’' | '‚' | '‛' | '‹' | '›' | '′' | '`' | '´' => "'",
        '“' | '”' | '„' | '‟' | '«' | '»' | '″' => "\"",
        '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' => "-",
        '…' => "...",
        '\t'
        | '\u{a0}'
        | '\u{1680}'
        | '\u{2000}'..='\u{200a}'
        | '\u{202f}'
        | '\u{205f}'
        | '\u{3000}' => " ",
        // Invisible: a space here would change the text, keeping it would
        // force UCS-2 for nothing.
        '\u{ad}' | '\u{200b}' | '\u{2060}' | '\u{feff}' => "",
        'á' | 'â' | 'ã' | 'ā' | 'ă' | 'ą' => "a",
        'À' | 'Á' | 'Â' | 'Ã' | 'Ā' | 'Ă' | 'Ą' => "A",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "C",
        'ď' | 'đ' | 'ð' => "d",
        'Ď' | 'Đ' | 'Ð' => "D",
        'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'È' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' => "E",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "G",
        'ĥ' | 'ħ' => "h",
        'Ĥ' | 'Ħ' => "H",
        'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => "I",
        'ĳ' => "ij",
        // Dutch capitalises both letters: "IJsselmeer".
        'Ĳ' => "IJ",
        'ĵ' => "j",
        'Ĵ' => "J",
        'ķ' => "k",
        'Ķ' => "K",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' | 'Ł' => "L",
        'ń' | 'ņ' | 'ň' => "n",
        'Ń' | 'Ņ' | 'Ň' => "N",
        'ó' | 'ô' | 'õ' | 'ō' | 'ŏ' | 'ő' => "o",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ō' | 'Ŏ' | 'Ő' => "O",
        'œ' => "oe",
        'Œ' if word_goes_on_lower => "Oe",
        'Œ' => "OE",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'Ŕ' | 'Ŗ' | 'Ř' => "R",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'Ś' | 'Ŝ' | 'Ş' | 'Š' | 'Ș' => "S",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'Ţ' | 'Ť' | 'Ŧ' | 'Ț' => "T",
        'þ' => "th",
        'Þ' if word_goes_on_lower => "Th",
        'Þ' => "TH",
        'ú' | 'û' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'Ù' | 'Ú' | 'Û' | 'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' => "U",
        'ŵ' => "w",
        'Ŵ' => "W",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'Ý' | 'Ÿ' | 'Ŷ' => "Y",
        'ź' | 'ż' | 'ž' => "z",
        'Ź' | 'Ż' | 'Ž' => "Z",
        _ => return None,
    };
    Some(folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character `fold` knows, so the table can be checked as a whole.
    const FOLDABLE: &str = "‘’‚‛‹›′`´“”„‟«»″‐‑‒–—―−…\t\u{a0}\u{1680}\u{2000}\u{2001}\u{2002}\
        \u{2003}\u{2004}\u{2005}\u{2006}\u{2007}\u{2008}\u{2009}\u{200a}\u{202f}\u{205f}\u{3000}\
        \u{ad}\u{200b}\u{2060}\u{feff}áâãāăąÀÁÂÃĀĂĄçćĉċčĆĈĊČďđðĎĐÐêëēĕėęěÈÊËĒĔĖĘĚĝğġģĜĞĠĢĥħĤĦ\
        íîïĩīĭįıÌÍÎÏĨĪĬĮİĳĲĵĴķĶĺļľŀłĹĻĽĿŁńņňŃŅŇóôõōŏőÒÓÔÕŌŎŐœŒŕŗřŔŖŘśŝşšșŚŜŞŠȘţťŧțŢŤŦȚþÞ\
        úûũūŭůűųÙÚÛŨŪŬŮŰŲŵŴýÿŷÝŸŶźżžŹŻŽ";

    fn units16(s: &str) -> usize {
        s.encode_utf16().count()
    }

    #[test]
    fn basic_table_is_the_128_slots_of_gsm_03_38() {
        let table: Vec<char> = GSM_BASIC.chars().collect();
        assert_eq!(table.len(), 128);
        // Spot-check slots that are easy to get wrong.
        let slots = [
            (0x00, '@'),
            (0x01, '£'),
            (0x09, 'Ç'),
            (0x0A, '\n'),
            (0x0D, '\r'),
            (0x10, 'Δ'),
            (0x11, '_'),
            (0x1B, ESC),
            (0x1F, 'É'),
            (0x24, '¤'),
            (0x40, '¡'),
            (0x5B, 'Ä'),
            (0x5F, '§'),
            (0x60, '¿'),
            (0x7F, 'à'),
        ];
        for (slot, c) in slots {
            assert_eq!(table[slot], c, "slot {slot:#04x}");
        }
        for c in GSM_BASIC.chars().filter(|&c| c != ESC) {
            assert_eq!(gsm_septets(c), Some(1), "{c:?}");
        }
        for c in GSM_EXTENSION.chars() {
            assert_eq!(gsm_septets(c), Some(2), "{c:?}");
        }
    }

    #[test]
    fn near_misses_are_not_gsm() {
        // Backtick, lowercase ç, capital È and the ESC prefix itself.
        for text in ["`", "ç", "È", "\u{1b}", "\t", "’", "€uro ’"] {
            assert!(!is_gsm7(text), "{text:?}");
        }
        assert!(is_gsm7(
            "Ç é è à ù ì ò ä ö ü ñ É Ø Å Æ ß ¿¡ §¤ {[|]} ~^\\ €\u{c}"
        ));
    }

    #[test]
    fn encoding_labels_and_kannel_coding() {
        assert_eq!(Encoding::Gsm7.as_str(), "GSM-7");
        assert_eq!(Encoding::Ucs2.as_str(), "UCS-2");
        assert_eq!(Encoding::Gsm7.dcs(), 0);
        assert_eq!(Encoding::Ucs2.dcs(), 2);
    }

    #[test]
    fn dutch_appointment_is_one_gsm_message() {
        let a = analyse("Uw afspraak van dinsdag 13 januari om 09:30 is geannuleerd.");
        assert_eq!(
            a,
            SmsAnalysis {
                encoding: Encoding::Gsm7,
                units: 59,
                segments: 1,
                non_gsm: vec![],
            }
        );
    }

    #[test]
    fn dutch_diaeresis_forces_ucs2_and_folds_back() {
        let text = "De patiënt wordt geïnformeerd";
        let a = analyse(text);
        assert_eq!(a.encoding, Encoding::Ucs2);
        assert_eq!(a.units, 29);
        assert_eq!(a.segments, 1);
        assert_eq!(a.non_gsm, vec!['ë', 'ï']);
        assert_eq!(
            gsm7_version(text).as_deref(),
            Some("De patient wordt geinformeerd")
        );
    }

    #[test]
    fn french_typography_forces_ucs2_and_folds_back() {
        let text = "Votre reçu pour la fenêtre est prêt – l’œuvre sera livrée demain.";
        let a = analyse(text);
        assert_eq!(a.encoding, Encoding::Ucs2);
        assert_eq!(a.units, text.chars().count());
        assert_eq!(a.non_gsm, vec!['ç', 'ê', '–', '’', 'œ']);
        let gsm = "Votre recu pour la fenetre est pret - l'oeuvre sera livrée demain.";
        assert_eq!(gsm7_version(text).as_deref(), Some(gsm));
        assert_eq!(analyse(gsm).encoding, Encoding::Gsm7);
    }

    #[test]
    fn capitals_fold_only_when_not_in_the_table() {
        assert_eq!(
            gsm7_version("Œuvre ŒUVRE ÊTRE À l’ÉCOLE, Ça va ? Ĳsselmeer").as_deref(),
            Some("Oeuvre OEUVRE ETRE A l'ÉCOLE, Ça va ? IJsselmeer")
        );
    }

    #[test]
    fn quotes_dashes_spaces_and_ellipsis() {
        assert_eq!(
            gsm7_version("«\u{a0}Bonjour\u{202f}!\u{a0}» — “Tot ziens” ‘morgen’… 10‑12 uur")
                .as_deref(),
            Some("\" Bonjour ! \" - \"Tot ziens\" 'morgen'... 10-12 uur")
        );
        assert_eq!(
            gsm7_version("zero\u{200b}width").as_deref(),
            Some("zerowidth")
        );
    }

    #[test]
    fn gsm_text_is_returned_unchanged() {
        let text = "Café à Genève, Ørsted & Muñoz: 100% {ok} [€ 5]";
        assert!(is_gsm7(text));
        assert_eq!(gsm7_version(text).as_deref(), Some(text));
        assert_eq!(gsm7_version("").as_deref(), Some(""));
    }

    #[test]
    fn every_fold_source_is_non_gsm_and_every_target_is_gsm() {
        for c in FOLDABLE.chars() {
            assert!(gsm_septets(c).is_none(), "{c:?} is GSM already");
            let folded = gsm7_version(&c.to_string());
            assert!(
                folded.as_deref().is_some_and(is_gsm7),
                "{c:?} -> {folded:?}"
            );
        }
    }

    #[test]
    fn euro_costs_two_septets() {
        let a = analyse("Prix: 5 €");
        assert_eq!(a.encoding, Encoding::Gsm7);
        assert_eq!(a.units, 10);
        assert_eq!(analyse("[x]").units, 5);
    }

    #[test]
    fn emoji_and_cjk_have_no_gsm_version() {
        let a = analyse("👍");
        assert_eq!(a.encoding, Encoding::Ucs2);
        assert_eq!(a.units, 2);
        assert_eq!(a.segments, 1);
        assert_eq!(a.non_gsm, vec!['👍']);
        assert_eq!(gsm7_version("👍"), None);
        assert_eq!(gsm7_version("Merci ’ 👍"), None);
        assert_eq!(gsm7_version("予約を確認しました"), None);
    }

    #[test]
    fn empty_text() {
        assert_eq!(
            analyse(""),
            SmsAnalysis {
                encoding: Encoding::Gsm7,
                units: 0,
                segments: 0,
                non_gsm: vec![],
            }
        );
        assert!(segments("").is_empty());
        assert!(is_gsm7(""));
    }

    #[test]
    fn gsm7_segment_boundaries() {
        for (len, expected) in [(160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)] {
            let text = "a".repeat(len);
            let a = analyse(&text);
            assert_eq!((a.units, a.segments), (len, expected), "{len} chars");
            assert_eq!(segments(&text).len(), expected, "{len} chars");
        }
        // 80 € = 160 septets: still one message.
        assert_eq!(analyse(&"€".repeat(80)).segments, 1);
        assert_eq!(analyse(&format!("{}a", "€".repeat(80))).segments, 2);
    }

    #[test]
    fn ucs2_segment_boundaries() {
        for (len, expected) in [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)] {
            let text = "ë".repeat(len);
            let a = analyse(&text);
            assert_eq!(a.encoding, Encoding::Ucs2);
            assert_eq!((a.units, a.segments), (len, expected), "{len} chars");
            assert_eq!(segments(&text).len(), expected, "{len} chars");
        }
    }

    #[test]
    fn escape_sequence_is_never_split() {
        let text = format!(
            "{}€ en de rest van het bericht volgt hierna.",
            "a".repeat(152)
        ) + &"b".repeat(20);
        let parts = segments(&text);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], "a".repeat(152));
        assert!(parts[1].starts_with('€'));
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn pushed_escape_can_cost_an_extra_part() {
        // 306 septets would fit 2 × 153, but the € cannot straddle parts.
        let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
        assert_eq!(analyse(&text).units, 306);
        let parts = segments(&text);
        assert_eq!(parts.len(), 3);
        assert_eq!(analyse(&text).segments, 3);
        assert_eq!(parts[0].len(), 152);
    }

    #[test]
    fn surrogate_pair_is_never_split() {
        let text = format!("{}👍{}", "ë".repeat(66), "ë".repeat(10));
        let parts = segments(&text);
        assert_eq!(parts.len(), 2);
        assert_eq!(units16(&parts[0]), 66);
        assert!(parts[1].starts_with('👍'));
        assert_eq!(parts.concat(), text);
    }

    #[test]
    fn parts_respect_capacity_and_rejoin_to_the_original() {
        let dutch = "Beste mevrouw De Vries, uw afspraak bij de tandarts op 13 januari om 09:30 \
                     is verplaatst naar vrijdag 16 januari om 14:15. Kunt u niet? Bel ons op \
                     020-1234567 of antwoord NEE op dit bericht. Vergeet uw pasje niet! {ref: [A-17]} ";
        let french = "Bonjour, votre commande n°4521 est prête – vous pouvez la récupérer à \
                      l’accueil dès demain. N’oubliez pas votre pièce d’identité… À bientôt ! 🙂 ";
        for text in [dutch.repeat(3), french.repeat(4), "€".repeat(200)] {
            let a = analyse(&text);
            let parts = segments(&text);
            assert_eq!(parts.concat(), text);
            assert_eq!(parts.len(), a.segments);
            assert!(a.segments > 1);
            for part in &parts {
                match a.encoding {
                    Encoding::Gsm7 => assert!(analyse(part).units <= 153),
                    Encoding::Ucs2 => assert!(units16(part) <= 67),
                }
            }
        }
    }
}
