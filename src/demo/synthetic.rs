//! A deterministic, realistic synthetic hospital day: patients with their appointments, the
//! GPs those patients are registered with, and the press list.
//!
//! Everything is drawn from one seeded `StdRng`, so the same `(patients, days, seed)` always
//! yields the same contacts and appointments. Addresses use reserved `example.*` domains and
//! phone numbers are synthetic, so nothing generated here reaches a real person.

use crate::domain::{AppointmentStatus, Identity, Language, NewAppointment, NewContact, Role};
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Brussels;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;

/// The hospital's campuses, as the appointment export writes them.
pub const CAMPUSES: [&str; 2] = ["Antwerpen", "Deurne"];

/// Department codes, translated by the locale files (`dept-<code>`).
pub const DEPARTMENTS: [&str; 10] = [
    "cardiology",
    "orthopaedics",
    "gastroenterology",
    "ophthalmology",
    "paediatrics",
    "dermatology",
    "radiology",
    "day-surgery",
    "oncology",
    "neurology",
];

/// Number of journalists on the press list.
pub const JOURNALISTS: usize = 20;

/// One patient in this many gets a GP of their own (but never fewer than `MIN_GPS` GPs).
const PATIENTS_PER_GP: usize = 40;
const MIN_GPS: usize = 5;

/// Quarter-hour slots from 08:00 up to and including 16:30.
const SLOTS: usize = 35;
const FIRST_SLOT_HOUR: u32 = 8;

/// What one synthetic day holds, in the shape the importers produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticDay {
    pub contacts: Vec<NewContact>,
    pub appointments: Vec<NewAppointment>,
}

