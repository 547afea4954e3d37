//! The protobuf-to-domain conversions: any bytes, decoded as the requests that carry the
//! richest input (an application, an enrolment, a claim approval, a contribution), and run
//! through the same field readers the handlers use. Every outcome is a value or a list of
//! named bad fields — never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use proto::v1 as pb;
use rpc::Violations;

fuzz_target!(|data: &[u8]| {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
    if let Ok(request) = pb::SubmitApplicationRequest::decode(data) {
        let mut v = Violations::new();
        v.request_id(&request.request_id);
        v.bank_name("bank", &request.bank);
        let submission = loans::wire::submission(&mut v, request.enterprise.as_ref(), request.terms.as_ref(), today);
        // Either a submission, or the reasons it is not one.
        assert!(submission.is_some() || !v.is_empty());
        let _ = v.finish();
    }
    if let Ok(request) = pb::EnrollLoanRequest::decode(data) {
        let mut v = Violations::new();
        v.request_id(&request.request_id);
        v.numeric_name("application", &request.application, "applications");
        v.text("bank_loan_number", &request.bank_loan_number, 64);
        v.money_positive("disbursed_amount", &request.disbursed_amount);
        v.date("disbursement_date", &request.disbursement_date);
        v.check("annual_rate", rpc::convert::parse_fraction(&request.annual_rate));
        v.date("maturity_date", &request.maturity_date);
        let _ = v.finish();
    }
    if let Ok(request) = pb::ApproveClaimRequest::decode(data) {
        let mut v = Violations::new();
        v.numeric_name("name", &request.name, "claims");
        v.optional_date("approval_date", &request.approval_date);
        v.text("comment", &request.comment, 1000);
        let _ = v.finish();
    }
    if let Ok(request) = pb::CommitContributionRequest::decode(data) {
        let mut v = Violations::new();
        v.money_positive("amount", &request.amount);
        v.optional_bank_name("bank", &request.bank);
        v.past_date("effective_date", &request.effective_date);
        let _ = v.finish();
    }
    if let Ok(request) = pb::ListLoansRequest::decode(data) {
        let mut v = Violations::new();
        rpc::convert::Page::parse(&mut v, request.page_size, &request.page_token);
        let _ = v.finish();
    }
});
