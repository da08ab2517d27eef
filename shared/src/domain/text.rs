//! Text newtypes: usernames, e-mail addresses, passwords and display names.

use std::fmt;

use serde::Serialize;

use super::ValidationError;

/// 3..=30 characters of `[A-Za-z0-9_]`. Keeps its case for display; compared by [`Username::key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub const MIN: usize = 3;
    pub const MAX: usize = 30;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let len = raw.chars().count();
        if !(Self::MIN..=Self::MAX).contains(&len) {
            return Err(ValidationError::new(
                "username",
                format!("must be {} to {} characters", Self::MIN, Self::MAX),
            ));
        }
        if !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ValidationError::new(
                "username",
                "may contain only letters A-Z, digits and underscores",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The case-insensitive identity of the name: what uniqueness and look-ups use.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a user logs in with: their username or their e-mail address (anything with an `@`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    Username(Username),
    Email(Email),
}

impl Login {
    /// `None` when the text is neither a username nor an e-mail address: no user has it.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.contains('@') {
            Email::parse(raw).ok().map(Self::Email)
        } else {
            Username::parse(raw).ok().map(Self::Username)
        }
    }

    /// The [`Username::key`] to look up, for a username.
    pub fn username_key(&self) -> Option<String> {
        match self {
            Self::Username(username) => Some(username.key()),
            Self::Email(_) => None,
        }
    }

    /// The address to look up, for an e-mail address.
    pub fn email(&self) -> Option<&str> {
        match self {
            Self::Email(email) => Some(email.as_str()),
            Self::Username(_) => None,
        }
    }
}

/// An e-mail address, stored and compared in lower case.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// RFC 5321's limit on a forward path.
    pub const MAX: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let invalid = |reason: &str| ValidationError::new("email", reason);
        if raw.chars().count() > Self::MAX {
            return Err(invalid("must be at most 254 characters"));
        }
        if raw.chars().any(char::is_whitespace) {
            return Err(invalid("must not contain spaces"));
        }
        let Some((local, domain)) = raw.split_once('@') else {
            return Err(invalid("must contain one @"));
        };
        if domain.contains('@') {
            return Err(invalid("must contain one @"));
        }
        if local.is_empty() {
            return Err(invalid("needs a part before the @"));
        }
        let labels_ok = domain.split('.').all(|label| !label.is_empty());
        if !domain.contains('.') || !labels_ok {
            return Err(invalid("needs a domain with a dot, like example.com"));
        }
        // lettre's parser, the one the welcome mail goes out through: a bare address only, so
        // nothing like `x<victim@example.com>` (a display name around someone else's address)
        // is stored and later handed to the mailer.
        let canonical = raw.to_lowercase();
        <lettre::Address as std::str::FromStr>::from_str(&canonical)
            .map_err(|_| invalid("is not an e-mail address"))?;
        Ok(Self(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Addresses are personal data: keep them out of debug output and so out of logs.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(..)")
    }
}

