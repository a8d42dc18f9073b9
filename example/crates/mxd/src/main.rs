//! `mxd`: a tiny Matrix-style homeserver built only on the Rust standard
//! library, used as the example project of the build matrix.
//!
//! Modes: serve (default), `--selftest`, `-V`/`--version`, `--help`.
//! Exit codes: 0 success, 1 runtime failure, 2 bad arguments or config.

mod cli;
mod server;
mod signals;
mod storage;
// The version string lives alone on the single line of `version.rs` so build
// tests can bump it with one `sed` to check incremental rebuilds. It is not
// taken from CARGO_PKG_VERSION because editing Cargo.toml would make
// `Cargo.lock` stale and break `--locked` builds.
mod version;

use cli::{Cli, Mode};
use mxd_core::settings::{Layer, Settings};
use mxd_core::{config, cpu, features};
use server::Server;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use version::VERSION;

/// Names the config file when `--config` is not given.
const ENV_CONFIG: &str = "MXD_CONFIG";

fn main() -> ExitCode {
    // Arguments that are not valid UTF-8 cannot match any flag; report them
    // like any other unknown argument instead of panicking.
    let args: Result<Vec<String>, _> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect();
    let parsed = args
        .map_err(|a| format!("unknown argument {a:?}"))
        .and_then(|a| cli::parse(&a));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("mxd: {e}; {}", cli::USAGE);
            return ExitCode::from(2);
        }
    };

    match cli.mode {
        Mode::Version => {
            println!(
                "mxd {VERSION} (features: {}) (cpu: {})",
                features::summary(),
                cpu::summary()
            );
            return ExitCode::SUCCESS;
        }
        Mode::Help => {
            println!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Mode::Selftest | Mode::Serve => {}
    }

    let settings = match load_settings(&cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mxd: {e}");
            return ExitCode::from(2);
        }
    };

    if cli.mode == Mode::Selftest {
        return match selftest(&settings) {
            Ok(()) => {
                println!("selftest: ok");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("selftest: FAILED: {e}");
                ExitCode::FAILURE
            }
        };
    }

    signals::install();
    match serve(&settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mxd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Applies the precedence flags > environment > config file > defaults.
fn load_settings(cli: &Cli) -> Result<Settings, String> {
    let env = Layer::from_env(|name| std::env::var(name).ok())?;
    let config_path = cli.config.clone().or_else(|| {
        std::env::var_os(ENV_CONFIG)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let file = match config_path {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
            config::parse(&text)
                .and_then(|c| Layer::from_config(&c))
                .map_err(|e| format!("config {}: {e}", path.display()))?
        }
        None => Layer::default(),
    };
    Ok(Settings::resolve(&[&cli.flags, &env, &file]))
}

/// Binds both ports on loopback, serves in the background, and checks a real
/// request over TCP on each. Storage is deliberately not touched so the
/// self-test can run in a build stage without side effects.
fn selftest(settings: &Settings) -> Result<(), String> {
    let server = Server::new(settings.server_name.clone(), false);
    for (label, port) in [
        ("client", settings.port),
        ("federation", settings.federation_port),
    ] {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .map_err(|e| format!("cannot bind {label} port {port}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("{label} listener address: {e}"))?;
        server.spawn(listener);

        let (status, body) = server::http_get(addr, "/_matrix/client/versions")
            .map_err(|e| format!("{label} port: {e}"))?;
        if status != 200 || !body.contains("\"versions\"") {
            return Err(format!(
                "{label} port {}: unexpected response {status} {body}",
                addr.port()
            ));
        }
    }
    Ok(())
}

/// Normal mode: record the start in storage, then serve both ports until a
/// signal ends the process.
fn serve(settings: &Settings) -> Result<(), String> {
    println!(
        "mxd {VERSION} (features: {}) starting for server_name={}",
        features::summary(),
        settings.server_name
    );
    let dir = &settings.database_path;
    let starts = storage::record_start(dir, VERSION)
        .map_err(|e| format!("storage {}: {e}", dir.display()))?;
    println!(
        "mxd: storage at {} (start #{starts} recorded in {})",
        dir.display(),
        storage::STARTS_LOG
    );

    // Both ports speak plain HTTP. Real federation uses TLS on 8448, but TLS
    // needs a crypto library and this example has no dependencies, so TLS is
    // out of scope; put a TLS-terminating proxy in front if needed.
    let server = Server::new(settings.server_name.clone(), true);
    let mut threads = Vec::new();
    for (label, port) in [
        ("client", settings.port),
        ("federation", settings.federation_port),
    ] {
        let listener = TcpListener::bind(("0.0.0.0", port))
            .map_err(|e| format!("cannot bind {label} port {port}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("{label} listener address: {e}"))?;
        println!("mxd: {label} API listening on http://{addr}");
        threads.push(server.spawn(listener));
    }
    // Accept loops never return; a join only ends if a thread panicked.
    for thread in threads {
        thread
            .join()
            .map_err(|_| "listener thread panicked".to_string())?;
    }
    Err("all listeners stopped".to_string())
}
