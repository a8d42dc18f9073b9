//! Server settings and how their sources combine.
//!
//! Each source (command-line flags, environment, config file) yields a
//! [`Layer`] of optional values; [`Settings::resolve`] takes the first value
//! set in precedence order and falls back to the defaults. Keeping this pure
//! makes the precedence rules testable without touching the process
//! environment.

use crate::config::{Config, ConfigError, Value};
use std::path::PathBuf;

pub const DEFAULT_SERVER_NAME: &str = "localhost";
pub const DEFAULT_PORT: u16 = 8008;
pub const DEFAULT_FEDERATION_PORT: u16 = 8448;
pub const DEFAULT_DATABASE_PATH: &str = "/var/lib/mxd";

/// Environment variables read by [`Layer::from_env`].
pub const ENV_SERVER_NAME: &str = "SERVER_NAME";
pub const ENV_PORT: &str = "MXD_PORT";
pub const ENV_FEDERATION_PORT: &str = "MXD_FEDERATION_PORT";
pub const ENV_DATABASE_PATH: &str = "MXD_DATABASE_PATH";

/// Values from one source; `None` means "not set here".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layer {
    pub server_name: Option<String>,
    pub port: Option<u16>,
    pub federation_port: Option<u16>,
    pub database_path: Option<PathBuf>,
}

impl Layer {
    /// Reads the environment through `lookup` (normally `std::env::var`).
    /// Empty variables count as unset, the usual container convention for
    /// `VAR=` or `${VAR:-}`.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Layer, String> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let port = |name: &str| {
            get(name)
                .map(|v| parse_port(&v).map_err(|e| format!("{name}: {e}")))
                .transpose()
        };
        Ok(Layer {
            server_name: get(ENV_SERVER_NAME),
            port: port(ENV_PORT)?,
            federation_port: port(ENV_FEDERATION_PORT)?,
            database_path: get(ENV_DATABASE_PATH).map(PathBuf::from),
        })
    }

    /// Checks a parsed config file against the known keys and their types.
    /// Unknown keys are errors so a typo does not silently fall back to a
    /// default.
    pub fn from_config(config: &Config) -> Result<Layer, ConfigError> {
        let mut layer = Layer::default();
        for entry in config.entries() {
            let err = |m: String| ConfigError::new(entry.line, m);
            match (entry.key.as_str(), &entry.value) {
                ("server_name", Value::Str(s)) if !s.is_empty() => {
                    layer.server_name = Some(s.clone())
                }
                ("database_path", Value::Str(s)) if !s.is_empty() => {
                    layer.database_path = Some(PathBuf::from(s))
                }
                ("server_name" | "database_path", _) => {
                    return Err(err(format!("`{}` must be a non-empty string", entry.key)))
                }
                ("port" | "federation_port", Value::Int(n)) => {
                    let port = u16::try_from(*n)
                        .map_err(|_| err(format!("`{}` must be between 0 and 65535", entry.key)))?;
                    if entry.key == "port" {
                        layer.port = Some(port);
                    } else {
                        layer.federation_port = Some(port);
                    }
                }
                ("port" | "federation_port", Value::Str(_)) => {
                    return Err(err(format!("`{}` must be an integer", entry.key)))
                }
                (key, _) => return Err(err(format!("unknown key `{key}`"))),
            }
        }
        Ok(layer)
    }
}

/// Fully resolved settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub server_name: String,
    /// Client-server API port; 0 asks the OS for an ephemeral port.
    pub port: u16,
    /// Federation port; 0 asks the OS for an ephemeral port.
    pub federation_port: u16,
    pub database_path: PathBuf,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            server_name: DEFAULT_SERVER_NAME.to_string(),
            port: DEFAULT_PORT,
            federation_port: DEFAULT_FEDERATION_PORT,
            database_path: PathBuf::from(DEFAULT_DATABASE_PATH),
        }
    }
}

impl Settings {
    /// Combines `layers`, highest precedence first (for mxd: flags, env,
    /// config file); anything no layer sets keeps its default.
    pub fn resolve(layers: &[&Layer]) -> Settings {
        fn first<T: Clone>(layers: &[&Layer], field: fn(&Layer) -> &Option<T>) -> Option<T> {
            layers.iter().find_map(|l| field(l).clone())
        }
        let defaults = Settings::default();
        Settings {
            server_name: first(layers, |l| &l.server_name).unwrap_or(defaults.server_name),
            port: first(layers, |l| &l.port).unwrap_or(defaults.port),
            federation_port: first(layers, |l| &l.federation_port)
                .unwrap_or(defaults.federation_port),
            database_path: first(layers, |l| &l.database_path).unwrap_or(defaults.database_path),
        }
    }
}

