//! `techcredit.v1.RiskPoolService`: the pool's double-entry ledger and coverage figures.
//!
//! RPCs whose issue has not landed answer UNIMPLEMENTED (the generated default stubs).

use proto::v1::risk_pool_service_server::RiskPoolService;
use rpc::AppState;

/// The service over the shared state.
#[derive(Debug, Clone)]
pub struct Pool {
    #[allow(dead_code)]
    state: AppState,
}

impl Pool {
    /// A service over `state`.
    pub fn new(state: AppState) -> Pool {
        Pool { state }
    }
}

#[tonic::async_trait]
impl RiskPoolService for Pool {}
