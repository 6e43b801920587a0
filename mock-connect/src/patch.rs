//! Connect's modified JSON Patch (RFC 6902 `add`, `remove`, `replace` only).
//!
//! Differences from plain RFC 6902, following the Connect docs: members of `fields` and `sections`
//! are addressed by their `id` (`/fields/{fieldId}/value`), numeric indexes are accepted as a
//! fallback; `add` of a single object or string to `/fields`, `/sections`, `/urls` or `/tags`
//! appends it; path `/` replaces the whole item (like PUT); replacing a whole field keeps its id
//! when the new value has none. The patched document then goes through the same rules as a PUT.

use onepassword_connect::model::{Item, PatchOp, PatchOperation};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Applies `ops` in order to `item`, giving the body of the replacement.
pub fn apply(item: &Item, ops: &[PatchOp]) -> Result<Item, ApiError> {
    let mut doc = serde_json::to_value(item).map_err(|e| invalid(&e.to_string()))?;
    for op in ops {
        apply_one(&mut doc, op)?;
    }
    serde_json::from_value(doc).map_err(|e| invalid(&format!("patched item is invalid: {e}")))
}

fn invalid(message: &str) -> ApiError {
    ApiError::bad_request(format!("Invalid patch: {message}"))
}

const LISTS: [&str; 4] = ["fields", "sections", "urls", "tags"];

