//! The SCIM-like `filter` query parameter: `<attribute> <operator> "<value>"`.
//!
//! Only what real clients send is supported: operators `eq` (equality) and `co` (contains), both
//! case-insensitive, one clause, no `and`/`or`. Quoting is lenient because no SDK escapes a `"` in
//! a title: the value runs from the first `"` after the operator to the last `"` of the string, so
//! `title eq "say "hi""` matches `say "hi"`. Query strings are decoded with form semantics (`+` is
//! a space, as the Go SDK relies on) and invalid `%` escapes are kept literally (the Python and JS
//! SDKs send a lone `%` unescaped).

use percent_encoding::percent_decode_str;

/// A filter that cannot be parsed; the API answers 400 with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Not of the form `attribute op "value"`.
    #[error("Invalid filter: expected `attribute operator \"value\"`, got `{0}`")]
    Syntax(String),
    /// An operator other than `eq` and `co`.
    #[error("Invalid filter: unsupported operator `{0}`, supported are eq and co")]
    Operator(String),
    /// An attribute the resource cannot be filtered by.
    #[error("Invalid filter: unsupported attribute `{0}`")]
    Attribute(String),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// Case-insensitive equality.
    Eq,
    /// Case-insensitive substring.
    Co,
}

/// One parsed clause. The attribute is lowercased; callers check it against what they support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Attribute name, lowercased (`title`, `name`, `tag`).
    pub attribute: String,
    /// The operator.
    pub operator: Operator,
    /// The value, lowercased for matching.
    value_lower: String,
}

impl Filter {
    /// Parses a decoded filter string; an empty (or blank) filter means "no filter".
    pub fn parse(raw: &str) -> Result<Option<Self>, FilterError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let syntax = || FilterError::Syntax(trimmed.to_owned());
        let (attribute, rest) = trimmed.split_once(char::is_whitespace).ok_or_else(syntax)?;
        let rest = rest.trim_start();
        let (operator, rest) = rest.split_once(char::is_whitespace).ok_or_else(syntax)?;
        let operator = match operator.to_ascii_lowercase().as_str() {
            "eq" => Operator::Eq,
            "co" => Operator::Co,
            _ => return Err(FilterError::Operator(operator.to_owned())),
        };
        let rest = rest.trim();
        let first = rest.find('"').ok_or_else(syntax)?;
        let last = rest.rfind('"').ok_or_else(syntax)?;
        if first != 0 || last == first || last != rest.len() - 1 {
            return Err(syntax());
        }
        Ok(Some(Self {
            attribute: attribute.to_ascii_lowercase(),
            operator,
            value_lower: rest[first + 1..last].to_lowercase(),
        }))
    }

    /// Rejects the filter unless its attribute is one of `allowed`.
    pub fn require_attribute(&self, allowed: &[&str]) -> Result<(), FilterError> {
        if allowed.contains(&self.attribute.as_str()) {
            Ok(())
        } else {
            Err(FilterError::Attribute(self.attribute.clone()))
        }
    }

    /// The lowercased value of an `eq` filter (`None` for `co`): an equality on an indexed
    /// attribute is a lookup by this key.
    pub fn eq_value(&self) -> Option<&str> {
        (self.operator == Operator::Eq).then_some(self.value_lower.as_str())
    }

    /// Whether `text` satisfies the operator and value.
    pub fn matches(&self, text: &str) -> bool {
        let text = text.to_lowercase();
        match self.operator {
            Operator::Eq => text == self.value_lower,
            Operator::Co => text.contains(&self.value_lower),
        }
    }

    /// Whether any of `texts` satisfies the filter (used for tags).
    pub fn matches_any<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> bool {
        texts.into_iter().any(|t| self.matches(t))
    }
}

/// The decoded value of query parameter `name` (first occurrence), with form semantics.
pub fn query_param(raw_query: Option<&str>, name: &str) -> Option<String> {
    raw_query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (form_decode(key) == name).then(|| form_decode(value))
    })
}

/// Form-decodes one query component: `+` is a space, `%XX` is a byte, bad escapes stay literal.
pub fn form_decode(component: &str) -> String {
    let spaced = component.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Filter {
        Filter::parse(s).unwrap().unwrap()
    }

    #[test]
    fn eq_is_case_insensitive() {
        let f = parse(r#"title eq "My Item""#);
        assert_eq!(f.attribute, "title");
        assert!(f.matches("my item"));
        assert!(f.matches("MY ITEM"));
        assert!(!f.matches("my item 2"));
    }

    #[test]
    fn co_is_substring() {
        let f = parse(r#"title CO "data""#);
        assert!(f.matches("Production Database"));
        assert!(!f.matches("Prod"));
    }

    #[test]
    fn lenient_quotes_take_the_last_quote() {
        let f = parse(r#"title eq "say "hi"""#);
        assert!(f.matches(r#"say "hi""#));
    }

    #[test]
    fn empty_is_no_filter() {
        assert_eq!(Filter::parse("").unwrap(), None);
        assert_eq!(Filter::parse("   ").unwrap(), None);
    }

    #[test]
    fn malformed_filters_are_errors() {
        assert!(matches!(
            Filter::parse("title"),
            Err(FilterError::Syntax(_))
        ));
        assert!(matches!(
            Filter::parse("title eq"),
            Err(FilterError::Syntax(_))
        ));
        assert!(matches!(
            Filter::parse("title eq 'x'"),
            Err(FilterError::Syntax(_))
        ));
        assert!(matches!(
            Filter::parse(r#"title eq ""#),
            Err(FilterError::Syntax(_))
        ));
        assert!(matches!(
            Filter::parse(r#"title sw "x""#),
            Err(FilterError::Operator(_))
        ));
        let f = parse(r#"colour eq "x""#);
        assert!(matches!(
            f.require_attribute(&["title"]),
            Err(FilterError::Attribute(_))
        ));
    }

    #[test]
    fn query_decoding_follows_form_rules() {
        let go = "filter=title+eq+%22My+Item%22";
        assert_eq!(
            query_param(Some(go), "filter").unwrap(),
            r#"title eq "My Item""#
        );
        let py = "filter=title%20eq%20%22100%%20A+B%22&x=1";
        assert_eq!(
            query_param(Some(py), "filter").unwrap(),
            r#"title eq "100% A B""#
        );
        assert_eq!(query_param(Some("a=1"), "filter"), None);
        assert_eq!(query_param(None, "filter"), None);
        assert_eq!(query_param(Some("filter"), "filter").unwrap(), "");
    }
}
