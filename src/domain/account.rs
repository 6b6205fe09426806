//! The console's accounts: roles and what each may do, user names, session tokens.

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// What a signed-in person may do is their role's, and only their role's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    /// Writes updates.
    Author,
    /// Writes updates and approves those of others (never their own: four eyes).
    Approver,
    /// Manages the accounts; writes and approves nothing, so that running the console
    /// gives no power over what is sent.
    Admin,
}

/// An action the console guards by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Draft,
    Approve,
    /// Send an approved update (now or at a time), pause, resume or halt it.
    Send,
    ManageUsers,
    /// Read the audit log (the console's page; the CLI's export is the machine's owner's).
    ReadAudit,
    /// Send the fallback channel to the unreached of an update now, without waiting.
    SendFallback,
    /// See who an update did not reach, with their phone numbers (the dashboard's list and
    /// its CSV): patients' details, for those who decide what happens to them.
    ReadUnreached,
}

impl Action {
    fn describe(self) -> &'static str {
        match self {
            Action::Draft => "write an update",
            Action::Approve => "approve an update",
            Action::Send => "send, pause or halt an update",
            Action::ManageUsers => "manage users",
            Action::ReadAudit => "read the audit log",
            Action::SendFallback => "send the fallback to the unreached",
            Action::ReadUnreached => "see the unreached people's phone numbers",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} is {role}: an {role} may not {}", .action.describe())]
pub struct Forbidden {
    pub name: String,
    pub role: UserRole,
    pub action: Action,
}

impl UserRole {
    pub const ALL: [UserRole; 3] = [UserRole::Author, UserRole::Approver, UserRole::Admin];

    pub fn may(self, action: Action) -> bool {
        matches!(
            (self, action),
            (UserRole::Author, Action::Draft)
                | (
                    UserRole::Approver,
                    Action::Draft | Action::Approve | Action::Send
                )
                | (UserRole::Approver, Action::ReadAudit)
                | (
                    UserRole::Approver,
                    Action::SendFallback | Action::ReadUnreached
                )
                | (UserRole::Admin, Action::ManageUsers | Action::ReadAudit)
        )
    }

    /// `may`, as an error that names who was refused what.
    pub fn require(self, name: &UserName, action: Action) -> Result<(), Forbidden> {
        if self.may(action) {
            Ok(())
        } else {
            Err(Forbidden {
                name: name.to_string(),
                role: self,
                action,
            })
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Author => "author",
            UserRole::Approver => "approver",
            UserRole::Admin => "admin",
        }
    }
}

impl fmt::Display for UserRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: author, approver or admin")]
pub struct UnknownRole(pub String);

impl FromStr for UserRole {
    type Err = UnknownRole;

    fn from_str(raw: &str) -> Result<UserRole, UnknownRole> {
        UserRole::ALL
            .into_iter()
            .find(|role| role.as_str().eq_ignore_ascii_case(raw.trim()))
            .ok_or_else(|| UnknownRole(raw.to_string()))
    }
}

/// A user name: what a person signs in with, and what an update's author and approver are
/// compared by (`Update::check_approval`, which ignores case): so it is kept in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct UserName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserNameError {
    #[error("a user name has {min} to {max} characters; {0:?} has {1}", min = UserName::MIN_CHARS, max = UserName::MAX_CHARS)]
    Length(String, usize),
    #[error(
        "a user name is made of the letters a to z, digits, '.', '-' and '_', and starts with \
         a letter; {0:?} is not"
    )]
    Characters(String),
}

impl UserName {
    pub const MIN_CHARS: usize = 2;
    pub const MAX_CHARS: usize = 64;

