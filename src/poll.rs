//! Waiting for sign requests: every pending id is asked about each round, side by side, until
//! each is final or the deadline passes. The clock is tokio's, which tests can pause and advance.

use std::future::Future;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tokio::time::Instant;

use crate::appviewx::{AvxError, SignState};
use crate::cancel::Cancel;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Final {
    Signed {
        encoded: String,
        elapsed: Duration,
    },
    Failed {
        message: String,
        elapsed: Duration,
    },
    TimedOut {
        last_error: Option<String>,
    },
    /// The run was cancelled while this id was still pending.
    Cancelled(&'static str),
}

/// Transport trouble is worth another try while time remains; a refusal from the service
/// (an `appStatusCode`, an answer of unknown shape, an expired session that could not be
/// renewed) is final for that id.
fn is_transient(e: &AvxError) -> bool {
    matches!(e, AvxError::Http(e) if e.is_transient())
}

/// Polls `ids` until each is final or `deadline` passes. `check(i)` asks about `ids[i]`.
/// Results keep the order of `ids`.
pub async fn poll_all<F, Fut>(
    count: usize,
    started: Instant,
    deadline: Instant,
    interval: Duration,
    concurrency: usize,
    cancel: &Cancel,
    check: F,
) -> Vec<Final>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<SignState, AvxError>>,
{
    let mut results: Vec<Option<Final>> = vec![None; count];
    let mut last_error: Vec<Option<String>> = vec![None; count];
    loop {
        let pending: Vec<usize> = (0..count).filter(|i| results[*i].is_none()).collect();
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
            let elapsed = started.elapsed();
            match answer {
                Ok(SignState::Pending) => {}
                Ok(SignState::Signed { encoded }) => results[i] = Some(Final::Signed { encoded, elapsed }),
                Ok(SignState::Failed(message)) => results[i] = Some(Final::Failed { message, elapsed }),
                Err(e) if is_transient(&e) => last_error[i] = Some(e.to_string()),
                Err(e) => results[i] = Some(Final::Failed { message: e.to_string(), elapsed }),
            }
        }
        let now = Instant::now();
        if results.iter().all(Option::is_some) || now >= deadline {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval.min(deadline - now)) => {}
            _ = cancel.cancelled() => {}
        }
    }
    let unfinished = |e: Option<String>| match cancel.reason() {
        Some(reason) => Final::Cancelled(reason),
        None => Final::TimedOut { last_error: e },
    };
    results.into_iter().zip(last_error).map(|(r, e)| r.unwrap_or_else(|| unfinished(e))).collect()
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
        let results = poll_all(3, start, deadline, Duration::from_secs(5), 4, &Cancel::never(), |i| {
            calls.fetch_add(1, Ordering::Relaxed);
            let t = start.elapsed();
            async move {
                match i {
                    0 if t >= Duration::from_secs(10) => Ok(SignState::Signed { encoded: "sig".into() }),
                    1 => Ok(SignState::Failed("no".into())),
                    _ => Ok(SignState::Pending),
                }
            }
        })
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
            1,
            start,
            start + Duration::from_secs(12),
            Duration::from_secs(5),
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
        let results =
            poll_all(2, start, start + Duration::from_secs(600), Duration::from_secs(5), 2, &cancel, |_| async {
                Ok(SignState::Pending)
            })
            .await;
        stopper.await.unwrap();
        assert_eq!(results, vec![Final::Cancelled("SIGTERM"), Final::Cancelled("SIGTERM")]);
        assert_eq!(start.elapsed(), Duration::from_secs(7), "stops when cancelled, not at the deadline");
    }
}
