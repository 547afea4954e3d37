//! The dashboard's words: Chinese first, English on request (the `tc_lang` cookie).

use axum::http::HeaderMap;

use crate::session::{LANG_COOKIE, cookie};

/// A language of the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 简体中文 (the default).
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The request's language.
    pub fn of(headers: &HeaderMap) -> Lang {
        match cookie(headers, LANG_COOKIE).as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The `lang` attribute.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// What a service refusal means, for the reasons an officer meets every day (the
    /// service's own words follow it).
    pub fn reason(self, reason: &str) -> Option<&'static str> {
        let (zh, en) = match reason {
            "SAME_APPROVER" => {
                ("第二次批准必须由另一位风险官作出。", "The second approval must come from another officer.")
            }
            "CLAIM_NOT_PENDING" => ("该代偿申请已处理。", "The claim was decided already."),
            "APPROVALS_DIFFER" => (
                "两位风险官须以同一原因批准同一金额。",
                "Both officers must grant the same amount for the same reason.",
            ),
            "APPROVED_ABOVE_ENTITLEMENT" => ("批准金额不能超过应代偿金额。", "The amount is above the entitlement."),
            "APPLICATION_NOT_REFERRED" => ("该申请已复核。", "The application was reviewed already."),
            "PERMISSION_DENIED" => ("您的角色不能执行此操作。", "Your role may not do this."),
            "NOT_FOUND" => ("未找到，或不属于您的银行。", "Not found, or not your bank's."),
            _ => return None,
        };
        Some(if self == Lang::Zh { zh } else { en })
    }

    /// A status code of the API as people read it (the code itself in English).
    pub fn status(self, code: &str) -> String {
        let zh = match code {
            "ACTIVE" => "正常",
            "WATCH" => "关注",
            "SUSPENDED" => "暂停",
            "OVERDUE" => "逾期",
            "DEFAULTED" => "违约",
            "CLAIMED" => "已申请代偿",
            "COMPENSATED" => "已代偿",
            "RECOVERING" => "追偿中",
            "REPAID" => "已还清",
            "CLOSED" => "已结清",
            "EXCLUDED" => "已剔除出池",
            "CANCELLED" => "已撤销（贷款剔除）",
            "FILED" => "待审批",
            "PARTIALLY_APPROVED" => "部分批准",
            "APPROVED" => "已批准",
            "REJECTED" => "已拒绝",
            "PAID" => "已支付",
            "DRAFT" => "草稿",
            "CONFIRMED" => "已确认",
            "PARTIALLY_PAID" => "部分付款",
            "CARRIED_FORWARD" => "已结转",
            "POOL_PAYS_BANK" => "风险池付银行",
            "BANK_PAYS_POOL" => "银行付风险池",
            "NONE" => "无需支付",
            "DOCUMENTATION_DEFICIENT" => "材料不全",
            "LATE_REPORTING" => "报告迟延",
            "COLLATERAL_NOT_PERFECTED" => "担保未落实",
            "NOT_ELIGIBLE" => "不属代偿范围",
            "MISREPRESENTATION" => "虚假陈述",
            "OTHER" => "其他",
            "ENTITLEMENT" => "全额",
            "REDUCTION" => "核减",
            "ANNUAL_CAP" => "年度上限",
            "PORTFOLIO_CAP" => "组合上限",
            _ => return code.to_owned(),
        };
        match self {
            Lang::Zh => zh.to_owned(),
            Lang::En => code.replace('_', " ").to_lowercase(),
        }
    }

    /// A word or phrase.
    pub fn t(self, key: &str) -> &'static str {
        let (zh, en) = words(key);
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

