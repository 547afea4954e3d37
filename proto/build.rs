//! Compiles `techcredit/v1/*.proto` with the pure-Rust `protox`, so a build needs no
//! system `protoc`, and writes the file descriptor set that reflection serves.

use std::{env, fs, path::PathBuf};

use prost::Message;

const PROTOS: &[&str] = &[
    "techcredit/v1/common.proto",
    "techcredit/v1/admin.proto",
    "techcredit/v1/loan_application.proto",
    "techcredit/v1/risk_pool.proto",
    "techcredit/v1/settlement.proto",
    "techcredit/v1/audit.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(PROTOS, ["."])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out_dir.join("techcredit_descriptor.bin"), descriptors.encode_to_vec())?;
    tonic_prost_build::configure().generate_default_stubs(false).compile_fds(descriptors)?;
    Ok(())
}
