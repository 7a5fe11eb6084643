//! The audit record's own types: the JSON report is these, built from the outcome, and nothing
//! else is serialised. The working types (outcome, stage records, journal) can change freely;
//! a change here is a change of a public format, so it comes with a new `report_version`.

use serde::Serialize;

use crate::http::plan::Body;
use crate::http::planned::BodyDifference;
use crate::outcome::{
    ArtifactRecord, AuthRecord, CallRecord, Outcome, PlanRecord, PreApprovalRecord, Problem, Revocation, Severity,
    SignRecord, SignStatus, StageStatus, Verification,
};

/// The format's version: raised with every change a reader could notice.
pub const VERSION: u32 = 1;

/// The whole report.
#[derive(Serialize)]
pub struct Record<'a> {
    report_version: u32,
    result: &'static str,
    tool: &'static str,
    version: &'static str,
    started_at: &'a str,
    duration_ms: u64,
    github: Github<'a>,
    hash_algorithm: &'static str,
    tpp_url: Option<&'a str>,
    appviewx_url: Option<&'a str>,
    environment_dn: Option<&'a str>,
    appviewx_signing_policy: Option<&'a str>,
    appviewx_signing_key: Option<&'a str>,
    resumed_from: Option<&'a str>,
    runner_ip: Option<&'a str>,
    runner_ip_source: Option<&'a str>,
    artifacts: Vec<Artifact<'a>>,
    awaited: Vec<Sign<'a>>,
    tpp_auth: Option<Auth<'a>>,
    preapproval_mode: Option<&'static str>,
    preapprovals: Vec<PreApproval<'a>>,
    cancelled: Option<&'static str>,
    problems: Vec<ProblemEntry<'a>>,
    calls: Vec<Call<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<Plan<'a>>,
}

#[derive(Serialize)]
struct Github<'a> {
    actions: bool,
    repository: Option<&'a str>,
    sha: Option<&'a str>,
    run_id: Option<&'a str>,
    run_attempt: Option<&'a str>,
    server_url: Option<&'a str>,
    workflow: Option<&'a str>,
    job: Option<&'a str>,
    runner_environment: Option<&'a str>,
}

#[derive(Serialize)]
struct Artifact<'a> {
    name: &'a str,
    path: &'a str,
    size: Option<u64>,
    digest: Option<Digest<'a>>,
    digest_error: Option<&'a str>,
    prequalify: Status<'a>,
    prequalify_result: Option<i64>,
    preapproval: Status<'a>,
    preapproval_index: Option<usize>,
    sign: Option<Sign<'a>>,
    resumed: bool,
}

#[derive(Serialize)]
struct Digest<'a> {
    algorithm: &'static str,
    hex: &'a str,
    base64: &'a str,
}

/// How a TPP call ended: `{"status": "done"}`, or `failed` with its message.
#[derive(Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
enum Status<'a> {
    NotRun,
    Done,
    Planned,
    Failed { message: &'a str },
}

/// `sign_id` is the report's spelling, however clippy feels about the struct's name.
#[allow(clippy::struct_field_names)]
#[derive(Serialize)]
struct Sign<'a> {
    sign_id: Option<&'a str>,
    status: &'static str,
    message: Option<&'a str>,
    signature_path: Option<&'a str>,
    /// `raw` (`encodedHashData` as sent) or `cms` (a detached CMS signature, DER); `null`
    /// when no file was written.
    signature_format: Option<&'static str>,
    signtool_path: Option<&'a str>,
    verification: VerificationEntry<'a>,
    timestamp: Option<TimestampEntry<'a>>,
    elapsed_ms: Option<u64>,
}

/// The report's and the signing record's account of one verification.
#[derive(Serialize)]
pub(super) struct VerificationEntry<'a> {
    /// `verified`, `not-verified`, `failed`, `signed-script` or `not-signed`.
    status: &'static str,
    /// Why not verified, or why it failed.
    reason: Option<&'a str>,
    certificate_sha256: Option<&'a str>,
    subject: Option<&'a str>,
    key: Option<&'a str>,
}

#[derive(Serialize)]
struct TimestampEntry<'a> {
    time: &'a str,
    tsa: &'a str,
}

#[derive(Serialize)]
struct Auth<'a> {
    method: &'static str,
    identity: Option<&'a str>,
    obtained: bool,
    revocations: Vec<&'static str>,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct PreApproval<'a> {
    serves: &'a [String],
    requested_at: Option<&'a str>,
    dn: &'a str,
    user: &'a str,
    comment: &'a str,
    hours: u32,
    ip_address: Option<&'a str>,
    ip_source: &'a str,
    not_before: Option<&'a str>,
    signing_executable: Option<&'a str>,
    single_use: bool,
    outcome: Status<'a>,
    result: Option<i64>,
}

