//! How the stages say what they are doing without knowing who listens: the report's log
//! speaks it to the workflow, and anything else that implements it may listen instead.

use crate::secret::Secret;

/// Progress of a run, as the stages report it while they work.
pub trait Progress: Sync {
    /// One line of progress.
    fn info(&self, line: &str);
    /// One line about one artifact, of a `kind` every artifact of a stage has ("signed", …). A
    /// run of a hundred thousand artifacts would print that many such lines, more than anyone
    /// reads or a log viewer shows; a log may show only the first ones of each kind and then
    /// say how many it left out (the report has every artifact). The line is formatted only
    /// when shown.
    fn item(&self, kind: &'static str, line: std::fmt::Arguments<'_>);
    /// A secret a stage obtained: hidden from every later line before anything could print it.
    fn mask(&self, secret: &Secret);
    /// Opens a group of lines (a stage).
    fn group(&self, name: &str);
    /// Closes the group.
    fn endgroup(&self);
}
