//! Round-trip and compatibility tests of the model against real payload shapes and the spec.

use serde_json::{Value, json};

use super::*;

/// A full item shaped like real Connect output (fields from a PASSWORD item plus extras).
fn server_full_item() -> Value {
    json!({
        "id": "wepiqdxdzncjtnvmv5fegud4qy",
        "title": "Secret Login",
        "vault": {"id": "hfnjvi6aymbsnfc2xeeoheizda"},
        "category": "LOGIN",
        "urls": [
            {"label": "website", "primary": true, "href": "https://example.com"},
            {"href": "https://example.org"}
        ],
        "favorite": true,
        "tags": ["banking", "prod"],
        "version": 3,
        "state": "ARCHIVED",
        "createdAt": "2022-01-17T23:41:32Z",
        "updatedAt": "2022-01-18T08:00:00.123Z",
        "lastEditedBy": "DOIHOHSV2NHK5HMSOLCWJUXFDM",
        "sections": [
            {"id": "linked items", "label": "Related Items"},
            {"id": "s1"}
        ],
        "fields": [
            {"id": "username", "type": "STRING", "purpose": "USERNAME", "label": "username", "value": "admin"},
            {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password",
             "value": "0123456789abcdefghijklmn", "entropy": 130.07},
            {"id": "notesPlain", "type": "STRING", "purpose": "NOTES", "label": "notesPlain"},
            {"id": "otp1", "section": {"id": "s1"}, "type": "OTP", "label": "one-time password",
             "value": "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", "totp": "123456"},
            {"id": "gen", "type": "CONCEALED", "label": "generated", "generate": true,
             "recipe": {"length": 20, "characterSets": ["LETTERS", "DIGITS"], "excludeCharacters": "abc"}},
            {"id": "addr", "type": "ADDRESS", "label": "address", "value": "somewhere"}
        ],
        "files": [
            {"id": "6r65pjq33banznomn7q22sj44e", "name": "foo.txt", "size": 35,
             "content_path": "/v1/vaults/hfnjvi6aymbsnfc2xeeoheizda/items/wepiqdxdzncjtnvmv5fegud4qy/files/6r65pjq33banznomn7q22sj44e/content",
             "section": {"id": "s1"}}
        ]
    })
}

#[test]
fn full_item_round_trips_exactly() {
    let input = server_full_item();
    let item: Item = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(item.category, Some(ItemCategory::Login));
    assert_eq!(item.state, Some(ItemState::Archived));
    assert_eq!(item.fields.len(), 6);
    assert_eq!(item.fields[1].purpose, Some(FieldPurpose::Password));
    assert_eq!(item.fields[1].entropy, Some(130.07));
    assert_eq!(item.fields[3].totp.as_deref(), Some("123456"));
    assert_eq!(item.fields[3].section, Some(Section::reference("s1")));
    assert_eq!(item.fields[5].field_type, FieldType::Address);
    let recipe = item.fields[4].recipe.as_ref().unwrap();
    assert_eq!(
        recipe.character_sets,
        [CharacterSet::Letters, CharacterSet::Digits]
    );
    assert_eq!(item.files[0].size, 35);
    assert_eq!(
        item.last_edited_by.as_deref(),
        Some("DOIHOHSV2NHK5HMSOLCWJUXFDM")
    );
    assert_eq!(
        item.field("password").unwrap().label.as_deref(),
        Some("password")
    );
    assert_eq!(
        item.field_by_purpose(&FieldPurpose::Username).unwrap().id,
        "username"
    );

    let output = serde_json::to_value(&item).unwrap();
    assert_eq!(output, input);
    // And the typed value survives a second trip.
    let again: Item = serde_json::from_value(output).unwrap();
    assert_eq!(again, item);
}

#[test]
fn summary_omits_sections_fields_and_files() {
    let item: Item = serde_json::from_value(server_full_item()).unwrap();
    let summary = serde_json::to_value(item.summary()).unwrap();
    let object = summary.as_object().unwrap();
    for absent in ["sections", "fields", "files"] {
        assert!(!object.contains_key(absent), "{absent} present in summary");
    }
    for present in [
        "id",
        "title",
        "vault",
        "category",
        "version",
        "createdAt",
        "updatedAt",
    ] {
        assert!(
            object.contains_key(present),
            "{present} missing from summary"
        );
    }
}

