//! The `variants` mode: every JSON answer is rewritten, deterministically from the seed and the
//! request's index, into another answer a real server could give for the same outcome.
//!
//! What varies is only what the documents leave open: the order of object keys, whether an
//! optional field is absent or `null`, unknown extra fields (at the top level and in nested
//! objects), `Result: 1` on a TPP success, `Error: null` on a success. What never varies: HTTP
//! status, `Success`, a refusal's `Result` and `Error`, `error`, AppViewX's `appStatusCode`,
//! `message` when it is not `null`, `status`, `sessionId`, `signId`, `encodedHashData`, tokens
//! and the token answer's `expires`.
//!
//! `serde_json`'s `Map` is sorted (the workspace does not enable `preserve_order`, and enabling it
//! here would change the gate's maps too), so the text is written here, in the shuffled order.

use serde_json::{Map, Value};

/// splitmix64: tiny, seedable, and good enough to pick variations.
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64, index: u64) -> SplitMix64 {
        let mut rng = SplitMix64(seed ^ index.wrapping_mul(0xd1b5_4a32_d192_ed03));
        // Decorrelate neighbouring indexes before the first draw.
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// An index into something `len` long (`len > 0`).
    fn index(&mut self, len: usize) -> usize {
        let drawn = self.below(u64::try_from(len).unwrap_or(u64::MAX));
        usize::try_from(drawn).unwrap_or(0)
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

/// Which vendor's conventions an answer follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Vendor {
    Tpp,
    AppViewX,
}

/// The varied text of a JSON answer, or `None` when the body is not a JSON object (an empty
/// revoke answer, for one), which is then sent unchanged.
pub(crate) fn vary(seed: u64, index: u64, vendor: Vendor, body: &[u8]) -> Option<Vec<u8>> {
    let Value::Object(mut top) = serde_json::from_slice::<Value>(body).ok()? else {
        return None;
    };
    let mut rng = SplitMix64::new(seed, index);
    match vendor {
        Vendor::Tpp => vary_tpp(&mut top, &mut rng),
        Vendor::AppViewX => vary_avx(&mut top, &mut rng),
    }
    // Unknown fields, nested first so the nested ones stay one level down.
    for value in top.values_mut() {
        if let Value::Object(nested) = value {
            add_extras(nested, &mut rng);
        }
    }
    add_extras(&mut top, &mut rng);
    let mut out = String::with_capacity(body.len() + 64);
    write_value(&Value::Object(top), &mut rng, &mut out);
    Some(out.into_bytes())
}

/// Keeps the field, makes it `null`, or removes it, each about a third of the time.
fn keep_null_or_drop(map: &mut Map<String, Value>, key: &str, rng: &mut SplitMix64) {
    if !map.contains_key(key) {
        return;
    }
    match rng.below(3) {
        0 => {}
        1 => {
            map.insert(key.to_string(), Value::Null);
        }
        _ => {
            map.remove(key);
        }
    }
}

/// A field that is `null` stays `null` or goes away.
fn null_or_drop(map: &mut Map<String, Value>, key: &str, rng: &mut SplitMix64) {
    if map.get(key).is_some_and(Value::is_null) && rng.chance(2) {
        map.remove(key);
    }
}

/// An absent field may appear with one of `values` (a value that says the same as its absence).
fn maybe_add(map: &mut Map<String, Value>, key: &str, values: &[Value], rng: &mut SplitMix64) {
    if map.contains_key(key) || values.is_empty() {
        return;
    }
    let pick = rng.below(values.len() as u64 + 1);
    if let Some(v) = usize::try_from(pick).ok().and_then(|i| values.get(i)) {
        map.insert(key.to_string(), v.clone());
    }
}

fn vary_tpp(top: &mut Map<String, Value>, rng: &mut SplitMix64) {
    // Only a success varies here: a refusal keeps Success, Result and Error as they are.
    if top.get("Success") == Some(&Value::Bool(true)) {
        if top.get("Result") == Some(&Value::from(1)) {
            if rng.chance(2) {
                top.remove("Result");
            }
        } else if !top.contains_key("Result") && rng.chance(2) {
            top.insert("Result".to_string(), Value::from(1));
        }
        maybe_add(top, "Error", &[Value::Null], rng);
    }
    if top.contains_key("access_token") {
        for key in ["refresh_token", "refresh_until", "identity", "scope", "token_type"] {
            keep_null_or_drop(top, key, rng);
        }
    }
    if top.contains_key("valid_for") {
        for key in [
            "access_issued_on",
            "access_issued_on_ISO8601",
            "access_issued_on_unix_time",
            "application",
            "expires",
            "expires_unix_time",
            "grant_issued_on",
            "grant_issued_on_ISO8601",
            "grant_issued_on_unix_time",
        ] {
            keep_null_or_drop(top, key, rng);
        }
    }
    if top.get("error").is_some_and(Value::is_string) {
        // "error_description: If available, additional information".
        keep_null_or_drop(top, "error_description", rng);
    }
}

fn vary_avx(top: &mut Map<String, Value>, rng: &mut SplitMix64) {
    for key in ["message", "tags", "headers"] {
        null_or_drop(top, key, rng);
    }
    let Some(Value::Object(response)) = top.get_mut("response") else {
        return;
    };
    let status = response.get("status").and_then(Value::as_str).map(str::to_string);
    match status.as_deref() {
        Some("SUCCESS") => {
            null_or_drop(response, "appStatusCode", rng);
            null_or_drop(response, "statusDescription", rng);
            if response.get("availableLoginAttemptCount").is_some_and(Value::is_number) && rng.chance(2) {
                response.insert("availableLoginAttemptCount".to_string(), Value::Null);
            }
        }
        Some("FAILURE") => null_or_drop(response, "sessionId", rng),
        Some("Inprogress") => {
            keep_null_or_drop(response, "noOfInProgressRequests", rng);
            if response.get("failedDueToTimeoutError") == Some(&Value::Bool(false)) {
                keep_null_or_drop(response, "failedDueToTimeoutError", rng);
            }
            maybe_add(response, "encodedHashData", &[Value::Null], rng);
        }
        Some("Signed") => {
            maybe_add(response, "failedDueToTimeoutError", &[Value::Bool(false), Value::Null], rng);
            maybe_add(response, "noOfInProgressRequests", &[Value::Null], rng);
        }
        _ => {
            // A terminal timeout keeps `failedDueToTimeoutError: true`; only the count is optional.
            if response.get("failedDueToTimeoutError") == Some(&Value::Bool(true)) {
                keep_null_or_drop(response, "noOfInProgressRequests", rng);
            }
        }
    }
}

/// Names no vendor document uses, so a client cannot mistake one for a documented field.
const EXTRA_NAMES: [&str; 8] =
    ["simExtra", "traceId", "serverTimeMs", "correlationId", "_meta", "x-sim-note", "apiVersion", "Extra"];

/// Adds zero to two unknown fields.
fn add_extras(map: &mut Map<String, Value>, rng: &mut SplitMix64) {
    for _ in 0..rng.below(3) {
        let name = EXTRA_NAMES[rng.index(EXTRA_NAMES.len())];
        if map.contains_key(name) {
            continue;
        }
        let value = match rng.below(6) {
            0 => Value::from("signing-sim"),
            1 => Value::from(rng.below(100_000)),
            2 => Value::Bool(rng.chance(2)),
            3 => Value::Null,
            4 => serde_json::json!({"simNested": [1, "two", null], "simFlag": true}),
            _ => serde_json::json!(["simItem", 2]),
        };
        map.insert(name.to_string(), value);
    }
}

/// Writes `value` as compact JSON with every object's keys in a shuffled order.
fn write_value(value: &Value, rng: &mut SplitMix64, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            // Fisher-Yates.
            for i in (1..entries.len()).rev() {
                let j = rng.index(i + 1);
                entries.swap(i, j);
            }
            out.push('{');
            for (n, (key, v)) in entries.into_iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_value(v, rng, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (n, v) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_value(v, rng, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Value {
        serde_json::from_slice(bytes).expect("valid JSON")
    }

    #[test]
    fn same_seed_and_index_same_bytes_and_order_varies() {
        let body = br#"{"access_token":"a==","expires":5,"identity":"i","refresh_token":"r==","refresh_until":9,"scope":"s","token_type":"Bearer"}"#;
        let a = vary(42, 3, Vendor::Tpp, body);
        assert_eq!(a, vary(42, 3, Vendor::Tpp, body));
        let texts: std::collections::BTreeSet<Vec<u8>> =
            (0..50).filter_map(|i| vary(42, i, Vendor::Tpp, body)).collect();
        assert!(texts.len() > 40, "{}", texts.len());
        for t in &texts {
            let v = parse(t);
            assert_eq!(v["access_token"], "a==");
            assert_eq!(v["expires"], 5);
        }
    }

    #[test]
    fn refusals_and_statuses_keep_their_meaning() {
        for i in 0..200 {
            let v = parse(&vary(7, i, Vendor::Tpp, br#"{"Success":false,"Result":7,"Error":"no"}"#).expect("json"));
            assert_eq!(
                (&v["Success"], &v["Result"], &v["Error"]),
                (&Value::Bool(false), &Value::from(7), &Value::from("no"))
            );
            let v = parse(&vary(7, i, Vendor::Tpp, br#"{"Success":true}"#).expect("json"));
            assert_eq!(v["Success"], true);
            assert!(v.get("Result").is_none_or(|r| r == 1));
            assert!(v.get("Error").is_none_or(Value::is_null));
            let v = parse(
                &vary(
                    7,
                    i,
                    Vendor::AppViewX,
                    br#"{"response":{"status":"Failed","noOfInProgressRequests":0,"failedDueToTimeoutError":true},"message":null,"appStatusCode":null,"tags":null,"headers":null}"#,
                )
                .expect("json"),
            );
            assert_eq!(v["response"]["failedDueToTimeoutError"], true);
            assert_eq!(v["response"]["status"], "Failed");
            assert!(v["appStatusCode"].is_null() && v.get("appStatusCode").is_some());
        }
    }

    #[test]
    fn verify_dates_are_kept_null_or_dropped() {
        let body = br#"{"access_issued_on":"/Date(1000)/","expires":"/Date(2000)/","expires_ISO8601":"1970-01-01T00:00:02Z","grant_issued_on":"/Date(1000)/","identity":"i","scope":"s","valid_for":1}"#;
        for key in ["access_issued_on", "expires", "grant_issued_on"] {
            let seen: std::collections::BTreeSet<&str> = (0..100)
                .map(|i| parse(&vary(3, i, Vendor::Tpp, body).expect("json")))
                .map(|v| match v.get(key) {
                    None => "absent",
                    Some(Value::Null) => "null",
                    Some(d) => {
                        assert!(d.as_str().is_some_and(|d| d.starts_with("/Date(")), "{key}: {d}");
                        "kept"
                    }
                })
                .collect();
            assert_eq!(seen.len(), 3, "{key}: {seen:?}");
        }
        for i in 0..100 {
            let v = parse(&vary(3, i, Vendor::Tpp, body).expect("json"));
            assert_eq!(
                (&v["expires_ISO8601"], &v["valid_for"]),
                (&Value::from("1970-01-01T00:00:02Z"), &Value::from(1))
            );
        }
    }

    #[test]
    fn not_an_object_is_left_alone() {
        assert_eq!(vary(1, 1, Vendor::Tpp, b""), None);
        assert_eq!(vary(1, 1, Vendor::Tpp, b"[1]"), None);
    }
}
