//! `vaults/<v>/items/<i>/fields/<f>`: one field (by id or label) with its metadata, so a policy can
//! grant one field of an item and not the rest. For an OTP field, `value` and `totp` are the
//! current code; the seed (`otpauth://…`) is only in reads of the whole item.

use std::sync::Arc;

use onepassword_connect::model::FieldType;
use serde_json::Value;
use vault_plugin_sdk::{Error, Field, HandlerResult, Path, Request};

use crate::engine::Engine;
use crate::render::field_json;
use crate::routes::{captured, list_response, live, object_segment, respond, segment};

/// `vaults/<v>/items/<i>/fields/<f>`.
pub fn path() -> Path<Engine> {
    Path::new(format!(
        "vaults/{}/items/{}/fields/{}",
        object_segment("vault"),
        object_segment("id"),
        segment("field")
    ))
    .field(Field::string("vault").description("The vault: id or name."))
    .field(Field::string("id").description("The item: id or title."))
    .field(Field::string("field").description("The field: id or label."))
    .synopsis("Read one field of an item: value, type, purpose, section; the current code of an OTP field.")
    .read(read)
}

/// `vaults/<v>/items/<i>/fields/`.
pub fn list_path() -> Path<Engine> {
    Path::new(format!(
        "vaults/{}/items/{}/fields/?",
        object_segment("vault"),
        object_segment("id")
    ))
    .field(Field::string("vault").description("The vault: id or name."))
    .field(Field::string("id").description("The item: id or title."))
    .synopsis("List the fields of an item: keys \"<label> <id>\", key_info key → field id.")
    .list(list)
}

async fn list(req: Request, engine: Arc<Engine>) -> HandlerResult {
    const ACTION: &str = "Unable to list fields";
    let live = live(&req, &engine).await?;
    let found = live
        .find_item(captured(&req, "vault")?, captured(&req, "id")?, ACTION)
        .await?;
    let entries = found
        .item
        .fields
        .iter()
        .map(|f| {
            let key = match f.label.as_deref() {
                Some(label) if !label.is_empty() => format!("{label} {}", f.id),
                _ => f.id.clone(),
            };
            (key, Value::String(f.id.clone()))
        })
        .collect();
    Ok(list_response(entries, found.warnings))
}

async fn read(req: Request, engine: Arc<Engine>) -> HandlerResult {
    const ACTION: &str = "Unable to read field";
    let live = live(&req, &engine).await?;
    let wanted = captured(&req, "field")?;
    let found = live
        .find_item(captured(&req, "vault")?, captured(&req, "id")?, ACTION)
        .await?;
    let item = &found.item;
    let mut warnings = found.warnings.clone();
    let field = match item.fields.iter().find(|f| f.id == wanted) {
        Some(field) => field,
        None => {
            let by_label: Vec<_> = item
                .fields
                .iter()
                .filter(|f| f.label.as_deref() == Some(wanted))
                .collect();
            let first = by_label.first().copied().ok_or_else(|| {
                Error::not_found(format!(
                    "{ACTION}: item {:?} has no field with id or label {wanted:?}",
                    item.title
                ))
            })?;
            if by_label.len() > 1 {
                let ids: Vec<&str> = by_label.iter().map(|f| f.id.as_str()).collect();
                warnings.push(format!(
                    "{} fields are labelled {wanted:?} (ids {}): returning the first; address it by id to choose",
                    by_label.len(),
                    ids.join(", ")
                ));
            }
            first
        }
    };
    let mut data = field_json(item, field);
    if field.field_type == FieldType::Otp {
        // Granting one OTP field grants the current code, not the seed that makes every future
        // code (the whole item, with the otpauth URI, needs a read of the item itself).
        data.insert(
            "value".into(),
            Value::String(field.totp.clone().unwrap_or_default()),
        );
    }
    Ok(Some(respond(data, warnings)))
}