#[test]
fn empty_and_default_members_are_omitted() {
    let item = Item {
        title: "t".into(),
        vault: VaultRef::new("hfnjvi6aymbsnfc2xeeoheizda"),
        fields: vec![Field::default()],
        ..Item::default()
    };
    assert_eq!(
        serde_json::to_value(&item).unwrap(),
        json!({"title": "t", "vault": {"id": "hfnjvi6aymbsnfc2xeeoheizda"}, "fields": [{"type": "STRING"}]})
    );
}

#[test]
fn go_sdk_create_body_is_accepted() {
    // Observed POST body of the reference Vault plugin (Go SDK 1.5.2), including its noise.
    let body = json!({
        "id": "", "title": "New",
        "urls": [{"primary": true, "href": ""}],
        "vault": {"id": "hfnjvi6aymbsnfc2xeeoheizda"},
        "sections": [{"id": "s1", "label": "S1"}],
        "fields": [
            {"id": "", "type": "", "purpose": "username", "label": "username", "value": "u"},
            {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password",
             "generate": true, "recipe": {"length": 20, "characterSets": ["LETTERS", "DIGITS"]}},
            {"id": "c", "section": {"id": "s1", "label": "S1"}, "type": "TOTP", "label": "c", "value": "v"}
        ],
        "createdAt": "0001-01-01T00:00:00Z", "updatedAt": "0001-01-01T00:00:00Z"
    });
    let item: Item = serde_json::from_value(body).unwrap();
    assert!(item.id.is_empty());
    assert_eq!(item.category, None);
    assert_eq!(item.urls, [ItemUrl::primary("")]);
    assert_eq!(item.fields[0].field_type, FieldType::String);
    assert_eq!(
        item.fields[0].purpose,
        Some(FieldPurpose::Other("username".into()))
    );
    assert_eq!(
        FieldPurpose::parse_ignore_case(item.fields[0].purpose.as_ref().unwrap().as_str()),
        FieldPurpose::Username
    );
    assert_eq!(item.fields[2].field_type, FieldType::Other("TOTP".into()));
    assert_eq!(FieldType::parse_lenient("TOTP"), FieldType::Otp);
    assert_eq!(FieldType::parse_lenient("string"), FieldType::String);
    assert_eq!(FieldType::parse_lenient(""), FieldType::String);
    assert_eq!(
        item.created_at.unwrap().to_rfc3339(),
        "0001-01-01T00:00:00+00:00"
    );
}

#[test]
fn nulls_and_empty_strings_mean_absent() {
    // Ansible sends null members; the Python SDK sends favorite/trashed false and generate false.
    let body = json!({
        "id": null, "title": "x", "vault": {"id": "hfnjvi6aymbsnfc2xeeoheizda"},
        "category": "PASSWORD", "urls": null, "tags": null, "favorite": false, "trashed": false,
        "createdAt": null, "updatedAt": "", "lastEditedBy": "", "sections": null, "files": null,
        "fields": [{"id": "p", "section": null, "type": null, "purpose": "", "label": null,
                    "value": null, "generate": false, "recipe": null}]
    });
    let item: Item = serde_json::from_value(body).unwrap();
    assert_eq!(item.created_at, None);
    assert_eq!(item.updated_at, None);
    assert_eq!(item.last_edited_by, None);
    let field = &item.fields[0];
    assert_eq!(field.purpose, None);
    assert_eq!(field.field_type, FieldType::String);
    assert_eq!(field.value, None);
    assert_eq!(
        serde_json::to_value(&item).unwrap(),
        json!({"title": "x", "vault": {"id": "hfnjvi6aymbsnfc2xeeoheizda"}, "category": "PASSWORD",
               "fields": [{"id": "p", "type": "STRING"}]})
    );
}

#[test]
fn unknown_enum_values_are_kept() {
    let body = json!({
        "title": "x", "vault": {"id": "v"}, "category": "CRYPTO_WALLET", "state": "SHREDDED",
        "fields": [{"id": "f", "type": "PASSKEY", "purpose": "SOMETHING"}]
    });
    let item: Item = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(
        item.category,
        Some(ItemCategory::Other("CRYPTO_WALLET".into()))
    );
    assert!(!item.category.as_ref().unwrap().is_known());
    assert_eq!(
        item.fields[0].field_type,
        FieldType::Other("PASSKEY".into())
    );
    assert_eq!(serde_json::to_value(&item).unwrap(), body);
}

