//! Cancellation of a run by SIGINT/SIGTERM (a cancelled job): waiting stops, in-flight requests
//! are dropped, but the token is still revoked and the report still written.

use tokio::sync::watch;

/// Cheap to clone; every clone sees the same cancellation.
#[derive(Clone)]
pub struct Cancel(watch::Receiver<Option<&'static str>>);

/// The sending side, held by whoever listens for signals.
pub struct Canceller(watch::Sender<Option<&'static str>>);

impl Cancel {
    /// The canceller goes to whoever listens for signals, the token to the run.
    pub fn new() -> (Canceller, Cancel) {
        let (tx, rx) = watch::channel(None);
        (Canceller(tx), Cancel(rx))
    }

    /// A token that is never cancelled, for callers with no signal to listen to.
    pub fn never() -> Cancel {
        Cancel::new().1
    }

    /// Why the run was cancelled (`SIGTERM`), if it was.
    pub fn reason(&self) -> Option<&'static str> {
        *self.0.borrow()
    }

    /// Resolves once cancelled; pending forever otherwise.
    pub async fn cancelled(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(Option::is_some).await.is_err() {
            // The sender is gone without cancelling: nothing can cancel any more.
            std::future::pending::<()>().await;
        }
    }
}

impl Canceller {
    /// Cancels every clone. Only the first reason counts: a second signal changes nothing.
    pub fn cancel(&self, reason: &'static str) {
        self.0.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason);
                true
            } else {
                false
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancel_wakes_waiters_and_keeps_the_first_reason() {
        let (tx, cancel) = Cancel::new();
        let waiter = tokio::spawn({
            let c = cancel.clone();
            async move { c.cancelled().await }
        });
        assert_eq!(cancel.reason(), None);
        tx.cancel("SIGTERM");
        tx.cancel("SIGINT");
        waiter.await.unwrap();
        assert_eq!(cancel.reason(), Some("SIGTERM"));
    }
}
