//! Lenient deserialisers for what real clients send.
//!
//! Ansible sends JSON `null` for optional members, the Go SDK sends `""` for unset strings and the
//! zero time for unset timestamps, the JS SDK millisecond timestamps. A faithful server must accept
//! all of them, so the model treats `null` like "absent" and `""` like "unset" where that is what
//! the real server does.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// `null` or absent → `T::default()`.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// `null`, absent or `""` → `None`; anything else via `From<String>`.
pub(crate) fn empty_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + IsEmptyText,
{
    Ok(Option::<T>::deserialize(deserializer)?.filter(|value| !value.is_empty_text()))
}

/// Types whose empty spelling means "unset".
pub(crate) trait IsEmptyText {
    /// Whether the value is spelled `""`.
    fn is_empty_text(&self) -> bool;
}

impl IsEmptyText for String {
    fn is_empty_text(&self) -> bool {
        self.is_empty()
    }
}

/// Timestamp: `null`, absent or `""` → `None`; otherwise RFC 3339 (any offset, any precision).
/// Parsed straight from the borrowed text, without an intermediate `String`.
pub(crate) fn timestamp<'de, D>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error>
where
    D: Deserializer<'de>,
{
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Option<DateTime<Utc>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an RFC 3339 timestamp, \"\" or null")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            if text.is_empty() {
                return Ok(None);
            }
            DateTime::parse_from_rfc3339(text)
                .map(|parsed| Some(parsed.with_timezone(&Utc)))
                .map_err(|err| E::custom(format!("invalid RFC 3339 timestamp {text:?}: {err}")))
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, inner: D2) -> Result<Self::Value, D2::Error> {
            inner.deserialize_str(self)
        }
    }
    deserializer.deserialize_option(Visitor)
}

/// `serde(skip_serializing_if)` helper for members read with [`empty_as_none`]: `None` and `""`
/// are both omitted, so what is written reads back the same.
pub(crate) fn is_unset<T: IsEmptyText>(value: &Option<T>) -> bool {
    value.as_ref().is_none_or(IsEmptyText::is_empty_text)
}

/// `serde(skip_serializing_if)` helper for `bool` members that default to `false`.
pub(crate) fn is_false(value: &bool) -> bool {
    !*value
}

/// `serde(skip_serializing_if)` helper for numeric members that default to zero.
pub(crate) fn is_zero(value: &u64) -> bool {
    *value == 0
}
