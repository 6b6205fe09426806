//! The columns each reader knows, their aliases, and the header names matched to them.

use crate::domain::fold_accent;
use crate::import::fields::Kind;

/// Every column any of the readers knows; a schema gives each its name for that file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Col {
    PatientId,
    LastName,
    FirstName,
    Name,
    BirthDate,
    Language,
    Mobile,
    Phone,
    Email,
    AppointmentId,
    Start,
    Campus,
    Department,
    Practitioner,
    Status,
    GpRiziv,
    GpName,
    GpEmail,
    GpPhone,
    Riziv,
    Organisation,
    Telegram,
    /// The hour, when an export puts it beside a date-only `start`.
    Time,
}

pub(super) const COLS: usize = Col::Time as usize + 1;

impl Col {
    /// What the column holds, for its length limit.
    pub(super) fn kind(self) -> Kind {
        match self {
            Col::PatientId | Col::AppointmentId | Col::Riziv | Col::GpRiziv | Col::Telegram => {
                Kind::Id
            }
            Col::LastName | Col::FirstName => Kind::Name,
            Col::Name | Col::GpName | Col::Practitioner | Col::Organisation => Kind::Text,
            Col::BirthDate | Col::Start | Col::Time | Col::Status | Col::Language => Kind::Code,
            Col::Mobile | Col::Phone | Col::GpPhone => Kind::Phone,
            Col::Email | Col::GpEmail => Kind::Email,
            Col::Campus | Col::Department => Kind::Place,
        }
    }
}

/// Where each column is in the file.
pub(super) type Columns = [Option<usize>; COLS];

pub(super) struct Spec {
    pub(super) col: Col,
    pub(super) name: &'static str,
    /// Normalised (see [`normalise`]).
    pub(super) aliases: &'static [&'static str],
}

pub(super) struct Schema {
    pub(super) specs: &'static [Spec],
    /// Each group: at least one of these columns.
    pub(super) required: &'static [&'static [Col]],
    /// `naam`/`nom` mean the full name here, read as the last name next to a first name.
    pub(super) name_means_last_name_beside_first_name: bool,
    /// The fields a row cannot be taken without: one of them over its length limit rejects the
    /// row, where any other field is dropped.
    pub(super) vital: &'static [Col],
}

impl Schema {
    /// The column a header name means, and how surely: 0 for the canonical name, then the
    /// alias's place in its list (the more specific aliases come first).
    pub(super) fn find(&self, normalised: &str) -> Option<(&Spec, usize)> {
        self.specs.iter().find_map(|spec| {
            if spec.name == normalised {
                Some((spec, 0))
            } else {
                let at = spec.aliases.iter().position(|alias| *alias == normalised)?;
                Some((spec, at + 1))
            }
        })
    }
}

const PATIENT_ID: &[&str] = &[
    "patientid",
    "patient_number",
    "patient_nr",
    "patient_no",
    "patientnummer",
    "patientnr",
    "numero_patient",
    "n_patient",
    "no_patient",
    "dossiernummer",
    "pid",
    "patient",
];
const LAST_NAME: &[&str] = &[
    "lastname",
    "naam",
    "achternaam",
    "familienaam",
    "nom",
    "nom_de_famille",
    "surname",
    "family_name",
];
const LAST_NAME_ONLY: &[&str] = &[
    "lastname",
    "achternaam",
    "familienaam",
    "nom_de_famille",
    "surname",
    "family_name",
];
const FIRST_NAME: &[&str] = &["firstname", "voornaam", "prenom", "given_name"];
const FULL_NAME: &[&str] = &["naam", "nom", "full_name", "volledige_naam", "nom_complet"];
const BIRTH_DATE: &[&str] = &[
    "birthdate",
    "date_of_birth",
    "dob",
    "geboortedatum",
    "date_naissance",
    "date_de_naissance",
];
const LANGUAGE: &[&str] = &["taal", "langue", "lang", "language_code", "voertaal"];
const MOBILE: &[&str] = &[
    "gsm",
    "gsm_nummer",
    "mobile_phone",
    "mobile_number",
    "mobiel",
    "portable",
    "cell",
    "cellphone",
    "sms",
];
const PHONE: &[&str] = &[
    "telefoon",
    "telephone",
    "tel",
    "phone_number",
    "telefoonnummer",
    "vaste_lijn",
];
const EMAIL: &[&str] = &[
    "e_mail",
    "mail",
    "courriel",
    "email_address",
    "e_mailadres",
    "emailadres",
    "adresse_email",
];

// The columns several kinds of file share, under the same name and aliases.
const FIRST_NAME_COLUMN: Spec = Spec {
    col: Col::FirstName,
    name: "first_name",
    aliases: FIRST_NAME,
};

const LANGUAGE_COLUMN: Spec = Spec {
    col: Col::Language,
    name: "language",
    aliases: LANGUAGE,
};

const MOBILE_COLUMN: Spec = Spec {
    col: Col::Mobile,
    name: "mobile",
    aliases: MOBILE,
};

