//! Waiting for sign requests: every pending id is asked about each round, side by side, until
//! each is final or the deadline passes. The clock is tokio's, which tests can pause and advance.

use std::future::Future;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tokio::time::Instant;

use crate::appviewx::{AvxError, SignState, StatusError};
use crate::cancel::Cancel;
use crate::config::PollInterval;

/// The longest wait between two asks in `auto`: a long timeout must not leave a finished
/// signature unnoticed for long. The schedule reaches it only after about 20 minutes.
const AUTO_MAX_GAP: Duration = Duration::from_secs(120);

impl PollInterval {
    /// How long to wait, `elapsed` after the wait started, before the next round of asks.
    pub fn next_delay(self, elapsed: Duration) -> Duration {
        match self {
            PollInterval::Fixed(interval) => interval,
            PollInterval::Auto => {
                let next = auto_schedule().find(|t| *t > elapsed).unwrap_or(elapsed + AUTO_MAX_GAP);
                next.checked_sub(elapsed).unwrap()
            }
        }
    }
}

/// The moments `auto` asks, from the start of the wait: at once (some servers sign at once),
/// then at 1 s, and after each ask at 1.1 times its time plus 1 s, at most `AUTO_MAX_GAP` later.
/// That ratio is the whole promise: whenever a request finishes, the next ask comes by 1.1·T + 1 s.
pub fn auto_schedule() -> impl Iterator<Item = Duration> {
    std::iter::successors(Some(Duration::ZERO), |t| {
        let gap = (t.mul_f64(0.1) + Duration::from_secs(1)).min(AUTO_MAX_GAP);
        t.checked_add(gap)
    })
}

/// How many `CODE_SIGNING_0102` answers a request the gate just submitted is allowed before the
/// answer counts: a fresh request may not be visible to the status call at once.
pub const NOT_VISIBLE_GRACE: u32 = 3;

/// How waiting for one sign id ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Final {
    /// AppViewX reports it signed.
    Signed {
        /// `encodedHashData`, as AppViewX sent it.
        encoded: String,
        /// Measured from `started`, the same instant for every id.
        elapsed: Duration,
    },
    /// AppViewX failed or refused the request, or the status call's error is final.
    Failed {
        /// What AppViewX said, or the error of the status call.
        message: String,
        /// Measured from `started`, the same instant for every id.
        elapsed: Duration,
    },
    /// Still pending when the deadline passed.
    TimedOut {
        /// The last transient error met while waiting, if any.
        last_error: Option<String>,
    },
    /// The run was cancelled while this id was still pending.
    Cancelled(&'static str),
}

