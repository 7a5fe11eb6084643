//! Every documented answer, fed to the gate's parser for its endpoint, must be understood with
//! its documented meaning: success, each documented error and code, each documented status.

use codesign_gate::appviewx::{self, AvxError, SignState, StatusError};
use codesign_gate::venafi::{self, auth::parse_grant, Revoked, TppError};

use crate::data::{load, Example};

/// What the gate makes of one documented answer, in the data's vocabulary (`refused:7`,
/// `transient:CODE_SIGNING_0101`, ...), or `None` for an endpoint the gate never calls.
pub fn verdict(x: &Example) -> Option<String> {
    let status = x.status.expect("an answer has a status");
    let body = x.body.as_deref().unwrap_or_default().as_bytes();
    let tpp = |r: Result<(), TppError>| match r {
        Ok(()) => "success".to_string(),
        Err(TppError::Refused { code, .. }) => format!("refused:{}", code.map(|c| c.to_string()).unwrap_or_default()),
        Err(TppError::BadRequest { .. }) => "bad-request".into(),
        Err(TppError::InvalidToken(_)) => "invalid-token".into(),
        Err(TppError::Forbidden { .. }) => "forbidden".into(),
        Err(e) => format!("unexpected: {e}"),
    };
    let avx_code = |e: &AvxError| match e {
        AvxError::App { code: Some(code), .. } => code.clone(),
        _ => String::new(),
    };
    Some(match x.endpoint.as_str() {
        name @ ("authorize/oauth" | "authorize/jwt") => {
            let endpoint = if name == "authorize/oauth" { "authorize/oauth" } else { "authorize/jwt" };
            match parse_grant(endpoint, status, body) {
                Ok(_) => "granted".into(),
                Err(TppError::GrantRefused(_)) => "grant-refused".into(),
                Err(e) => format!("unexpected: {e}"),
            }
        }
        "revoke/token" => match venafi::parse_revoke(status, body) {
            Ok(Revoked::Revoked) => "revoked".into(),
            Ok(Revoked::AlreadyInvalid) => "already-invalid".into(),
            Err(_) => "not-revoked".into(),
        },
        name @ ("Codesign/GetEnvironment" | "Flow/Actions/CodeSign/PreQualify/Create" | "Codesign/AddPreApproval") => {
            let endpoint = match name {
                "Codesign/GetEnvironment" => "Codesign/GetEnvironment",
                "Codesign/AddPreApproval" => "Codesign/AddPreApproval",
                _ => "Flow/Actions/CodeSign/PreQualify/Create",
            };
            tpp(venafi::parse_sign_result(endpoint, status, body).map(|_| ()))
        }
        "login" => match appviewx::parse_login("avx-user", status, body) {
            Ok(_) => "session".into(),
            Err(AvxError::LoginRefused { .. }) => "login-refused".into(),
            Err(e) => format!("unexpected: {e}"),
        },
        "code-signing-generate-hash" => match appviewx::parse_submit(status, body) {
            Ok(_) => "submitted".into(),
            Err(e @ AvxError::App { .. }) => format!("app-error:{}", avx_code(&e)),
            Err(e) => format!("unexpected: {e}"),
        },
        "code-signing-fetch-status-sync-requests" => match appviewx::parse_status(status, body) {
            Ok(SignState::Pending) => "pending".into(),
            Ok(SignState::Signed { encoded }) => {
                let documented = x.json().and_then(|v| v["response"]["encodedHashData"].as_str().map(str::to_string));
                if documented.as_deref() == Some(encoded.as_str()) {
                    "signed".into()
                } else {
                    "signed, but not with the documented encodedHashData byte for byte".into()
                }
            }
            Ok(SignState::Failed(_)) => "failed".into(),
            Err(e) => match e.status_error() {
                StatusError::Transient => format!("transient:{}", avx_code(&e)),
                StatusError::NotVisibleYet => format!("not-visible-yet:{}", avx_code(&e)),
                StatusError::Final => format!("final:{}", avx_code(&e)),
            },
        },
        "oidc-token" => match codesign_gate::oidc::parse_id_token(status, body) {
            Ok(_) => "token".into(),
            Err(e) => format!("unexpected: {e}"),
        },
        // The gate's reading, and octocrab's typed model of GitHub's API (written by others) as a
        // second reading of the same documented answer.
        "check-runs" => match (
            codesign_gate::github::parse_created(status, body),
            serde_json::from_slice::<octocrab::models::checks::CheckRun>(body),
        ) {
            (Ok(_), Ok(_)) => "created".into(),
            (Err(e), _) => format!("unexpected: {e}"),
            (Ok(_), Err(e)) => format!("octocrab cannot read it: {e}"),
        },
        _ => return None,
    })
}

/// The documented meaning in the same vocabulary.
pub fn documented(x: &Example) -> String {
    let meaning = x.meaning.clone().expect("an answer has a meaning");
    match (meaning.as_str(), x.result, &x.code) {
        ("refused", Some(result), _) => format!("refused:{result}"),
        ("app-error" | "transient" | "not-visible-yet" | "final", _, Some(code)) => format!("{meaning}:{code}"),
        _ => meaning,
    }
}

#[test]
fn every_documented_answer_means_what_the_documents_say() {
    let data = load();
    let mut table = Vec::new();
    let mut wrong = Vec::new();
    for x in data.example.iter().filter(|x| x.direction == "response") {
        // A vendor sample that is not JSON where the endpoint answers JSON (a page that lost a
        // brace) says nothing about the wire; the revocation's text answer is real and is read.
        if x.body_format.as_deref() == Some("text") && x.endpoint != "revoke/token" {
            table.push(format!("skipped (the document's sample is not JSON): {}", x.label()));
            continue;
        }
        let Some(got) = verdict(x) else {
            table.push(format!("not called by the gate: {}", x.label()));
            continue;
        };
        let want = documented(x);
        table.push(format!("{}: {}", if got == want { "ok" } else { "WRONG" }, x.label()));
        if got != want {
            wrong.push(format!("{}: documented `{want}`, the gate reads `{got}`", x.label()));
        }
    }
    println!("{}", table.join("\n"));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(table.iter().filter(|l| l.starts_with("ok")).count() >= 40, "{}", table.join("\n"));
}
