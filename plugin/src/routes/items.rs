//! `vaults/<v>/items/` (list, create) and `vaults/<v>/items/<i>` (read, write, patch, delete).

use std::sync::Arc;

use serde_json::Value;
use vault_plugin_sdk::{Field, HandlerResult, Operation, Path, Request};

use crate::engine::Engine;
use crate::error::bad_field;
use crate::item_body::{ITEM_KEYS, PATCH_KEYS, build_item, patch_ops};
use crate::render::{flat, flat_owned, full_item, written};
use crate::resolve::ItemWritten;
use crate::routes::{captured, list_response, live, object_segment, param_warnings, respond};

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
    live.item_written(&vault_id, &created.id, None, ItemWritten::Now(&created));
    Ok(Some(respond(written(&created), warnings)))
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
    live.item_written(
        &vault_id,
        &item_id,
        Some(item_segment),
        ItemWritten::of(&result),
    );
    let updated = result.map_err(|e| live.fail(ACTION, &e))?;
    Ok(Some(respond(written(&updated), warnings)))
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
    live.item_written(
        &vault_id,
        &item_id,
        Some(item_segment),
        ItemWritten::of(&result),
    );
    let patched = result.map_err(|e| live.fail(ACTION, &e))?;
    Ok(Some(respond(written(&patched), warnings)))
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
    let outcome = match &result {
        Ok(()) => ItemWritten::Deleted,
        Err(_) => ItemWritten::Unknown,
    };
    live.item_written(&vault_id, &item_id, Some(item_segment), outcome);
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
