//! The built-in demo data set (`--demo`).
//!
//! Two vaults with stable ids: `engineering` (`engineeringdemovault000001`) and `Private`
//! (`privatedemovault0000000001`), holding items of several categories: logins (one with an OTP
//! field, and `docker-hub-service-account` that the public setup guide reads), passwords, an API credential, a database, a secure note, an item with a file, two
//! items titled `Build Server` (created 2021 and 2023) and titles with spaces.

use serde_json::json;

use crate::fixture::Fixture;

/// Id of the demo `engineering` vault.
pub const ENGINEERING_VAULT_ID: &str = "engineeringdemovault000001";
/// Id of the demo `Private` vault.
pub const PRIVATE_VAULT_ID: &str = "privatedemovault0000000001";
/// Base32 TOTP secret of the demo `GitHub` login's OTP field.
pub const DEMO_TOTP_SECRET: &str = "JBSWY3DPEHPK3PXP";

/// The demo data set.
pub fn demo_fixture() -> Fixture {
    let otp = format!("otpauth://totp/GitHub:ci-bot?secret={DEMO_TOTP_SECRET}&issuer=GitHub");
    let value = json!({"vaults": [
        {
            "id": ENGINEERING_VAULT_ID,
            "name": "engineering",
            "description": "Shared credentials of the engineering team",
            "createdAt": "2021-03-01T09:00:00Z",
            "items": [
                {
                    "title": "GitHub", "category": "LOGIN", "tags": ["dev", "ci"],
                    "createdAt": "2021-03-02T10:00:00Z",
                    "urls": [{"primary": true, "href": "https://github.com/login"}],
                    "sections": [{"id": "totpsection", "label": "Security"}],
                    "fields": [
                        {"id": "username", "type": "STRING", "purpose": "USERNAME",
                         "label": "username", "value": "ci-bot"},
                        {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD",
                         "label": "password", "value": "gh-Demo-Passw0rd!"},
                        {"id": "notesPlain", "type": "STRING", "purpose": "NOTES",
                         "label": "notesPlain", "value": "Bot account used by CI"},
                        {"id": "onetimepassword", "type": "OTP", "label": "one-time password",
                         "section": {"id": "totpsection"}, "value": otp}
                    ]
                },
                {
                    // The item the public setup guide reads: `vault read
                    // op/vaults/engineering/items/docker-hub-service-account`.
                    "title": "docker-hub-service-account", "category": "LOGIN",
                    "tags": ["registry", "ci"],
                    "createdAt": "2021-03-05T11:00:00Z",
                    "urls": [{"primary": true, "href": "https://hub.docker.com"}],
                    "fields": [
                        {"id": "username", "type": "STRING", "purpose": "USERNAME",
                         "label": "username", "value": "acme-ci"},
                        {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD",
                         "label": "password", "value": "dckr_pat_DemoTokenNotReal42"}
                    ]
                },
                {
                    "title": "Stripe API", "category": "API_CREDENTIAL", "tags": ["payments"],
                    "createdAt": "2021-04-10T08:30:00Z",
                    "fields": [
                        {"id": "username", "type": "STRING", "label": "username",
                         "value": "payments-service"},
                        {"id": "credential", "type": "CONCEALED", "label": "credential",
                         "value": "sk_test_51DemoKeyNotReal0123456789"},
                        {"id": "type", "type": "MENU", "label": "type", "value": "secret key"},
                        {"id": "expires", "type": "DATE", "label": "expires", "value": "2027-12-31"}
                    ]
                },
                {
                    "title": "Production Database", "category": "DATABASE", "tags": ["prod"],
                    "createdAt": "2021-05-05T12:00:00Z",
                    "fields": [
                        {"id": "database_type", "type": "MENU", "label": "type", "value": "postgresql"},
                        {"id": "hostname", "type": "STRING", "label": "server",
                         "value": "db.internal.example.com"},
                        {"id": "port", "type": "STRING", "label": "port", "value": "5432"},
                        {"id": "database", "type": "STRING", "label": "database", "value": "orders"},
                        {"id": "username", "type": "STRING", "purpose": "USERNAME",
                         "label": "username", "value": "orders_app"},
                        {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD",
                         "label": "password", "value": "pg-Demo-S3cret"}
                    ]
                },
                {
                    "title": "Deploy Key Passphrase", "category": "PASSWORD",
                    "createdAt": "2021-06-01T07:15:00Z",
                    "fields": [
                        {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD",
                         "label": "password", "value": "correct horse battery staple"},
                        {"id": "notesPlain", "type": "STRING", "purpose": "NOTES",
                         "label": "notesPlain", "value": ""}
                    ]
                },
                {
                    "title": "Build Server", "category": "SERVER", "tags": ["ci"],
                    "createdAt": "2021-07-01T00:00:00Z",
                    "fields": [
                        {"id": "url", "type": "STRING", "label": "URL", "value": "https://build-old.example.com"},
                        {"id": "username", "type": "STRING", "label": "username", "value": "jenkins"},
                        {"id": "password", "type": "CONCEALED", "label": "password", "value": "old-build-pass"}
                    ]
                },
                {
                    "title": "Build Server", "category": "SERVER", "tags": ["ci"],
                    "createdAt": "2023-02-01T00:00:00Z",
                    "fields": [
                        {"id": "url", "type": "STRING", "label": "URL", "value": "https://build.example.com"},
                        {"id": "username", "type": "STRING", "label": "username", "value": "buildkite"},
                        {"id": "password", "type": "CONCEALED", "label": "password", "value": "new-build-pass"}
                    ]
                },
                {
                    "title": "TLS Certificate", "category": "SECURE_NOTE", "tags": ["prod"],
                    "createdAt": "2022-01-17T23:41:32Z",
                    "fields": [
                        {"id": "notesPlain", "type": "STRING", "purpose": "NOTES",
                         "label": "notesPlain", "value": "Wildcard certificate for *.example.com"}
                    ],
                    "files": [
                        {"name": "cert.pem",
                         "content": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSURlbW9DZXJ0aWZpY2F0ZU5vdFJlYWwKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="}
                    ]
                },
                {
                    "title": "On-call Runbook", "category": "SECURE_NOTE",
                    "createdAt": "2022-03-03T03:03:03Z",
                    "fields": [
                        {"id": "notesPlain", "type": "STRING", "purpose": "NOTES", "label": "notesPlain",
                         "value": "1. Check the dashboards\n2. Page the database owner"}
                    ]
                }
            ]
        },
        {
            "id": PRIVATE_VAULT_ID,
            "name": "Private",
            "type": "PERSONAL",
            "createdAt": "2020-11-11T11:11:11Z",
            "items": [
                {
                    "title": "Personal Email", "category": "LOGIN", "favorite": true,
                    "createdAt": "2020-11-12T08:00:00Z",
                    "urls": [{"primary": true, "href": "https://mail.example.org"}],
                    "fields": [
                        {"id": "username", "type": "EMAIL", "purpose": "USERNAME",
                         "label": "username", "value": "alice@example.org"},
                        {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD",
                         "label": "password", "value": "alice-Demo-Passw0rd"}
                    ]
                },
                {
                    "title": "Home Router", "category": "WIRELESS_ROUTER",
                    "createdAt": "2020-12-24T18:00:00Z",
                    "fields": [
                        {"id": "network_name", "type": "STRING", "label": "network name", "value": "alice-home"},
                        {"id": "wireless_password", "type": "CONCEALED", "label": "wireless network password",
                         "value": "wifi-Demo-Pass"}
                    ]
                },
                {
                    "title": "Bank PIN", "category": "PASSWORD", "tags": ["banking"],
                    "createdAt": "2021-01-01T00:00:00Z",
                    "fields": [
                        {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD",
                         "label": "password", "value": "4921"}
                    ]
                }
            ]
        }
    ]});
    serde_json::from_value(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn demo_loads() {
        let store = Store::new();
        demo_fixture().load_into(&store).unwrap();
        let engineering = store.vault(ENGINEERING_VAULT_ID).unwrap();
        assert_eq!(engineering.len(), 9);
        assert!(
            engineering
                .items()
                .iter()
                .any(|i| i.item().title == "docker-hub-service-account")
        );
        let builds: Vec<_> = engineering
            .items()
            .into_iter()
            .filter(|i| i.item().title == "Build Server")
            .collect();
        assert_eq!(builds.len(), 2);
        assert_eq!(store.vault(PRIVATE_VAULT_ID).unwrap().name(), "Private");
    }
}
