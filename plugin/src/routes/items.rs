//! `vaults/<v>/items/` (list, create) and `vaults/<v>/items/<i>` (read, write, patch, delete).

use std::sync::Arc;

use onepassword_connect::model::{Item, ItemCategory};
use serde_json::{Map, Value, json};
use vault_plugin_sdk::{Field, HandlerResult, Operation, Path, Request, Response};

use crate::backend::Engine;
use crate::error::bad_field;
use crate::item_body::{ITEM_KEYS, PATCH_KEYS, build_item, patch_ops};
use crate::routes::{
    captured, go_time, list_response, live, object, object_segment, param_warnings, respond,
    timestamp,
};

const VAULT_HELP: &str = "Specifies the vault: its id, or its name (URL-encoded).";
const ITEM_HELP: &str = "Specifies the item: its id, or its title (URL-encoded).";

fn body_fields(path: Path<Engine>) -> Path<Engine> {
    path.field(Field::string("url").description("Specifies the url of the item"))
        .field(Field::string("category").description(
            "Specifies the category of the item (login, password, database, server, api_credential, …)",
        ))
        .field(Field::string("title").description("Specifies the title of the item"))
        .field(Field::json("fields").description(
            "The list of fields to create for the item. This is represented as a list of maps (a single map, or JSON text of the list, is accepted too).",
        ))
        .field(Field::json("sections").description(
            "The list of sections to create for the item. This is represented as a list of maps.",
        ))
}

/// `vaults/<v>/items/<i>`.
pub fn item_path() -> Path<Engine> {
    body_fields(
        Path::new(format!("vaults/{}/items/{}", object_segment("vault"), object_segment("id")))
            .field(Field::string("vault").description(VAULT_HELP))
            .field(Field::string("id").description(ITEM_HELP)),
    )
    .field(Field::string("format").description(
        "Read: \"flat\" (default, label → value) or \"full\" (the whole item with metadata)",
    ))
    .field(Field::json("tags").description("Patch: the item's new tags"))
    .field(Field::json("remove_fields").description(
        "Patch: ids or labels of fields to remove",
    ))
    .synopsis("Read, replace, patch or delete an item of a 1Password vault.")
    .description(
        "Read returns the item's fields as label → value (format=full: the whole item).\n\
         Write replaces the whole item with the body (Vault dispatches it as `create`, as with the reference plugin).\n\
         Patch changes only the title, url, tags or fields named in the body, through a Connect PATCH.",
    )
    .exists(|req: Request, _| async move { Ok(req.operation == Operation::Patch) })
    .read(read)
    .create(replace)
    .update(replace)
    .patch(patch)
    .delete(delete)
}

/// `vaults/<v>/items/`.
pub fn collection_path() -> Path<Engine> {
    body_fields(
        Path::new(format!("vaults/{}/items/?", object_segment("vault")))
            .field(Field::string("vault").description(VAULT_HELP)),
    )
    .synopsis("Allows for creating an item or listing items for a 1Password Vault.")
    .exists(|_, _| async { Ok(false) })
    .list(list)
    .create(create)
    .update(create)
}

async fn list(req: Request, engine: Arc<Engine>) -> HandlerResult {
    const ACTION: &str = "Unable to list items";
    let live = live(&req, &engine).await?;
    let (vault_id, warning) = live.vault_id(captured(&req, "vault")?, ACTION).await?;
    let items = live
        .client
        .list_items(&vault_id, None)
        .await
        .map_err(|e| live.fail(ACTION, &e))?;
    let entries = items
        .into_iter()
        .map(|item| {
            (
                format!("{} {}", item.title, item.id),
                Value::String(item.id),
            )
        })
        .collect();
    Ok(list_response(entries, warning.into_iter().collect()))
}

/// The category as the reference reports it: unknown values read as `CUSTOM`.
fn category_text(category: Option<&ItemCategory>) -> &str {
    match category {
        Some(ItemCategory::Other(_)) => "CUSTOM",
        Some(known) => known.as_str(),
        None => "",
    }
}

/// The create/update/patch answer: `{ID, category, createdAt}` like the reference.
fn written(item: &Item, warnings: Vec<String>) -> Response {
    respond(
        object([
            ("ID", json!(item.id)),
            ("category", json!(category_text(item.category.as_ref()))),
            ("createdAt", json!(go_time(item.created_at))),
        ]),
        warnings,
    )
}