/// Polls `ids` until each is final or `deadline` passes. `check(i)` asks about `ids[i]`;
/// `submitted[i]` says the gate submitted that request itself in this run (so a "no data for
/// this sign id" may only mean it is not visible yet). Results keep the order of `ids`.
///
/// Transport trouble and the status call's documented transient codes are worth another try
/// while time remains; a refusal from the service is final for that id.
pub async fn poll_all<F, Fut>(
    submitted: &[bool],
    started: Instant,
    deadline: Instant,
    interval: PollInterval,
    concurrency: usize,
    cancel: &Cancel,
    check: F,
) -> Vec<Final>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<SignState, AvxError>>,
{
    let count = submitted.len();
    let mut waits = Waits { results: vec![None; count], last_error: vec![None; count], not_visible: vec![0; count] };
    loop {
        let pending: Vec<usize> = (0..count).filter(|i| waits.results[*i].is_none()).collect();
        if pending.is_empty() || cancel.reason().is_some() {
            break;
        }
        let answers: Vec<(usize, Result<SignState, AvxError>)> = stream::iter(pending)
            .map(|i| {
                let f = check(i);
                async move { (i, f.await) }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        if cancel.reason().is_some() {
            break;
        }
        for (i, answer) in answers {
            waits.take(i, answer, submitted[i], started.elapsed());
        }
        let now = Instant::now();
        if waits.results.iter().all(Option::is_some) || now >= deadline {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(interval.next_delay(now - started).min(deadline - now)) => {}
            () = cancel.cancelled() => {}
        }
    }
    let unfinished = |e: Option<String>| match cancel.reason() {
        Some(reason) => Final::Cancelled(reason),
        None => Final::TimedOut { last_error: e },
    };
    waits.results.into_iter().zip(waits.last_error).map(|(r, e)| r.unwrap_or_else(|| unfinished(e))).collect()
}

/// Where each sign id's wait stands between rounds of asks.
struct Waits {
    /// `Some` once final.
    results: Vec<Option<Final>>,
    /// The last transient error, for the message of a wait that times out.
    last_error: Vec<Option<String>>,
    /// How many "no data for this sign id" answers each got.
    not_visible: Vec<u32>,
}

impl Waits {
    /// Takes one answer about sign id `i` (`submitted`: by this run), `elapsed` into the wait.
    fn take(&mut self, i: usize, answer: Result<SignState, AvxError>, submitted: bool, elapsed: Duration) {
        match answer {
            Ok(SignState::Pending) => {}
            Ok(SignState::Signed { encoded }) => self.results[i] = Some(Final::Signed { encoded, elapsed }),
            Ok(SignState::Failed(message)) => self.results[i] = Some(Final::Failed { message, elapsed }),
            Err(e) => match e.status_error() {
                StatusError::Transient => self.last_error[i] = Some(e.to_string()),
                StatusError::NotVisibleYet if submitted && self.not_visible[i] < NOT_VISIBLE_GRACE => {
                    self.not_visible[i] += 1;
                    self.last_error[i] = Some(e.to_string());
                }
                StatusError::NotVisibleYet | StatusError::Final => {
                    self.results[i] = Some(Final::Failed { message: e.to_string(), elapsed });
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{ErrorKind, HttpError};
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn finishes_each_id_and_times_out_the_rest() {
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let deadline = start + Duration::from_secs(60);
        let results = poll_all(
            &[true; 3],
            start,
            deadline,
            PollInterval::Fixed(Duration::from_secs(5)),
            4,
            &Cancel::never(),
            |i| {
                calls.fetch_add(1, Ordering::Relaxed);
                let t = start.elapsed();
                async move {
                    match i {
                        0 if t >= Duration::from_secs(10) => Ok(SignState::Signed { encoded: "sig".into() }),
                        1 => Ok(SignState::Failed("no".into())),
                        _ => Ok(SignState::Pending),
                    }
                }
            },
        )
        .await;
        assert_eq!(results[0], Final::Signed { encoded: "sig".into(), elapsed: Duration::from_secs(10) });
        assert!(matches!(results[1], Final::Failed { .. }));
        assert_eq!(results[2], Final::TimedOut { last_error: None });
        assert_eq!(start.elapsed(), Duration::from_secs(60), "stops exactly at the deadline");
        // Round 1 asks all three; rounds 2-3 ask 0 and 2; then only 2 until the deadline.
        assert_eq!(calls.load(Ordering::Relaxed), 3 + 2 + 2 + 10);
    }

    #[tokio::test(start_paused = true)]
    async fn transport_errors_are_retried_until_the_deadline() {
        let start = Instant::now();
        let results = poll_all(
            &[true],
            start,
            start + Duration::from_secs(12),
            PollInterval::Fixed(Duration::from_secs(5)),
            1,
            &Cancel::never(),
            |_| async {
                Err(AvxError::Http(HttpError {
                    endpoint: "status",
                    kind: ErrorKind::Connect("refused".into()),
                    attempts: 1,
                }))
            },
        )
        .await;
        assert_eq!(results[0], Final::TimedOut { last_error: Some("status: could not connect: refused".into()) });
    }

    #[tokio::test(start_paused = true)]
    async fn cancellation_stops_the_wait() {
        let start = Instant::now();
        let (canceller, cancel) = Cancel::new();
        let stopper = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(7)).await;
            canceller.cancel("SIGTERM");
        });
        let results = poll_all(
            &[true, true],
            start,
            start + Duration::from_secs(600),
            PollInterval::Fixed(Duration::from_secs(5)),
            2,
            &cancel,
            |_| async { Ok(SignState::Pending) },
        )
        .await;
        stopper.await.unwrap();
        assert_eq!(results, vec![Final::Cancelled("SIGTERM"), Final::Cancelled("SIGTERM")]);
        assert_eq!(start.elapsed(), Duration::from_secs(7), "stops when cancelled, not at the deadline");
    }

    fn app_error(status: u16, code: &str) -> AvxError {
        AvxError::App {
            endpoint: "code-signing-fetch-status-sync-requests",
            status,
            code: Some(code.into()),
            message: crate::appviewx::model::documented_message(code).map(str::to_string),
        }
    }

    /// Each documented code of the status call, answered `times` times before the request is
    /// signed: what the wait makes of it.
    #[tokio::test(start_paused = true)]
    async fn documented_status_codes() {
        let cases: [(&str, u16, bool, u32, bool); 8] = [
            ("CODE_SIGNING_0101", 500, false, 4, true),
            ("CODE_SIGNING_0103", 500, true, 4, true),
            ("CODE_SIGNING_0102", 400, true, NOT_VISIBLE_GRACE, true),
            ("CODE_SIGNING_0102", 400, true, NOT_VISIBLE_GRACE + 1, false),
            ("CODE_SIGNING_0102", 400, false, 1, false),
            ("CODE_SIGNING_0105", 400, true, 1, false),
            ("CODE_SIGNING_00109", 403, true, 1, false),
            ("CODE_SIGNING_9999", 500, true, 1, false),
        ];
        for (code, status, submitted, times, signs) in cases {
            let calls = AtomicU32::new(0);
            let start = Instant::now();
            let results = poll_all(
                &[submitted],
                start,
                start + Duration::from_secs(60),
                PollInterval::Fixed(Duration::from_secs(1)),
                1,
                &Cancel::never(),
                |_| {
                    let n = calls.fetch_add(1, Ordering::Relaxed);
                    async move {
                        if n < times {
                            Err(app_error(status, code))
                        } else {
                            Ok(SignState::Signed { encoded: "sig".into() })
                        }
                    }
                },
            )
            .await;
            let label = format!("{code} x{times}, submitted {submitted}");
            if signs {
                assert!(matches!(results[0], Final::Signed { .. }), "{label}: {:?}", results[0]);
            } else {
                let Final::Failed { message, .. } = &results[0] else { panic!("{label}: {:?}", results[0]) };
                assert!(message.contains(code), "{label}: {message}");
                if let Some(documented) = crate::appviewx::model::documented_message(code) {
                    assert!(message.contains(documented), "{label}: {message}");
                }
            }
        }
    }

    /// The asks `auto` makes for a request that finishes at `t`: when it is noticed, and how
    /// many status requests that took.
    fn noticed(t: Duration) -> (Duration, usize) {
        let mut count = 0;
        for ask in auto_schedule() {
            count += 1;
            if ask >= t {
                return (ask, count);
            }
        }
        unreachable!("the schedule never ends")
    }

    #[test]
    fn auto_notices_by_1_1_t_plus_1_s_and_asks_at_most_60_times_in_30_minutes() {
        for ms in (0..=30 * 60 * 1000).step_by(137) {
            let t = Duration::from_millis(ms);
            let (at, _) = noticed(t);
            assert!(at <= t.mul_f64(1.1) + Duration::from_secs(1), "finished at {t:?}, noticed at {at:?}");
        }
        let asks = auto_schedule().take_while(|t| *t <= Duration::from_secs(30 * 60)).count();
        assert!(asks <= 60, "{asks} asks in 30 minutes");
        let gaps: Vec<Duration> =
            auto_schedule().take(200).collect::<Vec<_>>().windows(2).map(|w| w[1].checked_sub(w[0]).unwrap()).collect();
        assert!(gaps.iter().all(|g| *g <= AUTO_MAX_GAP), "no gap longer than the cap");
        let (at, asks) = noticed(Duration::from_secs(12));
        assert!(at > Duration::from_millis(13_500) && at < Duration::from_millis(13_600), "12 s noticed at {at:?}");
        assert_eq!(asks, 10, "12 s costs 10 asks (a fixed 5 s: 4, noticed only at 15 s)");
    }

    #[test]
    fn the_next_delay_follows_the_schedule_from_where_the_wait_is() {
        let auto = PollInterval::Auto;
        assert_eq!(auto.next_delay(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(auto.next_delay(Duration::from_millis(400)), Duration::from_millis(600));
        assert_eq!(auto.next_delay(Duration::from_secs(1)), Duration::from_millis(1100));
        let fixed = PollInterval::Fixed(Duration::from_secs(5));
        assert_eq!(fixed.next_delay(Duration::from_secs(123)), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn auto_waits_by_the_schedule() {
        let calls = AtomicU32::new(0);
        let start = Instant::now();
        let results =
            poll_all(&[true], start, start + Duration::from_secs(60), PollInterval::Auto, 1, &Cancel::never(), |_| {
                calls.fetch_add(1, Ordering::Relaxed);
                let done = start.elapsed() >= Duration::from_secs(12);
                async move { Ok(if done { SignState::Signed { encoded: "sig".into() } } else { SignState::Pending }) }
            })
            .await;
        assert!(matches!(results[0], Final::Signed { .. }));
        let (at, asks) = noticed(Duration::from_secs(12));
        // tokio's timer counts in whole milliseconds.
        let waited = start.elapsed();
        assert!(
            waited >= at && waited.checked_sub(at).unwrap() < Duration::from_millis(10),
            "noticed at {waited:?}, schedule {at:?}"
        );
        assert_eq!(calls.load(Ordering::Relaxed), u32::try_from(asks).unwrap_or(u32::MAX));
    }
}
