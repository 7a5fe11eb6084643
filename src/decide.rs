//! The one place that decides: which stage runs next, given what the earlier ones returned,
//! and what the run's outcome is, built from every stage's result. Pure (no I/O, no clock), so
//! every skip rule is a row of the table test below.

use crate::config::{AvxWork, Config};
use crate::http::Note;
use crate::outcome::{ArtifactRecord, CallRecord, DigestRecord, Outcome, PlanRecord, SignRecord, StageStatus};
use crate::stage::digest::Digested;
use crate::stage::sign::{Planned, SignResult};
use crate::stage::tpp::TppResult;

/// Which services the configuration enables, all the decisions need of it.
#[derive(Debug, Clone, Copy)]
pub struct Enabled {
    /// TPP is configured; whether it runs also depends on the digests ([`tpp_runs`]).
    pub tpp: bool,
    /// AppViewX is configured; what the signing stage does is [`signing`]'s decision.
    pub appviewx: bool,
    /// The run waits for given sign ids rather than submitting artifacts.
    pub awaits: bool,
}

impl Enabled {
    /// Reads what the decisions need from the configuration, once.
    pub fn of(config: &Config) -> Self {
        Enabled {
            tpp: config.tpp.is_some(),
            appviewx: config.appviewx.is_some(),
            awaits: config.appviewx.as_ref().is_some_and(|a| matches!(a.work, AvxWork::Await { .. })),
        }
    }
}

/// TPP runs when it is enabled, there is something to pre-qualify, and every artifact was
/// digested: a run that already failed must not leave pre-qualifications or a pre-approval
/// behind (TPP has no call to withdraw them).
pub fn tpp_runs(enabled: Enabled, digested: &[Digested]) -> bool {
    enabled.tpp && digested.iter().any(|d| d.resumed.is_none()) && digested.iter().all(|d| d.digest.is_ok())
}

/// Marks each artifact whose digest an earlier run's sign request was for (`resume-from`), so
/// that it is only waited for.
pub fn resume(digested: &mut [Digested], resume: Option<&crate::config::Resume>) {
    let Some(resume) = resume else { return };
    // One lookup per artifact: a resumed run may have as many artifacts as a checksum list.
    let earlier: std::collections::HashMap<(&str, &str), &str> =
        resume.requests.iter().map(|r| ((r.name.as_str(), r.hex.as_str()), r.sign_id.as_str())).collect();
    for d in digested {
        if let Ok(digest) = &d.digest {
            d.resumed = earlier.get(&(d.artifact.name.as_str(), digest.hex().as_str())).map(|id| (*id).to_string());
        }
    }
}

