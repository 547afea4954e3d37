//! 待审 (referrals and claims, with four eyes) and 压力测试.

#[allow(clippy::wildcard_imports)]
use super::*;

// --- 待审 -------------------------------------------------------------------------------

#[derive(Deserialize)]
pub(crate) struct Notice {
    done: Option<String>,
}

pub(crate) async fn queues(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Query(notice): Query<Notice>,
) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    queues_page(&mut v, notice.done.is_some(), None).await
}

pub(super) async fn queues_page(v: &mut Visit, done: bool, error: Option<String>) -> Response {
    let lang = v.lang;
    let referred = pb::ListApplicationsRequest {
        page_size: 200,
        status: pb::ApplicationStatus::Referred as i32,
        ..Default::default()
    };
    let applications = match v.api.loans.list_applications(referred).await {
        Ok(answer) => answer.into_inner().applications,
        Err(status) => return refused(v, &status),
    };
    let mut claims = Vec::new();
    for status in [pb::ClaimStatus::Filed, pb::ClaimStatus::PartiallyApproved] {
        let request = pb::ListClaimsRequest { page_size: 200, status: status as i32, ..Default::default() };
        match v.api.settlement.list_claims(request).await {
            Ok(answer) => claims.extend(answer.into_inner().claims),
            Err(status) => return refused(v, &status),
        }
    }
    let csrf = v.session.csrf.clone();
    let body = html! {
        @if done { div.notice { (lang.t("done")) } }
        @if let Some(error) = &error { div.error #action-error { (error) } }
        h2 { (lang.t("referrals")) }
        table #referrals {
            thead { tr { th { "#" } th { (lang.t("bank")) } th { (lang.t("enterprise")) } th.num { (lang.t("amount")) } th { (lang.t("grade")) } th {} } }
            tbody {
                @for a in &applications {
                    @let id = a.application_id.clone();
                    tr data-application=(a.name) {
                        td { (a.name) } td { (a.bank) }
                        td { (a.enterprise.as_ref().map(|e| e.name.clone()).unwrap_or_default()) }
                        td.num { (yuan(&a.terms.as_ref().map(|t| t.amount.clone()).unwrap_or_default())) }
                        td { (label(a.decision.as_ref().map(|d| d.grade()).unwrap_or_default().as_str_name(), "GRADE_")) }
                        td {
                            form.inline method="post" action={ "/queues/applications/" (id) } {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="text" name="reason" placeholder=(lang.t("reason")) required;
                                button.primary type="submit" name="verdict" value="approve" { (lang.t("approve")) }
                                button.danger type="submit" name="verdict" value="reject" { (lang.t("reject")) }
                            }
                        }
                    }
                }
                @if applications.is_empty() { tr { td colspan="6" { (lang.t("none")) } } }
            }
        }
        h2 { (lang.t("claim_queue")) }
        table #claims {
            thead { tr { th { "#" } th { (lang.t("bank")) } th.num { (lang.t("amount")) } th { (lang.t("approvals")) } th {} } }
            tbody {
                @for c in &claims {
                    tr data-claim=(c.name) {
                        td { (c.name) } td { (c.bank) } td.num { (yuan(&c.requested_compensation)) }
                        td {
                            (c.approvals.len()) "/" (c.approvals_required)
                            @if c.approvals.len() == 1 && c.approvals_required == 2 { br; span.muted.second-needed { (lang.t("second_needed")) } }
                            @if c.early_default { br; span.muted.early-default { (lang.t("early_default")) } }
                            @for a in &c.approvals {
                                @if !a.granted_amount.is_empty() { br; span.muted { (a.approver) ": " (yuan(&a.granted_amount)) } }
                            }
                        }
                        td {
                            form.inline method="post" action={ "/queues/claims/" (c.claim_id) } {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="text" name="reason" placeholder=(lang.t("reason")) required;
                                input type="text" name="amount" inputmode="decimal" placeholder=(lang.t("approved_amount"));
                                select name="code" title=(lang.t("code")) {
                                    option value="" { (lang.t("code_none")) }
                                    @for code in CLAIM_CODES { option value=(code) { (lang.status(code)) } }
                                }
                                button.primary type="submit" name="verdict" value="approve" { (lang.t("approve")) }
                                button.danger type="submit" name="verdict" value="reject" { (lang.t("reject")) }
                            }
                        }
                    }
                }
                @if claims.is_empty() { tr { td colspan="5" { (lang.t("none")) } } }
            }
        }
    };
    page(lang, Some(&v.session), lang.t("queues"), body).into_response()
}

