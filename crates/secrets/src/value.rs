//! Secret values and where they come from. A value lives in memory only: it has no `Display`,
//! its `Debug` is redacted, and it never enters a plan, an output, an error or a log.

use std::collections::BTreeMap;
use std::path::PathBuf;

use futures::future::BoxFuture;
use skyforge_core::{Context, Error, Input, Inputs, NodeId, ResourceId, Result};

use secrecy::ExposeSecret;

use crate::refs::SecretRef;

/// A secret value in memory: a [`secrecy::SecretString`] (zeroized on drop, never in `Debug`
/// output), with equality for specs that compare sources.
#[derive(Clone)]
pub struct SecretString(secrecy::SecretString);

impl SecretString {
    /// Wrap a value.
    pub fn new(v: impl Into<String>) -> Self {
        SecretString(secrecy::SecretString::from(v.into()))
    }
    /// The value, for the one call that sends it to AWS.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for SecretString {}

impl From<secrecy::SecretString> for SecretString {
    fn from(s: secrecy::SecretString) -> Self {
        SecretString(s)
    }
}

impl From<SecretString> for secrecy::SecretString {
    fn from(s: SecretString) -> Self {
        s.0
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
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Generated when the secret is created (and when its rotation token changes).
    Generated(Generator),
    /// Read from an environment variable of the deploying process at apply time.
    Env(String),
    /// Read from a file at apply time (trailing newline removed).
    File(PathBuf),
    /// Given in the code (tests; prefer the other sources).
    Value(SecretString),
    /// A value that is not secret itself, part of a composed secret: a literal (a user name) or
    /// another node's output (a database endpoint). A change of it writes the secret again.
    Plain(Input<String>),
    /// Another secret's value, or one key of a JSON secret, read at apply time. A new version
    /// of that secret writes this one again.
    Secret(SecretRef),
    /// Text with `{name}` placeholders, each filled from another source at apply time
    /// (`postgres://{username}:{password}@{host}:{port}/{dbname}`).
    Template(Template),
}

/// Text with `{name}` placeholders and the source of each; see [`Source::Template`].
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    text: String,
    /// name -> (source, percent-encode it)
    parts: BTreeMap<String, (Source, bool)>,
}

impl Template {
    /// Text with `{name}` placeholders.
    pub fn new(text: impl Into<String>) -> Template {
        Template {
            text: text.into(),
            parts: BTreeMap::new(),
        }
    }
    /// Fill `{name}` with `source` as it is.
    pub fn part(mut self, name: impl Into<String>, source: Source) -> Template {
        self.parts.insert(name.into(), (source, false));
        self
    }
    /// Fill `{name}` with `source` percent-encoded for a URL's user, password or path.
    pub fn url_part(mut self, name: impl Into<String>, source: Source) -> Template {
        self.parts.insert(name.into(), (source, true));
        self
    }
    fn placeholders(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = self.text.as_str();
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { break };
            out.push(after[..close].to_string());
            rest = &after[close + 1..];
        }
        out
    }
    /// The text with every placeholder replaced, in one pass (a value is never re-read).
    fn fill(&self, values: &BTreeMap<&str, String>) -> String {
        let mut out = String::with_capacity(self.text.len());
        let mut rest = self.text.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after
                .find('}')
                .and_then(|c| Some((c, values.get(&after[..c])?)))
            {
                Some((close, v)) => {
                    out.push_str(v);
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
    fn validate(&self, field: &str) -> Result<()> {
        let used = self.placeholders();
        for name in &used {
            if !self.parts.contains_key(name) {
                return Err(Error::validation(
                    field.to_string(),
                    format!("{{{name}}}"),
                    "every placeholder of a template needs a part",
                ));
            }
        }
        for (name, (source, _)) in &self.parts {
            if !used.contains(name) {
                return Err(Error::validation(
                    format!("{field}.{name}"),
                    name,
                    "a part the template text does not use",
                ));
            }
            source.validate(&format!("{field}.{name}"))?;
        }
        Ok(())
    }
}

/// Percent-encode everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What resolving a source at apply time needs.
pub(crate) struct Resolver<'a> {
    pub(crate) ctx: &'a Context,
    pub(crate) rid: &'a ResourceId,
    pub(crate) inputs: &'a Inputs,
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
    /// A literal that is not secret (a user name, an engine) in a composed secret.
    pub fn plain(v: impl Into<String>) -> Source {
        Source::Plain(Input::Value(v.into()))
    }
    /// Another node's output (an endpoint) in a composed secret.
    pub fn output(r: impl Into<Input<String>>) -> Source {
        Source::Plain(r.into())
    }
    /// Another secret's value or key.
    pub fn secret(r: SecretRef) -> Source {
        Source::Secret(r)
    }
    /// A template.
    pub fn template(t: Template) -> Source {
        Source::Template(t)
    }

    /// The nodes this source reads at apply time.
    pub(crate) fn dependencies(&self) -> Vec<NodeId> {
        match self {
            Source::Plain(i) => i.dependency().into_iter().collect(),
            Source::Secret(r) => vec![r.node()],
            Source::Template(t) => t
                .parts
                .values()
                .flat_map(|(s, _)| s.dependencies())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// What the value depends on that can change after creation: the plain inputs and the
    /// versions of the secrets read. Empty for a source resolved once (generated, env, file);
    /// `None` while an input is not known (its node is still to be created).
    pub(crate) fn fingerprint(&self, inputs: &Inputs) -> Option<String> {
        match self {
            Source::Plain(i) => i.resolve(inputs),
            Source::Secret(r) => inputs.get(&r.version()).map(|v| v.to_string()),
            Source::Template(t) => {
                let mut parts = Vec::new();
                for (name, (s, _)) in &t.parts {
                    parts.push(format!("{name}={}", s.fingerprint(inputs)?));
                }
                Some(parts.join(";"))
            }
            _ => Some(String::new()),
        }
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
            Source::Plain(Input::Value(v)) if v.is_empty() => Err(Error::validation(
                field.to_string(),
                "",
                "a plain part cannot be empty",
            )),
            Source::Plain(_) | Source::Secret(_) => Ok(()),
            Source::Template(t) => t.validate(field),
        }
    }

    /// The value, read now (generated ones are generated). Errors never carry the value.
    pub(crate) fn resolve<'a>(
        &'a self,
        field: &'a str,
        r: &'a Resolver<'a>,
    ) -> BoxFuture<'a, Result<SecretString>> {
        Box::pin(async move {
            let v = self.read(field, r).await?;
            if v.expose().is_empty() {
                return Err(Error::validation(
                    field.to_string(),
                    "(sensitive)",
                    "the secret value is empty",
                ));
            }
            Ok(v)
        })
    }

    async fn read(&self, field: &str, r: &Resolver<'_>) -> Result<SecretString> {
        Ok(match self {
            Source::Generated(g) => crate::secret::generate(r.ctx, r.rid, g.clone()).await?,
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
            Source::Plain(i) => {
                SecretString::new(i.resolve(r.inputs).ok_or_else(|| Error::Resource {
                    resource: r.rid.to_string(),
                    message: format!("{field} is not known at apply time"),
                })?)
            }
            Source::Secret(s) => crate::refs::read_secret(r.ctx, r.rid, s, r.inputs).await?,
            Source::Template(t) => {
                let mut values = BTreeMap::new();
                for (name, (s, encode)) in &t.parts {
                    let v = s.resolve(&format!("{field}.{name}"), r).await?;
                    let v = if *encode {
                        percent_encode(v.expose())
                    } else {
                        v.expose().to_string()
                    };
                    values.insert(name.as_str(), v);
                }
                SecretString::new(t.fill(&values))
            }
        })
    }
}
