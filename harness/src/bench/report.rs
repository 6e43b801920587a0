//! The Markdown report and its charts.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::svg::{stacked_bars, thousands};
use super::{PluginFacts, Results, Row};

fn micros(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v:.0}"))
}

fn ms(duration: std::time::Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1e3)
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".to_owned(),
    }
}

impl Results {
    fn row(&self, label: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.label == label)
    }

    fn rps(&self, label: &str) -> Option<f64> {
        self.row(label).map(|r| r.load.rps())
    }

    fn plugin_cpu(&self, label: &str) -> Option<f64> {
        self.row(label).and_then(|r| r.cpu[1])
    }

    /// The headline: throughput and plugin-CPU ratios that hold across machines.
    fn headline(&self) -> Vec<String> {
        let mut lines = vec![
            format!(
                "- Null plugin ÷ builtin kv-v2 (the ceiling of any external plugin on this server): **{}**",
                ratio(self.rps("null plugin: read"), self.rps("kv-v2 read"))
            ),
            format!(
                "- op item read by id ÷ null plugin read: **{}**; ÷ kv-v2: **{}**",
                ratio(self.rps("op: item by id"), self.rps("null plugin: read")),
                ratio(self.rps("op: item by id"), self.rps("kv-v2 read"))
            ),
            format!(
                "- op item read by id ÷ op `config` read (same plugin, same run): **{}**",
                ratio(self.rps("op: item by id"), self.rps("op: config read"))
            ),
            format!(
                "- op item read by id ÷ null plugin read re-routed by `resolve-path` (the ceiling \
                 for a request whose path is canonicalised, as an id is to a name): **{}**; \
                 re-routed ÷ plain null plugin read: **{}**",
                ratio(self.rps("op: item by id"), self.rps(super::NULL_REROUTED)),
                ratio(
                    self.rps(super::NULL_REROUTED),
                    self.rps("null plugin: read")
                )
            ),
            format!(
                "- Plugin CPU per request: item by id **{} µs**, config read **{} µs**, null plugin read **{} µs**",
                micros(self.plugin_cpu("op: item by id")),
                micros(self.plugin_cpu("op: config read")),
                micros(self.plugin_cpu("null plugin: read")),
            ),
        ];
        for name in &self.others {
            let by_id = format!("{name}: item by id");
            lines.push(format!(
                "- {name} ÷ op, item by id: throughput **{}**, plugin CPU per request **{}**",
                ratio(self.rps(&by_id), self.rps("op: item by id")),
                ratio(self.plugin_cpu(&by_id), self.plugin_cpu("op: item by id")),
            ));
        }
        lines
    }

    /// Writes `<stem>.md`, `<stem>-throughput.svg` and `<stem>-cpu.svg` into `dir`; returns the
    /// Markdown file's path.
    pub fn write(&self, dir: &Path, stem: &str) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let throughput = format!("{stem}-throughput.svg");
        let cpu = format!("{stem}-cpu.svg");
        std::fs::write(
            dir.join(&throughput),
            stacked_bars(
                &format!(
                    "Requests per second through OpenBao ({} in flight)",
                    self.concurrency
                ),
                "req/s",
                &[],
                &self
                    .rows
                    .iter()
                    .map(|r| (r.label.clone(), vec![r.load.rps()]))
                    .collect::<Vec<_>>(),
            ),
        )?;
        std::fs::write(
            dir.join(&cpu),
            stacked_bars(
                "CPU per request (µs): server, plugin, Connect mock",
                "µs",
                &["server", "plugin", "mock"],
                &self
                    .rows
                    .iter()
                    .map(|r| {
                        (
                            r.label.clone(),
                            r.cpu.iter().map(|c| c.unwrap_or(0.0)).collect(),
                        )
                    })
                    .collect::<Vec<_>>(),
            ),
        )?;
        let path = dir.join(format!("{stem}.md"));
        std::fs::write(&path, self.markdown(&throughput, &cpu))?;
        Ok(path)
    }

    fn markdown(&self, throughput_svg: &str, cpu_svg: &str) -> String {
        let mut md = String::new();
        let m = &self.machine_before;
        let _ = writeln!(md, "# op-connect benchmark report — {}\n", self.date);
        let _ = writeln!(
            md,
            "Produced by `harness bench --concurrency {} --duration {}s` (release builds, loopback only).\n",
            self.concurrency,
            self.duration.as_secs()
        );
        let _ = writeln!(
            md,
            "Machine: {} logical CPUs ({}), Linux {}; load average (1/5/15 min) {} at the start, {} at the end. \
             OpenBao {} `-dev` (in-memory storage), release `mock-connect` as 1Password Connect (a child \
             process), every target driven by {} keep-alive HTTP clients for {} s after a {} s warm-up. \
             CPU per request = (utime + stime from `/proc/<pid>/stat` after − before) ÷ requests; \
             the machine is shared, so throughput moves from run to run and CPU per request much less. \
             Ratios are the headline.\n",
            m.cores,
            m.cpu,
            m.kernel,
            m.load,
            self.machine_after.load,
            self.server_version,
            self.concurrency,
            self.duration.as_secs(),
            self.warmup.as_secs_f64(),
        );
        md.push_str("## Headline\n\n");
        for line in self.headline() {
            let _ = writeln!(md, "{line}");
        }
        md.push_str("\n## Every target\n\n");
        md.push_str("| target | req/s | × kv-v2 | p50 ms | p99 ms | server µs/req | plugin µs/req | mock µs/req | Connect req/op | failed |\n");
        md.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        let kv = self.rps("kv-v2 read");
        for r in &self.rows {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.label,
                thousands(r.load.rps()),
                ratio(Some(r.load.rps()), kv),
                ms(r.load.quantile(0.5)),
                ms(r.load.quantile(0.99)),
                micros(r.cpu[0]),
                micros(r.cpu[1]),
                micros(r.cpu[2]),
                r.connect_per_op
                    .map_or_else(|| "—".to_owned(), |v| format!("{v:.2}")),
                r.load.failed,
            );
        }
        let _ = writeln!(
            md,
            "\n![requests per second]({throughput_svg})\n\n![CPU per request]({cpu_svg})\n"
        );
        md.push_str("## Plugins\n\n");
        md.push_str("| plugin | binary size | start-up (spawn → handshake, median) | RSS after its reads | RSS after its writes | peak RSS |\n");
        md.push_str("|---|---:|---:|---:|---:|---:|\n");
        for p in &self.plugins {
            let _ = writeln!(md, "{}", plugin_row(p));
        }
        let failures: Vec<_> = self
            .rows
            .iter()
            .filter_map(|r| r.load.first_failure.as_ref().map(|f| (&r.label, f)))
            .collect();
        if !failures.is_empty() {
            md.push_str("\n## First failure of each target that had one\n\n");
            for (label, failure) in failures {
                let _ = writeln!(md, "- {label}: `{}`", failure.replace('`', "'"));
            }
        }
        md.push_str(
            "\n## How to read it\n\n\
             - Every external-plugin request costs the server two gRPC round trips (OpenBao 2.7 asks \
             `resolve-path` first), so the null plugin's throughput is the ceiling for any plugin; \
             the plugin µs/req column is the part a plugin controls.\n\
             - A read by id is canonicalised to the vault's and item's names, and the server then \
             routes the request again to that path; the null plugin's `alias/` read is re-routed \
             the same way, so its row is the ceiling for reads by id.\n\
             - Writes (create, update, patch, delete) go to the mock, whose items live in memory. \
             Update and patch rewrite one item (its title kept) and run before create; create gives \
             each item its own title (`bench item 17`), as real vaults hold; delete removes the items \
             the create run made and stops early when none are left. After delete, every item the \
             create run left is removed (unmeasured, concurrently), so each mount (`op`, `dist`, the \
             others) starts from the same vault state.\n\
             - `item_cache_ttl` is set on a second mount of the same engine (`op-cached/`), so its \
             reads of the same item mostly never reach Connect.\n",
        );
        md
    }
}

fn plugin_row(p: &PluginFacts) -> String {
    format!(
        "| {} | {:.1} MB | {} | {:.1} MB | {:.1} MB | {:.1} MB |",
        p.name,
        p.size_bytes as f64 / 1e6,
        p.startup
            .map_or_else(|| "—".to_owned(), |d| format!("{} ms", ms(d))),
        p.rss_reads_kib as f64 / 1024.0,
        p.rss_kib as f64 / 1024.0,
        p.peak_kib as f64 / 1024.0,
    )
}
