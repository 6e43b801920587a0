//! A macro for Connect's string enums.
//!
//! Connect and its SDKs add values over time (field types, categories), so every enum keeps values
//! it does not know in an `Other(String)` variant instead of rejecting the whole document. Known
//! values deserialise without allocating, which matters on the "GET one item" hot path.

/// Declares a string enum with known variants and an `Other(String)` catch-all.
///
/// Generated: `as_str`, `Display`, `From<&str>`, `From<String>`, `FromStr` (infallible),
/// `Serialize`/`Deserialize` as a plain JSON string, `is_known`, and `KNOWN` (all known values).
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this crate does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Every value this crate knows, in declaration order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Other(other) => other.as_str(),
                }
            }

            /// Whether this is one of the known values (not `Other`).
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }

            /// The known value with exactly this spelling, if any.
            fn known(text: &str) -> Option<Self> {
                match text {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// Like `From<&str>` but ignoring ASCII case, for lenient input handling
            /// (clients send e.g. lowercase `"username"`). Unknown values are kept verbatim.
            pub fn parse_ignore_case(text: &str) -> Self {
                $name::KNOWN
                    .iter()
                    .find(|known| known.as_str().eq_ignore_ascii_case(text))
                    .cloned()
                    .unwrap_or_else(|| $name::Other(text.to_owned()))
            }
        }

        impl $crate::model::lenient::IsEmptyText for $name {
            fn is_empty_text(&self) -> bool {
                self.as_str().is_empty()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self::known(text).unwrap_or_else(|| $name::Other(text.to_owned()))
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self::known(&text).unwrap_or($name::Other(text))
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(text))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl ::serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a string (", stringify!($name), ")"))
                    }
                    fn visit_str<E: ::serde::de::Error>(self, text: &str) -> Result<$name, E> {
                        Ok($name::from(text))
                    }
                    fn visit_string<E: ::serde::de::Error>(self, text: String) -> Result<$name, E> {
                        Ok($name::from(text))
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

pub(crate) use string_enum;
