//! 合作银行: every bank, and one bank with its loans and claims.

#[allow(clippy::wildcard_imports)]
use super::*;

// --- 合作银行 ---------------------------------------------------------------------------

pub(crate) async fn banks(State(dashboard): State<Dashboard>, headers: HeaderMap) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    if !v.session.bank.is_empty() {
        let bank = v.session.bank.clone();
        return bank_page(&mut v, &bank).await;
    }
    let lang = v.lang;
    let exposures = match v
        .api
        .pool
        .list_bank_exposures(pb::ListBankExposuresRequest { page_size: 1000, page_token: String::new() })
        .await
    {
        Ok(answer) => answer.into_inner().exposures,
        Err(status) => return refused(&v, &status),
    };
    let names = display_names(&mut v).await;
    let body = html! {
        table #banks {
            thead { tr {
                th { (lang.t("bank")) } th { (lang.t("status")) } th.num { (lang.t("quota")) } th.num { (lang.t("used")) }
                th.num { (lang.t("npl_ratio")) } th.num { (lang.t("comp_this_year")) } th.num { (lang.t("annual_cap")) }
                th { (lang.t("bank_grade")) }
            } }
            tbody {
                @for e in &exposures {
                    @let status = label(e.status().as_str_name(), "BANK_STATUS_");
                    tr {
                        td { a href={ "/" (e.bank) } { (names.get(&e.bank).cloned().unwrap_or_else(|| e.bank.clone())) } }
                        td { span class={ "flag " (status) } { (lang.status(&status)) } }
                        td.num { (yuan(&e.quota)) } td.num { (yuan(&e.quota_used)) } td.num { (percent(&e.npl_ratio)) }
                        td.num { (yuan(&e.compensation_this_year)) } td.num { (yuan(&e.annual_cap)) }
                        td.bank-grade { (bank_grade(e)) }
                    }
                }
            }
        }
    };
    page(lang, Some(&v.session), lang.t("banks"), body).into_response()
}

/// The bank's grade letter ("" before it has one).
fn bank_grade(e: &pb::BankExposure) -> String {
    e.rating.as_ref().map(|r| label(r.grade().as_str_name(), "BANK_GRADE_")).unwrap_or_default()
}

pub(super) async fn display_names(v: &mut Visit) -> HashMap<String, String> {
    v.api
        .admin
        .list_banks(pb::ListBanksRequest { page_size: 1000, page_token: String::new() })
        .await
        .map(|r| r.into_inner().banks.into_iter().map(|b| (b.name, b.display_name)).collect())
        .unwrap_or_default()
}

pub(crate) async fn bank(State(dashboard): State<Dashboard>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut v = match visit(&dashboard, &headers) {
        Ok(v) => v,
        Err(to_login) => return to_login,
    };
    bank_page(&mut v, &format!("banks/{id}")).await
}

