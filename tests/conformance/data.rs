//! `exchanges.toml`, read into types. Only the keys the checks use are typed; the rest (sources,
//! notes, URLs) is there for the reader.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Deserialize)]
pub struct Data {
    pub endpoint: Vec<Endpoint>,
    pub example: Vec<Example>,
}

#[derive(Deserialize)]
pub struct Endpoint {
    pub name: String,
    pub service: String,
    pub method: String,
    pub path: String,
    pub source: String,
    #[serde(default)]
    pub query_required: Vec<String>,
    #[serde(default)]
    pub query_optional: Vec<String>,
    #[serde(default)]
    pub headers_required: Vec<String>,
    pub body: String,
    #[serde(default)]
    pub fields: BTreeMap<String, Field>,
    #[serde(default)]
    pub one_of: Vec<String>,
    #[serde(default)]
    pub response_fields: BTreeMap<String, Field>,
    #[serde(default)]
    pub response_inner_fields: BTreeMap<String, Field>,
}

#[derive(Deserialize)]
pub struct Field {
    #[serde(rename = "type")]
    pub ty: String,
    pub required: bool,
}

#[derive(Deserialize, Clone)]
pub struct Example {
    pub endpoint: String,
    pub source: String,
    pub direction: String,
    #[serde(default)]
    pub constructed: bool,
    #[serde(default)]
    pub body_format: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub meaning: Option<String>,
    #[serde(default)]
    pub result: Option<i64>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
}

impl Example {
    /// The body as JSON, when the example's body is JSON (a vendor sample can be a fragment).
    pub fn json(&self) -> Option<serde_json::Value> {
        if self.body_format.as_deref() != Some("json") {
            return None;
        }
        serde_json::from_str(self.body.as_deref()?).ok()
    }

    pub fn label(&self) -> String {
        let what = match (self.status, &self.meaning) {
            (Some(status), Some(meaning)) => format!("{status} {meaning}"),
            _ => self.direction.clone(),
        };
        let kind = if self.constructed { ", constructed" } else { "" };
        format!("{} {what} [{}{kind}]", self.endpoint, self.source)
    }
}

pub fn load() -> Data {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance/exchanges.toml");
    let text = std::fs::read_to_string(path).expect("exchanges.toml");
    toml::from_str(&text).expect("exchanges.toml is well formed")
}

impl Data {
    pub fn endpoint(&self, name: &str) -> &Endpoint {
        self.endpoint.iter().find(|e| e.name == name).unwrap_or_else(|| panic!("no endpoint `{name}` in the data"))
    }
}

/// The JSON type names the data uses.
pub fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

#[test]
fn the_data_is_complete_and_consistent() {
    let data = load();
    let names: Vec<&str> = data.endpoint.iter().map(|e| e.name.as_str()).collect();
    for wanted in [
        "authorize/oauth",
        "authorize/jwt",
        "authorize/verify",
        "revoke/token",
        "Codesign/GetEnvironment",
        "Flow/Actions/CodeSign/PreQualify/Create",
        "Codesign/AddPreApproval",
        "login",
        "code-signing-generate-hash",
        "code-signing-fetch-status-sync-requests",
        "oidc-token",
        "check-runs",
    ] {
        assert!(names.contains(&wanted), "no endpoint `{wanted}`");
        assert!(
            data.example.iter().any(|x| x.endpoint == wanted && x.direction == "response"),
            "`{wanted}` has no answer example"
        );
    }
    for e in &data.endpoint {
        assert!(!e.source.is_empty() && ["tpp", "appviewx", "github"].contains(&e.service.as_str()), "{}", e.name);
        assert!(
            ["GET", "POST"].contains(&e.method.as_str()) && ["json", "none"].contains(&e.body.as_str()),
            "{}",
            e.name
        );
    }
    for x in &data.example {
        assert!(names.contains(&x.endpoint.as_str()), "{}: unknown endpoint", x.label());
        assert!(!x.source.is_empty(), "{}: no source", x.label());
        if x.body_format.as_deref() == Some("json") {
            assert!(x.json().is_some(), "{}: body_format json, but the body is not JSON", x.label());
        }
        if x.direction == "response" {
            assert!(x.status.is_some() && x.meaning.is_some(), "{}: an answer needs status and meaning", x.label());
        }
    }
}
