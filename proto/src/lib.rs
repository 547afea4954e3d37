//! The techcredit.v1 wire contract: messages, service traits and clients generated from
//! `proto/techcredit/v1/*.proto`. This is the only crate that knows the wire format's
//! generated types; every other crate converts at its edge.

#![allow(clippy::all, missing_docs)]

/// Package `techcredit.v1`.
pub mod v1 {
    tonic::include_proto!("techcredit.v1");
}

/// Encoded `FileDescriptorSet` of the whole contract, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("techcredit_descriptor");

/// Fully qualified names of the services, for health reporting.
pub const SERVICE_NAMES: [&str; 5] = [
    "techcredit.v1.AdminService",
    "techcredit.v1.LoanApplicationService",
    "techcredit.v1.RiskPoolService",
    "techcredit.v1.SettlementService",
    "techcredit.v1.AuditService",
];
