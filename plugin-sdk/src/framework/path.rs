//! Routes: an anchored pattern with named captures, fields and per-operation handlers.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use regex::Regex;
use serde_json::Value;

use super::error::Error;
use super::field::Field;
use super::request::{Operation, Request};
use super::response::Response;

/// What a handler returns: `Ok(None)` means "nothing" (404 on read/list, 204 on writes).
pub type HandlerResult = Result<Option<Response>, Error>;

pub(crate) type Handler<S> =
    Arc<dyn Fn(Request, Arc<S>) -> BoxFuture<'static, HandlerResult> + Send + Sync>;
pub(crate) type ExistenceCheck<S> =
    Arc<dyn Fn(Request, Arc<S>) -> BoxFuture<'static, Result<bool, Error>> + Send + Sync>;

/// The operations a path can have handlers for.
const HANDLED: [Operation; 6] = [
    Operation::Read,
    Operation::List,
    Operation::Create,
    Operation::Update,
    Operation::Patch,
    Operation::Delete,
];

fn slot(operation: Operation) -> Option<usize> {
    HANDLED.iter().position(|op| *op == operation)
}

/// A name segment like Vault's `GenericNameRegex`: word characters, `-` and `.` inside.
pub fn generic_name_regex(name: &str) -> String {
    format!(r"(?P<{name}>\w(([\w\-.]+)?\w)?)")
}

/// Everything to the end of the path (at least one character).
pub fn match_all_regex(name: &str) -> String {
    format!(r"(?P<{name}>.+)")
}

/// Everything to the end of the path, possibly nothing.
pub fn optional_match_all_regex(name: &str) -> String {
    format!(r"(?P<{name}>.*)")
}

/// One route of a backend.
///
/// The pattern is a regular expression matched against the whole path relative to the mount
/// (`^…$` is added); named captures fill the fields of the same name.
pub struct Path<S> {
    pub(crate) pattern: String,
    pub(crate) regex: Result<Regex, String>,
    pub(crate) fields: Arc<[Field]>,
    pub(crate) handlers: [Option<Handler<S>>; 6],
    pub(crate) existence: Option<ExistenceCheck<S>>,
    pub(crate) synopsis: String,
    pub(crate) description: String,
}

