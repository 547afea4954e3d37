//! `techcredit.v1.SettlementService`: claims, recoveries, settlement statements and reconciliation.
//!
//! RPCs whose issue has not landed answer UNIMPLEMENTED (the generated default stubs).

use proto::v1::settlement_service_server::SettlementService;
use rpc::AppState;

/// The service over the shared state.
#[derive(Debug, Clone)]
pub struct Settlement {
    #[allow(dead_code)]
    state: AppState,
}

impl Settlement {
    /// A service over `state`.
    pub fn new(state: AppState) -> Settlement {
        Settlement { state }
    }
}

#[tonic::async_trait]
impl SettlementService for Settlement {}
