//! `schemas/report.v1.json`, the report's published JSON Schema: it is a valid draft 2020-12
//! schema, the golden record (`src/report/record.golden.json`, every field set) conforms to it,
//! it describes every field of that record and no other, and it refuses what the gate never
//! writes. Every report the other tests read is checked against it too ([`Gate::collect`]).
//!
//! [`Gate::collect`]: crate::support::Gate::collect

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::support::{schema_errors, REPORT_SCHEMA};

const GOLDEN: &str = include_str!("../../src/report/record.golden.json");

fn schema() -> Value {
    serde_json::from_str(REPORT_SCHEMA).expect("schemas/report.v1.json is JSON")
}

fn golden() -> Value {
    serde_json::from_str(GOLDEN).expect("the golden record is JSON")
}

/// The golden record with `change` made to it.
fn golden_with(change: impl FnOnce(&mut Value)) -> Value {
    let mut report = golden();
    change(&mut report);
    report
}

/// Panics unless `report` fails the schema with an error at `path` that mentions `word`.
fn assert_refused(report: &Value, path: &str, word: &str) {
    let errors = schema_errors(report);
    assert!(
        errors.iter().any(|e| e.starts_with(&format!("{path}: ")) && e.contains(word)),
        "expected an error at {path} naming `{word}`, got {errors:#?}"
    );
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    let schema = schema();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
        panic!("schemas/report.v1.json breaks the 2020-12 meta-schema at {}: {e}", e.instance_path());
    }
    assert_eq!(schema["properties"]["report_version"]["const"], 1, "this schema is version 1's");
}

#[test]
fn the_golden_record_conforms() {
    assert_eq!(schema_errors(&golden()), Vec::<String>::new());
    // The same record without `plan` is a real run's: `planned` is then no result.
    let real = golden_with(|r| {
        r.as_object_mut().expect("an object").remove("plan");
    });
    assert_eq!(schema_errors(&real), Vec::<String>::new());
    let mut unplanned = real.clone();
    unplanned["result"] = json!("planned");
    assert_refused(&unplanned, "/result", "planned");
    assert_refused(&golden_with(|r| r["result"] = json!("success")), "/result", "success");
}

#[test]
fn a_field_the_schema_does_not_know_is_refused() {
    assert_refused(&golden_with(|r| r["signature"] = json!("...")), "(the report)", "signature");
    assert_refused(&golden_with(|r| r["artifacts"][0]["sha256"] = json!("ab")), "/artifacts/0", "sha256");
    assert_refused(
        &golden_with(|r| r["artifacts"][1]["prequalify"]["code"] = json!(3)),
        "/artifacts/1/prequalify",
        "code",
    );
    assert_refused(&golden_with(|r| r["github"]["ref"] = json!("refs/heads/main")), "/github", "ref");
    // A message belongs to a failed status only.
    assert_refused(
        &golden_with(|r| r["artifacts"][0]["preapproval"] = json!({"status": "planned", "message": "x"})),
        "/artifacts/0/preapproval/message",
        "x",
    );
}

#[test]
fn a_field_of_the_wrong_type_is_refused() {
    assert_refused(&golden_with(|r| r["duration_ms"] = json!("2500")), "/duration_ms", "integer");
    assert_refused(&golden_with(|r| r["calls"][0]["http_status"] = json!("200")), "/calls/0/http_status", "200");
    assert_refused(&golden_with(|r| r["tpp_auth"]["obtained"] = json!(null)), "/tpp_auth/obtained", "boolean");
    assert_refused(&golden_with(|r| r["report_version"] = json!(2)), "/report_version", "1");
    assert_refused(&golden_with(|r| r["awaited"][0]["status"] = json!("timed out")), "/awaited/0/status", "timed out");
}

#[test]
fn a_missing_required_field_is_refused() {
    assert_refused(
        &golden_with(|r| {
            r.as_object_mut().expect("an object").remove("calls");
        }),
        "(the report)",
        "calls",
    );
    assert_refused(
        &golden_with(|r| {
            r["artifacts"][0].as_object_mut().expect("an object").remove("digest_error");
        }),
        "/artifacts/0",
        "digest_error",
    );
    assert_refused(
        &golden_with(|r| r["artifacts"][1]["prequalify"] = json!({"status": "failed"})),
        "/artifacts/1/prequalify",
        "message",
    );
}