/// Parses a TCP port number; 0 is allowed and means "ephemeral".
pub fn parse_port(s: &str) -> Result<u16, String> {
    s.trim()
        .parse::<u16>()
        .map_err(|_| format!("invalid port `{s}` (expected 0-65535)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = Settings::resolve(&[]);
        assert_eq!(s, Settings::default());
        assert_eq!(s.server_name, "localhost");
        assert_eq!((s.port, s.federation_port), (8008, 8448));
        assert_eq!(s.database_path, PathBuf::from("/var/lib/mxd"));
    }

    #[test]
    fn reads_environment() {
        let layer = Layer::from_env(env(&[
            ("SERVER_NAME", "hs1"),
            ("MXD_PORT", "18008"),
            ("MXD_FEDERATION_PORT", "0"),
            ("MXD_DATABASE_PATH", "/tmp/x"),
        ]))
        .unwrap();
        assert_eq!(
            layer,
            Layer {
                server_name: Some("hs1".into()),
                port: Some(18008),
                federation_port: Some(0),
                database_path: Some("/tmp/x".into()),
            }
        );
    }

    #[test]
    fn empty_environment_values_are_unset() {
        let layer = Layer::from_env(env(&[("SERVER_NAME", ""), ("MXD_PORT", "")])).unwrap();
        assert_eq!(layer, Layer::default());
    }

    #[test]
    fn bad_environment_port_names_the_variable() {
        let err = Layer::from_env(env(&[("MXD_FEDERATION_PORT", "99999")])).unwrap_err();
        assert_eq!(
            err,
            "MXD_FEDERATION_PORT: invalid port `99999` (expected 0-65535)"
        );
    }

    #[test]
    fn reads_config_file() {
        let cfg = config::parse(
            "server_name = \"hs2\"\nport = 1\nfederation_port = 2\ndatabase_path = \"/d\"\n",
        )
        .unwrap();
        assert_eq!(
            Layer::from_config(&cfg).unwrap(),
            Layer {
                server_name: Some("hs2".into()),
                port: Some(1),
                federation_port: Some(2),
                database_path: Some("/d".into()),
            }
        );
    }

    #[test]
    fn config_validation_errors_name_the_line() {
        let cases = [
            ("\nport = 70000", 2, "`port` must be between 0 and 65535"),
            (
                "federation_port = -1",
                1,
                "`federation_port` must be between 0 and 65535",
            ),
            ("port = \"80\"", 1, "`port` must be an integer"),
            (
                "server_name = 5",
                1,
                "`server_name` must be a non-empty string",
            ),
            (
                "database_path = \"\"",
                1,
                "`database_path` must be a non-empty string",
            ),
            ("# c\n\nprot = 1", 3, "unknown key `prot`"),
        ];
        for (text, line, message) in cases {
            let cfg = config::parse(text).unwrap();
            assert_eq!(
                Layer::from_config(&cfg),
                Err(ConfigError::new(line, message)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn precedence_is_flags_then_env_then_file() {
        let flags = Layer {
            port: Some(1),
            ..Layer::default()
        };
        let env = Layer {
            port: Some(2),
            federation_port: Some(20),
            ..Layer::default()
        };
        let file = Layer {
            port: Some(3),
            federation_port: Some(30),
            server_name: Some("file".into()),
            ..Layer::default()
        };
        let s = Settings::resolve(&[&flags, &env, &file]);
        assert_eq!(s.port, 1);
        assert_eq!(s.federation_port, 20);
        assert_eq!(s.server_name, "file");
        assert_eq!(s.database_path, PathBuf::from(DEFAULT_DATABASE_PATH));
    }

    #[test]
    fn parses_ports() {
        assert_eq!(parse_port("0"), Ok(0));
        assert_eq!(parse_port("65535"), Ok(65535));
        assert!(parse_port("65536").is_err());
        assert!(parse_port("-1").is_err());
        assert!(parse_port("http").is_err());
    }
}
