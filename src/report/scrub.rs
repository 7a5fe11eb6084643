//! The one scrubber for text the gate did not write itself: what a server answered, a file
//! name, an input. Two steps, always in this order:
//! 1. [`Secrets::redact`]: every value the log was asked to mask (the input secrets, tokens,
//!    session ids), in each form a server may echo it (as is, URL-encoded, JSON-escaped,
//!    Base64 at any alignment), becomes `***`. Redaction comes first because each channel's
//!    escaping changes how a secret reads (`%` becomes `%25` in an annotation, `|` becomes
//!    `\|` in a table).
//! 2. The channel's escaping: [`escape_line`] for stdout and stderr (no workflow command can
//!    start), [`command_data`] for a workflow command's message, [`md_code`] and [`md_text`]
//!    for the job summary (no HTML, no link, no code span a backtick can end). All of them show
//!    control, bidi and zero-width characters as `\u{..}` escapes, so a file name cannot hide
//!    or reorder what a reader sees.

use std::borrow::Cow;
use std::fmt::Write as _;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::Engine as _;

use crate::outcome::{Outcome, SignRecord, StageStatus};

/// What a redacted secret reads as.
pub const HIDDEN: &str = "***";
/// Shorter values are not redacted (as the tests' `assert_no_secret` sees it): replacing every
/// `abc` in a report would say more about the secret than it hides.
const MIN_SECRET: usize = 4;
/// A Base64 form shorter than this would match ordinary words.
const MIN_BASE64: usize = 6;

/// The secrets to redact, each in every form it may be echoed in, longest first.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    forms: Vec<String>,
    /// One automaton for every form, built once: a report of many artifacts is searched for
    /// every form of every secret in hundreds of thousands of short strings.
    finder: Option<AhoCorasick>,
}

