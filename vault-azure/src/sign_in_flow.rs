//! Which way the provider gets its Key Vault token: the `flow` key of `[integrations.azure]`.

use serde::Deserialize;

/// How the provider gets its Key Vault token.
///
/// Without a `flow` key the environment decides: `AZURE_CLIENT_SECRET` →
/// [`ClientCredentials`](Self::ClientCredentials), `AZURE_CLIENT_CERTIFICATE_PATH` →
/// [`Certificate`](Self::Certificate), `AZURE_FEDERATED_TOKEN_FILE` →
/// [`WorkloadIdentity`](Self::WorkloadIdentity), else a client id → [`Browser`](Self::Browser),
/// else [`Auto`](Self::Auto).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInFlow {
    /// Authorization code + PKCE in the system browser, with a loopback redirect: the
    /// default for people at a desktop.
    #[default]
    Browser,
    /// Device code (RFC 8628): the user signs in on another device; for machines without a
    /// browser (SSH sessions, containers).
    DeviceCode,
    /// Client credentials of a service principal (secret from `AZURE_CLIENT_SECRET`): for
    /// unattended use. No user, no refresh token: a new token is simply requested.
    ClientCredentials,
    /// A service principal's certificate (`AZURE_CLIENT_CERTIFICATE_PATH`, PEM or PKCS#12):
    /// an RFC 7523 client assertion signed with its key.
    Certificate,
    /// Workload identity federation: the token in `AZURE_FEDERATED_TOKEN_FILE` (re-read for
    /// every request) as the client assertion.
    WorkloadIdentity,
    /// The managed identity of the Azure host (IMDS, or App Service's `IDENTITY_ENDPOINT`).
    ManagedIdentity,
    /// The Azure CLI's sign-in (`az account get-access-token`).
    AzureCli,
    /// The first available of: environment (client secret, certificate), workload identity,
    /// managed identity, Azure CLI; the order of `DefaultAzureCredential`.
    Auto,
}

impl SignInFlow {
    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInFlow::Browser => "browser",
            SignInFlow::DeviceCode => "device_code",
            SignInFlow::ClientCredentials => "client_credentials",
            SignInFlow::Certificate => "certificate",
            SignInFlow::WorkloadIdentity => "workload_identity",
            SignInFlow::ManagedIdentity => "managed_identity",
            SignInFlow::AzureCli => "azure_cli",
            SignInFlow::Auto => "auto",
        }
    }

    /// Whether the flow needs a person (browser, device code).
    pub fn is_interactive(self) -> bool {
        matches!(self, SignInFlow::Browser | SignInFlow::DeviceCode)
    }
}
