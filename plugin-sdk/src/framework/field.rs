//! Field schemas and Vault-style weak decoding of request values.

use std::time::Duration;

use serde_json::{Map, Value};

use super::error::Error;

/// The type of a field; values are decoded "weakly" like Vault's framework does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A string; numbers and booleans are turned into their text.
    String,
    /// A signed integer; numeric strings and booleans (1/0) are accepted.
    Int,
    /// A boolean; `"true"`, `"1"`, `"t"`, numbers (non-zero is true) are accepted.
    Bool,
    /// A duration in seconds: a number, `"10"`, or a Go-style string like `"1h30m"`, `"90s"`, `"2d"`.
    Duration,
    /// A JSON object; a string holding a JSON object is accepted.
    Map,
    /// A list of strings; a string holding a JSON list of strings is that list, any other
    /// string is split at commas (and trimmed), a lone number or boolean is a one-element list.
    StringSlice,
    /// A list of JSON objects: a list, a single object (one element), an empty object or `null`
    /// (no elements), or a string holding any of those as JSON — what a CLI sends for
    /// `key=@file.json`.
    ObjectList,
    /// Any JSON value, untouched.
    Json,
}

/// A decoded field value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// Decoded [`FieldType::String`].
    String(String),
    /// Decoded [`FieldType::Int`].
    Int(i64),
    /// Decoded [`FieldType::Bool`].
    Bool(bool),
    /// Decoded [`FieldType::Duration`].
    Duration(Duration),
    /// Decoded [`FieldType::Map`].
    Map(Map<String, Value>),
    /// Decoded [`FieldType::StringSlice`].
    StringSlice(Vec<String>),
    /// Decoded [`FieldType::ObjectList`].
    ObjectList(Vec<Map<String, Value>>),
    /// Decoded [`FieldType::Json`].
    Json(Value),
}

/// One field of a path: name, type, default, description.
#[derive(Debug, Clone)]
pub struct Field {
    pub(crate) name: String,
    pub(crate) kind: FieldType,
    pub(crate) description: String,
    pub(crate) default: Option<FieldValue>,
    pub(crate) required: bool,
}

impl Field {
    /// A field called `name` of type `kind`.
    pub fn new(name: impl Into<String>, kind: FieldType) -> Self {
        Self {
            name: name.into(),
            kind,
            description: String::new(),
            default: None,
            required: false,
        }
    }

    /// A [`FieldType::String`] field.
    pub fn string(name: impl Into<String>) -> Self {
        Self::new(name, FieldType::String)
    }
    /// A [`FieldType::Int`] field.
    pub fn int(name: impl Into<String>) -> Self {
        Self::new(name, FieldType::Int)
    }
    /// A [`FieldType::Bool`] field.
    pub fn bool(name: impl Into<String>) -> Self {
        Self::new(name, FieldType::Bool)
    }
    /// A [`FieldType::Duration`] field.
    pub fn duration(name: impl Into<String>) -> Self {
        Self::new(name, FieldType::Duration)
    }
    /// A [`FieldType::Map`] field.
    pub fn map(name: impl Into<String>) -> Self {
        Self::new(name, FieldType::Map)
    }
    /// A [`FieldType::StringSlice`] field.
    pub fn string_slice(name: impl Into<String>) -> Self {
        Self::new(name, FieldType::StringSlice)
    }
    /// A [`FieldType::ObjectList`] field.
    pub fn object_list(name: impl Into<String>) -> Self {
        Self::new(name, FieldType::ObjectList)
    }
    /// A [`FieldType::Json`] field.
    pub fn json(name: impl Into<String>) -> Self {
        Self::new(name, FieldType::Json)
    }

    /// Help text for the field.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    /// Value used when the request does not carry the field. It is decoded like request input,
    /// so e.g. `json!("1h")` works for a duration; a default that does not decode is ignored.
    #[must_use]
    pub fn default(mut self, value: Value) -> Self {
        self.default = decode(self.kind, &value).ok();
        self
    }

    /// Reject create/update/patch requests that do not carry the field.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The field's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The field's type.
    pub fn kind(&self) -> FieldType {
        self.kind
    }