#[derive(Deserialize)]
pub(crate) struct Decision {
    csrf: String,
    verdict: String,
    reason: String,
}

/// The codes the claim form offers: reduction reasons (approve) and rejection reasons
/// (reject), by name.
const CLAIM_CODES: [&str; 6] = [
    "DOCUMENTATION_DEFICIENT",
    "LATE_REPORTING",
    "COLLATERAL_NOT_PERFECTED",
    "NOT_ELIGIBLE",
    "MISREPRESENTATION",
    "OTHER",
];

#[derive(Deserialize)]
pub(crate) struct ClaimDecision {
    csrf: String,
    verdict: String,
    reason: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    code: String,
}

pub(super) fn request_id() -> String {
    format!("dashboard-{}", &session::token()[..24])
}

/// Checks the form's CSRF token against the session's.
pub(super) fn csrf_ok(v: &Visit, token: &str) -> bool {
    !token.is_empty() && token == v.session.csrf
}

pub(crate) async fn review(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<Decision>,
) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    if !csrf_ok(&v, &form.csrf) {
        return (StatusCode::FORBIDDEN, "CSRF token missing or wrong").into_response();
    }
    let verdict = if form.verdict == "approve" { pb::ReviewVerdict::Approve } else { pb::ReviewVerdict::Reject };
    let request = pb::ReviewApplicationRequest {
        request_id: request_id(),
        name: format!("applications/{id}"),
        verdict: verdict as i32,
        reason: form.reason,
    };
    match v.api.loans.review_application(request).await {
        Ok(_) => redirect("/queues?done=1"),
        Err(status) => {
            let error = refusal_text(v.lang, &status);
            queues_page(&mut v, false, Some(error)).await
        }
    }
}

/// A refusal in the page's language, then the service's words.
pub(super) fn refusal_text(lang: Lang, status: &tonic::Status) -> String {
    let reason = status.get_details_error_info().map(|i| i.reason).unwrap_or_default();
    match lang.reason(&reason) {
        Some(words) => format!("{words} ({})", status.message()),
        None => status.message().to_owned(),
    }
}

pub(crate) async fn decide_claim(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<ClaimDecision>,
) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    if !csrf_ok(&v, &form.csrf) {
        return (StatusCode::FORBIDDEN, "CSRF token missing or wrong").into_response();
    }
    let name = format!("claims/{id}");
    let code = form.code.trim();
    let reduction = pb::ReductionReason::from_str_name(&format!("REDUCTION_REASON_{code}"));
    let rejection = pb::RejectionReason::from_str_name(&format!("REJECTION_REASON_{code}"));
    let misplaced = match (form.verdict == "approve", code.is_empty()) {
        (_, true) => None,
        (true, false) if reduction.is_none() => Some("code_for_reject_only"),
        (false, false) if rejection.is_none() => Some("code_for_approve_only"),
        _ => None,
    };
    if let Some(words) = misplaced {
        let error = v.lang.t(words).to_owned();
        return queues_page(&mut v, false, Some(error)).await;
    }
    let outcome = if form.verdict == "approve" {
        let today = v
            .api
            .admin
            .get_server_info(pb::GetServerInfoRequest {})
            .await
            .map(|r| r.into_inner().business_date)
            .unwrap_or_default();
        let request = pb::ApproveClaimRequest {
            request_id: request_id(),
            name,
            approval_date: today,
            approved_amount: form.amount.trim().replace(',', ""),
            reduction_reason: reduction.map_or(0, |r| r as i32),
            reduction_note: if reduction.is_some() { form.reason.clone() } else { String::new() },
            comment: form.reason,
        };
        v.api.settlement.approve_claim(request).await.map(|_| ())
    } else {
        let request = pb::RejectClaimRequest {
            request_id: request_id(),
            name,
            reason: form.reason,
            code: rejection.map_or(0, |r| r as i32),
        };
        v.api.settlement.reject_claim(request).await.map(|_| ())
    };
    match outcome {
        Ok(()) => redirect("/queues?done=1"),
        Err(status) => {
            let error = refusal_text(v.lang, &status);
            queues_page(&mut v, false, Some(error)).await
        }
    }
}