#[derive(Serialize)]
struct ProblemEntry<'a> {
    severity: &'static str,
    stage: &'static str,
    artifact: Option<&'a str>,
    message: &'a str,
}

#[derive(Serialize)]
struct Call<'a> {
    service: &'static str,
    endpoint: &'static str,
    method: &'static str,
    artifact: Option<&'a str>,
    attempt: u32,
    at_ms: u64,
    duration_ms: u64,
    http_status: Option<u16>,
    error: Option<&'a str>,
}

#[derive(Serialize)]
struct Plan<'a> {
    reason: &'static str,
    withheld: &'a [&'static str],
    /// Each endpoint once, in the order first called, with what all its calls share: a plan of
    /// many artifacts calls each per-artifact endpoint once per artifact, alike but for the
    /// artifact, so the requests list only what differs.
    endpoints: Vec<Endpoint<'a>>,
    requests: Vec<Planned<'a>>,
}

#[derive(Serialize)]
#[allow(clippy::struct_field_names)] // `endpoint` is the vendor's name for the call, as elsewhere in the record
struct Endpoint<'a> {
    service: &'static str,
    endpoint: &'static str,
    method: &'a str,
    /// The first call's URL; a request names its own only where it differs.
    url: &'a str,
    /// The first call's headers; a request names its own only where they differ.
    headers: &'a [String],
    /// The first call's body; a request names the fields whose values differ (`fields`), or its
    /// whole body (`body`) when its fields are not these.
    body: Option<&'a Body>,
    requests: usize,
}

#[derive(Serialize)]
struct Planned<'a> {
    endpoint: &'static str,
    artifact: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<&'a [String]>,
    /// The fields of its body whose values differ from its endpoint's, in the order sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a Body>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<OwnBody<'a>>,
}

/// A request's own body, where its fields are not its endpoint's: none at all, or this one.
#[derive(Serialize)]
#[serde(untagged)]
enum OwnBody<'a> {
    /// Written `null`.
    Nothing,
    Is(&'a Body),
}

impl<'a> Record<'a> {
    /// The record of `outcome`, as the report writes it.
    pub fn of(o: &'a Outcome) -> Self {
        let g = &o.github;
        Record {
            report_version: VERSION,
            result: o.result().name(),
            tool: o.tool,
            version: o.version,
            started_at: &o.started_at,
            duration_ms: o.duration_ms,
            github: Github {
                actions: g.actions,
                repository: g.repository.as_deref(),
                sha: g.sha.as_deref(),
                run_id: g.run_id.as_deref(),
                run_attempt: g.run_attempt.as_deref(),
                server_url: g.server_url.as_deref(),
                workflow: g.workflow.as_deref(),
                job: g.job.as_deref(),
                runner_environment: g.runner_environment.as_deref(),
            },
            hash_algorithm: o.hash_algorithm,
            tpp_url: o.tpp_url.as_deref(),
            appviewx_url: o.appviewx_url.as_deref(),
            environment_dn: o.environment_dn.as_deref(),
            appviewx_signing_policy: o.appviewx_signing_policy.as_deref(),
            appviewx_signing_key: o.appviewx_signing_key.as_deref(),
            resumed_from: o.resumed_from.as_deref(),
            runner_ip: o.runner_ip.as_deref(),
            runner_ip_source: o.runner_ip_source.as_deref(),
            artifacts: o.artifacts.iter().map(artifact).collect(),
            awaited: o.awaited.iter().map(sign).collect(),
            tpp_auth: o.tpp_auth.as_ref().map(auth),
            preapproval_mode: o.preapproval_mode,
            preapprovals: o.preapprovals.iter().map(preapproval).collect(),
            cancelled: o.cancelled,
            problems: o.problems.iter().map(problem).collect(),
            calls: o.calls.iter().map(call).collect(),
            plan: o.plan.as_ref().map(plan),
        }
    }
}

fn status(s: &StageStatus) -> Status<'_> {
    match s {
        StageStatus::NotRun => Status::NotRun,
        StageStatus::Done => Status::Done,
        StageStatus::Planned => Status::Planned,
        StageStatus::Failed { message } => Status::Failed { message },
    }
}

fn artifact(a: &ArtifactRecord) -> Artifact<'_> {
    Artifact {
        name: &a.name,
        path: &a.path,
        size: a.size,
        digest: a.digest.as_ref().map(|d| Digest { algorithm: d.algorithm, hex: &d.hex, base64: &d.base64 }),
        digest_error: a.digest_error.as_deref(),
        prequalify: status(&a.prequalify),
        prequalify_result: a.prequalify_result,
        preapproval: status(&a.preapproval),
        preapproval_index: a.preapproval_index,
        sign: a.sign.as_ref().map(sign),
        resumed: a.resumed,
    }
}

