//! Fixture-driven environments for the engine's end-to-end suites.
//!
//! One [`Env`] per test binary: a [`Stack`] on the backend `HARNESS_BACKEND` names (a real
//! OpenBao with the engine installed and registered as `op-connect` with its sha256 and version).
//! Every [`Scenario`] then gets its own Connect mock seeded with the §15 fixture of
//! `reference-plugin.md` (in process, or a container on the stack's network) and its own mount
//! (`op-<n>`) configured against that mock, so scenarios running in parallel never see each
//! other's requests, faults or data.
//!
//! The [`Env`] is a `static`, never dropped: [`Stack::clean_up_at_exit`] removes its server (or
//! containers and network) once the test process is gone.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};

pub use crate::launch::Connect;
use crate::launch::bao::{CliOutput, CliSite};
pub use crate::launch::connect::{Seen, line};
use crate::launch::{Backend, ConnectSeed, Stack, StackOptions, engine, runtime};
use crate::vault_api::{VaultClient, VaultResponse};

/// Ids of the §15 fixture (`reference-plugin.md`).
pub mod ids {
    /// Vault `Shared`, created 2020-01-01 (the oldest `Shared`).
    pub const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaa";
    /// Vault `Shared`, created 2021-01-01 (listed first, yet newer).
    pub const A2: &str = "aaaaaaaaaaaaaaaaaaaaaaaaab";
    /// Vault `Other Vault`.
    pub const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbb";
    /// Item `db` in A, created 2019 (the oldest `db`), with every kind of field and a file.
    pub const X: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxx";
    /// Item `db` in A, created 2022, one field `password=newer`.
    pub const Y: &str = "yyyyyyyyyyyyyyyyyyyyyyyyyy";
    /// Item `Some Title` in A, no fields.
    pub const Z: &str = "zzzzzzzzzzzzzzzzzzzzzzzzzz";
    /// The file attached to X.
    pub const FILE: &str = "ffffffffffffffffffffffffff";
    /// Item `API key: prod #1 (ü)` in B (a title with spaces and punctuation).
    pub const ODD: &str = "oooooooooooooooooooooooooo";
    /// Item `totp` in B, with a valid OTP secret.
    pub const OTP: &str = "tttttttttttttttttttttttttt";
    /// Item `He said "hi" & 100% +1?#` in B (quotes and URL metacharacters in a title).
    pub const QUOTED: &str = "hhhhhhhhhhhhhhhhhhhhhhhhhh";
    /// An id-shaped string that matches nothing.
    pub const MISSING: &str = "qqqqqqqqqqqqqqqqqqqqqqqqqq";
}

/// Title of [`ids::ODD`]: spaces and punctuation, no `/`.
pub const ODD_TITLE: &str = "API key: prod #1 (ü)";
/// Title of [`ids::QUOTED`].
pub const QUOTED_TITLE: &str = "He said \"hi\" & 100% +1?#";
/// Base32 secret of the OTP field of [`ids::OTP`].
pub const OTP_SECRET: &str = "JBSWY3DPEHPK3PXP";
/// Name of the file attached to [`ids::X`].
pub const FILE_NAME: &str = "notes.txt";
/// Content of the file attached to [`ids::X`].
pub const FILE_CONTENT: &[u8] = b"hello from a file\n\x00\xff binary tail";

