//! The config file (TOML): cache, integrations and secrets, with errors that name the file,
//! line and column, and the unknown key.
//!
//! ```toml
//! [cache]
//! ttl_minutes = 60                 # optional; 0 turns caching off
//! max_entries = 10000              # optional bound of the cache
//! persist = false                  # optional; true: values outlive the process (crate::persist)
//! stale_if_error_minutes = 0       # optional: serve the last value this long past its TTL
//!                                  # when refreshing it fails for a transient reason
//! refresh_ahead = false            # optional: refresh hot values in the background
//! max_concurrent_fetches = 64      # optional: per provider; more fetches queue
//!
//! [integrations.aws]               # settings of a provider, read by the provider crate
//! region = "us-east-1"
//!
//! [secrets.github-token]
//! value = "ghp_…"                  # a local value (quickstart only: prefer value_env)
//! allowed_domains = ["api.github.com", "*.githubusercontent.com"]
//! enabled = true                   # optional
//!
//! [secrets.db-password]
//! value_env = "DB_PASSWORD"        # read from the environment at resolve time
//!
//! [secrets.stripe.aws]             # a link: the table's name is the provider id
//! secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:stripe-AbCdEf"
//! ```
//!
//! A secret has exactly one source: `value`, `value_env`, or one provider table.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::cache::CacheConfig;
use crate::domain::AllowedDomains;
use crate::link::{Link, ProviderId};
use crate::template::is_valid_name;
use crate::vault::{Vault, VaultSecret};

/// A config file error: where (file, line, column, 1-based) and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    file: Option<String>,
    line: usize,
    column: usize,
    message: String,
}

impl ConfigError {
    fn at(text: &str, offset: usize, message: impl Into<String>) -> Self {
        Self::at_position(Position::of(text, offset), message)
    }

    fn at_position(at: Position, message: impl Into<String>) -> Self {
        ConfigError {
            file: None,
            line: at.line,
            column: at.column,
            message: message.into(),
        }
    }

    fn in_file(mut self, file: &str) -> Self {
        self.file = Some(file.to_owned());
        self
    }

    /// 1-based line (0 when the error is about the file as a whole).
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column in characters.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}:")?;
        }
        if self.line > 0 {
            write!(f, "{}:{}: ", self.line, self.column)?;
        } else if self.file.is_some() {
            f.write_str(" ")?;
        }
        f.write_str(&self.message)
    }
}

/// A 1-based line and column in the config text. Kept instead of the text itself, which may
/// hold `value = "…"` secrets and is wiped after parsing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Position {
    line: usize,
    column: usize,
}

impl Position {
    fn of(text: &str, offset: usize) -> Self {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..offset].chars().count() + 1;
        Position { line, column }
    }
}

/// The settings table of one integration (`[integrations.<id>]`), for its provider crate to
/// read.
#[derive(Clone, PartialEq)]
pub struct IntegrationSettings {
    table: toml::Table,
    at: Position,
    file: Option<String>,
}

impl IntegrationSettings {
    /// Settings from a table built in code (no file position): for library users and tests.
    pub fn new(table: toml::Table) -> Self {
        IntegrationSettings {
            table,
            at: Position::default(),
            file: None,
        }
    }

    /// A string setting, if present (an error when present with another type).
    pub fn get_str(&self, key: &str) -> Result<Option<&str>, ConfigError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.error(format!(
                "`{key}` must be a string, not a {}",
                other.type_str()
            ))),
        }
    }

    /// Deserializes the settings into a provider's type. Use `#[serde(deny_unknown_fields)]`
    /// there: the error then names the unknown key, with the section's position.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        self.table.clone().try_into().map_err(|e: toml::de::Error| {
            self.error(format!("in this integration: {}", e.message()))
        })
    }

    /// An error positioned at this section.
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        let e = ConfigError::at_position(self.at, message);
        match &self.file {
            Some(f) => e.in_file(f),
            None => e,
        }
    }

    /// The raw table.
    pub fn table(&self) -> &toml::Table {
        &self.table
    }
}

