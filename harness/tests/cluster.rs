//! The engine on a three-node OpenBao raft cluster: config changes reaching standbys through the
//! server's `InvalidateKey`, standby reads served where they land and writes forwarded, leader
//! loss under load (no item lost or written twice), a frozen leader, a standby cut off, and a
//! rolling upgrade of the plugin. One cluster is shared by every scenario; scenarios take turns
//! (a lock) and each starts by healing whatever the previous one did.
//!
//! Figures (election times, client errors, read throughput) are printed, never asserted: run with
//! `--nocapture` to see them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// One module, so that `cargo test -p harness cluster` selects every test here by name.
mod cluster {

    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use harness::launch::Backend;
    use harness::launch::cluster::container::ContainerImages;
    use harness::launch::cluster::{Cluster, ClusterSpec, Role};
    use harness::launch::engine::{self, VERSION as PLUGIN_VERSION};
    use harness::launch::images::Images;
    use harness::plugin::{self, Profile};
    use harness::vault_api::{VaultClient, VaultResponse};
    use mock_connect::demo::ENGINEERING_VAULT_ID;
    use reqwest::Method;
    use serde_json::{Value, json};
    use tokio::sync::{Mutex, MutexGuard, OnceCell};

    /// How long any awaited change (an election, a config reaching a node) may take.
    const SETTLE: Duration = Duration::from_secs(30);
    /// Per-request bound for the load and the probes (a frozen node never answers).
    const REQUEST_BOUND: Duration = Duration::from_secs(10);
    /// Leader kills measured (the median is reported).
    const KILL_RUNS: usize = 3;

    /// The shared cluster and what scenarios need to know about it.
    struct Shared {
        cluster: Mutex<Cluster>,
        /// A Connect token that sees every vault (the engine's configured token).
        full_token: String,
        /// A Connect token that sees only the vault `Private`.
        narrow_token: String,
        /// The engine binary the cluster started with.
        engine: PathBuf,
    }

    fn docker_answers() -> bool {
        std::process::Command::new("docker")
            .args(["version", "--format", "{{.Server.Version}}"])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// The shared cluster, started on first use; `None` when its backend cannot run here (and
    /// this is not CI, where that fails).
    async fn shared() -> Option<&'static Shared> {
        static SHARED: OnceCell<Option<Shared>> = OnceCell::const_new();
        SHARED
            .get_or_init(|| async {
                let backend = Backend::from_env().unwrap_or_else(|e| panic!("{e}"));
                let containers = backend == Backend::Container;
                if containers && !docker_answers() {
                    test_support::missing(
                        "cluster",
                        "HARNESS_BACKEND=container but no Docker daemon answers",
                        "start a Docker daemon, or run the cluster suite on processes",
                    );
                    return None;
                }
                let (engine, mock) = tokio::task::spawn_blocking(move || {
                    (
                        engine::artifact_for(backend, Profile::Dev).expect("building the engine"),
                        engine::mock_artifact(Profile::Dev).expect("building mock-connect"),
                    )
                })
                .await
                .unwrap();
                let suffix = hex::encode(rand::random::<[u8; 8]>());
                let full_token = format!("cluster-full-{suffix}");
                let narrow_token = format!("cluster-narrow-{suffix}");
                let spec = ClusterSpec::new(
                    &engine,
                    PLUGIN_VERSION,
                    &mock,
                    vec![full_token.clone(), format!("{narrow_token}=Private")],
                );
                let started = Instant::now();
                let cluster = if containers {
                    let images = tokio::task::spawn_blocking(Images::for_tests)
                        .await
                        .unwrap()
                        .unwrap_or_else(|e| panic!("building the images failed: {e}"));
                    Cluster::start_containers(spec, ContainerImages::from(&images)).await
                } else {
                    Cluster::start_processes(spec).await
                }
                .unwrap_or_else(|e| panic!("the cluster did not form: {e}"));
                println!(
                    "[figures] cluster of {} {} formed in {:.1}s",
                    cluster.len(),
                    if containers {
                        "containers"
                    } else {
                        "processes"
                    },
                    started.elapsed().as_secs_f64()
                );
                Some(Shared {
                    cluster: Mutex::new(cluster),
                    full_token,
                    narrow_token,
                    engine,
                })
            })
            .await
            .as_ref()
    }

    /// The cluster, whole again, for one scenario at a time; and its active node.
    async fn healed() -> Option<(MutexGuard<'static, Cluster>, usize)> {
        let shared = shared().await?;
        let mut cluster = shared.cluster.lock().await;
        let started = Instant::now();
        let active = cluster
            .heal()
            .await
            .unwrap_or_else(|e| panic!("the cluster did not heal: {e}"));
        // A scenario that failed half-way may have left the narrow token configured.
        set_connect_token(&cluster.client(active), &shared.full_token).await;
        every_node_sees(&cluster, true).await;
        println!("[figures] cluster whole after {:?}", started.elapsed());
        Some((cluster, active))
    }