/// The §15 fixture in the mock's fixture format, plus vault B's items for the naming and OTP
/// tests. Vault `A2` comes first so that a plain "first match" would pick the wrong `Shared`; item
/// `Y` (newer) comes before `X` for the same reason.
pub fn fixture() -> Value {
    let b64 = base64::engine::general_purpose::STANDARD.encode(FILE_CONTENT);
    json!({"vaults": [
        {"id": ids::A2, "name": "Shared", "createdAt": "2021-01-01T00:00:00Z", "items": []},
        {"id": ids::A, "name": "Shared", "createdAt": "2020-01-01T00:00:00Z", "items": [
            {"id": ids::Y, "title": "db", "category": "DATABASE",
             "createdAt": "2022-01-01T00:00:00Z", "updatedAt": "2022-01-01T00:00:00Z",
             "fields": [{"id": "password", "type": "CONCEALED", "purpose": "PASSWORD",
                         "label": "password", "value": "newer"}]},
            {"id": ids::X, "title": "db", "category": "DATABASE",
             "createdAt": "2019-01-01T00:00:00Z", "updatedAt": "2019-06-01T00:00:00Z",
             "sections": [{"id": "sec1", "label": "Section One"}],
             "fields": [
                {"id": "username", "type": "STRING", "purpose": "USERNAME",
                 "label": "username", "value": "admin"},
                {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD",
                 "label": "password", "value": "pw1"},
                {"id": "secpw", "section": {"id": "sec1"}, "type": "CONCEALED",
                 "label": "password", "value": "pw-in-section"},
                {"id": "unlabelled", "type": "STRING"},
                {"id": "notesPlain", "type": "STRING", "purpose": "NOTES", "label": "notesPlain"},
                {"id": "otp", "type": "OTP", "label": "one-time password",
                 "value": "otpauth://totp/x?secret=ABC"}
             ],
             "files": [{"id": ids::FILE, "name": FILE_NAME, "content": b64}]},
            {"id": ids::Z, "title": "Some Title", "category": "SECURE_NOTE",
             "createdAt": "2021-01-01T00:00:00Z", "updatedAt": "2021-01-01T00:00:00Z"}
        ]},
        {"id": ids::B, "name": "Other Vault", "createdAt": "2020-06-01T00:00:00Z", "items": [
            {"id": ids::ODD, "title": ODD_TITLE, "category": "API_CREDENTIAL",
             "createdAt": "2020-07-01T00:00:00Z", "updatedAt": "2020-07-01T00:00:00Z",
             "fields": [{"id": "credential", "type": "CONCEALED", "label": "api key",
                         "value": "k-123"},
                        {"id": "host", "type": "STRING", "label": "host name",
                         "value": "h.example"}]},
            {"id": ids::QUOTED, "title": QUOTED_TITLE, "category": "PASSWORD",
             "createdAt": "2020-07-01T00:00:00Z", "updatedAt": "2020-07-01T00:00:00Z",
             "fields": [{"id": "password", "type": "CONCEALED", "purpose": "PASSWORD",
                         "label": "password", "value": "quoted-secret"}]},
            {"id": ids::OTP, "title": "totp", "category": "LOGIN",
             "createdAt": "2020-07-01T00:00:00Z", "updatedAt": "2020-07-01T00:00:00Z",
             "fields": [{"id": "username", "type": "STRING", "purpose": "USERNAME",
                         "label": "username", "value": "otp-user"},
                        {"id": "oneTimePassword", "type": "OTP", "label": "one-time password",
                         "value": format!("otpauth://totp/acme:me?secret={OTP_SECRET}&issuer=acme")}]}
        ]}
    ]})
}

/// The server shared by every scenario of one test binary.
#[derive(Debug)]
pub struct Env {
    /// OpenBao with the engine registered (no mount, no Connect of its own).
    pub stack: Stack,
}

impl Env {
    /// The shared environment, started on first use on the backend `HARNESS_BACKEND` names.
    pub async fn shared() -> &'static Env {
        static ENV: tokio::sync::OnceCell<Env> = tokio::sync::OnceCell::const_new();
        ENV.get_or_init(|| runtime::on_background(Env::start()))
            .await
    }

    async fn start() -> Env {
        let options = match StackOptions::from_env() {
            Ok(options) => options,
            Err(err) => panic!("{err}"),
        };
        let stack = match Stack::start(options).await {
            Ok(stack) => stack,
            Err(err) => panic!("the shared stack did not start: {err}"),
        };
        stack.clean_up_at_exit();
        Env { stack }
    }

    /// Which backend the suite runs on.
    pub fn backend(&self) -> Backend {
        self.stack.backend()
    }

    /// A root client on a fresh connection pool (safe to use from the calling test's runtime).
    pub fn root(&self) -> VaultClient {
        self.stack.bao.client()
    }

    /// The server log, which includes the plugins' stderr.
    pub fn log(&self) -> String {
        self.stack.bao.log()
    }

    /// The last `lines` lines of the server log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        self.stack.bao.log_tail(lines)
    }

    /// Starts a Connect mock seeded with `fixture` (the mock's fixture JSON) that accepts only
    /// `token`, where the engine can reach it.
    pub async fn connect(&self, fixture: Value, token: &str) -> Connect {
        match self
            .stack
            .start_connect(ConnectSeed::Fixture(fixture), token)
            .await
        {
            Ok(connect) => connect,
            Err(err) => panic!("mock-connect did not start: {err}"),
        }
    }
}

