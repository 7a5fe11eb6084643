//! The audit record as JSON: the report's own versioned types ([`super::record`]), built from
//! the outcome. It holds no secret because the outcome holds none (tokens and session ids never
//! enter it), and no signature (each is in the file its `signature_path` names).

use std::io::{self, Write};

use super::record::Record;
use crate::outcome::Outcome;

/// Writes the report: `report_version` and `result` first, then what the run did; each field
/// on its line, and each artifact, pre-approval, call and planned request on one line of its
/// own ([`Lines`]).
pub fn write(outcome: &Outcome, w: &mut dyn Write) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(&mut *w, Lines::default());
    serde::Serialize::serialize(&Record::of(outcome), &mut serializer).map_err(io::Error::other)?;
    writeln!(w)
}

/// Pretty-printing down to the elements of the record's lists, each then written on one line:
/// a reader still sees the record's shape at a glance, `grep` finds an artifact's whole entry
/// on one line, and the report of a long checksum list is a third smaller than if indented
/// throughout (`serde_json`'s `PrettyFormatter`).
#[derive(Default)]
pub struct Lines {
    /// For each open object or array, whether it puts its members on lines of their own.
    open: Vec<bool>,
    /// Whether the innermost open container has a member yet.
    has_value: bool,
}

impl Lines {
    /// Objects break down to the record's sections (`plan`, `tpp_auth`), arrays one level
    /// deeper (`plan.requests`): their members are the entries, each then on one line.
    fn open(&mut self, w: &mut (impl Write + ?Sized), array: bool, bracket: &[u8]) -> io::Result<()> {
        let depth = self.open.len();
        self.open.push(depth < 2 || (array && depth < 3));
        self.has_value = false;
        w.write_all(bracket)
    }

    fn member(&mut self, w: &mut (impl Write + ?Sized), first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        if self.open.last() == Some(&true) {
            Self::newline(w, self.open.len())?;
        }
        Ok(())
    }

    fn close(&mut self, w: &mut (impl Write + ?Sized), bracket: &[u8]) -> io::Result<()> {
        if self.open.pop() == Some(true) && self.has_value {
            Self::newline(w, self.open.len())?;
        }
        self.has_value = true;
        w.write_all(bracket)
    }

    fn newline(w: &mut (impl Write + ?Sized), depth: usize) -> io::Result<()> {
        w.write_all(b"\n")?;
        (0..depth).try_for_each(|_| w.write_all(b"  "))
    }
}