    /// Decodes `raw` as this field, with a 400 error naming the field on failure.
    pub fn decode(&self, raw: &Value) -> Result<FieldValue, Error> {
        decode(self.kind, raw).map_err(|why| {
            Error::bad_request(format!("invalid value for field \"{}\": {why}", self.name))
        })
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Decodes one raw JSON value to `kind`, weakly. The error says why, without the field name.
pub fn decode(kind: FieldType, raw: &Value) -> Result<FieldValue, String> {
    let wrong = || format!("expected {kind:?}, got {}", type_name(raw));
    match kind {
        FieldType::String => scalar_text(raw).map(FieldValue::String).ok_or_else(wrong),
        FieldType::Int => decode_int(raw).map(FieldValue::Int),
        FieldType::Bool => decode_bool(raw).map(FieldValue::Bool),
        FieldType::Duration => decode_duration(raw).map(FieldValue::Duration),
        FieldType::Map => match raw {
            Value::Object(map) => Ok(FieldValue::Map(map.clone())),
            Value::String(s) if s.trim().is_empty() => Ok(FieldValue::Map(Map::new())),
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(map)) => Ok(FieldValue::Map(map)),
                _ => Err(format!("{:?} is not a JSON object", preview(s))),
            },
            _ => Err(wrong()),
        },
        FieldType::StringSlice => match raw {
            Value::Array(items) => items
                .iter()
                .map(|item| scalar_text(item).ok_or_else(wrong))
                .collect::<Result<Vec<_>, _>>()
                .map(FieldValue::StringSlice),
            Value::String(s) => {
                if let Ok(Value::Array(items)) = serde_json::from_str::<Value>(s) {
                    return decode(kind, &Value::Array(items));
                }
                Ok(FieldValue::StringSlice(
                    s.split(',')
                        .map(str::trim)
                        .filter(|part| !part.is_empty())
                        .map(str::to_owned)
                        .collect(),
                ))
            }
            Value::Number(_) | Value::Bool(_) => Ok(FieldValue::StringSlice(
                scalar_text(raw).into_iter().collect(),
            )),
            _ => Err(wrong()),
        },
        FieldType::ObjectList => decode_object_list(raw)
            .map(FieldValue::ObjectList)
            .map_err(|e| e.to_string()),
        FieldType::Json => Ok(FieldValue::Json(raw.clone())),
    }
}

/// Why a [`FieldType::ObjectList`] value did not decode, and which element (if one) is at fault,
/// so callers can name it (`fields[2]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListError {
    /// The offending element, when the list itself was fine.
    pub index: Option<usize>,
    /// Why, without the field name.
    pub reason: String,
}

impl std::fmt::Display for ListError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(index) => write!(f, "element {index}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// Decodes a [`FieldType::ObjectList`] value (see there for what is accepted).
pub fn decode_object_list(raw: &Value) -> Result<Vec<Map<String, Value>>, ListError> {
    let whole = |reason: String| ListError {
        index: None,
        reason,
    };
    let parsed;
    let raw = match raw {
        Value::String(text) if text.trim().is_empty() => return Ok(Vec::new()),
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).map_err(|_| {
                whole(format!(
                    "expected a list of objects (or JSON text of one), got the string {:?}",
                    preview(text)
                ))
            })?;
            if parsed.is_string() {
                return Err(whole("expected a list of objects, got a string".into()));
            }
            &parsed
        }
        other => other,
    };
    match raw {
        Value::Null => Ok(Vec::new()),
        Value::Object(map) if map.is_empty() => Ok(Vec::new()),
        Value::Object(map) => Ok(vec![map.clone()]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::Object(map) => Ok(map.clone()),
                other => Err(ListError {
                    index: Some(index),
                    reason: format!("expected an object, got {}", type_name(other)),
                }),
            })
            .collect(),
        other => Err(whole(format!(
            "expected a list of objects, got {}",
            type_name(other)
        ))),
    }
}

/// The start of a rejected text, so a huge value is not echoed whole in an error.
pub(crate) fn preview(text: &str) -> String {
    const SHOWN: usize = 40;
    let mut short: String = text.chars().take(SHOWN).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

fn decode_int(raw: &Value) -> Result<i64, String> {
    match raw {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| format!("{n} is not an integer")),
        Value::String(s) if s.trim().is_empty() => Ok(0),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("cannot parse {:?} as an integer", preview(s))),
        Value::Bool(b) => Ok(i64::from(*b)),
        other => Err(format!("expected integer, got {}", type_name(other))),
    }
}

fn decode_bool(raw: &Value) -> Result<bool, String> {
    match raw {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) => match s.trim() {
            "" => Ok(false),
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
            _ => Err(format!("cannot parse {:?} as a boolean", preview(s))),
        },
        other => Err(format!("expected boolean, got {}", type_name(other))),
    }
}

fn decode_duration(raw: &Value) -> Result<Duration, String> {
    match raw {
        // Checked conversion: `from_secs_f64` panics on values too large for a Duration (1e20).
        Value::Number(n) => n
            .as_f64()
            .filter(|secs| *secs >= 0.0)
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .ok_or_else(|| format!("{n} is not a valid duration (seconds, at least 0)")),
        Value::String(s) => parse_duration(s.trim()),
        other => Err(format!("expected duration, got {}", type_name(other))),
    }
}