#[test]
fn timestamps_serialise_as_rfc3339_utc() {
    let item: Item = serde_json::from_value(json!({
        "title": "x", "vault": {"id": "v"},
        "createdAt": "2022-01-17T23:41:32+02:00",
        "updatedAt": "2024-05-01T10:00:00.5Z"
    }))
    .unwrap();
    let out = serde_json::to_value(&item).unwrap();
    assert_eq!(out["createdAt"], "2022-01-17T21:41:32Z");
    assert_eq!(out["updatedAt"], "2024-05-01T10:00:00.500Z");
    let bad = serde_json::from_value::<Item>(json!({"createdAt": "yesterday"}));
    assert!(bad.unwrap_err().to_string().contains("RFC 3339"));
}

#[test]
fn vault_round_trips() {
    let input = json!({
        "id": "hfnjvi6aymbsnfc2xeeoheizda", "name": "Demo Vault", "description": "d",
        "attributeVersion": 2, "contentVersion": 17, "items": 4, "type": "USER_CREATED",
        "createdAt": "2021-01-01T00:00:00Z", "updatedAt": "2021-06-01T00:00:00Z"
    });
    let vault: Vault = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(vault.vault_type, VaultType::UserCreated);
    assert_eq!(vault.content_version, 17);
    assert_eq!(serde_json::to_value(&vault).unwrap(), input);
    let minimal: Vault =
        serde_json::from_value(json!({"id": "a", "name": "b", "type": "NEW"})).unwrap();
    assert_eq!(minimal.vault_type, VaultType::Other("NEW".into()));
}

#[test]
fn file_content_is_base64() {
    let mut file = File {
        id: "f".into(),
        name: "foo.txt".into(),
        size: 5,
        content_path: File::content_path_for("v", "i", "f"),
        ..File::default()
    };
    assert_eq!(file.content_path, "/v1/vaults/v/items/i/files/f/content");
    assert_eq!(file.decoded_content(), None);
    file.set_content(b"hello");
    assert_eq!(file.content.as_deref(), Some("aGVsbG8="));
    assert_eq!(file.decoded_content().unwrap().unwrap(), b"hello");
    let json = serde_json::to_value(&file).unwrap();
    assert_eq!(json["content_path"], "/v1/vaults/v/items/i/files/f/content");
    assert_eq!(serde_json::from_value::<File>(json).unwrap(), file);
}

#[test]
fn patch_ops_serialise_like_the_spec_examples() {
    let ops = vec![
        PatchOp::replace("/favorite", json!(true)),
        PatchOp::remove("/tags/1"),
        PatchOp::add(
            "/fields",
            json!({"label": "New", "type": "string", "value": "x"}),
        ),
    ];
    let out = serde_json::to_value(&ops).unwrap();
    assert_eq!(
        out,
        json!([
            {"op": "replace", "path": "/favorite", "value": true},
            {"op": "remove", "path": "/tags/1"},
            {"op": "add", "path": "/fields", "value": {"label": "New", "type": "string", "value": "x"}}
        ])
    );
    assert_eq!(serde_json::from_value::<Vec<PatchOp>>(out).unwrap(), ops);
    let odd: PatchOp = serde_json::from_value(json!({"op": "move", "path": "/x"})).unwrap();
    assert_eq!(odd.op, PatchOperation::Other("move".into()));
}

