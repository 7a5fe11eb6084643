//! What the documents leave open must not change a verdict. Each documented answer is varied
//! within its envelope — keys in any order, optional fields absent or `null`, unknown extra
//! fields, `Result` absent or present on a success, `availableLoginAttemptCount: null` — and the
//! gate must still read it as the documents say. `Success: false` is a refusal whatever
//! `Result` says.

use codesign_gate::venafi::{parse_sign_result, TppError};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use crate::data::{load, Example};

/// Fields that only inform: dropping them, or sending them as `null`, changes no verdict.
const INFORMATIONAL: &[&str] = &[
    "message",
    "tags",
    "headers",
    "statusDescription",
    "noOfInProgressRequests",
    "availableLoginAttemptCount",
    "refresh_token",
    "refresh_until",
    "identity",
    "scope",
    "token_type",
    "expires",
];

/// A splitmix64 stream: the variation is a pure function of the seed, so proptest can shrink it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Varies one object in place: informational or null fields dropped or nulled, a success's
/// `Result` and `Error` toggled, unknown fields added.
fn vary(map: &mut Map<String, Value>, rng: &mut Rng) {
    let keys: Vec<String> = map.keys().cloned().collect();
    for k in keys {
        let open = map[&k].is_null()
            || INFORMATIONAL.contains(&k.as_str())
            || (k == "failedDueToTimeoutError" && map[&k] == json!(false));
        if open {
            match rng.below(3) {
                0 => {
                    map.remove(&k);
                }
                1 => {
                    map.insert(k, Value::Null);
                }
                _ => {}
            }
        }
    }
    if map.get("Success") == Some(&json!(true)) {
        match rng.below(3) {
            0 => map.insert("Result".into(), json!(1)),
            1 => map.insert("Result".into(), Value::Null),
            _ => map.remove("Result"),
        };
        if rng.below(2) == 0 {
            map.insert("Error".into(), Value::Null);
        }
    }
    for _ in 0..rng.below(3) {
        let name = format!("x{}", rng.below(1_000_000));
        let value = match rng.below(5) {
            0 => Value::Null,
            1 => json!(rng.below(100)),
            2 => json!("extra"),
            3 => json!({"nested": [1, "two"]}),
            _ => json!(true),
        };
        map.insert(name, value);
    }
    if let Some(Value::Object(inner)) = map.get_mut("response") {
        vary(inner, rng);
    }
}

/// JSON text with every object's keys in an order drawn from `rng`.
fn text(v: &Value, rng: &mut Rng) -> String {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            for i in (1..entries.len()).rev() {
                entries.swap(i, usize::try_from(rng.below(i as u64 + 1)).unwrap_or(0));
            }
            let parts: Vec<String> =
                entries.into_iter().map(|(k, v)| format!("{}:{}", Value::String(k.clone()), text(v, rng))).collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(|i| text(i, rng)).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

fn documented_answers() -> Vec<Example> {
    load()
        .example
        .into_iter()
        .filter(|x| x.direction == "response" && x.json().is_some_and(|v| v.is_object()))
        .filter(|x| !matches!(x.endpoint.as_str(), "authorize/verify" | "check-runs"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn answers_varied_within_the_envelope_keep_their_verdict(pick in any::<usize>(), seed in any::<u64>()) {
        let answers = documented_answers();
        let x = &answers[pick % answers.len()];
        let mut rng = Rng(seed);
        let mut v = x.json().expect("JSON");
        if let Value::Object(map) = &mut v {
            vary(map, &mut rng);
        }
        let varied = Example { body: Some(text(&v, &mut rng)), ..x.clone() };
        let want = crate::answers::documented(x);
        let got = crate::answers::verdict(&varied).expect("an endpoint the gate reads");
        prop_assert_eq!(&got, &want, "{}\nvaried: {}", x.label(), varied.body.as_deref().unwrap_or_default());
    }

    #[test]
    fn success_false_is_a_refusal_whatever_result_says(result in prop_oneof![Just(None), Just(Some(Value::Null)), (-2i64..4000).prop_map(|n| Some(json!(n)))], seed in any::<u64>()) {
        let mut map = Map::new();
        map.insert("Success".into(), json!(false));
        if let Some(r) = result {
            map.insert("Result".into(), r);
        }
        map.insert("Error".into(), json!("refused"));
        let mut rng = Rng(seed);
        let body = text(&Value::Object(map), &mut rng);
        for endpoint in ["Codesign/AddPreApproval", "Flow/Actions/CodeSign/PreQualify/Create", "Codesign/GetEnvironment"] {
            let verdict = parse_sign_result(endpoint, 200, body.as_bytes());
            prop_assert!(matches!(verdict, Err(TppError::Refused { .. })), "{}: {} read as {:?}", endpoint, body, verdict.map(|_| ()));
        }
    }
}

#[test]
fn the_variation_really_varies() {
    let answers = documented_answers();
    assert!(answers.len() >= 30, "{} answers", answers.len());
    let login =
        answers.iter().find(|x| x.endpoint == "login" && x.meaning.as_deref() == Some("session")).expect("a login");
    let mut bodies = std::collections::BTreeSet::new();
    for seed in 0..64 {
        let mut rng = Rng(seed);
        let mut v = login.json().expect("JSON");
        if let Value::Object(map) = &mut v {
            vary(map, &mut rng);
        }
        bodies.insert(text(&v, &mut rng));
    }
    assert!(bodies.len() > 40, "{} distinct variants", bodies.len());
    assert!(bodies.iter().any(|b| b.contains("\"availableLoginAttemptCount\":null")), "{bodies:?}");
    assert!(bodies.iter().any(|b| !b.contains("availableLoginAttemptCount")), "{bodies:?}");
}