/// The status as the record spells it, which is not always the label the summary shows.
pub(super) fn sign_status(s: SignStatus) -> &'static str {
    match s {
        SignStatus::NotSubmitted => "not-submitted",
        SignStatus::Pending => "pending",
        SignStatus::Signed => "signed",
        SignStatus::Failed => "failed",
        SignStatus::TimedOut => "timed-out",
        SignStatus::Planned => "planned",
    }
}

/// The signature itself is never in the record: it is in the file `signature_path` names.
fn sign(s: &SignRecord) -> Sign<'_> {
    Sign {
        sign_id: s.sign_id.as_deref(),
        status: sign_status(s.status),
        message: s.message.as_deref(),
        signature_path: s.signature_path.as_deref(),
        signature_format: s.signature_path.as_ref().map(|_| if s.detached.is_some() { "cms" } else { "raw" }),
        signtool_path: s.signtool_path.as_deref(),
        verification: verification(&s.verification),
        timestamp: s.timestamp.as_ref().map(|t| TimestampEntry { time: &t.time, tsa: &t.tsa }),
        elapsed_ms: s.elapsed_ms,
    }
}

pub(super) fn verification(v: &Verification) -> VerificationEntry<'_> {
    let plain =
        |status, reason| VerificationEntry { status, reason, certificate_sha256: None, subject: None, key: None };
    match v {
        Verification::NotSigned => plain("not-signed", None),
        Verification::Unchecked(why) => plain("not-verified", Some(why)),
        Verification::SignedScript => plain("signed-script", None),
        Verification::Failed(why) => plain("failed", Some(why)),
        Verification::Verified { certificate_sha256, subject, key } => VerificationEntry {
            status: "verified",
            reason: None,
            certificate_sha256: Some(certificate_sha256),
            subject: Some(subject),
            key: Some(key),
        },
    }
}

fn auth(a: &AuthRecord) -> Auth<'_> {
    Auth {
        method: a.method,
        identity: a.identity.as_deref(),
        obtained: a.obtained,
        revocations: a
            .revocations
            .iter()
            .map(|r| match r {
                Revocation::Revoked => "revoked",
                Revocation::AlreadyInvalid => "already-invalid",
                Revocation::Failed => "failed",
                Revocation::Planned => "planned",
            })
            .collect(),
        error: a.error.as_deref(),
    }
}

fn preapproval(p: &PreApprovalRecord) -> PreApproval<'_> {
    PreApproval {
        serves: &p.serves,
        requested_at: p.requested_at.as_deref(),
        dn: &p.dn,
        user: &p.user,
        comment: &p.comment,
        hours: p.hours,
        ip_address: p.ip_address.as_deref(),
        ip_source: &p.ip_source,
        not_before: p.not_before.as_deref(),
        signing_executable: p.signing_executable.as_deref(),
        single_use: p.single_use,
        outcome: status(&p.outcome),
        result: p.result,
    }
}

fn problem(p: &Problem) -> ProblemEntry<'_> {
    ProblemEntry {
        severity: match p.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
        stage: p.stage,
        artifact: p.artifact.as_deref(),
        message: &p.message,
    }
}

fn call(c: &CallRecord) -> Call<'_> {
    Call {
        service: c.service,
        endpoint: c.endpoint,
        method: c.method,
        artifact: c.artifact.as_deref(),
        attempt: c.attempt,
        at_ms: c.at_ms,
        duration_ms: c.duration_ms,
        http_status: c.http_status,
        error: c.error.as_deref(),
    }
}

fn plan(p: &PlanRecord) -> Plan<'_> {
    let planned = &p.requests;
    let endpoints = planned
        .endpoints
        .iter()
        .map(|e| Endpoint {
            service: e.first.service,
            endpoint: e.first.endpoint,
            method: &e.first.method,
            url: &e.first.url,
            headers: &e.first.headers,
            body: e.first.body.as_ref(),
            requests: e.requests,
        })
        .collect();
    let requests = planned
        .requests
        .iter()
        .map(|d| {
            let (fields, body) = match &d.body {
                BodyDifference::Same => (None, None),
                BodyDifference::Fields(fields) => (Some(fields), None),
                BodyDifference::Own(body) => (None, Some(body.as_ref().map_or(OwnBody::Nothing, OwnBody::Is))),
            };
            Planned {
                endpoint: planned.endpoints.get(d.endpoint).map_or("", |e| e.first.endpoint),
                artifact: d.artifact.as_deref(),
                url: d.url.as_deref(),
                headers: d.headers.as_deref(),
                fields,
                body,
            }
        })
        .collect();
    Plan { reason: p.reason, withheld: &p.withheld, endpoints, requests }
}
