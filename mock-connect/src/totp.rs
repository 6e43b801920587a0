//! RFC 6238 time-based one-time passwords for `OTP` fields.
//!
//! A field value is either a bare base32 secret or an `otpauth://totp/…?secret=…` URI whose
//! `algorithm` (SHA1, SHA256, SHA512), `digits` (6–8) and `period` (seconds) parameters are
//! honoured. Connect returns the current code in the field's read-only `totp` member.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};

/// Hash function of the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA1 (the default).
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// A parsed TOTP configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totp {
    secret: Vec<u8>,
    algorithm: Algorithm,
    digits: u32,
    period: u64,
}

/// A field value that does not hold a usable TOTP secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// The URI could not be parsed or has no secret.
    #[error("invalid otpauth URI: {0}")]
    Uri(String),
    /// The secret is not base32.
    #[error("TOTP secret is not valid base32")]
    Secret,
    /// An unsupported parameter value.
    #[error("unsupported TOTP parameter {0}")]
    Parameter(String),
}

impl Totp {
    /// Parses a field value (bare base32 secret or `otpauth://` URI).
    pub fn parse(value: &str) -> Result<Self, TotpError> {
        let value = value.trim();
        if !value.to_ascii_lowercase().starts_with("otpauth://") {
            return Ok(Self {
                secret: decode_secret(value)?,
                algorithm: Algorithm::Sha1,
                digits: 6,
                period: 30,
            });
        }
        let uri = url::Url::parse(value).map_err(|e| TotpError::Uri(e.to_string()))?;
        let mut totp = Self {
            secret: Vec::new(),
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
        };
        let mut has_secret = false;
        for (key, val) in uri.query_pairs() {
            match key.to_ascii_lowercase().as_str() {
                "secret" => {
                    totp.secret = decode_secret(&val)?;
                    has_secret = true;
                }
                "algorithm" => {
                    totp.algorithm = match val.to_ascii_uppercase().as_str() {
                        "SHA1" => Algorithm::Sha1,
                        "SHA256" => Algorithm::Sha256,
                        "SHA512" => Algorithm::Sha512,
                        _ => return Err(TotpError::Parameter(format!("algorithm={val}"))),
                    }
                }
                "digits" => {
                    totp.digits = val
                        .parse()
                        .ok()
                        .filter(|d| (6..=8).contains(d))
                        .ok_or_else(|| TotpError::Parameter(format!("digits={val}")))?;
                }
                "period" => {
                    totp.period = val
                        .parse()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| TotpError::Parameter(format!("period={val}")))?;
                }
                _ => {}
            }
        }
        if !has_secret {
            return Err(TotpError::Uri("missing secret".to_owned()));
        }
        Ok(totp)
    }

    /// The code valid at `unix_seconds`.
    pub fn code_at(&self, unix_seconds: u64) -> String {
        let counter = (unix_seconds / self.period).to_be_bytes();
        let digest = match self.algorithm {
            Algorithm::Sha1 => hmac_digest::<Hmac<sha1::Sha1>>(&self.secret, &counter),
            Algorithm::Sha256 => hmac_digest::<Hmac<sha2::Sha256>>(&self.secret, &counter),
            Algorithm::Sha512 => hmac_digest::<Hmac<sha2::Sha512>>(&self.secret, &counter),
        };
        // Dynamic truncation (RFC 4226 §5.3); digests are at least 20 bytes long.
        let offset = usize::from(digest[digest.len() - 1] & 0x0f);
        let binary = u32::from_be_bytes([
            digest[offset] & 0x7f,
            digest[offset + 1],
            digest[offset + 2],
            digest[offset + 3],
        ]);
        let code = binary % 10u32.pow(self.digits);
        format!("{code:0width$}", width = self.digits as usize)
    }

    /// The code valid now.
    pub fn current_code(&self) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.code_at(now)
    }
}

fn hmac_digest<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so construction cannot fail.
    match <M as hmac::digest::KeyInit>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

fn decode_secret(secret: &str) -> Result<Vec<u8>, TotpError> {
    let cleaned: String = secret
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=' && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if cleaned.is_empty() {
        return Err(TotpError::Secret);
    }
    BASE32_NOPAD
        .decode(cleaned.as_bytes())
        .map_err(|_| TotpError::Secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B, SHA1 seed "12345678901234567890".
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc6238_sha1_vectors() {
        let uri = format!("otpauth://totp/x?secret={RFC_SECRET}&digits=8");
        let totp = Totp::parse(&uri).unwrap();
        assert_eq!(totp.code_at(59), "94287082");
        assert_eq!(totp.code_at(1_111_111_109), "07081804");
        assert_eq!(totp.code_at(1_234_567_890), "89005924");
        assert_eq!(totp.code_at(20_000_000_000), "65353130");
    }

    #[test]
    fn rfc6238_sha256_vector() {
        // Seed "12345678901234567890123456789012".
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA";
        let uri = format!("otpauth://totp/x?secret={secret}&digits=8&algorithm=SHA256");
        assert_eq!(Totp::parse(&uri).unwrap().code_at(59), "46119246");
    }

    #[test]
    fn bare_secret_defaults_to_six_digits() {
        let totp = Totp::parse("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").unwrap();
        assert_eq!(totp.code_at(59), "287082");
        assert_eq!(totp.current_code().len(), 6);
    }

    #[test]
    fn bad_values_are_errors() {
        assert_eq!(Totp::parse("not base32 !"), Err(TotpError::Secret));
        assert!(Totp::parse("otpauth://totp/x?issuer=a").is_err());
        assert!(Totp::parse(&format!("otpauth://totp/x?secret={RFC_SECRET}&digits=3")).is_err());
    }
}
