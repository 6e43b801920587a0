//! Request bodies → Connect items and patches.
//!
//! The reference plugin's weak decoding of item bodies, on the SDK's weak decoder
//! (`vault_plugin_sdk::framework::field`):
//! - `fields` / `sections` may be a list, a single object (a one-element list), an empty object or
//!   `null` (no elements), or a string holding any of those as JSON — what the CLI sends for
//!   `fields=@fields.json`;
//! - scalar attributes given as numbers or booleans are taken as their text.
//!
//! Unlike the reference, nothing here can panic: a non-object element or a wrong type is a 400
//! naming the field (`fields[2].value`), never a crash.

use onepassword_connect::model::{
    CharacterSet, Field, FieldPurpose, FieldType, GeneratorRecipe, Item, ItemCategory, ItemUrl,
    PatchOp, Section, VaultRef,
};
use serde_json::{Map, Value};
use vault_plugin_sdk::Error;
use vault_plugin_sdk::framework::field::{
    FieldType as Weak, FieldValue, decode, decode_object_list,
};

use crate::error::bad_field;

/// Body keys the item write routes understand (everything else draws a warning).
pub const ITEM_KEYS: [&str; 5] = ["title", "category", "url", "fields", "sections"];
/// Extra body keys the patch operation understands.
pub const PATCH_KEYS: [&str; 2] = ["tags", "remove_fields"];