impl serde_json::ser::Formatter for Lines {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, true, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.member(w, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, false, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.member(w, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(if self.open.last() == Some(&true) { b": " } else { b":" })
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GithubContext;
    use crate::http::plan::Body;
    use crate::outcome::{
        ArtifactRecord, AuthRecord, CallRecord, DigestRecord, PlanRecord, PlannedRequest, PreApprovalRecord,
        Revocation, SignRecord, SignStatus, StageStatus, TimestampRecord, Verification,
    };

    /// An outcome with every field of the record set, one of each variant where it matters.
    pub(crate) fn every_field() -> Outcome {
        let github = GithubContext {
            actions: true,
            repository: Some("acme/rocket".into()),
            sha: Some("0123456789abcdef0123456789abcdef01234567".into()),
            run_id: Some("4242".into()),
            run_attempt: Some("2".into()),
            server_url: Some("https://github.com".into()),
            workflow: Some("release".into()),
            job: Some("sign".into()),
            runner_environment: Some("github-hosted".into()),
            ..GithubContext::default()
        };
        let mut o = Outcome::new("2026-12-01T10:00:00Z".into(), github, "sha256");
        o.duration_ms = 2500;
        o.tpp_url = Some("https://tpp.example.com/".into());
        o.appviewx_url = Some("https://avx.example.com:31443/".into());
        o.runner_ip = Some("192.0.2.7".into());
        o.runner_ip_source = Some("given".into());
        o.preapproval_mode = Some("per-signing");
        o.environment_dn = Some("\\VED\\Code Signing\\P".into());
        o.appviewx_signing_policy = Some("rocket-release".into());
        o.appviewx_signing_key = Some("rocket-ev-2026".into());
        o.resumed_from = Some("/ws/earlier/codesign-gate-report.json".into());
        let signed = SignRecord {
            status: SignStatus::Signed,
            signature_path: Some("/tmp/run/sigs/dist%2Fapp.exe.p7s".into()),
            elapsed_ms: Some(1250),
            encoded: Some("never in the record".into()),
            verification: Verification::Verified {
                certificate_sha256: "5e".repeat(32),
                subject: "CN=Acme Code Signing,O=Acme".into(),
                key: "RSA 3072".into(),
            },
            timestamp: Some(TimestampRecord { time: "2026-12-01T10:00:02Z".into(), tsa: "CN=Acme TSA".into() }),
            detached: Some(b"never in the record either".to_vec()),
            signtool_path: Some("/ws/dist/app.exe.dig.signed".into()),
            ..SignRecord::pending("65c47fa41112f940dab1cb12")
        };
        o.artifacts.push(ArtifactRecord {
            name: "dist/app.exe".into(),
            path: "/ws/dist/app.exe".into(),
            size: Some(15),
            digest: Some(DigestRecord { algorithm: "sha256", hex: "ab".repeat(32), base64: "q6ur".into() }),
            digest_error: None,
            prequalify: StageStatus::Done,
            prequalify_result: Some(1),
            preapproval: StageStatus::Done,
            preapproval_index: Some(0),
            sign: Some(signed),
            resumed: true,
        });
        o.artifacts.push(ArtifactRecord {
            name: "dist/b.dll".into(),
            path: "SHA256SUMS".into(),
            size: None,
            digest: None,
            digest_error: Some("unreadable".into()),
            prequalify: StageStatus::Failed { message: "refused".into() },
            prequalify_result: None,
            preapproval: StageStatus::NotRun,
            preapproval_index: None,
            sign: Some(SignRecord::not_submitted("not submitted: no digest")),
            resumed: false,
        });
        o.awaited.push(SignRecord { status: SignStatus::TimedOut, ..SignRecord::pending("65c47fa41112f940dab1cb13") });
        o.tpp_auth = Some(AuthRecord {
            method: "password",
            identity: Some("local:{aae035a1}".into()),
            obtained: true,
            revocations: vec![Revocation::Revoked, Revocation::AlreadyInvalid],
            error: None,
        });
        o.preapprovals.push(PreApprovalRecord {
            serves: vec!["dist/app.exe".into()],
            requested_at: Some("2026-12-01T10:00:01Z".into()),
            dn: r"\VED\Code Signing\P".into(),
            user: "local:u".into(),
            comment: "c; signing 1/2: dist/app.exe".into(),
            hours: 1,
            ip_address: Some("192.0.2.7".into()),
            ip_source: "given".into(),
            not_before: Some("2026-12-01T00:00:00".into()),
            signing_executable: Some(r"C:\signtool.exe".into()),
            single_use: true,
            outcome: StageStatus::Done,
            result: None,
        });
        o.cancelled = Some("SIGTERM");
        o.error("prequalify", Some("dist/b.dll"), "refused");
        o.warning("http", None, "may have applied this request twice");
        o.calls.push(CallRecord {
            service: "tpp",
            endpoint: "authorize/oauth",
            method: "POST",
            artifact: None,
            attempt: 1,
            at_ms: 3,
            duration_ms: 12,
            http_status: Some(200),
            error: None,
        });
        o.calls.push(CallRecord {
            service: "appviewx",
            endpoint: "code-signing-generate-hash",
            method: "POST",
            artifact: Some("dist/app.exe".into()),
            attempt: 2,
            at_ms: 40,
            duration_ms: 1000,
            http_status: None,
            error: Some("no answer within 1s".into()),
        });
        o.into_plan(PlanRecord {
            reason: "dry-run",
            withheld: vec!["tpp-password"],
            requests: vec![PlannedRequest {
                service: "tpp",
                endpoint: "authorize/oauth",
                artifact: Some("dist/app.exe".into()),
                method: "POST".into(),
                url: "https://tpp.example.com/vedauth/authorize/oauth".into(),
                headers: vec!["content-type: application/json".into()],
                body: Some(Body::Object(r#"{"username":"u","password":"***","client_id":"c"}"#.into())),
            }]
            .into_iter()
            .chain((1..=2).map(|n| PlannedRequest {
                service: "appviewx",
                endpoint: "code-signing-fetch-status-sync-requests",
                artifact: None,
                method: "GET".into(),
                url: format!("https://avx.example.com/avxapi/code-signing-fetch-status-sync-requests?signId=s{n}"),
                // The second differs in its headers too (a session renewed under another name).
                headers: vec!["sessionid: ***".into(), format!("username: u{n}")],
                body: None,
            }))
            // Alike but for one field, then one whose fields are not the first's.
            .chain([("Data", "q6ur"), ("Data", "zMzM"), ("Hours", "1")].into_iter().map(|(field, value)| {
                PlannedRequest {
                    service: "tpp",
                    endpoint: "Flow/Actions/CodeSign/PreQualify/Create",
                    artifact: Some("dist/app.exe".into()),
                    method: "POST".into(),
                    url: "https://tpp.example.com/vedsdk/Flow/Actions/CodeSign/PreQualify/Create".into(),
                    headers: vec!["authorization: ***".into()],
                    body: Some(Body::Object(format!(r#"{{"Dn":"\\VED\\Code Signing\\P","{field}":"{value}"}}"#))),
                }
            }))
            .collect(),
        })
    }

    /// The record's format is public: this is it, byte for byte. A change here is a change
    /// every reader of the report sees.
    #[test]
    fn the_record_is_exactly_this() {
        let mut out = Vec::new();
        write(&every_field(), &mut out).unwrap();
        let got = String::from_utf8(out).unwrap();
        let want = include_str!("record.golden.json")
            .replace("\"version\": \"0.1.0\"", &format!("\"version\": \"{}\"", env!("CARGO_PKG_VERSION")));
        assert_eq!(got, want);
    }
}
