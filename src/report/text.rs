//! The lines every view gives the run's pre-approvals and signatures.

use crate::outcome::{Outcome, SignRecord, StageStatus, Verification};

/// One line on the run's pre-approvals for the summary and the terminal table, each value
/// passed through `quote` and the address's source through `text`: how many TPP accepted, and
/// what every one of them names. `None` when none was asked for.
pub(crate) fn preapprovals_line(
    outcome: &Outcome,
    quote: &dyn Fn(&str) -> String,
    text: &dyn Fn(&str) -> String,
) -> Option<String> {
    let first = outcome.preapprovals.first()?;
    let count = |f: &dyn Fn(&StageStatus) -> bool| outcome.preapprovals.iter().filter(|p| f(&p.outcome)).count();
    let states: Vec<String> = [
        (count(&|s| *s == StageStatus::Done), "created"),
        (count(&|s| *s == StageStatus::Planned), "planned"),
        (count(&StageStatus::is_failed), "FAILED"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    let kind = if first.single_use {
        "single use, one per signing".to_string()
    } else {
        format!("shared by {} signing(s), not single use", first.serves.len())
    };
    Some(format!(
        "{}: {} on {} from {} (runner-ip {}) for {} h{}{} ({kind})",
        states.join(", "),
        quote(&first.user),
        quote(&first.dn),
        first.ip_address.as_deref().map_or_else(|| "any address".into(), quote),
        text(&first.ip_source),
        first.hours,
        first.not_before.as_deref().map(|n| format!(", not before {}", quote(n))).unwrap_or_default(),
        first.signing_executable.as_deref().map(|e| format!(", for {}", quote(e))).unwrap_or_default(),
    ))
}

/// One line on how the run's signatures were checked, for the summary and the terminal table,
/// each value passed through `quote`: how many were verified and with which certificate, which
/// were not and why, and how to turn verification on. `None` when nothing was signed.
pub(crate) fn signatures_line(outcome: &Outcome, quote: &dyn Fn(&str) -> String) -> Option<String> {
    let records: Vec<&SignRecord> =
        outcome.artifacts.iter().filter_map(|a| a.sign.as_ref()).chain(&outcome.awaited).collect();
    let mut parts = Vec::new();
    let verified: Vec<&Verification> = records.iter().filter(|r| r.verified()).map(|r| &r.verification).collect();
    if let Some(Verification::Verified { certificate_sha256, subject, key }) = verified.first() {
        let stamped = records.iter().filter(|r| r.timestamp.is_some()).count();
        let format = if records.iter().any(|r| r.detached.is_some()) { ", written as CMS (.p7s)" } else { "" };
        parts.push(format!(
            "{} verified with {} ({key}, SHA-256 {}…){format}{}",
            verified.len(),
            quote(subject),
            &certificate_sha256[..certificate_sha256.len().min(16)],
            if stamped > 0 { format!(", {stamped} timestamped") } else { String::new() }
        ));
    }
    let unchecked: Vec<&str> = records
        .iter()
        .filter_map(|r| match r.verification {
            Verification::Unchecked(why) => Some(why),
            _ => None,
        })
        .collect();
    if let Some(why) = unchecked.first() {
        parts.push(format!(
            "{} NOT verified ({why}): set signing-certificate to the certificate of appviewx-signing-key to verify each before it counts",
            unchecked.len()
        ));
    }
    let scripts = records.iter().filter(|r| r.verification == Verification::SignedScript).count();
    if scripts > 0 {
        parts.push(format!("{scripts} signed script(s), whose signature block Get-AuthenticodeSignature checks"));
    }
    let failed = records.iter().filter(|r| matches!(r.verification, Verification::Failed(_))).count();
    if failed > 0 {
        parts.push(format!("{failed} REFUSED: did not verify, no file written"));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// One line on the artifacts an earlier run's sign requests served (`resume-from`), for the
/// summary and the terminal table. `None` when the run resumed nothing.
pub(crate) fn resumed_line(outcome: &Outcome, quote: &dyn Fn(&str) -> String) -> Option<String> {
    let from = outcome.resumed_from.as_deref()?;
    let resumed: Vec<&str> = outcome.artifacts.iter().filter(|a| a.resumed).map(|a| a.name.as_str()).collect();
    let fresh = outcome.artifacts.len() - resumed.len();
    Some(format!(
        "{} artifact(s) from {}, only waited for (no pre-qualification, pre-approval or new sign request){}; {fresh} ran afresh",
        resumed.len(),
        quote(from),
        if resumed.is_empty() { String::new() } else { format!(": {}", resumed.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", ")) }
    ))
}