/// Builds the item a create (POST) or full replacement (PUT) sends, from the body alone:
/// whatever the body omits is left empty, as the reference does.
pub fn build_item(vault_id: &str, body: &Map<String, Value>) -> Result<Item, Error> {
    let title = string_at(body, "title", "title")?.unwrap_or_default();
    let category = match string_at(body, "category", "category")? {
        Some(text) if !text.trim().is_empty() => Some(parse_category(&text)?),
        _ => None,
    };
    let urls = match string_at(body, "url", "url")? {
        Some(href) if !href.is_empty() => vec![ItemUrl::primary(href)],
        _ => Vec::new(),
    };
    let sections = objects(body.get("sections"), "sections")?
        .iter()
        .enumerate()
        .map(|(i, object)| section(object, &format!("sections[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let fields = objects(body.get("fields"), "fields")?
        .iter()
        .enumerate()
        .map(|(i, object)| field(object, &format!("fields[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Item {
        title,
        vault: VaultRef::new(vault_id),
        category,
        urls,
        sections,
        fields,
        ..Item::default()
    })
}

/// Builds the Connect PATCH operations for Vault's `patch` on an item: only what the body names
/// changes, so concurrent edits of other fields survive.
///
/// - `title`: replaced; `url`: the URL list becomes this one primary URL (`""` clears it);
///   `tags`: replaced.
/// - `sections`: each is added, or relabelled when its id exists.
/// - `fields`: each element is matched to an existing field by `id`, else by `label`; a match is
///   replaced by itself merged with the given attributes, anything else is added.
/// - `remove_fields`: ids or labels of fields to remove.
pub fn patch_ops(current: &Item, body: &Map<String, Value>) -> Result<Vec<PatchOp>, Error> {
    let mut ops = Vec::new();
    if let Some(title) = string_at(body, "title", "title")? {
        ops.push(PatchOp::replace("/title", Value::String(title)));
    }
    if let Some(href) = string_at(body, "url", "url")? {
        let urls = if href.is_empty() {
            Vec::new()
        } else {
            vec![ItemUrl::primary(href)]
        };
        ops.push(PatchOp::replace("/urls", to_value(&urls)));
    }
    if body.contains_key("category") {
        return Err(bad_field(
            "category",
            "the category of an existing item cannot be changed",
        ));
    }
    // Sections before fields, so that added fields may refer to added sections.
    for (i, object) in objects(body.get("sections"), "sections")?
        .iter()
        .enumerate()
    {
        let given = section(object, &format!("sections[{i}]"))?;
        if given.id.is_empty() {
            return Err(bad_field(
                &format!("sections[{i}].id"),
                "a section to add or relabel needs an id",
            ));
        }
        if current.sections.iter().any(|s| s.id == given.id) {
            ops.push(PatchOp::replace(
                format!("/sections/{}", given.id),
                to_value(&given),
            ));
        } else {
            ops.push(PatchOp::add("/sections", to_value(&given)));
        }
    }
    if let Some(tags) = body.get("tags").filter(|v| !v.is_null()) {
        let tags = strings(tags, "tags")?;
        ops.push(PatchOp::replace("/tags", to_value(&tags)));
    }
    for (i, object) in objects(body.get("fields"), "fields")?.iter().enumerate() {
        let name = format!("fields[{i}]");
        let given = field(object, &name)?;
        match find_field(current, &given) {
            Some(existing) => {
                let merged = merge_field(existing, &given, object);
                ops.push(PatchOp::replace(
                    format!("/fields/{}", existing.id),
                    to_value(&merged),
                ));
            }
            None => ops.push(PatchOp::add("/fields", to_value(&given))),
        }
    }
    if let Some(remove) = body.get("remove_fields").filter(|v| !v.is_null()) {
        for wanted in strings(remove, "remove_fields")? {
            let existing = current
                .fields
                .iter()
                .find(|f| f.id == wanted)
                .or_else(|| {
                    current
                        .fields
                        .iter()
                        .find(|f| f.label.as_deref() == Some(wanted.as_str()))
                })
                .ok_or_else(|| {
                    bad_field(
                        "remove_fields",
                        format!("the item has no field with id or label {wanted:?}"),
                    )
                })?;
            ops.push(PatchOp::remove(format!("/fields/{}", existing.id)));
        }
    }
    if ops.is_empty() {
        return Err(Error::bad_request(
            "nothing to change: give title, url, tags, sections, fields or remove_fields",
        ));
    }
    Ok(ops)
}

fn find_field<'a>(current: &'a Item, given: &Field) -> Option<&'a Field> {
    if !given.id.is_empty() {
        return current.fields.iter().find(|f| f.id == given.id);
    }
    let label = given.label.as_deref()?;
    let mut matches = current
        .fields
        .iter()
        .filter(|f| f.label.as_deref() == Some(label) && !f.id.is_empty());
    let first = matches.next()?;
    // An ambiguous label is not silently applied to one of several fields: it is added instead.
    matches.next().is_none().then_some(first)
}

fn merge_field(existing: &Field, given: &Field, raw: &Map<String, Value>) -> Field {
    let mut merged = existing.clone();
    if raw.contains_key("label") {
        merged.label.clone_from(&given.label);
    }
    if raw.contains_key("type") {
        merged.field_type = given.field_type.clone();
    }
    if raw.contains_key("purpose") {
        merged.purpose.clone_from(&given.purpose);
    }
    if raw.contains_key("section") {
        merged.section.clone_from(&given.section);
    }
    if raw.contains_key("value") {
        merged.value.clone_from(&given.value);
        merged.generate = false;
    }
    if given.generate {
        merged.generate = true;
        merged.value = None;
        merged.recipe.clone_from(&given.recipe);
    }
    // Read-only attributes are not sent back.
    merged.totp = None;
    merged.entropy = None;
    merged
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Maps a category as users write it (`login`, `LOGIN`, `api credential`) to Connect's enum.
pub fn parse_category(text: &str) -> Result<ItemCategory, Error> {
    let wanted = text.trim().to_ascii_uppercase().replace([' ', '-'], "_");
    ItemCategory::KNOWN
        .iter()
        .find(|known| known.as_str() == wanted)
        .cloned()
        .ok_or_else(|| {
            let names: Vec<String> = ItemCategory::KNOWN
                .iter()
                .map(|c| c.as_str().to_ascii_lowercase())
                .collect();
            bad_field(
                "category",
                format!("unknown category {text:?}; use one of {}", names.join(", ")),
            )
        })
}

/// The elements of a list-valued body key, weakly (the SDK's object list: see the module
/// documentation); a bad element is named by its index.
fn objects(raw: Option<&Value>, name: &str) -> Result<Vec<Map<String, Value>>, Error> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    decode_object_list(raw).map_err(|e| match e.index {
        Some(index) => bad_field(&format!("{name}[{index}]"), e.reason),
        None => bad_field(name, e.reason),
    })
}

/// One value decoded by the SDK as `kind`, or a 400 naming `name`.
fn weak(kind: Weak, value: &Value, name: &str) -> Result<FieldValue, Error> {
    decode(kind, value).map_err(|why| bad_field(name, why))
}

/// A scalar as text (numbers and booleans weakly); `null` and absent are `None`.
fn scalar(value: Option<&Value>, name: &str) -> Result<Option<String>, Error> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match weak(Weak::String, value, name)? {
            FieldValue::String(text) => Ok(Some(text)),
            _ => Err(bad_field(name, "expected a string")),
        },
    }
}

