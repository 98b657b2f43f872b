//! Request validation: JSON Schemas equivalent to upstream's, checked by a
//! validator that words its errors as Python's jsonschema does.

pub mod pyjson;
pub mod pyrepr;
pub mod requests;
pub mod validator;
