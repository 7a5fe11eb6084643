//! action.yml is the public face of the inputs: it must declare each one and hand each to the
//! binary, or a user's `with:` silently does nothing.

use codesign_gate::config::{env_name, InputDefault, INPUTS};

#[test]
fn action_yml_declares_and_passes_every_input() {
    let yml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).expect("action.yml");
    for input in INPUTS {
        assert!(
            yml.contains(&format!("\n  {}:\n    description:", input.name)),
            "action.yml declares `{}`",
            input.name
        );
        let pass = match input.name {
            // The token reaches the binary only when a check run is asked for.
            "github-token" => {
                "INPUT_GITHUB-TOKEN: ${{ inputs.check-run != '' && inputs.github-token || '' }}".to_string()
            }
            name => format!("{}: ${{{{ inputs.{name} }}}}", env_name(name)),
        };
        assert!(yml.contains(&pass), "action.yml passes `{}` as `{pass}`", input.name);
    }
    let declared_inputs = yml.split("\noutputs:").next().unwrap_or_default().matches("\n    description:").count();
    assert_eq!(declared_inputs, INPUTS.len(), "action.yml declares no input the binary does not read");
    for output in [
        "result",
        "artifacts",
        "count",
        "prequalified",
        "preapproved",
        "signed",
        "verified",
        "failed",
        "runner-ip",
        "report-path",
        "attestation-path",
        "predicate-path",
        "subject-checksums",
    ] {
        assert!(
            yml.contains(&format!("value: ${{{{ steps.gate.outputs.{output} }}}}")),
            "action.yml exposes output `{output}`"
        );
    }
}

/// Each input's `default:` in action.yml, by input name.
fn declared_defaults(yml: &str) -> std::collections::BTreeMap<String, String> {
    let mut found = std::collections::BTreeMap::new();
    let mut current = None;
    for line in yml.split("\noutputs:").next().unwrap_or_default().lines() {
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')).filter(|n| !n.starts_with(' ')) {
            current = Some(name.to_string());
        } else if let (Some(name), Some(d)) = (&current, line.trim().strip_prefix("default: ")) {
            found.insert(name.clone(), d.trim_matches('\'').to_string());
        }
    }
    found
}

#[test]
fn action_yml_declares_the_defaults_the_binary_applies() {
    let yml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml")).expect("action.yml");
    let defaults = declared_defaults(&yml);
    for input in INPUTS {
        let declared = defaults.get(input.name).map(String::as_str);
        match (input.default, input.name) {
            // The action hands the job's token only when a check run is asked for.
            (_, "github-token") => assert_eq!(declared, Some("${{ github.token }}"), "github-token"),
            (InputDefault::Value(v), name) => assert_eq!(declared, Some(v), "action.yml's default of `{name}`"),
            (_, name) => assert_eq!(declared, None, "`{name}` has no literal default, so action.yml declares none"),
        }
    }
}
