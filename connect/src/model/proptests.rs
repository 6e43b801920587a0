//! Property tests: whatever JSON of the right general shape comes in, reading never fails on
//! strings/enums/nulls, and what the model writes reads back to exactly the same JSON.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::{Item, Vault};

/// Short strings including empties, quotes, unicode and enum-like spellings.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("LOGIN".to_owned()),
        Just("username".to_owned()),
        Just("PASSWORD".to_owned()),
        Just("TOTP".to_owned()),
        "[a-zA-Z0-9 _\"\\\\é-]{0,12}",
    ]
}

/// A string, `null`, or absent (`None`).
fn member() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        text().prop_map(|s| Some(Value::String(s))),
    ]
}

fn timestamp() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        Just(Some(json!(""))),
        Just(Some(json!("0001-01-01T00:00:00Z"))),
        Just(Some(json!("2022-01-17T23:41:32Z"))),
        Just(Some(json!("2024-05-01T10:00:00.123+02:00"))),
    ]
}

fn object(members: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        members
            .into_iter()
            .filter_map(|(key, value)| value.map(|value| (key.to_owned(), value)))
            .collect(),
    )
}

fn field() -> impl Strategy<Value = Value> {
    (
        member(),
        member(),
        member(),
        member(),
        member(),
        proptest::option::of(any::<bool>()),
        proptest::option::of((1u32..80, text())),
        proptest::option::of(0.0f64..200.0),
        member(),
    )
        .prop_map(
            |(id, field_type, purpose, label, value, generate, recipe, entropy, section)| {
                object(vec![
                    ("id", id),
                    ("type", field_type),
                    ("purpose", purpose),
                    ("label", label),
                    ("value", value),
                    ("generate", generate.map(Value::Bool)),
                    (
                        "recipe",
                        recipe.map(|(length, exclude)| {
                            json!({"length": length, "characterSets": ["LETTERS", "x"],
                                   "excludeCharacters": exclude})
                        }),
                    ),
                    ("entropy", entropy.map(|e| json!(e))),
                    ("section", section.map(|id| json!({"id": id}))),
                ])
            },
        )
}

fn item() -> impl Strategy<Value = Value> {
    (
        (member(), member(), member(), member(), member()),
        (timestamp(), timestamp()),
        proptest::collection::vec(text(), 0..3),
        proptest::collection::vec((member(), any::<bool>(), text()), 0..3),
        proptest::collection::vec(field(), 0..4),
        proptest::collection::vec((text(), member()), 0..3),
        (any::<bool>(), 0u64..5),
    )
        .prop_map(
            |(
                (id, title, category, state, last_edited_by),
                (created, updated),
                tags,
                urls,
                fields,
                sections,
                (favorite, version),
            )| {
                object(vec![
                    ("id", id),
                    ("title", title),
                    ("vault", Some(json!({"id": "hfnjvi6aymbsnfc2xeeoheizda"}))),
                    ("category", category),
                    ("state", state),
                    ("lastEditedBy", last_edited_by),
                    ("createdAt", created),
                    ("updatedAt", updated),
                    ("tags", Some(json!(tags))),
                    (
                        "urls",
                        Some(Value::Array(
                            urls.into_iter()
                                .map(|(label, primary, href)| {
                                    object(vec![
                                        ("label", label),
                                        ("primary", Some(Value::Bool(primary))),
                                        ("href", Some(Value::String(href))),
                                    ])
                                })
                                .collect(),
                        )),
                    ),
                    ("fields", Some(Value::Array(fields))),
                    (
                        "sections",
                        Some(Value::Array(
                            sections
                                .into_iter()
                                .map(|(id, label)| {
                                    object(vec![("id", Some(Value::String(id))), ("label", label)])
                                })
                                .collect(),
                        )),
                    ),
                    ("favorite", Some(Value::Bool(favorite))),
                    ("version", Some(json!(version))),
                ])
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(test_support::proptest_cases(256)))]

    #[test]
    fn items_read_and_rewrite_stably(input in item()) {
        let item: Item = serde_json::from_value(input.clone())
            .map_err(|err| TestCaseError::fail(format!("{err}: {input}")))?;
        let written = serde_json::to_value(&item).unwrap();
        let reread: Item = serde_json::from_value(written.clone()).unwrap();
        prop_assert_eq!(&reread, &item);
        prop_assert_eq!(serde_json::to_value(&reread).unwrap(), written);
    }

    #[test]
    fn vaults_read_and_rewrite_stably(
        name in member(), description in member(), vault_type in member(),
        created in timestamp(), items in 0u64..100,
    ) {
        let input = object(vec![
            ("id", Some(json!("hfnjvi6aymbsnfc2xeeoheizda"))), ("name", name),
            ("description", description), ("type", vault_type), ("createdAt", created),
            ("items", Some(json!(items))),
        ]);
        let vault: Vault = serde_json::from_value(input)?;
        let written = serde_json::to_value(&vault).unwrap();
        let reread: Vault = serde_json::from_value(written.clone()).unwrap();
        prop_assert_eq!(serde_json::to_value(&reread).unwrap(), written);
    }
}