impl Secrets {
    /// Remembers a secret: the whole value, and each of its lines trimmed (as `::add-mask::`
    /// masks them).
    pub fn add(&mut self, value: &str) {
        for v in std::iter::once(value).chain(value.lines().map(str::trim)) {
            if v.chars().count() < MIN_SECRET || v.chars().all(|c| c == '*') {
                continue;
            }
            let mut forms = vec![
                v.to_string(),
                percent(v, false, false),
                percent(v, true, false),
                percent(v, false, true),
                percent(v, true, true),
                serde_json::to_string(v).map(|q| q[1..q.len() - 1].to_string()).unwrap_or_default(),
            ];
            forms.extend(base64_forms(v.as_bytes()));
            for f in forms {
                if f.len() >= MIN_SECRET && !self.forms.contains(&f) {
                    self.forms.push(f);
                }
            }
        }
        self.forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        // Longest first where forms start together (a Base64 form may begin another).
        self.finder = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&self.forms)
            .ok();
    }

    /// Whether no secret is known.
    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// The text with every form of every secret replaced by `***`.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        let Some(finder) = &self.finder else { return out };
        // Again until none is left, as what is left around a replacement may read as another
        // form. Each pass makes the text shorter (a form is longer than `***`), so this ends.
        while finder.is_match(out.as_ref()) {
            let mut replaced = String::with_capacity(out.len());
            finder.replace_all_with(&out, &mut replaced, |_, _, dst| {
                dst.push_str(HIDDEN);
                true
            });
            out = Cow::Owned(replaced);
        }
        out
    }

    fn redact_in_place(&self, text: &mut String) {
        if let Cow::Owned(s) = self.redact(text) {
            *text = s;
        }
    }

    fn redact_option(&self, text: &mut Option<String>) {
        if let Some(t) = text.as_mut() {
            self.redact_in_place(t);
        }
    }

    fn redact_status(&self, status: &mut StageStatus) {
        if let StageStatus::Failed { message } = status {
            self.redact_in_place(message);
        }
    }

    fn redact_sign(&self, s: &mut SignRecord) {
        // `encoded` is the signature itself: written byte for byte, never shown.
        self.redact_option(&mut s.sign_id);
        self.redact_option(&mut s.message);
        self.redact_option(&mut s.signature_path);
    }

    /// Redacts every free-text field of the outcome, once, before any renderer reads it: the
    /// summary, the annotations, the outputs, the JSON report and the check run then cannot
    /// carry a secret, whichever field a server's text landed in.
    pub fn redact_outcome(&self, o: &mut Outcome) {
        if self.is_empty() {
            return;
        }
        for text in [&mut o.tpp_url, &mut o.appviewx_url, &mut o.runner_ip, &mut o.runner_ip_source] {
            self.redact_option(text);
        }
        for a in &mut o.artifacts {
            self.redact_in_place(&mut a.name);
            self.redact_in_place(&mut a.path);
            self.redact_option(&mut a.digest_error);
            self.redact_status(&mut a.prequalify);
            self.redact_status(&mut a.preapproval);
            if let Some(s) = a.sign.as_mut() {
                self.redact_sign(s);
            }
        }
        o.awaited.iter_mut().for_each(|s| self.redact_sign(s));
        if let Some(auth) = o.tpp_auth.as_mut() {
            self.redact_option(&mut auth.identity);
            self.redact_option(&mut auth.error);
        }
        // Every per-signing pre-approval repeats the run's environment, user, address and so
        // on: each value is searched once, then known clean.
        let mut clean: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut repeated = |text: &mut String| {
            if !clean.contains(text.as_str()) {
                self.redact_in_place(text);
                if clean.len() < 64 {
                    clean.insert(text.clone());
                }
            }
        };
        for p in &mut o.preapprovals {
            p.serves.iter_mut().for_each(|s| self.redact_in_place(s));
            self.redact_in_place(&mut p.comment);
            for text in [&mut p.dn, &mut p.user, &mut p.ip_source] {
                repeated(text);
            }
            for text in [&mut p.requested_at, &mut p.ip_address, &mut p.not_before, &mut p.signing_executable] {
                text.as_mut().map(&mut repeated);
            }
            self.redact_status(&mut p.outcome);
        }
        self.redact_added(o, Added::default());
    }

    /// Redacts what joined the outcome's lists since `from` (the check run adds its calls, notes
    /// and planned request after the outcome was redacted as a whole).
    pub fn redact_added(&self, o: &mut Outcome, from: Added) {
        if self.is_empty() {
            return;
        }
        for p in o.problems.iter_mut().skip(from.problems) {
            self.redact_option(&mut p.artifact);
            self.redact_in_place(&mut p.message);
        }
        for c in o.calls.iter_mut().skip(from.calls) {
            self.redact_option(&mut c.artifact);
            self.redact_option(&mut c.error);
        }
        let Some(plan) = o.plan.as_mut() else { return };
        // Every endpoint's first request again (a few), as a new request may have brought one.
        for e in &mut plan.requests.endpoints {
            let r = &mut e.first;
            self.redact_in_place(&mut r.method);
            self.redact_in_place(&mut r.url);
            r.headers.iter_mut().for_each(|h| self.redact_in_place(h));
            if let Some(body) = r.body.as_mut() {
                body.redact(|text| self.redact(text));
            }
        }
        for d in plan.requests.requests.iter_mut().skip(from.planned) {
            self.redact_option(&mut d.artifact);
            self.redact_option(&mut d.url);
            d.headers.iter_mut().flatten().for_each(|h| self.redact_in_place(h));
            d.body.redact(|text| self.redact(text));
        }
    }
}

/// How long the outcome's growing lists were at one point, so that only what joined since is
/// redacted again.
#[derive(Debug, Clone, Copy, Default)]
pub struct Added {
    problems: usize,
    calls: usize,
    planned: usize,
}

impl Added {
    /// The lists' lengths now.
    pub fn now(o: &Outcome) -> Self {
        Added {
            problems: o.problems.len(),
            calls: o.calls.len(),
            planned: o.plan.as_ref().map_or(0, |p| p.requests.len()),
        }
    }
}

/// Percent-encoding of every byte but the unreserved ones (RFC 3986), upper or lower case hex,
/// a space as `+` when `plus` (a form body).
fn percent(v: &str, lower: bool, plus: bool) -> String {
    let mut out = String::with_capacity(v.len() * 3);
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(char::from(b)),
            b' ' if plus => out.push('+'),
            b if lower => {
                let _ = write!(out, "%{b:02x}");
            }
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// The secret's Base64, standard and URL-safe: whole (padded and not), and the characters that
/// encode only its bytes when it stands at each of the three alignments inside a longer value
/// (`Basic base64(user:password)` holds the password at any of them).
fn base64_forms(v: &[u8]) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let mut forms = vec![STANDARD.encode(v), URL_SAFE.encode(v)];
    for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
        for offset in 0..3usize {
            let mut bytes = vec![0u8; offset];
            bytes.extend_from_slice(v);
            let encoded = engine.encode(&bytes);
            // Character i holds bits 6i..6i+6: keep those within the secret's bits.
            let first = (8 * offset).div_ceil(6);
            let end = (8 * (offset + v.len())) / 6;
            if end > first && end - first >= MIN_BASE64 {
                forms.push(encoded[first..end].to_string());
            }
        }
    }
    forms
}

