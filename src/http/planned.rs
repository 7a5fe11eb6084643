//! The requests a plan recorded, kept as the report shows them: each endpoint's first request in
//! full, then every request as what differs from it. A plan of many artifacts calls each
//! per-artifact endpoint once per artifact, alike but for a field or two; kept whole, the
//! requests of a 100,000-line checksum list took more memory than everything else in the run.

use std::borrow::Cow;

use super::call::Call;
use super::plan::{self, Body, PlannedRequest};

/// Every request of a plan, in order.
#[derive(Debug, Clone, Default)]
pub struct Planned {
    /// Each endpoint (and method) once, in the order first called.
    pub endpoints: Vec<Endpoint>,
    /// Every request, in the order made.
    pub requests: Vec<Difference>,
}

/// An endpoint of a plan: its first request, which the others are told apart from.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Its first request, without the artifact it was for (the request's own record names it).
    pub first: PlannedRequest,
    /// How many requests went to it, the first included.
    pub requests: usize,
    /// The first request's body fields, name and JSON text, for comparing the others with.
    fields: Option<Vec<(String, String)>>,
}

/// A request, as what differs from its endpoint's first.
#[derive(Debug, Clone)]
pub struct Difference {
    /// The endpoint's index in [`Planned::endpoints`].
    pub endpoint: usize,
    /// The artifact the request is about, if any.
    pub artifact: Option<String>,
    /// Its URL, where not the first's.
    pub url: Option<String>,
    /// Its headers, where not the first's.
    pub headers: Option<Vec<String>>,
    /// Its body, as it differs from the first's.
    pub body: BodyDifference,
}

/// How a request's body differs from its endpoint's first.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyDifference {
    /// The same body (or none, like the first).
    Same,
    /// The same fields in the same order: an object of those whose values differ.
    Fields(Body),
    /// Other fields, or none where the first had some: the request's own body.
    Own(Option<Body>),
}

impl BodyDifference {
    /// Passes its text through `redact` ([`Body::redact`]). Fields that no longer read as an
    /// object are the request's own body, shown by size.
    pub fn redact(&mut self, redact: impl Fn(&str) -> std::borrow::Cow<'_, str>) {
        match self {
            BodyDifference::Same | BodyDifference::Own(None) => {}
            BodyDifference::Own(Some(body)) => body.redact(redact),
            BodyDifference::Fields(body) => {
                body.redact(redact);
                if let Body::Other(_) = body {
                    *self = BodyDifference::Own(Some(body.clone()));
                }
            }
        }
    }
}

impl Planned {
    /// How many requests the plan holds.
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// Whether the plan holds no request.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// Records the next request.
    pub fn push(&mut self, request: PlannedRequest) {
        let found = self
            .endpoints
            .iter()
            .position(|e| e.first.endpoint == request.endpoint && e.first.method == request.method);
        let Some(at) = found else {
            self.endpoints.push(Endpoint {
                fields: request.body.as_ref().and_then(owned_fields),
                requests: 1,
                first: PlannedRequest { artifact: None, ..request.clone() },
            });
            let endpoint = self.endpoints.len() - 1;
            let (artifact, body) = (request.artifact, BodyDifference::Same);
            self.requests.push(Difference { endpoint, artifact, url: None, headers: None, body });
            return;
        };
        let first = &mut self.endpoints[at];
        first.requests += 1;
        let body = body_difference(first, request.body);
        let PlannedRequest { artifact, url, headers, .. } = request;
        self.requests.push(Difference {
            endpoint: at,
            artifact,
            url: (url != first.first.url).then_some(url),
            headers: (headers != first.first.headers).then_some(headers),
            body,
        });
    }

    /// Records the next call, as [`push`](Self::push) records it described
    /// ([`plan::describe`]), but without writing out the whole of a call to a known endpoint
    /// first: only what differs from the endpoint's first is.
    pub fn record(&mut self, call: &Call) {
        let method = call.method.as_str();
        let Some(at) =
            self.endpoints.iter().position(|e| e.first.endpoint == call.endpoint && e.first.method == method)
        else {
            return self.push(plan::describe(call));
        };
        let first = &mut self.endpoints[at];
        first.requests += 1;
        let url = plan::shown_url(call);
        let headers = plan::shown_headers(call);
        let same_headers = headers.len() == first.first.headers.len()
            && headers.iter().zip(&first.first.headers).all(|((name, value), line)| {
                line.len() == name.len() + 2 + value.len()
                    && line.starts_with(name)
                    && line[name.len()..].starts_with(": ")
                    && line.ends_with(value)
            });
        let body = match call.body.as_deref() {
            None if first.first.body.is_none() => BodyDifference::Same,
            None => BodyDifference::Own(None),
            Some(bytes) => match plan::shown_fields(bytes, &call.secret_fields) {
                None => BodyDifference::Own(Some(Body::not_an_object(bytes.len()))),
                Some(fields) => fields_difference(first, &fields),
            },
        };
        self.requests.push(Difference {
            endpoint: at,
            artifact: call.artifact.clone(),
            url: (url != first.first.url).then(|| url.into_owned()),
            headers: (!same_headers).then(|| headers.iter().map(|(name, value)| format!("{name}: {value}")).collect()),
            body,
        });
    }

