//! Hostile files: symlinks out of the workspace, links and directories at report-path, FIFOs and
//! devices where a file is read, a CA bundle that never ends, and a gate with no vendor at all.
//! Each is refused with exit 2 and a line naming the input and the fix, before anything is sent.

#![cfg(unix)]

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::*;

fn said(ran: &Ran) -> String {
    format!("{}{}", ran.stdout, ran.stderr)
}

/// Exit 2 with one `codesign-gate:` line on stderr that holds every one of `words`.
fn refused(ran: &Ran, words: &[&str]) {
    assert_eq!(ran.code, 2, "{}", ran.debug());
    let line =
        ran.stderr.lines().find(|l| l.starts_with("codesign-gate: ")).unwrap_or_else(|| panic!("{}", ran.debug()));
    for word in words {
        assert!(line.contains(word), "`{word}` in: {line}");
    }
}

fn nothing_sent(sim: &signing_sim::SimHandle) {
    assert!(sim.state().requests.is_empty(), "nothing was sent");
}

fn symlink(target: &Path, link: &Path) {
    std::fs::create_dir_all(link.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let made = std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// A file beside the workspace, not in it, and a link to it among the artifacts.
fn gate_with_a_link_out(sim: &signing_sim::SimHandle) -> Gate {
    let gate = Gate::full(sim);
    let outside = gate.dir.path().join("outside/id_ed25519");
    std::fs::create_dir_all(outside.parent().expect("parent")).expect("mkdir");
    std::fs::write(&outside, b"a private key beside the checkout").expect("write");
    symlink(&outside, &gate.workspace().join("dist/stolen.exe"));
    gate
}

#[test]
fn a_symlink_to_a_file_outside_the_workspace_is_refused_and_nothing_sent() {
    let sim = sim();
    let ran = gate_with_a_link_out(&sim).run();
    refused(&ran, &["input `artifacts`", "`dist/stolen.exe`", "outside working-directory", "follow-symlinks: outside"]);
    nothing_sent(&sim);
}

#[test]
fn follow_symlinks_outside_signs_what_the_link_points_to() {
    let sim = sim();
    let mut gate = gate_with_a_link_out(&sim);
    gate.input("follow-symlinks", "outside");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(ran.output("signed"), "3", "{}", ran.outputs_raw);
    assert!(ran.output("artifacts").contains(&sha256_hex(b"a private key beside the checkout")));
}

#[test]
fn a_follow_symlinks_of_another_value_is_refused() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("follow-symlinks", "always");
    refused(&gate.run(), &["input `follow-symlinks`", "inside or outside"]);
    nothing_sent(&sim);
}

#[test]
fn a_dangling_symlink_at_report_path_is_refused_before_anything_is_sent() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    let target = gate.dir.path().join("elsewhere.json");
    let report = gate.workspace().join("report.json");
    symlink(&target, &report);
    gate.input("report-path", &report.to_string_lossy());
    refused(&gate.run(), &["input `report-path`", "is a symlink", "give a new file name"]);
    nothing_sent(&sim);
    assert!(!target.exists(), "nothing written through the link");
}

#[test]
fn a_symlink_to_a_directory_at_report_path_is_refused() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    let report = gate.workspace().join("report.json");
    symlink(gate.dir.path(), &report);
    gate.input("report-path", &report.to_string_lossy());
    refused(&gate.run(), &["input `report-path`", "is a symlink"]);
    nothing_sent(&sim);
}

#[test]
fn a_report_path_through_a_linked_folder_out_of_the_workspace_is_refused() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    let elsewhere = gate.dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    symlink(&elsewhere, &gate.workspace().join("out"));
    gate.input("report-path", "out/report.json");
    refused(&gate.run(), &["input `report-path`", "outside working-directory", "follow-symlinks: outside"]);
    nothing_sent(&sim);
    assert_eq!(std::fs::read_dir(&elsewhere).expect("dir").count(), 0, "nothing made through the link");
}