fn string_at(map: &Map<String, Value>, key: &str, name: &str) -> Result<Option<String>, Error> {
    scalar(map.get(key), name)
}

/// A list of strings: a list, JSON text of one, or comma-separated text.
fn strings(value: &Value, name: &str) -> Result<Vec<String>, Error> {
    match weak(Weak::StringSlice, value, name)? {
        FieldValue::StringSlice(items) => Ok(items),
        _ => Err(bad_field(name, "expected a list of strings")),
    }
}

/// A boolean, weakly; `null` and absent are `false`.
fn boolean(value: Option<&Value>, name: &str) -> Result<bool, Error> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(value) => match weak(Weak::Bool, value, name)? {
            FieldValue::Bool(b) => Ok(b),
            _ => Err(bad_field(name, "expected a boolean")),
        },
    }
}

/// What a JSON value is, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn section(object: &Map<String, Value>, name: &str) -> Result<Section, Error> {
    Ok(Section {
        id: scalar(object.get("id"), &format!("{name}.id"))?.unwrap_or_default(),
        label: scalar(object.get("label"), &format!("{name}.label"))?.filter(|l| !l.is_empty()),
    })
}

fn field(object: &Map<String, Value>, name: &str) -> Result<Field, Error> {
    let attr = |key: &str| format!("{name}.{key}");
    let section = match object.get("section") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(section(map, &attr("section"))?),
        // A bare section id is what people write by hand.
        Some(Value::String(id)) if !id.is_empty() => Some(Section::reference(id.clone())),
        Some(Value::String(_)) => None,
        Some(other) => {
            return Err(bad_field(
                &attr("section"),
                format!(
                    "expected an object like {{\"id\": \"…\"}}, got {}",
                    kind(other)
                ),
            ));
        }
    };
    let recipe = match object.get("recipe") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(recipe(map, &attr("recipe"))?),
        Some(other) => {
            return Err(bad_field(
                &attr("recipe"),
                format!("expected an object, got {}", kind(other)),
            ));
        }
    };
    let entropy = match object.get("entropy") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64(),
        Some(other) => {
            return Err(bad_field(
                &attr("entropy"),
                format!("expected a number, got {}", kind(other)),
            ));
        }
    };
    Ok(Field {
        id: scalar(object.get("id"), &attr("id"))?.unwrap_or_default(),
        section,
        field_type: scalar(object.get("type"), &attr("type"))?
            .filter(|t| !t.is_empty())
            .map(FieldType::from)
            .unwrap_or_default(),
        purpose: scalar(object.get("purpose"), &attr("purpose"))?
            .filter(|p| !p.is_empty())
            .map(FieldPurpose::from),
        label: scalar(object.get("label"), &attr("label"))?,
        value: scalar(object.get("value"), &attr("value"))?,
        generate: boolean(object.get("generate"), &attr("generate"))?,
        recipe,
        entropy,
        totp: None,
    })
}

