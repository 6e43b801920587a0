//! Files attached to items (`…/items/{i}/files`).

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::Section;
use super::lenient;

/// A file attached to an item. `content` is present only when inline content was requested.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct File {
    /// File id; equals the id inside `content_path`.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub id: String,
    /// File name.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub name: String,
    /// Size in bytes.
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub size: u64,
    /// API path of the content, with a leading slash:
    /// `/v1/vaults/{v}/items/{i}/files/{f}/content` (snake case on the wire).
    #[serde(default, deserialize_with = "lenient::null_as_default")]
    pub content_path: String,
    /// Section the file belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<Section>,
    /// Base64 content (inline mode only; `""` for an empty file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
}

impl File {
    /// The `content_path` Connect uses for this file of this item.
    pub fn content_path_for(vault_id: &str, item_id: &str, file_id: &str) -> String {
        format!("/v1/vaults/{vault_id}/items/{item_id}/files/{file_id}/content")
    }

    /// Decoded inline content: `None` when not inlined, `Some(Err)` when not valid base64.
    pub fn decoded_content(&self) -> Option<Result<Vec<u8>, base64::DecodeError>> {
        self.content
            .as_deref()
            .map(|text| base64::engine::general_purpose::STANDARD.decode(text))
    }

    /// Sets the inline content from raw bytes (base64-encodes them).
    pub fn set_content(&mut self, bytes: &[u8]) {
        self.content = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
    }
}