/// Characters a reader cannot see or that change what is around them: control characters,
/// bidi embeddings, overrides, isolates and marks, zero-width characters, line and paragraph
/// separators, the byte order mark, the soft hyphen, interlinear annotations and tag characters.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{34f}'
                | '\u{61c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e0fff}'
        )
}

/// How a channel takes CR and LF.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Breaks {
    /// As `\r` and `\n`: one line stays one line.
    Escape,
    /// As they are (the caller encodes them).
    Keep,
    /// As one space each (a Markdown table cell or list item).
    Space,
}

/// Hidden characters as `\u{..}` escapes (tab kept), CR and LF as `breaks` says.
fn visible(s: &str, breaks: Breaks) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match (c, breaks) {
            ('\t', _) | ('\r' | '\n', Breaks::Keep) => out.push(c),
            ('\r', Breaks::Escape) => out.push_str("\\r"),
            ('\n', Breaks::Escape) => out.push_str("\\n"),
            ('\r' | '\n', Breaks::Space) => out.push(' '),
            (c, _) if is_hidden(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            (c, _) => out.push(c),
        }
    }
    out
}

/// Makes one line of free text safe for a stream the GitHub runner reads (stdout and stderr
/// alike): a value from an input, a server or a file name must not be able to start a workflow
/// command. The runner splits lines at CR and LF, reads `::command::` after leading whitespace,
/// and the legacy `##[command]` anywhere in a line. So CR and LF become `\r` and `\n`, every
/// other hidden character (tab aside) a `\u{..}` escape, a leading `::` gets a backslash in
/// front, and `##[` becomes `##\[`. Escaping twice changes nothing more.
pub fn escape_line(line: &str) -> String {
    let out = visible(line, Breaks::Escape).replace("##[", "##\\[");
    if out.trim_start().starts_with("::") {
        format!("\\{out}")
    } else {
        out
    }
}

/// A workflow command's message (`::error::<data>`): hidden characters escaped and `##[`
/// defused as on a line, then the runner's own escapes for `%`, CR and LF, so a message may
/// span lines in the annotation but never ends the command.
pub fn command_data(s: &str) -> String {
    percent_data(&visible(s, Breaks::Keep).replace("##[", "##\\["))
}

/// The runner's escapes for a command's data: `%`, CR and LF, and nothing else (what
/// `::add-mask::` needs, so that the value masked is the value itself).
pub fn percent_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A Markdown code span that no backtick in `s` can end: its fence is one backtick longer than
/// the longest run inside (padded with a space where `s` starts or ends with one). Inside a code
/// span HTML, links and emphasis are text. Hidden characters are escaped, line breaks become
/// spaces (a row is one line) and `|` becomes `\|` (it would split a table cell even here).
pub fn md_code(s: &str) -> String {
    let inner = visible(s, Breaks::Space).replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in inner.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = inner.starts_with('`') || inner.ends_with('`') || (inner.starts_with(' ') && inner.ends_with(' '));
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{inner}{pad}{fence}")
}

