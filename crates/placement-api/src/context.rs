//! What a handler gets (the parsed request, who is asking, the version)
//! and what it returns.

use std::sync::Arc;

use actix_web::http::StatusCode;
use chrono::{DateTime, NaiveDateTime, Utc};
use placement_model::Microversion;
use placement_policy::{Credentials, Target};
use placement_storage::{Database, DbConnection, StorageResult};
use serde_json::Value;

use crate::error::ApiError;
use crate::schema;
use crate::state::AppState;

/// One request as a handler sees it.
pub struct Ctx {
    pub state: Arc<AppState>,
    pub version: Microversion,
    pub creds: Credentials,
    pub request_id: String,
    pub params: Vec<(&'static str, String)>,
    pub query: Vec<(String, String)>,
    /// False when the query string is not valid UTF-8.
    pub query_ok: bool,
    pub body: actix_web::web::Bytes,
    pub content_type: Option<String>,
    pub accept: String,
    /// What links in answers begin with: the prefix a proxy forwarded
    /// (`X-Forwarded-Prefix`, when proxy headers are honoured) and the
    /// scope the API is mounted under, as upstream's `SCRIPT_NAME`.
    pub prefix: String,
}

impl Ctx {
    pub fn db(&self) -> &Database {
        &self.state.db
    }

    /// A link to `path` (one of the API's own) as answers show it.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    /// A path parameter of the route, by name; one the route does not have is a
    /// bug in the handler, answered 500 rather than read as empty.
    pub fn param(&self, name: &str) -> Result<&str, ApiError> {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| ApiError::internal(format!("the route has no path parameter {name:?}")))
    }

    /// Check a policy rule with the default target (the caller's project
    /// and user).
    pub fn authorize(&self, rule: &str) -> Result<(), ApiError> {
        let mut target = Target::new();
        if let Some(p) = &self.creds.project_id {
            target.insert("project_id".into(), p.clone());
        }
        target.insert("user_id".into(), self.creds.user_id.clone());
        self.authorize_on(rule, &target)
    }

    pub fn authorize_on(&self, rule: &str, target: &Target) -> Result<(), ApiError> {
        self.state
            .policy
            .current()
            .authorize(rule, &self.creds, target)
            .map_err(|denied| ApiError::new(StatusCode::FORBIDDEN, denied.to_string()).escaped())
    }

    /// `check_accept('application/json')`.
    pub fn require_json_accept(&self) -> Result<(), ApiError> {
        if crate::accept::acceptable(&self.accept, &["application/json"]).is_empty() {
            return Err(ApiError::new(StatusCode::NOT_ACCEPTABLE, "Only application/json is provided"));
        }
        Ok(())
    }

    /// `require_content('application/json')`, then parse and validate the
    /// body against `schema`.
    pub fn json_body(&self, schema: &Value) -> Result<Value, ApiError> {
        self.require_json_content()?;
        parse_json(&self.body, schema)
    }

