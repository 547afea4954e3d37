//! `techcredit.v1.SettlementService`: claims, compensation, recoveries and monthly
//! settlement statements, and loan-tape reconciliation. Money moves only through the ledger.

mod claims;
mod export;
mod payments;
mod reconcile;
mod statements;
mod wire;

use domain::Role;
use proto::v1::{self as pb, settlement_service_server::SettlementService};
use rpc::auth::principal;
use rpc::{ApiError, AppState, Violations};
use tonic::{Request, Response, Status};

/// The service over the shared state.
#[derive(Debug, Clone)]
pub struct Settlement {
    state: AppState,
}

impl Settlement {
    /// A service over `state`.
    pub fn new(state: AppState) -> Settlement {
        Settlement { state }
    }
}

pub(crate) const FILE: &str = "/techcredit.v1.SettlementService/FileClaim";
pub(crate) const APPROVE: &str = "/techcredit.v1.SettlementService/ApproveClaim";
pub(crate) const REJECT: &str = "/techcredit.v1.SettlementService/RejectClaim";
pub(crate) const RECOVER: &str = "/techcredit.v1.SettlementService/ReportRecovery";
pub(crate) const CLOSE: &str = "/techcredit.v1.SettlementService/CloseLoan";
pub(crate) const RUN: &str = "/techcredit.v1.SettlementService/RunSettlement";
pub(crate) const CONFIRM: &str = "/techcredit.v1.SettlementService/ConfirmStatement";
pub(crate) const PAY: &str = "/techcredit.v1.SettlementService/RecordStatementPayment";

pub(crate) const READERS: &[Role] =
    &[Role::Bank, Role::RiskOfficer, Role::Finance, Role::Auditor, Role::Batch, Role::Admin];

#[tonic::async_trait]
impl SettlementService for Settlement {
    async fn file_claim(
        &self,
        request: Request<pb::FileClaimRequest>,
    ) -> Result<Response<pb::FileClaimResponse>, Status> {
        Ok(Response::new(Settlement::file_claim(self, request).await?))
    }

    async fn get_claim(&self, request: Request<pb::GetClaimRequest>) -> Result<Response<pb::GetClaimResponse>, Status> {
        Ok(Response::new(Settlement::get_claim(self, request).await?))
    }

    async fn list_claims(
        &self,
        request: Request<pb::ListClaimsRequest>,
    ) -> Result<Response<pb::ListClaimsResponse>, Status> {
        Ok(Response::new(Settlement::list_claims(self, request).await?))
    }

    async fn approve_claim(
        &self,
        request: Request<pb::ApproveClaimRequest>,
    ) -> Result<Response<pb::ApproveClaimResponse>, Status> {
        Ok(Response::new(self.approve(request).await?))
    }

    async fn reject_claim(
        &self,
        request: Request<pb::RejectClaimRequest>,
    ) -> Result<Response<pb::RejectClaimResponse>, Status> {
        Ok(Response::new(self.reject(request).await?))
    }

    async fn report_recovery(
        &self,
        request: Request<pb::ReportRecoveryRequest>,
    ) -> Result<Response<pb::ReportRecoveryResponse>, Status> {
        Ok(Response::new(Settlement::report_recovery(self, request).await?))
    }

    async fn close_loan(
        &self,
        request: Request<pb::CloseLoanRequest>,
    ) -> Result<Response<pb::CloseLoanResponse>, Status> {
        Ok(Response::new(self.close(request).await?))
    }

    async fn run_settlement(
        &self,
        request: Request<pb::RunSettlementRequest>,
    ) -> Result<Response<pb::RunSettlementResponse>, Status> {
        Ok(Response::new(Settlement::run_settlement(self, request).await?))
    }

    async fn confirm_statement(
        &self,
        request: Request<pb::ConfirmStatementRequest>,
    ) -> Result<Response<pb::ConfirmStatementResponse>, Status> {
        Ok(Response::new(self.confirm(request).await?))
    }

    async fn record_statement_payment(
        &self,
        request: Request<pb::RecordStatementPaymentRequest>,
    ) -> Result<Response<pb::RecordStatementPaymentResponse>, Status> {
        Ok(Response::new(self.record_payment(request).await?))
    }

    async fn get_statement(
        &self,
        request: Request<pb::GetStatementRequest>,
    ) -> Result<Response<pb::GetStatementResponse>, Status> {
        Ok(Response::new(self.read_statement(request).await?))
    }

    async fn list_statements(
        &self,
        request: Request<pb::ListStatementsRequest>,
    ) -> Result<Response<pb::ListStatementsResponse>, Status> {
        Ok(Response::new(Settlement::list_statements(self, request).await?))
    }

    async fn export_statement(
        &self,
        request: Request<pb::ExportStatementRequest>,
    ) -> Result<Response<pb::ExportStatementResponse>, Status> {
        let caller = principal(&request)?;
        let mut v = Violations::new();
        let format: Option<pb::ExportFormat> = v.enumeration("format", request.get_ref().format);
        let Some(format) = format else {
            return Err(v.into_error().into());
        };
        let record = Settlement::get_statement(self, &caller, &request.get_ref().name).await?;
        let bank = self
            .state
            .store
            .reading(async |db| store::banks::get(db, &record.statement.bank).await)
            .await
            .map_err(ApiError::from)?;
        let bank_name = bank.map(|b| b.display_name).unwrap_or_else(|| record.statement.bank.to_string());
        Ok(Response::new(export::export(&record, &bank_name, format)))
    }

    async fn reconcile_loan_tape(
        &self,
        request: Request<tonic::Streaming<pb::ReconcileLoanTapeRequest>>,
    ) -> Result<Response<pb::ReconcileLoanTapeResponse>, Status> {
        let caller = principal(&request)?;
        Ok(Response::new(reconcile::reconcile(&self.state, &caller, request.into_inner()).await?))
    }

    async fn get_reconciliation_report(
        &self,
        request: Request<pb::GetReconciliationReportRequest>,
    ) -> Result<Response<pb::GetReconciliationReportResponse>, Status> {
        let caller = principal(&request)?;
        Ok(Response::new(reconcile::get(&self.state, &caller, &request.get_ref().name).await?))
    }

    async fn list_reconciliation_reports(
        &self,
        request: Request<pb::ListReconciliationReportsRequest>,
    ) -> Result<Response<pb::ListReconciliationReportsResponse>, Status> {
        let caller = principal(&request)?;
        Ok(Response::new(reconcile::list(&self.state, &caller, request.get_ref()).await?))
    }

    async fn list_discrepancies(
        &self,
        request: Request<pb::ListDiscrepanciesRequest>,
    ) -> Result<Response<pb::ListDiscrepanciesResponse>, Status> {
        let caller = principal(&request)?;
        Ok(Response::new(reconcile::discrepancies(&self.state, &caller, request.get_ref()).await?))
    }
}
