//! Shared by the integration tests: the OpenAPI conformance checker.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value, json};

/// Validates response bodies against the official OpenAPI file.
pub struct Spec {
    doc: Value,
    defs: Map<String, Value>,
    cache: Mutex<HashMap<String, Value>>,
}

impl Spec {
    /// Loads the official spec; `None` when it is absent outside CI (the skip of `test` is
    /// reported), a panic under CI (see `test_support::openapi_spec`).
    pub fn load(test: &str) -> Option<Self> {
        let path = test_support::openapi_spec(test)?;
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
        let doc: Value = serde_yaml::from_str(&text).expect("spec.yaml is YAML");
        let mut defs = Map::new();
        for (name, schema) in doc["components"]["schemas"].as_object().expect("schemas") {
            defs.insert(name.clone(), to_json_schema(schema.clone()));
        }
        correct_known_errors(&mut defs);
        Some(Self {
            doc,
            defs,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Asserts that `body`, answered with `status` to `method template`, matches the spec. Error
    /// statuses the spec does not list for the operation are checked against `ErrorResponse`
    /// (Connect answers every error with that shape).
    pub fn check(&self, method: &str, template: &str, status: u16, body: &Value) {
        let schema = self.response_schema(method, template, status);
        let validator = jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("schema for {method} {template} {status}: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {template} -> {status} does not match the spec:\n{}\nbody: {body}",
            errors.join("\n")
        );
        if status >= 400 {
            assert_eq!(
                body["status"],
                json!(status),
                "error body status must equal HTTP status"
            );
        }
    }

    fn response_schema(&self, method: &str, template: &str, status: u16) -> Value {
        let key = format!("{method} {template} {status}");
        if let Some(schema) = self.cache.lock().unwrap().get(&key) {
            return schema.clone();
        }
        // `/heartbeat`, `/health`, `/metrics` are at the root; the rest is under servers.url /v1.
        let spec_path = template.strip_prefix("/v1").unwrap_or(template);
        let operation = &self.doc["paths"][spec_path][method.to_ascii_lowercase()];
        assert!(
            operation.is_object(),
            "no operation {method} {spec_path} in the spec"
        );
        let listed =
            &operation["responses"][status.to_string()]["content"]["application/json"]["schema"];
        let schema = if listed.is_object() {
            to_json_schema(listed.clone())
        } else {
            assert!(
                status >= 400,
                "status {status} for {key} has no JSON schema in the spec"
            );
            json!({"$ref": "#/$defs/ErrorResponse"})
        };
        let mut root = schema.as_object().cloned().unwrap_or_default();
        root.insert("$defs".into(), Value::Object(self.defs.clone()));
        let root = Value::Object(root);
        self.cache.lock().unwrap().insert(key, root.clone());
        root
    }
}

/// OpenAPI 3.0 schema object → JSON Schema: `$ref`s point into `$defs`, `nullable` becomes a
/// `null` type, OpenAPI-only keywords go.
fn to_json_schema(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let nullable = map.get("nullable") == Some(&Value::Bool(true));
            let mut out = Map::new();
            for (key, value) in map {
                match key.as_str() {
                    "$ref" => {
                        let target = value
                            .as_str()
                            .unwrap_or_default()
                            .replace("#/components/schemas/", "#/$defs/");
                        out.insert(key, Value::String(target));
                    }
                    "nullable" | "example" | "examples" | "xml" | "externalDocs"
                    | "discriminator" => {}
                    // The spec wrongly puts `minimum`/`maximum` on an array; harmless, dropped.
                    _ => {
                        out.insert(key, to_json_schema(value));
                    }
                }
            }
            if nullable && let Some(Value::String(t)) = out.get("type").cloned() {
                out.insert("type".into(), json!([t, "null"]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(to_json_schema).collect()),
        other => other,
    }
}

/// Places where the file is known to disagree with the real server (see the spec's README and
/// shared/docs/connect-api.md); the mock follows the server.
fn correct_known_errors(defs: &mut Map<String, Value>) {
    // Field types: the file says TOTP, the server uses OTP and also returns more types.
    defs["Field"]["properties"]["type"]["enum"] = json!([
        "STRING",
        "EMAIL",
        "CONCEALED",
        "URL",
        "OTP",
        "DATE",
        "MONTH_YEAR",
        "MENU",
        "ADDRESS",
        "PHONE",
        "CREDIT_CARD_NUMBER",
        "CREDIT_CARD_TYPE",
        "GENDER",
        "REFERENCE",
        "FILE",
        "SSHKEY",
        "UNKNOWN"
    ]);
    // content_path: the file's example lacks the leading slash; the server (and the Go SDK, which
    // concatenates host + content_path) use one. Require it.
    defs["File"]["properties"]["content_path"]["pattern"] =
        json!("^/v1/vaults/[a-z0-9]{26}/items/[a-z0-9]{26}/files/[a-z0-9]{26}/content$");
}
