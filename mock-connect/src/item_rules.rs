//! What the server does to an item body before storing it: validation, server-assigned members,
//! generated values, entropy, and the read-only `totp` code of OTP fields.
//!
//! Choices where the real server's behaviour is not documented (see the research notes):
//! - `type` and `purpose` are read case-insensitively, `TOTP` means `OTP`; other unknown values are
//!   rejected with 400 rather than stored.
//! - a field with a PASSWORD purpose and the default `STRING` type becomes `CONCEALED`;
//! - a field without id gets the template id of its purpose (`username`, `password`,
//!   `notesPlain`) when free, else a fresh 26-character id;
//! - `generate: true` regenerates the value on every create/replace and is not echoed back;
//! - missing template fields are not added.

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use onepassword_connect::model::{
    FieldPurpose, FieldType, GeneratorRecipe, Item, ItemCategory, VaultRef,
};

use crate::error::ApiError;
use crate::generate::{self, RecipeError};
use crate::ids::{is_valid_id, new_id};
use crate::totp::Totp;

/// The user id reported in `lastEditedBy` (26 characters of uppercase base32, like real ones).
pub const MOCK_USER_ID: &str = "MOCKCONNECTUSERAAAAAAAAAAA";

/// Now, at the seconds precision the real server uses.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// Validates a category for a create: it must be one of the spec's categories, and CUSTOM and
/// DOCUMENT cannot be created through Connect.
fn creatable_category(category: Option<&ItemCategory>) -> Result<ItemCategory, ApiError> {
    match category {
        Some(ItemCategory::Other(text)) => {
            let parsed = ItemCategory::parse_ignore_case(text);
            creatable_category(Some(&parsed).filter(|c| c.is_known()))
        }
        Some(ItemCategory::Custom | ItemCategory::Document) | None => {
            Err(ApiError::bad_request("Invalid item category"))
        }
        Some(known) => Ok(known.clone()),
    }
}

/// A new item from a create body: id, version 1, timestamps, fields and generated values.
pub fn prepare_create(body: Item, vault_id: &str) -> Result<Item, ApiError> {
    let mut item = body;
    item.category = Some(creatable_category(item.category.as_ref())?);
    let stamp = now();
    item.id = new_id();
    item.vault = VaultRef::new(vault_id);
    item.version = 1;
    item.created_at = Some(stamp);
    item.updated_at = Some(stamp);
    item.files.clear();
    finish(&mut item)?;
    Ok(item)
}

/// The replacement of `existing` by a PUT body (or the result of a PATCH). Files stay (there is
/// no upload endpoint; the JS SDK echoes them anyway), a missing category keeps the old one.
pub fn prepare_replace(body: Item, existing: &Item) -> Result<Item, ApiError> {
    let mut item = body;
    item.category = match item.category.take() {
        None => existing.category.clone(),
        Some(ItemCategory::Other(text)) => {
            let parsed = ItemCategory::parse_ignore_case(&text);
            if !parsed.is_known() {
                return Err(ApiError::bad_request("Invalid item category"));
            }
            Some(parsed)
        }
        Some(known) => Some(known),
    };
    item.id.clone_from(&existing.id);
    item.vault = existing.vault.clone();
    item.version = existing.version + 1;
    item.created_at = existing.created_at;
    item.updated_at = Some(now());
    item.files.clone_from(&existing.files);
    finish(&mut item)?;
    Ok(item)
}

/// Normalises an item read from a fixture or a data file: keeps what it has, fills what it lacks.
pub fn prepare_loaded(body: Item, vault_id: &str) -> Result<Item, ApiError> {
    let mut item = body;
    if item.id.is_empty() {
        item.id = new_id();
    } else if !is_valid_id(&item.id) {
        return Err(ApiError::invalid_item_id());
    }
    if item.category.is_none() {
        return Err(ApiError::bad_request("Invalid item category"));
    }
    item.vault = VaultRef::new(vault_id);
    item.version = item.version.max(1);
    let stamp = now();
    item.created_at = item.created_at.or(Some(stamp));
    item.updated_at = item.updated_at.or(item.created_at);
    finish(&mut item)?;
    Ok(item)
}

/// Steps shared by every write.
fn finish(item: &mut Item) -> Result<(), ApiError> {
    item.state = None;
    item.trashed = false;
    item.last_edited_by = Some(MOCK_USER_ID.to_owned());
    for section in &mut item.sections {
        if section.id.is_empty() {
            section.id = new_id();
        }
    }
    normalize_fields(item)
}

