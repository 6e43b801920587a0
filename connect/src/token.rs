//! The Connect access token, kept out of every `Debug`/`Display` output, zeroed when dropped,
//! and the one redaction path for text that may carry it.

use std::fmt;

use zeroize::Zeroizing;

/// A 1Password Connect bearer token (a JWT in practice; treated as opaque).
///
/// `Debug` and `Display` print a placeholder, never the secret; read it with
/// [`ConnectToken::expose_secret`] only where it must go on the wire. The memory holding it is
/// overwritten when the last copy is dropped.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConnectToken(Zeroizing<String>);

/// The longest excerpt of foreign text (an upstream message) [`ConnectToken::excerpt`] keeps,
/// in characters.
pub const MAX_EXCERPT_CHARS: usize = 256;

/// Parts of a token shorter than this are not redacted on their own: they would match ordinary
/// words (the whole token is always redacted, whatever its length).
const MIN_PART_LEN: usize = 8;

impl ConnectToken {
    /// Placeholder printed instead of the token.
    pub const REDACTED: &'static str = "<redacted>";

    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(Zeroizing::new(token.into()))
    }

    /// The secret itself. Never log or format the result.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether the token is empty (an unusable configuration).
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// `text` with the token removed: the whole token (of any length, trimmed or not) and each
    /// of its parts long enough to be recognised (a JWT's header, payload and signature; the
    /// pieces between `.`, `-`, `_`, `:` or whitespace), so a token cut, re-wrapped or split by
    /// an upstream still does not show.
    pub fn redact(&self, text: &str) -> String {
        let whole = self.0.as_str();
        let trimmed = whole.trim();
        if trimmed.is_empty() {
            return text.to_owned();
        }
        let mut needles: Vec<&str> = vec![whole, trimmed];
        // A JWT's three segments, and the finer pieces inside them.
        needles.extend(trimmed.split('.'));
        needles.extend(
            trimmed.split(|c: char| matches!(c, '.' | '-' | '_' | ':') || c.is_whitespace()),
        );
        needles.retain(|part| part.len() >= MIN_PART_LEN || part.len() == trimmed.len());
        // Longest first, so a part never breaks up the whole token's match.
        needles.sort_by_key(|needle| std::cmp::Reverse(needle.len()));
        needles.dedup();
        let mut out = text.to_owned();
        for needle in needles {
            if out.contains(needle) {
                out = out.replace(needle, Self::REDACTED);
            }
        }
        out
    }

    /// A bounded, redacted excerpt of foreign text (what Connect or the network said): redacted
    /// first, so cutting cannot leave part of the token, then cut to [`MAX_EXCERPT_CHARS`]
    /// characters with `…` and the count of bytes left out marking the cut. Every upstream text the engine shows or logs goes
    /// through here.
    pub fn excerpt(&self, text: &str) -> String {
        crate::error::excerpt(&self.redact(text), MAX_EXCERPT_CHARS)
    }
}

impl From<String> for ConnectToken {
    fn from(token: String) -> Self {
        Self::new(token)
    }
}

impl From<&str> for ConnectToken {
    fn from(token: &str) -> Self {
        Self::new(token)
    }
}

impl fmt::Debug for ConnectToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ConnectToken")
            .field(&Self::REDACTED)
            .finish()
    }
}

impl fmt::Display for ConnectToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::REDACTED)
    }
}

/// Stored as the plain string (the Go plugin's storage format needs it): serialising is the
/// one place besides the wire where the secret leaves this type.
impl serde::Serialize for ConnectToken {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ConnectToken {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJFUzI1NiJ9.secret-payload-part.signature-bytes";

    #[test]
    fn formatting_never_shows_the_secret() {
        let token = ConnectToken::new(JWT);
        for text in [
            format!("{token}"),
            format!("{token:?}"),
            format!("{token:#?}"),
        ] {
            assert!(!text.contains("secret-payload"), "{text}");
            assert!(text.contains(ConnectToken::REDACTED), "{text}");
        }
        assert_eq!(token.expose_secret(), JWT);
        assert!(ConnectToken::new("  ").is_empty());
    }

    #[test]
    fn redaction_catches_the_token_its_parts_and_short_tokens() {
        let token = ConnectToken::new(JWT);
        let text = token.redact(&format!("a {JWT} b eyJhbGciOiJFUzI1NiJ9 c signature-bytes"));
        assert!(!text.contains("eyJhbGciOiJFUzI1NiJ9"), "{text}");
        assert!(!text.contains("signature"), "{text}");
        assert!(text.starts_with("a <redacted> b"), "{text}");
        // A short token is still removed when it appears whole.
        let short = ConnectToken::new("abc");
        assert_eq!(short.redact("xabcx abc"), "x<redacted>x <redacted>");
        // Nothing to redact with an empty token.
        assert_eq!(ConnectToken::default().redact("text"), "text");
    }

    #[test]
    fn excerpts_are_bounded_after_redaction() {
        let token = ConnectToken::new(JWT);
        let long = format!("{}{JWT}", "x".repeat(250));
        let excerpt = token.excerpt(&long);
        assert!(!excerpt.contains("eyJ"), "{excerpt}");
        let (kept, note) = excerpt.split_once('…').unwrap_or_default();
        assert_eq!(kept.chars().count(), MAX_EXCERPT_CHARS);
        assert!(note.ends_with("more bytes not shown)"), "{excerpt}");
        assert_eq!(token.excerpt("short"), "short");
        let multibyte = "é".repeat(300);
        let cut = token.excerpt(&multibyte);
        assert_eq!(
            cut.split_once('…').unwrap_or_default().0.chars().count(),
            MAX_EXCERPT_CHARS
        );
    }

    #[test]
    fn serialises_as_the_plain_string() {
        let token = ConnectToken::new("tok");
        assert_eq!(serde_json::to_string(&token).unwrap_or_default(), "\"tok\"");
        let back: ConnectToken = serde_json::from_str("\"tok\"").unwrap_or_default();
        assert_eq!(back, token);
    }
}