const PHONE_COLUMN: Spec = Spec {
    col: Col::Phone,
    name: "phone",
    aliases: PHONE,
};

const EMAIL_COLUMN: Spec = Spec {
    col: Col::Email,
    name: "email",
    aliases: EMAIL,
};

const LAST_NAME_ONLY_COLUMN: Spec = Spec {
    col: Col::LastName,
    name: "last_name",
    aliases: LAST_NAME_ONLY,
};

const NAME_COLUMN: Spec = Spec {
    col: Col::Name,
    name: "name",
    aliases: FULL_NAME,
};

pub(super) static APPOINTMENTS: Schema = Schema {
    specs: &[
        Spec {
            col: Col::PatientId,
            name: "patient_id",
            aliases: PATIENT_ID,
        },
        Spec {
            col: Col::LastName,
            name: "last_name",
            aliases: LAST_NAME,
        },
        FIRST_NAME_COLUMN,
        Spec {
            col: Col::BirthDate,
            name: "birth_date",
            aliases: BIRTH_DATE,
        },
        LANGUAGE_COLUMN,
        MOBILE_COLUMN,
        PHONE_COLUMN,
        EMAIL_COLUMN,
        Spec {
            col: Col::AppointmentId,
            name: "appointment_id",
            aliases: &[
                "appointment",
                "appointmentid",
                "afspraak_id",
                "afspraaknummer",
                "afspraak_nr",
                "rendez_vous_id",
                "rendezvous_id",
                "rdv_id",
                "booking_id",
            ],
        },
        Spec {
            col: Col::Start,
            name: "start",
            aliases: &[
                "start_time",
                "starts_at",
                "begin",
                "datum",
                "date",
                "afspraak",
                "datum_tijd",
                "date_heure",
                "date_rdv",
                "rendez_vous",
                "rdv",
            ],
        },
        Spec {
            col: Col::Time,
            name: "time",
            aliases: &["tijd", "uur", "aanvangsuur", "heure", "heure_debut", "hour"],
        },
        Spec {
            col: Col::Campus,
            name: "campus",
            aliases: &["site", "locatie", "location", "vestiging"],
        },
        Spec {
            col: Col::Department,
            name: "department",
            aliases: &[
                "dienst",
                "service",
                "specialty",
                "specialite",
                "afdeling",
                "discipline",
            ],
        },
        Spec {
            col: Col::Practitioner,
            name: "practitioner",
            aliases: &[
                "arts",
                "medecin",
                "doctor",
                "dokter",
                "zorgverlener",
                "behandelend_arts",
            ],
        },
        Spec {
            col: Col::Status,
            name: "status",
            aliases: &["statut", "etat", "state", "afspraakstatus"],
        },
        Spec {
            col: Col::GpRiziv,
            name: "gp_riziv",
            aliases: &[
                "riziv",
                "inami",
                "gp_inami",
                "riziv_huisarts",
                "huisarts_riziv",
                "inami_medecin_traitant",
                "gp_nihdi",
            ],
        },
        Spec {
            col: Col::GpName,
            name: "gp_name",
            aliases: &[
                "gp",
                "huisarts",
                "huisarts_naam",
                "naam_huisarts",
                "medecin_traitant",
                "nom_medecin_traitant",
                "general_practitioner",
            ],
        },
        Spec {
            col: Col::GpEmail,
            name: "gp_email",
            aliases: &[
                "gp_mail",
                "huisarts_email",
                "email_huisarts",
                "e_mail_huisarts",
                "email_medecin_traitant",
            ],
        },
        Spec {
            col: Col::GpPhone,
            name: "gp_phone",
            aliases: &[
                "gp_tel",
                "huisarts_telefoon",
                "telefoon_huisarts",
                "telephone_medecin_traitant",
            ],
        },
    ],
    required: &[
        &[Col::PatientId],
        &[Col::LastName],
        &[Col::AppointmentId],
        &[Col::Start],
        &[Col::Campus],
        &[Col::Department],
    ],
    name_means_last_name_beside_first_name: false,
    vital: &[
        Col::PatientId,
        Col::LastName,
        Col::AppointmentId,
        Col::Start,
        Col::Time,
        Col::Campus,
        Col::Department,
    ],
};

pub(super) static GPS: Schema = Schema {
    specs: &[
        Spec {
            col: Col::Riziv,
            name: "riziv",
            aliases: &[
                "inami",
                "gp_riziv",
                "id",
                "riziv_nummer",
                "riziv_nr",
                "nr_riziv",
                "n_inami",
                "numero_inami",
                "inami_nr",
                "nihdi",
            ],
        },
        LAST_NAME_ONLY_COLUMN,
        FIRST_NAME_COLUMN,
        NAME_COLUMN,
        LANGUAGE_COLUMN,
        EMAIL_COLUMN,
        MOBILE_COLUMN,
        PHONE_COLUMN,
        Spec {
            col: Col::Organisation,
            name: "practice",
            aliases: &[
                "organisation",
                "organization",
                "praktijk",
                "groepspraktijk",
                "cabinet",
            ],
        },
    ],
    required: &[&[Col::Riziv], &[Col::LastName, Col::Name]],
    name_means_last_name_beside_first_name: true,
    vital: &[Col::Riziv, Col::LastName, Col::Name],
};

