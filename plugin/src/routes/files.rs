//! `vaults/<v>/items/<i>/files/` (list) and `…/files/<f>` (metadata and base64 content).

use std::sync::Arc;

use base64::Engine as _;
use onepassword_connect::model::File;
use serde_json::{Value, json};
use vault_plugin_sdk::{Error, Field, HandlerResult, Path, Request};

use crate::engine::{Engine, Live};
use crate::render::file_json;
use crate::resolve::Found;
use crate::routes::{captured, list_response, live, object_segment, respond, segment};

fn item_fields(path: Path<Engine>) -> Path<Engine> {
    path.field(Field::string("vault").description("The vault: id or name."))
        .field(Field::string("id").description("The item: id or title."))
}

/// `vaults/<v>/items/<i>/files/`.
pub fn list_path() -> Path<Engine> {
    item_fields(Path::new(format!(
        "vaults/{}/items/{}/files/?",
        object_segment("vault"),
        object_segment("id")
    )))
    .synopsis("List the files attached to an item.")
    .list(list)
}

/// `vaults/<v>/items/<i>/files/<f>`.
pub fn read_path() -> Path<Engine> {
    item_fields(Path::new(format!(
        "vaults/{}/items/{}/files/{}",
        object_segment("vault"),
        object_segment("id"),
        segment("file")
    )))
    .field(Field::string("file").description("The file: id or name."))
    .synopsis("Read a file attached to an item: metadata and base64 content.")
    .read(read)
}

/// The item's files: from the full item when it lists them, else from Connect's files endpoint.
async fn files_of(live: &Live, found: &Found, action: &str) -> Result<Vec<File>, Error> {
    if !found.item.files.is_empty() {
        return Ok(found.item.files.clone());
    }
    live.client
        .list_files(&found.vault_id, &found.item.id, false)
        .await
        .map_err(|e| live.fail(action, &e))
}

async fn list(req: Request, engine: Arc<Engine>) -> HandlerResult {
    const ACTION: &str = "Unable to list files";
    let live = live(&req, &engine).await?;
    let found = live
        .find_item(captured(&req, "vault")?, captured(&req, "id")?, ACTION)
        .await?;
    let files = files_of(&live, &found, ACTION).await?;
    let entries = files
        .iter()
        .map(|file| {
            (
                format!("{} {}", file.name, file.id),
                Value::Object(file_json(&found.item, file)),
            )
        })
        .collect();
    Ok(list_response(entries, found.warnings))
}

async fn read(req: Request, engine: Arc<Engine>) -> HandlerResult {
    const ACTION: &str = "Unable to read file";
    let live = live(&req, &engine).await?;
    let wanted = captured(&req, "file")?;
    let found = live
        .find_item(captured(&req, "vault")?, captured(&req, "id")?, ACTION)
        .await?;
    let files = files_of(&live, &found, ACTION).await?;
    let mut warnings = found.warnings.clone();
    let file = match files.iter().find(|f| f.id == wanted) {
        Some(file) => file,
        None => {
            let named: Vec<&File> = files.iter().filter(|f| f.name == wanted).collect();
            let first = named.first().copied().ok_or_else(|| {
                Error::not_found(format!(
                    "{ACTION}: item {:?} has no file with id or name {wanted:?}",
                    found.item.title
                ))
            })?;
            if named.len() > 1 {
                let ids: Vec<&str> = named.iter().map(|f| f.id.as_str()).collect();
                warnings.push(format!(
                    "{} files are named {wanted:?} (ids {}): returning the first; address it by id to choose",
                    named.len(),
                    ids.join(", ")
                ));
            }
            first
        }
    };
    let content = live
        .client
        .get_file_content(&found.vault_id, &found.item.id, &file.id)
        .await
        .map_err(|e| live.fail(ACTION, &e))?;
    let mut data = file_json(&found.item, file);
    data.insert(
        "content".into(),
        json!(base64::engine::general_purpose::STANDARD.encode(&content)),
    );
    Ok(Some(respond(data, warnings)))
}