fn normalize_fields(item: &mut Item) -> Result<(), ApiError> {
    let mut usernames = 0;
    let mut passwords = 0;
    for field in &mut item.fields {
        if let FieldType::Other(text) = field.field_type.clone() {
            field.field_type = FieldType::parse_lenient(&text);
            if !field.field_type.is_known() {
                return Err(ApiError::bad_request(format!(
                    "Validation: invalid field type \"{text}\""
                )));
            }
        }
        if let Some(FieldPurpose::Other(text)) = &field.purpose {
            let parsed = FieldPurpose::parse_ignore_case(text);
            if !parsed.is_known() {
                return Err(ApiError::bad_request(format!(
                    "Validation: invalid field purpose \"{text}\""
                )));
            }
            field.purpose = Some(parsed);
        }
        match field.purpose {
            Some(FieldPurpose::Username) => usernames += 1,
            Some(FieldPurpose::Password) => passwords += 1,
            _ => {}
        }
        if field.purpose == Some(FieldPurpose::Password) && field.field_type == FieldType::String {
            field.field_type = FieldType::Concealed;
        }
        if field.label.as_deref().is_none_or(str::is_empty) {
            match field.purpose {
                Some(FieldPurpose::Username) => field.label = Some("username".to_owned()),
                Some(FieldPurpose::Password) => field.label = Some("password".to_owned()),
                _ => {}
            }
        }
        if field.section.as_ref().is_some_and(|s| s.id.is_empty()) {
            field.section = None;
        }
        check_value_format(&field.field_type, field.value.as_deref())?;
        field.totp = None;
        field.entropy = None;
        if field.generate {
            let recipe = field.recipe.take().unwrap_or_default();
            let generated = generate_value(&recipe)?;
            field.value = Some(generated.value);
            if field.purpose == Some(FieldPurpose::Password) {
                field.entropy = Some(generated.entropy);
            }
            field.generate = false;
        } else {
            field.recipe = None;
            if field.purpose == Some(FieldPurpose::Password)
                && let Some(value) = field.value.as_deref().filter(|v| !v.is_empty())
            {
                field.entropy = Some(generate::entropy_of(value));
            }
        }
    }
    for (purpose, count) in [("username", usernames), ("password", passwords)] {
        if count > 1 {
            return Err(ApiError::bad_request(format!(
                "Validation: (too many \"{purpose}\" fields in Apply()), You can only use one \"{purpose}\" field."
            )));
        }
    }
    assign_field_ids(item);
    Ok(())
}

fn generate_value(recipe: &GeneratorRecipe) -> Result<generate::Generated, ApiError> {
    let sets: Vec<String> = recipe
        .character_sets
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    generate::generate(
        recipe.length.map(i64::from),
        &sets,
        recipe.exclude_characters.as_deref(),
    )
    .map_err(|e: RecipeError| ApiError::bad_request(e.to_string()))
}

fn check_value_format(field_type: &FieldType, value: Option<&str>) -> Result<(), ApiError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let valid = match field_type {
        FieldType::Date => NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
        FieldType::MonthYear => {
            let digits: String = value.chars().filter(|c| *c != '/').collect();
            let slash_ok = !value.contains('/') || value.find('/') == Some(4);
            digits.len() == 6
                && slash_ok
                && digits.chars().all(|c| c.is_ascii_digit())
                && matches!(digits[4..].parse::<u32>(), Ok(1..=12))
        }
        _ => true,
    };
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "Validation: invalid {field_type} value \"{value}\""
        )))
    }
}

fn assign_field_ids(item: &mut Item) {
    let mut taken: Vec<String> = item
        .fields
        .iter()
        .filter(|f| !f.id.is_empty())
        .map(|f| f.id.clone())
        .collect();
    for field in &mut item.fields {
        if !field.id.is_empty() {
            continue;
        }
        let template = match field.purpose {
            Some(FieldPurpose::Username) => Some("username"),
            Some(FieldPurpose::Password) => Some("password"),
            Some(FieldPurpose::Notes) => Some("notesPlain"),
            _ => None,
        };
        field.id = match template.filter(|t| !taken.iter().any(|id| id == t)) {
            Some(template) => template.to_owned(),
            None => new_id(),
        };
        taken.push(field.id.clone());
    }
}

/// Whether any field needs a fresh `totp` code at read time.
pub fn has_otp(item: &Item) -> bool {
    item.fields.iter().any(|f| f.field_type == FieldType::Otp)
}

