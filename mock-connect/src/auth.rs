//! Bearer tokens and the vaults each may see.
//!
//! A token is either unrestricted or limited to a list of vaults, named by id or (leniently) by
//! name, compared case-insensitively. With no token configured at all the mock accepts any
//! non-empty bearer token with access to every vault (a demo convenience; the harness always
//! configures tokens). A missing or malformed `Authorization` header is always 401.

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// Which vaults a token may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every vault.
    All,
    /// Only these vaults, by id or by name (stored lowercased).
    Vaults(Vec<String>),
}

impl Scope {
    /// Whether the vault with this id and name is in scope.
    pub fn allows(&self, vault_id: &str, vault_name: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Vaults(allowed) => allowed
                .iter()
                .any(|a| a == vault_id || a.eq_ignore_ascii_case(vault_name)),
        }
    }
}

/// A `--token` argument: `TOKEN` or `TOKEN=VAULT,VAULT`.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// The bearer token.
    pub token: String,
    /// What it may see.
    pub scope: Scope,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token itself never appears in logs.
        f.debug_struct("TokenGrant")
            .field("token", &"<redacted>")
            .field("scope", &self.scope)
            .finish()
    }
}

/// A `--token` argument that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid token grant: expected TOKEN or TOKEN=VAULT[,VAULT…] with a non-empty token")]
pub struct GrantError;

impl std::str::FromStr for TokenGrant {
    type Err = GrantError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (token, vaults) = match text.split_once('=') {
            Some((token, vaults)) => (token, Some(vaults)),
            None => (text, None),
        };
        if token.is_empty() {
            return Err(GrantError);
        }
        let scope = match vaults {
            None => Scope::All,
            Some(list) => {
                let vaults: Vec<String> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_owned)
                    .collect();
                if vaults.is_empty() {
                    return Err(GrantError);
                }
                Scope::Vaults(vaults)
            }
        };
        Ok(Self {
            token: token.to_owned(),
            scope,
        })
    }
}

/// Why a request is not authenticated (both are 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header.
    #[error("Invalid bearer token")]
    MissingBearer,
    /// A token that is not configured.
    #[error("Invalid token signature")]
    UnknownToken,
}

/// What an authenticated request may do, and the token id the activity log shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// Vaults the token may see.
    pub scope: Scope,
    /// A stable id derived from the token (never the token itself), used as `jti`.
    pub token_id: String,
}

/// The configured tokens.
#[derive(Debug, Clone)]
pub struct Tokens {
    grants: HashMap<String, Arc<Access>>,
    open: Arc<Access>,
}

impl Default for Tokens {
    fn default() -> Self {
        Self::new([])
    }
}

impl Tokens {
    /// Tokens from grants; a token given twice keeps its last scope.
    pub fn new(grants: impl IntoIterator<Item = TokenGrant>) -> Self {
        Self {
            grants: grants
                .into_iter()
                .map(|g| {
                    let access = Access {
                        scope: g.scope,
                        token_id: token_id(&g.token),
                    };
                    (g.token, Arc::new(access))
                })
                .collect(),
            open: Arc::new(Access {
                scope: Scope::All,
                token_id: "anytoken".to_owned(),
            }),
        }
    }

    /// Whether any token is configured (otherwise every bearer token is accepted).
    pub fn is_open(&self) -> bool {
        self.grants.is_empty()
    }

    /// The scope of the token in an `Authorization` header value.
    pub fn authenticate(&self, header: Option<&[u8]>) -> Result<Arc<Access>, AuthError> {
        let header = header.ok_or(AuthError::MissingBearer)?;
        let token = header
            .strip_prefix(b"Bearer ")
            .or_else(|| header.strip_prefix(b"bearer "))
            .ok_or(AuthError::MissingBearer)?;
        let token = std::str::from_utf8(token)
            .map_err(|_| AuthError::UnknownToken)?
            .trim();
        if token.is_empty() {
            return Err(AuthError::MissingBearer);
        }
        if self.is_open() {
            return Ok(Arc::clone(&self.open));
        }
        self.grants
            .get(token)
            .cloned()
            .ok_or(AuthError::UnknownToken)
    }
}

/// First 26 characters of the token's SHA-256, in lowercase hex.
fn token_id(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex.truncate(26);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_parse() {
        let all: TokenGrant = "secret".parse().unwrap();
        assert_eq!(all.scope, Scope::All);
        let some: TokenGrant = "t2=abc, Private".parse().unwrap();
        assert_eq!(
            some.scope,
            Scope::Vaults(vec!["abc".into(), "Private".into()])
        );
        assert!("=x".parse::<TokenGrant>().is_err());
        assert!("t=".parse::<TokenGrant>().is_err());
        assert!(!format!("{some:?}").contains("t2"));
    }

    #[test]
    fn authentication() {
        let tokens = Tokens::new(["a".parse().unwrap(), "b=vault1".parse().unwrap()]);
        let a = tokens.authenticate(Some(b"Bearer a")).unwrap();
        assert_eq!(a.scope, Scope::All);
        assert_eq!(a.token_id.len(), 26);
        let b = tokens.authenticate(Some(b"Bearer b")).unwrap();
        assert!(b.scope.allows("vault1", "x"));
        assert!(!b.scope.allows("v2", "x"));
        assert_ne!(a.token_id, b.token_id);
        assert_eq!(
            tokens.authenticate(Some(b"Bearer c")),
            Err(AuthError::UnknownToken)
        );
        assert_eq!(tokens.authenticate(None), Err(AuthError::MissingBearer));
        assert_eq!(
            tokens.authenticate(Some(b"Basic a")),
            Err(AuthError::MissingBearer)
        );
        let open = Tokens::default();
        assert_eq!(
            open.authenticate(Some(b"Bearer anything")).unwrap().scope,
            Scope::All
        );
        assert_eq!(
            open.authenticate(Some(b"Bearer ")),
            Err(AuthError::MissingBearer)
        );
    }

    #[test]
    fn scope_by_name_is_case_insensitive() {
        let scope = Scope::Vaults(vec!["private".into()]);
        assert!(scope.allows("someid", "Private"));
        assert!(!scope.allows("someid", "Engineering"));
    }
}