/// Generates `patients` patients, each with one appointment (about 10% with two) on `days`,
/// at either campus, between 08:00 and 16:30 Brussels time on quarter hours. About 3% of the
/// appointments are already cancelled in the source, but every patient keeps at least one
/// booked appointment. Also generates one GP per 40 patients (at least 5), the GP each patient
/// is registered with, and 20 journalists.
///
/// Contacts come out as patients, then GPs, then journalists.
///
/// # Panics
///
/// If `days` is empty: there would be nowhere to book anyone.
pub fn generate(patients: usize, days: &[NaiveDate], seed: u64) -> SyntheticDay {
    assert!(
        !days.is_empty(),
        "a synthetic day needs at least one date to book appointments on"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let slots = slot_table(days);
    let latest_birth = days
        .iter()
        .min()
        .and_then(|d| d.checked_sub_days(chrono::Days::new(30)))
        .unwrap_or(NaiveDate::MIN);
    let mut mobiles = MobilePlan::new(&mut rng);
    let roster = practitioner_roster(&mut rng);

    let gp_count = patients.div_ceil(PATIENTS_PER_GP).max(MIN_GPS);
    let mut contacts = Vec::with_capacity(patients + gp_count + JOURNALISTS);
    let mut used_emails = HashSet::new();
    let gps = generate_gps(&mut rng, gp_count, &mut mobiles, &mut used_emails);

    let mut appointments = Vec::with_capacity(patients + patients / 8 + 1);
    let mut next_appointment = 1usize;
    for index in 0..patients {
        let number = index + 1;
        let lang = pick_weighted(
            &mut rng,
            &[(Language::Nl, 60), (Language::Fr, 30), (Language::En, 10)],
        );
        let language = if rng.random_range(0..100) < 2 {
            None
        } else {
            Some(spelling(&mut rng, lang).to_string())
        };
        let birth_date = birth_date(&mut rng, latest_birth);
        let child = birth_date.year() >= 2008;
        let pool = pick_weighted(&mut rng, patient_pools(lang));
        let (first_name, last_name) = person_name(&mut rng, pool, birth_date.year() >= 1975);

        let mobile = (rng.random_range(0..100) < 90).then(|| mobiles.next());
        let email = (rng.random_range(0..100) < 70).then(|| {
            let mut email = String::with_capacity(first_name.len() + last_name.len() + 24);
            fold_into(&mut email, &first_name);
            email.push('.');
            fold_into(&mut email, &last_name);
            email.push('+');
            email.push_str(&number.to_string());
            email.push('@');
            let domain: &&str = pick(&mut rng, PATIENT_MAIL_DOMAINS);
            email.push_str(domain);
            email
        });
        let telegram_chat_id = (rng.random_range(0..100) < 5).then(|| {
            rng.random_range(1_000_000_000u64..8_000_000_000)
                .to_string()
        });

        let external_id = format!("P{number:06}");
        let gp = gps.pick_for(&mut rng, lang);
        book_patient(
            &mut rng,
            &mut appointments,
            &mut next_appointment,
            Booking {
                patient: &external_id,
                gp: &gps.ids[gp],
                child,
                days: days.len(),
                slots: &slots,
                roster: &roster,
            },
        );

        contacts.push(NewContact {
            identities: vec![Identity::patient(external_id.as_str())],
            external_id,
            role: Role::Patient,
            first_name,
            last_name,
            language,
            mobile,
            phone: None,
            email,
            telegram_chat_id,
            organisation: None,
            birth_date: Some(birth_date),
        });
    }

    contacts.extend(gps.contacts);
    generate_journalists(&mut rng, &mut mobiles, &mut used_emails, &mut contacts);

    SyntheticDay {
        contacts,
        appointments,
    }
}

// ---------------------------------------------------------------------------------------------
// Appointments

/// The UTC instant of every quarter-hour slot on every day, computed once through the
/// Brussels zone (so summer dates get +02:00 and winter dates +01:00).
fn slot_table(days: &[NaiveDate]) -> Vec<[DateTime<Utc>; SLOTS]> {
    days.iter()
        .map(|day| {
            std::array::from_fn(|slot| {
                let minutes = slot as u32 * 15;
                let time = NaiveTime::from_hms_opt(FIRST_SLOT_HOUR + minutes / 60, minutes % 60, 0)
                    .expect("slots stay within the day");
                Brussels
                    .from_local_datetime(&day.and_time(time))
                    .earliest()
                    .expect("Brussels changes clocks at night, never during opening hours")
                    .with_timezone(&Utc)
            })
        })
        .collect()
}

/// Doctors per campus and department, named once so a department's patients share them.
type Roster = Vec<Vec<Vec<String>>>;

fn practitioner_roster(rng: &mut StdRng) -> Roster {
    CAMPUSES
        .iter()
        .map(|_| {
            DEPARTMENTS
                .iter()
                .map(|_| {
                    let doctors = rng.random_range(2..=4);
                    (0..doctors)
                        .map(|_| {
                            let pool = pick_weighted(rng, STAFF_POOLS);
                            let younger = rng.random_bool(0.6);
                            let (first, last) = person_name(rng, pool, younger);
                            format!("Dr. {first} {last}")
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

struct Booking<'a> {
    patient: &'a str,
    gp: &'a str,
    child: bool,
    days: usize,
    slots: &'a [[DateTime<Utc>; SLOTS]],
    roster: &'a Roster,
}

/// One visit before it gets an id.
#[derive(Clone, Copy)]
struct Visit {
    day: usize,
    slot: usize,
    campus: usize,
    department: usize,
    doctor: usize,
    status: AppointmentStatus,
}

fn book_patient(
    rng: &mut StdRng,
    out: &mut Vec<NewAppointment>,
    next_id: &mut usize,
    booking: Booking<'_>,
) {
    let first = new_visit(rng, &booking, None);
    if rng.random_range(0..100) >= 10 {
        push_visit(out, next_id, &booking, first);
        return;
    }

    // A second visit: on another affected day or later/earlier the same day (at least half an
    // hour apart). One pair in three is a cancelled slot and its rebooking in the same
    // department; the others are two different visits, usually on the same campus.
    let (day, slot) = if booking.days > 1 && rng.random_bool(0.5) {
        let other = rng.random_range(0..booking.days - 1);
        let day = if other >= first.day { other + 1 } else { other };
        (day, rng.random_range(0..SLOTS))
    } else {
        loop {
            let slot = rng.random_range(0..SLOTS);
            if slot.abs_diff(first.slot) >= 2 {
                break (first.day, slot);
            }
        }
    };
    let rebooked = rng.random_range(0..3) == 0;
    let mut second = if rebooked {
        let doctors = booking.roster[first.campus][first.department].len();
        Visit {
            doctor: if rng.random_bool(0.7) {
                first.doctor
            } else {
                rng.random_range(0..doctors)
            },
            ..first
        }
    } else {
        let campus = if rng.random_range(0..100) < 85 {
            Some(first.campus)
        } else {
            None
        };
        new_visit(rng, &booking, campus)
    };
    second.day = day;
    second.slot = slot;

    let mut pair = [first, second];
    if rebooked {
        pair[rng.random_range(0..2)].status = AppointmentStatus::Cancelled;
    }
    pair.sort_by_key(|v| (v.day, v.slot));
    for visit in pair {
        push_visit(out, next_id, &booking, visit);
    }
}

fn new_visit(rng: &mut StdRng, booking: &Booking<'_>, campus: Option<usize>) -> Visit {
    let department = pick_weighted(
        rng,
        if booking.child {
            CHILD_DEPARTMENTS
        } else {
            ADULT_DEPARTMENTS
        },
    );
    let campus = campus.unwrap_or_else(|| pick_weighted(rng, &[(0, 60), (1, 40)]));
    let doctors = booking.roster[campus][department].len();
    Visit {
        day: rng.random_range(0..booking.days),
        slot: rng.random_range(0..SLOTS),
        campus,
        department,
        doctor: rng.random_range(0..doctors),
        status: AppointmentStatus::Booked,
    }
}

fn push_visit(out: &mut Vec<NewAppointment>, next_id: &mut usize, b: &Booking<'_>, v: Visit) {
    out.push(NewAppointment {
        external_id: format!("A{:07}", *next_id),
        patient: Identity::patient(b.patient),
        gp: Some(Identity::riziv(b.gp)),
        starts_at: b.slots[v.day][v.slot],
        campus: CAMPUSES[v.campus].to_string(),
        department: DEPARTMENTS[v.department].to_string(),
        practitioner: Some(b.roster[v.campus][v.department][v.doctor].clone()),
        status: v.status,
    });
    *next_id += 1;
}

/// Indexes into `DEPARTMENTS`. Adults never go to paediatrics; children mostly do.
const ADULT_DEPARTMENTS: &[(usize, u32)] = &[
    (0, 14), // cardiology
    (1, 14), // orthopaedics
    (2, 11), // gastroenterology
    (3, 12), // ophthalmology
    (5, 8),  // dermatology
    (6, 16), // radiology
    (7, 9),  // day-surgery
    (8, 9),  // oncology
    (9, 7),  // neurology
];
const CHILD_DEPARTMENTS: &[(usize, u32)] = &[
    (4, 70), // paediatrics
    (1, 8),  // orthopaedics
    (3, 8),  // ophthalmology
    (5, 6),  // dermatology
    (6, 5),  // radiology
    (7, 3),  // day-surgery
];

// ---------------------------------------------------------------------------------------------
// People

/// Hospital patients skew old: half uniformly 1935–2007, half the older of two such draws;
/// about one in seven is a child born 2008–2024. Never later than `latest`.
fn birth_date(rng: &mut StdRng, latest: NaiveDate) -> NaiveDate {
    let year = if rng.random_range(0..100) < 14 {
        rng.random_range(2008..=2024)
    } else {
        let a = rng.random_range(1935..=2007);
        if rng.random_bool(0.5) {
            a.min(rng.random_range(1935..=2007))
        } else {
            a
        }
    };
    let ordinal = rng.random_range(1..=365);
    NaiveDate::from_yo_opt(year, ordinal)
        .expect("day 1..=365 exists in every year")
        .min(latest)
}

/// Unique Belgian mobile numbers: an affine permutation of the 30 million numbers in
/// +32 470 00 00 00 … +32 499 99 99 99, so no two contacts share one.
struct MobilePlan {
    offset: u64,
    issued: u64,
}

impl MobilePlan {
    const SPACE: u64 = 30_000_000;
    /// Coprime with 30,000,000 (= 2^7 · 3 · 5^7), so `k ↦ offset + k · STRIDE` is a bijection.
    const STRIDE: u64 = 19_260_817;

    fn new(rng: &mut StdRng) -> MobilePlan {
        MobilePlan {
            offset: rng.random_range(0..Self::SPACE),
            issued: 0,
        }
    }

    fn next(&mut self) -> String {
        let n = (self.offset + (self.issued % Self::SPACE) * Self::STRIDE) % Self::SPACE;
        self.issued += 1;
        format!("+32{}{:06}", 470 + n / 1_000_000, n % 1_000_000)
    }
}

struct Gps {
    contacts: Vec<NewContact>,
    ids: Vec<String>,
    dutch: Vec<usize>,
    french: Vec<usize>,
}

impl Gps {
    /// Patients mostly have a GP who speaks their language.
    fn pick_for(&self, rng: &mut StdRng, lang: Language) -> usize {
        match lang {
            Language::Nl if rng.random_range(0..100) < 90 => *pick(rng, &self.dutch),
            Language::Fr if rng.random_range(0..100) < 75 => *pick(rng, &self.french),
            _ => rng.random_range(0..self.ids.len()),
        }
    }
}

fn generate_gps(
    rng: &mut StdRng,
    count: usize,
    mobiles: &mut MobilePlan,
    used_emails: &mut HashSet<String>,
) -> Gps {
    let mut gps = Gps {
        contacts: Vec::with_capacity(count),
        ids: Vec::with_capacity(count),
        dutch: Vec::new(),
        french: Vec::new(),
    };
    let mut riziv = HashSet::with_capacity(count);
    for index in 0..count {
        // The first two settle that both languages have a GP, however few there are.
        let lang = match index {
            0 => Language::Nl,
            1 => Language::Fr,
            _ => pick_weighted(rng, &[(Language::Nl, 65), (Language::Fr, 35)]),
        };
        let pool = pick_weighted(
            rng,
            match lang {
                Language::Fr => FR_GP_POOLS,
                _ => NL_GP_POOLS,
            },
        );
        let younger = rng.random_bool(0.5);
        let (first_name, last_name) = person_name(rng, pool, younger);
        let external_id = loop {
            let digits = rng.random_range(0..10_000_000u32);
            if riziv.insert(digits) {
                break format!("1{digits:07}004");
            }
        };
        let (domain, practice) = match lang {
            Language::Fr => ("medecin.example.be", practice_name(rng, FR_PRACTICES)),
            _ => ("huisarts.example.be", practice_name(rng, NL_PRACTICES)),
        };
        let mut local = String::from("dr.");
        fold_into(&mut local, &last_name);
        let email = unique_email(used_emails, &local, domain);
        let mobile = (rng.random_range(0..100) < 85).then(|| mobiles.next());

        match lang {
            Language::Fr => gps.french.push(index),
            _ => gps.dutch.push(index),
        }
        gps.ids.push(external_id.clone());
        gps.contacts.push(NewContact {
            identities: vec![Identity::riziv(external_id.as_str())],
            external_id,
            role: Role::Gp,
            first_name,
            last_name,
            language: Some(spelling(rng, lang).to_string()),
            mobile,
            phone: None,
            email: Some(email),
            telegram_chat_id: None,
            organisation: Some(practice),
            birth_date: None,
        });
    }
    gps
}

fn practice_name(rng: &mut StdRng, practices: &(&[&str], &[&str])) -> String {
    format!("{} {}", pick(rng, practices.0), pick(rng, practices.1))
}

/// `local@domain`, or `local2@domain`, `local3@domain`… if that is taken.
fn unique_email(used: &mut HashSet<String>, local: &str, domain: &str) -> String {
    let mut email = format!("{local}@{domain}");
    let mut n = 2;
    while !used.insert(email.clone()) {
        email = format!("{local}{n}@{domain}");
        n += 1;
    }
    email
}

fn generate_journalists(
    rng: &mut StdRng,
    mobiles: &mut MobilePlan,
    used_emails: &mut HashSet<String>,
    out: &mut Vec<NewContact>,
) {
    for (index, (outlet, lang, domain)) in PRESS.iter().enumerate() {
        let pool = pick_weighted(
            rng,
            match lang {
                Language::Nl => NL_PRESS_POOLS,
                Language::Fr => FR_PRESS_POOLS,
                Language::En => EN_PRESS_POOLS,
            },
        );
        let younger = rng.random_bool(0.7);
        let (first_name, last_name) = person_name(rng, pool, younger);
        let mut local = String::new();
        fold_into(&mut local, &first_name);
        local.push('.');
        fold_into(&mut local, &last_name);
        out.push(NewContact {
            external_id: format!("M{:03}", index + 1),
            identities: vec![Identity::media(format!("M{:03}", index + 1))],
            role: Role::Journalist,
            first_name,
            last_name,
            language: Some(spelling(rng, *lang).to_string()),
            mobile: (index % 2 == 0).then(|| mobiles.next()),
            phone: None,
            email: Some(unique_email(used_emails, &local, domain)),
            telegram_chat_id: None,
            organisation: Some(outlet.to_string()),
            birth_date: None,
        });
    }
}

/// The press list: outlet, the language it publishes in, and its (example) mail domain.
/// Antwerp's local media are listed more than once.
const PRESS: [(&str, Language, &str); JOURNALISTS] = [
    ("VRT NWS", Language::Nl, "vrt.example.be"),
    ("VRT NWS", Language::Nl, "vrt.example.be"),
    ("Gazet van Antwerpen", Language::Nl, "gva.example.be"),
    ("Gazet van Antwerpen", Language::Nl, "gva.example.be"),
    ("Het Laatste Nieuws", Language::Nl, "hln.example.be"),
    ("Het Laatste Nieuws", Language::Nl, "hln.example.be"),
    ("De Standaard", Language::Nl, "standaard.example.be"),
    ("De Morgen", Language::Nl, "demorgen.example.be"),
    ("Het Nieuwsblad", Language::Nl, "nieuwsblad.example.be"),
    ("ATV", Language::Nl, "atv.example.be"),
    ("ATV", Language::Nl, "atv.example.be"),
    ("Belga", Language::Nl, "belga.example.be"),
    ("Bruzz", Language::Nl, "bruzz.example.be"),
    ("Belga", Language::Fr, "belga.example.be"),
    ("RTBF", Language::Fr, "rtbf.example.be"),
    ("Le Soir", Language::Fr, "lesoir.example.be"),
    ("La Libre Belgique", Language::Fr, "lalibre.example.be"),
    ("L'Echo", Language::Fr, "lecho.example.be"),
    ("RTL Info", Language::Fr, "rtl.example.be"),
    (
        "The Brussels Times",
        Language::En,
        "brusselstimes.example.be",
    ),
];

const PATIENT_MAIL_DOMAINS: &[&str] = &[
    "example.be",
    "example.com",
    "example.org",
    "example.net",
    "mail.example.be",
];

/// How exports actually write a language: codes in any case, regions, names.
/// Every spelling here is one `Language::parse` understands.
fn spelling(rng: &mut StdRng, lang: Language) -> &'static str {
    pick_weighted(
        rng,
        match lang {
            Language::Nl => &[
                ("nl", 40),
                ("NL", 18),
                ("nl-BE", 17),
                ("Nederlands", 15),
                ("nl_BE", 4),
                ("Dutch", 3),
                ("Vlaams", 3),
            ],
            Language::Fr => &[
                ("fr", 40),
                ("FR", 12),
                ("fr_BE", 15),
                ("fr-BE", 10),
                ("Français", 18),
                ("francais", 5),
            ],
            Language::En => &[("en", 50), ("EN", 15), ("English", 25), ("en-GB", 10)],
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Names

struct Pool {
    last: &'static [&'static str],
    /// First names of people born before 1975.
    first_older: &'static [&'static str],
    /// First names of people born from 1975 on.
    first_younger: &'static [&'static str],
    /// Polish surnames in -ski/-cki take -ska/-cka for women.
    gendered_surnames: bool,
}

fn person_name(rng: &mut StdRng, pool: &Pool, younger: bool) -> (String, String) {
    let first = *pick(
        rng,
        if younger {
            pool.first_younger
        } else {
            pool.first_older
        },
    );
    let last = *pick(rng, pool.last);
    let mut last = last.to_string();
    // In this pool every female first name ends in -a and no male one does.
    if pool.gendered_surnames && first.ends_with('a') && last.ends_with("ki") {
        last.pop();
        last.push('a');
    }
    (first.to_string(), last)
}

/// Appends `name` lowercased and folded to ASCII letters, digits and hyphens, as people do
/// when they pick an e-mail address: "Élise" → "elise", "De Smet" → "desmet",
/// "Öztürk" → "ozturk", "Łukasz" → "lukasz", "D'Hondt" → "dhondt".
fn fold_into(out: &mut String, name: &str) {
    for c in name.chars().flat_map(char::to_lowercase) {
        let folded = match c {
            'a'..='z' | '0'..='9' | '-' => {
                out.push(c);
                continue;
            }
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ą' => "a",
            'æ' => "ae",
            'ç' | 'ć' | 'č' => "c",
            'è' | 'é' | 'ê' | 'ë' | 'ę' => "e",
            'ì' | 'í' | 'î' | 'ï' | 'ı' => "i",
            'ğ' => "g",
            'ł' => "l",
            'ñ' | 'ń' => "n",
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => "o",
            'œ' => "oe",
            'ś' | 'ş' | 'š' => "s",
            'ß' => "ss",
            'ù' | 'ú' | 'û' | 'ü' => "u",
            'ý' | 'ÿ' => "y",
            'ź' | 'ż' | 'ž' => "z",
            _ => "", // spaces, apostrophes, combining marks
        };
        out.push_str(folded);
    }
}

#[rustfmt::skip]
const FLEMISH: Pool = Pool {
    last: &[
        "Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens",
        "Wouters", "De Smet", "Vermeulen", "Van den Broeck", "De Clercq", "Dierckx", "Hermans",
        "Aerts", "Van Damme", "Pauwels", "Verstraeten", "Michiels", "Smets", "Cools",
        "Van de Velde", "Bogaerts", "Lemmens", "Martens", "De Backer", "Verhoeven", "Van Dyck",
        "Stevens", "Wuyts", "Thys", "Segers", "Coppens", "Verbruggen", "De Wilde", "Hendrickx",
        "Vandenberghe", "Vos", "Luyten", "Geerts", "Van Hoof", "D'Hondt", "Cuypers", "Mariën",
        "Verbeke", "De Vos", "Nuyts", "Van Looy", "Sels",
    ],
    first_older: &[
        "Jozef", "Maria", "Frans", "Godelieve", "Rita", "Marc", "Luc", "Dirk", "Hilde", "Annemie",
        "Rudi", "Paul", "Christiane", "Eddy", "Josée", "Willy", "Jeanine", "Patrick", "Greta",
        "Walter", "Monique", "Gerda", "Herman", "Roger", "Ingrid", "Erik", "Lieve", "Jan", "Mieke",
        "Guido", "Agnes", "Karel", "Leen", "Staf", "Liliane", "Jef",
    ],
    first_younger: &[
        "Lotte", "Noor", "Lucas", "Liam", "Emma", "Louise", "Wout", "Jens", "Arne", "Lien",
        "Sofie", "Stijn", "Tom", "Elke", "Jasper", "Femke", "Ruben", "Lore", "Seppe", "Nina",
        "Mila", "Finn", "Janne", "Thibo", "Ella", "Warre", "Hanne", "Senne", "Fien", "Lars",
        "Jolien", "Bram", "Ine", "Pieter", "Evi", "Kobe", "Marie", "Nore", "Vic", "Jules", "Bart",
        "Kris", "Katrien", "Geert", "Veerle", "Wim",
    ],
    gendered_surnames: false,
};

#[rustfmt::skip]
const FRENCH: Pool = Pool {
    last: &[
        "Dubois", "Lambert", "Dupont", "Martin", "Leroy", "Lemaire", "Renard", "Simon", "Laurent",
        "Lejeune", "Dumont", "François", "Leclercq", "Collard", "Fontaine", "Henry", "Denis",
        "Mathieu", "Dupuis", "Lefèbvre", "Gérard", "Michel", "Hubert", "Lacroix", "Piron",
        "Jacquet", "Charlier", "Noël", "Georges", "Delvaux", "Massart", "Gilson", "Bertrand",
        "Masson", "Marchal", "Lecocq", "Thiry", "Delhaye", "Rousseau", "Deprez", "Duchêne",
        "Wathelet",
    ],
    first_older: &[
        "Jean", "Marie", "Jacques", "Françoise", "Michel", "Monique", "Pierre", "Jeanine", "André",
        "Christiane", "Philippe", "Martine", "Daniel", "Nicole", "Alain", "Anne", "Claude",
        "Chantal", "Guy", "Brigitte", "Jean-Pierre", "Marie-Christine", "Bernard", "Danielle",
        "Francis", "Josiane", "Thierry", "Dominique", "Geneviève", "René",
    ],
    first_younger: &[
        "Léa", "Louis", "Emma", "Hugo", "Chloé", "Théo", "Camille", "Nathan", "Manon", "Arthur",
        "Zoé", "Jules", "Juliette", "Maxime", "Amélie", "Noah", "Clara", "Romain", "Alice",
        "Gabriel", "Lucie", "Antoine", "Inès", "Victor", "Anaïs", "Baptiste", "Élise", "Mathis",
        "Charlotte", "Florian", "Céline", "Jérôme", "Aurélie", "Julien", "Isabelle", "Benoît",
        "Véronique", "Frédéric", "Hélène", "Sylvie",
    ],
    gendered_surnames: false,
};

#[rustfmt::skip]
const MOROCCAN: Pool = Pool {
    last: &[
        "El Amrani", "El Idrissi", "Benali", "Bakkali", "El Khattabi", "Boukhari", "Azzouzi",
        "El Hamdaoui", "Ouali", "Tahiri", "Ziani", "Belhaj", "Ben Ahmed", "El Ouardi",
    ],
    first_older: &[
        "Mohamed", "Fatima", "Ahmed", "Khadija", "Abdelkader", "Rachida", "Mustapha", "Zohra",
        "Hassan", "Malika", "Driss", "Aicha", "Rachid", "Latifa",
    ],
    first_younger: &[
        "Youssef", "Yasmina", "Ayoub", "Imane", "Nordin", "Samira", "Karim", "Nadia", "Bilal",
        "Salma", "Ilyas", "Sanae", "Hamza", "Amina", "Mehdi", "Soufiane", "Adam", "Zakaria",
        "Noura", "Anas",
    ],
    gendered_surnames: false,
};

#[rustfmt::skip]
const TURKISH: Pool = Pool {
    last: &[
        "Yilmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yildiz", "Aydin", "Öztürk", "Arslan",
        "Doğan", "Koç", "Kurt", "Polat", "Erdem",
    ],
    first_older: &[
        "Mehmet", "Ayşe", "Mustafa", "Fatma", "Hasan", "Emine", "Ahmet", "Hatice", "Hüseyin",
        "Zeynep", "İbrahim", "Meryem",
    ],
    first_younger: &[
        "Emre", "Elif", "Murat", "Merve", "Burak", "Esra", "Cem", "Selin", "Kerem", "Büşra",
        "Yusuf", "Derya", "Onur", "Ece",
    ],
    gendered_surnames: false,
};

#[rustfmt::skip]
const JEWISH: Pool = Pool {
    last: &[
        "Cohen", "Levy", "Friedman", "Rosenberg", "Klein", "Gold", "Weiss", "Schwartz", "Katz",
        "Stern", "Goldstein", "Lieberman", "Horowitz", "Gutman",
    ],
    first_older: &[
        "David", "Sarah", "Moshe", "Esther", "Jacob", "Rachel", "Chaim", "Leah", "Samuel",
        "Miriam", "Joseph", "Rivka",
    ],
    first_younger: &[
        "Yaakov", "Chana", "Shmuel", "Devorah", "Yosef", "Rivka", "Aron", "Miriam", "Menachem",
        "Esther", "Mendel", "Shira",
    ],
    gendered_surnames: false,
};

#[rustfmt::skip]
const POLISH: Pool = Pool {
    last: &[
        "Kowalski", "Nowak", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
        "Zieliński", "Woźniak", "Dąbrowski", "Kaczmarek", "Mazur", "Krawczyk", "Zając",
    ],
    first_older: &[
        "Piotr", "Anna", "Tomasz", "Katarzyna", "Krzysztof", "Barbara", "Andrzej", "Elżbieta",
        "Stanisław", "Teresa",
    ],
    first_younger: &[
        "Paweł", "Agnieszka", "Marcin", "Magdalena", "Łukasz", "Joanna", "Michał", "Monika",
        "Jakub", "Aleksandra", "Kamil", "Natalia",
    ],
    gendered_surnames: true,
};

#[rustfmt::skip]
const VIETNAMESE: Pool = Pool {
    last: &[
        "Nguyen", "Tran", "Le", "Pham", "Hoang", "Vu", "Dang", "Bui", "Do", "Ngo",
    ],
    first_older: &[
        "Minh", "Lan", "Hung", "Mai", "Thanh", "Huong", "Quang", "Hoa",
    ],
    first_younger: &["Linh", "Duc", "Anh", "Tuan", "Thao", "Khanh", "Vy", "Long"],
    gendered_surnames: false,
};

#[rustfmt::skip]
const ANGLO: Pool = Pool {
    last: &[
        "Smith", "Jones", "Williams", "Brown", "Taylor", "O'Brien", "Murphy", "Walsh", "Anderson",
        "Thompson", "Kelly", "Wilson", "Evans", "Hughes", "Campbell", "Byrne",
    ],
    first_older: &[
        "John", "Margaret", "David", "Susan", "Michael", "Elizabeth", "Peter", "Patricia",
        "Richard", "Helen", "Brian", "Catherine",
    ],
    first_younger: &[
        "James", "Emily", "Oliver", "Sophie", "Daniel", "Hannah", "Thomas", "Grace", "Ryan",
        "Laura", "Sean", "Aoife", "Jack", "Chloe", "Liam", "Megan",
    ],
    gendered_surnames: false,
};

/// Antwerp's diamond trade and port bring an Indian community that often uses English.
#[rustfmt::skip]
const INDIAN: Pool = Pool {
    last: &[
        "Shah", "Mehta", "Patel", "Jain", "Kothari", "Doshi", "Gandhi", "Parikh",
    ],
    first_older: &[
        "Rajesh", "Meena", "Suresh", "Kavita", "Dilip", "Hema", "Ashok", "Usha",
    ],
    first_younger: &[
        "Raj", "Priya", "Amit", "Neha", "Vikram", "Pooja", "Rohan", "Anjali", "Karan", "Isha",
    ],
    gendered_surnames: false,
};

fn patient_pools(lang: Language) -> &'static [(&'static Pool, u32)] {
    match lang {
        Language::Nl => &[
            (&FLEMISH, 80),
            (&MOROCCAN, 8),
            (&TURKISH, 4),
            (&JEWISH, 3),
            (&FRENCH, 2),
            (&POLISH, 2),
            (&VIETNAMESE, 1),
        ],
        Language::Fr => &[
            (&FRENCH, 78),
            (&MOROCCAN, 10),
            (&FLEMISH, 6),
            (&TURKISH, 3),
            (&VIETNAMESE, 2),
            (&POLISH, 1),
        ],
        Language::En => &[
            (&ANGLO, 35),
            (&INDIAN, 12),
            (&JEWISH, 12),
            (&POLISH, 12),
            (&FLEMISH, 10),
            (&FRENCH, 6),
            (&MOROCCAN, 5),
            (&TURKISH, 5),
            (&VIETNAMESE, 3),
        ],
    }
}

const STAFF_POOLS: &[(&Pool, u32)] = &[
    (&FLEMISH, 60),
    (&FRENCH, 20),
    (&MOROCCAN, 7),
    (&TURKISH, 4),
    (&POLISH, 3),
    (&JEWISH, 3),
    (&ANGLO, 3),
];
const NL_GP_POOLS: &[(&Pool, u32)] = &[(&FLEMISH, 88), (&MOROCCAN, 5), (&TURKISH, 3), (&FRENCH, 4)];
const FR_GP_POOLS: &[(&Pool, u32)] = &[(&FRENCH, 85), (&MOROCCAN, 8), (&FLEMISH, 7)];
const NL_PRESS_POOLS: &[(&Pool, u32)] = &[(&FLEMISH, 85), (&MOROCCAN, 10), (&TURKISH, 5)];
const FR_PRESS_POOLS: &[(&Pool, u32)] = &[(&FRENCH, 85), (&MOROCCAN, 15)];
const EN_PRESS_POOLS: &[(&Pool, u32)] = &[(&ANGLO, 80), (&FLEMISH, 10), (&FRENCH, 10)];

const NL_PRACTICES: &(&[&str], &[&str]) = &(
    &[
        "Huisartsenpraktijk",
        "Groepspraktijk",
        "Wijkgezondheidscentrum",
        "Huisartsencentrum",
    ],
    &[
        "De Linde",
        "Zuid",
        "Het Kiel",
        "Zurenborg",
        "Berchem",
        "Borgerhout",
        "Deurne-Noord",
        "Linkeroever",
        "Merksem",
        "Wilrijk",
        "De Schelde",
        "Kielpark",
        "De Vijf Hoeken",
        "'t Eilandje",
        "Boekenberg",
        "Te Couter",
    ],
);
const FR_PRACTICES: &(&[&str], &[&str]) = &(
    &[
        "Cabinet médical",
        "Maison médicale",
        "Centre médical",
        "Cabinet de médecine générale",
    ],
    &[
        "du Parc",
        "de la Gare",
        "Saint-Gilles",
        "des Marolles",
        "du Midi",
        "Louise",
        "de l'Escaut",
        "du Sablon",
        "des Tilleuls",
        "Flagey",
        "du Cinquantenaire",
        "Molière",
    ],
);

// ---------------------------------------------------------------------------------------------
// Drawing

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn pick_weighted<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0..total);
    for &(item, weight) in items {
        if r < weight {
            return item;
        }
        r -= weight;
    }
    unreachable!("r < total")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use std::collections::{HashMap, HashSet};

    fn days() -> Vec<NaiveDate> {
        vec![
            NaiveDate::from_ymd_opt(2026, 1, 13).unwrap(),
            NaiveDate::from_ymd_opt(2026, 1, 14).unwrap(),
        ]
    }

    fn of_role(day: &SyntheticDay, role: Role) -> Vec<&NewContact> {
        day.contacts.iter().filter(|c| c.role == role).collect()
    }

    #[test]
    fn same_seed_same_day_other_seed_other_day() {
        let a = generate(500, &days(), 42);
        let b = generate(500, &days(), 42);
        let c = generate(500, &days(), 43);
        assert_eq!(a, b);
        assert_ne!(a.contacts, c.contacts);
        assert_ne!(a.appointments, c.appointments);
    }

    #[test]
    fn counts_patients_gps_and_journalists() {
        let day = generate(1000, &days(), 7);
        assert_eq!(of_role(&day, Role::Patient).len(), 1000);
        assert_eq!(of_role(&day, Role::Gp).len(), 25);
        assert_eq!(of_role(&day, Role::Journalist).len(), 20);
        assert_eq!(day.contacts.len(), 1045);

        let small = generate(10, &days(), 7);
        assert_eq!(of_role(&small, Role::Gp).len(), 5);
        assert_eq!(of_role(&small, Role::Journalist).len(), 20);
        let none = generate(0, &days(), 7);
        assert_eq!(none.contacts.len(), 25);
        assert!(none.appointments.is_empty());

        // About 10% of patients have two appointments, about 3% of appointments are cancelled.
        let two = day.appointments.len() - 1000;
        assert!((60..=140).contains(&two), "{two} patients with two");
        let cancelled = day
            .appointments
            .iter()
            .filter(|a| a.status == AppointmentStatus::Cancelled)
            .count() as f64
            / day.appointments.len() as f64;
        assert!((0.015..=0.05).contains(&cancelled), "{cancelled} cancelled");
    }

    #[test]
    fn languages_are_spelled_like_exports_and_shared_as_asked() {
        let day = generate(5000, &days(), 2026);
        let patients = of_role(&day, Role::Patient);
        let mut counts: HashMap<Option<Language>, usize> = HashMap::new();
        let mut spellings = HashSet::new();
        for p in &patients {
            let lang = p.language.as_deref().map(|raw| {
                spellings.insert(raw);
                Language::parse(raw).unwrap_or_else(|e| panic!("{e}"))
            });
            *counts.entry(lang).or_default() += 1;
        }
        let share = |l| counts.get(&l).copied().unwrap_or(0) as f64 / patients.len() as f64;
        let nl = share(Some(Language::Nl));
        let fr = share(Some(Language::Fr));
        let en = share(Some(Language::En));
        let none = share(None);
        assert!((0.55..=0.63).contains(&nl), "nl {nl}");
        assert!((0.26..=0.33).contains(&fr), "fr {fr}");
        assert!((0.075..=0.125).contains(&en), "en {en}");
        assert!((0.01..=0.035).contains(&none), "none {none}");
        for expected in [
            "nl",
            "NL",
            "nl-BE",
            "Nederlands",
            "fr",
            "fr_BE",
            "Français",
            "en",
        ] {
            assert!(spellings.contains(expected), "never wrote {expected:?}");
        }
        // GPs and journalists are in one of the three languages too.
        for c in day.contacts.iter().filter(|c| c.role != Role::Patient) {
            let raw = c
                .language
                .as_deref()
                .expect("staff lists always have a language");
            Language::parse(raw).unwrap();
        }
    }

    #[test]
    fn french_speakers_mostly_have_french_names() {
        let day = generate(3000, &days(), 5);
        let french = of_role(&day, Role::Patient)
            .into_iter()
            .filter(|p| {
                p.language
                    .as_deref()
                    .is_some_and(|l| Language::parse(l) == Ok(Language::Fr))
            })
            .collect::<Vec<_>>();
        let with_french_surname = french
            .iter()
            .filter(|p| FRENCH.last.contains(&p.last_name.as_str()))
            .count();
        assert!(with_french_surname * 10 > french.len() * 7);
    }

    fn is_belgian_mobile(m: &str) -> bool {
        let b = m.as_bytes();
        m.len() == 12
            && m.starts_with("+324")
            && (b'7'..=b'9').contains(&b[4])
            && b[5..].iter().all(u8::is_ascii_digit)
    }

    #[test]
    fn addresses_are_valid() {
        let day = generate(3000, &days(), 11);
        let mut mobiles = HashSet::new();
        let mut emails = HashSet::new();
        for c in &day.contacts {
            if let Some(email) = &c.email {
                assert!(
                    email.parse::<lettre::Address>().is_ok(),
                    "{email:?} does not parse"
                );
                assert!(email.is_ascii() && !email.contains(' '), "{email:?}");
                assert!(emails.insert(email.as_str()), "{email:?} twice");
            }
            if let Some(mobile) = &c.mobile {
                assert!(is_belgian_mobile(mobile), "{mobile:?}");
                assert!(mobiles.insert(mobile.as_str()), "{mobile:?} twice");
            }
            if let Some(chat) = &c.telegram_chat_id {
                assert!(chat.bytes().all(|b| b.is_ascii_digit()), "{chat:?}");
            }
            if let Some(born) = c.birth_date {
                assert!((1935..=2024).contains(&born.year()), "{born}");
            }
        }
        let patients = of_role(&day, Role::Patient);
        let share = |n: usize| n as f64 / patients.len() as f64;
        let mobile = share(patients.iter().filter(|p| p.mobile.is_some()).count());
        let email = share(patients.iter().filter(|p| p.email.is_some()).count());
        let telegram = share(
            patients
                .iter()
                .filter(|p| p.telegram_chat_id.is_some())
                .count(),
        );
        assert!((0.87..=0.93).contains(&mobile), "mobile {mobile}");
        assert!((0.66..=0.74).contains(&email), "email {email}");
        assert!((0.03..=0.07).contains(&telegram), "telegram {telegram}");

        for gp in of_role(&day, Role::Gp) {
            let id = &gp.external_id;
            assert!(
                id.len() == 11 && id.starts_with('1') && id.ends_with("004"),
                "{id}"
            );
            assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");
            assert!(gp.email.as_deref().unwrap().starts_with("dr."));
            assert!(gp.organisation.is_some());
        }
        let journalists = of_role(&day, Role::Journalist);
        assert!(journalists.iter().all(|j| j.email.is_some()));
        assert!(journalists.iter().all(|j| j.organisation.is_some()));
        assert_eq!(
            journalists.iter().filter(|j| j.mobile.is_some()).count(),
            10
        );
        assert_eq!(journalists[0].external_id, "M001");
        assert_eq!(journalists[19].external_id, "M020");
    }

    #[test]
    fn ascii_folding() {
        let fold = |s: &str| {
            let mut out = String::new();
            fold_into(&mut out, s);
            out
        };
        assert_eq!(fold("Élise"), "elise");
        assert_eq!(fold("De Smet"), "desmet");
        assert_eq!(fold("Öztürk"), "ozturk");
        assert_eq!(fold("Łukasz"), "lukasz");
        assert_eq!(fold("D'Hondt"), "dhondt");
        assert_eq!(fold("İbrahim"), "ibrahim");
        assert_eq!(fold("Jean-Pierre"), "jean-pierre");
    }

    #[test]
    fn every_patient_has_a_booked_appointment_in_opening_hours() {
        let days = days();
        let day = generate(2000, &days, 3);
        let mut booked = HashSet::new();
        for a in &day.appointments {
            let local = a.starts_at.with_timezone(&Brussels);
            assert!(days.contains(&local.date_naive()), "{local}");
            let minutes = local.hour() * 60 + local.minute();
            assert!((8 * 60..=16 * 60 + 30).contains(&minutes), "{local}");
            assert_eq!(local.minute() % 15, 0, "{local}");
            assert_eq!(local.second(), 0);
            assert!(CAMPUSES.contains(&a.campus.as_str()));
            assert!(DEPARTMENTS.contains(&a.department.as_str()));
            assert!(a.practitioner.as_deref().unwrap().starts_with("Dr. "));
            if a.status == AppointmentStatus::Booked {
                booked.insert(a.patient.value.as_str());
            }
        }
        for p in of_role(&day, Role::Patient) {
            assert!(booked.contains(p.external_id.as_str()), "{}", p.external_id);
        }
        // Both days and both campuses are used.
        for d in &days {
            assert!(day.appointments.iter().any(|a| a
                .starts_at
                .with_timezone(&Brussels)
                .date_naive()
                == *d));
        }
        for campus in CAMPUSES {
            assert!(day.appointments.iter().any(|a| a.campus == campus));
        }
    }

    #[test]
    fn summer_dates_use_summer_time() {
        let july = [NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()];
        let day = generate(200, &july, 1);
        let earliest = day.appointments.iter().map(|a| a.starts_at).min().unwrap();
        // 08:00 CEST is 06:00 UTC.
        assert!(earliest.hour() >= 6);
        for a in &day.appointments {
            let local = a.starts_at.with_timezone(&Brussels);
            assert!(local.hour() >= 8 && local.date_naive() == july[0]);
        }
    }

    #[test]
    fn references_resolve_and_ids_are_unique() {
        let day = generate(2000, &days(), 99);
        let mut ids = HashSet::new();
        for c in &day.contacts {
            assert_eq!(c.identities.len(), 1, "{}", c.external_id);
            assert_eq!(c.identities[0].value, c.external_id);
            assert!(ids.insert(&c.identities[0]), "{} twice", c.external_id);
        }
        let roles: HashMap<&Identity, Role> = day
            .contacts
            .iter()
            .map(|c| (&c.identities[0], c.role))
            .collect();
        let mut appointment_ids = HashSet::new();
        let mut gp_of = HashMap::new();
        for a in &day.appointments {
            assert!(appointment_ids.insert(a.external_id.as_str()));
            assert_eq!(roles.get(&a.patient), Some(&Role::Patient));
            let gp = a.gp.as_ref().expect("every patient has a GP");
            assert_eq!(roles.get(gp), Some(&Role::Gp));
            let first = *gp_of.entry(&a.patient).or_insert(gp);
            assert_eq!(first, gp, "{} changed GP", a.patient);
        }
        assert_eq!(day.appointments[0].external_id, "A0000001");
        assert_eq!(day.contacts[0].external_id, "P000001");
    }
}
