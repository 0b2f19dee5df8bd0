//! The house rules of issue 11, checked on the source text: who may speak gix, HTTP and the
//! environment, and which layer may import which. A rule broken here is a design change to argue
//! for in review, not a test to adjust.

use std::path::{Path, PathBuf};

fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            // Unit tests may use anything; comments are prose.
            let code: String = text
                .split("\n#[cfg(test)]\nmod tests")
                .next()
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            (rel, code)
        })
        .collect()
}

/// Files (by path prefix) whose code contains `needle`.
fn users(needle: &str) -> Vec<String> {
    sources()
        .into_iter()
        .filter(|(_, code)| code.contains(needle))
        .map(|(path, _)| path)
        .collect()
}

fn only(needles: &[&str], allowed: &[&str]) {
    // Not vacuous: the allowed files do use it.
    assert!(
        needles
            .iter()
            .flat_map(|n| users(n))
            .any(|p| allowed.iter().any(|a| p.starts_with(a))),
        "{needles:?} is used nowhere: the rule checks nothing"
    );
    for needle in needles {
        let bad: Vec<String> = users(needle)
            .into_iter()
            .filter(|p| !allowed.iter().any(|a| p.starts_with(a)))
            .collect();
        assert!(bad.is_empty(), "`{needle}` outside {allowed:?}: {bad:?}");
    }
}

#[test]
fn only_git_speaks_gix() {
    only(&["gix::", "use gix"], &["src/git/"]);
}

#[test]
fn only_tui_draws_on_the_terminal() {
    only(&["ratatui::", "crossterm::"], &["src/tui.rs"]);
}

#[test]
fn only_probe_and_management_speak_http() {
    only(
        &[
            "reqwest::",
            "use reqwest",
            "hyper::",
            "hyper_util::",
            "hyper_rustls::",
        ],
        &["src/probe/", "src/management.rs"],
    );
}

#[test]
fn only_settings_reads_the_environment() {
    // main.rs asks for the current directory only.
    only(
        &["env::var", "env::vars", "std::env::var_os"],
        &["src/settings.rs"],
    );
}

#[test]
fn only_settings_interprets_git_config() {
    // git/config.rs reads the files (by trust); settings.rs decides what a value means.
    only(
        &["config.string(", "config.strings(", "config.boolean("],
        &["src/settings.rs", "src/git/"],
    );
}

#[test]
fn commands_never_import_each_other() {
    let commands = ["scan", "prune", "show", "restore", "hook", "watch"];
    for (path, code) in sources() {
        let Some(name) = path
            .strip_prefix("src/commands/")
            .and_then(|f| f.strip_suffix(".rs"))
        else {
            continue;
        };
        for other in commands.iter().filter(|c| **c != name) {
            for needle in [
                format!("super::{other}::"),
                format!("crate::commands::{other}"),
            ] {
                assert!(!code.contains(&needle), "{path} imports command {other}");
            }
        }
    }
}

#[test]
fn layers_point_downwards() {
    // (layer, what it must not import)
    let rules: &[(&str, &[&str])] = &[
        (
            "src/source/",
            &[
                "crate::scan",
                "crate::prune",
                "crate::commands",
                "crate::report::",
            ],
        ),
        ("src/scan/", &["crate::prune", "crate::commands"]),
        ("src/prune/", &["crate::commands"]),
        (
            "src/report/",
            &[
                "crate::scan",
                "crate::prune",
                "crate::commands",
                "crate::probe",
            ],
        ),
        (
            "src/git/",
            &[
                "crate::scan",
                "crate::prune",
                "crate::commands",
                "crate::source",
                "crate::sign",
            ],
        ),
        // Notifications build messages from a finished report and send them through probe.
        (
            "src/notify.rs",
            &[
                "crate::scan",
                "crate::prune",
                "crate::commands",
                "crate::git",
                "reqwest",
            ],
        ),
        (
            "src/providers/",
            &["crate::probe", "crate::management", "crate::git"],
        ),
    ];
    for (path, code) in sources() {
        for (layer, banned) in rules {
            if !path.starts_with(layer) {
                continue;
            }
            for b in *banned {
                assert!(!code.contains(b), "{path} ({layer}) imports {b}");
            }
        }
    }
}