    /// As upstream (webob), the media type is compared as sent: case and
    /// all (see docs/deviations.md).
    pub fn require_json_content(&self) -> Result<(), ApiError> {
        let media =
            self.content_type.as_deref().map(|c| c.split(';').next().unwrap_or("").trim()).filter(|c| !c.is_empty());
        match media {
            Some("application/json") => Ok(()),
            other => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("The media type {} is not supported, use application/json", other.unwrap_or("None")),
            )),
        }
    }

    /// Every value of a query parameter, in order.
    pub fn query_all(&self, key: &str) -> Vec<&str> {
        self.query.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// The last value of a query parameter, as webob's `GET[key]` gives it.
    pub fn query_last(&self, key: &str) -> Option<&str> {
        self.query.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn has_query(&self, key: &str) -> bool {
        self.query.iter().any(|(k, _)| k == key)
    }

    /// Validate the query parameters (last value of each) as upstream does.
    pub fn validate_query(&self, schema: &Value) -> Result<(), ApiError> {
        if !self.query_ok {
            return Err(ApiError::bad_request(
                "Invalid query string parameters: 'utf-8' codec can't decode the query string",
            ));
        }
        // Keys in first-appearance order, each with its last value.
        let mut map = serde_json::Map::new();
        for (k, v) in &self.query {
            map.insert(k.clone(), Value::String(v.clone()));
        }
        schema::validator::validate_as(&Value::Object(map), schema, schema::validator::UuidFormat::Query)
            .map_err(|e| ApiError::bad_request(format!("Invalid query string parameters: {}", e.describe())))
    }

    /// Run read-only storage work.
    pub fn read<T>(&self, work: impl FnMut(&mut DbConnection) -> StorageResult<T>) -> Result<T, ApiError> {
        Ok(self.db().read(work)?)
    }

    /// Run storage work that writes.
    pub fn write<T>(&self, work: impl FnMut(&mut DbConnection) -> StorageResult<T>) -> Result<T, ApiError> {
        Ok(self.db().write(work)?)
    }
}

/// Parse a JSON body, validate it against `schema` with upstream's
/// messages, then read it into its typed form.
pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8], schema: &Value) -> Result<T, ApiError> {
    let value = parse_json(body, schema)?;
    serde_json::from_value(value).map_err(|e| ApiError::bad_request(format!("JSON does not validate: {e}")))
}

/// Parse a JSON body and validate it, with upstream's messages.
pub fn parse_json(body: &[u8], schema: &Value) -> Result<Value, ApiError> {
    let data: Value = serde_json::from_slice(body).map_err(|e| {
        let reason = schema::pyjson::malformed_reason(body).unwrap_or_else(|| e.to_string());
        ApiError::bad_request(format!("Malformed JSON: {reason}"))
    })?;
    schema::validator::validate(&data, schema)
        .map_err(|e| ApiError::bad_request(format!("JSON does not validate: {}", e.describe())))?;
    Ok(data)
}

/// A successful response.
#[derive(Debug, Default)]
pub struct Reply {
    pub status: u16,
    /// Serialised JSON.
    pub body: Option<Vec<u8>>,
    pub location: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
    pub cache_control: bool,
}

impl Reply {
    /// A 200 with a typed body.
    pub fn body<T: serde::Serialize>(body: &T) -> Self {
        // Our bodies have string keys only, so serialising cannot fail.
        Reply::text(serde_json::to_string(body).unwrap_or_else(|_| "null".into()))
    }

    /// A 200 with a body already serialised.
    pub fn text(json: String) -> Self {
        Reply::bytes(json.into_bytes())
    }

    /// A 200 with a body already serialised, as UTF-8 bytes.
    pub fn bytes(json: Vec<u8>) -> Self {
        Reply { status: 200, body: Some(json), ..Default::default() }
    }

    pub fn json(body: Value) -> Self {
        Reply::text(body.to_string())
    }

    pub fn empty(status: u16) -> Self {
        Reply { status, ..Default::default() }
    }

    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// `location`, made absolute against the request URL when rendered.
    pub fn location(mut self, path: String) -> Self {
        self.location = Some(path);
        self
    }

    /// From 1.15: `last-modified` (the time given, or now) and
    /// `cache-control: no-cache`.
    pub fn modified(mut self, version: Microversion, when: Option<NaiveDateTime>) -> Self {
        if version.at_least(15) {
            self.last_modified = Some(when.map_or_else(Utc::now, |t| t.and_utc()));
            self.cache_control = true;
        }
        self
    }

    /// From 1.15: `last-modified` only when a time is known (upstream sets
    /// webob's `last_modified` to a record's time, and None sends no
    /// header), and `cache-control: no-cache` either way.
    pub fn modified_if_known(mut self, version: Microversion, when: Option<NaiveDateTime>) -> Self {
        if version.at_least(15) {
            self.last_modified = when.map(|t| t.and_utc());
            self.cache_control = true;
        }
        self
    }
}

/// The latest of several record times, as `pick_last_modified` folds them.
pub fn latest(times: impl IntoIterator<Item = Option<NaiveDateTime>>) -> Option<NaiveDateTime> {
    let now = Utc::now().naive_utc();
    times.into_iter().map(|t| t.unwrap_or(now)).max()
}