/// Markdown text that renders as the very characters: hidden characters escaped, line breaks as
/// spaces, `<`, `>` and `&` as entities (no HTML, no autolink), and a backslash before every
/// character that could start a code span, emphasis, a link, an image, strike-through, maths or
/// a table cell. `_` stays: URLs and codes are full of it, and at worst it makes emphasis.
pub fn md_text(s: &str) -> String {
    let shown = visible(s, Breaks::Space);
    let mut out = String::with_capacity(shown.len() + 8);
    for c in shown.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '[' | ']' | '~' | '$' | '|' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Plain text shown as is elsewhere (a check run's annotation): hidden characters escaped.
pub fn plain(s: &str) -> String {
    visible(s, Breaks::Keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;

    fn secrets(values: &[&str]) -> Secrets {
        let mut s = Secrets::default();
        for v in values {
            s.add(v);
        }
        s
    }

    #[test]
    fn every_form_of_a_secret_is_redacted() {
        let s = secrets(&["p@ss w0rd/+=", "tenant-key-1"]);
        let basic = STANDARD.encode("user:p@ss w0rd/+=");
        let text = format!(
            "a p@ss w0rd/+= b p%40ss%20w0rd%2F%2B%3D c p%40ss+w0rd%2f%2b%3d d {} e {basic} f tenant-key-1",
            STANDARD.encode("p@ss w0rd/+=")
        );
        let out = s.redact(&text);
        assert!(!out.contains("w0rd") && !out.contains("tenant"), "{out}");
        assert!(out.starts_with("a *** b *** c *** d *** e "), "{out}");
        for part in [&basic[8..20], &STANDARD.encode("p@ss w0rd/+=")[..12]] {
            assert!(!out.contains(part), "{part} in {out}");
        }
        assert_eq!(secrets(&["abc"]).redact("abc abc"), "abc abc", "too short to redact");
    }

    #[test]
    fn code_spans_cannot_be_ended_by_a_backtick() {
        assert_eq!(md_code("dist/app.exe"), "`dist/app.exe`");
        assert_eq!(md_code("a`<img src=x onerror=alert(1)>.exe"), "``a`<img src=x onerror=alert(1)>.exe``");
        assert_eq!(md_code("`x``"), "``` `x`` ```");
        assert_eq!(md_code("a|b\nc\u{202e}d"), "`a\\|b c\\u{202e}d`");
    }

    #[test]
    fn markdown_text_is_inert() {
        assert_eq!(md_text("<img src=x onerror=alert(1)>"), "&lt;img src=x onerror=alert(1)&gt;");
        assert_eq!(md_text("[x](javascript:1) `c` *e* _u_ a_b"), "\\[x\\](javascript:1) \\`c\\` \\*e\\* _u_ a_b");
        assert_eq!(md_text("CODE_SIGNING_0102: Data (7)."), "CODE_SIGNING_0102: Data (7).");
        assert_eq!(md_text("a\nb\u{1b}[31m"), r"a b\\u{1b}\[31m"); // renders as `a b\u{1b}[31m`
    }

    #[test]
    fn lines_and_commands_show_hidden_characters() {
        assert_eq!(escape_line("a\u{202e}b\u{2066}c\u{200b}d\u{7}"), "a\\u{202e}b\\u{2066}c\\u{200b}d\\u{7}");
        assert_eq!(command_data("50% ##[error]\u{1b}\r\n"), "50%25 ##\\[error]\\u{1b}%0D%0A");
        assert_eq!(percent_data("a%\u{1b}"), "a%25\u{1b}");
    }

    fn text() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                any::<char>().prop_map(String::from),
                Just("`".to_string()),
                Just("<script>".to_string()),
                Just("::error::".to_string()),
                Just("##[".to_string()),
                Just("\u{202e}".to_string()),
                Just("\r\n".to_string()),
                Just("%".to_string()),
            ],
            0..24,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn no_secret_survives_and_no_channel_breaks(
            before in text(),
            after in text(),
            secret in "[ -~]{4,24}",
            prefix in "[a-z:]{0,3}",
            form in 0usize..5,
        ) {
            let s = secrets(&[&secret]);
            let echoed = match form {
                0 => secret.clone(),
                1 => percent(&secret, false, false),
                2 => percent(&secret, true, true),
                3 => STANDARD.encode(format!("{prefix}{secret}")),
                _ => serde_json::to_string(&secret).unwrap(),
            };
            let input = format!("{before}{echoed}{after}");
            let redacted = s.redact(&input);
            prop_assert!(!redacted.contains(&secret), "{redacted}");
            if form == 3 {
                let core = &base64_forms(secret.as_bytes());
                prop_assert!(core.iter().filter(|f| f.len() >= MIN_BASE64).all(|f| !redacted.contains(f.as_str())));
            }
            for out in [escape_line(&redacted), md_code(&redacted), md_text(&redacted), command_data(&redacted)] {
                prop_assert!(!out.chars().any(|c| is_hidden(c) && c != '\t'), "{out:?}");
            }
            let line = escape_line(&redacted);
            prop_assert!(!line.contains("##[") && !line.trim_start().starts_with("::"));
            prop_assert_eq!(escape_line(&line), line.clone());
            prop_assert!(!md_text(&redacted).contains('<') && !command_data(&redacted).contains('\n'));
            let code = md_code(&redacted);
            let fence = code.chars().take_while(|&c| c == '`').count();
            let inner = &code[fence..code.len() - fence];
            prop_assert!(!inner.contains(&"`".repeat(fence)) || fence == 0);
        }
    }
}
