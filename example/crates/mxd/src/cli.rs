//! Command-line parsing. Only the few flags mxd needs, so no argument-parsing
//! crate; both `--flag value` and `--flag=value` are accepted.

use mxd_core::settings::{parse_port, Layer};
use std::path::PathBuf;

/// One-line usage, printed after argument errors and by `--help`.
pub const USAGE: &str = "usage: mxd [-V|--version] [-h|--help] [--selftest] [--config FILE] \
                         [--port N] [--federation-port N] [--database-path PATH]";

/// What to do. Ordered by precedence when several modes are given: the
/// informational ones win, as is usual for `-V`/`--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    Serve,
    Selftest,
    Help,
    Version,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cli {
    pub mode: Mode,
    /// Settings given as flags: the highest-precedence layer.
    pub flags: Layer,
    /// `--config FILE`, if given.
    pub config: Option<PathBuf>,
}

/// Parses the arguments after the program name. The whole line is checked
/// before acting on it, so `mxd --bogus -V` is an error rather than a version
/// print; among valid modes `-V` beats `--help` beats `--selftest`.
pub fn parse(args: &[String]) -> Result<Cli, String> {
    let mut cli = Cli {
        mode: Mode::Serve,
        flags: Layer::default(),
        config: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        // Split `--flag=value`; a separate value is taken lazily below.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        let takes_no_value = |mode| match inline {
            Some(_) => Err(format!("{flag} takes no value")),
            None => Ok(mode),
        };
        let mode = match flag {
            "-V" | "--version" => Some(takes_no_value(Mode::Version)?),
            "-h" | "--help" => Some(takes_no_value(Mode::Help)?),
            "--selftest" => Some(takes_no_value(Mode::Selftest)?),
            "--port" => {
                cli.flags.port = Some(parse_port(&value()?).map_err(|e| format!("--port: {e}"))?);
                None
            }
            "--federation-port" => {
                let port = parse_port(&value()?).map_err(|e| format!("--federation-port: {e}"))?;
                cli.flags.federation_port = Some(port);
                None
            }
            "--database-path" => {
                cli.flags.database_path = Some(PathBuf::from(non_empty(flag, value()?)?));
                None
            }
            "--config" => {
                cli.config = Some(PathBuf::from(non_empty(flag, value()?)?));
                None
            }
            _ => return Err(format!("unknown argument `{arg}`")),
        };
        if let Some(mode) = mode {
            cli.mode = cli.mode.max(mode);
        }
    }
    Ok(cli)
}

fn non_empty(flag: &str, value: String) -> Result<String, String> {
    if value.is_empty() {
        Err(format!("{flag} needs a non-empty value"))
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Cli, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn no_arguments_means_serve_with_no_overrides() {
        let cli = parse_strs(&[]).unwrap();
        assert_eq!(cli.mode, Mode::Serve);
        assert_eq!(cli.flags, Layer::default());
        assert_eq!(cli.config, None);
    }

    #[test]
    fn parses_modes() {
        assert_eq!(parse_strs(&["-V"]).unwrap().mode, Mode::Version);
        assert_eq!(parse_strs(&["--version"]).unwrap().mode, Mode::Version);
        assert_eq!(parse_strs(&["--help"]).unwrap().mode, Mode::Help);
        assert_eq!(parse_strs(&["--selftest"]).unwrap().mode, Mode::Selftest);
        assert_eq!(
            parse_strs(&["--selftest", "-V"]).unwrap().mode,
            Mode::Version
        );
    }

    #[test]
    fn parses_settings_flags_in_both_forms() {
        let cli = parse_strs(&[
            "--port",
            "0",
            "--federation-port=18448",
            "--database-path",
            "/tmp/db",
            "--config=/etc/mxd.conf",
            "--selftest",
        ])
        .unwrap();
        assert_eq!(cli.mode, Mode::Selftest);
        assert_eq!(cli.flags.port, Some(0));
        assert_eq!(cli.flags.federation_port, Some(18448));
        assert_eq!(cli.flags.database_path, Some(PathBuf::from("/tmp/db")));
        assert_eq!(cli.config, Some(PathBuf::from("/etc/mxd.conf")));
    }

    #[test]
    fn rejects_bad_arguments() {
        let cases: &[(&[&str], &str)] = &[
            (&["--bogus"], "unknown argument `--bogus`"),
            (&["serve"], "unknown argument `serve`"),
            (&["--bogus", "-V"], "unknown argument `--bogus`"),
            (&["--port"], "--port needs a value"),
            (
                &["--port", "x"],
                "--port: invalid port `x` (expected 0-65535)",
            ),
            (
                &["--federation-port=70000"],
                "--federation-port: invalid port `70000` (expected 0-65535)",
            ),
            (&["--config="], "--config needs a non-empty value"),
            (&["--version=1"], "--version takes no value"),
        ];
        for (args, message) in cases {
            assert_eq!(parse_strs(args), Err(message.to_string()), "{args:?}");
        }
    }
}
