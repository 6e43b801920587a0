//! The one place a Connect URL is checked: every client and every configuration front end
//! (the engine's `op_connect_host`) accepts exactly the URLs [`BaseUrl::parse`] accepts.

use std::fmt;

/// A usable Connect base URL: `http` or `https`, with a host, without credentials, query or
/// fragment; trailing slashes removed (so `https://h/` + `/v1/…` never gives `//v1`). A path
/// prefix is kept (Connect behind a reverse proxy).
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl {
    url: url::Url,
    base: String,
    origin: String,
}

/// Why a Connect URL is unusable; the text quotes the value and says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Connect URL {raw:?} {reason}")]
pub struct UrlError {
    /// The rejected text.
    pub raw: String,
    /// What is wrong with it.
    pub reason: String,
}

impl BaseUrl {
    /// Parses and checks `raw` (surrounding whitespace is ignored).
    pub fn parse(raw: &str) -> Result<Self, UrlError> {
        let invalid = |reason: String| UrlError {
            raw: raw.to_owned(),
            reason,
        };
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(invalid("is empty".into()));
        }
        let url = url::Url::parse(trimmed).map_err(|err| {
            invalid(format!(
                "is invalid ({err}); give the scheme, e.g. https://connect.example.com:8443"
            ))
        })?;
        let scheme = url.scheme();
        if !matches!(scheme, "http" | "https") {
            return Err(invalid(format!(
                "must start with http:// or https://, not {scheme}:"
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("has no host".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not contain credentials".into()));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("must not contain a query or fragment".into()));
        }
        let base = url.as_str().trim_end_matches('/').to_owned();
        let origin = url.origin().ascii_serialization();
        Ok(Self { url, base, origin })
    }

    /// The normalised base URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// Scheme, host and port, for messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The parsed URL.
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// Whether the URL uses https.
    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// Whether the URL points at this machine (`localhost` or a loopback address): plain http
    /// there keeps the token on the machine, and proxies never apply.
    pub fn is_loopback(&self) -> bool {
        match self.url.host() {
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                name == "localhost" || name.ends_with(".localhost")
            }
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BaseUrl").field(&self.base).finish()
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        let url = BaseUrl::parse(" https://op.example.com:8443/prefix// ").unwrap();
        assert_eq!(url.as_str(), "https://op.example.com:8443/prefix");
        assert_eq!(url.origin(), "https://op.example.com:8443");
        assert!(url.is_https() && !url.is_loopback());
        for local in [
            "http://localhost:1",
            "http://127.0.0.1:8080/",
            "http://[::1]:1",
            "http://a.localhost",
        ] {
            assert!(BaseUrl::parse(local).unwrap().is_loopback(), "{local}");
        }
    }

    #[test]
    fn rejects_what_cannot_be_a_connect_server() {
        for bad in [
            "",
            "  ",
            "localhost:8080",
            "ftp://x",
            "not a url",
            "https://",
            "https://u:p@h",
            "https://h/?q=1",
            "https://h/#f",
        ] {
            let err = BaseUrl::parse(bad).unwrap_err();
            assert!(err.to_string().starts_with("Connect URL"), "{err}");
        }
    }
}
