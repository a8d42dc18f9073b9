//! Parser for mxd's small configuration format:
//!
//! ```text
//! # comment
//! server_name = "hs1.example"   # trailing comments are allowed
//! port = 8008
//! ```
//!
//! One `key = value` per line; a value is a double-quoted string (with `\"`,
//! `\\`, `\n` and `\t` escapes) or a decimal integer. It is a strict subset of
//! TOML, so editors highlight it sensibly, but small enough to parse by hand.
//! Every error names the 1-based line it was found on.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Int(i64),
}

/// One `key = value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: Value,
    /// 1-based line number, kept so later validation can point at it.
    pub line: usize,
}

/// A parsed file: entries in file order, keys unique.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    entries: Vec<Entry>,
}

impl Config {
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// A problem at a specific line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub line: usize,
    pub message: String,
}

impl ConfigError {
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        ConfigError {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Parses a whole file. Duplicate keys are an error rather than "last one
/// wins", because a silently ignored setting is hard to debug.
pub fn parse(text: &str) -> Result<Config, ConfigError> {
    let mut config = Config::default();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let Some((key, value)) = parse_line(raw).map_err(|m| ConfigError::new(line, m))? else {
            continue;
        };
        if let Some(first) = config.get(&key) {
            return Err(ConfigError::new(
                line,
                format!("duplicate key `{key}` (first set on line {})", first.line),
            ));
        }
        config.entries.push(Entry { key, value, line });
    }
    Ok(config)
}

/// `Ok(None)` for blank and comment-only lines.
fn parse_line(raw: &str) -> Result<Option<(String, Value)>, String> {
    let line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (key, rest) = line
        .split_once('=')
        .ok_or("expected `key = value`".to_string())?;
    let key = key.trim();
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(format!("invalid key `{key}`"));
    }

    let rest = rest.trim_start();
    let (value, trailing) = if let Some(quoted) = rest.strip_prefix('"') {
        let (s, trailing) = parse_quoted(quoted)?;
        (Value::Str(s), trailing)
    } else {
        // An integer runs up to an optional comment.
        let (raw_value, trailing) = rest.split_at(rest.find('#').unwrap_or(rest.len()));
        let raw_value = raw_value.trim();
        if raw_value.is_empty() {
            return Err(format!("missing value for `{key}`"));
        }
        let n = raw_value.parse::<i64>().map_err(|_| {
            format!("expected a quoted string or an integer for `{key}`, found `{raw_value}`")
        })?;
        (Value::Int(n), trailing)
    };

    let trailing = trailing.trim();
    if !trailing.is_empty() && !trailing.starts_with('#') {
        return Err(format!("unexpected `{trailing}` after value of `{key}`"));
    }
    Ok(Some((key.to_string(), value)))
}

/// Parses the inside of a string whose opening quote was already consumed;
/// returns the unescaped text and whatever follows the closing quote.
fn parse_quoted(s: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, other)) => return Err(format!("unsupported escape `\\{other}`")),
                None => break,
            },
            c => out.push(c),
        }
    }
    Err("unterminated string".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strings_integers_and_comments() {
        let cfg = parse(concat!(
            "# mxd config\n",
            "\n",
            "server_name = \"hs1 # not a comment\"  # a comment\n",
            "  port=8008\n",
            "federation_port = -1 # range is checked by the caller\n",
            "database_path = \"C:\\\\data \\\"x\\\"\"\r\n",
        ))
        .unwrap();
        assert_eq!(
            cfg.entries(),
            &[
                Entry {
                    key: "server_name".into(),
                    value: Value::Str("hs1 # not a comment".into()),
                    line: 3,
                },
                Entry {
                    key: "port".into(),
                    value: Value::Int(8008),
                    line: 4,
                },
                Entry {
                    key: "federation_port".into(),
                    value: Value::Int(-1),
                    line: 5,
                },
                Entry {
                    key: "database_path".into(),
                    value: Value::Str("C:\\data \"x\"".into()),
                    line: 6,
                },
            ]
        );
        assert_eq!(cfg.get("port").map(|e| &e.value), Some(&Value::Int(8008)));
        assert_eq!(cfg.get("missing"), None);
    }

    #[test]
    fn empty_input_is_empty_config() {
        assert_eq!(parse("").unwrap(), Config::default());
        assert_eq!(parse("# only\n\n   # comments").unwrap(), Config::default());
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            ("a = 1\nnonsense\n", 2, "expected `key = value`"),
            ("\n\n= 1", 3, "invalid key ``"),
            ("bad key = 1", 1, "invalid key `bad key`"),
            ("port =", 1, "missing value for `port`"),
            ("port = # nothing", 1, "missing value for `port`"),
            (
                "port = 80x",
                1,
                "expected a quoted string or an integer for `port`, found `80x`",
            ),
            ("name = \"open", 1, "unterminated string"),
            ("name = \"a\\\"", 1, "unterminated string"),
            ("name = \"a\\q\"", 1, "unsupported escape `\\q`"),
            ("name = \"a\" b", 1, "unexpected `b` after value of `name`"),
            (
                "x = 1\ny = 2\nx = 3",
                3,
                "duplicate key `x` (first set on line 1)",
            ),
        ];
        for (text, line, message) in cases {
            assert_eq!(
                parse(text),
                Err(ConfigError::new(line, message)),
                "input {text:?}"
            );
        }
    }

    #[test]
    fn error_display_includes_line() {
        assert_eq!(
            ConfigError::new(4, "boom").to_string(),
            "line 4: boom".to_string()
        );
    }
}