/// A parsed config file.
#[derive(Clone)]
pub struct Config {
    /// Cache settings.
    pub cache: CacheConfig,
    /// `[cache] persist`: keep fetched values in the encrypted store between runs
    /// ([`crate::persist`]). Off by default.
    pub persist_values: bool,
    /// Settings of each integration, by provider id.
    pub integrations: BTreeMap<ProviderId, IntegrationSettings>,
    /// The secrets.
    pub vault: Vault,
    /// Where each link's provider table is (for [`Config::check_providers`]).
    link_positions: Vec<(ProviderId, Position)>,
    file: Option<String>,
}

const SECRET_KEYS: &str = "`value`, `value_env`, `allowed_domains`, `enabled`";

impl Config {
    /// Reads and parses a config file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        // The text may hold `value = "…"` secrets: wiped when parsed, never kept.
        let text =
            zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| ConfigError {
                file: Some(name.clone()),
                line: 0,
                column: 0,
                message: format!("cannot read the config file: {e}"),
            })?);
        Self::parse_named(&text, Some(&name))
    }

    /// Parses config text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::parse_named(text, None)
    }

    fn parse_named(text: &str, file: Option<&str>) -> Result<Self, ConfigError> {
        let with_file = |e: ConfigError| match file {
            Some(f) => e.in_file(f),
            None => e,
        };
        Parser { text }.parse(file).map_err(with_file)
    }

    /// Errors for a link or integration whose provider is not in `known` (a typo such as
    /// `[secrets.x.asw]`), pointing at it.
    pub fn check_providers(&self, known: &[&str]) -> Result<(), ConfigError> {
        let positions = self
            .link_positions
            .iter()
            .map(|(id, at)| (id, *at))
            .chain(self.integrations.iter().map(|(id, s)| (id, s.at)));
        for (id, at) in positions {
            if !known.contains(&id.as_str()) {
                let e = ConfigError::at_position(
                    at,
                    format!(
                        "unknown provider `{id}`; expected one of: {}",
                        known.join(", ")
                    ),
                );
                return Err(match &self.file {
                    Some(f) => e.in_file(f),
                    None => e,
                });
            }
        }
        Ok(())
    }
}

// The raw text may hold `value = "…"` secrets: never print it.
impl fmt::Debug for IntegrationSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntegrationSettings")
            .field("keys", &self.table.keys().collect::<Vec<_>>())
            .field("file", &self.file)
            .finish()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("cache", &self.cache)
            .field("integrations", &self.integrations)
            .field("vault", &self.vault)
            .field("file", &self.file)
            .finish()
    }
}

struct Parser<'t> {
    text: &'t str,
}

type Val<'i> = Spanned<DeValue<'i>>;