// --- 压力测试 ---------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub(crate) struct StressForm {
    default_rate: String,
    loss_rate: String,
    #[serde(flatten)]
    grades: HashMap<String, String>,
}

pub(super) const GRADES: [&str; 8] = ["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "D"];

pub(super) fn stress_body(
    lang: Lang,
    csrf: &str,
    form: &StressForm,
    result: Option<&pb::RunStressTestResponse>,
) -> Markup {
    html! {
        form method="post" action="/stress" {
            input type="hidden" name="csrf" value=(csrf);
            p { label { (lang.t("default_rate")) " " input type="text" name="default_rate" value=(form.default_rate) placeholder="0.05"; } " "
                label { (lang.t("loss_rate")) " " input type="text" name="loss_rate" value=(form.loss_rate) placeholder="0.6"; } }
            p.muted { (lang.t("per_grade")) }
            p { @for g in GRADES { label { (g) " " input type="text" name={ "grade_" (g) } size="5" value=(form.grades.get(&format!("grade_{g}")).cloned().unwrap_or_default()); } " " } }
            button.primary type="submit" { (lang.t("run")) }
        }
        @if let Some(r) = result {
            div.cards #stress-result {
                (card(lang.t("expected_loss"), yuan(&r.expected_loss), None, None))
                (card(lang.t("net_pool_assets"), yuan(&r.net_pool_assets_before), None, None))
                (card(lang.t("net_after"), yuan(&r.net_pool_assets_after), None, None))
                (card(lang.t("survives"), if r.survives { lang.t("yes").to_owned() } else { lang.t("no").to_owned() }, None, None))
            }
        }
    }
}

pub(crate) async fn stress_form(State(dashboard): State<Dashboard>, headers: HeaderMap) -> Response {
    let v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    let form = StressForm { default_rate: "0.05".into(), loss_rate: "0.6".into(), ..Default::default() };
    page(v.lang, Some(&v.session), v.lang.t("stress"), stress_body(v.lang, &v.session.csrf, &form, None))
        .into_response()
}

pub(crate) async fn stress(
    State(dashboard): State<Dashboard>,
    headers: HeaderMap,
    Form(mut form): Form<StressForm>,
) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    if form.grades.remove("csrf").is_none_or(|token| !csrf_ok(&v, &token)) {
        return (StatusCode::FORBIDDEN, "CSRF token missing or wrong").into_response();
    }
    let per_grade = GRADES
        .iter()
        .enumerate()
        .filter_map(|(index, g)| {
            let rate = form.grades.get(&format!("grade_{g}")).filter(|r| !r.trim().is_empty())?;
            Some(pb::GradeDefaultRate { grade: index as i32 + 1, default_rate: rate.trim().to_owned() })
        })
        .collect();
    let request = pb::RunStressTestRequest {
        default_rate: form.default_rate.clone(),
        per_grade,
        loss_rate: form.loss_rate.clone(),
    };
    match v.api.pool.run_stress_test(request).await {
        Ok(answer) => {
            let result = answer.into_inner();
            page(
                v.lang,
                Some(&v.session),
                v.lang.t("stress"),
                stress_body(v.lang, &v.session.csrf, &form, Some(&result)),
            )
            .into_response()
        }
        Err(status) => refused(&v, &status),
    }
}