    /// ASCII only, so that no two names look alike on screen (a Cyrillic "а" for an "a").
    pub fn parse(raw: &str) -> Result<UserName, UserNameError> {
        let name = raw.trim().to_ascii_lowercase();
        let chars = name.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            return Err(UserNameError::Length(raw.to_string(), chars));
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) || !name.chars().all(allowed) {
            return Err(UserNameError::Characters(raw.to_string()));
        }
        Ok(UserName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Four eyes by account: once Tocsin has accounts, whoever drafts an update (by file or in
/// the console) and whoever approves or sends it back must each be an account whose role
/// may, so that one person cannot be its author under one name and its approver under
/// another ("Els Peeters" in a file, `els` in the console).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountRefusal {
    /// No account has this name; `known` names the enabled accounts that may.
    #[error("{}", unknown_account(.name, *.action, .known))]
    Unknown {
        name: String,
        action: Action,
        known: Vec<String>,
    },
    #[error("the account {name} is disabled: it may not {}", .action.describe())]
    Disabled { name: String, action: Action },
    #[error(transparent)]
    Role(#[from] Forbidden),
    /// A draft stored under a name that is no account (drafted before the first account):
    /// nobody can tell whether its approver is the same person.
    #[error(
        "update {id} was drafted by {author:?}, who is not an account: four eyes cannot tell \
         whether its approver is the same person. Draft it again under the author's account \
         (tocsin update draft FILE --by NAME) and discard this one"
    )]
    AuthorNotAccount { id: i64, author: String },
}

fn unknown_account(name: &str, action: Action, known: &[String]) -> String {
    let (who, how, role) = match action {
        Action::Draft => ("the author", "an update's author", "author"),
        _ => (
            "the reviewer",
            "whoever approves or sends back an update",
            "approver",
        ),
    };
    let known = if known.is_empty() {
        "none yet".to_string()
    } else {
        known.join(", ")
    };
    format!(
        "{who} {name:?} is not an account: once Tocsin has accounts, {how} must be one. Give \
         the account's name with --by NAME, or add it: tocsin user add NAME --role {role} \
         (accounts that may: {known})"
    )
}

/// A password as a person typed it: long enough, and not so long that hashing it is a way
/// to tie up the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error(
        "the password is too short: at least {} characters",
        MIN_PASSWORD_CHARS
    )]
    TooShort,
    #[error("the password is too long: at most {} characters", MAX_PASSWORD_CHARS)]
    TooLong,
}

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 1024;

pub fn check_password(password: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(PasswordError::TooShort)
    } else if chars > MAX_PASSWORD_CHARS {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// A session's or a setup link's secret, as the person holds it. Only its [`id`](Self::id)
/// is stored; `Debug` hides it, so that it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    /// From 32 random bytes, written in URL-safe base64 (a cookie value, a link's query).
    pub fn from_bytes(bytes: [u8; 32]) -> SecretToken {
        use base64::Engine;
        SecretToken(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as presented (a cookie, a form).
    pub fn presented(raw: &str) -> SecretToken {
        SecretToken(raw.trim().to_string())
    }

    /// What the store keeps and looks the token up by: the hex of its SHA-256.
    pub fn id(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The token itself, to hand to its holder once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_may_do_only_its_own_part() {
        use Action::*;
        let table = [
            (UserRole::Author, [true, false, false, false]),
            (UserRole::Approver, [true, true, false, true]),
            (UserRole::Admin, [false, false, true, false]),
        ];
        for (role, expected) in table {
            let got = [
                role.may(Draft),
                role.may(Approve),
                role.may(ManageUsers),
                role.may(ReadUnreached),
            ];
            assert_eq!(got, expected, "{role}");
        }
        let name = UserName::parse("An").expect("a valid name");
        let refused = UserRole::Author
            .require(&name, Approve)
            .expect_err("an author may not approve");
        assert_eq!(
            refused.to_string(),
            "an is author: an author may not approve an update"
        );
    }

    #[test]
    fn roles_are_read_in_any_case_and_others_are_refused() {
        assert_eq!("Approver".parse::<UserRole>(), Ok(UserRole::Approver));
        assert!("root".parse::<UserRole>().is_err());
    }

    #[test]
    fn user_names_are_lower_case_ascii_starting_with_a_letter() {
        assert_eq!(
            UserName::parse(" An.Peeters ").expect("valid").as_str(),
            "an.peeters"
        );
        assert!(UserName::parse("j").is_err());
        assert!(UserName::parse("1an").is_err());
        assert!(UserName::parse("an peeters").is_err());
        assert!(UserName::parse("аn").is_err(), "a Cyrillic a");
        assert!(UserName::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn passwords_need_twelve_characters() {
        assert_eq!(check_password("short"), Err(PasswordError::TooShort));
        assert_eq!(check_password("twelve chars"), Ok(()));
        assert_eq!(
            check_password(&"x".repeat(2000)),
            Err(PasswordError::TooLong)
        );
    }

    #[test]
    fn a_token_is_known_by_its_hash_and_never_printed() {
        let token = SecretToken::from_bytes([7; 32]);
        assert_eq!(token.id().len(), 64);
        assert_ne!(token.id(), token.expose());
        assert_eq!(SecretToken::presented(token.expose()).id(), token.id());
        assert!(!format!("{token:?}").contains(token.expose()));
    }
}
