//! Building the `filter` query parameter (`title eq "…"`, `name eq "…"`, …).
//!
//! Connect's filter is SCIM-like: `<attribute> <operator> "<value>"`. The server takes the value
//! as everything between the first `"` after the operator and the **last** `"` of the string, and
//! no official SDK escapes anything inside the quotes (the reference Go plugin sends titles raw).
//! Escaping `"` or `\` would therefore make such titles unfindable, so values go in verbatim;
//! what makes the filter safe is the framing (one clause, fixed attribute and operator chosen
//! here, never by the caller) and the URL encoding, which the client leaves to reqwest's query
//! builder (`&`, `#`, `+`, `%` and quotes all arrive intact, as with Go's `url.QueryEscape`).

use std::fmt;

/// One filter clause, built only through the constructors below.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter(String);

impl Filter {
    fn clause(attribute: &str, operator: &str, value: &str) -> Self {
        let mut text = String::with_capacity(attribute.len() + operator.len() + value.len() + 4);
        text.push_str(attribute);
        text.push(' ');
        text.push_str(operator);
        text.push_str(" \"");
        text.push_str(value);
        text.push('"');
        Self(text)
    }

    /// `title eq "<title>"`: items (and vaults, as the Go SDK sends it) with this title.
    pub fn title_eq(title: &str) -> Self {
        Self::clause("title", "eq", title)
    }

    /// `name eq "<name>"`: vaults with this name (the spelling of the official spec).
    pub fn name_eq(name: &str) -> Self {
        Self::clause("name", "eq", name)
    }

    /// `tag eq "<tag>"`: items carrying this tag.
    pub fn tag_eq(tag: &str) -> Self {
        Self::clause("tag", "eq", tag)
    }

    /// `title co "<part>"`: items whose title contains `part`.
    pub fn title_contains(part: &str) -> Self {
        Self::clause("title", "co", part)
    }

    /// The filter expression, before URL encoding.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_the_clauses_clients_send() {
        assert_eq!(
            Filter::title_eq("My Item").as_str(),
            r#"title eq "My Item""#
        );
        assert_eq!(
            Filter::name_eq("Demo Vault").as_str(),
            r#"name eq "Demo Vault""#
        );
        assert_eq!(Filter::tag_eq("banking").as_str(), r#"tag eq "banking""#);
        assert_eq!(
            Filter::title_contains("prod").to_string(),
            r#"title co "prod""#
        );
    }

    #[test]
    fn values_are_verbatim_so_the_last_quote_rule_recovers_them() {
        for title in [
            r#"say "hi""#,
            r"back\slash",
            "a&b=c#d+e%f",
            "trailing space ",
            "",
        ] {
            let filter = Filter::title_eq(title);
            let text = filter.as_str();
            let first = text.find('"').unwrap();
            let last = text.rfind('"').unwrap();
            assert_eq!(&text[first + 1..last], title);
        }
    }
}