#[test]
fn a_plan_reports_nothing_done_or_signed() {
    assert_refused(
        &golden_with(|r| r["artifacts"][0]["prequalify"] = json!({"status": "done"})),
        "/artifacts/0/prequalify/status",
        "done",
    );
    assert_refused(
        &golden_with(|r| r["artifacts"][0]["sign"]["status"] = json!("signed")),
        "/artifacts/0/sign/status",
        "signed",
    );
    assert_refused(
        &golden_with(|r| r["tpp_auth"]["revocations"][0] = json!("revoked")),
        "/tpp_auth/revocations/0",
        "revoked",
    );
    assert_refused(&golden_with(|r| r["tpp_auth"]["identity"] = json!("local:u")), "/tpp_auth/identity", "local:u");
}

/// The schemas that describe a value, each with the definition it belongs to (`report` for the
/// top level): `node`, its local `$ref` target, and each `oneOf` or `anyOf` branch, followed to
/// the end.
fn resolve<'a>(root: &'a Value, owner: &'a str, node: &'a Value) -> Vec<(&'a str, &'a Value)> {
    let mut out = vec![(owner, node)];
    if let Some(target) = node.get("$ref").and_then(Value::as_str) {
        let name = target.strip_prefix("#/$defs/").unwrap_or_else(|| panic!("only local refs: {target}"));
        out.extend(resolve(root, name, &root["$defs"][name]));
    }
    for key in ["oneOf", "anyOf"] {
        for branch in node.get(key).and_then(Value::as_array).into_iter().flatten() {
            out.extend(resolve(root, owner, branch));
        }
    }
    out
}

/// Walks `instance` beside its schema. Each object key goes to `seen` as `definition.key`, or
/// to `unknown` by its path (`artifacts[].sign.status`) when no schema there declares it. An
/// object whose schemas declare no properties at all (a planned request's `body`, the vendor's
/// JSON) is not walked into.
fn walk(
    root: &Value,
    (owner, schema): (&str, &Value),
    instance: &Value,
    path: &str,
    seen: &mut BTreeSet<String>,
    unknown: &mut Vec<String>,
) {
    let schemas = resolve(root, owner, schema);
    match instance {
        Value::Object(map) if schemas.iter().any(|(_, s)| s.get("properties").is_some()) => {
            for (key, value) in map {
                let at = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                let subs: Vec<(&str, &Value)> =
                    schemas.iter().filter_map(|&(owner, s)| Some((owner, s.get("properties")?.get(key)?))).collect();
                if subs.is_empty() {
                    unknown.push(at);
                    continue;
                }
                for (owner, sub) in subs {
                    seen.insert(format!("{owner}.{key}"));
                    walk(root, (owner, sub), value, &at, seen, unknown);
                }
            }
        }
        Value::Array(items) => {
            for (owner, items_schema) in schemas.iter().filter_map(|&(owner, s)| Some((owner, s.get("items")?))) {
                for item in items {
                    walk(root, (owner, items_schema), item, &format!("{path}[]"), seen, unknown);
                }
            }
        }
        _ => {}
    }
}

/// Every property the schema declares, as `definition.key`, checking on the way that each has a
/// description and each object schema with properties is closed (`additionalProperties: false`).
fn declared(root: &Value, (owner, schema): (&str, &Value), out: &mut BTreeSet<String>, faults: &mut BTreeSet<String>) {
    for (owner, s) in resolve(root, owner, schema) {
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            if s.get("additionalProperties") != Some(&Value::Bool(false)) {
                faults.insert(format!("{owner}: an object schema without `additionalProperties: false`"));
            }
            for (key, sub) in props {
                let field = format!("{owner}.{key}");
                if sub.get("description").and_then(Value::as_str).is_none_or(str::is_empty) {
                    faults.insert(format!("{field}: no description"));
                }
                if out.insert(field) {
                    declared(root, (owner, sub), out, faults);
                }
            }
        }
        if let Some(items) = s.get("items") {
            declared(root, (owner, items), out, faults);
        }
    }
}

#[test]
fn the_schema_describes_every_field_of_the_golden_record_and_no_other() {
    let schema = schema();
    let mut seen = BTreeSet::new();
    let mut unknown = Vec::new();
    walk(&schema, ("report", &schema), &golden(), "", &mut seen, &mut unknown);
    assert!(unknown.is_empty(), "fields of the golden record the schema does not declare: {unknown:#?}");

    let mut fields = BTreeSet::new();
    let mut faults = BTreeSet::new();
    declared(&schema, ("report", &schema), &mut fields, &mut faults);
    assert!(faults.is_empty(), "{faults:#?}");
    // The golden record sets every field (src/report/json.rs), so a field only the schema has
    // is one the record no longer writes.
    let stale: Vec<&String> = fields.difference(&seen).collect();
    assert!(stale.is_empty(), "fields the schema declares that the golden record does not have: {stale:#?}");
}
