//! Criterion benchmarks over the request-forwarding path; the benches live in `benches/benches/`.
