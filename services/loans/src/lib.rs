//! `techcredit.v1.LoanApplicationService`: loan applications, underwriting decisions, enrolment and loan status.
//!
//! RPCs whose issue has not landed answer UNIMPLEMENTED (the generated default stubs).

use proto::v1::loan_application_service_server::LoanApplicationService;
use rpc::AppState;

/// The service over the shared state.
#[derive(Debug, Clone)]
pub struct Loans {
    #[allow(dead_code)]
    state: AppState,
}

impl Loans {
    /// A service over `state`.
    pub fn new(state: AppState) -> Loans {
        Loans { state }
    }
}

#[tonic::async_trait]
impl LoanApplicationService for Loans {}
