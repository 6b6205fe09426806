//! Dates and times as exports write them, in Brussels time unless they say otherwise.

use chrono::{
    DateTime, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Utc,
};
use chrono_tz::Europe::Brussels;

struct Cursor<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) at: usize,
}

impl Cursor<'_> {
    fn number(&mut self, min: usize, max: usize) -> Option<(u32, usize)> {
        let start = self.at;
        let mut value = 0u32;
        while self.at < self.bytes.len()
            && self.at - start < max
            && self.bytes[self.at].is_ascii_digit()
        {
            value = value * 10 + u32::from(self.bytes[self.at] - b'0');
            self.at += 1;
        }
        let len = self.at - start;
        (len >= min).then_some((value, len))
    }

    fn eat(&mut self, set: &[u8]) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        if set.contains(&b) {
            self.at += 1;
            Some(b)
        } else {
            None
        }
    }

    fn spaces(&mut self) -> usize {
        let start = self.at;
        while self.eat(b" ").is_some() {}
        self.at - start
    }

    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }
}

/// A date as dd/mm/yyyy (or -, .) or yyyy-mm-dd, and whether its year was written with two
/// digits.
fn date_part(cursor: &mut Cursor<'_>) -> Option<(NaiveDate, bool)> {
    let (first, first_len) = cursor.number(1, 4)?;
    if first_len == 4 {
        cursor.eat(b"-/")?;
        let (month, _) = cursor.number(1, 2)?;
        cursor.eat(b"-/")?;
        let (day, _) = cursor.number(1, 2)?;
        return Some((NaiveDate::from_ymd_opt(first as i32, month, day)?, false));
    }
    if first_len > 2 {
        return None;
    }
    let sep = cursor.eat(b"/-.")?;
    let (month, _) = cursor.number(1, 2)?;
    cursor.eat(&[sep])?;
    let (year, year_len) = cursor.number(2, 4)?;
    let year = match year_len {
        2 => 2000 + year,
        4 => year,
        _ => return None,
    };
    Some((
        NaiveDate::from_ymd_opt(year as i32, month, first)?,
        year_len == 2,
    ))
}

fn time_part(cursor: &mut Cursor<'_>) -> Option<NaiveTime> {
    let (hour, _) = cursor.number(1, 2)?;
    cursor.eat(b":uh")?;
    let (minute, _) = cursor.number(2, 2)?;
    let mut second = 0;
    if cursor.eat(b":").is_some() {
        second = cursor.number(2, 2)?.0;
        if cursor.eat(b".,").is_some() {
            cursor.number(1, 9)?;
        }
    }
    NaiveTime::from_hms_opt(hour, minute, second)
}

fn offset_part(cursor: &mut Cursor<'_>) -> Option<Option<FixedOffset>> {
    if cursor.eat(b"Zz").is_some() {
        return Some(FixedOffset::east_opt(0));
    }
    let Some(sign) = cursor.eat(b"+-") else {
        return Some(None);
    };
    let (hours, _) = cursor.number(2, 2)?;
    cursor.eat(b":");
    let minutes = cursor.number(2, 2).map_or(0, |(minutes, _)| minutes);
    let seconds = (hours * 3600 + minutes * 60) as i32;
    let offset = if sign == b'-' {
        FixedOffset::west_opt(seconds)
    } else {
        FixedOffset::east_opt(seconds)
    }?;
    Some(Some(offset))
}

/// An appointment's start in UTC, with a note when the Brussels clock change made it
/// ambiguous or skipped it.
pub(super) fn parse_start(raw: &str) -> Result<(DateTime<Utc>, Option<&'static str>), String> {
    let wrong = || {
        format!(
            "{raw:?} is not a date and time: use dd/mm/yyyy HH:MM (Brussels time) or \
             2026-01-13T09:30 (ISO 8601)"
        )
    };
    let mut cursor = Cursor {
        bytes: raw.as_bytes(),
        at: 0,
    };
    let (date, _) = date_part(&mut cursor).ok_or_else(wrong)?;
    if cursor.done() {
        return Err(format!(
            "{raw:?} {NO_TIME}: the appointment's hour is needed"
        ));
    }
    if cursor.eat(b"Tt").is_none() && cursor.spaces() == 0 {
        return Err(wrong());
    }
    let time = time_part(&mut cursor).ok_or_else(wrong)?;
    cursor.spaces();
    let offset = offset_part(&mut cursor).ok_or_else(wrong)?;
    if !cursor.done() {
        return Err(wrong());
    }
    let local = NaiveDateTime::new(date, time);
    if let Some(offset) = offset {
        let at = offset
            .from_local_datetime(&local)
            .single()
            .ok_or_else(wrong)?;
        return Ok((at.with_timezone(&Utc), None));
    }
    Ok(brussels(local))
}

const NO_TIME: &str = "has no time";

