//! Secret values and where they come from. A value lives in memory only: it has no `Display`,
//! its `Debug` is redacted, and it never enters a plan, an output, an error or a log.

use std::path::PathBuf;

use skyforge_core::{Error, Result};

/// A secret value in memory.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wrap a value.
    pub fn new(v: impl Into<String>) -> Self {
        SecretString(v.into())
    }
    /// The value, for the one call that sends it to AWS.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(***)")
    }
}

/// How a generated value is made (by Secrets Manager's `GetRandomPassword`, server side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generator {
    /// Length, 1 to 4096.
    pub length: u32,
    /// Include lowercase letters.
    pub lowercase: bool,
    /// Include uppercase letters.
    pub uppercase: bool,
    /// Include digits.
    pub digits: bool,
    /// Include punctuation.
    pub punctuation: bool,
    /// Characters never to use (quotes, `@`, `/` for database URLs...).
    pub exclude: String,
    /// At least one character of each included class.
    pub require_each: bool,
}

impl Generator {
    /// `length` letters and digits, at least one of each class.
    pub fn alphanumeric(length: u32) -> Generator {
        Generator {
            length,
            lowercase: true,
            uppercase: true,
            digits: true,
            punctuation: false,
            exclude: String::new(),
            require_each: true,
        }
    }
    /// `length` characters of every class except those in `exclude`.
    pub fn password(length: u32, exclude: impl Into<String>) -> Generator {
        Generator {
            punctuation: true,
            exclude: exclude.into(),
            ..Generator::alphanumeric(length)
        }
    }
    /// Hex-like keys for signing (letters and digits only): 64 characters.
    pub fn signing_key() -> Generator {
        Generator::alphanumeric(64)
    }

    pub(crate) fn validate(&self, field: &str) -> Result<()> {
        if !(1..=4096).contains(&self.length) {
            return Err(Error::validation(
                format!("{field}.length"),
                self.length.to_string(),
                "a generated value is 1 to 4096 characters",
            ));
        }
        let classes = [
            (self.lowercase, "abcdefghijklmnopqrstuvwxyz"),
            (self.uppercase, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
            (self.digits, "0123456789"),
            (self.punctuation, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
        ];
        let usable: Vec<&str> = classes
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, chars)| *chars)
            .filter(|chars| chars.chars().any(|c| !self.exclude.contains(c)))
            .collect();
        if usable.is_empty() {
            return Err(Error::validation(
                field.to_string(),
                format!("exclude {:?}", self.exclude),
                "no character class is left to generate from",
            ));
        }
        if self.require_each && (usable.len() as u32) > self.length {
            return Err(Error::validation(
                format!("{field}.length"),
                self.length.to_string(),
                "too short to hold one character of each required class",
            ));
        }
        Ok(())
    }
}

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Generated when the secret is created (and when its rotation token changes).
    Generated(Generator),
    /// Read from an environment variable of the deploying process at apply time.
    Env(String),
    /// Read from a file at apply time (trailing newline removed).
    File(PathBuf),
    /// Given in the code (tests; prefer the other sources).
    Value(SecretString),
}

impl Source {
    /// From the environment variable `var`.
    pub fn env(var: impl Into<String>) -> Source {
        Source::Env(var.into())
    }
    /// From the file at `path`.
    pub fn file(path: impl Into<PathBuf>) -> Source {
        Source::File(path.into())
    }
    /// Generated.
    pub fn generated(g: Generator) -> Source {
        Source::Generated(g)
    }
    /// A literal value.
    pub fn value(v: impl Into<String>) -> Source {
        Source::Value(SecretString::new(v))
    }

    pub(crate) fn validate(&self, field: &str) -> Result<()> {
        match self {
            Source::Generated(g) => g.validate(field),
            Source::Env(var) => {
                let ok = !var.is_empty()
                    && !var.starts_with(|c: char| c.is_ascii_digit())
                    && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if ok {
                    Ok(())
                } else {
                    Err(Error::validation(
                        field.to_string(),
                        var,
                        "an environment variable name is letters, digits and _, not starting with a digit",
                    ))
                }
            }
            Source::File(p) => {
                if p.as_os_str().is_empty() {
                    Err(Error::validation(
                        field.to_string(),
                        "",
                        "the file path is empty",
                    ))
                } else {
                    Ok(())
                }
            }
            Source::Value(v) => {
                if v.expose().is_empty() {
                    Err(Error::validation(
                        field.to_string(),
                        "(sensitive)",
                        "a secret value cannot be empty",
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The value, read now; `generate` makes generated ones. Errors never carry the value.
    pub(crate) async fn resolve<F, Fut>(&self, field: &str, generate: F) -> Result<SecretString>
    where
        F: FnOnce(Generator) -> Fut,
        Fut: std::future::Future<Output = Result<SecretString>>,
    {
        let v = match self {
            Source::Generated(g) => generate(g.clone()).await?,
            Source::Env(var) => SecretString::new(std::env::var(var).map_err(|_| {
                Error::validation(
                    field.to_string(),
                    var,
                    "the environment variable is not set (or not valid UTF-8) at apply time",
                )
            })?),
            Source::File(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| {
                    Error::validation(
                        field.to_string(),
                        p.display().to_string(),
                        format!("the file cannot be read: {}", e.kind()),
                    )
                })?;
                SecretString::new(text.strip_suffix('\n').unwrap_or(&text).to_string())
            }
            Source::Value(v) => v.clone(),
        };
        if v.expose().is_empty() {
            return Err(Error::validation(
                field.to_string(),
                "(sensitive)",
                "the secret value is empty",
            ));
        }
        Ok(v)
    }
}
