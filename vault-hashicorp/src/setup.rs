//! The setup tool's logic (example `hashicorp-setup`): what a Vault admin would otherwise type.