    /// Request `i` (from 0) in full, as it would have gone out.
    pub fn full(&self, i: usize) -> Option<PlannedRequest> {
        let d = self.requests.get(i)?;
        let first = &self.endpoints.get(d.endpoint)?.first;
        let body = match &d.body {
            BodyDifference::Same => first.body.clone(),
            BodyDifference::Own(body) => body.clone(),
            BodyDifference::Fields(changed) => Some(overlay(first.body.as_ref(), changed)),
        };
        Some(PlannedRequest {
            artifact: d.artifact.clone(),
            url: d.url.clone().unwrap_or_else(|| first.url.clone()),
            headers: d.headers.clone().unwrap_or_else(|| first.headers.clone()),
            body,
            ..first.clone()
        })
    }

    /// Adds another plan's requests after these (a check run's, planned by a client of its own).
    pub fn append(&mut self, other: &Planned) {
        for request in (0..other.len()).filter_map(|i| other.full(i)) {
            self.push(request);
        }
    }
}

impl FromIterator<PlannedRequest> for Planned {
    fn from_iter<I: IntoIterator<Item = PlannedRequest>>(requests: I) -> Self {
        let mut planned = Planned::default();
        requests.into_iter().for_each(|r| planned.push(r));
        planned
    }
}

fn owned_fields(body: &Body) -> Option<Vec<(String, String)>> {
    body.fields().map(|fields| fields.into_iter().map(|(k, v)| (k.into_owned(), v.get().to_string())).collect())
}

