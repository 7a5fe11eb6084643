//! The plan transport: in a plan (`dry-run`, or a pull request from a fork) every call still goes
//! through [`super::Http::send`], which records it here with its secrets as `***` instead of
//! sending it, and answers as the service documents its success, so every stage takes the same
//! path as in a real run. The answers carry placeholders named `planned-…`; the outcome of a plan
//! turns every success they lead to into "planned".

use std::borrow::Cow;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;

use super::call::{Call, Header};

/// What a secret reads as in a plan.
pub const HIDDEN: &str = "***";

/// The request as it would go out, without its secrets: headers marked secret, body fields and
/// query parameters the call site named secret, all read `***`.
pub fn describe(call: &Call) -> PlannedRequest {
    PlannedRequest {
        service: call.service,
        endpoint: call.endpoint,
        artifact: call.artifact.clone(),
        method: call.method.as_str().to_string(),
        url: shown_url(call).into_owned(),
        headers: shown_headers(call).iter().map(|(name, value)| format!("{name}: {value}")).collect(),
        body: call.body.as_deref().map(|bytes| Body::redacted(bytes, &call.secret_fields)),
    }
}

/// The URL as a plan shows it: a credential in the query (`gwkey`) as `***`.
pub(super) fn shown_url(call: &Call) -> Cow<'_, str> {
    if call.secret_query.is_empty() {
        return Cow::Borrowed(call.url.as_str());
    }
    let mut url = call.url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let hidden = call.secret_query.iter().any(|s| *s == k);
            (k.into_owned(), if hidden { HIDDEN.to_string() } else { v.into_owned() })
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    Cow::Owned(url.into())
}

/// The headers as a plan shows them, name and value, credentials as `***`; with a body, its
/// content type, which the client adds when the call names none.
pub(super) fn shown_headers(call: &Call) -> Vec<(&'static str, &str)> {
    let mut headers: Vec<(&'static str, &str)> = call
        .headers
        .iter()
        .map(|(name, value)| match value {
            Header::Plain(v) => (*name, v.as_str()),
            Header::Secret(_) => (*name, HIDDEN),
        })
        .collect();
    if call.body.is_some() && !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type")) {
        headers.push(("content-type", call.content_type));
    }
    headers
}

/// A request's body as a plan shows it: the JSON object as sent, its top-level fields in the
/// order they go out (`serde_json`'s own map would sort them), secret fields as `***`.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A JSON object, compact. Kept as its text rather than as a tree of values: a plan of a
    /// long checksum list holds hundreds of thousands of bodies, and the text is all a plan
    /// shows of each.
    Object(String),
    /// Anything else, described by size only: it could hold anything.
    Other(String),
}

/// A body's top-level fields, borrowed from its text, in order.
pub type Fields<'a> = Vec<(Cow<'a, str>, &'a RawValue)>;

impl Body {
    fn redacted(bytes: &[u8], secret_fields: &[&str]) -> Body {
        let Ok(text) = std::str::from_utf8(bytes) else { return Body::not_an_object(bytes.len()) };
        if secret_fields.is_empty() {
            // Nothing to hide: as sent, once it reads as an object (checked without reading
            // its fields, as most bodies of a plan are of this kind).
            if text.trim_start().starts_with('{') && serde_json::from_str::<&RawValue>(text).is_ok() {
                return Body::Object(text.to_string());
            }
            return Body::not_an_object(bytes.len());
        }
        match shown_fields(bytes, secret_fields) {
            Some(fields) => Body::object(fields.iter().map(|(k, v)| (k.as_ref(), *v))),
            None => Body::not_an_object(bytes.len()),
        }
    }

    /// A body that is not a JSON object, described by size only: it could hold anything.
    pub(super) fn not_an_object(len: usize) -> Body {
        Body::Other(format!("({len} bytes, not a JSON object)"))
    }

    /// The object of these fields, each a name and its value's JSON text.
    pub fn object<'a>(fields: impl Iterator<Item = (&'a str, &'a str)>) -> Body {
        let mut out = String::from("{");
        for (n, (key, value)) in fields.enumerate() {
            if n > 0 {
                out.push(',');
            }
            if key.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
                out.push('"');
                out.push_str(key);
                out.push('"');
            } else {
                out.push_str(&serde_json::to_string(key).unwrap_or_default());
            }
            out.push(':');
            out.push_str(value);
        }
        out.push('}');
        Body::Object(out)
    }

    /// The body on one line, as it would be sent (secrets aside).
    pub fn text(&self) -> &str {
        match self {
            Body::Object(text) | Body::Other(text) => text,
        }
    }

    /// An object's fields; `None` for anything else.
    pub fn fields(&self) -> Option<Fields<'_>> {
        match self {
            Body::Object(text) => fields(text),
            Body::Other(_) => None,
        }
    }

    /// Passes the text through `redact`. An object that no longer reads as one (a secret
    /// spanned its punctuation) is shown by size only.
    pub fn redact(&mut self, redact: impl Fn(&str) -> Cow<'_, str>) {
        let (Body::Object(text) | Body::Other(text)) = self;
        let Cow::Owned(redacted) = redact(text) else { return };
        *self = match self {
            Body::Object(_) if fields(&redacted).is_none() => {
                Body::Other(format!("({} bytes, a JSON object with a secret in it)", redacted.len()))
            }
            Body::Object(_) => Body::Object(redacted),
            Body::Other(_) => Body::Other(redacted),
        };
    }
}

