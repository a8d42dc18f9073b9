//! End-to-end checks of the built `mxd` binary.

use std::process::{Command, Output};

// Read the version from the same one-line file the binary uses, so these
// tests keep passing when build tests bump it with `sed`.
mod version {
    include!("../src/version.rs");
}

/// `mxd` with `args`, isolated from any MXD_* settings in the caller's
/// environment.
fn mxd(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mxd"));
    for var in [
        "SERVER_NAME",
        "MXD_PORT",
        "MXD_FEDERATION_PORT",
        "MXD_DATABASE_PATH",
        "MXD_CONFIG",
    ] {
        cmd.env_remove(var);
    }
    cmd.args(args).output().expect("run mxd")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn version_flag_prints_version_and_features() {
    for flag in ["-V", "--version"] {
        let out = mxd(&[flag]);
        assert!(out.status.success());
        assert_eq!(
            stdout(&out),
            format!(
                "mxd {} (features: {}) (cpu: {})\n",
                version::VERSION,
                mxd_core::features::summary(),
                mxd_core::cpu::summary()
            )
        );
    }
}

#[test]
fn selftest_passes_on_ephemeral_ports() {
    let out = mxd(&["--selftest", "--port", "0", "--federation-port", "0"]);
    assert!(out.status.success(), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "selftest: ok\n");
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = mxd(&["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("mxd: unknown argument `--bogus`; usage: mxd "));
}

#[test]
fn config_errors_name_the_line() {
    let path = std::env::temp_dir().join(format!("mxd-cli-test-{}.conf", std::process::id()));
    std::fs::write(&path, "# test\nport = \"eighty\"\n").unwrap();
    let out = mxd(&["--selftest", "--config", path.to_str().unwrap()]);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(": line 2: `port` must be an integer"),
        "{}",
        stderr(&out)
    );
}