pub(super) static MEDIA: Schema = Schema {
    specs: &[
        Spec {
            col: Col::Organisation,
            name: "outlet",
            aliases: &[
                "media",
                "medium",
                "organisation",
                "organization",
                "redactie",
                "redaction",
                "krant",
                "journal",
                "zender",
                "newspaper",
            ],
        },
        NAME_COLUMN,
        LAST_NAME_ONLY_COLUMN,
        FIRST_NAME_COLUMN,
        LANGUAGE_COLUMN,
        EMAIL_COLUMN,
        MOBILE_COLUMN,
        PHONE_COLUMN,
        Spec {
            col: Col::Telegram,
            name: "telegram",
            aliases: &[
                "telegram_id",
                "telegram_chat_id",
                "chat_id",
                "telegram_handle",
            ],
        },
    ],
    required: &[
        &[Col::Name, Col::LastName, Col::FirstName],
        &[Col::Email, Col::Mobile, Col::Phone, Col::Telegram],
    ],
    name_means_last_name_beside_first_name: true,
    vital: &[Col::Name, Col::LastName],
};

const SCHEMAS: [&Schema; 3] = [&APPOINTMENTS, &GPS, &MEDIA];

/// Lower case, accents folded, every run of other characters (spaces, dashes, dots, a
/// camelCase boundary) one `_`, none at the ends.
pub(super) fn normalise(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut gap = false;
    let mut prev_lower = false;
    for c in raw.chars() {
        if !c.is_alphanumeric() {
            gap = true;
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            gap = true;
        }
        prev_lower = c.is_lowercase() || c.is_numeric();
        if gap && !out.is_empty() {
            out.push('_');
        }
        gap = false;
        for lower in c.to_lowercase() {
            out.push(fold_accent(lower));
        }
    }
    out
}

pub(super) fn is_known_column(normalised: &str) -> bool {
    SCHEMAS
        .iter()
        .any(|schema| schema.find(normalised).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::import::csv::appointments;
    use crate::import::testing::unreadable_reason;

    #[test]
    fn a_gp_list_given_as_appointments_is_unreadable_naming_the_missing_columns() {
        let gp_list =
            "RIZIV;Naam;Voornaam;Taal;E-mail\n1-23456-78-004;Peeters;Marc;nl;marc@example.be\n";
        let reason = unreadable_reason(appointments("huisartsen.csv", gp_list.as_bytes()));
        for missing in [
            "patient_id",
            "appointment_id",
            "start",
            "campus",
            "department",
        ] {
            assert!(reason.contains(missing), "{missing} in {reason}");
        }
        assert!(
            !reason.contains("last_name (or"),
            "Naam is the last name: {reason}"
        );
        assert!(
            reason
                .contains("columns found: \"RIZIV\", \"Naam\", \"Voornaam\", \"Taal\", \"E-mail\""),
            "{reason}"
        );

        let prose = "Dear IT, please find the appointments attached.\n";
        let reason = unreadable_reason(appointments("mail.txt", prose.as_bytes()));
        assert!(reason.contains("missing required columns"), "{reason}");
    }

    #[test]
    fn header_names_are_matched_whatever_their_case_accents_or_spelling() {
        for (raw, want) in [
            ("Téléphone", "telephone"),
            ("E-mail", "e_mail"),
            ("Rendez-vous ID", "rendez_vous_id"),
            ("PatientId", "patient_id"),
            (" N° INAMI ", "n_inami"),
            ("Patiëntnummer", "patientnummer"),
            ("\u{feff}patient_id", "patient_id"),
            ("GSM", "gsm"),
        ] {
            assert_eq!(normalise(raw), want, "{raw:?}");
        }
        for schema in SCHEMAS {
            let mut seen = std::collections::HashSet::new();
            for spec in schema.specs {
                assert_eq!(normalise(spec.name), spec.name);
                assert!(seen.insert(spec.name), "{} twice", spec.name);
                for alias in spec.aliases {
                    assert_eq!(normalise(alias), *alias, "aliases are written normalised");
                    assert!(seen.insert(alias), "{alias} means two columns");
                }
            }
        }
    }

    #[test]
    fn unknown_columns_and_languages_are_noticed_not_rejected() {
        let text = "patient_id;last_name;appointment_id;start;campus;department;GSM nr;taal\n\
            P1;Peeters;A1;13/01/2026 09:30;Campus Noord;Cardiologie;0471 12 34 56;Türkçe\n";
        let batch = appointments("x.csv", text.as_bytes()).expect("readable");
        assert_eq!(batch.appointments.len(), 1);
        assert_eq!(batch.contacts[0].language.as_deref(), Some("Türkçe"));
        let notices: Vec<(usize, &str)> = batch
            .notices
            .iter()
            .map(|n| (n.line, n.field.as_str()))
            .collect();
        assert_eq!(notices, [(1, "GSM nr"), (2, "language")]);
    }
}