/// A mounted, configured engine with its own Connect mock.
#[derive(Debug)]
pub struct Scenario {
    /// The shared server.
    pub env: &'static Env,
    /// The mount path, e.g. `op-7` (no trailing slash).
    pub mount: String,
    /// A root client for this test's runtime.
    pub client: VaultClient,
    /// This scenario's Connect mock.
    pub connect: Connect,
}

static NEXT_MOUNT: AtomicU64 = AtomicU64::new(1);

/// A random-enough Connect token for one scenario: unique, so a grep of the log is meaningful.
fn scenario_token(n: u64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("ct-{}-{n}-{nanos:08x}-SECRETTOKEN", std::process::id())
}

impl Scenario {
    /// Mock with the §15 fixture, engine mounted and configured against it.
    pub async fn new() -> Scenario {
        let scenario = Self::unconfigured().await;
        let written = scenario.configure(json!({})).await;
        assert!(
            written.is_success(),
            "config write failed: {} {:?}\n{}",
            written.status,
            written.body,
            scenario.env.log_tail(40)
        );
        scenario
    }

    /// Mock with the fixture, engine mounted, no `config` written yet.
    pub async fn unconfigured() -> Scenario {
        Self::unconfigured_with(fixture()).await
    }

    /// Mock seeded with `fixture`, engine mounted, no `config` written yet.
    pub async fn unconfigured_with(fixture: Value) -> Scenario {
        let env = Env::shared().await;
        let n = NEXT_MOUNT.fetch_add(1, Ordering::Relaxed);
        let connect = env.connect(fixture, &scenario_token(n)).await;
        let mount = format!("op-{n}");
        let client = env.root();
        if let Err(err) = crate::plugin::mount(&client, &mount, engine::NAME).await {
            panic!("mounting {mount}: {err}\n{}", env.log_tail(60));
        }
        Scenario {
            env,
            mount,
            client,
            connect,
        }
    }

    /// Writes `config` with this scenario's host and token, plus `extra` keys (which win).
    pub async fn configure(&self, extra: Value) -> VaultResponse {
        let mut body = json!({
            "op_connect_host": self.connect.url,
            "op_connect_token": self.connect.token,
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                body.insert(k.clone(), v.clone());
            }
        }
        self.write("config", &body).await
    }

    /// `<mount>/<rel>`.
    pub fn path(&self, rel: &str) -> String {
        format!("{}/{}", self.mount, rel.trim_start_matches('/'))
    }

    /// GET `<mount>/<rel>`.
    pub async fn read(&self, rel: &str) -> VaultResponse {
        self.call(Method::GET, rel, None).await
    }

    /// GET `<mount>/<rel>?query`.
    pub async fn read_query(&self, rel: &str, query: &[(&str, &str)]) -> VaultResponse {
        match self.client.read_with_query(&self.path(rel), query).await {
            Ok(r) => r,
            Err(err) => panic!("GET {rel}: {err}\n{}", self.env.log_tail(40)),
        }
    }

    /// LIST `<mount>/<rel>`.
    pub async fn list(&self, rel: &str) -> VaultResponse {
        match self.client.list(&self.path(rel)).await {
            Ok(r) => r,
            Err(err) => panic!("LIST {rel}: {err}\n{}", self.env.log_tail(40)),
        }
    }

