//! The registry of OAuth provider kinds: the `kind` of `[providers.NAME]`
//! (`google`, `microsoft`, `oauth`), each a [`Provider`] implemented in its
//! own module. The server asks a [`ProviderKind`] for everything that
//! differs between kinds and never names one itself.
//!
//! A new kind: its module implements [`Provider`], and one line in [`KINDS`]
//! registers it.

mod generic;
pub mod spec;
#[cfg(test)]
mod tests;

pub use spec::{ApiAccount, ConnectorFactory, Defaults, Provider, Purpose, Restriction};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Every kind, in the order the admin form and the API document list them.
static KINDS: &[&dyn Provider] = &[&crate::google::Google, &crate::graph::Microsoft, &generic::Generic];

/// A provider kind known to flowcal; written as its name.
#[derive(Clone, Copy)]
pub struct ProviderKind(&'static dyn Provider);

impl ProviderKind {
    /// Any OAuth 2.0 / OpenID Connect server.
    pub const GENERIC: ProviderKind = ProviderKind(&generic::Generic);

    /// The kind called `name` in the configuration.
    pub fn named(name: &str) -> Option<ProviderKind> {
        Self::all().find(|k| k.name() == name)
    }

    pub fn all() -> impl Iterator<Item = ProviderKind> {
        KINDS.iter().map(|p| ProviderKind(*p))
    }

    pub fn as_str(self) -> &'static str {
        self.0.name()
    }
}

impl std::ops::Deref for ProviderKind {
    type Target = dyn Provider;

    fn deref(&self) -> &Self::Target {
        self.0
    }
}

impl PartialEq for ProviderKind {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for ProviderKind {}

impl fmt::Debug for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for ProviderKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for ProviderKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        ProviderKind::named(&name).ok_or_else(|| {
            // Worded as serde words an unknown enum variant, as before the registry.
            let known: Vec<String> = ProviderKind::all().map(|k| format!("`{}`", k.name())).collect();
            serde::de::Error::custom(format!("unknown variant `{name}`, expected one of {}", known.join(", ")))
        })
    }
}