fn recipe(object: &Map<String, Value>, name: &str) -> Result<GeneratorRecipe, Error> {
    let length = match object.get("length") {
        None | Some(Value::Null) => None,
        Some(value) => {
            let name = format!("{name}.length");
            let positive = || bad_field(&name, "expected a positive integer");
            match weak(Weak::Int, value, &name)? {
                FieldValue::Int(n) => Some(u32::try_from(n).map_err(|_| positive())?),
                _ => return Err(positive()),
            }
        }
    };
    let character_sets = match object.get("characterSets") {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => strings(value, &format!("{name}.characterSets"))?
            .into_iter()
            .map(CharacterSet::from)
            .collect(),
    };
    Ok(GeneratorRecipe {
        length,
        character_sets,
        exclude_characters: scalar(
            object.get("excludeCharacters"),
            &format!("{name}.excludeCharacters"),
        )?
        .filter(|s| !s.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn the_guides_login_example() {
        let item = build_item(
            "vvvvvvvvvvvvvvvvvvvvvvvvvv",
            &body(json!({
                "category": "login",
                "title": "Example Login",
                "fields": [
                    { "id": "username", "type": "STRING", "purpose": "USERNAME", "value": "my_user" },
                    { "id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "generate": true }
                ]
            })),
        )
        .unwrap();
        assert_eq!(item.title, "Example Login");
        assert_eq!(item.category, Some(ItemCategory::Login));
        assert_eq!(item.vault.id, "vvvvvvvvvvvvvvvvvvvvvvvvvv");
        assert_eq!(item.fields.len(), 2);
        assert_eq!(item.fields[0].value.as_deref(), Some("my_user"));
        assert_eq!(item.fields[0].purpose, Some(FieldPurpose::Username));
        assert!(item.fields[1].generate);
        assert_eq!(item.fields[1].field_type, FieldType::Concealed);
        assert!(item.urls.is_empty());
    }

    #[test]
    fn weak_lists_like_the_reference() {
        let single = build_item(
            "v",
            &body(json!({"fields": {"id": "a", "label": "a", "value": "b"}})),
        )
        .unwrap();
        assert_eq!(single.fields.len(), 1);
        let empty = build_item("v", &body(json!({"fields": {}, "sections": null}))).unwrap();
        assert!(empty.fields.is_empty() && empty.sections.is_empty());
        // What `vault write … fields=@fields.json` sends: the file's text.
        let text = build_item(
            "v",
            &body(json!({"fields": "[{\"label\":\"x\",\"value\":\"1\"}]", "url": "https://e"})),
        )
        .unwrap();
        assert_eq!(text.fields[0].label.as_deref(), Some("x"));
        assert_eq!(text.urls, vec![ItemUrl::primary("https://e")]);
        let number = build_item("v", &body(json!({"fields": [{"value": 5}]}))).unwrap();
        assert_eq!(number.fields[0].value.as_deref(), Some("5"));
        let sections = build_item(
            "v",
            &body(
                json!({"sections": [{"id": "s1", "label": "S1", "extra": 1}],
                         "fields": [{"section": {"id": "s1"}, "label": "c"}]}),
            ),
        )
        .unwrap();
        assert_eq!(sections.sections[0].label.as_deref(), Some("S1"));
        assert_eq!(sections.fields[0].section, Some(Section::reference("s1")));
    }

    #[test]
    fn reference_crashers_are_400s_naming_the_field() {
        for (input, named) in [
            (json!({"fields": "notamap"}), "\"fields\""),
            (json!({"fields": ["x"]}), "\"fields[0]\""),
            (json!({"sections": ["s"]}), "\"sections[0]\""),
            (json!({"fields": [1]}), "\"fields[0]\""),
            (
                json!({"fields": [{"value": {"a": 1}}]}),
                "\"fields[0].value\"",
            ),
            (
                json!({"fields": [{"recipe": {"length": -3}}]}),
                "\"fields[0].recipe.length\"",
            ),
            (json!({"title": {"x": 1}}), "\"title\""),
            (json!({"category": "spaceship"}), "\"category\""),
            (json!({"fields": 12}), "\"fields\""),
        ] {
            let err = build_item("v", &body(input.clone())).unwrap_err();
            assert_eq!(err.http_status(), 400, "{input}");
            assert!(err.to_string().contains(named), "{input}: {err}");
        }
    }

    #[test]
    fn categories_in_any_spelling() {
        for (text, expected) in [
            ("login", ItemCategory::Login),
            ("LOGIN", ItemCategory::Login),
            ("Database", ItemCategory::Database),
            ("api credential", ItemCategory::ApiCredential),
            ("secure_note", ItemCategory::SecureNote),
        ] {
            assert_eq!(parse_category(text).unwrap(), expected);
        }
        let item = build_item("v", &body(json!({"category": ""}))).unwrap();
        assert_eq!(item.category, None);
    }

    fn existing() -> Item {
        Item {
            id: "iiiiiiiiiiiiiiiiiiiiiiiiii".into(),
            title: "db".into(),
            fields: vec![
                Field::new("username", FieldType::String, "username", "admin"),
                Field::new("password", FieldType::Concealed, "password", "pw1"),
            ],
            ..Item::default()
        }
    }

    #[test]
    fn patches_touch_only_what_is_named() {
        let ops = patch_ops(
            &existing(),
            &body(json!({
                "title": "db2",
                "fields": [{"label": "password", "value": "new"}, {"label": "host", "value": "h"}],
                "remove_fields": "username",
            })),
        )
        .unwrap();
        assert_eq!(ops[0], PatchOp::replace("/title", json!("db2")));
        assert_eq!(ops[1].path, "/fields/password");
        let replaced = ops[1].value.as_ref().unwrap();
        assert_eq!(replaced["value"], "new");
        assert_eq!(replaced["type"], "CONCEALED");
        assert_eq!(
            ops[2],
            PatchOp::add(
                "/fields",
                json!({"type": "STRING", "label": "host", "value": "h"})
            )
        );
        assert_eq!(ops[3], PatchOp::remove("/fields/username"));
        let sections = patch_ops(
            &existing(),
            &body(json!({"sections": {"id": "s9", "label": "New"},
                         "fields": [{"label": "in s9", "section": "s9", "value": "v"}]})),
        )
        .unwrap();
        assert_eq!(
            sections[0],
            PatchOp::add("/sections", json!({"id": "s9", "label": "New"}))
        );
        assert_eq!(sections[1].path, "/fields");
        let no_id =
            patch_ops(&existing(), &body(json!({"sections": [{"label": "x"}]}))).unwrap_err();
        assert!(no_id.to_string().contains("sections[0].id"), "{no_id}");
        assert_eq!(
            patch_ops(&existing(), &Map::new())
                .unwrap_err()
                .http_status(),
            400
        );
        let missing =
            patch_ops(&existing(), &body(json!({"remove_fields": ["nope"]}))).unwrap_err();
        assert!(missing.to_string().contains("remove_fields"));
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|f| json!(f)),
            ".{0,12}".prop_map(Value::String),
            Just(json!("[{\"label\":\"a\"}]")),
            Just(json!("{\"id\":1}")),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("id".to_owned()),
                        Just("label".to_owned()),
                        Just("value".to_owned()),
                        Just("type".to_owned()),
                        Just("section".to_owned()),
                        Just("recipe".to_owned()),
                        Just("length".to_owned()),
                        Just("characterSets".to_owned()),
                        Just("generate".to_owned()),
                        Just("entropy".to_owned()),
                        ".{0,6}",
                    ],
                    inner,
                    0..5
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn arbitrary_body() -> impl Strategy<Value = Map<String, Value>> {
        prop::collection::btree_map(
            prop_oneof![
                Just("title".to_owned()),
                Just("category".to_owned()),
                Just("url".to_owned()),
                Just("fields".to_owned()),
                Just("sections".to_owned()),
                Just("tags".to_owned()),
                Just("remove_fields".to_owned()),
                ".{0,8}",
            ],
            arbitrary_json(),
            0..6,
        )
        .prop_map(|m| m.into_iter().collect())
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic_and_fail_only_with_400(input in arbitrary_body()) {
            if let Err(err) = build_item("vvvvvvvvvvvvvvvvvvvvvvvvvv", &input) {
                prop_assert_eq!(err.http_status(), 400);
            }
            if let Err(err) = patch_ops(&existing(), &input) {
                prop_assert_eq!(err.http_status(), 400);
            }
        }
    }
}