/// What becomes of the signing stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signing<'a> {
    /// AppViewX is not configured: no artifact gets a sign record.
    NotConfigured,
    /// Nothing is sent to AppViewX; every artifact is recorded as not submitted, for this reason.
    Skipped(&'static str),
    /// Nothing to submit and no sign ids to wait for.
    NothingToDo,
    /// The stage runs with this plan, one entry per artifact.
    Run(Vec<Planned<'a>>),
}

/// Decides the signing stage from the digests and what TPP did (`None`: TPP did not run).
pub fn signing<'a>(enabled: Enabled, digested: &'a [Digested], tpp: Option<&'a TppResult>) -> Signing<'a> {
    if !enabled.appviewx {
        return Signing::NotConfigured;
    }
    if digested.iter().any(|d| d.digest.is_err()) {
        return Signing::Skipped("skipped: a digest failed");
    }
    if tpp.is_some_and(|t| !t.may_sign) {
        return Signing::Skipped("skipped: the TPP stage failed");
    }
    if digested.is_empty() && !enabled.awaits {
        return Signing::NothingToDo;
    }
    let prequalify_failed = |i: usize| tpp.is_some_and(|t| t.prequalify.get(i).is_some_and(|(s, _)| s.is_failed()));
    let preapproval = |i: usize| tpp.and_then(|t| t.preapproval(i));
    Signing::Run(
        digested
            .iter()
            .enumerate()
            .map(|(i, d)| match &d.digest {
                Err(_) => Planned::Skip("not submitted: no digest"),
                Ok(digest) if d.resumed.is_some() => Planned::Resume {
                    name: &d.artifact.name,
                    digest,
                    sign_id: d.resumed.as_deref().unwrap_or_default(),
                },
                Ok(_) if prequalify_failed(i) => Planned::Skip("not submitted: pre-qualification failed"),
                Ok(_) if preapproval(i).is_some_and(|p| p.outcome.is_failed()) => {
                    Planned::Skip("not submitted: pre-approval failed")
                }
                Ok(digest) => Planned::Submit { name: &d.artifact.name, digest, preapproval: preapproval(i) },
            })
            .collect(),
    )
}

/// How the signing stage ended, for the outcome.
#[derive(Debug, Clone)]
pub enum Signed {
    /// The stage did not run (AppViewX not configured, or nothing to do): no sign records.
    NotRun,
    /// Nothing was sent to AppViewX; every artifact is recorded as not submitted, for this reason.
    Skipped(&'static str),
    /// The stage ran (its own failures are in the result).
    Ran(SignResult),
}

/// Everything a run produced, in the order it happened.
pub struct Results<'a> {
    /// UTC, as [`crate::outcome::utc_timestamp`] writes it.
    pub started_at: String,
    /// The `if-no-files-found: warn` warning.
    pub discover_warning: Option<String>,
    /// The report or check run whose sign requests the run waited for.
    pub resumed_from: Option<String>,
    /// Why a re-run could not resume from the earlier attempt.
    pub resume_warning: Option<String>,
    /// One per artifact, in discovery order; every per-artifact list below follows it.
    pub digested: &'a [Digested],
    /// `None`: the TPP stage did not run.
    pub tpp: Option<TppResult>,
    /// What became of the signing stage.
    pub signed: Signed,
    /// Calls the HTTP client flagged (e.g. a POST that may have been applied twice).
    pub notes: Vec<Note>,
    /// The signal that cancelled the run, if one did.
    pub cancelled: Option<&'static str>,
    /// Every HTTP attempt, in the order they started.
    pub calls: Vec<CallRecord>,
    /// A plan's record: then every stage ran on placeholder answers.
    pub plan: Option<PlanRecord>,
    /// From the start of the run to the end of the last stage.
    pub duration_ms: u64,
}

/// Everything the run did to artifact `i`, from what each stage returned.
fn artifact_record(i: usize, d: &Digested, tpp: Option<&TppResult>, signed: &Signed) -> ArtifactRecord {
    let (prequalify, prequalify_result) =
        tpp.and_then(|t| t.prequalify.get(i).cloned()).unwrap_or((StageStatus::NotRun, None));
    let preapproval = tpp.and_then(|t| t.preapproval(i));
    let sign = match signed {
        Signed::NotRun => None,
        Signed::Skipped(why) => Some(SignRecord::not_submitted(why)),
        Signed::Ran(s) => s.artifacts.get(i).cloned().flatten(),
    };
    ArtifactRecord {
        name: d.artifact.name.clone(),
        path: d.artifact.path.to_string_lossy().into_owned(),
        size: d.artifact.size,
        digest: d.digest.as_ref().ok().map(|d| DigestRecord {
            algorithm: d.algorithm.name(),
            hex: d.hex(),
            base64: d.base64(),
        }),
        digest_error: d.digest.as_ref().err().cloned(),
        prequalify,
        prequalify_result,
        preapproval: preapproval.map_or(StageStatus::NotRun, |p| p.outcome.clone()),
        preapproval_index: tpp.and_then(|t| t.preapproval_of.get(i).copied().flatten()),
        sign,
        resumed: d.resumed.is_some(),
    }
}

/// What the outcome says of the services the run was configured for.
fn services(config: &Config, outcome: &mut Outcome) {
    outcome.tpp_url = config.tpp.as_ref().map(|t| t.base_url.to_string());
    outcome.preapproval_mode = config.tpp.as_ref().filter(|t| t.pre_approve).map(|t| t.pre_approval.name());
    outcome.appviewx_url = config.appviewx.as_ref().map(|a| a.base_url.to_string());
    outcome.environment_dn = config.tpp.as_ref().map(|t| t.environment_dn.clone());
    if let Some(AvxWork::Submit { signing_policy, signing_key }) = config.appviewx.as_ref().map(|a| &a.work) {
        outcome.appviewx_signing_policy = Some(signing_policy.clone());
        outcome.appviewx_signing_key = Some(signing_key.clone());
    }
}

/// Builds the outcome. Problems are listed in the order the run met them.
pub fn outcome(config: &Config, enabled: Enabled, r: Results<'_>) -> Outcome {
    let mut outcome = Outcome::new(r.started_at, config.github.clone(), config.artifacts.hash_algorithm.name());
    if let Some(plan) = r.plan.as_ref().filter(|p| !p.withheld.is_empty()) {
        outcome.warning("plan", None, format!("a pull request from a fork gets no secrets ({} not set), so this run is a plan: nothing was sent to TPP or AppViewX, the job summary lists what would be", plan.withheld.join(", ")));
    }
    services(config, &mut outcome);
    outcome.resumed_from = r.resumed_from;
    if let Some(w) = r.resume_warning {
        outcome.warning("resume", None, w);
    }
    if let Some(w) = r.discover_warning {
        outcome.warning("discover", None, w);
    }
    outcome.artifacts.reserve_exact(r.digested.len());
    for (i, d) in r.digested.iter().enumerate() {
        if let Err(e) = &d.digest {
            outcome.error("digest", Some(&d.artifact.name), e.clone());
        }
        outcome.artifacts.push(artifact_record(i, d, r.tpp.as_ref(), &r.signed));
    }
    let undigested = r.digested.iter().filter(|d| d.digest.is_err()).count();
    if undigested > 0 && (enabled.tpp || enabled.appviewx) {
        outcome.error(
            "digest",
            None,
            format!("{undigested} artifact(s) could not be digested: nothing was sent to TPP or AppViewX"),
        );
    }
    if let Some(tpp) = r.tpp {
        outcome.problems.extend(tpp.problems.0);
        outcome.tpp_auth = Some(tpp.auth);
        outcome.preapprovals = tpp.preapprovals;
        outcome.runner_ip = tpp.runner_ip;
        outcome.runner_ip_source = tpp.runner_ip_source;
    }
    if let Signed::Ran(s) = r.signed {
        outcome.problems.extend(s.problems.0);
        outcome.awaited = s.awaited;
    }
    for note in r.notes {
        outcome.warning("http", note.artifact.as_deref(), format!("{}: {}", note.endpoint, note.message));
    }
    if let Some(reason) = r.cancelled {
        outcome.cancelled = Some(reason);
        outcome.error(
            "cancel",
            None,
            format!("the run was cancelled ({reason}): it stopped waiting, cleaned up and wrote this report"),
        );
    }
    outcome.calls = r.calls;
    outcome.duration_ms = r.duration_ms;
    match r.plan {
        Some(plan) => outcome.into_plan(plan),
        None => outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::{Digest, HashAlgorithm};
    use crate::discover::Artifact;
    use crate::outcome::{AuthRecord, PreApprovalRecord};
    use crate::stage::Problems;

    fn digested(names: &[(&str, bool)]) -> Vec<Digested> {
        names
            .iter()
            .map(|(name, ok)| Digested {
                artifact: Artifact { path: format!("/ws/{name}").into(), name: name.to_string(), size: Some(1) },
                digest: if *ok {
                    Ok(Digest { algorithm: HashAlgorithm::Sha256, bytes: vec![7; 32] })
                } else {
                    Err("unreadable".into())
                },
                resumed: None,
            })
            .collect()
    }

    fn tpp(may_sign: bool, prequalified: &[bool]) -> TppResult {
        let status = |ok: bool| if ok { StageStatus::Done } else { StageStatus::Failed { message: "no".into() } };
        TppResult {
            auth: AuthRecord {
                method: "password",
                identity: None,
                obtained: true,
                revocations: Vec::new(),
                error: None,
            },
            prequalify: prequalified.iter().map(|ok| (status(*ok), None)).collect(),
            preapprovals: Vec::new(),
            preapproval_of: vec![None; prequalified.len()],
            runner_ip: None,
            runner_ip_source: None,
            problems: Problems::default(),
            may_sign,
        }
    }

    /// `tpp` with one pre-approval per artifact that has `Some(accepted)`.
    fn preapproved(mut t: TppResult, each: &[Option<bool>]) -> TppResult {
        for (i, ok) in each.iter().enumerate() {
            let Some(ok) = ok else { continue };
            t.preapproval_of[i] = Some(t.preapprovals.len());
            t.preapprovals.push(PreApprovalRecord {
                serves: vec![format!("artifact {i}")],
                requested_at: Some("2026-01-01T00:00:00Z".into()),
                dn: String::new(),
                user: String::new(),
                comment: String::new(),
                hours: 1,
                ip_address: Some("192.0.2.7".into()),
                ip_source: "given".into(),
                not_before: None,
                signing_executable: None,
                single_use: true,
                outcome: if *ok { StageStatus::Done } else { StageStatus::Failed { message: "refused".into() } },
                result: None,
            });
        }
        t
    }

    /// What the signing stage does with each artifact, in words.
    fn plan(s: &Signing<'_>) -> String {
        match s {
            Signing::NotConfigured => "not configured".into(),
            Signing::Skipped(why) => format!("all {why}"),
            Signing::NothingToDo => "nothing to do".into(),
            Signing::Run(plan) => plan
                .iter()
                .map(|p| match p {
                    Planned::Submit { name, .. } => format!("submit {name}"),
                    Planned::Resume { name, sign_id, .. } => format!("resume {name} ({sign_id})"),
                    Planned::Skip(why) => why.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    #[test]
    fn every_skip_rule() {
        /// (what, services, digests, what TPP returned, does TPP run, the signing plan)
        type Case<'a> = (&'a str, Enabled, &'a [Digested], Option<TppResult>, bool, &'a str);
        let both = Enabled { tpp: true, appviewx: true, awaits: false };
        let avx_only = Enabled { tpp: false, ..both };
        let tpp_only = Enabled { appviewx: false, ..both };
        let awaits = Enabled { awaits: true, ..avx_only };
        let (ok2, one_bad) = (digested(&[("a", true), ("b", true)]), digested(&[("a", true), ("b", false)]));
        let none = digested(&[]);
        let cases: Vec<Case<'_>> = vec![
            ("all digested, TPP fine", both, &ok2, Some(tpp(true, &[true, true])), true, "submit a, submit b"),
            ("AppViewX alone", avx_only, &ok2, None, false, "submit a, submit b"),
            ("a digest failed: nothing sent", both, &one_bad, None, false, "all skipped: a digest failed"),
            ("a digest failed, AppViewX alone", avx_only, &one_bad, None, false, "all skipped: a digest failed"),
            (
                "TPP failed: nothing submitted",
                both,
                &ok2,
                Some(tpp(false, &[true, false])),
                true,
                "all skipped: the TPP stage failed",
            ),
            (
                "an artifact not pre-qualified is not submitted",
                both,
                &ok2,
                Some(tpp(true, &[true, false])),
                true,
                "submit a, not submitted: pre-qualification failed",
            ),
            (
                "an artifact whose pre-approval failed is not submitted; the others go on",
                both,
                &ok2,
                Some(preapproved(tpp(true, &[true, true]), &[Some(true), Some(false)])),
                true,
                "submit a, not submitted: pre-approval failed",
            ),
            (
                "a failed pre-qualification is reported before its pre-approval",
                both,
                &ok2,
                Some(preapproved(tpp(true, &[false, true]), &[None, Some(true)])),
                true,
                "not submitted: pre-qualification failed, submit b",
            ),
            ("no AppViewX", tpp_only, &ok2, Some(tpp(true, &[true, true])), true, "not configured"),
            ("no artifacts, nothing to wait for", both, &none, None, false, "nothing to do"),
            ("no artifacts, sign ids to wait for", awaits, &none, None, false, ""),
        ];
        for (label, enabled, d, t, runs_tpp, want) in cases {
            assert_eq!(tpp_runs(enabled, d), runs_tpp, "{label}: does TPP run");
            assert_eq!(plan(&signing(enabled, d, t.as_ref())), want, "{label}");
        }
        assert!(!tpp_runs(tpp_only, &one_bad), "a digest failed: no pre-qualification is left behind");
    }

    #[test]
    fn the_outcome_records_what_each_stage_returned_in_order() {
        let pairs = [
            ("artifacts", "dist/*"),
            ("appviewx-url", "https://avx.example.com"),
            ("appviewx-username", "u"),
            ("appviewx-password", "p"),
            ("appviewx-signing-policy", "pol"),
            ("appviewx-signing-key", "key"),
        ];
        let env = |var: &str| pairs.iter().find(|(k, _)| crate::config::env_name(k) == var).map(|(_, v)| v.to_string());
        let inputs = crate::config::Inputs::gather(|_| None, env);
        let config = Config::from_inputs(&inputs, &|_| None, &std::env::temp_dir()).expect("a valid config");
        let enabled = Enabled::of(&config);
        let d = digested(&[("a", true), ("b", false)]);
        let outcome = outcome(
            &config,
            enabled,
            Results {
                started_at: "2026-01-01T00:00:00Z".into(),
                discover_warning: Some("few files".into()),
                resumed_from: None,
                resume_warning: None,
                digested: &d,
                tpp: None,
                signed: Signed::Skipped("skipped: a digest failed"),
                notes: Vec::new(),
                cancelled: Some("SIGTERM"),
                calls: Vec::new(),
                plan: None,
                duration_ms: 5,
            },
        );
        let problems: Vec<(&str, Option<&str>)> =
            outcome.problems.iter().map(|p| (p.stage, p.artifact.as_deref())).collect();
        assert_eq!(problems, [("discover", None), ("digest", Some("b")), ("digest", None), ("cancel", None)]);
        assert_eq!(outcome.artifacts[0].prequalify, StageStatus::NotRun);
        let sign = outcome.artifacts[1].sign.as_ref().expect("a sign record");
        assert_eq!(sign.message.as_deref(), Some("skipped: a digest failed"));
        assert_eq!(outcome.artifacts[1].digest_error.as_deref(), Some("unreadable"));
        assert!(!outcome.success());
    }
}
