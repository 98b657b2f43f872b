//! What a request may consume before a handler runs: its body is read only
//! once the request is authenticated and routed, never past a size limit
//! (inflated size for gzip), within a budget shared by all requests in
//! flight; then it waits a bounded time for a handler slot. Past any limit
//! the answer is 413 or 503, never an unbounded queue.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::web::{self, Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// The limits, from configuration.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest body accepted, after inflating.
    pub max_body: usize,
    /// All bodies being read or handled at once, together.
    pub body_memory: usize,
    /// Handlers running at once (the database pool's size: each holds at
    /// most one connection).
    pub handler_slots: usize,
    /// Longest wait for a handler slot.
    pub queue_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 8 * 1024 * 1024,
            body_memory: 64 * 1024 * 1024,
            handler_slots: 20,
            queue_timeout: Duration::from_secs(30),
        }
    }
}

/// Shared accounting for [`Limits`].
pub struct Intake {
    pub limits: Limits,
    slots: Arc<Semaphore>,
    body_bytes: Arc<AtomicUsize>,
}

impl Intake {
    pub fn new(limits: Limits) -> Self {
        let slots = Arc::new(Semaphore::new(limits.handler_slots.max(1)));
        Intake { limits, slots, body_bytes: Arc::default() }
    }

    /// Bytes of request bodies held now.
    pub fn body_bytes_in_flight(&self) -> usize {
        self.body_bytes.load(Ordering::Acquire)
    }

    /// A handler slot, or 503 after waiting `queue_timeout`.
    pub async fn slot(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        match tokio::time::timeout(self.limits.queue_timeout, self.slots.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::unavailable(
                "The server is too busy to take this request; try again later.",
                format!("no handler slot came free within {:?}", self.limits.queue_timeout),
            )),
        }
    }

    /// Read the body of a routed, authenticated request. The reservation
    /// returned holds the body's share of the memory budget until dropped.
    pub async fn read_body(
        &self,
        headers: &HeaderMap,
        mut payload: web::Payload,
    ) -> Result<(Bytes, Reservation), ApiError> {
        let max = self.limits.max_body;
        let declared = headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok());
        if declared.is_some_and(|n: usize| n > max) {
            return Err(too_large(max));
        }
        let mut reservation = Reservation { bytes: self.body_bytes.clone(), held: 0, budget: self.limits.body_memory };
        let mut raw = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| ApiError::bad_request(format!("Cannot read the request body: {e}")))?;
            if raw.len() + chunk.len() > max {
                return Err(too_large(max));
            }
            reservation.grow(chunk.len())?;
            raw.extend_from_slice(&chunk);
        }
        let raw = raw.freeze();
        let body = match encoding(headers) {
            Encoding::Identity => raw,
            Encoding::Gzip => inflate(flate2::read::GzDecoder::new(&raw[..]), max, &mut reservation)?,
            Encoding::Deflate => inflate(flate2::read::ZlibDecoder::new(&raw[..]), max, &mut reservation)?,
        };
        Ok((body, reservation))
    }
}

/// A share of the body memory budget, given back on drop.
pub struct Reservation {
    bytes: Arc<AtomicUsize>,
    held: usize,
    budget: usize,
}

impl Reservation {
    fn grow(&mut self, n: usize) -> Result<(), ApiError> {
        let before = self.bytes.fetch_add(n, Ordering::AcqRel);
        self.held += n;
        if before + n > self.budget {
            return Err(ApiError::unavailable(
                "The server is holding too many request bodies; try again later.",
                format!("request body memory budget of {} bytes in use", self.budget),
            ));
        }
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.bytes.fetch_sub(self.held, Ordering::AcqRel);
    }
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("Request bodies are limited to {max} bytes."))
}

enum Encoding {
    Identity,
    Gzip,
    Deflate,
}

/// `Content-Encoding`, as actix-web's decoder read it: gzip and deflate
/// are inflated, anything else passed through as it is.
fn encoding(headers: &HeaderMap) -> Encoding {
    let value = headers.get("content-encoding").and_then(|v| v.to_str().ok()).unwrap_or("");
    match value.trim().to_ascii_lowercase().as_str() {
        "gzip" | "x-gzip" => Encoding::Gzip,
        "deflate" => Encoding::Deflate,
        _ => Encoding::Identity,
    }
}

/// Inflate at most `max` bytes; more is 413, however well it compresses.
fn inflate(decoder: impl Read, max: usize, reservation: &mut Reservation) -> Result<Bytes, ApiError> {
    const STEP: usize = 64 * 1024;
    let mut out = Vec::new();
    let mut limited = decoder.take(max as u64 + 1);
    let mut buf = vec![0u8; STEP];
    loop {
        let n = limited
            .read(&mut buf)
            .map_err(|e| ApiError::bad_request(format!("Cannot inflate the request body: {e}")))?;
        if n == 0 {
            break;
        }
        if out.len() + n > max {
            return Err(too_large(max));
        }
        reservation.grow(n)?;
        out.extend_from_slice(&buf[..n]);
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn reservation(budget: usize) -> Reservation {
        Reservation { bytes: Arc::default(), held: 0, budget }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        let bomb = gzip(&vec![b'a'; 20 * 1024 * 1024]);
        assert!(bomb.len() < 64 * 1024, "{}", bomb.len());
        let err =
            inflate(flate2::read::GzDecoder::new(&bomb[..]), 1024 * 1024, &mut reservation(usize::MAX)).unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        let ok = inflate(flate2::read::GzDecoder::new(&gzip(b"{}")[..]), 1024, &mut reservation(usize::MAX)).unwrap();
        assert_eq!(&ok[..], b"{}");
    }

    #[test]
    fn the_budget_is_shared_and_given_back() {
        let shared: Arc<AtomicUsize> = Arc::default();
        let mut a = Reservation { bytes: shared.clone(), held: 0, budget: 100 };
        let mut b = Reservation { bytes: shared.clone(), held: 0, budget: 100 };
        a.grow(60).unwrap();
        assert_eq!(b.grow(60).unwrap_err().status, StatusCode::SERVICE_UNAVAILABLE);
        drop(b);
        assert_eq!(shared.load(Ordering::Acquire), 60);
        drop(a);
        assert_eq!(shared.load(Ordering::Acquire), 0);
    }
}