impl<'t> Parser<'t> {
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        ConfigError::at(self.text, span.start, message)
    }

    fn table<'a>(&self, v: &'a Val<'t>, what: &str) -> Result<&'a DeTable<'t>, ConfigError> {
        v.get_ref().as_table().ok_or_else(|| {
            self.err(
                v.span(),
                format!("{what} must be a table, not a {}", v.get_ref().type_str()),
            )
        })
    }

    fn string<'a>(&self, v: &'a Val<'t>, what: &str) -> Result<&'a str, ConfigError> {
        v.get_ref().as_str().ok_or_else(|| {
            self.err(
                v.span(),
                format!("{what} must be a string, not a {}", v.get_ref().type_str()),
            )
        })
    }

    fn parse(&self, file: Option<&str>) -> Result<Config, ConfigError> {
        let root = DeTable::parse(self.text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            self.err(span, format!("invalid TOML: {}", e.message().trim_end()))
        })?;
        let mut config = Config {
            cache: CacheConfig::default(),
            persist_values: false,
            integrations: BTreeMap::new(),
            vault: Vault::new(),
            link_positions: Vec::new(),
            file: file.map(str::to_owned),
        };
        let plain: Option<toml::Table> = None;
        let mut plain = plain;
        for (key, value) in root.get_ref().iter() {
            match key.get_ref().as_ref() {
                "cache" => {
                    config.persist_values = self.cache_persist(value)?;
                    self.cache(value, &mut config.cache)?
                }
                "integrations" => {
                    let table = self.table(value, "`integrations`")?;
                    for (id_key, section) in table.iter() {
                        let id = ProviderId::new(id_key.get_ref()).map_err(|e| {
                            self.err(
                                id_key.span(),
                                format!("[integrations.{}]: {}", id_key.get_ref(), e.message()),
                            )
                        })?;
                        self.table(section, &format!("[integrations.{id}]"))?;
                        if plain.is_none() {
                            plain =
                                Some(toml::from_str(self.text).map_err(|e: toml::de::Error| {
                                    self.err(0..0, format!("invalid TOML: {}", e.message()))
                                })?);
                        }
                        let t = plain
                            .as_ref()
                            .and_then(|p| p.get("integrations"))
                            .and_then(|i| i.get(id.as_str()))
                            .and_then(|s| s.as_table())
                            .cloned()
                            .unwrap_or_default();
                        config.integrations.insert(
                            id,
                            IntegrationSettings {
                                table: t,
                                at: Position::of(self.text, id_key.span().start),
                                file: file.map(str::to_owned),
                            },
                        );
                    }
                }
                "secrets" => {
                    let table = self.table(value, "`secrets`")?;
                    for (name, secret) in table.iter() {
                        self.secret(name, secret, &mut config)?;
                    }
                }
                other => {
                    return Err(self.err(
                        key.span(),
                        format!(
                            "unknown key `{other}`; expected `cache`, `integrations` or `secrets`"
                        ),
                    ))
                }
            }
        }
        Ok(config)
    }

    fn cache(&self, value: &Val<'t>, cache: &mut CacheConfig) -> Result<(), ConfigError> {
        for (key, v) in self.table(value, "`cache`")?.iter() {
            let int = |what: &str| -> Result<u64, ConfigError> {
                v.get_ref()
                    .as_integer()
                    .and_then(|i| u64::from_str_radix(i.as_str(), i.radix()).ok())
                    .ok_or_else(|| {
                        self.err(
                            v.span(),
                            format!("`{what}` must be a whole number, 0 or more"),
                        )
                    })
            };
            match key.get_ref().as_ref() {
                "ttl_minutes" => {
                    let minutes = int("ttl_minutes")?;
                    if minutes > 60 * 24 * 365 {
                        return Err(self.err(v.span(), "`ttl_minutes` is more than a year"));
                    }
                    cache.ttl = CacheConfig::with_ttl_minutes(minutes).ttl;
                }
                "persist" => {} // read by `cache_persist`
                "max_entries" => {
                    cache.capacity = usize::try_from(int("max_entries")?)
                        .ok()
                        .and_then(NonZeroUsize::new)
                        .ok_or_else(|| self.err(v.span(), "`max_entries` must be at least 1"))?;
                }
                "stale_if_error_minutes" => {
                    let minutes = int("stale_if_error_minutes")?;
                    if minutes > 60 * 24 * 365 {
                        return Err(
                            self.err(v.span(), "`stale_if_error_minutes` is more than a year")
                        );
                    }
                    cache.stale_if_error = std::time::Duration::from_secs(minutes * 60);
                }
                "refresh_ahead" => {
                    cache.refresh_ahead = v.get_ref().as_bool().ok_or_else(|| {
                        self.err(v.span(), "`refresh_ahead` must be true or false")
                    })?;
                }
                "max_concurrent_fetches" => {
                    cache.max_concurrent_fetches = usize::try_from(int("max_concurrent_fetches")?)
                        .ok()
                        .filter(|n| (1..=100_000).contains(n))
                        .ok_or_else(|| {
                            self.err(v.span(), "`max_concurrent_fetches` must be 1 to 100000")
                        })?;
                }
                other => {
                    return Err(self.err(
                        key.span(),
                        format!(
                        "unknown key `{other}` in [cache]; expected `ttl_minutes`, `max_entries`, \
                         `persist`, `stale_if_error_minutes`, `refresh_ahead` or `max_concurrent_fetches`"
                    ),
                    ))
                }
            }
        }
        Ok(())
    }

    /// `[cache] persist = true|false`.
    fn cache_persist(&self, value: &Val<'t>) -> Result<bool, ConfigError> {
        let table = self.table(value, "`cache`")?;
        match table.get("persist") {
            None => Ok(false),
            Some(v) => v
                .get_ref()
                .as_bool()
                .ok_or_else(|| self.err(v.span(), "`persist` must be true or false")),
        }
    }

    fn secret(
        &self,
        name: &Spanned<std::borrow::Cow<'t, str>>,
        value: &Val<'t>,
        config: &mut Config,
    ) -> Result<(), ConfigError> {
        let n = name.get_ref().as_ref();
        if !is_valid_name(n) {
            return Err(self.err(
                name.span(),
                format!("secret name `{n}` is invalid: use 1 to 128 of A-Z a-z 0-9 _ - ."),
            ));
        }
        let table = self.table(value, &format!("[secrets.{n}]"))?;
        let mut source: Option<(VaultSecret, Range<usize>)> = None;
        let mut enabled = true;
        let mut domains = AllowedDomains::any();
        let mut set_source = |s: VaultSecret, span: Range<usize>| -> Result<(), ConfigError> {
            if source.is_some() {
                return Err(self.err(
                    span,
                    format!("secret `{n}` has more than one source: keep one of `value`, `value_env` or a provider table"),
                ));
            }
            source = Some((s, span));
            Ok(())
        };
        for (key, v) in table.iter() {
            let k = key.get_ref().as_ref();
            match k {
                "value" => set_source(VaultSecret::local(self.string(v, "`value`")?), key.span())?,
                "value_env" => {
                    let var = self.string(v, "`value_env`")?;
                    if var.is_empty() || var.contains('=') || var.contains('\0') {
                        return Err(self.err(v.span(), "`value_env` must name an environment variable"));
                    }
                    set_source(VaultSecret::env(var), key.span())?
                }
                "enabled" => {
                    enabled = v
                        .get_ref()
                        .as_bool()
                        .ok_or_else(|| self.err(v.span(), "`enabled` must be true or false"))?
                }
                "allowed_domains" => {
                    let arr = v
                        .get_ref()
                        .as_array()
                        .ok_or_else(|| self.err(v.span(), "`allowed_domains` must be an array of strings"))?;
                    let mut patterns = Vec::new();
                    for item in arr.iter() {
                        let p = self.string(item, "an allowed domain")?;
                        AllowedDomains::parse([p]).map_err(|e| self.err(item.span(), e.message()))?;
                        patterns.push(p);
                    }
                    domains = AllowedDomains::parse(patterns).map_err(|e| self.err(v.span(), e.message()))?;
                }
                _ if v.get_ref().is_table() => {
                    let id = ProviderId::new(k).map_err(|e| self.err(key.span(), e.message()))?;
                    let mut link = Link::new(id.clone());
                    for (fk, fv) in v.get_ref().as_table().into_iter().flat_map(|t| t.iter()) {
                        let text = match fv.get_ref() {
                            DeValue::String(s) => s.to_string(),
                            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                                .map(|i| i.to_string())
                                .map_err(|_| self.err(fv.span(), "integer out of range"))?,
                            DeValue::Boolean(b) => b.to_string(),
                            other => {
                                return Err(self.err(
                                    fv.span(),
                                    format!(
                                        "`{}` in [secrets.{n}.{k}] must be a string, number or boolean, not a {}",
                                        fk.get_ref(),
                                        other.type_str()
                                    ),
                                ))
                            }
                        };
                        link = link.with(fk.get_ref().as_ref(), text);
                    }
                    config
                        .link_positions
                        .push((id, Position::of(self.text, key.span().start)));
                    set_source(VaultSecret::link(link), key.span())?;
                }
                other => {
                    return Err(self.err(
                        key.span(),
                        format!("unknown key `{other}` in [secrets.{n}]; expected {SECRET_KEYS} or a provider table such as [secrets.{n}.aws]"),
                    ))
                }
            }
        }
        let Some((secret, _)) = source else {
            return Err(self.err(
                name.span(),
                format!(
                    "secret `{n}` has no source: give `value`, `value_env` or a provider table"
                ),
            ));
        };
        config
            .vault
            .insert(n, secret.enabled(enabled).allowed_domains(domains))
            .map_err(|e| self.err(name.span(), e.to_string()))
    }
}
