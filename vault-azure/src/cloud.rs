//! The Azure clouds this crate knows: where their vaults live, where their users sign in,
//! and which token audience their Key Vault expects.
//!
//! A Key Vault token is a bearer credential for *every* vault of its cloud, so the host of an
//! identifier decides everything: only hosts named here (or listed in `vault_hosts`) ever
//! receive one. Azure Germany (`vault.microsoftazure.de`) closed in 2021 and is not listed.

/// A sovereign Azure cloud.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cloud {
    /// Azure public cloud: `*.vault.azure.net`, `login.microsoftonline.com`.
    Public,
    /// Azure operated by 21Vianet (China): `*.vault.azure.cn`, `login.chinacloudapi.cn`.
    China,
    /// Azure US Government: `*.vault.usgovcloudapi.net`, `login.microsoftonline.us`.
    UsGovernment,
}

impl Cloud {
    /// Every known cloud.
    pub const ALL: [Cloud; 3] = [Cloud::Public, Cloud::China, Cloud::UsGovernment];

    /// The DNS suffix of the cloud's vaults: a vault host is `<vault-name>.<suffix>`.
    pub fn vault_suffix(self) -> &'static str {
        match self {
            Cloud::Public => "vault.azure.net",
            Cloud::China => "vault.azure.cn",
            Cloud::UsGovernment => "vault.usgovcloudapi.net",
        }
    }

    /// The Microsoft Entra sign-in host of the cloud.
    pub fn login_host(self) -> &'static str {
        match self {
            Cloud::Public => "login.microsoftonline.com",
            Cloud::China => "login.chinacloudapi.cn",
            Cloud::UsGovernment => "login.microsoftonline.us",
        }
    }

    /// The Key Vault resource (token audience) of the cloud; the scope asked for is
    /// `<resource>/.default`.
    pub fn resource(self) -> &'static str {
        match self {
            Cloud::Public => "https://vault.azure.net",
            Cloud::China => "https://vault.azure.cn",
            Cloud::UsGovernment => "https://vault.usgovcloudapi.net",
        }
    }

    /// A short human name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Public => "Azure public cloud",
            Cloud::China => "Azure China",
            Cloud::UsGovernment => "Azure US Government",
        }
    }

    /// The cloud whose vault suffix ends `host` (already lower-case), with the vault name
    /// in front of it (one DNS label, not yet validated).
    pub fn split_vault_host(host: &str) -> Option<(Cloud, &str)> {
        Cloud::ALL.into_iter().find_map(|c| {
            let label = host.strip_suffix(c.vault_suffix())?.strip_suffix('.')?;
            Some((c, label))
        })
    }

    /// The cloud whose sign-in host is `host` (lower-case), if any.
    pub fn from_login_host(host: &str) -> Option<Cloud> {
        Cloud::ALL.into_iter().find(|c| c.login_host() == host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_hosts_split_into_cloud_and_label() {
        assert_eq!(
            Cloud::split_vault_host("my-vault.vault.azure.net"),
            Some((Cloud::Public, "my-vault"))
        );
        assert_eq!(
            Cloud::split_vault_host("a.b.vault.azure.cn"),
            Some((Cloud::China, "a.b"))
        );
        assert_eq!(Cloud::split_vault_host("vault.azure.net"), None);
        assert_eq!(Cloud::split_vault_host("myvault.azure.net"), None);
        assert_eq!(Cloud::split_vault_host("x.vault.azure.net.evil.com"), None);
        assert_eq!(Cloud::split_vault_host("xvault.azure.net"), None);
    }

    #[test]
    fn login_hosts() {
        assert_eq!(
            Cloud::from_login_host("login.microsoftonline.us"),
            Some(Cloud::UsGovernment)
        );
        assert_eq!(Cloud::from_login_host("127.0.0.1"), None);
    }
}
