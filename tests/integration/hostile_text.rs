//! Text the gate did not write (a server's error, a file name, an input) reaches every channel
//! scrubbed: no secret in any form, no live Markdown or HTML in the summary, no hidden
//! character and no workflow command on stdout.

use std::io::{BufReader, Write};
use std::net::TcpListener;

use base64::Engine as _;

use crate::support::*;

/// What every echo carries besides the request: terminal escapes, a bell, both workflow command
/// forms, a code span breaker with HTML, bidi and zero-width characters.
const HOSTILE: &str =
    "\u{1b}[31mred\u{7} ##[error]legacy ::error::new `<img src=x onerror=alert(1)>` [x](javascript:alert(1)) a\u{202e}b\u{2066}c\u{200b}d";

/// Characters that must never reach stdout or the summary as they are.
const HIDDEN_CHARS: [char; 6] = ['\u{1b}', '\u{7}', '\u{202e}', '\u{2066}', '\u{200b}', '\u{0}'];

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// A stand-in for TPP and AppViewX at once that refuses every request with 400, its whole
/// request echoed in the error text (as is, percent-encoded and in Base64) followed by
/// [`HOSTILE`]: both VEDAuth's `error_description` and AppViewX's envelope `message`.
fn echoing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let Some((line, headers, body)) = read_request(&mut reader) else { continue };
            let raw = format!("{line}{}{}", headers.concat(), String::from_utf8_lossy(&body));
            let echo = format!(
                "you sent: {raw} | as a URL: {} | in Base64: {} | {HOSTILE}",
                percent(&raw),
                b64(raw.as_bytes())
            );
            let answer = serde_json::json!({
                "error": "invalid_grant", "error_description": echo,
                "appStatusCode": "CODE_SIGNING_0001", "message": echo, "response": null,
            })
            .to_string();
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    url
}

/// Each form a secret may be echoed in: as is, percent-encoded, and Base64 at each of the
/// three alignments inside a longer value (the characters that encode only its own bytes).
fn forms(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_string(), percent(secret), b64(secret.as_bytes())];
    for offset in 0..3usize {
        let mut bytes = vec![b'x'; offset];
        bytes.extend_from_slice(secret.as_bytes());
        let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&bytes);
        let (first, end) = ((8 * offset).div_ceil(6), 8 * (offset + secret.len()) / 6);
        forms.push(encoded[first..end].to_string());
    }
    forms
}

/// No form of any secret in stdout (its `::add-mask::` lines aside), the summary, the outputs
/// or the report; returns how many (form, channel) pairs were checked.
fn assert_no_form(ran: &Ran, secrets: &[&str]) -> usize {
    let stdout: Vec<&str> = ran.stdout.lines().filter(|l| !l.starts_with("::add-mask::")).collect();
    let stdout = stdout.join("\n");
    let channels =
        [("stdout", &stdout), ("summary", &ran.summary), ("outputs", &ran.outputs_raw), ("report", &ran.report_raw)];
    let mut checked = 0;
    for secret in secrets {
        for form in forms(secret) {
            for (name, text) in channels {
                assert!(!text.contains(&form), "`{form}` (a form of a secret) in {name}:\n{text}");
                checked += 1;
            }
        }
    }
    ran.assert_no_secret(secrets);
    checked
}

/// The summary as Markdown reads it outside code spans (and backslash escapes).
fn outside_code_spans(markdown: &str) -> String {
    let chars: Vec<char> = markdown.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' {
            i += 2;
            continue;
        }
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&c| c == '`').count();
        let mut j = i + run;
        let mut closed = None;
        while j < chars.len() {
            let n = chars[j..].iter().take_while(|&&c| c == '`').count();
            if n == run {
                closed = Some(j + n);
                break;
            }
            j += n.max(1);
        }
        if let Some(end) = closed {
            i = end;
        } else {
            out.extend(std::iter::repeat_n('`', run));
            i += run;
        }
    }
    out
}

/// No live HTML or link, no hidden character in the summary; no hidden character, no
/// un-defused `##[` and no stray workflow command on stdout.
fn assert_inert(ran: &Ran) {
    let live = outside_code_spans(&ran.summary);
    for needle in ["<img", "<script", "](javascript", "onerror=alert(1)>"] {
        assert!(!live.contains(needle), "live `{needle}` in the summary:\n{}", ran.summary);
    }
    for c in HIDDEN_CHARS {
        assert!(!ran.summary.contains(c), "raw {c:?} in the summary:\n{}", ran.summary);
        assert!(!ran.stdout.contains(c), "raw {c:?} on stdout:\n{}", ran.stdout);
    }
    for line in ran.stdout.lines() {
        assert!(!line.contains("##["), "`##[` on stdout: {line}");
        let command = line.strip_prefix("::").map(|l| l.split([':', ' ']).next().unwrap_or_default());
        assert!(
            matches!(command, None | Some("add-mask" | "group" | "endgroup" | "error" | "warning")),
            "a stray workflow command on stdout: {line}"
        );
    }
}

