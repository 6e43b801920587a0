//! Values generated from a recipe (`generate: true` on a field).
//!
//! Defaults follow the Connect docs: 32 characters drawn from letters, digits and symbols. The
//! recipe may choose the length (1–64), any subset of the three character sets (empty means all)
//! and characters to exclude. Every requested set contributes at least one character when the
//! length allows, so a "letters and digits" value of length ≥ 2 always has both.

use rand::Rng;
use rand::seq::SliceRandom;

/// Default generated length.
pub const DEFAULT_LENGTH: i64 = 32;
/// Shortest allowed length.
pub const MIN_LENGTH: i64 = 1;
/// Longest allowed length.
pub const MAX_LENGTH: i64 = 64;

const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DIGITS: &str = "0123456789";
const SYMBOLS: &str = "!#$%&()*+,-./:;<=>?@[]^_{|}~";

/// A recipe the server refuses (answered with 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecipeError {
    /// Length out of range.
    #[error("Invalid recipe: length {0} is not between 1 and 64")]
    Length(i64),
    /// A character set that is not LETTERS, DIGITS or SYMBOLS.
    #[error("Invalid recipe: unknown character set `{0}`, expected LETTERS, DIGITS or SYMBOLS")]
    CharacterSet(String),
    /// The exclusions remove every character of a requested set.
    #[error("Invalid recipe: excludeCharacters removes every character of {0}")]
    EmptySet(&'static str),
}

/// A generated value and its entropy in bits.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// The generated value.
    pub value: String,
    /// `length × log2(alphabet size)`, what Connect reports as `entropy`.
    pub entropy: f64,
}

/// Generates a value; `None` arguments take the documented defaults.
pub fn generate(
    length: Option<i64>,
    character_sets: &[String],
    exclude: Option<&str>,
) -> Result<Generated, RecipeError> {
    let length = length.unwrap_or(DEFAULT_LENGTH);
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
        return Err(RecipeError::Length(length));
    }
    let length = usize::try_from(length).map_err(|_| RecipeError::Length(length))?;
    let mut wanted: Vec<(&'static str, &'static str)> = Vec::with_capacity(3);
    for set in character_sets {
        let named = match set.to_ascii_uppercase().as_str() {
            "LETTERS" => ("LETTERS", LETTERS),
            "DIGITS" => ("DIGITS", DIGITS),
            "SYMBOLS" => ("SYMBOLS", SYMBOLS),
            _ => return Err(RecipeError::CharacterSet(set.clone())),
        };
        if !wanted.contains(&named) {
            wanted.push(named);
        }
    }
    if wanted.is_empty() {
        wanted = vec![
            ("LETTERS", LETTERS),
            ("DIGITS", DIGITS),
            ("SYMBOLS", SYMBOLS),
        ];
    }
    let exclude = exclude.unwrap_or("");
    let mut pools: Vec<Vec<char>> = Vec::with_capacity(wanted.len());
    for (name, chars) in wanted {
        let pool: Vec<char> = chars.chars().filter(|c| !exclude.contains(*c)).collect();
        if pool.is_empty() {
            return Err(RecipeError::EmptySet(name));
        }
        pools.push(pool);
    }
    let alphabet: Vec<char> = pools.iter().flatten().copied().collect();
    let mut rng = rand::rng();
    let mut chars: Vec<char> = pools
        .iter()
        .take(length)
        .map(|pool| pool[rng.random_range(0..pool.len())])
        .collect();
    while chars.len() < length {
        chars.push(alphabet[rng.random_range(0..alphabet.len())]);
    }
    chars.shuffle(&mut rng);
    #[allow(clippy::cast_precision_loss, reason = "lengths and alphabets are tiny")]
    let entropy = length as f64 * (alphabet.len() as f64).log2();
    Ok(Generated {
        value: chars.into_iter().collect(),
        entropy: (entropy * 100.0).round() / 100.0,
    })
}

/// Entropy of an existing value, estimated from the character classes it uses.
pub fn entropy_of(value: &str) -> f64 {
    let mut alphabet = 0usize;
    if value.chars().any(|c| c.is_ascii_alphabetic()) {
        alphabet += LETTERS.len();
    }
    if value.chars().any(|c| c.is_ascii_digit()) {
        alphabet += DIGITS.len();
    }
    if value.chars().any(|c| !c.is_ascii_alphanumeric()) {
        alphabet += SYMBOLS.len();
    }
    if alphabet == 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss, reason = "lengths and alphabets are tiny")]
    let bits = value.chars().count() as f64 * (alphabet as f64).log2();
    (bits * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn defaults_are_32_mixed_characters() {
        let g = generate(None, &[], None).unwrap();
        assert_eq!(g.value.chars().count(), 32);
        assert!(g.value.chars().any(|c| c.is_ascii_alphabetic()));
        assert!(g.value.chars().any(|c| c.is_ascii_digit()));
        assert!(g.value.chars().any(|c| SYMBOLS.contains(c)));
        assert!(g.entropy > 200.0 && g.entropy < 215.0, "{}", g.entropy);
    }

    #[test]
    fn sets_and_exclusions_are_honoured() {
        for _ in 0..50 {
            let g = generate(Some(12), &sets(&["DIGITS", "LETTERS"]), Some("0123abcABC")).unwrap();
            assert_eq!(g.value.len(), 12);
            assert!(g.value.chars().all(|c| c.is_ascii_alphanumeric()));
            assert!(!g.value.chars().any(|c| "0123abcABC".contains(c)));
            assert!(g.value.chars().any(|c| c.is_ascii_digit()));
            assert!(g.value.chars().any(|c| c.is_ascii_alphabetic()));
        }
        let digits = generate(Some(64), &sets(&["digits"]), None).unwrap();
        assert!(digits.value.chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn bad_recipes_are_rejected() {
        assert_eq!(generate(Some(0), &[], None), Err(RecipeError::Length(0)));
        assert_eq!(generate(Some(65), &[], None), Err(RecipeError::Length(65)));
        assert!(matches!(
            generate(None, &sets(&["EMOJI"]), None),
            Err(RecipeError::CharacterSet(_))
        ));
        assert_eq!(
            generate(None, &sets(&["DIGITS"]), Some("0123456789")),
            Err(RecipeError::EmptySet("DIGITS"))
        );
    }

    #[test]
    fn length_one_with_many_sets() {
        let g = generate(Some(1), &[], None).unwrap();
        assert_eq!(g.value.chars().count(), 1);
    }
}