    /// PUT `<mount>/<rel>` with a JSON body.
    pub async fn write(&self, rel: &str, body: &Value) -> VaultResponse {
        self.call(Method::PUT, rel, Some(body)).await
    }

    /// PATCH `<mount>/<rel>` with a merge-patch body.
    pub async fn patch(&self, rel: &str, body: &Value) -> VaultResponse {
        self.call(Method::PATCH, rel, Some(body)).await
    }

    /// DELETE `<mount>/<rel>`.
    pub async fn delete(&self, rel: &str) -> VaultResponse {
        self.call(Method::DELETE, rel, None).await
    }

    /// Any method on `<mount>/<rel>`.
    pub async fn call(&self, method: Method, rel: &str, body: Option<&Value>) -> VaultResponse {
        match self
            .client
            .request(method.clone(), &self.path(rel), body)
            .await
        {
            Ok(r) => r,
            Err(err) => panic!("{method} {rel}: {err}\n{}", self.env.log_tail(40)),
        }
    }

    /// A token limited to `policy` (HCL), created through the API.
    pub async fn token_with_policy(&self, name: &str, policy: &str) -> VaultClient {
        let name = format!("{}-{name}", self.mount);
        let put = self
            .client
            .write(
                &format!("sys/policies/acl/{name}"),
                &json!({ "policy": policy }),
            )
            .await;
        match put {
            Ok(r) if r.is_success() => {}
            other => panic!("writing policy {name}: {other:?}"),
        }
        let created = self
            .client
            .write(
                "auth/token/create",
                &json!({"policies": [name], "no_default_policy": true, "ttl": "10m"}),
            )
            .await;
        let token = match &created {
            Ok(r) => r.body["auth"]["client_token"].as_str().map(str::to_owned),
            Err(_) => None,
        };
        match token {
            Some(token) => self.client.with_token(Some(token)),
            None => panic!("creating a token: {created:?}"),
        }
    }

    /// Runs `bao ARGS…` against the shared server with the root token, where the server runs
    /// (inside the container on the container backend); assert on the result with
    /// [`CliOutput::ok`], [`CliOutput::json`] or [`CliOutput::failed`].
    pub async fn bao(&self, args: &[&str]) -> CliOutput {
        self.env.stack.bao.cli(CliSite::Server, args).await
    }

    /// Writes `contents` where the `bao` CLI of [`Scenario::bao`] reads `@<path>`; the path.
    pub fn cli_file(&self, name: &str, contents: &[u8]) -> String {
        let name = format!("{}-{name}", self.mount);
        match self
            .env
            .stack
            .bao
            .put_file(CliSite::Server, &name, contents)
        {
            Ok(path) => path,
            Err(err) => panic!("writing {name} for the CLI: {err}"),
        }
    }

    /// Asserts that `response` failed with `status` and that its error text contains every
    /// needle (case-insensitive); returns the joined error text.
    pub fn expect_error(&self, response: &VaultResponse, status: u16, needles: &[&str]) -> String {
        let text = response.errors.join(" | ");
        assert_eq!(
            response.status,
            status,
            "expected {status}, got {} {:?}\n--- log tail ---\n{}",
            response.status,
            response.body,
            self.env.log_tail(30)
        );
        let lower = text.to_lowercase();
        for needle in needles {
            assert!(
                lower.contains(&needle.to_lowercase()),
                "error {text:?} does not mention {needle:?}"
            );
        }
        assert!(
            !text.contains(&self.connect.token),
            "the Connect token leaked into an error: {text}"
        );
        text
    }

    /// Asserts that a successful response carries `data` and returns it.
    pub fn expect_data(&self, response: &VaultResponse) -> Value {
        assert!(
            response.is_success(),
            "expected success, got {} {:?}\n--- log tail ---\n{}",
            response.status,
            response.body,
            self.env.log_tail(30)
        );
        match &response.data {
            Some(data) => data.clone(),
            None => panic!("no data in {:?}", response.body),
        }
    }

    /// Number of journalled Connect requests.
    pub async fn connect_requests(&self) -> usize {
        self.connect.journal().await.len()
    }
}