const TPP_SECRET: &str = "p@ss w0rd/+=Tpp-9";
const AVX_SECRET: &str = "avx s3cret&=?/x";
const GWKEY: &str = "tenant-key+/=42";
const BEARER: &str = "given-bearer-token/+=7Qz";

#[test]
fn a_tpp_echoing_the_password_grant_leaks_no_form_of_the_password() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("tpp-url", &echoing_server()).input("tpp-password", TPP_SECRET);
    let ran = gate.run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    assert!(ran.summary.contains("TPP refused the token request"), "{}", ran.summary);
    assert!(ran.report_raw.contains("you sent: POST"), "the echo reaches the report, redacted: {}", ran.report_raw);
    assert!(assert_no_form(&ran, &[TPP_SECRET, AVX_PASSWORD]) > 0);
    assert_inert(&ran);
}

#[test]
fn a_tpp_echoing_a_given_bearer_token_leaks_no_form_of_it() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("tpp-url", &echoing_server())
        .unset("tpp-password")
        .unset("tpp-username")
        .input("tpp-access-token", BEARER);
    let ran = gate.run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    assert!(ran.report_raw.contains("you sent: "), "the echo reaches the report, redacted: {}", ran.report_raw);
    assert_no_form(&ran, &[BEARER, AVX_PASSWORD]);
    assert_inert(&ran);
}

#[test]
fn an_appviewx_echoing_the_password_header_and_gwkey_leaks_neither() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("appviewx-url", &echoing_server()).input("appviewx-password", AVX_SECRET).input("appviewx-gwkey", GWKEY);
    let ran = gate.run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    assert!(ran.report_raw.contains("you sent: "), "the echo reaches the report, redacted: {}", ran.report_raw);
    assert_no_form(&ran, &[AVX_SECRET, GWKEY, TPP_PASSWORD]);
    assert_inert(&ran);
}

#[test]
fn an_artifact_named_with_a_backtick_and_html_is_inert_in_the_summary() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    let name = "dist/a`<img src=x onerror=alert(1)>.exe";
    gate.file(name, b"hostile name");
    gate.input("signing-executable", r"C:\tools\x`<script>alert(1)</script>.exe");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert!(ran.summary.contains(&format!("``{name}``")), "a code span its backtick cannot end:\n{}", ran.summary);
    assert_inert(&ran);
    let outputs: serde_json::Value = serde_json::from_str(ran.output("artifacts")).expect("artifacts output");
    assert!(outputs.as_array().expect("array").iter().any(|a| a["name"] == name), "outputs keep the exact name");
}

#[test]
fn hidden_characters_in_a_file_name_are_shown_escaped() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    let name = "dist/evil\u{202e}exe.txt\u{2066}\u{200b} ##[warning]x.exe";
    gate.file(name, b"hidden characters");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_inert(&ran);
    assert!(ran.summary.contains(r"evil\u{202e}exe.txt\u{2066}\u{200b} ##[warning]x.exe"), "{}", ran.summary);
    assert!(ran.stdout.contains(r"evil\u{202e}exe.txt\u{2066}\u{200b} ##\[warning]x.exe"), "{}", ran.stdout);
    let report = ran.report()["artifacts"].as_array().expect("array").clone();
    assert!(report.iter().any(|a| a["name"] == name), "the report keeps the exact name");
}

#[test]
fn hostile_names_outside_github_stay_on_their_line() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.outside_github();
    gate.file("dist/x ##[warning]y\u{202e}.exe", b"hidden characters");
    gate.input("tpp-url", &echoing_server()).input("tpp-password", TPP_SECRET);
    let ran = gate.run();
    assert_eq!(ran.code, 1, "{}", ran.debug());
    assert!(ran.stdout.contains(r"x ##\[warning]y\u{202e}.exe"), "{}", ran.stdout);
    assert_no_form(&ran, &[TPP_SECRET]);
    assert_inert(&ran);
}

#[test]
fn an_invalid_input_annotation_shows_control_characters_escaped() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("hash-algorithm", "sha\u{1b}[31m\u{7}##[error]x\u{202e}");
    let ran = gate.run();
    assert_eq!(ran.code, 2, "{}", ran.debug());
    assert!(
        ran.stdout.lines().any(|l| l.starts_with("::error title=codesign-gate: invalid input::")),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains(r"\u{1b}[31m\u{7}##\[error]x\u{202e}"), "{}", ran.stdout);
    assert_inert(&ran);
}