/// 8..=72 bytes: bcrypt reads at most 72 bytes, and a longer password is refused rather than
/// silently truncated. Never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_BYTES: usize = 8;
    pub const MAX_BYTES: usize = 72;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let len = raw.len();
        if len < Self::MIN_BYTES {
            return Err(ValidationError::new("password", "must be at least 8 bytes"));
        }
        if len > Self::MAX_BYTES {
            return Err(ValidationError::new(
                "password",
                "must be at most 72 bytes (bcrypt's limit)",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// 1..=50 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX: usize = 50;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        let len = trimmed.chars().count();
        if len == 0 || len > Self::MAX {
            return Err(ValidationError::new(
                "display_name",
                "must be 1 to 50 characters after trimming",
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "display_name",
                "must not contain control characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn from_username(username: &Username) -> Self {
        Self(username.as_str().to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A profile's bio: 0 to 160 characters after trimming, no control characters but line breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bio(String);

impl Bio {
    pub const MAX: usize = 160;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        if trimmed.chars().count() > Self::MAX {
            return Err(ValidationError::new(
                "bio",
                "must be at most 160 characters after trimming",
            ));
        }
        if trimmed.chars().any(|c| c.is_control() && c != '\n') {
            return Err(ValidationError::new(
                "bio",
                "must not contain control characters other than line breaks",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user search: 1 to 30 characters, matched case-insensitively against the start of
/// usernames and display names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery(String);

impl UserQuery {
    pub const MAX: usize = 30;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        // DESIGN 4.3: 1..=30 characters, nothing more; a query that can match no name (only
        // spaces, say) finds nothing rather than being refused.
        if !(1..=Self::MAX).contains(&raw.chars().count()) {
            return Err(ValidationError::new("query", "must be 1 to 30 characters"));
        }
        Ok(Self(raw.to_lowercase()))
    }

    /// The query in lower case, as the stores compare it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_a_bare_address_stored_in_lower_case() {
        let ok = Email::parse("Ann.Lee+rookery@Example.COM").map(|e| e.as_str().to_owned());
        assert_eq!(ok.ok().as_deref(), Some("ann.lee+rookery@example.com"));
        for trick in [
            "x<victim@example.com>",
            "Victim <victim@example.com>",
            "\"a@b\"@example.com>",
            "ann@exa_mple.com<",
            "ann(comment)@example.com",
            "ann;bob@example.com",
            "ann,bob@example.com",
        ] {
            assert!(Email::parse(trick).is_err(), "{trick}");
        }
    }

    #[test]
    fn a_bio_is_at_most_160_characters_after_trimming() {
        assert_eq!(
            Bio::parse("  ")
                .map(|b| b.as_str().to_owned())
                .ok()
                .as_deref(),
            Some("")
        );
        assert!(Bio::parse(&format!(" {} ", "ü".repeat(160))).is_ok());
        assert!(Bio::parse(&"ü".repeat(161)).is_err());
        assert!(Bio::parse("two\nlines").is_ok());
        assert!(Bio::parse("tab\there").is_err());
    }

    #[test]
    fn a_user_query_is_1_to_30_characters_in_lower_case() {
        assert_eq!(
            UserQuery::parse("Ann")
                .map(|q| q.as_str().to_owned())
                .ok()
                .as_deref(),
            Some("ann")
        );
        assert!(UserQuery::parse("").is_err());
        assert!(UserQuery::parse("   ").is_ok());
        assert!(UserQuery::parse(&"ü".repeat(30)).is_ok());
        assert!(UserQuery::parse(&"ü".repeat(31)).is_err());
    }

    #[test]
    fn a_login_is_a_username_or_an_email_address() {
        let by_name = Login::parse("Ann_Lee").unwrap();
        assert_eq!(by_name.username_key().as_deref(), Some("ann_lee"));
        assert_eq!(by_name.email(), None);
        let by_mail = Login::parse("Ann.Lee@Example.COM").unwrap();
        assert_eq!(by_mail.email(), Some("ann.lee@example.com"));
        assert_eq!(by_mail.username_key(), None);
        for nobody in [
            "",
            "ab",
            "ann lee",
            "ann@",
            "@example.com",
            "a@b@c.com",
            &"x".repeat(31),
        ] {
            assert_eq!(Login::parse(nobody), None, "{nobody:?}");
        }
    }

    #[test]
    fn username_length_boundaries() {
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(30)).is_ok());
        assert!(Username::parse(&"a".repeat(31)).is_err());
        assert!(Username::parse("").is_err());
    }

    #[test]
    fn username_charset() {
        assert!(Username::parse("Alice_42").is_ok());
        for bad in ["al ice", "al-ice", "ali.ce", "élise", "al@ce", "abc\n"] {
            let err = Username::parse(bad).err();
            assert_eq!(err.map(|e| e.field), Some("username"), "{bad:?}");
        }
    }

    #[test]
    fn username_keeps_case_but_keys_lower() {
        let name = Username::parse("AliCe").ok();
        assert_eq!(name.as_ref().map(Username::as_str), Some("AliCe"));
        assert_eq!(name.map(|n| n.key()), Some("alice".to_owned()));
    }

    #[test]
    fn email_rules() {
        let ok = Email::parse("Ann.Lee@Example.COM").ok();
        assert_eq!(ok.as_ref().map(Email::as_str), Some("ann.lee@example.com"));
        for bad in [
            "",
            "no-at.example.com",
            "@example.com",
            "a@b@example.com",
            "ann@localhost",
            "ann@example.",
            "ann@.com",
            "ann lee@example.com",
            " ann@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn email_debug_hides_address() {
        let email = Email::parse("ann@example.com").ok();
        assert!(!format!("{email:?}").contains("ann"));
    }

    #[test]
    fn password_byte_boundaries() {
        assert!(Password::parse(&"p".repeat(7)).is_err());
        assert!(Password::parse(&"p".repeat(8)).is_ok());
        assert!(Password::parse(&"p".repeat(72)).is_ok());
        assert!(Password::parse(&"p".repeat(73)).is_err());
    }

    #[test]
    fn password_counts_bytes_not_characters() {
        // 4 two-byte characters = 8 bytes: long enough; 37 of them = 74 bytes: too long.
        assert!(Password::parse(&"é".repeat(4)).is_ok());
        assert!(Password::parse(&"é".repeat(37)).is_err());
        assert!(Password::parse(&"é".repeat(3)).is_err());
    }

    #[test]
    fn password_debug_is_redacted() {
        let password = Password::parse("hunter2hunter2").ok();
        assert!(!format!("{password:?}").contains("hunter2"));
    }

    #[test]
    fn display_name_trims_and_bounds() {
        let name = DisplayName::parse("  Ann Lee  ").ok();
        assert_eq!(name.as_ref().map(DisplayName::as_str), Some("Ann Lee"));
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("").is_err());
        assert!(DisplayName::parse(&"ü".repeat(50)).is_ok());
        assert!(DisplayName::parse(&"ü".repeat(51)).is_err());
        assert!(DisplayName::parse("bell\u{7}").is_err());
    }
}