/// Fills the current `totp` code of every OTP field whose value holds a usable secret.
pub fn fill_totp(item: &mut Item) {
    for field in &mut item.fields {
        if field.field_type == FieldType::Otp {
            field.totp = field
                .value
                .as_deref()
                .and_then(|v| Totp::parse(v).ok())
                .map(|t| t.current_code());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onepassword_connect::model::Field;
    use serde_json::json;

    fn item(body: serde_json::Value) -> Item {
        serde_json::from_value(body).unwrap()
    }

    #[test]
    fn create_assigns_server_members() {
        let body = item(json!({
            "id": "", "title": "New", "vault": {"id": "ignored"}, "category": "login",
            "createdAt": "0001-01-01T00:00:00Z",
            "fields": [
                {"purpose": "username", "value": "alice", "type": ""},
                {"purpose": "PASSWORD", "generate": true,
                 "recipe": {"length": 20, "characterSets": ["DIGITS"]}},
                {"label": "otp", "type": "totp", "value": "otpauth://totp/x?secret=GEZDGNBVGY3TQOJQ"}
            ]
        }));
        let created = prepare_create(body, "vvvvvvvvvvvvvvvvvvvvvvvvvv").unwrap();
        assert!(is_valid_id(&created.id));
        assert_eq!(created.version, 1);
        assert_eq!(created.category, Some(ItemCategory::Login));
        assert_eq!(created.vault.id, "vvvvvvvvvvvvvvvvvvvvvvvvvv");
        assert!(created.created_at.unwrap().timestamp() > 0);
        let username = &created.fields[0];
        assert_eq!(
            (username.id.as_str(), username.label.as_deref()),
            ("username", Some("username"))
        );
        let password = &created.fields[1];
        assert_eq!(password.id, "password");
        assert_eq!(password.field_type, FieldType::Concealed);
        let value = password.value.as_deref().unwrap();
        assert_eq!(value.len(), 20);
        assert!(value.chars().all(|c| c.is_ascii_digit()));
        assert!(!password.generate && password.recipe.is_none());
        assert!(password.entropy.unwrap() > 60.0);
        assert_eq!(created.fields[2].field_type, FieldType::Otp);
        assert!(is_valid_id(&created.fields[2].id));
        assert!(has_otp(&created));
        let mut shown = created.clone();
        fill_totp(&mut shown);
        assert_eq!(shown.fields[2].totp.as_deref().map(str::len), Some(6));
    }

    #[test]
    fn create_rejects_bad_input() {
        for category in [
            json!(null),
            json!("CUSTOM"),
            json!("DOCUMENT"),
            json!("SPACESHIP"),
        ] {
            let body = item(json!({"vault": {"id": "x"}, "category": category}));
            assert_eq!(
                prepare_create(body, "v").unwrap_err().message,
                "Invalid item category"
            );
        }
        let two_passwords = item(json!({"category": "LOGIN", "fields": [
            {"purpose": "PASSWORD", "value": "a"}, {"purpose": "PASSWORD", "value": "b"}]}));
        let err = prepare_create(two_passwords, "v").unwrap_err();
        assert!(
            err.message.contains("too many \"password\" fields"),
            "{}",
            err.message
        );
        let bad_date =
            item(json!({"category": "LOGIN", "fields": [{"type": "DATE", "value": "31/12/2020"}]}));
        assert_eq!(prepare_create(bad_date, "v").unwrap_err().status, 400);
        let bad_type = item(json!({"category": "LOGIN", "fields": [{"type": "HOLOGRAM"}]}));
        assert_eq!(prepare_create(bad_type, "v").unwrap_err().status, 400);
        let bad_recipe = item(
            json!({"category": "LOGIN", "fields": [{"generate": true, "recipe": {"length": 99}}]}),
        );
        assert_eq!(prepare_create(bad_recipe, "v").unwrap_err().status, 400);
        let month = item(json!({"category": "LOGIN", "fields": [
            {"type": "MONTH_YEAR", "value": "202612"}, {"type": "MONTH_YEAR", "value": "2026/01"}]}));
        assert!(prepare_create(month, "v").is_ok());
    }

    #[test]
    fn replace_bumps_version_and_keeps_identity() {
        let created =
            prepare_create(item(json!({"category": "PASSWORD", "title": "a"})), "v").unwrap();
        let mut body = item(json!({"title": "b", "id": "other", "version": 7}));
        body.fields
            .push(Field::new("", FieldType::String, "note", "x"));
        let replaced = prepare_replace(body, &created).unwrap();
        assert_eq!(replaced.id, created.id);
        assert_eq!(replaced.version, 2);
        assert_eq!(replaced.category, Some(ItemCategory::Password));
        assert_eq!(replaced.created_at, created.created_at);
        assert_eq!(replaced.title, "b");
    }
}
