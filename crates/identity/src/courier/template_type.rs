//! The kinds of message the flows send, with the Go-template variables each one has and the
//! JSON names Kratos gives those variables in `template_data`.

use serde_json::{Map, Value};

/// A message template, named as Kratos names it in `template_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TemplateType {
    RecoveryValid,
    RecoveryInvalid,
    RecoveryCodeValid,
    RecoveryCodeInvalid,
    VerificationValid,
    VerificationInvalid,
    VerificationCodeValid,
    VerificationCodeInvalid,
    LoginCodeValid,
    RegistrationCodeValid,
}

/// How a variable is filled when the caller leaves it out, so templates see what Kratos's
/// Go structs would hold (an empty string, zero, nil).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Zero {
    Text,
    Number,
    Nil,
}

impl TemplateType {
    pub const ALL: [TemplateType; 10] = [
        TemplateType::RecoveryValid,
        TemplateType::RecoveryInvalid,
        TemplateType::RecoveryCodeValid,
        TemplateType::RecoveryCodeInvalid,
        TemplateType::VerificationValid,
        TemplateType::VerificationInvalid,
        TemplateType::VerificationCodeValid,
        TemplateType::VerificationCodeInvalid,
        TemplateType::LoginCodeValid,
        TemplateType::RegistrationCodeValid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TemplateType::RecoveryValid => "recovery_valid",
            TemplateType::RecoveryInvalid => "recovery_invalid",
            TemplateType::RecoveryCodeValid => "recovery_code_valid",
            TemplateType::RecoveryCodeInvalid => "recovery_code_invalid",
            TemplateType::VerificationValid => "verification_valid",
            TemplateType::VerificationInvalid => "verification_invalid",
            TemplateType::VerificationCodeValid => "verification_code_valid",
            TemplateType::VerificationCodeInvalid => "verification_code_invalid",
            TemplateType::LoginCodeValid => "login_code_valid",
            TemplateType::RegistrationCodeValid => "registration_code_valid",
        }
    }

    pub fn parse(s: &str) -> Option<TemplateType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The template's folder in Kratos's layout and under `courier.templates`
    /// (`recovery_code`), and its validity (`valid` or `invalid`).
    pub fn location(self) -> (&'static str, &'static str) {
        match self {
            TemplateType::RecoveryValid => ("recovery", "valid"),
            TemplateType::RecoveryInvalid => ("recovery", "invalid"),
            TemplateType::RecoveryCodeValid => ("recovery_code", "valid"),
            TemplateType::RecoveryCodeInvalid => ("recovery_code", "invalid"),
            TemplateType::VerificationValid => ("verification", "valid"),
            TemplateType::VerificationInvalid => ("verification", "invalid"),
            TemplateType::VerificationCodeValid => ("verification_code", "valid"),
            TemplateType::VerificationCodeInvalid => ("verification_code", "invalid"),
            TemplateType::LoginCodeValid => ("login_code", "valid"),
            TemplateType::RegistrationCodeValid => ("registration_code", "valid"),
        }
    }

    /// The variables of the template, by Go name.
    fn variables(self) -> &'static [(&'static str, Zero)] {
        use Zero::*;
        const INVALID: &[(&str, Zero)] = &[
            ("To", Text),
            ("RequestURL", Text),
            ("TransientPayload", Nil),
        ];
        match self {
            TemplateType::RecoveryInvalid
            | TemplateType::RecoveryCodeInvalid
            | TemplateType::VerificationInvalid
            | TemplateType::VerificationCodeInvalid => INVALID,
            TemplateType::RecoveryValid => &[
                ("To", Text),
                ("RecoveryURL", Text),
                ("Identity", Nil),
                ("RequestURL", Text),
                ("TransientPayload", Nil),
                ("ExpiresInMinutes", Number),
            ],
            TemplateType::RecoveryCodeValid => &[
                ("To", Text),
                ("RecoveryCode", Text),
                ("Identity", Nil),
                ("RequestURL", Text),
                ("TransientPayload", Nil),
                ("ExpiresInMinutes", Number),
            ],
            TemplateType::VerificationValid => &[
                ("To", Text),
                ("VerificationURL", Text),
                ("Identity", Nil),
                ("RequestURL", Text),
                ("TransientPayload", Nil),
                ("ExpiresInMinutes", Number),
            ],
            TemplateType::VerificationCodeValid => &[
                ("To", Text),
                ("VerificationCode", Text),
                ("VerificationURL", Text),
                ("Identity", Nil),
                ("RequestURL", Text),
                ("TransientPayload", Nil),
                ("ExpiresInMinutes", Number),
            ],
            TemplateType::LoginCodeValid => &[
                ("To", Text),
                ("LoginCode", Text),
                ("Identity", Nil),
                ("RequestURL", Text),
                ("TransientPayload", Nil),
                ("ExpiresInMinutes", Number),
            ],
            TemplateType::RegistrationCodeValid => &[
                ("To", Text),
                ("RegistrationCode", Text),
                ("Traits", Nil),
                ("RequestURL", Text),
                ("TransientPayload", Nil),
                ("ExpiresInMinutes", Number),
            ],
        }
    }

    /// The template's data: `data` (Go names) with `To` set to the recipient and every
    /// variable the template has present, zero-valued when the caller left it out.
    pub fn model(self, to: &str, data: &Value) -> Value {
        let mut m: Map<String, Value> = data.as_object().cloned().unwrap_or_default();
        m.insert("To".into(), Value::String(to.to_string()));
        for (name, zero) in self.variables() {
            m.entry(name.to_string()).or_insert_with(|| match zero {
                Zero::Text => Value::String(String::new()),
                Zero::Number => Value::from(0),
                Zero::Nil => Value::Null,
            });
        }
        Value::Object(m)
    }
}

