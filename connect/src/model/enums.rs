//! The string enums of the Connect API. Unknown values are kept in `Other`, never rejected.

use super::string_enum::string_enum;

string_enum! {
    /// Item category (`category`). The 22 values of the official spec; anything else is kept.
    ItemCategory {
        /// `LOGIN`
        Login => "LOGIN",
        /// `PASSWORD`
        Password => "PASSWORD",
        /// `API_CREDENTIAL`
        ApiCredential => "API_CREDENTIAL",
        /// `SERVER`
        Server => "SERVER",
        /// `DATABASE`
        Database => "DATABASE",
        /// `CREDIT_CARD`
        CreditCard => "CREDIT_CARD",
        /// `MEMBERSHIP`
        Membership => "MEMBERSHIP",
        /// `PASSPORT`
        Passport => "PASSPORT",
        /// `SOFTWARE_LICENSE`
        SoftwareLicense => "SOFTWARE_LICENSE",
        /// `OUTDOOR_LICENSE`
        OutdoorLicense => "OUTDOOR_LICENSE",
        /// `SECURE_NOTE`
        SecureNote => "SECURE_NOTE",
        /// `WIRELESS_ROUTER`
        WirelessRouter => "WIRELESS_ROUTER",
        /// `BANK_ACCOUNT`
        BankAccount => "BANK_ACCOUNT",
        /// `DRIVER_LICENSE`
        DriverLicense => "DRIVER_LICENSE",
        /// `IDENTITY`
        Identity => "IDENTITY",
        /// `REWARD_PROGRAM`
        RewardProgram => "REWARD_PROGRAM",
        /// `DOCUMENT` (cannot be created through Connect)
        Document => "DOCUMENT",
        /// `EMAIL_ACCOUNT`
        EmailAccount => "EMAIL_ACCOUNT",
        /// `SOCIAL_SECURITY_NUMBER`
        SocialSecurityNumber => "SOCIAL_SECURITY_NUMBER",
        /// `MEDICAL_RECORD`
        MedicalRecord => "MEDICAL_RECORD",
        /// `SSH_KEY`
        SshKey => "SSH_KEY",
        /// `CUSTOM` (cannot be created through Connect)
        Custom => "CUSTOM",
    }
}

string_enum! {
    /// Field type (`type`). Documented input types plus the extra types the server returns for
    /// existing items. The spec's `TOTP` is not a real type (the server uses `OTP`); see
    /// [`FieldType::parse_lenient`].
    #[derive(Default)]
    FieldType {
        /// `STRING` (the default)
        #[default]
        String => "STRING",
        /// `EMAIL`
        Email => "EMAIL",
        /// `CONCEALED` (passwords and other secrets)
        Concealed => "CONCEALED",
        /// `URL`
        Url => "URL",
        /// `OTP` (an `otpauth://` URI; the server adds the current code in `totp`)
        Otp => "OTP",
        /// `DATE` (`YYYY-MM-DD`)
        Date => "DATE",
        /// `MONTH_YEAR` (`YYYYMM` or `YYYY/MM`)
        MonthYear => "MONTH_YEAR",
        /// `MENU`
        Menu => "MENU",
        /// `ADDRESS` (returned only)
        Address => "ADDRESS",
        /// `PHONE` (returned only)
        Phone => "PHONE",
        /// `CREDIT_CARD_NUMBER` (returned only)
        CreditCardNumber => "CREDIT_CARD_NUMBER",
        /// `CREDIT_CARD_TYPE` (returned only)
        CreditCardType => "CREDIT_CARD_TYPE",
        /// `GENDER` (returned only)
        Gender => "GENDER",
        /// `REFERENCE` (returned only)
        Reference => "REFERENCE",
        /// `FILE` (returned only)
        File => "FILE",
        /// `SSHKEY` (returned only)
        SshKey => "SSHKEY",
        /// `UNKNOWN` (returned only)
        Unknown => "UNKNOWN",
    }
}

impl FieldType {
    /// Input normalisation a server may apply: case-insensitive, `TOTP` (the spec's spelling and
    /// the Vault plugin README's) means `OTP`, empty means the default `STRING`.
    pub fn parse_lenient(text: &str) -> Self {
        if text.is_empty() {
            FieldType::String
        } else if text.eq_ignore_ascii_case("TOTP") {
            FieldType::Otp
        } else {
            FieldType::parse_ignore_case(text)
        }
    }
}

string_enum! {
    /// Field purpose (`purpose`): autofill role. The empty purpose is modelled as `None` on
    /// [`Field::purpose`](super::Field::purpose).
    FieldPurpose {
        /// `USERNAME`
        Username => "USERNAME",
        /// `PASSWORD`
        Password => "PASSWORD",
        /// `NOTES`
        Notes => "NOTES",
    }
}

string_enum! {
    /// Vault type (`type`).
    #[derive(Default)]
    VaultType {
        /// `USER_CREATED` (the default)
        #[default]
        UserCreated => "USER_CREATED",
        /// `PERSONAL`
        Personal => "PERSONAL",
        /// `EVERYONE`
        Everyone => "EVERYONE",
        /// `TRANSFER`
        Transfer => "TRANSFER",
    }
}

string_enum! {
    /// Item state (`state`, read-only). Active items have no state.
    ItemState {
        /// `ARCHIVED`
        Archived => "ARCHIVED",
        /// `DELETED`
        Deleted => "DELETED",
    }
}

string_enum! {
    /// Character set of a [`GeneratorRecipe`](super::GeneratorRecipe).
    CharacterSet {
        /// `LETTERS`: `A–Z a–z`
        Letters => "LETTERS",
        /// `DIGITS`: `0–9`
        Digits => "DIGITS",
        /// `SYMBOLS`
        Symbols => "SYMBOLS",
    }
}

string_enum! {
    /// Operation of a [`PatchOp`](super::PatchOp). Connect supports only these three of RFC 6902.
    PatchOperation {
        /// `add`
        Add => "add",
        /// `remove`
        Remove => "remove",
        /// `replace`
        Replace => "replace",
    }
}

string_enum! {
    /// What an [`ActivityEntry`](super::ActivityEntry) did.
    ActivityAction {
        /// `READ`
        Read => "READ",
        /// `CREATE`
        Create => "CREATE",
        /// `UPDATE`
        Update => "UPDATE",
        /// `DELETE`
        Delete => "DELETE",
    }
}

string_enum! {
    /// Outcome of an [`ActivityEntry`](super::ActivityEntry).
    ActivityResult {
        /// `SUCCESS`
        Success => "SUCCESS",
        /// `DENY`
        Deny => "DENY",
    }
}

string_enum! {
    /// Kind of resource an [`ActivityEntry`](super::ActivityEntry) touched.
    ResourceType {
        /// `ITEM`
        Item => "ITEM",
        /// `VAULT`
        Vault => "VAULT",
    }
}
