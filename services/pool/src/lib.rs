//! `techcredit.v1.RiskPoolService`: the pool's double-entry ledger, its position, bank
//! exposures and status, stress tests and the auditor's ledger verification.

mod banks;
mod ledger;
mod position;
mod wire;

use domain::Role;
use domain::ledger::EntryDraft;
use proto::v1::{self as pb, risk_pool_service_server::RiskPoolService};
use rpc::AppState;
use rpc::auth::{principal, require_role};
use tonic::{Request, Response, Status};

pub use ledger::verify_ledger;

/// The service over the shared state.
#[derive(Debug, Clone)]
pub struct Pool {
    state: AppState,
}

impl Pool {
    /// A service over `state`.
    pub fn new(state: AppState) -> Pool {
        Pool { state }
    }
}

pub(crate) const COMMIT: &str = "/techcredit.v1.RiskPoolService/CommitContribution";
pub(crate) const RECEIVE: &str = "/techcredit.v1.RiskPoolService/ReceiveContribution";
pub(crate) const INTEREST: &str = "/techcredit.v1.RiskPoolService/RecordInterest";
pub(crate) const REVERSE: &str = "/techcredit.v1.RiskPoolService/ReverseEntry";
pub(crate) const SET_STATUS: &str = "/techcredit.v1.RiskPoolService/SetBankStatus";
pub(crate) const RATE_BANKS: &str = "/techcredit.v1.RiskPoolService/RateBanks";

/// Roles that read the books.
pub(crate) const BOOK_READERS: &[Role] = &[Role::RiskOfficer, Role::Finance, Role::Auditor, Role::Admin, Role::Batch];

#[tonic::async_trait]
impl RiskPoolService for Pool {
    async fn commit_contribution(
        &self,
        request: Request<pb::CommitContributionRequest>,
    ) -> Result<Response<pb::CommitContributionResponse>, Status> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Finance])?;
        let b = request.into_inner();
        let fields = (
            b.request_id.clone(),
            b.contributor,
            b.bank.clone(),
            b.amount.clone(),
            b.effective_date.clone(),
            b.memo.clone(),
        );
        let entry = self.contribution(caller, COMMIT, fields, EntryDraft::contribution_committed, &b).await?;
        Ok(Response::new(pb::CommitContributionResponse { entry: Some(entry) }))
    }

    async fn receive_contribution(
        &self,
        request: Request<pb::ReceiveContributionRequest>,
    ) -> Result<Response<pb::ReceiveContributionResponse>, Status> {
        let caller = principal(&request)?;
        require_role(&caller, &[Role::Finance])?;
        let b = request.into_inner();
        let fields = (
            b.request_id.clone(),
            b.contributor,
            b.bank.clone(),
            b.amount.clone(),
            b.effective_date.clone(),
            b.memo.clone(),
        );
        let entry = self.contribution(caller, RECEIVE, fields, EntryDraft::contribution_received, &b).await?;
        Ok(Response::new(pb::ReceiveContributionResponse { entry: Some(entry) }))
    }

    async fn record_interest(
        &self,
        request: Request<pb::RecordInterestRequest>,
    ) -> Result<Response<pb::RecordInterestResponse>, Status> {
        Ok(Response::new(Pool::record_interest(self, request).await?))
    }

    async fn reverse_entry(
        &self,
        request: Request<pb::ReverseEntryRequest>,
    ) -> Result<Response<pb::ReverseEntryResponse>, Status> {
        Ok(Response::new(self.reverse(request).await?))
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        Ok(Response::new(Pool::list_accounts(self, request).await?))
    }

    async fn list_journal_entries(
        &self,
        request: Request<pb::ListJournalEntriesRequest>,
    ) -> Result<Response<pb::ListJournalEntriesResponse>, Status> {
        Ok(Response::new(self.list_entries(request).await?))
    }

    async fn get_pool_position(
        &self,
        request: Request<pb::GetPoolPositionRequest>,
    ) -> Result<Response<pb::GetPoolPositionResponse>, Status> {
        Ok(Response::new(self.position(request).await?))
    }

    async fn get_position_history(
        &self,
        request: Request<pb::GetPositionHistoryRequest>,
    ) -> Result<Response<pb::GetPositionHistoryResponse>, Status> {
        Ok(Response::new(self.history(request).await?))
    }

    async fn get_bank_exposure(
        &self,
        request: Request<pb::GetBankExposureRequest>,
    ) -> Result<Response<pb::GetBankExposureResponse>, Status> {
        Ok(Response::new(self.bank_exposure(request).await?))
    }

    async fn list_bank_exposures(
        &self,
        request: Request<pb::ListBankExposuresRequest>,
    ) -> Result<Response<pb::ListBankExposuresResponse>, Status> {
        Ok(Response::new(self.bank_exposures(request).await?))
    }

    async fn rate_banks(
        &self,
        request: Request<pb::RateBanksRequest>,
    ) -> Result<Response<pb::RateBanksResponse>, Status> {
        Ok(Response::new(Pool::rate_banks(self, request).await?))
    }

    async fn set_bank_status(
        &self,
        request: Request<pb::SetBankStatusRequest>,
    ) -> Result<Response<pb::SetBankStatusResponse>, Status> {
        Ok(Response::new(Pool::set_bank_status(self, request).await?))
    }

    async fn run_stress_test(
        &self,
        request: Request<pb::RunStressTestRequest>,
    ) -> Result<Response<pb::RunStressTestResponse>, Status> {
        Ok(Response::new(Pool::run_stress_test(self, request).await?))
    }

    async fn verify_ledger(
        &self,
        request: Request<pb::VerifyLedgerRequest>,
    ) -> Result<Response<pb::VerifyLedgerResponse>, Status> {
        Ok(Response::new(self.verify(request).await?))
    }
}