impl<S: Send + Sync + 'static> Path<S> {
    /// A route for `pattern` (a regular expression without anchors, e.g. `kv/(?P<key>.+)`).
    /// An invalid pattern is reported when the backend is mounted.
    pub fn new(pattern: impl Into<String>) -> Self {
        let pattern = pattern.into();
        let regex = Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| format!("invalid route pattern {pattern:?}: {e}"));
        Self {
            pattern,
            regex,
            fields: Arc::from(Vec::new()),
            handlers: Default::default(),
            existence: None,
            synopsis: String::new(),
            description: String::new(),
        }
    }

    /// Declares a field.
    #[must_use]
    pub fn field(mut self, field: Field) -> Self {
        let mut fields = self.fields.to_vec();
        fields.push(field);
        self.fields = Arc::from(fields);
        self
    }

    /// One-line help.
    #[must_use]
    pub fn synopsis(mut self, text: impl Into<String>) -> Self {
        self.synopsis = text.into();
        self
    }

    /// Longer help.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }

    fn on<F, Fut>(mut self, operation: Operation, handler: F) -> Self
    where
        F: Fn(Request, Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        if let Some(i) = slot(operation) {
            self.handlers[i] = Some(Arc::new(move |req, state| Box::pin(handler(req, state))));
        }
        self
    }

    /// Handles `read` (HTTP GET).
    #[must_use]
    pub fn read<F, Fut>(self, handler: F) -> Self
    where
        F: Fn(Request, Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.on(Operation::Read, handler)
    }

    /// Handles `list` (HTTP LIST).
    #[must_use]
    pub fn list<F, Fut>(self, handler: F) -> Self
    where
        F: Fn(Request, Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.on(Operation::List, handler)
    }

    /// Handles `create` (a write the existence check reported absent). Without a create
    /// handler, creates go to the update handler.
    #[must_use]
    pub fn create<F, Fut>(self, handler: F) -> Self
    where
        F: Fn(Request, Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.on(Operation::Create, handler)
    }

    /// Handles `update` (HTTP PUT/POST).
    #[must_use]
    pub fn update<F, Fut>(self, handler: F) -> Self
    where
        F: Fn(Request, Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.on(Operation::Update, handler)
    }

    /// Handles `patch` (HTTP PATCH; never preceded by an existence check).
    #[must_use]
    pub fn patch<F, Fut>(self, handler: F) -> Self
    where
        F: Fn(Request, Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.on(Operation::Patch, handler)
    }

    /// Handles `delete` (HTTP DELETE).
    #[must_use]
    pub fn delete<F, Fut>(self, handler: F) -> Self
    where
        F: Fn(Request, Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.on(Operation::Delete, handler)
    }

    /// Existence check for writes: `true` makes a PUT/POST an `update`, `false` a `create`
    /// (so ACLs can tell them apart). Without it every write is an `update`.
    #[must_use]
    pub fn exists<F, Fut>(mut self, check: F) -> Self
    where
        F: Fn(Request, Arc<S>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<bool, Error>> + Send + 'static,
    {
        self.existence = Some(Arc::new(move |req, state| Box::pin(check(req, state))));
        self
    }

    /// The route's pattern as given.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    pub(crate) fn handler(&self, operation: Operation) -> Option<&Handler<S>> {
        let found = slot(operation).and_then(|i| self.handlers[i].as_ref());
        match (found, operation) {
            (None, Operation::Create) => self.handler(Operation::Update),
            (found, _) => found,
        }
    }

    /// The operations this route answers, for help text.
    pub(crate) fn operations(&self) -> Vec<&'static str> {
        HANDLED
            .iter()
            .filter(|op| self.handler(**op).is_some())
            .map(|op| op.as_str())
            .collect()
    }

    /// Fills the request's fields from the captures, the body and the defaults; `required`
    /// fields are enforced on writes when `enforce_required` is set.
    pub(crate) fn bind(
        &self,
        req: &mut Request,
        captures: &regex::Captures<'_>,
        enforce_required: bool,
    ) -> Result<(), Error> {
        let mut values = Vec::with_capacity(self.fields.len());
        let mut supplied = Vec::with_capacity(self.fields.len());
        for field in self.fields.iter() {
            let captured = captures
                .name(&field.name)
                .map(|m| Value::String(m.as_str().to_owned()));
            let raw = captured
                .as_ref()
                .or_else(|| req.data.get(&field.name).filter(|v| !v.is_null()));
            match raw {
                Some(raw) => {
                    values.push(Some(field.decode(raw)?));
                    supplied.push(true);
                }
                None => {
                    if enforce_required && field.required && req.operation.is_write() {
                        return Err(Error::bad_request(format!(
                            "missing required field \"{}\"",
                            field.name
                        )));
                    }
                    values.push(field.default.clone());
                    supplied.push(false);
                }
            }
        }
        req.fields = self.fields.clone();
        req.values = values;
        req.supplied = supplied;
        Ok(())
    }

    /// Help text for this route.
    pub(crate) fn help(&self) -> String {
        let mut text = String::new();
        text.push_str(&format!("Request:        {}\n", self.pattern));
        text.push_str(&format!("Matching Route: ^{}$\n\n", self.pattern));
        if !self.synopsis.is_empty() {
            text.push_str(&self.synopsis);
            text.push_str("\n\n");
        }
        text.push_str(&format!("Operations: {}\n", self.operations().join(", ")));
        if !self.fields.is_empty() {
            text.push_str("\n## PARAMETERS\n\n");
            for field in self.fields.iter() {
                text.push_str(&format!(
                    "{} ({:?})\n    {}\n\n",
                    field.name, field.kind, field.description
                ));
            }
        }
        if !self.description.is_empty() {
            text.push_str("## DESCRIPTION\n\n");
            text.push_str(&self.description);
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn compiled(pattern: &str) -> Regex {
        Path::<()>::new(pattern).regex.unwrap()
    }

    #[test]
    fn patterns_are_anchored_and_capture_names() {
        let re = compiled("kv/(?P<key>.+)");
        assert!(!re.is_match("kv/"));
        assert!(!re.is_match("xkv/a"));
        assert_eq!(&re.captures("kv/a/b").unwrap()["key"], "a/b");
        let re = compiled(&format!("vaults/{}", generic_name_regex("vault")));
        assert_eq!(
            &re.captures("vaults/my-vault.1").unwrap()["vault"],
            "my-vault.1"
        );
        assert!(!re.is_match("vaults/a/b"));
        assert!(!re.is_match("vaults/-a"));
        let re = compiled("kv/?$|kv/(?P<prefix>.*/)");
        assert!(re.is_match("kv"));
        assert!(re.is_match("kv/"));
        assert!(re.is_match("kv/dir/"));
        assert!(!re.is_match("kv/file"));
        let re = compiled(&format!("list/{}", optional_match_all_regex("rest")));
        assert_eq!(&re.captures("list/").unwrap()["rest"], "");
        let re = compiled(&format!("all/{}", match_all_regex("rest")));
        assert!(!re.is_match("all/"));
    }

    #[test]
    fn invalid_patterns_are_reported() {
        assert!(Path::<()>::new("kv/(?P<key").regex.is_err());
    }

    #[test]
    fn create_falls_back_to_update() {
        let path = Path::<()>::new("x").update(|_, _| async { Ok(None) });
        assert!(path.handler(Operation::Create).is_some());
        assert!(path.handler(Operation::Read).is_none());
        assert_eq!(path.operations(), ["create", "update"]);
    }
}
