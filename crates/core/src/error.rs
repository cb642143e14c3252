//! Ory's error envelope (`{"error": {...}}`, as herodot writes it) and the conversion of any
//! service error into an HTTP response with the right status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The inner object of the envelope. Only `message` is always present.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ErrorBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub code: u16,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub debug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    pub message: String,
}

/// An error ready to be written: status, envelope and optional top-level siblings of
/// `error` (Ory adds `redirect_browser_to`, `use_flow_id`, ... next to it).
#[derive(Clone, Debug)]
pub struct ApiError {
    pub http_status: StatusCode,
    /// Boxed so `Result<T, ApiError>` stays small on every hot path.
    pub body: Box<ErrorBody>,
    pub extra: Map<String, Value>,
}

impl ApiError {
    /// An error with the default message Ory uses for this status.
    pub fn new(status: StatusCode) -> Self {
        Self {
            http_status: status,
            body: Box::new(ErrorBody {
                id: None,
                code: status.as_u16(),
                status: status.canonical_reason().unwrap_or("Error").to_string(),
                request: None,
                reason: None,
                debug: None,
                details: None,
                message: default_message(status).to_string(),
            }),
            extra: Map::new(),
        }
    }

    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST).reason(reason)
    }

    pub fn not_found(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND).reason(reason)
    }

    pub fn conflict(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT).reason(reason)
    }

    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED).reason(reason)
    }

    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN).reason(reason)
    }

    /// A 500 that is logged with what failed; the client sees only the generic text.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        tracing::error!(error = %what, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.body.id = Some(id.into());
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.body.reason = Some(reason.into());
        self
    }

    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.body.message = message.into();
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.body.details = Some(details);
        self
    }

    /// Sets the status in the body independently of the HTTP status (Ory does this for
    /// `session_verified_address_required`: HTTP 403, body code 400).
    pub fn body_code(mut self, code: StatusCode) -> Self {
        self.body.code = code.as_u16();
        self.body.status = code.canonical_reason().unwrap_or("Error").to_string();
        self
    }

    /// Adds a top-level sibling of `error`.
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    /// The JSON document as written to the wire.
    pub fn to_json(&self) -> Value {
        let mut doc = self.extra.clone();
        doc.insert(
            "error".into(),
            serde_json::to_value(&self.body).unwrap_or(Value::Null),
        );
        Value::Object(doc)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.body.code, self.body.message)?;
        if let Some(reason) = &self.body.reason {
            write!(f, ": {reason}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.to_json()).unwrap_or_default();
        let mut res = (self.http_status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        res
    }
}

/// The text herodot uses when nothing more specific is said.
pub fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The request was malformed or contained invalid parameters",
        401 => "The request could not be authorized",
        403 => "The requested action was forbidden",
        404 => "The requested resource could not be found",
        409 => "The resource could not be created due to a conflict",
        410 => {
            "The requested resource is no longer available because it has expired or is otherwise invalid."
        }
        413 => "The request body is too large",
        415 => "The request's content type is not supported",
        422 => "The request was well-formed but was unable to be followed due to semantic errors",
        429 => "Too many requests",
        502 => "An upstream server returned an invalid response",
        503 => "The service is temporarily unavailable",
        504 => "An upstream server did not respond in time",
        _ => "An internal server error occurred, please contact the system administrator",
    }
}

/// A router's answer for a path it does not serve: 404 in the envelope, as Ory's APIs give.
pub async fn not_found() -> Response {
    ApiError::not_found("The requested resource could not be found").into_response()
}

/// A router's answer for a method a path does not take: 405 in the envelope.
pub async fn method_not_allowed() -> Response {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED)
        .message("The request method is not allowed for this resource")
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_shape() {
        let e = ApiError::bad_request("nope")
            .id("x")
            .with("use_flow_id", Value::String("f".into()));
        let j = e.to_json();
        assert_eq!(j["error"]["code"], 400);
        assert_eq!(j["error"]["status"], "Bad Request");
        assert_eq!(j["error"]["id"], "x");
        assert_eq!(j["error"]["reason"], "nope");
        assert_eq!(j["use_flow_id"], "f");
        assert!(j["error"].get("debug").is_none());
    }
}
