//! `ctverify completions SHELL` and `ctverify man`: the bash script loads in
//! bash and completes the subcommands and flags; the zsh and fish scripts
//! parse in their shells when those are installed; the man page renders with
//! `man -l` (installed by the test command) and documents every flag.

use std::process::Command;

fn ctverify(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ctverify"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn file(name: &str, body: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-{name}", std::process::id()));
    std::fs::write(&p, body).unwrap();
    p
}

/// Completes `words` (the last one being typed) with the bash script.
fn bash_complete(script: &std::path::Path, words: &str) -> String {
    let prog = format!(
        "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
         COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
         _ctverify ctverify \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let out = Command::new("bash").args(["-c", &prog]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bash_completion_loads_and_completes() {
    let script = file("ctverify.bash", &ctverify(&["completions", "bash"]));
    let out = Command::new("bash")
        .args(["-c", &format!("source {} && complete -p ctverify", script.display())])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ctverify"));
    let subcommands = bash_complete(&script, "ctverify va");
    assert_eq!(subcommands.trim(), "validate", "{subcommands}");
    let flags = bash_complete(&script, "ctverify validate --s3-dead");
    assert_eq!(flags.trim(), "--s3-deadline", "{flags}");
}

#[test]
fn zsh_and_fish_completions_parse() {
    for (shell, check) in [("zsh", "-n"), ("fish", "--no-execute")] {
        let script = ctverify(&["completions", shell]);
        assert!(script.contains("ctverify") && script.contains("validate"), "{shell}");
        if have(shell) {
            let path = file(&format!("ctverify.{shell}"), &script);
            let out = Command::new(shell).arg(check).arg(&path).output().unwrap();
            assert!(
                out.status.success(),
                "{shell}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn man_page_renders_with_every_flag() {
    let page = file("ctverify.1", &ctverify(&["man"]));
    assert!(have("man"), "man is not installed (the test command installs man-db)");
    let out = Command::new("man")
        .args(["-l", "-P", "cat"])
        .arg(&page)
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(warnings.trim().is_empty(), "man warned: {warnings}");
    for needle in [
        "validate",
        "export",
        "--trail-arn",
        "--local",
        "--s3-deadline",
        "--state",
        "--out",
    ] {
        assert!(text.contains(needle), "the man page lacks {needle}:\n{text}");
    }
}
