//! Mentions (`@name`) and tags (`#tag`) in post content, by the rules of DESIGN section 4.2.
//!
//! A marker counts only at the start of the text or after a character that is not a letter, a
//! digit, `_` or `@` (so `ann@example.com` mentions nobody and `@@ann` is plain text). What
//! follows is the longest run of name characters; a run of the wrong length is plain text, not
//! a shorter mention or tag. Whether a mentioned name is a user is for the caller to look up.

use super::Username;

/// The `@name` candidates of `content`: 3..=30 of `[A-Za-z0-9_]`, each once (compared without
/// case), in order of first appearance.
pub fn mention_candidates(content: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in runs(content, '@', |c| c.is_ascii_alphanumeric() || c == '_') {
        let len = name.chars().count();
        if (Username::MIN..=Username::MAX).contains(&len)
            && !names.iter().any(|seen| seen.eq_ignore_ascii_case(name))
        {
            names.push(name.to_owned());
        }
    }
    names
}

/// The most characters a tag may have.
pub const TAG_MAX: usize = 50;

/// The `#tag`s of `content`: 1..=50 Unicode letters, digits and `_`, in lower case, each once,
/// in order of first appearance.
pub fn tags(content: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for run in runs(content, '#', is_tag_char) {
        if run.chars().count() > TAG_MAX || run.is_empty() {
            continue;
        }
        let tag = run.to_lowercase();
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

/// A tag as a reader asks for it (`GET /tags/{tag}/posts`): the same characters and length as
/// in content, compared in lower case. `None` for text no post can be tagged with.
pub fn normalize_tag(raw: &str) -> Option<String> {
    let len = raw.chars().count();
    ((1..=TAG_MAX).contains(&len) && raw.chars().all(is_tag_char)).then(|| raw.to_lowercase())
}

fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// What may stand right before a marker: anything but a letter, a digit, `_` or `@`.
fn may_precede(c: char) -> bool {
    !(c.is_alphanumeric() || c == '_' || c == '@')
}

/// The longest run of `part` characters after each `marker` that stands where a marker may.
fn runs(content: &str, marker: char, part: fn(char) -> bool) -> Vec<&str> {
    let mut found = Vec::new();
    let mut previous: Option<char> = None;
    for (at, c) in content.char_indices() {
        if c == marker && previous.is_none_or(may_precede) {
            let rest = &content[at + c.len_utf8()..];
            let end = rest.find(|c: char| !part(c)).unwrap_or(rest.len());
            found.push(&rest[..end]);
        }
        previous = Some(c);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mentions(content: &str) -> Vec<String> {
        mention_candidates(content)
    }

    #[test]
    fn a_mention_may_start_the_text_or_follow_punctuation_or_space() {
        assert_eq!(mentions("@ann hi"), ["ann"]);
        assert_eq!(mentions("hi @ann"), ["ann"]);
        assert_eq!(mentions("(@ann), @bob! \"@cat\""), ["ann", "bob", "cat"]);
        assert_eq!(mentions("hi\n@ann"), ["ann"]);
        assert_eq!(mentions("cc:@ann"), ["ann"]);
    }

    #[test]
    fn a_mention_never_follows_a_letter_a_digit_an_underscore_or_an_at() {
        assert!(mentions("ann@example.com").is_empty());
        assert!(mentions("x9@ann").is_empty());
        assert!(mentions("_@ann").is_empty());
        assert!(mentions("@@ann").is_empty());
        assert!(
            mentions("é@ann").is_empty(),
            "a Unicode letter counts as a letter"
        );
        assert_eq!(
            mentions("@ann@bob"),
            ["ann"],
            "the second @ follows a letter"
        );
    }

    #[test]
    fn a_mention_is_the_whole_run_of_3_to_30_name_characters() {
        assert!(mentions("@ab").is_empty(), "2 characters");
        assert_eq!(mentions("@abc"), ["abc"], "3 characters");
        let thirty = "a".repeat(30);
        assert_eq!(mentions(&format!("@{thirty}")), [thirty.as_str()]);
        assert!(
            mentions(&format!("@{thirty}b")).is_empty(),
            "31: not cut to 30"
        );
        assert_eq!(mentions("@ann's post"), ["ann"]);
        assert_eq!(mentions("@ann_lee."), ["ann_lee"]);
        assert_eq!(
            mentions("@anné"),
            ["ann"],
            "the run stops at a non-ASCII letter"
        );
        assert!(mentions("@ ann").is_empty());
        assert!(mentions("@").is_empty());
    }

    #[test]
    fn each_name_is_listed_once_in_order_of_first_appearance() {
        assert_eq!(mentions("@bob @ann @BOB @Ann @cat"), ["bob", "ann", "cat"]);
    }

    #[test]
    fn tags_follow_the_same_rule_and_allow_unicode_letters() {
        assert_eq!(
            tags("#Rust and #rust, #café #日本語 #x"),
            ["rust", "café", "日本語", "x"]
        );
        assert_eq!(tags("#a_b1."), ["a_b1"]);
        assert!(tags("a#tag b@#tag _#tag").is_empty());
        assert_eq!(tags("##tag"), ["tag"], "# may follow #");
        assert!(tags("# tag #").is_empty());
        let fifty = "t".repeat(50);
        assert_eq!(tags(&format!("#{fifty}")), [fifty.as_str()]);
        assert!(tags(&format!("#{fifty}t")).is_empty(), "51: not cut to 50");
        assert_eq!(tags("#ÉTÉ"), ["été"]);
    }

    #[test]
    fn a_tag_asked_for_is_normalized_like_one_written() {
        assert_eq!(normalize_tag("Rust").as_deref(), Some("rust"));
        assert_eq!(normalize_tag("日本語").as_deref(), Some("日本語"));
        assert_eq!(normalize_tag(""), None);
        assert_eq!(normalize_tag("a-b"), None);
        assert_eq!(normalize_tag(&"t".repeat(51)), None);
    }
}
