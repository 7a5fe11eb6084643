//! The lines every view gives the run's pre-approvals and signatures.

use crate::outcome::{ArtifactRecord, Outcome, SignRecord, StageStatus, Verification};

/// Rows of artifacts a table shows. GitHub refuses a job summary over 1 MiB, and a terminal
/// table of a hundred thousand rows is read by nobody; every ordinary release fits.
pub(crate) const TABLE_ROWS: usize = 1000;

/// Problems a summary or a terminal lists; the report has every one.
pub(crate) const PROBLEMS_SHOWN: usize = 200;

/// The line after a list of problems cut at [`PROBLEMS_SHOWN`].
pub(crate) fn problems_left_out(outcome: &Outcome) -> Option<String> {
    let more = outcome.problems.len().checked_sub(PROBLEMS_SHOWN).filter(|n| *n > 0)?;
    Some(format!("… and {more} more problem(s): the report lists every one"))
}

/// The artifacts a table shows, in their order: all of them up to [`TABLE_ROWS`]; past that,
/// those that failed first (a failure must not hide behind a limit), then the first others. With
/// them, when any is left out, a line on what the others are: how many, by status.
pub(crate) fn table_rows(outcome: &Outcome) -> (Vec<&ArtifactRecord>, Option<String>) {
    let all = &outcome.artifacts;
    if all.len() <= TABLE_ROWS {
        return (all.iter().collect(), None);
    }
    let failed = all.iter().filter(|a| a.failed()).count().min(TABLE_ROWS);
    let (mut failed_left, mut others_left) = (failed, TABLE_ROWS - failed);
    let mut left_out: Vec<(&'static str, usize)> = Vec::new();
    let shown = all
        .iter()
        .filter(|a| {
            let room = if a.failed() { &mut failed_left } else { &mut others_left };
            if *room > 0 {
                *room -= 1;
                return true;
            }
            let status = a.sign.as_ref().map_or(if a.failed() { "failed" } else { "not signed" }, |s| s.status.label());
            match left_out.iter_mut().find(|(k, _)| *k == status) {
                Some((_, n)) => *n += 1,
                None => left_out.push((status, 1)),
            }
            false
        })
        .collect();
    let counts: Vec<String> = left_out.iter().map(|(status, n)| format!("{n} {status}")).collect();
    let hidden = all.len() - TABLE_ROWS;
    (shown, Some(format!("… and {hidden} more artifact(s) ({}): the report lists every one", counts.join(", "))))
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::tests::empty_outcome;
    use crate::outcome::SignStatus;

    #[test]
    fn a_long_table_shows_every_failure_then_the_first_others_and_counts_the_rest() {
        let mut o = empty_outcome();
        for i in 0..TABLE_ROWS + 5 {
            let status = if i >= TABLE_ROWS + 2 { SignStatus::Failed } else { SignStatus::Signed };
            o.artifacts.push(ArtifactRecord {
                name: format!("a{i}"),
                path: String::new(),
                size: None,
                digest: None,
                digest_error: None,
                prequalify: StageStatus::Done,
                prequalify_result: None,
                preapproval: StageStatus::Done,
                preapproval_index: None,
                sign: Some(SignRecord { status, ..SignRecord::pending("id") }),
                resumed: false,
            });
        }
        let (shown, left_out) = table_rows(&o);
        assert_eq!(shown.len(), TABLE_ROWS);
        let failed: Vec<&str> = shown.iter().filter(|a| a.failed()).map(|a| a.name.as_str()).collect();
        assert_eq!(failed, ["a1002", "a1003", "a1004"], "no failure hides behind the limit");
        assert_eq!(shown.first().map(|a| a.name.as_str()), Some("a0"), "in their order");
        assert_eq!(left_out.as_deref(), Some("… and 5 more artifact(s) (5 signed): the report lists every one"));

        o.artifacts.truncate(TABLE_ROWS);
        let (shown, left_out) = table_rows(&o);
        assert_eq!((shown.len(), left_out), (TABLE_ROWS, None));
    }
}