/// Parses `"90"` (seconds) or Go-style `"1h30m"`, `"1.5s"`, `"300ms"`, `"2d"`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("cannot parse {:?} as a duration", preview(text));
    if text.is_empty() {
        return Ok(Duration::ZERO);
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = 0.0_f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        if number_len == 0 {
            return Err(invalid());
        }
        let value: f64 = rest[..number_len].parse().map_err(|_| invalid())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => return Err(invalid()),
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn weak_scalars() {
        assert_eq!(
            decode(FieldType::Bool, &json!("true")),
            Ok(FieldValue::Bool(true))
        );
        assert_eq!(
            decode(FieldType::Bool, &json!(0)),
            Ok(FieldValue::Bool(false))
        );
        assert!(decode(FieldType::Bool, &json!("yes please")).is_err());
        assert_eq!(
            decode(FieldType::Int, &json!("10")),
            Ok(FieldValue::Int(10))
        );
        assert_eq!(decode(FieldType::Int, &json!(7.0)), Ok(FieldValue::Int(7)));
        assert!(decode(FieldType::Int, &json!("ten")).is_err());
        assert!(decode(FieldType::Int, &json!(1.5)).is_err());
        assert_eq!(
            decode(FieldType::String, &json!(12)),
            Ok(FieldValue::String("12".into()))
        );
        assert!(decode(FieldType::String, &json!({"a": 1})).is_err());
    }

    #[test]
    fn durations() {
        let secs = |s| Ok(FieldValue::Duration(Duration::from_secs(s)));
        assert_eq!(decode(FieldType::Duration, &json!(30)), secs(30));
        assert_eq!(decode(FieldType::Duration, &json!("30")), secs(30));
        assert_eq!(decode(FieldType::Duration, &json!("1h30m")), secs(5400));
        assert_eq!(decode(FieldType::Duration, &json!("2d")), secs(172_800));
        assert_eq!(
            decode(FieldType::Duration, &json!("1500ms")),
            Ok(FieldValue::Duration(Duration::from_millis(1500)))
        );
        assert!(decode(FieldType::Duration, &json!("soon")).is_err());
        assert!(decode(FieldType::Duration, &json!("10x")).is_err());
        assert!(decode(FieldType::Duration, &json!(-1)).is_err());
        // Out of range: an error, never a panic.
        for huge in [
            json!(1e20),
            json!(1.7e308),
            json!(u64::MAX),
            json!(-0.5),
            json!("1e20"),
            json!("99999999999999999999h"),
            json!("-1s"),
            json!("NaN"),
            json!("inf"),
        ] {
            assert!(decode(FieldType::Duration, &huge).is_err(), "{huge}");
        }
        assert!(decode(FieldType::Int, &json!(1e20)).is_err());
        assert!(decode(FieldType::Int, &json!(u64::MAX)).is_err());
        assert!(decode(FieldType::Int, &json!("99999999999999999999")).is_err());
    }

    #[test]
    fn slices_and_maps() {
        assert_eq!(
            decode(FieldType::StringSlice, &json!("a, b,,c")),
            Ok(FieldValue::StringSlice(vec![
                "a".into(),
                "b".into(),
                "c".into()
            ]))
        );
        assert_eq!(
            decode(FieldType::StringSlice, &json!(["x", 1, true])),
            Ok(FieldValue::StringSlice(vec![
                "x".into(),
                "1".into(),
                "true".into()
            ]))
        );
        assert!(decode(FieldType::StringSlice, &json!([{"a": 1}])).is_err());
        let FieldValue::Map(map) = decode(FieldType::Map, &json!("{\"k\": 1}")).unwrap() else {
            panic!("not a map")
        };
        assert_eq!(map["k"], json!(1));
        assert!(decode(FieldType::Map, &json!("[1]")).is_err());
        assert_eq!(
            decode(FieldType::Json, &json!([1, 2])),
            Ok(FieldValue::Json(json!([1, 2])))
        );
    }

    #[test]
    fn string_slices_from_json_text() {
        assert_eq!(
            decode(FieldType::StringSlice, &json!("[\"a,b\", \"c\"]")),
            Ok(FieldValue::StringSlice(vec!["a,b".into(), "c".into()]))
        );
        assert!(decode(FieldType::StringSlice, &json!("[{\"a\": 1}]")).is_err());
    }

    #[test]
    fn object_lists_weakly() {
        let list = |raw: Value| decode_object_list(&raw);
        assert_eq!(list(json!([{"a": 1}, {}])).unwrap().len(), 2);
        assert_eq!(list(json!({"a": 1})).unwrap().len(), 1);
        assert!(list(json!({})).unwrap().is_empty());
        assert!(list(json!(null)).unwrap().is_empty());
        assert!(list(json!("  ")).unwrap().is_empty());
        assert_eq!(list(json!("[{\"a\": 1}]")).unwrap()[0]["a"], json!(1));
        assert_eq!(list(json!([{}, "x"])).unwrap_err().index, Some(1));
        assert_eq!(list(json!("\"x\"")).unwrap_err().index, None);
        assert_eq!(list(json!(12)).unwrap_err().index, None);
        let long = "z".repeat(10_000);
        assert!(list(json!(long)).unwrap_err().reason.len() < 200);
    }

    #[test]
    fn errors_name_the_field() {
        let err = Field::int("count").decode(&json!("many")).unwrap_err();
        assert_eq!(err.http_status(), 400);
        assert!(err.to_string().contains("\"count\""), "{err}");
    }

    #[test]
    fn defaults_are_decoded() {
        let field = Field::duration("ttl").default(json!("1m"));
        assert_eq!(
            field.default,
            Some(FieldValue::Duration(Duration::from_secs(60)))
        );
    }
}
