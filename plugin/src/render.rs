//! Connect objects → the JSON the engine answers with (the reference's shapes where it has one).

use chrono::{DateTime, Utc};
use onepassword_connect::model::{Item, ItemCategory};
use serde_json::{Map, Value, json};

/// A JSON object from key/value pairs.
pub(crate) fn object<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    let mut map = Map::with_capacity(N);
    for (key, value) in pairs {
        map.insert(key.to_owned(), value);
    }
    map
}

/// A timestamp as Go's `time.Time` marshals it (RFC 3339, trailing zeros of the fraction
/// dropped); absent is Go's zero time.
pub(crate) fn go_time(at: Option<DateTime<Utc>>) -> String {
    use chrono::Timelike;
    let Some(at) = at else {
        return "0001-01-01T00:00:00Z".to_owned();
    };
    let mut text = at.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = at.nanosecond() % 1_000_000_000;
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

/// A timestamp for the engine's own (new) responses: RFC 3339 or `null`.
pub(crate) fn timestamp(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, |at| Value::String(go_time(Some(at))))
}

/// The category as the reference reports it: unknown values read as `CUSTOM`.
pub(crate) fn category_text(category: Option<&ItemCategory>) -> &str {
    match category {
        Some(ItemCategory::Other(_)) => "CUSTOM",
        Some(known) => known.as_str(),
        None => "",
    }
}

/// The create/update/patch answer: `{ID, category, createdAt}` like the reference.
pub(crate) fn written(item: &Item) -> Map<String, Value> {
    object([
        ("ID", json!(item.id)),
        ("category", json!(category_text(item.category.as_ref()))),
        ("createdAt", json!(go_time(item.created_at))),
    ])
}

/// The reference's read: `label → value` for every field in order; later labels overwrite
/// earlier ones, fields without a value read as `""`.
pub(crate) fn flat(item: &Item) -> Map<String, Value> {
    let mut data = Map::with_capacity(item.fields.len());
    for field in &item.fields {
        data.insert(
            field.label.clone().unwrap_or_default(),
            Value::String(field.value.clone().unwrap_or_default()),
        );
    }
    data
}

/// [`flat`] consuming the item.
pub(crate) fn flat_owned(item: Item) -> Map<String, Value> {
    let mut data = Map::with_capacity(item.fields.len());
    for field in item.fields {
        data.insert(
            field.label.unwrap_or_default(),
            Value::String(field.value.unwrap_or_default()),
        );
    }
    data
}

fn section_of(item: &Item, id: Option<&str>) -> Value {
    let Some(id) = id.filter(|id| !id.is_empty()) else {
        return Value::Null;
    };
    let label = item
        .sections
        .iter()
        .find(|s| s.id == id)
        .and_then(|s| s.label.clone());
    json!({"id": id, "label": label})
}

/// One field with its metadata (also the answer of the field route).
pub(crate) fn field_json(
    item: &Item,
    field: &onepassword_connect::model::Field,
) -> Map<String, Value> {
    let mut data = object([
        ("id", json!(field.id)),
        ("label", json!(field.label.clone().unwrap_or_default())),
        ("value", json!(field.value.clone().unwrap_or_default())),
        ("type", json!(field.field_type.as_str())),
        (
            "purpose",
            json!(
                field
                    .purpose
                    .as_ref()
                    .map(|p| p.as_str())
                    .unwrap_or_default()
            ),
        ),
        (
            "section",
            section_of(item, field.section.as_ref().map(|s| s.id.as_str())),
        ),
    ]);
    if let Some(totp) = &field.totp {
        data.insert("totp".into(), json!(totp));
    }
    if let Some(entropy) = field.entropy {
        data.insert("entropy".into(), json!(entropy));
    }
    data
}

/// File metadata (without content).
pub(crate) fn file_json(
    item: &Item,
    file: &onepassword_connect::model::File,
) -> Map<String, Value> {
    object([
        ("id", json!(file.id)),
        ("name", json!(file.name)),
        ("size", json!(file.size)),
        (
            "section",
            section_of(item, file.section.as_ref().map(|s| s.id.as_str())),
        ),
    ])
}

/// The whole item with its metadata (`format=full`).
pub(crate) fn full_item(item: &Item) -> Map<String, Value> {
    object([
        ("id", json!(item.id)),
        ("title", json!(item.title)),
        ("category", json!(category_text(item.category.as_ref()))),
        ("vault", json!({"id": item.vault.id})),
        ("tags", json!(item.tags)),
        (
            "urls",
            Value::Array(
                item.urls
                    .iter()
                    .map(|u| json!({"href": u.href, "label": u.label, "primary": u.primary}))
                    .collect(),
            ),
        ),
        (
            "sections",
            Value::Array(
                item.sections
                    .iter()
                    .map(|s| json!({"id": s.id, "label": s.label}))
                    .collect(),
            ),
        ),
        (
            "fields",
            Value::Array(
                item.fields
                    .iter()
                    .map(|f| Value::Object(field_json(item, f)))
                    .collect(),
            ),
        ),
        (
            "files",
            Value::Array(
                item.files
                    .iter()
                    .map(|f| Value::Object(file_json(item, f)))
                    .collect(),
            ),
        ),
        ("favorite", json!(item.favorite)),
        ("version", json!(item.version)),
        ("created_at", timestamp(item.created_at)),
        ("updated_at", timestamp(item.updated_at)),
    ])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;
    use onepassword_connect::model::{Field as ItemField, FieldType};

    #[test]
    fn flat_read_is_the_references() {
        let mut in_section = ItemField::new("s", FieldType::String, "password", "pw-in-section");
        in_section.section = Some(onepassword_connect::model::Section::reference("sec"));
        let item = Item {
            fields: vec![
                ItemField::new("username", FieldType::String, "username", "admin"),
                ItemField::new("password", FieldType::Concealed, "password", "pw1"),
                in_section,
                ItemField::default(),
            ],
            ..Item::default()
        };
        assert_eq!(flat_owned(item.clone()), flat(&item));
        let data = flat(&item);
        assert_eq!(
            Value::Object(data),
            json!({"username": "admin", "password": "pw-in-section", "": ""})
        );
    }

    #[test]
    fn unknown_categories_read_as_custom() {
        assert_eq!(
            category_text(Some(&ItemCategory::Other("WEIRD".into()))),
            "CUSTOM"
        );
        assert_eq!(category_text(Some(&ItemCategory::Database)), "DATABASE");
        assert_eq!(category_text(None), "");
    }

    #[test]
    fn go_time_format() {
        assert_eq!(go_time(None), "0001-01-01T00:00:00Z");
        let at = Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap();
        assert_eq!(go_time(Some(at)), "2024-05-06T07:08:09Z");
        let at = at + chrono::Duration::milliseconds(120);
        assert_eq!(go_time(Some(at)), "2024-05-06T07:08:09.12Z");
    }
}
