//! Statuses and kinds stored as text: one declaration gives the enum its stored and
//! JSON name per variant, `ALL`, `as_str`, `parse` (with the expected values in the
//! error) and `TryFrom<String>` for reading rows, so every status is parsed once at
//! the edge and compared as a value, never as a string.

/// Declares a stored enum: `stored_enum! { /// doc  pub enum Name { /// doc  Variant = "text", … } }`.
#[macro_export]
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $text:tt,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        $vis enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored (and JSON) name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Reads a stored or requested name.
            pub fn parse(value: &str) -> Result<Self, String> {
                match value {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} {other:?}; expected one of {}",
                        stringify!($name),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(stored: String) -> Result<Self, Self::Error> {
                $name::parse(&stored)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::stored_enum! {
        /// A test status.
        pub enum Light {
            Red = "red",
            /// Amber, between the two.
            Amber = "amber_light",
        }
    }

    #[test]
    fn parses_what_it_writes() {
        for light in Light::ALL {
            assert_eq!(Light::parse(light.as_str()), Ok(*light));
            assert_eq!(
                serde_json::to_value(light).ok(),
                Some(serde_json::json!(light.as_str()))
            );
        }
        assert_eq!(Light::Amber.to_string(), "amber_light");
        assert_eq!(
            Light::parse("green"),
            Err("unknown Light \"green\"; expected one of red, amber_light".to_string())
        );
    }
}