fn words(key: &str) -> (&'static str, &'static str) {
    match key {
        "title" => ("科技信贷风险池", "Technology-credit risk pool"),
        "overview" => ("资金池概览", "Pool overview"),
        "banks" => ("合作银行", "Partner banks"),
        "history" => ("历史", "History"),
        "history_assets" => ("净资产与在保余额（万元）", "Net assets and covered outstanding (10,000 yuan)"),
        "history_leverage" => ("放大倍数", "Leverage"),
        "history_losses" => ("累计代偿与追偿（万元）", "Cumulative compensation and recoveries (10,000 yuan)"),
        "history_grades" => ("分评级在保贷款笔数", "Covered loans by grade"),
        "no_history" => ("尚无已结束的月份。", "No month has ended yet."),
        "queues" => ("待审", "Queues"),
        "stress" => ("压力测试", "Stress test"),
        "statements" => ("结算单", "Statements"),
        "reconciliation" => ("对账", "Reconciliation"),
        "audit" => ("审计", "Audit trail"),
        "audit_unbroken" => ("审计链完整", "The audit chain is unbroken"),
        "audit_broken" => ("审计链在此处断开：", "The audit chain is broken at"),
        "audit_checked" => ("已核验记录", "records checked"),
        "audit_any" => ("全部结果", "Any outcome"),
        "audit_accepted" => ("已执行", "Accepted"),
        "audit_refused" => ("已拒绝", "Refused"),
        "audit_replayed" => ("重复请求", "Replayed"),
        "audit_method" => ("操作", "Method"),
        "audit_resource" => ("对象（如 claims/7）", "Resource (e.g. claims/7)"),
        "audit_filter" => ("筛选", "Filter"),
        "audit_time" => ("时间", "Time"),
        "audit_key" => ("密钥", "Key"),
        "audit_outcome" => ("结果", "Outcome"),
        "audit_detail" => ("对象 / 原因", "Resources / reason"),
        "login" => ("登录", "Sign in"),
        "logout" => ("退出", "Sign out"),
        "api_key" => ("API 密钥", "API key"),
        "login_hint" => (
            "请输入您的 API 密钥。密钥只保存在服务器的会话中。",
            "Enter your API key. It is kept only in the server's session.",
        ),
        "bad_key" => ("密钥无效或已吊销。", "The key is invalid or revoked."),
        "expired" => ("会话已过期，请重新登录。", "Your session has expired: please sign in again."),
        "business_date" => ("业务日期", "Business date"),
        "net_pool_assets" => ("资金池净资产", "Net pool assets"),
        "covered_outstanding" => ("在保贷款余额", "Covered outstanding"),
        "pool_exposure" => ("风险池敞口", "Pool exposure"),
        "leverage" => ("放大倍数", "Leverage"),
        "coverage_ratio" => ("覆盖率", "Coverage ratio"),
        "headroom" => ("剩余可担保额度", "Headroom"),
        "pool_target" => ("资金池规模目标", "Pool size target"),
        "covered_target" => ("在保余额目标", "Covered balance target"),
        "state" => ("状态", "State"),
        "open" => ("正常受理新业务", "Taking new enrolments"),
        "suspended" => ("已暂停新业务", "Suspended"),
        "limit" => ("上限", "limit"),
        "escrow_cash" => ("托管账户余额", "Escrow cash"),
        "npl_ratio" => ("不良率", "NPL ratio"),
        "compensation" => ("已批准代偿", "Compensation approved"),
        "recoveries" => ("追偿回收", "Recoveries"),
        "bank" => ("银行", "Bank"),
        "quota" => ("合作额度", "Quota"),
        "used" => ("已用额度", "Used"),
        "status" => ("状态", "Status"),
        "annual_cap" => ("年度代偿上限", "Annual cap"),
        "comp_this_year" => ("本年代偿", "Compensation this year"),
        "loans" => ("在保贷款", "Covered loans"),
        "claims" => ("代偿申请", "Claims"),
        "enterprise" => ("企业", "Enterprise"),
        "amount" => ("金额", "Amount"),
        "outstanding" => ("余额", "Outstanding"),
        "grade" => ("评级", "Grade"),
        "referrals" => ("待复核的申请", "Referred applications"),
        "claim_queue" => ("待审批的代偿", "Claims to decide"),
        "approve" => ("批准", "Approve"),
        "reject" => ("拒绝", "Reject"),
        "reason" => ("理由", "Reason"),
        "second_needed" => ("需要第二位风险官批准（四眼原则）", "A second risk officer must approve (four eyes)"),
        "bank_grade" => ("银行评级", "Bank grade"),
        "entitled" => ("应代偿", "Entitled"),
        "granted" => ("批准金额", "Granted"),
        "bound_by" => ("约束", "Bound by"),
        "co_sharers" => ("共担方", "Co-sharers"),
        "bank_retained" => ("银行自担", "Bank retains"),
        "payout_ratio" => ("代偿率", "Payout ratio"),
        "early_defaults" => ("早期违约笔数", "Early defaults"),
        "early_default" => ("早期违约（入池后不久违约，须两人批准）", "Early default (two approvers needed)"),
        "approved_amount" => ("批准金额（留空为全额）", "Amount to grant (empty: all)"),
        "code" => ("原因代码", "Reason code"),
        "code_none" => ("（全额批准时不选）", "(none when granting all)"),
        "code_for_approve_only" => ("此原因只用于部分批准。", "This code is for partial approvals only."),
        "code_for_reject_only" => ("此原因只用于拒绝。", "This code is for rejections only."),
        "approvals" => ("批准", "Approvals"),
        "none" => ("暂无", "None"),
        "default_rate" => ("违约率", "Default rate"),
        "loss_rate" => ("损失率", "Loss rate"),
        "per_grade" => ("分评级违约率（可选）", "Default rate by grade (optional)"),
        "run" => ("计算", "Run"),
        "expected_loss" => ("预期损失", "Expected loss"),
        "net_after" => ("冲击后净资产", "Net assets after"),
        "survives" => ("能否承受", "Survives"),
        "yes" => ("能", "Yes"),
        "no" => ("不能", "No"),
        "period" => ("期间", "Period"),
        "net" => ("净额", "Net"),
        "direction" => ("方向", "Direction"),
        "due" => ("应付", "Due"),
        "paid" => ("已付", "Paid"),
        "download_csv" => ("下载 CSV", "Download CSV"),
        "print" => ("打印版", "Printable"),
        "lines" => ("明细", "Lines"),
        "payments" => ("付款", "Payments"),
        "report" => ("对账报告", "Report"),
        "rows" => ("行数", "Rows"),
        "matched" => ("相符", "Matched"),
        "discrepancies" => ("差异", "Discrepancies"),
        "kind" => ("类型", "Kind"),
        "all" => ("全部", "All"),
        "done" => ("已提交", "Done"),
        "refused" => ("服务拒绝了该操作", "The service refused"),
        "bank_view" => ("本行视图", "Your bank"),
        "switch" => ("English", "中文"),
        _ => ("?", "?"),
    }
}