fn brussels(local: NaiveDateTime) -> (DateTime<Utc>, Option<&'static str>) {
    match Brussels.from_local_datetime(&local) {
        LocalResult::Single(at) => (at.with_timezone(&Utc), None),
        LocalResult::Ambiguous(summer, _) => (
            summer.with_timezone(&Utc),
            Some("happens twice when the clocks go back: read as summer time (the first)"),
        ),
        LocalResult::None => {
            let later = Brussels
                .from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
                .map_or_else(
                    || Utc.from_utc_datetime(&(local - Duration::hours(1))),
                    |at| at.with_timezone(&Utc),
                );
            (
                later,
                Some("does not exist when the clocks go forward: read as winter time"),
            )
        }
    }
}

pub(super) fn parse_birth_date(raw: &str) -> Option<NaiveDate> {
    let mut cursor = Cursor {
        bytes: raw.as_bytes(),
        at: 0,
    };
    let (date, two_digit_year) = date_part(&mut cursor)?;
    if two_digit_year {
        return None;
    }
    // Excel writes a date cell as "03/02/1958 00:00" when it is formatted as date and time.
    if !cursor.done() {
        if cursor.spaces() == 0 && cursor.eat(b"Tt").is_none() {
            return None;
        }
        time_part(&mut cursor)?;
        if !cursor.done() {
            return None;
        }
    }
    Some(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::import::csv::appointments;
    use crate::import::testing::{appointment, utc};
    use chrono::NaiveDate;

    #[test]
    fn a_date_and_an_hour_in_separate_columns_make_one_start() {
        let text = "Naam;Patiëntnummer;Afspraak ID;Datum;Uur;Campus;Dienst\n\
            Peeters;P1;A1;13/01/2026;09:30;Campus Noord;Cardiologie\n\
            Peeters;P1;A2;14/01/2026 00:00;14:15;Campus Noord;Cardiologie\n";
        let batch = appointments("x.csv", text.as_bytes()).expect("readable");
        assert_eq!(batch.rejects, [], "{:#?}", batch.rejects);
        assert_eq!(
            appointment(&batch, "A1").starts_at,
            utc("2026-01-13T08:30:00Z")
        );
        assert_eq!(
            appointment(&batch, "A2").starts_at,
            utc("2026-01-14T13:15:00Z")
        );
        assert_eq!(batch.contacts[0].external_id, "P1");

        let both = "Patiënt;Patiëntnummer;Naam;Afspraak ID;Datum;Campus;Dienst\n\
            Jan Peeters;P1;Peeters;A1;13/01/2026 09:30;Campus Noord;Cardiologie\n";
        let batch = appointments("x.csv", both.as_bytes()).expect("readable");
        assert_eq!(
            batch.contacts[0].external_id, "P1",
            "patientnummer over patient"
        );
        assert!(batch
            .notices
            .iter()
            .any(|n| n.line == 1 && n.field == "Patiënt"));
    }

    #[test]
    fn start_times_are_read_in_brussels_time_unless_they_say_otherwise() {
        let at = |raw| parse_start(raw).map(|(at, _)| at);
        assert_eq!(at("13/01/2026 09:30"), Ok(utc("2026-01-13T08:30:00Z")));
        assert_eq!(at("13-01-2026 09:30"), Ok(utc("2026-01-13T08:30:00Z")));
        assert_eq!(at("13/01/2026 09:30:15"), Ok(utc("2026-01-13T08:30:15Z")));
        assert_eq!(at("3/1/2026 9:30"), Ok(utc("2026-01-03T08:30:00Z")));
        assert_eq!(at("13-01-26 09h30"), Ok(utc("2026-01-13T08:30:00Z")));
        assert_eq!(at("2026-01-13T09:30"), Ok(utc("2026-01-13T08:30:00Z")));
        assert_eq!(at("2026-01-13 09:30:00"), Ok(utc("2026-01-13T08:30:00Z")));
        assert_eq!(
            at("2026-01-13T09:30:00.000Z"),
            Ok(utc("2026-01-13T09:30:00Z"))
        );
        assert_eq!(
            at("2026-01-13T09:30-05:00"),
            Ok(utc("2026-01-13T14:30:00Z"))
        );
        assert_eq!(at("2026-07-13T09:30"), Ok(utc("2026-07-13T07:30:00Z")));
        let (at_fallback, note) = parse_start("25/10/2026 02:30").expect("ambiguous, read");
        assert_eq!(at_fallback, utc("2026-10-25T00:30:00Z"));
        assert!(note.is_some());
        for wrong in [
            "13/01/2026",
            "31/02/2026 09:00",
            "13/01/2026 25:00",
            "morgen",
            "2026-01-13T09:30 CET",
        ] {
            assert!(at(wrong).is_err(), "{wrong}");
        }
        assert!(at("13/01/2026").unwrap_err().contains("no time"));
        assert_eq!(
            parse_birth_date("03/02/1958"),
            NaiveDate::from_ymd_opt(1958, 2, 3)
        );
        assert_eq!(
            parse_birth_date("1958-02-03"),
            NaiveDate::from_ymd_opt(1958, 2, 3)
        );
        assert_eq!(
            parse_birth_date("03/02/1958 00:00"),
            NaiveDate::from_ymd_opt(1958, 2, 3)
        );
        assert_eq!(parse_birth_date("03/02/58"), None, "which century?");
    }
}
