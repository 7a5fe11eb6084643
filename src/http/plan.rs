//! The plan transport: in a plan (`dry-run`, or a pull request from a fork) every call still goes
//! through [`super::Http::send`], which records it here with its secrets as `***` instead of
//! sending it, and answers as the service documents its success, so every stage takes the same
//! path as in a real run. The answers carry placeholders named `planned-…`; the outcome of a plan
//! turns every success they lead to into "planned".

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde_json::{json, Value};

use super::call::{Call, Header};

/// What a secret reads as in a plan.
pub const HIDDEN: &str = "***";

/// The request as it would go out, without its secrets: headers marked secret, body fields and
/// query parameters the call site named secret, all read `***`.
pub fn describe(call: &Call) -> PlannedRequest {
    let mut url = call.url.clone();
    if !call.secret_query.is_empty() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let hidden = call.secret_query.iter().any(|s| *s == k);
                (k.into_owned(), if hidden { HIDDEN.to_string() } else { v.into_owned() })
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let mut headers: Vec<String> = call
        .headers
        .iter()
        .map(|(name, value)| match value {
            Header::Plain(v) => format!("{name}: {v}"),
            Header::Secret(_) => format!("{name}: {HIDDEN}"),
        })
        .collect();
    let body = call.body.as_deref().map(|bytes| {
        if !headers.iter().any(|h| h.starts_with("content-type:")) {
            headers.push(format!("content-type: {}", call.content_type));
        }
        Body::redacted(bytes, &call.secret_fields)
    });
    PlannedRequest {
        service: call.service,
        endpoint: call.endpoint,
        artifact: call.artifact.clone(),
        method: call.method.as_str().to_string(),
        url: url.to_string(),
        headers,
        body,
    }
}

/// A JSON body with its top-level fields in the order they are sent, so the plan shows the
/// request as it goes out (`serde_json`'s own map sorts its keys).
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A JSON object, fields in order; secret fields read `***`.
    Object(Vec<(String, Value)>),
    /// Anything else, described by size only: it could hold anything.
    Other(String),
}

impl Body {
    fn redacted(bytes: &[u8], secret_fields: &[&str]) -> Body {
        match serde_json::from_slice::<Fields>(bytes) {
            Ok(Fields(fields)) => Body::Object(
                fields
                    .into_iter()
                    .map(|(k, v)| {
                        let v = if secret_fields.contains(&k.as_str()) { Value::String(HIDDEN.into()) } else { v };
                        (k, v)
                    })
                    .collect(),
            ),
            Err(_) => Body::Other(format!("({} bytes, not a JSON object)", bytes.len())),
        }
    }

    /// The body on one line, as it would be sent (secrets aside).
    pub fn text(&self) -> String {
        match self {
            Body::Object(_) => serde_json::to_string(self).unwrap_or_default(),
            Body::Other(what) => what.clone(),
        }
    }
}

impl serde::Serialize for Body {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Body::Object(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Body::Other(what) => s.serialize_str(what),
        }
    }
}

/// The top-level fields of a JSON object, in order.
struct Fields(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(InOrder)
    }
}