pub(super) async fn bank_page(v: &mut Visit, bank: &str) -> Response {
    let lang = v.lang;
    let exposure = match v.api.pool.get_bank_exposure(pb::GetBankExposureRequest { bank: bank.to_owned() }).await {
        Ok(answer) => answer.into_inner().exposure.unwrap_or_default(),
        Err(status) => return refused(v, &status),
    };
    let name = v
        .api
        .admin
        .get_bank(pb::GetBankRequest { name: bank.to_owned() })
        .await
        .ok()
        .and_then(|b| b.into_inner().bank)
        .map(|b| b.display_name)
        .unwrap_or_else(|| bank.to_owned());
    let loans = v
        .api
        .loans
        .list_loans(pb::ListLoansRequest { page_size: 200, bank: bank.to_owned(), ..Default::default() })
        .await
        .map(|r| r.into_inner().loans)
        .unwrap_or_default();
    let claims = v
        .api
        .settlement
        .list_claims(pb::ListClaimsRequest { page_size: 200, bank: bank.to_owned(), ..Default::default() })
        .await
        .map(|r| r.into_inner().claims)
        .unwrap_or_default();
    let status = label(exposure.status().as_str_name(), "BANK_STATUS_");
    let body = html! {
        h2 #bank-name { (name) " " span class={ "flag " (status) } { (lang.status(&status)) } }
        div.cards {
            (card(lang.t("quota"), yuan(&exposure.quota), None, None))
            (card(lang.t("used"), yuan(&exposure.quota_used), None, Some((exposure.quota_used.parse::<f64>().unwrap_or(0.0) / exposure.quota.parse::<f64>().unwrap_or(1.0).max(1.0), false))))
            (card(lang.t("npl_ratio"), percent(&exposure.npl_ratio), None, None))
            (card(lang.t("comp_this_year"), yuan(&exposure.compensation_this_year), Some(format!("{} {}", lang.t("annual_cap"), yuan(&exposure.annual_cap))), None))
            @if let Some(r) = &exposure.rating {
                (card(lang.t("bank_grade"), bank_grade(&exposure), Some(format!("{} {} · {} {}{}", lang.t("payout_ratio"), percent(&r.payout_ratio), lang.t("early_defaults"), r.early_defaults, if r.reason.is_empty() { String::new() } else { format!(" · {}", r.reason) })), None))
            }
        }
        h2 { (lang.t("loans")) }
        table #loans {
            thead { tr { th { "#" } th { (lang.t("enterprise")) } th { (lang.t("status")) } th { (lang.t("grade")) } th.num { (lang.t("outstanding")) } } }
            tbody { @for l in &loans { tr {
                td { (l.bank_loan_number) } td { (l.enterprise_name) } td { (lang.status(&label(l.status().as_str_name(), "LOAN_STATUS_"))) }
                td { (label(l.grade().as_str_name(), "GRADE_")) } td.num { (yuan(&l.outstanding_principal)) }
            } } }
        }
        h2 { (lang.t("claims")) }
        (claims_table(lang, &claims))
    };
    page(lang, Some(&v.session), lang.t("banks"), body).into_response()
}

pub(super) fn claims_table(lang: Lang, claims: &[pb::Claim]) -> Markup {
    html! {
        table.claims {
            thead { tr {
                th { "#" } th { (lang.t("bank")) } th { (lang.t("status")) } th.num { (lang.t("entitled")) }
                th.num { (lang.t("granted")) } th.num { (lang.t("amount")) } th { (lang.t("bound_by")) } th { (lang.t("approvals")) }
            } }
            tbody { @for c in claims { tr data-claim-row=(c.name) {
                td { (c.name) @if c.early_default { br; span.muted { (lang.t("early_default")) } } }
                td { (c.bank) } td { (lang.status(&label(c.status().as_str_name(), "CLAIM_STATUS_"))) }
                td.num {
                    (yuan(&c.requested_compensation))
                    @for part in &c.co_sharer_parts {
                        br; span.muted.co-sharer { (lang.t("co_sharers")) " " (part.party.trim_start_matches("parties/")) " " (yuan(&part.amount)) }
                    }
                    @if !c.co_sharer_parts.is_empty() && !c.bank_retained.is_empty() {
                        br; span.muted { (lang.t("bank_retained")) " " (yuan(&c.bank_retained)) }
                    }
                }
                @match &c.breakdown {
                    Some(b) => {
                        td.num {
                            (yuan(&b.granted))
                            @if !b.reduction_note.is_empty() || b.reduction_reason() != pb::ReductionReason::Unspecified {
                                br; span.muted { (lang.status(&label(b.reduction_reason().as_str_name(), "REDUCTION_REASON_"))) " " (b.reduction_note) }
                            }
                        }
                        td.num.compensation { (yuan(&c.compensation)) }
                        td.bound-by { (lang.status(&label(b.bound_by().as_str_name(), "COMPENSATION_LIMIT_"))) }
                    }
                    None => { td {} td {} td {} }
                }
                td { (c.approvals.len()) "/" (c.approvals_required) }
            } } }
        }
    }
}