#[test]
fn error_body_round_trips() {
    let body: ErrorBody =
        serde_json::from_str(r#"{"status":404,"message":"item x not found"}"#).unwrap();
    assert_eq!(body, ErrorBody::new(404, "item x not found"));
    assert_eq!(
        serde_json::to_string(&body).unwrap(),
        r#"{"status":404,"message":"item x not found"}"#
    );
}

#[test]
fn activity_entry_accepts_both_spellings() {
    let entry: ActivityEntry = serde_json::from_value(json!({
        "requestID": "d9a1c6b2-0000-4000-8000-000000000000",
        "timestamp": "2021-01-01T00:00:00Z", "action": "READ", "result": "SUCCESS",
        "actor": {"id": "a", "account": "b", "jti": "c", "userAgent": "ua", "ip": "127.0.0.1"},
        "resource": {"type": "ITEM", "vault": {"id": "v"}, "item": {"id": "i"}, "itemVersion": 2}
    }))
    .unwrap();
    assert_eq!(entry.action, Some(ActivityAction::Read));
    assert_eq!(entry.actor.as_ref().unwrap().request_ip, "127.0.0.1");
    let out = serde_json::to_value(&entry).unwrap();
    assert_eq!(out["requestId"], "d9a1c6b2-0000-4000-8000-000000000000");
    assert_eq!(out["actor"]["requestIp"], "127.0.0.1");
    assert_eq!(out["resource"]["itemVersion"], 2);
    assert_eq!(serde_json::from_value::<ActivityEntry>(out).unwrap(), entry);
}

#[test]
fn health_round_trips() {
    let input = json!({"name": "1Password Connect API", "version": "1.8.1",
        "dependencies": [{"service": "sqlite", "status": "ACTIVE", "message": "Connected"},
                         {"service": "sync", "status": "ACTIVE"}]});
    let health: ServerHealth = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(serde_json::to_value(&health).unwrap(), input);
}

/// The official OpenAPI file as JSON, or `None` when it is absent outside CI (the skip of `test`
/// is reported; see `test_support::openapi_spec`).
fn official_spec(test: &str) -> Option<Value> {
    let spec_path = test_support::openapi_spec(test)?;
    let text = std::fs::read_to_string(&spec_path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", spec_path.display()));
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    Some(serde_json::to_value(yaml).unwrap())
}

/// The enum values of a schema of the official OpenAPI file.
fn spec_enum(spec: &Value, schema_path: &[&str]) -> Vec<String> {
    let mut node = &spec["components"]["schemas"];
    for key in schema_path {
        node = &node[*key];
    }
    node["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("no enum at {schema_path:?}"))
        .iter()
        .map(|value| value.as_str().unwrap().to_owned())
        .collect()
}

fn known<T: std::fmt::Display>(values: &[T]) -> Vec<String> {
    values.iter().map(ToString::to_string).collect()
}

#[test]
fn known_values_match_the_official_spec() {
    let Some(spec) = official_spec("known_values_match_the_official_spec") else {
        return;
    };
    assert_eq!(
        known(ItemCategory::KNOWN),
        spec_enum(&spec, &["Item", "properties", "category"])
    );
    assert_eq!(
        known(VaultType::KNOWN),
        spec_enum(&spec, &["Vault", "properties", "type"])
    );
    let purposes: Vec<String> = spec_enum(&spec, &["Field", "properties", "purpose"])
        .into_iter()
        .filter(|purpose| !purpose.is_empty())
        .collect();
    assert_eq!(known(FieldPurpose::KNOWN), purposes);
    assert_eq!(
        known(CharacterSet::KNOWN),
        spec_enum(
            &spec,
            &["GeneratorRecipe", "properties", "characterSets", "items"]
        )
    );
    assert_eq!(
        known(ItemState::KNOWN),
        spec_enum(&spec, &["Item", "properties", "state"])
    );
    assert_eq!(
        known(ActivityAction::KNOWN),
        spec_enum(&spec, &["APIRequest", "properties", "action"])
    );
    assert_eq!(
        known(ActivityResult::KNOWN),
        spec_enum(&spec, &["APIRequest", "properties", "result"])
    );
    assert_eq!(
        known(ResourceType::KNOWN),
        spec_enum(
            &spec,
            &["APIRequest", "properties", "resource", "properties", "type"]
        )
    );
    assert_eq!(
        known(PatchOperation::KNOWN),
        spec_enum(&spec, &["Patch", "items", "properties", "op"])
    );
    // Field types: every spec value is known, except the spec's wrong `TOTP` (the server uses OTP).
    for spec_type in spec_enum(&spec, &["Field", "properties", "type"]) {
        let parsed = FieldType::from(spec_type.as_str());
        assert_eq!(parsed.is_known(), spec_type != "TOTP", "{spec_type}");
    }
}

#[test]
fn known_values_parse_without_other() {
    for category in ItemCategory::KNOWN {
        assert_eq!(&ItemCategory::from(category.as_str()), category);
        let json = serde_json::to_string(category).unwrap();
        assert_eq!(
            &serde_json::from_str::<ItemCategory>(&json).unwrap(),
            category
        );
    }
    for field_type in FieldType::KNOWN {
        assert_eq!(&FieldType::from(field_type.as_str()), field_type);
    }
}

/// Validates `instance` against `components.schemas.<name>` of the official OpenAPI file.
fn assert_matches_spec_schema(spec: &Value, name: &str, instance: &Value) {
    let schema = json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": spec["components"],
    });
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{instance:#}");
}

#[test]
fn serialised_values_match_the_official_schemas() {
    let Some(spec) = official_spec("serialised_values_match_the_official_schemas") else {
        return;
    };
    let mut item: Item = serde_json::from_value(server_full_item()).unwrap();
    // The spec's field type enum lists TOTP instead of OTP and none of the returned-only types.
    item.fields
        .retain(|field| !matches!(field.field_type, FieldType::Otp | FieldType::Address));
    let item_json = serde_json::to_value(&item).unwrap();
    assert_matches_spec_schema(&spec, "FullItem", &item_json);
    assert_matches_spec_schema(
        &spec,
        "Item",
        &serde_json::to_value(item.summary()).unwrap(),
    );
    for field in &item.fields {
        assert_matches_spec_schema(&spec, "Field", &serde_json::to_value(field).unwrap());
    }
    let vault: Vault = serde_json::from_value(json!({
        "id": "hfnjvi6aymbsnfc2xeeoheizda", "name": "Demo", "attributeVersion": 1,
        "contentVersion": 2, "items": 3, "type": "EVERYONE", "createdAt": "2021-01-01T00:00:00Z",
        "updatedAt": "2021-01-01T00:00:00Z"
    }))
    .unwrap();
    assert_matches_spec_schema(&spec, "Vault", &serde_json::to_value(&vault).unwrap());
    let mut file = item.files[0].clone();
    file.set_content(b"The future belongs to the curious.\n");
    assert_matches_spec_schema(&spec, "File", &serde_json::to_value(&file).unwrap());
    assert_matches_spec_schema(
        &spec,
        "ErrorResponse",
        &serde_json::to_value(ErrorBody::new(404, "item x not found")).unwrap(),
    );
    assert_matches_spec_schema(
        &spec,
        "Patch",
        &serde_json::to_value(vec![
            PatchOp::replace("/fields/username/value", json!({"v": 1})),
            PatchOp::remove("/tags/1"),
        ])
        .unwrap(),
    );
    let entry: ActivityEntry = serde_json::from_value(json!({
        "requestId": "d9a1c6b2-0000-4000-8000-000000000000", "timestamp": "2021-01-01T00:00:00Z",
        "action": "UPDATE", "result": "DENY",
        "actor": {"id": "d9a1c6b2-0000-4000-8000-000000000001", "account": "A", "jti": "j",
                  "userAgent": "ua", "requestIp": "127.0.0.1"},
        "resource": {"type": "ITEM", "vault": {"id": "hfnjvi6aymbsnfc2xeeoheizda"},
                     "item": {"id": "wepiqdxdzncjtnvmv5fegud4qy"}, "itemVersion": 3}
    }))
    .unwrap();
    assert_matches_spec_schema(&spec, "APIRequest", &serde_json::to_value(&entry).unwrap());
}

#[test]
fn the_schema_check_catches_a_wrong_shape() {
    // Guard against a validator that accepts everything (e.g. an unresolved $ref).
    let Some(spec) = official_spec("the_schema_check_catches_a_wrong_shape") else {
        return;
    };
    let schema = json!({"$ref": "#/components/schemas/Item", "components": spec["components"]});
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(!validator.is_valid(&json!({"title": "no vault nor category"})));
    assert!(
        !validator.is_valid(&json!({"vault": {"id": "v"}, "category": "LOGIN", "version": "1"}))
    );
}

#[test]
fn empty_strings_that_read_as_unset_are_not_written() {
    let item = Item {
        title: "x".into(),
        category: Some(ItemCategory::Other(String::new())),
        last_edited_by: Some(String::new()),
        urls: vec![ItemUrl {
            label: Some(String::new()),
            primary: true,
            href: "https://example.com".into(),
        }],
        sections: vec![Section {
            id: "s".into(),
            label: Some(String::new()),
        }],
        fields: vec![Field {
            id: "f".into(),
            purpose: Some(FieldPurpose::Other(String::new())),
            recipe: Some(GeneratorRecipe {
                exclude_characters: Some(String::new()),
                ..GeneratorRecipe::default()
            }),
            ..Field::default()
        }],
        ..Item::default()
    };
    let written = serde_json::to_value(&item).unwrap();
    assert_eq!(
        written,
        json!({"title": "x", "vault": {"id": ""},
               "urls": [{"primary": true, "href": "https://example.com"}],
               "sections": [{"id": "s"}],
               "fields": [{"id": "f", "type": "STRING", "recipe": {}}]})
    );
    let reread: Item = serde_json::from_value(written.clone()).unwrap();
    assert_eq!(serde_json::to_value(&reread).unwrap(), written);
}
