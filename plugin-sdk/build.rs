//! Compiles the SDK's own `.proto` files with protox (pure Rust, no system `protoc`).

use std::error::Error;

const PROTOS: &[&str] = &[
    "proto/pb/backend.proto",
    "proto/logical/identity.proto",
    "proto/logical/plugin.proto",
    "proto/logical/version.proto",
    "proto/pluginutil/multiplexing.proto",
    "proto/plugin/grpc_broker.proto",
    "proto/plugin/grpc_controller.proto",
    "proto/plugin/grpc_stdio.proto",
];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