/// The answer the service documents for success, with placeholders where only a real server
/// could supply a value (`nth` counts earlier calls to the same endpoint, for distinct sign ids).
/// `None` for a call the plan has no answer for, which then fails loudly.
pub fn answer(endpoint: &str, nth: usize) -> Option<(u16, Vec<u8>)> {
    let body = match endpoint {
        // TPP's grant, password or JWT alike; `identity` only a real TPP can name.
        "authorize/oauth" | "authorize/jwt" => json!({
            "access_token": "planned-tpp-access-token",
            "refresh_token": "planned-tpp-refresh-token",
            "token_type": "Bearer",
        }),
        // GitHub's runner: `{"count": …, "value": "<jwt>"}`.
        "oidc-token" => json!({"count": 1, "value": "planned.github-oidc.token"}),
        // The documented success of Codesign/* and PreQualify/Create.
        "Codesign/GetEnvironment" | "Flow/Actions/CodeSign/PreQualify/Create" | "Codesign/AddPreApproval" => {
            json!({"Success": true})
        }
        // 200 with no body revokes the grant.
        "revoke/token" => return Some((200, Vec::new())),
        "login" => json!({
            "response": {"status": "SUCCESS", "appStatusCode": null, "statusDescription": null,
                         "sessionId": "planned-appviewx-session", "availableLoginAttemptCount": null},
            "message": null, "appStatusCode": null, "tags": null, "headers": null,
        }),
        "code-signing-generate-hash" => json!({
            "response": {"signId": format!("planned-sign-id-{}", nth + 1)},
            "message": null, "appStatusCode": null, "tags": null, "headers": null,
        }),
        // Final at the first ask, so the wait ends at once; the outcome of a plan records it
        // as planned and writes no signature.
        "code-signing-fetch-status-sync-requests" => json!({
            "response": {"status": "Signed", "encodedHashData": "planned"},
            "message": null, "appStatusCode": null, "tags": null, "headers": null,
        }),
        // GitHub's 201 Created; a plan publishes nothing, so there is no page to link.
        "check-runs" => return Some((201, br#"{"html_url":null}"#.to_vec())),
        // No earlier attempt's check run: a plan of a re-run plans a run afresh.
        "list-check-runs" => json!({"total_count": 0, "check_runs": []}),
        _ => return None,
    };
    Some((200, body.to_string().into_bytes()))
}

/// A request a plan would have sent, with every secret as `***`.
#[derive(Debug, Clone)]
pub struct PlannedRequest {
    /// `tpp`, `appviewx` or `github`.
    pub service: &'static str,
    /// The vendor's name for the call.
    pub endpoint: &'static str,
    /// The artifact the call is about, if any.
    pub artifact: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// In full, a credential in the query (`gwkey`) as `***`.
    pub url: String,
    /// `name: value`, credentials as `***`.
    pub headers: Vec<String>,
    /// The JSON body, fields in the order sent, credentials as `***`.
    pub body: Option<Body>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use reqwest::{Method, Url};

    #[test]
    fn secrets_read_as_stars_and_fields_keep_their_order() {
        let url = Url::parse("https://avx.example.com/avxapi/login?gwsource=external&gwkey=tenant-key-1").unwrap();
        let call = Call::new("appviewx", "login", Method::POST, url)
            .header("username", "u")
            .secret_header("password", &Secret::new("pw-1"))
            .json(&json!({"zeta": 1, "password": "pw-2", "alpha": "a"}))
            .secret_field("password")
            .secret_query("gwkey");
        let planned = describe(&call);
        let shown =
            format!("{} {} {:?} {}", planned.method, planned.url, planned.headers, planned.body.unwrap().text());
        assert_eq!(
            shown,
            "POST https://avx.example.com/avxapi/login?gwsource=external&gwkey=*** \
             [\"username: u\", \"password: ***\", \"content-type: application/json\"] \
             {\"alpha\":\"a\",\"password\":\"***\",\"zeta\":1}"
        );
        assert!(!shown.contains("pw-") && !shown.contains("tenant-key"));
    }

    #[test]
    fn every_answer_parses_as_the_documented_success() {
        for endpoint in ["authorize/oauth", "authorize/jwt"] {
            let (status, body) = answer(endpoint, 0).unwrap();
            assert!(crate::venafi::auth::parse_grant("x", status, &body).is_ok());
        }
        let (status, body) = answer("Codesign/AddPreApproval", 0).unwrap();
        assert!(crate::venafi::parse_sign_result("x", status, &body).is_ok());
        let (status, body) = answer("revoke/token", 0).unwrap();
        assert!(crate::venafi::parse_revoke(status, &body).is_ok());
        let (status, body) = answer("oidc-token", 0).unwrap();
        assert!(crate::oidc::parse_id_token(status, &body).is_ok());
        let (status, body) = answer("login", 0).unwrap();
        assert!(crate::appviewx::parse_login("u", status, &body).is_ok());
        let (status, body) = answer("code-signing-generate-hash", 1).unwrap();
        assert_eq!(crate::appviewx::parse_submit(status, &body).unwrap().sign_id, "planned-sign-id-2");
        let (status, body) = answer("code-signing-fetch-status-sync-requests", 0).unwrap();
        assert!(matches!(crate::appviewx::parse_status(status, &body), Ok(crate::appviewx::SignState::Signed { .. })));
        assert!(answer("something-else", 0).is_none());
    }
}
