//! The vendor response parsers against arbitrary answers: they never panic, and whatever the
//! server sends, a secret in the answer never reaches an error message (errors end up in logs,
//! annotations and the report). `PROPTEST_CASES` scales the run.

use codesign_gate::appviewx::{parse_login, parse_status, parse_submit};
use codesign_gate::venafi::auth::parse_grant;
use codesign_gate::venafi::parse_sign_result;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const MARKER: &str = "S3CRET-MARKER-VALUE";

/// Field names the parsers look at, and some they do not.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("response".to_string()),
        Just("message".to_string()),
        Just("appStatusCode".to_string()),
        Just("status".to_string()),
        Just("signId".to_string()),
        Just("encodedHashData".to_string()),
        Just("failedDueToTimeoutError".to_string()),
        Just("sessionId".to_string()),
        Just("availableLoginAttemptCount".to_string()),
        Just("access_token".to_string()),
        Just("refresh_token".to_string()),
        Just("error".to_string()),
        Just("error_description".to_string()),
        Just("Success".to_string()),
        Just("Result".to_string()),
        Just("Error".to_string()),
        "[a-zA-Z_]{1,12}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "[ -~]{0,20}".prop_map(Value::String),
        Just(json!("Signed")),
        Just(json!("Inprogress")),
        Just(json!(1)),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(field_name(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Plants the marker in every secret-bearing field and in fields no parser reads.
fn plant(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if matches!(k.as_str(), "sessionId" | "access_token" | "refresh_token") || !is_read(k) {
                    *val = json!(MARKER);
                } else {
                    plant(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(plant),
        _ => {}
    }
}

fn is_read(k: &str) -> bool {
    [
        "response",
        "message",
        "appStatusCode",
        "status",
        "signId",
        "encodedHashData",
        "failedDueToTimeoutError",
        "availableLoginAttemptCount",
        "error",
        "error_description",
        "Success",
        "Result",
        "Error",
    ]
    .contains(&k)
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![Just(200u16), Just(400), Just(401), Just(403), Just(500), Just(503), 100u16..600]
}

fn check_all(status: u16, body: &[u8]) -> Vec<String> {
    let mut errors = Vec::new();
    if let Err(e) = parse_grant("authorize/oauth", status, body) {
        errors.push(e.to_string());
    }
    for endpoint in ["Flow/Actions/CodeSign/PreQualify/Create", "Codesign/AddPreApproval"] {
        if let Err(e) = parse_sign_result(endpoint, status, body) {
            errors.push(e.to_string());
        }
    }
    if let Err(e) = parse_login("user", status, body) {
        errors.push(e.to_string());
    }
    if let Err(e) = parse_submit(status, body) {
        errors.push(e.to_string());
    }
    if let Err(e) = parse_status(status, body) {
        errors.push(e.to_string());
    }
    errors
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(status in status(), body in prop::collection::vec(any::<u8>(), 0..256)) {
        for e in check_all(status, &body) {
            prop_assert!(!e.contains('\n'), "one line: {}", e);
        }
    }

    #[test]
    fn secrets_in_any_answer_stay_out_of_errors(status in status(), mut body in json_value(), wrap in any::<bool>()) {
        plant(&mut body);
        let body = if wrap { json!({"response": body, "message": null, "appStatusCode": null}) } else { body };
        let bytes = serde_json::to_vec(&body).expect("serialise");
        for e in check_all(status, &bytes) {
            prop_assert!(!e.contains(MARKER), "a value leaked into an error: {}", e);
        }
    }
}

#[test]
fn known_answers_parse() {
    let grant = parse_grant(
        "authorize/oauth",
        200,
        br#"{"access_token":"a","refresh_token":"r","expires":1,"identity":"local:x","token_type":"Bearer"}"#,
    );
    assert_eq!(grant.expect("grant").identity.as_deref(), Some("local:x"));
    assert!(parse_sign_result("Codesign/AddPreApproval", 200, br#"{"Success":true,"Result":1}"#).is_ok());
    let refused =
        parse_sign_result("Codesign/AddPreApproval", 200, br#"{"Success":false,"Result":7,"Error":"no such DN"}"#);
    assert_eq!(
        refused.expect_err("refused").to_string(),
        "Codesign/AddPreApproval refused: Result 7 ObjectNotFound: no such DN"
    );
    let submitted = parse_submit(200, br#"{"response":{"signId":"65c47fa41112f940dab1cb12","status":"Inprogress"},"message":null,"appStatusCode":null}"#);
    assert_eq!(submitted.expect("submitted").sign_id, "65c47fa41112f940dab1cb12");
    let unknown = parse_submit(200, br#"{"response":{"requestId":"abc","state":"queued"},"appStatusCode":null}"#)
        .expect_err("unknown shape");
    assert!(unknown.to_string().contains("requestId, state") && !unknown.to_string().contains("queued"), "{unknown}");
    let bad_id = parse_submit(200, br#"{"response":{"signId":"../../etc"},"appStatusCode":null}"#);
    assert!(bad_id.is_err());
    let _ = Map::<String, Value>::new();
}