fn body_difference(first: &Endpoint, body: Option<Body>) -> BodyDifference {
    if body == first.first.body {
        return BodyDifference::Same;
    }
    let Some(fields) = body.as_ref().and_then(Body::fields) else { return BodyDifference::Own(body) };
    let fields: Vec<(Cow<'_, str>, &str)> = fields.into_iter().map(|(k, v)| (k, v.get())).collect();
    match fields_difference(first, &fields) {
        // The body as it came, not as its fields would write it again.
        BodyDifference::Own(_) => BodyDifference::Own(body.clone()),
        difference => difference,
    }
}

/// How a body of these fields (name, JSON text) differs from the endpoint's first.
fn fields_difference(first: &Endpoint, fields: &[(Cow<'_, str>, &str)]) -> BodyDifference {
    let whole = || BodyDifference::Own(Some(Body::object(fields.iter().map(|(k, v)| (k.as_ref(), *v)))));
    let Some(theirs) = &first.fields else { return whole() };
    if theirs.len() != fields.len() || theirs.iter().zip(fields).any(|((a, _), (b, _))| a != b) {
        return whole();
    }
    let mut differ =
        theirs.iter().zip(fields).filter(|((_, a), (_, b))| a != b).map(|(_, (k, v))| (k.as_ref(), *v)).peekable();
    if differ.peek().is_none() {
        return BodyDifference::Same;
    }
    BodyDifference::Fields(Body::object(differ))
}

/// The first body with `changed`'s fields in place of its own.
fn overlay(first: Option<&Body>, changed: &Body) -> Body {
    let (Some(fields), Some(changed)) = (first.and_then(Body::fields), changed.fields()) else {
        return changed.clone();
    };
    let merged = fields.iter().map(|(k, v)| {
        let v = changed.iter().find(|(c, _)| c == k).map_or(*v, |(_, c)| *c);
        (k.as_ref(), v.get())
    });
    Body::object(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(artifact: &str, url: &str, body: &str) -> PlannedRequest {
        PlannedRequest {
            service: "tpp",
            endpoint: "Codesign/AddPreApproval",
            artifact: Some(artifact.into()),
            method: "POST".into(),
            url: url.into(),
            headers: vec!["authorization: ***".into()],
            body: Some(Body::Object(body.into())),
        }
    }

    /// Recording a call keeps what describing it and pushing the description keeps.
    #[test]
    fn a_call_is_recorded_as_its_description_would_be() {
        use crate::secret::Secret;
        use reqwest::{Method, Url};
        use serde_json::json;
        let url = |q: &str| Url::parse(&format!("https://avx.example.com/avxapi/x?gwsource=api&gwkey=k{q}")).unwrap();
        let call = |q: &str, user: &str, body: Option<serde_json::Value>| {
            let mut call = Call::new("appviewx", "x", Method::POST, url(q))
                .header("username", user)
                .secret_header("password", &Secret::new("pw"))
                .secret_query("gwkey")
                .artifact("dist/a.exe");
            if let Some(body) = body {
                call = call.json(&body).secret_field("password");
            }
            call
        };
        let calls = [
            call("", "u", Some(json!({"a": 1, "password": "p1", "b": "x"}))),
            call("", "u", Some(json!({"a": 1, "password": "p2", "b": "x"}))),
            call("", "u", Some(json!({"a": 2, "password": "p1", "b": "x"}))),
            call("&signId=7", "u", Some(json!({"a": 1, "password": "p1", "b": "x"}))),
            call("", "v", Some(json!({"a": 1, "password": "p1", "b": "x"}))),
            call("", "u", Some(json!({"b": "x"}))),
            call("", "u", Some(json!([1, 2]))),
            call("", "u", None),
            Call::new("appviewx", "x", Method::GET, url("")),
        ];
        let mut recorded = Planned::default();
        let mut described = Planned::default();
        for c in &calls {
            recorded.record(c);
            described.push(plan::describe(c));
        }
        assert_eq!(format!("{recorded:?}"), format!("{described:?}"));
        assert!(!format!("{recorded:?}").contains("pw") && !format!("{recorded:?}").contains("p1"));
        let bodies: Vec<&BodyDifference> = recorded.requests.iter().map(|d| &d.body).collect();
        assert_eq!(bodies[1], &BodyDifference::Same, "a secret field reads *** in both");
        assert_eq!(bodies[2], &BodyDifference::Fields(Body::Object(r#"{"a":2}"#.into())));
        assert_eq!(recorded.requests[4].headers.as_deref().map(|h| h[0].as_str()), Some("username: v"));
    }

    #[test]
    fn each_request_keeps_only_what_differs_and_comes_back_whole() {
        let requests = [
            request("a", "https://t/x", r#"{"Dn":"\\VED\\P","Comment":"1: a","Hours":1}"#),
            request("b", "https://t/x", r#"{"Dn":"\\VED\\P","Comment":"2: b","Hours":1}"#),
            request("c", "https://t/y", r#"{"Dn":"\\VED\\P","Comment":"1: a","Hours":1}"#),
            request("d", "https://t/x", r#"{"Hours":1}"#),
            PlannedRequest { body: None, ..request("e", "https://t/x", "{}") },
            PlannedRequest { method: "GET".into(), ..request("f", "https://t/x", "{}") },
        ];
        let planned: Planned = requests.iter().cloned().collect();
        assert_eq!(planned.len(), 6);
        assert_eq!(planned.endpoints.len(), 2, "POST and GET are two");
        assert_eq!(planned.endpoints[0].requests, 5);
        let d = &planned.requests;
        assert_eq!(d[1].body, BodyDifference::Fields(Body::Object(r#"{"Comment":"2: b"}"#.into())));
        assert_eq!((d[1].url.as_deref(), d[2].url.as_deref()), (None, Some("https://t/y")));
        assert_eq!(d[2].body, BodyDifference::Same);
        assert_eq!(d[3].body, BodyDifference::Own(Some(Body::Object(r#"{"Hours":1}"#.into()))));
        assert_eq!(d[4].body, BodyDifference::Own(None));
        assert_eq!(d[5].endpoint, 1);
        for (i, want) in requests.iter().enumerate() {
            let got = planned.full(i).unwrap();
            assert_eq!(
                (&got.artifact, &got.method, &got.url, &got.headers, &got.body),
                (&want.artifact, &want.method, &want.url, &want.headers, &want.body),
                "request {i}"
            );
        }
        let mut twice = planned.clone();
        twice.append(&planned);
        assert_eq!((twice.len(), twice.endpoints.len(), twice.endpoints[0].requests), (12, 2, 10));
    }
}
