//! The Connect access token, kept out of every `Debug`/`Display` output.

use std::fmt;

/// A 1Password Connect bearer token (a JWT in practice; treated as opaque).
///
/// `Debug` and `Display` print a placeholder, never the secret; read it with
/// [`ConnectToken::expose_secret`] only where it must go on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectToken(String);

impl ConnectToken {
    /// Placeholder printed instead of the token.
    pub const REDACTED: &'static str = "<redacted>";

    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The secret itself. Never log or format the result.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether the token is empty (an unusable configuration).
    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl From<String> for ConnectToken {
    fn from(token: String) -> Self {
        Self(token)
    }
}

impl From<&str> for ConnectToken {
    fn from(token: &str) -> Self {
        Self(token.to_owned())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_never_shows_the_secret() {
        let token = ConnectToken::new("eyJhbGciOiJFUzI1NiJ9.secret-payload.sig");
        for text in [
            format!("{token}"),
            format!("{token:?}"),
            format!("{token:#?}"),
        ] {
            assert!(!text.contains("secret-payload"), "{text}");
            assert!(text.contains(ConnectToken::REDACTED), "{text}");
        }
        assert_eq!(
            token.expose_secret(),
            "eyJhbGciOiJFUzI1NiJ9.secret-payload.sig"
        );
        assert!(ConnectToken::new("  ").is_empty());
    }
}
