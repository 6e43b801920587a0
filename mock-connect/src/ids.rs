//! Identifiers in the Connect format: 26 characters of lowercase base32.
//!
//! Real Connect ids are the unpadded RFC 4648 base32 encoding of 16 random bytes, lowercased
//! (alphabet `a-z2-7`). Input ids are only required to look like `[a-z0-9]{26}`: the official SDKs'
//! test ids contain `0`, `1`, `8`, `9` and the real server answers 404 (not 400) for them.

use data_encoding::BASE32_NOPAD;

/// Length of every vault, item and file id.
pub const ID_LEN: usize = 26;

/// A fresh random id, e.g. `ionaiwtdvgclrixbt6ztpqcxnq`.
pub fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    BASE32_NOPAD.encode(&bytes).to_ascii_lowercase()
}

/// Whether `candidate` has the syntax of a Connect id (the server answers 400 otherwise).
pub fn is_valid_id(candidate: &str) -> bool {
    candidate.len() == ID_LEN
        && candidate
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert!(is_valid_id(&a), "{a}");
        assert_eq!(a.len(), ID_LEN);
        assert_ne!(a, b);
        assert!(a.bytes().all(|c| matches!(c, b'a'..=b'z' | b'2'..=b'7')));
    }

    #[test]
    fn syntax_check() {
        assert!(is_valid_id("abcdefghijklmnop1234567890"));
        assert!(!is_valid_id("ABCDEFGHIJKLMNOP1234567890"));
        assert!(!is_valid_id("short"));
        assert!(!is_valid_id("abcdefghijklmnop123456789-"));
        assert!(!is_valid_id("Private"));
    }
}