async fn create(req: Request, engine: Arc<Engine>) -> HandlerResult {
    const ACTION: &str = "Unable to create item";
    let live = live(&req, &engine).await?;
    let mut warnings = param_warnings(&req.data, &ITEM_KEYS, &["vault"]);
    let (vault_id, vault_warning) = live.vault_id(captured(&req, "vault")?, ACTION).await?;
    warnings.extend(vault_warning);
    let item = build_item(&vault_id, &req.data)?;
    let created = live
        .client
        .create_item(&vault_id, &item)
        .await
        .map_err(|e| live.fail(ACTION, &e))?;
    live.forget_item(&vault_id, &created.id, Some(&created.title));
    Ok(Some(written(&created, warnings)))
}

async fn replace(req: Request, engine: Arc<Engine>) -> HandlerResult {
    const ACTION: &str = "Unable to update item";
    let live = live(&req, &engine).await?;
    let mut warnings = param_warnings(&req.data, &ITEM_KEYS, &["vault", "id"]);
    let item_segment = captured(&req, "id")?;
    let (vault_id, vault_warning) = live.vault_id(captured(&req, "vault")?, ACTION).await?;
    warnings.extend(vault_warning);
    // The body is checked before the title lookup, as the reference does.
    let mut item = build_item(&vault_id, &req.data)?;
    let (item_id, item_warning) = live
        .item_id_for_write(&vault_id, item_segment, ACTION)
        .await?;
    warnings.extend(item_warning);
    item.id.clone_from(&item_id);
    let result = live.client.replace_item(&vault_id, &item_id, &item).await;
    live.forget_item(&vault_id, &item_id, Some(item_segment));
    let updated = result.map_err(|e| live.fail(ACTION, &e))?;
    Ok(Some(written(&updated, warnings)))
}

async fn patch(req: Request, engine: Arc<Engine>) -> HandlerResult {
    const ACTION: &str = "Unable to patch item";
    let live = live(&req, &engine).await?;
    let mut known: Vec<&str> = ITEM_KEYS.to_vec();
    known.extend(PATCH_KEYS);
    let mut warnings = param_warnings(&req.data, &known, &["vault", "id"]);
    let item_segment = captured(&req, "id")?;
    let (vault_id, vault_warning) = live.vault_id(captured(&req, "vault")?, ACTION).await?;
    warnings.extend(vault_warning);
    let (item_id, item_warning) = live
        .item_id_for_write(&vault_id, item_segment, ACTION)
        .await?;
    warnings.extend(item_warning);
    // Fresh, not from the item cache: field ids decide between replace and add.
    let current = live
        .client
        .get_item(&vault_id, &item_id)
        .await
        .map_err(|e| live.fail(ACTION, &e))?;
    let ops = patch_ops(&current, &req.data)?;
    let result = live.client.patch_item(&vault_id, &item_id, &ops).await;
    live.forget_item(&vault_id, &item_id, Some(item_segment));
    let patched = result.map_err(|e| live.fail(ACTION, &e))?;
    Ok(Some(written(&patched, warnings)))
}

async fn delete(req: Request, engine: Arc<Engine>) -> HandlerResult {
    const ACTION: &str = "Unable to delete item";
    let live = live(&req, &engine).await?;
    let item_segment = captured(&req, "id")?;
    let (vault_id, _) = live.vault_id(captured(&req, "vault")?, ACTION).await?;
    let (item_id, _) = live
        .item_id_for_write(&vault_id, item_segment, ACTION)
        .await?;
    let result = live.client.delete_item(&vault_id, &item_id).await;
    live.forget_item(&vault_id, &item_id, Some(item_segment));
    result.map_err(|e| live.fail(ACTION, &e))?;
    Ok(None)
}

async fn read(req: Request, engine: Arc<Engine>) -> HandlerResult {
    const ACTION: &str = "Unable to retrieve item";
    let full = match req.get_str("format").unwrap_or_default() {
        "" | "flat" => false,
        "full" => true,
        other => {
            return Err(bad_field(
                "format",
                format!("expected \"flat\" or \"full\", got {other:?}"),
            ));
        }
    };
    let live = live(&req, &engine).await?;
    let found = live
        .find_item(captured(&req, "vault")?, captured(&req, "id")?, ACTION)
        .await?;
    let data = if full {
        full_item(&found.item)
    } else {
        match Arc::try_unwrap(found.item) {
            // Not shared with the item cache: move the strings instead of copying them.
            Ok(item) => flat_owned(item),
            Err(shared) => flat(&shared),
        }
    };
    Ok(Some(respond(data, found.warnings)))
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
fn flat_owned(item: Item) -> Map<String, Value> {
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

fn full_item(item: &Item) -> Map<String, Value> {
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
}