fn apply_one(doc: &mut Value, op: &PatchOp) -> Result<(), ApiError> {
    let kind = match &op.op {
        PatchOperation::Add => Kind::Add,
        PatchOperation::Remove => Kind::Remove,
        PatchOperation::Replace => Kind::Replace,
        PatchOperation::Other(other) => {
            return Err(invalid(&format!("unsupported operation {other:?}")));
        }
    };
    let value = || {
        op.value
            .clone()
            .ok_or_else(|| invalid(&format!("{} needs a value", op.path)))
    };
    if op.path.is_empty() || op.path == "/" {
        return match kind {
            Kind::Remove => Err(invalid("cannot remove the item")),
            Kind::Add | Kind::Replace => {
                let new = value()?;
                if !new.is_object() {
                    return Err(invalid("the item must be an object"));
                }
                *doc = new;
                Ok(())
            }
        };
    }
    let Some(pointer) = op.path.strip_prefix('/') else {
        return Err(invalid(&format!("path {:?} must start with /", op.path)));
    };
    let mut tokens: Vec<String> = pointer
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let root = doc
        .as_object_mut()
        .ok_or_else(|| invalid("the item is not an object"))?;
    let list = tokens[0].clone();
    if LISTS.contains(&list.as_str()) {
        let array = root
            .entry(list.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if !array.is_array() {
            *array = Value::Array(Vec::new());
        }
        if tokens.len() == 1 && kind == Kind::Add {
            let new = value()?;
            if let (Value::Array(items), false) = (&mut *array, new.is_array()) {
                items.push(new);
                return Ok(());
            }
        }
        if tokens.len() >= 2 && (list == "fields" || list == "sections") {
            let items = array.as_array().map(Vec::as_slice).unwrap_or_default();
            let position = items
                .iter()
                .position(|e| e.get("id").and_then(Value::as_str) == Some(tokens[1].as_str()));
            match position {
                Some(index) => {
                    // Replacing a whole field or section keeps its id.
                    if tokens.len() == 2
                        && kind == Kind::Replace
                        && let Some(Value::Object(new)) = &op.value
                        && !new.contains_key("id")
                    {
                        let mut new = new.clone();
                        new.insert("id".to_owned(), Value::String(tokens[1].clone()));
                        if let Value::Array(items) = array {
                            items[index] = Value::Object(new);
                        }
                        return Ok(());
                    }
                    tokens[1] = index.to_string();
                }
                None if tokens[1] == "-" || tokens[1].parse::<usize>().is_ok() => {}
                None => {
                    return Err(invalid(&format!(
                        "{} has no element with id {:?}",
                        list, tokens[1]
                    )));
                }
            }
        }
    }
    let new = if kind == Kind::Remove {
        None
    } else {
        Some(value()?)
    };
    apply_pointer(doc, &tokens, kind, new, &op.path)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Add,
    Remove,
    Replace,
}

fn apply_pointer(
    doc: &mut Value,
    tokens: &[String],
    kind: Kind,
    new: Option<Value>,
    path: &str,
) -> Result<(), ApiError> {
    let missing = || invalid(&format!("path {path:?} does not exist"));
    let (last, parents) = tokens.split_last().ok_or_else(missing)?;
    let mut parent = doc;
    for token in parents {
        parent = match parent {
            Value::Object(map) => map.get_mut(token).ok_or_else(missing)?,
            Value::Array(items) => {
                let index: usize = token.parse().map_err(|_| missing())?;
                items.get_mut(index).ok_or_else(missing)?
            }
            _ => return Err(missing()),
        };
    }
    match parent {
        Value::Object(map) => apply_to_object(map, last, kind, new),
        Value::Array(items) => {
            let index = if last == "-" {
                items.len()
            } else {
                last.parse::<usize>().map_err(|_| missing())?
            };
            match (kind, new) {
                (Kind::Add, Some(value)) if index <= items.len() => items.insert(index, value),
                (Kind::Replace, Some(value)) if index < items.len() => items[index] = value,
                (Kind::Remove, _) if index < items.len() => {
                    items.remove(index);
                }
                _ => return Err(missing()),
            }
            Ok(())
        }
        _ => Err(missing()),
    }
}

fn apply_to_object(
    map: &mut Map<String, Value>,
    key: &str,
    kind: Kind,
    new: Option<Value>,
) -> Result<(), ApiError> {
    match (kind, new) {
        // `replace` of an absent member behaves like `add`: the item serialisation omits empty
        // members, so a client cannot know whether e.g. `value` is "there".
        (Kind::Add | Kind::Replace, Some(value)) => {
            map.insert(key.to_owned(), value);
        }
        (Kind::Remove, _) => {
            map.remove(key);
        }
        (_, None) => return Err(invalid("missing value")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item() -> Item {
        serde_json::from_value(json!({
            "id": "abcdefghijklmnopqrstuvwxyz", "title": "t", "category": "LOGIN",
            "vault": {"id": "vvvvvvvvvvvvvvvvvvvvvvvvvv"}, "tags": ["a", "b"],
            "fields": [
                {"id": "username", "type": "STRING", "purpose": "USERNAME", "label": "username", "value": "u"},
                {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password", "value": "p"}
            ]
        }))
        .unwrap()
    }

    fn ops(value: serde_json::Value) -> Vec<PatchOp> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn attribute_and_tag_ops() {
        let patched = apply(
            &item(),
            &ops(json!([
                {"op": "replace", "path": "/favorite", "value": true},
                {"op": "remove", "path": "/tags/1"},
                {"op": "replace", "path": "/title", "value": "new"}
            ])),
        )
        .unwrap();
        assert!(patched.favorite);
        assert_eq!(patched.tags, ["a"]);
        assert_eq!(patched.title, "new");
    }

    #[test]
    fn fields_by_id() {
        let patched = apply(&item(), &ops(json!([
            {"op": "replace", "path": "/fields/password/value", "value": "secret"},
            {"op": "remove", "path": "/fields/username"},
            {"op": "add", "path": "/fields", "value": {"label": "New Field", "type": "string", "value": "hunter2"}},
            {"op": "replace", "path": "/fields/password", "value": {"label": "pw", "type": "CONCEALED", "value": "x"}}
        ])))
        .unwrap();
        assert_eq!(patched.fields.len(), 2);
        assert_eq!(patched.fields[0].id, "password");
        assert_eq!(patched.fields[0].label.as_deref(), Some("pw"));
        assert_eq!(patched.fields[1].label.as_deref(), Some("New Field"));
        let removed = apply(
            &item(),
            &ops(json!([
                {"op": "remove", "path": "/fields/username/value"}
            ])),
        )
        .unwrap();
        assert_eq!(removed.fields[0].value, None);
    }

    #[test]
    fn whole_item_and_errors() {
        let replaced = apply(
            &item(),
            &ops(json!([
                {"op": "replace", "path": "/", "value": {"title": "whole", "category": "PASSWORD"}}
            ])),
        )
        .unwrap();
        assert_eq!(replaced.title, "whole");
        assert!(replaced.fields.is_empty());
        for bad in [
            json!([{"op": "replace", "path": "/fields/nope/value", "value": "x"}]),
            json!([{"op": "move", "path": "/title", "value": "x"}]),
            json!([{"op": "remove", "path": "/"}]),
            json!([{"op": "replace", "path": "title", "value": "x"}]),
            json!([{"op": "remove", "path": "/tags/9"}]),
            json!([{"op": "replace", "path": "/title"}]),
        ] {
            assert_eq!(
                apply(&item(), &ops(bad.clone())).unwrap_err().status,
                400,
                "{bad}"
            );
        }
    }
}
