//! action.yml is the public face of the inputs: it must declare each one and hand each to the
//! binary, or a user's `with:` silently does nothing.

use codesign_gate::config::{env_name, INPUTS};

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
    for output in ["result", "artifacts", "count", "prequalified", "signed", "failed", "runner-ip", "report-path"] {
        assert!(
            yml.contains(&format!("value: ${{{{ steps.gate.outputs.{output} }}}}")),
            "action.yml exposes output `{output}`"
        );
    }
}