    fn standbys(cluster: &Cluster, active: usize) -> Vec<usize> {
        (0..cluster.len()).filter(|&i| i != active).collect()
    }

    /// `op/…` path.
    fn op(rel: &str) -> String {
        format!("op/{rel}")
    }

    fn item_path(title: &str) -> String {
        op(&format!("vaults/engineering/items/{title}"))
    }

    fn login_body(title: &str, value: u64) -> Value {
        json!({
            "category": "login", "title": title,
            "fields": [
                {"id": "username", "type": "STRING", "purpose": "USERNAME", "label": "username",
                 "value": format!("user-{value}")}
            ]
        })
    }

    async fn bounded(
        call: impl std::future::Future<Output = Result<VaultResponse, harness::vault_api::ClientError>>,
    ) -> Result<VaultResponse, String> {
        match tokio::time::timeout(REQUEST_BOUND, call).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {REQUEST_BOUND:?}")),
        }
    }

    /// Direct calls to Connect (the mock), behind the engine's back.
    struct Connect {
        url: String,
        token: String,
        http: reqwest::Client,
    }

    impl Connect {
        fn new(cluster: &Cluster, token: &str) -> Self {
            Self {
                url: cluster.connect_url(),
                token: token.to_owned(),
                http: reqwest::Client::builder()
                    .timeout(REQUEST_BOUND)
                    .build()
                    .unwrap(),
            }
        }

        async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
            // The mock's admin routes take the admin token, its API the Connect token.
            let token = if path.starts_with("/__admin") {
                harness::launch::connect::MOCK_ADMIN_TOKEN
            } else {
                self.token.as_str()
            };
            let mut request = self
                .http
                .request(method, format!("{}{}", self.url, path))
                .bearer_auth(token);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        }

        /// Creates an item in `engineering` directly; its id.
        async fn create(&self, title: &str) -> String {
            let mut body = login_body(title, 0);
            body["vault"] = json!({"id": ENGINEERING_VAULT_ID});
            let (status, created) = self
                .call(
                    Method::POST,
                    &format!("/v1/vaults/{ENGINEERING_VAULT_ID}/items"),
                    Some(body),
                )
                .await;
            assert_eq!(status, 200, "{created}");
            created["id"].as_str().unwrap().to_owned()
        }

        /// Titles of every item in `engineering`.
        async fn titles(&self) -> Vec<String> {
            let (status, items) = self
                .call(
                    Method::GET,
                    &format!("/v1/vaults/{ENGINEERING_VAULT_ID}/items"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{items}");
            items
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|i| i["title"].as_str().map(str::to_owned))
                .collect()
        }

        async fn clear_journal(&self) {
            let (status, body) = self.call(Method::DELETE, "/__admin/requests", None).await;
            assert_eq!(status, 204, "{body}");
        }

        /// `(method, path, status)` of every journalled request.
        async fn journal(&self) -> Vec<(String, String, u16)> {
            let (status, body) = self.call(Method::GET, "/__admin/requests", None).await;
            assert_eq!(status, 200, "{body}");
            body.as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["method"].as_str().unwrap_or_default().to_owned(),
                        e["path"].as_str().unwrap_or_default().to_owned(),
                        e["status"].as_u64().unwrap_or(0) as u16,
                    )
                })
                .collect()
        }
    }

    /// Polls `check` on node `i` until it holds; how long that took.
    async fn eventually<F, Fut>(what: &str, cluster: &Cluster, mut check: F) -> Duration
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let started = Instant::now();
        let mut last = String::new();
        while started.elapsed() < SETTLE {
            match check().await {
                Ok(()) => return started.elapsed(),
                Err(why) => last = why,
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{what}: not within {SETTLE:?} (last: {last})\n{}",
            cluster.log_tails(30)
        );
    }

    /// The vault names node `i`'s engine lists.
    async fn vault_names(client: &VaultClient) -> Result<Vec<String>, String> {
        let list = bounded(client.list(&op("vaults"))).await?;
        if list.status != 200 {
            return Err(format!("list vaults: {} {}", list.status, list.body));
        }
        Ok(list
            .keys()
            .iter()
            .map(|k| k.split(' ').next().unwrap_or_default().to_owned())
            .collect())
    }

    /// Sets the engine's Connect token through `client` (the active node or a standby).
    async fn set_connect_token(client: &VaultClient, token: &str) {
        let written = client
            .write(&op("config"), &json!({"op_connect_token": token}))
            .await
            .unwrap();
        assert!(written.is_success(), "{:?}", written.body);
    }

    /// Waits until every node's engine sees exactly the vaults of `token`'s scope.
    async fn every_node_sees(cluster: &Cluster, full: bool) -> Vec<Duration> {
        let mut took = Vec::new();
        for i in 0..cluster.len() {
            let client = cluster.client(i);
            took.push(
                eventually(
                    &format!("{} lists the vaults of the new token", cluster.name(i)),
                    cluster,
                    || {
                        let client = client.clone();
                        async move {
                            let names = vault_names(&client).await?;
                            let engineering = names.iter().any(|n| n == "engineering");
                            if engineering == full && names.iter().any(|n| n == "Private") {
                                Ok(())
                            } else {
                                Err(format!("lists {names:?}"))
                            }
                        }
                    },
                )
                .await,
            );
        }
        took
    }

    const INVALIDATED: &str = "config changed on another node";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_node_holds_the_catalogs_engine_and_serves_it() {
        let Some((cluster, active)) = healed().await else {
            return;
        };
        let checks = cluster
            .verify_plugin_binaries()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // The declared version, on every node (the rolling upgrade may have added another).
        let declared: Vec<_> = checks
            .iter()
            .filter(|c| c.version == PLUGIN_VERSION)
            .collect();
        assert_eq!(declared.len(), cluster.len(), "{checks:?}");
        assert!(
            declared
                .iter()
                .all(|c| c.catalog_sha256 == cluster.engine_sha256()),
            "{checks:?}"
        );
        // The engine mounted by self-initialisation.
        let mounts = cluster.client(active).read("sys/mounts").await.unwrap();
        assert_eq!(
            mounts.body["op/"]["type"],
            json!("op-connect"),
            "{}",
            mounts.body
        );
        for i in 0..cluster.len() {
            let names = vault_names(&cluster.client(i)).await.unwrap();
            assert!(
                names.contains(&"engineering".to_owned()),
                "{}: {names:?}",
                cluster.name(i)
            );
        }
    }

    #[test]
    fn a_node_with_another_binary_fails_the_check() {
        use harness::launch::cluster::PluginCheck;
        let check = |node_sha256: Option<&str>| PluginCheck {
            node: "n2".into(),
            version: "v1.1.0".into(),
            command: "op-connect".into(),
            catalog_sha256: "aa".into(),
            node_sha256: node_sha256.map(str::to_owned),
        };
        assert!(check(Some("aa")).matches());
        assert!(!check(Some("bb")).matches());
        assert!(!check(None).matches());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn config_written_on_the_active_node_reaches_every_standby_without_restart() {
        let Some((cluster, active)) = healed().await else {
            return;
        };
        let shared = shared().await.expect("the cluster is up");
        // Every node's engine has built its client with the full token.
        every_node_sees(&cluster, true).await;
        let offsets: Vec<usize> = (0..cluster.len()).map(|i| cluster.log(i).len()).collect();

        set_connect_token(&cluster.client(active), &shared.narrow_token).await;
        let took = every_node_sees(&cluster, false).await;
        for i in standbys(&cluster, active) {
            let since = cluster.log(i)[offsets[i]..].to_owned();
            assert!(
                since.contains(INVALIDATED),
                "{} dropped its client without InvalidateKey?\n{since}",
                cluster.name(i)
            );
        }
        println!(
            "[figures] config change visible on every node after {:?} (per node, in order)",
            took
        );

        set_connect_token(&cluster.client(active), &shared.full_token).await;
        every_node_sees(&cluster, true).await;
    }

    /// Node `i`'s log since `offset` contains an audit entry for `path`.
    /// Node `i`'s audit log, since `offset` in its log, has a request `operation` on `path`
    /// (one JSON line per audited request and response).
    fn audited(
        cluster: &Cluster,
        i: usize,
        offset: usize,
        operations: &[&str],
        path: &str,
    ) -> bool {
        let path = format!("\"path\":\"{path}\"");
        cluster.log(i)[offset..].lines().any(|line| {
            line.contains(&path)
                && operations
                    .iter()
                    .any(|op| line.contains(&format!("\"operation\":\"{op}\"")))
        })
    }

    /// Reads `path` on `client` with `concurrency` workers for `duration`; requests per second.
    async fn read_throughput(client: &VaultClient, path: &str, duration: Duration) -> f64 {
        let started = Instant::now();
        let workers = (0..4).map(|_| {
            let client = client.clone();
            let path = path.to_owned();
            tokio::spawn(async move {
                let mut done = 0u64;
                while started.elapsed() < duration {
                    let read = bounded(client.read(&path)).await.unwrap();
                    assert_eq!(read.status, 200, "{:?}", read.body);
                    done += 1;
                }
                done
            })
        });
        let total: u64 = futures::future::join_all(workers)
            .await
            .into_iter()
            .map(Result::unwrap)
            .sum();
        total as f64 / started.elapsed().as_secs_f64()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn standby_serves_reads_itself_and_forwards_writes() {
        let Some((cluster, active)) = healed().await else {
            return;
        };
        let shared = shared().await.expect("the cluster is up");
        let connect = Connect::new(&cluster, &shared.full_token);
        let standby = standbys(&cluster, active)[0];
        let suffix = hex::encode(rand::random::<[u8; 6]>());
        let read_title = format!("standby-read-{suffix}");
        let write_title = format!("standby-write-{suffix}");
        connect.create(&read_title).await;
        connect.create(&write_title).await;
        let offsets: Vec<usize> = (0..cluster.len()).map(|i| cluster.log(i).len()).collect();

        // A read sent to a standby is handled there: only its audit log has it.
        let read = cluster
            .client(standby)
            .read(&item_path(&read_title))
            .await
            .unwrap();
        assert_eq!(read.status, 200, "{:?}", read.body);
        assert_eq!(read.get("username"), &json!("user-0"));
        let read_path = item_path(&read_title);
        assert!(
            audited(&cluster, standby, offsets[standby], &["read"], &read_path),
            "the standby did not audit its read\n{}",
            cluster.log_tails(20)
        );
        assert!(
            !audited(&cluster, active, offsets[active], &["read"], &read_path),
            "the read was forwarded to the active node"
        );

        // An item write sent to a standby touches no storage (the item lives in Connect): the
        // standby's plugin performs it itself, as it does reads.
        let offsets: Vec<usize> = (0..cluster.len()).map(|i| cluster.log(i).len()).collect();
        let written = cluster
            .client(standby)
            .write(&item_path(&write_title), &login_body(&write_title, 7))
            .await
            .unwrap();
        assert!(written.is_success(), "{:?}", written.body);
        let write_path = item_path(&write_title);
        assert!(audited(
            &cluster,
            standby,
            offsets[standby],
            &["create", "update"],
            &write_path
        ));
        assert!(
            !audited(
                &cluster,
                active,
                offsets[active],
                &["create", "update"],
                &write_path
            ),
            "an item write was forwarded to the active node"
        );

        // A config write sent to a standby writes storage: it is forwarded to the active node,
        // which performs it, and reaches every node.
        let offsets: Vec<usize> = (0..cluster.len()).map(|i| cluster.log(i).len()).collect();
        set_connect_token(&cluster.client(standby), &shared.narrow_token).await;
        assert!(
            audited(
                &cluster,
                active,
                offsets[active],
                &["create", "update"],
                &op("config")
            ),
            "the active node did not handle the forwarded config write\n{}",
            cluster.log_tails(20)
        );
        every_node_sees(&cluster, false).await;
        set_connect_token(&cluster.client(standby), &shared.full_token).await;
        every_node_sees(&cluster, true).await;
        let reread = cluster
            .client(active)
            .read(&item_path(&write_title))
            .await
            .unwrap();
        assert_eq!(
            reread.get("username"),
            &json!("user-7"),
            "{:?}",
            reread.body
        );

        let window = Duration::from_secs(2);
        let on_standby = read_throughput(&cluster.client(standby), &read_path, window).await;
        let on_active = read_throughput(&cluster.client(active), &read_path, window).await;
        println!(
            "[figures] plugin item reads, 4 clients for {window:?}: standby {on_standby:.0} req/s, \
         active {on_active:.0} req/s"
        );
    }

    /// One request the load made.
    #[derive(Debug, Clone)]
    struct Attempt {
        node: usize,
        started: Instant,
        ended: Instant,
        ok: bool,
        what: String,
    }

    /// What the load saw.
    #[derive(Debug, Default)]
    struct LoadOutcome {
        attempts: Vec<Attempt>,
        /// Titles whose creation the load saw acknowledged (or found done after a failure).
        created: Vec<String>,
    }

    impl LoadOutcome {
        fn failures(&self) -> Vec<&Attempt> {
            self.attempts.iter().filter(|a| !a.ok).collect()
        }

        /// The request (and any error) through `client`, timed and recorded; `accept` says which
        /// statuses are not a client-visible error.
        async fn record(
            &mut self,
            node: usize,
            what: &str,
            accept: impl Fn(u16) -> bool,
            call: impl std::future::Future<
                Output = Result<VaultResponse, harness::vault_api::ClientError>,
            >,
        ) -> Option<u16> {
            let started = Instant::now();
            let result = bounded(call).await;
            let status = result.as_ref().ok().map(|r| r.status);
            let ok = status.is_some_and(&accept);
            let detail = match &result {
                Ok(r) if ok => r.status.to_string(),
                Ok(r) => format!("{} {:?}", r.status, r.errors),
                Err(e) => e.clone(),
            };
            self.attempts.push(Attempt {
                node,
                started,
                ended: Instant::now(),
                ok,
                what: format!("{what}: {detail}"),
            });
            if ok { status } else { None }
        }
    }

    /// A steady, bounded read/write load running in the background.
    struct Load {
        stop: Arc<AtomicBool>,
        workers: Vec<tokio::task::JoinHandle<LoadOutcome>>,
    }

    impl Load {
        /// Two clients spread over `clients` (as behind a load balancer that health-checks the
        /// nodes): each creates an item, reads it back and updates it, 20 ms apart, and every
        /// fourth item rewrites the engine's config (with `config_token`, unchanged: a storage
        /// write, which only the active node can do), retrying a failure on the next node. A
        /// failed create is retried only after a lookup by title finds nothing, so an item
        /// Connect stored whose answer was lost is not created twice (the client policy README.md
        /// recommends). Stops on [`Load::finish`], or after `limit`.
        fn start(
            clients: Vec<(usize, VaultClient)>,
            prefix: &str,
            config_token: &str,
            limit: Duration,
        ) -> Self {
            let stop = Arc::new(AtomicBool::new(false));
            let started = Instant::now();
            let workers = (0..2)
                .map(|w| {
                    let clients = clients.clone();
                    let stop = stop.clone();
                    let prefix = format!("{prefix}-w{w}");
                    let config = json!({"op_connect_token": config_token});
                    tokio::spawn(async move {
                        let running = || !stop.load(Ordering::Relaxed) && started.elapsed() < limit;
                        load_worker(w, &clients, &prefix, &config, running).await
                    })
                })
                .collect();
            Self { stop, workers }
        }

        async fn finish(self) -> LoadOutcome {
            self.stop.store(true, Ordering::Relaxed);
            let mut total = LoadOutcome::default();
            for outcome in futures::future::join_all(self.workers).await {
                let outcome = outcome.unwrap();
                total.attempts.extend(outcome.attempts);
                total.created.extend(outcome.created);
            }
            total
        }
    }

    async fn load_worker(
        first: usize,
        clients: &[(usize, VaultClient)],
        prefix: &str,
        config: &Value,
        running: impl Fn() -> bool,
    ) -> LoadOutcome {
        let mut outcome = LoadOutcome::default();
        let mut turn = first;
        let mut next = || {
            turn += 1;
            clients[turn % clients.len()].clone()
        };
        let backoff = || tokio::time::sleep(Duration::from_millis(100));
        let mut n = 0u64;
        while running() {
            let title = format!("{prefix}-{n}");
            let mut created = false;
            let mut failed_before = false;
            while !created && running() {
                let (node, client) = next();
                if failed_before {
                    let found = outcome
                        .record(
                            node,
                            &format!("lookup {title}"),
                            |s| s == 200 || s == 404,
                            client.read(&item_path(&title)),
                        )
                        .await;
                    match found {
                        Some(200) => {
                            created = true;
                            break;
                        }
                        Some(_) => {}
                        None => {
                            backoff().await;
                            continue;
                        }
                    }
                }
                let body = login_body(&title, n);
                let done = outcome
                    .record(
                        node,
                        &format!("create {title}"),
                        |s| (200..300).contains(&s),
                        client.write(&op("vaults/engineering/items"), &body),
                    )
                    .await;
                if done.is_some() {
                    created = true;
                } else {
                    failed_before = true;
                    backoff().await;
                }
            }
            if !created {
                break;
            }
            outcome.created.push(title.clone());
            // Read it back, then update it (a full replacement: safe to repeat), each until it works.
            loop {
                let (node, client) = next();
                let read = outcome
                    .record(
                        node,
                        &format!("read {title}"),
                        |s| s == 200,
                        client.read(&item_path(&title)),
                    )
                    .await;
                if read.is_some() || !running() {
                    break;
                }
                backoff().await;
            }
            loop {
                let (node, client) = next();
                let body = login_body(&title, n + 1);
                let updated = outcome
                    .record(
                        node,
                        &format!("update {title}"),
                        |s| (200..300).contains(&s),
                        client.write(&item_path(&title), &body),
                    )
                    .await;
                if updated.is_some() || !running() {
                    break;
                }
                backoff().await;
            }
            if n.is_multiple_of(4) {
                loop {
                    let (node, client) = next();
                    let written = outcome
                        .record(
                            node,
                            "config write",
                            |s| (200..300).contains(&s),
                            client.write(&op("config"), config),
                        )
                        .await;
                    if written.is_some() || !running() {
                        break;
                    }
                    backoff().await;
                }
            }
            n += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        outcome
    }

    fn median(values: &[Duration]) -> Duration {
        let mut sorted = values.to_vec();
        sorted.sort();
        sorted[sorted.len() / 2]
    }

    /// Until a config write (a storage write: done by the active node, forwarded by standbys)
    /// through `client` succeeds; when it did.
    async fn first_config_write(cluster: &Cluster, client: &VaultClient, token: &str) -> Instant {
        let body = json!({"op_connect_token": token});
        eventually("a config write", cluster, || async {
            match bounded(client.write(&op("config"), &body)).await {
                Ok(r) if r.is_success() => Ok(()),
                Ok(r) => Err(format!("{} {:?}", r.status, r.errors)),
                Err(e) => Err(e),
            }
        })
        .await;
        Instant::now()
    }

    /// Create, read, update and delete one item through node `i`.
    async fn crud_on(cluster: &Cluster, i: usize, title: &str) {
        let client = cluster.client(i);
        let created = client
            .write(&op("vaults/engineering/items"), &login_body(title, 1))
            .await
            .unwrap();
        assert!(
            created.is_success(),
            "create on {}: {:?}",
            cluster.name(i),
            created.body
        );
        let read = client.read(&item_path(title)).await.unwrap();
        assert_eq!(read.get("username"), &json!("user-1"), "{:?}", read.body);
        let updated = client
            .write(&item_path(title), &login_body(title, 2))
            .await
            .unwrap();
        assert!(updated.is_success(), "{:?}", updated.body);
        let read = client.read(&item_path(title)).await.unwrap();
        assert_eq!(read.get("username"), &json!("user-2"), "{:?}", read.body);
        let deleted = client.delete(&item_path(title)).await.unwrap();
        assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn leader_killed_under_load_new_leader_serves_and_no_item_is_lost_or_doubled() {
        let Some(shared) = shared().await else {
            return;
        };
        let mut elections = Vec::new();
        for run in 0..KILL_RUNS {
            let Some((mut cluster, old)) = healed().await else {
                return;
            };
            let connect = Connect::new(&cluster, &shared.full_token);
            let survivors = standbys(&cluster, old);
            // Read on the killed node once it is back.
            let probe = format!("probe-{}", hex::encode(rand::random::<[u8; 6]>()));
            connect.create(&probe).await;
            connect.clear_journal().await;

            let prefix = format!("load-{run}-{}", hex::encode(rand::random::<[u8; 4]>()));
            let clients = survivors.iter().map(|&i| (i, cluster.client(i))).collect();
            let load = Load::start(
                clients,
                &prefix,
                &shared.full_token,
                Duration::from_secs(60),
            );
            tokio::time::sleep(Duration::from_millis(1500)).await;

            let killed_at = Instant::now();
            cluster.kill(old).await.unwrap();
            let (new, elected) = cluster
                .wait_new_active(old, SETTLE)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let first_write =
                first_config_write(&cluster, &cluster.client(new), &shared.full_token).await;
            // The window closes once every survivor gets a plugin write through (a standby forwards).
            let mut window_end = first_write;
            for &i in &survivors {
                window_end = window_end.max(
                    first_config_write(&cluster, &cluster.client(i), &shared.full_token).await,
                );
            }
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let outcome = load.finish().await;

            let failures = outcome.failures();
            let outside: Vec<String> = failures
                .iter()
                .filter(|a| a.ended < killed_at || a.started > window_end)
                .map(|a| {
                    format!(
                        "{} at {:?} after the kill: {}",
                        cluster.name(a.node),
                        a.started.saturating_duration_since(killed_at),
                        a.what
                    )
                })
                .collect();
            assert!(
                outside.is_empty(),
                "client errors outside the election window: {outside:#?}"
            );

            // Connect holds every acknowledged item exactly once, and was asked to create each once.
            let titles = connect.titles().await;
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for title in titles.iter().filter(|t| t.starts_with(&prefix)) {
                *counts.entry(title.as_str()).or_default() += 1;
            }
            let lost: Vec<&String> = outcome
                .created
                .iter()
                .filter(|t| !counts.contains_key(t.as_str()))
                .collect();
            let doubled: Vec<(&&str, &usize)> = counts.iter().filter(|(_, n)| **n > 1).collect();
            let creates = connect
                .journal()
                .await
                .iter()
                .filter(|(m, p, s)| {
                    m == "POST"
                        && p == &format!("/v1/vaults/{ENGINEERING_VAULT_ID}/items")
                        && *s == 200
                })
                .count();
            let config_failures = failures
                .iter()
                .filter(|a| a.what.starts_with("config"))
                .count();
            let mut seen: Vec<String> = failures
                .iter()
                .map(|a| a.what.split(": ").nth(1).unwrap_or_default().to_owned())
                .collect();
            seen.sort();
            seen.dedup();
            println!(
                "[figures] leader kill {}: {} → {} active after {:?}, first config write on it after \
                 {:?}, through every survivor after {:?}; load: {} requests, {} failed \
                 (client-visible: {} config writes, {} item requests; {:?}), {} items created, \
                 {} lost, {} doubled, {} creates reached Connect",
                run + 1,
                cluster.name(old),
                cluster.name(new),
                elected,
                first_write - killed_at,
                window_end - killed_at,
                outcome.attempts.len(),
                failures.len(),
                config_failures,
                failures.len() - config_failures,
                seen,
                outcome.created.len(),
                lost.len(),
                doubled.len(),
                creates
            );
            assert!(!outcome.created.is_empty(), "the load created nothing");
            assert!(
                lost.is_empty(),
                "acknowledged items missing from Connect: {lost:?}"
            );
            assert!(doubled.is_empty(), "items created twice: {doubled:?}");
            assert_eq!(
                creates,
                counts.len(),
                "creates that reached Connect vs items there"
            );
            assert_eq!(
                counts.len(),
                outcome.created.len(),
                "items in Connect vs acknowledged"
            );
            elections.push(elected);

            // The new leader serves the plugin's whole CRUD.
            crud_on(&cluster, new, &format!("{prefix}-crud")).await;
            // The killed node rejoins as a standby and serves again.
            cluster.start(old).await.unwrap();
            cluster
                .wait_healthy(SETTLE * 2)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(cluster.role(old).await, Role::Standby);
            let read = cluster.client(old).read(&item_path(&probe)).await.unwrap();
            assert_eq!(read.status, 200, "{:?}", read.body);
        }
        println!(
            "[figures] election after a leader kill: median {:?} of {:?}",
            median(&elections),
            elections
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn paused_leader_is_replaced_and_rejoins_as_a_standby() {
        let Some((mut cluster, old)) = healed().await else {
            return;
        };
        cluster.pause(old).await.unwrap();
        let (new, took) = cluster
            .wait_new_active(old, SETTLE)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let title = format!("paused-{}", hex::encode(rand::random::<[u8; 6]>()));
        crud_on(&cluster, new, &title).await;
        cluster.resume(old).await.unwrap();
        cluster
            .wait_until("old leader back as a standby", SETTLE, |roles| {
                roles[old] == Role::Standby && roles[new] == Role::Active
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // A node that has just stepped down learns who leads now a moment later.
        let client = cluster.client(old);
        let expected = json!(cluster.api_addr(new));
        eventually("the old leader follows the new one", &cluster, || async {
            let leader = bounded(client.read("sys/leader")).await?;
            if leader.body["leader_address"] == expected {
                Ok(())
            } else {
                Err(format!("follows {}", leader.body["leader_address"]))
            }
        })
        .await;
        crud_on(&cluster, old, &format!("{title}-after")).await;
        println!(
            "[figures] leader paused: {} active after {took:?}",
            cluster.name(new)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn standby_cut_off_catches_up_with_config_written_meanwhile() {
        let Some((mut cluster, active)) = healed().await else {
            return;
        };
        let shared = shared().await.expect("the cluster is up");
        let [cut, other] = standbys(&cluster, active)[..] else {
            panic!("expected two standbys");
        };
        every_node_sees(&cluster, true).await;
        cluster.cut_off(cut).await.unwrap();
        let offset = cluster.log(cut).len();
        let title = format!("while-cut-{}", hex::encode(rand::random::<[u8; 6]>()));
        crud_on(&cluster, active, &title).await;

        // Two of three nodes are a quorum: writes go on.
        set_connect_token(&cluster.client(active), &shared.narrow_token).await;
        let client = cluster.client(other);
        eventually("the other standby sees the new config", &cluster, || {
            let client = client.clone();
            async move {
                let names = vault_names(&client).await?;
                if names.iter().any(|n| n == "engineering") {
                    Err(format!("{names:?}"))
                } else {
                    Ok(())
                }
            }
        })
        .await;

        cluster.reconnect(cut).await.unwrap();
        let caught_up = Instant::now();
        cluster
            .wait_healthy(SETTLE * 2)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        every_node_sees(&cluster, false).await;
        let since = cluster.log(cut)[offset..].to_owned();
        assert!(
            since.contains(INVALIDATED),
            "{} caught up without InvalidateKey?",
            cluster.name(cut)
        );
        println!(
            "[figures] standby {} cut off and reconnected: whole again after {:?}",
            cluster.name(cut),
            caught_up.elapsed()
        );
        set_connect_token(&cluster.client(active), &shared.full_token).await;
        every_node_sees(&cluster, true).await;
    }

    /// Reads one item over and over, each read trying the nodes in turn until one answers (a client
    /// with the node list); counts reads that no node could serve.
    struct Reader {
        stop: Arc<AtomicBool>,
        task: tokio::task::JoinHandle<(usize, Vec<Attempt>)>,
    }

    impl Reader {
        fn start(clients: Vec<(usize, VaultClient)>, path: String) -> Self {
            let stop = Arc::new(AtomicBool::new(false));
            let task = tokio::spawn({
                let stop = stop.clone();
                async move {
                    let mut outcome = LoadOutcome::default();
                    let mut unserved = 0;
                    let mut turn = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let mut served = false;
                        for _ in 0..clients.len() {
                            let (node, client) = &clients[turn % clients.len()];
                            turn += 1;
                            if outcome
                                .record(*node, "read", |s| s == 200, client.read(&path))
                                .await
                                .is_some()
                            {
                                served = true;
                                break;
                            }
                        }
                        if !served {
                            unserved += 1;
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    (unserved, outcome.attempts)
                }
            });
            Self { stop, task }
        }

        async fn finish(self) -> (usize, Vec<Attempt>) {
            self.stop.store(true, Ordering::Relaxed);
            self.task.await.unwrap()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rolling_upgrade_of_the_engine_keeps_reads_going() {
        let Some((mut cluster, active)) = healed().await else {
            return;
        };
        let shared = shared().await.expect("the cluster is up");
        let connect = Connect::new(&cluster, &shared.full_token);
        let current = PLUGIN_VERSION.trim_start_matches('v');
        let next = "1.1.1";
        assert_eq!(current.len(), next.len());
        let version = format!("v{next}");
        let command = format!("op-connect-{version}");
        let dir = tempfile::tempdir().unwrap();
        let artifact = dir.path().join(&command);
        plugin::restamp_version(&shared.engine, &artifact, current, next).unwrap();

        let title = format!("rolling-{}", hex::encode(rand::random::<[u8; 6]>()));
        connect.create(&title).await;
        let clients = (0..cluster.len()).map(|i| (i, cluster.client(i))).collect();
        let reader = Reader::start(clients, item_path(&title));

        // 1. The new binary onto every node, one node at a time, standbys first.
        let started = Instant::now();
        let mut order = standbys(&cluster, active);
        order.push(active);
        let mut sha256 = String::new();
        for i in order {
            cluster.stop(i).await.unwrap();
            sha256 = cluster
                .install_plugin(i, &artifact, &command)
                .await
                .unwrap();
            cluster.start(i).await.unwrap();
            cluster
                .wait_healthy(SETTLE * 2)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        // 2. Register the new version, point the mount at it, reload it on every node.
        let active = cluster.active().await.expect("one active node");
        let client = cluster.client(active);
        let registered = client
            .write(
                "sys/plugins/catalog/secret/op-connect",
                &json!({"sha256": sha256, "command": command, "version": version}),
            )
            .await
            .unwrap();
        assert!(registered.is_success(), "{:?}", registered.body);
        let tuned = client
            .write("sys/mounts/op/tune", &json!({"plugin_version": version}))
            .await
            .unwrap();
        assert!(tuned.is_success(), "{:?}", tuned.body);
        let reloaded = client
            .write(
                "sys/plugins/reload/backend",
                &json!({"plugin": "op-connect", "scope": "global"}),
            )
            .await
            .unwrap();
        assert!(reloaded.is_success(), "{:?}", reloaded.body);
        for i in 0..cluster.len() {
            let node = cluster.client(i);
            eventually(
                &format!("{} runs {version}", cluster.name(i)),
                &cluster,
                || {
                    let node = node.clone();
                    let version = version.clone();
                    async move {
                        let mounts = bounded(node.read("sys/mounts")).await?;
                        let running = &mounts.body["op/"]["running_plugin_version"];
                        if running == &json!(version) {
                            Ok(())
                        } else {
                            Err(format!("running {running}"))
                        }
                    }
                },
            )
            .await;
            let read = node.read(&item_path(&title)).await.unwrap();
            assert_eq!(read.status, 200, "{}: {:?}", cluster.name(i), read.body);
        }
        let checks = cluster
            .verify_plugin_binaries()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(checks.iter().any(|c| c.version == version), "{checks:?}");
        let (unserved, attempts) = reader.finish().await;
        let failed = attempts.iter().filter(|a| !a.ok).count();
        println!(
            "[figures] rolling upgrade to {version} over {} nodes in {:?}: {} reads tried, {} failed \
         on a node (retried on the next), {unserved} unserved",
            cluster.len(),
            started.elapsed(),
            attempts.len(),
            failed
        );
        assert_eq!(unserved, 0, "reads no node served during the upgrade");
    }
}
