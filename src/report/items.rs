//! How many per-artifact lines the log shows. A stage says one line per artifact ("signed
//! dist/app.exe"); for a hundred thousand artifacts that is a hundred thousand lines of each
//! kind, which nobody reads and GitHub's log viewer does not show whole. The log shows the first
//! ones of each kind, then one line saying how many it left out: the report has every artifact.

/// Lines of one kind shown per stage: every line of any ordinary release, a readable log of a
/// huge one.
pub const SHOWN: usize = 1000;

/// The per-artifact lines of the current stage, counted by kind.
#[derive(Debug)]
pub struct Items {
    shown: usize,
    /// Each kind in the order it first appeared: how many of it were seen.
    seen: Vec<(&'static str, usize)>,
}

impl Default for Items {
    fn default() -> Self {
        Items::new(SHOWN)
    }
}

impl Items {
    /// Shows `shown` lines of each kind per stage.
    pub fn new(shown: usize) -> Self {
        Items { shown, seen: Vec::new() }
    }

    /// Counts a line of `kind`; whether to show it.
    pub fn admit(&mut self, kind: &'static str) -> bool {
        let at = self.seen.iter().position(|&(k, _)| k == kind).unwrap_or_else(|| {
            self.seen.push((kind, 0));
            self.seen.len() - 1
        });
        self.seen[at].1 += 1;
        self.seen[at].1 <= self.shown
    }

    /// Ends the stage: one line per kind that had lines left out, saying how many.
    pub fn close(&mut self) -> Vec<String> {
        let shown = self.shown;
        self.seen
            .drain(..)
            .filter(|&(_, n)| n > shown)
            .map(|(kind, n)| {
                format!(
                    "… and {} more `{kind}` line(s) like these, one per artifact: the report has every one",
                    n - shown
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_shows_its_first_lines_then_says_how_many_it_left_out() {
        let mut items = Items::new(2);
        let shown: Vec<bool> = ["signed", "submitted", "signed", "signed", "signed", "submitted"]
            .into_iter()
            .map(|k| items.admit(k))
            .collect();
        assert_eq!(shown, [true, true, true, false, false, true]);
        assert_eq!(
            items.close(),
            ["… and 2 more `signed` line(s) like these, one per artifact: the report has every one"]
        );
        // A new stage starts counting afresh.
        assert!(items.admit("signed") && items.admit("signed"));
        assert!(items.close().is_empty());
    }
}