#[test]
fn a_run_folder_base_that_is_a_symlink_is_refused() {
    let sim = sim();
    let gate = Gate::full(&sim);
    let elsewhere = gate.dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("mkdir");
    symlink(&elsewhere, &gate.runs_folder());
    refused(&gate.run(), &["input `report-path`", "is a symlink"]);
    nothing_sent(&sim);
    assert_eq!(std::fs::read_dir(&elsewhere).expect("dir").count(), 0, "nothing made through the link");
}

#[test]
fn ca_certificates_dev_zero_is_refused_quickly() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("ca-certificates", "/dev/zero");
    let started = Instant::now();
    let ran = gate.run();
    refused(&ran, &["input `ca-certificates`", "`/dev/zero` is a device", "PEM file"]);
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    nothing_sent(&sim);
}

#[test]
fn a_fifo_as_ca_certificates_is_refused_without_hanging() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    let fifo = gate.workspace().join("certs/ca.pem");
    mkfifo(&fifo);
    gate.input("ca-certificates", "certs/ca.pem");
    refused(&gate.run(), &["input `ca-certificates`", "is a FIFO"]);
    nothing_sent(&sim);
}

#[test]
fn a_ca_certificates_file_of_2_mib_is_refused() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    let mut pem = b"-----BEGIN CERTIFICATE-----\n".to_vec();
    pem.resize(2 * 1024 * 1024, b'A');
    gate.file("certs/ca.pem", &pem);
    gate.input("ca-certificates", "certs/ca.pem");
    refused(&gate.run(), &["input `ca-certificates`", "larger than 1 MiB"]);
    nothing_sent(&sim);
}

#[test]
fn a_ca_certificates_link_out_of_the_workspace_is_refused() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    let outside = gate.dir.path().join("ca.pem");
    std::fs::write(&outside, b"-----BEGIN CERTIFICATE-----\n").expect("write");
    symlink(&outside, &gate.workspace().join("ca.pem"));
    gate.input("ca-certificates", "ca.pem");
    refused(&gate.run(), &["input `ca-certificates`", "outside working-directory", "follow-symlinks: outside"]);
    nothing_sent(&sim);
}

#[test]
fn a_fifo_matched_as_an_artifact_is_named_a_fifo() {
    let sim = sim();
    let gate = Gate::full(&sim);
    mkfifo(&gate.workspace().join("dist/pipe.exe"));
    refused(&gate.run(), &["input `artifacts`", "`dist/pipe.exe` is a FIFO", "!dist/pipe.exe"]);
    nothing_sent(&sim);
}

#[test]
fn a_device_matched_as_an_artifact_is_named_a_device() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    symlink(Path::new("/dev/null"), &gate.workspace().join("dist/null.exe"));
    gate.input("follow-symlinks", "outside");
    refused(&gate.run(), &["input `artifacts`", "`dist/null.exe` is a device"]);
    nothing_sent(&sim);
}

#[test]
fn only_artifacts_set_is_refused_naming_both_urls() {
    let mut gate = Gate::empty();
    for i in 0..10 {
        gate.file(&format!("dist/app{i}.exe"), format!("build {i}").as_bytes());
    }
    gate.input("artifacts", "dist/*.exe");
    let ran = gate.run();
    refused(&ran, &["input `tpp-url`", "tpp-url", "appviewx-url", "spelt right", "digests-only: true"]);
    assert!(!said(&ran).contains("PASSED"), "{}", ran.debug());
}

#[test]
fn digests_only_hashes_and_reports_the_digests() {
    let mut gate = Gate::empty();
    gate.file("dist/app.exe", b"the application");
    gate.input("artifacts", "dist/*.exe").input("digests-only", "true");
    let ran = gate.run();
    assert_eq!(ran.code, 0, "{}", ran.debug());
    assert_eq!(ran.output("count"), "1");
    assert!(ran.output("artifacts").contains(&sha256_hex(b"the application")), "{}", ran.outputs_raw);
}

#[test]
fn digests_only_with_a_vendor_url_is_refused_as_contradictory() {
    let sim = sim();
    let mut gate = Gate::full(&sim);
    gate.input("digests-only", "true");
    refused(&gate.run(), &["input `digests-only`", "tpp-url or appviewx-url is set"]);
    nothing_sent(&sim);
}