impl serde::Serialize for Body {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Body::Object(text) => match serde_json::from_str::<&RawValue>(text) {
                Ok(raw) => raw.serialize(s),
                Err(_) => s.serialize_str(text),
            },
            Body::Other(what) => s.serialize_str(what),
        }
    }
}

/// A body's top-level fields as a plan shows them, each a name and its value's JSON text,
/// secret fields as `***`; `None` when it is not a JSON object.
pub(super) fn shown_fields<'a>(bytes: &'a [u8], secret_fields: &[&str]) -> Option<Vec<(Cow<'a, str>, &'a str)>> {
    let fields = fields(std::str::from_utf8(bytes).ok()?)?;
    let shown = fields.into_iter().map(|(key, value)| {
        let hidden = secret_fields.contains(&key.as_ref());
        (key, if hidden { "\"***\"" } else { value.get() })
    });
    Some(shown.collect())
}

/// The top-level fields of the JSON object `text`, borrowed from it; `None` when it is not one.
fn fields(text: &str) -> Option<Fields<'_>> {
    serde_json::from_str::<InOrder<'_>>(text).ok().map(|f| f.0)
}

struct InOrder<'a>(Fields<'a>);

impl<'de> serde::Deserialize<'de> for InOrder<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = InOrder<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<InOrder<'de>, A::Error> {
                let mut fields = Vec::new();
                while let Some((Key(k), v)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    fields.push((k, v));
                }
                Ok(InOrder(fields))
            }
        }
        d.deserialize_map(Object)
    }
}

/// A field's name, borrowed unless it holds an escape.
struct Key<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl<'de> Visitor<'de> for Name {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(Name)
    }
}

/// The answer the service documents for success, with placeholders where only a real server
/// could supply a value (`nth` counts earlier calls to the same endpoint, for distinct sign ids).
/// `None` for a call the plan has no answer for, which then fails loudly.
pub fn answer(endpoint: &str, nth: usize) -> Option<(u16, Vec<u8>)> {
    // Written out rather than built as JSON values: a plan of a long checksum list answers
    // hundreds of thousands of calls.
    let body: &str = match endpoint {
        // TPP's grant, password or JWT alike; `identity` only a real TPP can name.
        "authorize/oauth" | "authorize/jwt" => {
            r#"{"access_token":"planned-tpp-access-token","refresh_token":"planned-tpp-refresh-token","token_type":"Bearer"}"#
        }
        // GitHub's runner: `{"count": …, "value": "<jwt>"}`.
        "oidc-token" => r#"{"count":1,"value":"planned.github-oidc.token"}"#,
        // The documented success of Codesign/* and PreQualify/Create.
        "Codesign/GetEnvironment" | "Flow/Actions/CodeSign/PreQualify/Create" | "Codesign/AddPreApproval" => {
            r#"{"Success":true}"#
        }
        // 200 with no body revokes the grant.
        "revoke/token" => "",
        "login" => concat!(
            r#"{"response":{"status":"SUCCESS","appStatusCode":null,"statusDescription":null,"#,
            r#""sessionId":"planned-appviewx-session","availableLoginAttemptCount":null},"#,
            r#""message":null,"appStatusCode":null,"tags":null,"headers":null}"#
        ),
        "code-signing-generate-hash" => {
            let body = format!(
                r#"{{"response":{{"signId":"planned-sign-id-{}"}},"message":null,"appStatusCode":null,"tags":null,"headers":null}}"#,
                nth + 1
            );
            return Some((200, body.into_bytes()));
        }
        // Final at the first ask, so the wait ends at once; the outcome of a plan records it
        // as planned and writes no signature.
        "code-signing-fetch-status-sync-requests" => concat!(
            r#"{"response":{"status":"Signed","encodedHashData":"planned"},"#,
            r#""message":null,"appStatusCode":null,"tags":null,"headers":null}"#
        ),
        // GitHub's 201 Created; a plan publishes nothing, so there is no page to link.
        "check-runs" => return Some((201, br#"{"html_url":null}"#.to_vec())),
        // No earlier attempt's check run: a plan of a re-run plans a run afresh.
        "list-check-runs" => r#"{"total_count":0,"check_runs":[]}"#,
        _ => return None,
    };
    Some((200, body.as_bytes().to_vec()))
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
    use serde_json::{json, Value};

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
        for endpoint in ["oidc-token", "check-runs", "list-check-runs", "Codesign/GetEnvironment"] {
            let (_, body) = answer(endpoint, 0).unwrap();
            assert!(serde_json::from_slice::<Value>(&body).is_ok(), "{endpoint}");
        }
    }
}
