//! `vaults/` (list) and `vaults/<v>` (read the vault's details).

use std::sync::Arc;

use serde_json::{Value, json};
use vault_plugin_sdk::{Field, HandlerResult, Path, Request};

use crate::engine::Engine;
use crate::render::{object, timestamp};
use crate::routes::{captured, list_response, live, object_segment, respond};

/// `vaults/`.
pub fn list_path() -> Path<Engine> {
    Path::new("vaults/?")
        .synopsis("Allows for listing all vaults available with configured 1Password API Token")
        .exists(|_, _| async { Ok(false) })
        .list(list)
}

/// `vaults/<v>`.
pub fn read_path() -> Path<Engine> {
    Path::new(format!("vaults/{}", object_segment("vault")))
        .field(
            Field::string("vault")
                .description("Specifies the vault: its id, or its name (URL-encoded)."),
        )
        .synopsis("Read the details of a 1Password vault.")
        .read(read)
}

async fn list(req: Request, engine: Arc<Engine>) -> HandlerResult {
    const ACTION: &str = "Unable to list vaults";
    let live = live(&req, &engine).await?;
    let vaults = live
        .client
        .list_vaults(None)
        .await
        .map_err(|e| live.fail(ACTION, &e))?;
    let entries = vaults
        .into_iter()
        .map(|vault| {
            (
                format!("{} {}", vault.name, vault.id),
                Value::String(vault.id),
            )
        })
        .collect();
    Ok(list_response(entries, Vec::new()))
}

async fn read(req: Request, engine: Arc<Engine>) -> HandlerResult {
    const ACTION: &str = "Unable to read vault";
    let live = live(&req, &engine).await?;
    let (vault_id, warning) = live.vault_id(captured(&req, "vault")?, ACTION).await?;
    let vault = live
        .client
        .get_vault(&vault_id)
        .await
        .map_err(|e| live.fail(ACTION, &e))?;
    Ok(Some(respond(
        object([
            ("id", json!(vault.id)),
            ("name", json!(vault.name)),
            ("description", json!(vault.description.unwrap_or_default())),
            ("type", json!(vault.vault_type.as_str())),
            ("items", json!(vault.items)),
            ("attribute_version", json!(vault.attribute_version)),
            ("content_version", json!(vault.content_version)),
            ("created_at", timestamp(vault.created_at)),
            ("updated_at", timestamp(vault.updated_at)),
        ]),
        warning.into_iter().collect(),
    )))
}
