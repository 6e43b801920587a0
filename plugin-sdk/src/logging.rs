//! `tracing` output as hclog JSON lines on stderr, which the host re-logs at the same level.
//!
//! The host (go-plugin) parses each stderr line: JSON with `@level`, `@message`, `@timestamp`
//! (exactly six fractional digits) and `@module` is logged at that level with the other keys
//! as key=value pairs. `warning` is not a level it knows, so warnings are written as `warn`.

use std::fmt::{self, Write as _};
use std::io::Write as _;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// Environment variable (catalog `env`) that sets the plugin's own log level (`trace` …
/// `error`, `off`). Without it the server's inherited `BAO_LOG_LEVEL`/`VAULT_LOG_LEVEL` is used,
/// else `trace` like Go plugins (the server's `-log-level` then does the filtering).
pub const LOG_LEVEL_ENV: &str = "VAULT_PLUGIN_LOG_LEVEL";

/// The hclog name of a level.
pub fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// One hclog JSON line (without the newline). `fields` are extra key/values.
pub fn format_line(
    timestamp: chrono::DateTime<chrono::Utc>,
    level: Level,
    module: &str,
    message: &str,
    fields: Map<String, Value>,
) -> String {
    let mut object = Map::with_capacity(fields.len() + 4);
    object.insert(
        "@timestamp".into(),
        Value::String(timestamp.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
    );
    object.insert("@level".into(), Value::String(level_name(level).into()));
    object.insert("@message".into(), Value::String(message.into()));
    object.insert("@module".into(), Value::String(module.into()));
    for (key, value) in fields {
        if !key.starts_with('@') {
            object.insert(key, value);
        }
    }
    Value::Object(object).to_string()
}

#[derive(Default)]
struct Fields {
    message: String,
    rest: Map<String, Value>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.rest
                .insert(field.name().into(), Value::String(value.into()));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.rest.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.rest.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.rest.insert(field.name().into(), Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        if field.name() == "message" {
            self.message.push_str(&text);
        } else {
            self.rest.insert(field.name().into(), Value::String(text));
        }
    }
}

/// A `tracing` layer writing hclog JSON lines to stderr.
#[derive(Debug, Default)]
pub struct HclogLayer;

impl<S: Subscriber> Layer<S> for HclogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let mut line = format_line(
            chrono::Utc::now(),
            *meta.level(),
            meta.target(),
            &fields.message,
            fields.rest,
        );
        line.push('\n');
        // One write per line so lines from different threads never interleave.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// Server log-level variables the plugin inherits with the server's environment; used when
/// [`LOG_LEVEL_ENV`] is not set so a server running at `info` is not sent trace lines it drops.
const SERVER_LEVEL_ENV: &[&str] = &["BAO_LOG_LEVEL", "VAULT_LOG_LEVEL"];

fn parse_level(text: &str) -> Option<LevelFilter> {
    match text.trim().to_ascii_lowercase().as_str() {
        "warning" => Some(LevelFilter::WARN),
        "err" => Some(LevelFilter::ERROR),
        other => other.parse().ok(),
    }
}

/// The plugin's level: [`LOG_LEVEL_ENV`], else the server's `BAO_LOG_LEVEL`/`VAULT_LOG_LEVEL`,
/// else `trace` (like Go plugins: the server's `-log-level` flag then does the filtering).
fn configured_level(var: impl Fn(&str) -> Option<String>) -> LevelFilter {
    std::iter::once(LOG_LEVEL_ENV)
        .chain(SERVER_LEVEL_ENV.iter().copied())
        .find_map(|name| var(name).as_deref().and_then(parse_level))
        .unwrap_or(LevelFilter::TRACE)
}

/// Libraries whose own debug/trace output (per HTTP/2 frame, per TLS record, per HTTP request)
/// would flood the server log and cost throughput; only their warnings and errors are kept.
/// `reqwest` logs through the `log` crate a `trace` line on every response ("shouldn't
/// retry!"): unfiltered, it cost the plugin a JSON line and a write per Connect call and the
/// server a parse of it, though the server's level then dropped it.
const QUIET_LIBRARIES: &[&str] = &[
    "reqwest",
    "want",
    "hickory_proto",
    "hickory_resolver",
    "h2",
    "hyper",
    "hyper_util",
    "tonic",
    "tower",
    "rustls",
    "tokio_rustls",
    "mio",
    "tokio",
];

/// The filter: [`LOG_LEVEL_ENV`] (default `trace`) for the plugin, `warn` for noisy libraries.
pub fn filter() -> Targets {
    let level = configured_level(|name| std::env::var(name).ok());
    let quiet = level.min(LevelFilter::WARN);
    QUIET_LIBRARIES
        .iter()
        .fold(Targets::new().with_default(level), |targets, library| {
            targets.with_target(*library, quiet)
        })
}

/// Installs the hclog layer as the global subscriber (a second call does nothing).
pub fn init() {
    let _ = tracing_subscriber::registry()
        .with(HclogLayer.with_filter(filter()))
        .try_init();
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn hclog_line_shape() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
            + chrono::Duration::microseconds(42);
        let mut extra = Map::new();
        extra.insert("key".into(), Value::from("v"));
        extra.insert("@level".into(), Value::from("spoofed"));
        let line = format_line(at, Level::WARN, "kv", "hello \"x\"", extra);
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["@timestamp"], "2026-01-02T03:04:05.000042Z");
        assert_eq!(parsed["@level"], "warn");
        assert_eq!(parsed["@message"], "hello \"x\"");
        assert_eq!(parsed["@module"], "kv");
        assert_eq!(parsed["key"], "v");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn libraries_are_quiet_but_the_plugin_is_not() {
        let targets = filter();
        assert!(targets.would_enable("kv_example", &Level::TRACE));
        assert!(!targets.would_enable("h2::codec", &Level::DEBUG));
        assert!(targets.would_enable("h2::codec", &Level::WARN));
        assert!(!targets.would_enable("reqwest::retry", &Level::TRACE));
    }

    #[test]
    fn level_precedence() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(configured_level(env(&[])), LevelFilter::TRACE);
        assert_eq!(
            configured_level(env(&[("BAO_LOG_LEVEL", "info")])),
            LevelFilter::INFO
        );
        assert_eq!(
            configured_level(env(&[("VAULT_LOG_LEVEL", "warning")])),
            LevelFilter::WARN
        );
        assert_eq!(
            configured_level(env(&[(LOG_LEVEL_ENV, "debug"), ("BAO_LOG_LEVEL", "error")])),
            LevelFilter::DEBUG
        );
        assert_eq!(
            configured_level(env(&[("BAO_LOG_LEVEL", "nonsense")])),
            LevelFilter::TRACE
        );
    }

    #[test]
    fn every_level_has_an_hclog_name() {
        let names: Vec<_> = [
            Level::TRACE,
            Level::DEBUG,
            Level::INFO,
            Level::WARN,
            Level::ERROR,
        ]
        .into_iter()
        .map(level_name)
        .collect();
        assert_eq!(names, ["trace", "debug", "info", "warn", "error"]);
    }
}