impl std::fmt::Display for TemplateType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON name Kratos gives a Go field in `template_data` (`RecoveryURL` ->
/// `recovery_url`): the known fields by table, anything else by splitting at case changes.
pub fn json_name(go: &str) -> String {
    const KNOWN: &[(&str, &str)] = &[
        ("To", "to"),
        ("RecoveryURL", "recovery_url"),
        ("RecoveryCode", "recovery_code"),
        ("VerificationURL", "verification_url"),
        ("VerificationCode", "verification_code"),
        ("LoginCode", "login_code"),
        ("RegistrationCode", "registration_code"),
        ("Identity", "identity"),
        ("Traits", "traits"),
        ("RequestURL", "request_url"),
        ("TransientPayload", "transient_payload"),
        ("ExpiresInMinutes", "expires_in_minutes"),
    ];
    if let Some((_, j)) = KNOWN.iter().find(|(g, _)| *g == go) {
        return (*j).to_string();
    }
    let chars: Vec<char> = go.chars().collect();
    let mut out = String::with_capacity(go.len() + 4);
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let prev_lower = chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit();
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev_lower || (chars[i - 1].is_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// A template model with its top-level keys under their JSON names, as Kratos stores it in
/// `template_data` and sends it to HTTP delivery.
pub fn json_model(model: &Value) -> Value {
    match model {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (json_name(k), v.clone()))
                .collect::<Map<String, Value>>(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_round_trip() {
        for t in TemplateType::ALL {
            assert_eq!(TemplateType::parse(t.as_str()), Some(t));
            let (dir, validity) = t.location();
            assert_eq!(format!("{dir}_{validity}"), t.as_str());
        }
    }

    #[test]
    fn model_fills_what_the_caller_left_out() {
        let m = TemplateType::RecoveryCodeValid.model(
            "a@example.org",
            &json!({"RecoveryCode": "123456", "Extra": 1}),
        );
        assert_eq!(m["To"], "a@example.org");
        assert_eq!(m["RecoveryCode"], "123456");
        assert_eq!(m["RequestURL"], "");
        assert_eq!(m["ExpiresInMinutes"], 0);
        assert_eq!(m["Identity"], Value::Null);
        assert_eq!(m["Extra"], 1);
    }

    #[test]
    fn json_names_follow_kratos() {
        assert_eq!(json_name("VerificationURL"), "verification_url");
        assert_eq!(json_name("ExpiresInMinutes"), "expires_in_minutes");
        assert_eq!(json_name("SomeValue2"), "some_value2");
        assert_eq!(json_name("HTMLBody"), "html_body");
        assert_eq!(json_name("Foo"), "foo");
        let j = json_model(&json!({"To": "x", "LoginCode": "1"}));
        assert_eq!(j, json!({"to": "x", "login_code": "1"}));
    }
}
