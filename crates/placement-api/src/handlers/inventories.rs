//! `/resource_providers/{uuid}/inventories[/{resource_class}]`.

use placement_model::DomainError;
use placement_model::error::ErrorCode;
use placement_model::inventory::{CapacityError, Inventory};
use placement_model::provider::ResourceProvider;
use placement_storage::inventories::{self as store, StoredInventory};
use placement_storage::{StorageError, providers};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::context::{Ctx, Reply, latest, parse_body, parse_json};
use crate::error::ApiError;
use crate::schema::requests;

fn inventory_url(uuid: &str, class: &str) -> String {
    format!("/resource_providers/{uuid}/inventories/{class}")
}

/// One inventory in a request: `POST` names the class, `PUT` on a class
/// and in `PUT .../inventories` carry the provider generation.
#[derive(Deserialize, ToSchema)]
pub struct InventoryRequest {
    #[serde(default)]
    pub resource_class: Option<String>,
    #[serde(default, deserialize_with = "crate::body::opt_int")]
    pub resource_provider_generation: Option<i64>,
    #[serde(deserialize_with = "crate::body::int")]
    pub total: i64,
    #[serde(default, deserialize_with = "crate::body::opt_int")]
    pub reserved: Option<i64>,
    #[serde(default, deserialize_with = "crate::body::opt_int")]
    pub min_unit: Option<i64>,
    #[serde(default, deserialize_with = "crate::body::opt_int")]
    pub max_unit: Option<i64>,
    #[serde(default, deserialize_with = "crate::body::opt_int")]
    pub step_size: Option<i64>,
    #[serde(default)]
    pub allocation_ratio: Option<f64>,
}

impl InventoryRequest {
    /// The inventory, with upstream's defaults for what was left out.
    pub(crate) fn inventory(&self, class: &str) -> Inventory {
        let d = Inventory::with_defaults(class, self.total);
        Inventory {
            reserved: self.reserved.unwrap_or(d.reserved),
            min_unit: self.min_unit.unwrap_or(d.min_unit),
            max_unit: self.max_unit.unwrap_or(d.max_unit),
            step_size: self.step_size.unwrap_or(d.step_size),
            allocation_ratio: self.allocation_ratio.unwrap_or(d.allocation_ratio),
            ..d
        }
    }
}

/// `PUT /resource_providers/{uuid}/inventories`.
#[derive(Deserialize, ToSchema)]
pub struct InventoriesRequest {
    #[serde(deserialize_with = "crate::body::int")]
    pub resource_provider_generation: i64,
    pub inventories: BTreeMap<String, InventoryRequest>,
}

/// One inventory; the generation is included only when non-zero, as
/// upstream tests it for truth.
#[derive(Serialize, ToSchema)]
pub struct InventoryBody {
    pub total: i64,
    pub reserved: i64,
    pub min_unit: i64,
    pub max_unit: i64,
    pub step_size: i64,
    pub allocation_ratio: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_provider_generation: Option<i32>,
}

impl InventoryBody {
    fn new(i: &Inventory, generation: Option<i32>) -> Self {
        InventoryBody {
            total: i.total,
            reserved: i.reserved,
            min_unit: i.min_unit,
            max_unit: i.max_unit,
            step_size: i.step_size,
            allocation_ratio: i.allocation_ratio,
            resource_provider_generation: generation.filter(|g| *g != 0),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct InventoriesBody {
    pub resource_provider_generation: i32,
    pub inventories: BTreeMap<String, InventoryBody>,
}

impl InventoriesBody {
    fn new(inventories: &[&Inventory], generation: i32) -> Self {
        InventoriesBody {
            resource_provider_generation: generation,
            inventories: inventories.iter().map(|i| (i.resource_class.clone(), InventoryBody::new(i, None))).collect(),
        }
    }
}

/// Refuse an inventory whose reserved amount leaves no capacity.
fn capacity_check(ctx: &Ctx, uuid: &str, class: &str, capacity: i64, what: &str) -> Result<(), ApiError> {
    CapacityError::check(capacity, ctx.version).map_err(|e| {
        ApiError::bad_request(format!(
            "Unable to {what} inventory for resource provider {uuid}: {}",
            e.message(class, uuid)
        ))
    })
}

/// One inventory of a `PUT .../inventories`, with its capacity as
/// upstream computes it. Upstream's schema checks only the entries whose
/// key could be a class name; any other is taken as it comes and fails
/// later, on its capacity or else as an unknown class, in the order sent.
struct SentInventory {
    inventory: Inventory,
    /// Why Python could not compute it, where upstream fails with a
    /// TypeError (a 500): a 400 here, in its turn among the capacities.
    capacity: Result<i64, String>,
}

impl SentInventory {
    fn read(uuid: &str, class: &str, record: &Value) -> Result<Self, ApiError> {
        let validated = !class.is_empty() && class.bytes().all(|b| matches!(b, b'A'..=b'Z' | b'0'..=b'9' | b'_'));
        if validated {
            let request = InventoryRequest::deserialize(record)
                .map_err(|e| ApiError::bad_request(format!("JSON does not validate: {e}")))?;
            let inventory = request.inventory(class);
            return Ok(SentInventory { capacity: Ok(inventory.capacity()), inventory });
        }
        // Never stored: its class cannot exist, which storage reports.
        let mut sent = SentInventory { inventory: Inventory::with_defaults(class, 0), capacity: Ok(0) };
        let fields = record.as_object().ok_or_else(|| sent.bad(uuid, "an inventory must be a JSON object"))?;
        let number = |name: &str, default: Option<f64>| match fields.get(name) {
            None => default.ok_or_else(|| format!("'{name}' is required")),
            Some(Value::Number(n)) => n.as_f64().ok_or_else(|| format!("'{name}' must be a number")),
            Some(Value::Bool(b)) => Ok(f64::from(u8::from(*b))),
            Some(_) => Err(format!("'{name}' must be a number")),
        };
        sent.capacity = (|| {
            let (total, reserved) = (number("total", None)?, number("reserved", Some(0.0))?);
            let ratio = number("allocation_ratio", Some(1.0))?;
            Ok(((total - reserved) * ratio) as i64)
        })();
        Ok(sent)
    }

    fn bad(&self, uuid: &str, why: &str) -> ApiError {
        ApiError::bad_request(format!(
            "Bad inventory {} for resource provider {uuid}: {why}",
            self.inventory.resource_class
        ))
    }
}

fn provider_for_read(ctx: &Ctx, uuid: &str) -> Result<(ResourceProvider, Vec<StoredInventory>), ApiError> {
    ctx.db()
        .read(|c| {
            let rp = providers::get(c, uuid)?;
            let inventories = store::of_provider(c, rp.id)?;
            Ok((rp, inventories))
        })
        .map_err(|e| match e {
            StorageError::Domain(d @ DomainError::ProviderNotFound(_)) => {
                ApiError::not_found(format!("No resource provider with uuid {uuid} found : {d}"))
            }
            other => other.into(),
        })
}

fn generation_conflict() -> ApiError {
    ApiError::conflict("resource provider generation conflict").with_code(ErrorCode::ConcurrentUpdate)
}

#[utoipa::path(get, path = "/resource_providers/{uuid}/inventories", responses((status = 200, body = InventoriesBody)))]
pub fn list(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_providers:inventories:list")?;
    let uuid = ctx.param("uuid")?;
    let (rp, stored) = provider_for_read(ctx, uuid)?;
    let inventories: Vec<&Inventory> = stored.iter().map(|s| &s.inventory).collect();
    // No inventory, no time: upstream folds the inventories' times.
    let modified = latest(stored.iter().map(StoredInventory::last_modified));
    Ok(Reply::body(&InventoriesBody::new(&inventories, rp.generation)).modified_if_known(ctx.version, modified))
}

#[utoipa::path(get, path = "/resource_providers/{uuid}/inventories/{resource_class}", responses((status = 200, body = InventoryBody)))]
pub fn show(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_providers:inventories:show")?;
    let uuid = ctx.param("uuid")?;
    let class = ctx.param("resource_class")?;
    let (rp, stored) = provider_for_read(ctx, uuid)?;
    let found = stored
        .iter()
        .find(|s| s.inventory.resource_class == class)
        .ok_or_else(|| ApiError::not_found(format!("No inventory of class {class} for {uuid}")))?;
    Ok(Reply::body(&InventoryBody::new(&found.inventory, Some(rp.generation)))
        .modified(ctx.version, found.last_modified()))
}

#[utoipa::path(post, path = "/resource_providers/{uuid}/inventories", request_body = InventoryRequest,
    responses((status = 201, body = InventoryBody)))]
pub fn create(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_providers:inventories:create")?;
    let uuid = ctx.param("uuid")?;
    let rp = ctx.read(|c| providers::get(c, uuid))?;
    let data: InventoryRequest = parse_body(&ctx.body, requests::post_inventory())?;
    let class = data.resource_class.clone().unwrap_or_default();
    let inventory = data.inventory(&class);
    capacity_check(ctx, uuid, &class, inventory.capacity(), "create")?;
    let generation = ctx.db().write(|c| store::add(c, &rp, &inventory)).map_err(|e| match e {
        StorageError::Domain(d @ DomainError::ResourceClassNotFound(_)) => {
            ApiError::bad_request(format!("Unable to create inventory for resource provider {uuid}: {d}"))
        }
        StorageError::Domain(d @ DomainError::ProviderConcurrentUpdate) => {
            ApiError::conflict(format!("Update conflict: {d}")).with_code(ErrorCode::ConcurrentUpdate)
        }
        e if e.is_unique_violation() => ApiError::conflict(format!(
            "Update conflict: Inventory for '{class}' on resource provider '{uuid}' already exists."
        ))
        .with_code(ErrorCode::ConcurrentUpdate),
        other => other.into(),
    })?;
    Ok(Reply::body(&InventoryBody::new(&inventory, Some(generation)))
        .status(201)
        .location(inventory_url(uuid, &class))
        .modified(ctx.version, None))
}

#[utoipa::path(put, path = "/resource_providers/{uuid}/inventories", request_body = InventoriesRequest,
    responses((status = 200, body = InventoriesBody)))]
pub fn replace(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_providers:inventories:update")?;
    let uuid = ctx.param("uuid")?;
    let rp = ctx.read(|c| providers::get(c, uuid))?;
    let data = parse_json(&ctx.body, requests::put_inventories())?;
    if crate::body::int(&data["resource_provider_generation"]).ok() != Some(i64::from(rp.generation)) {
        return Err(generation_conflict());
    }
    let mut inventories = Vec::new();
    for (class, record) in data["inventories"].as_object().into_iter().flatten() {
        inventories.push(SentInventory::read(uuid, class, record)?);
    }
    for sent in &inventories {
        let capacity = sent.capacity.clone().map_err(|why| sent.bad(uuid, &why))?;
        capacity_check(ctx, uuid, &sent.inventory.resource_class, capacity, "update")?;
    }
    let inventories: Vec<Inventory> = inventories.into_iter().map(|s| s.inventory).collect();
    let refs: Vec<&Inventory> = inventories.iter().collect();
    let generation = ctx.db().write(|c| store::replace(c, &rp, &inventories)).map_err(|e| match e {
        StorageError::Domain(d @ DomainError::ResourceClassNotFound(_)) => {
            ApiError::bad_request(format!("Unknown resource class in inventory for resource provider {uuid}: {d}"))
        }
        StorageError::Domain(d @ DomainError::InventoryNotFound(_)) => ApiError::conflict(format!(
            "Race condition detected when setting inventory. No inventory record with resource class for \
             resource provider {uuid}: {d}"
        )),
        StorageError::Domain(d @ DomainError::ProviderConcurrentUpdate) => {
            ApiError::conflict(format!("update conflict: {d}")).with_code(ErrorCode::ConcurrentUpdate)
        }
        StorageError::Domain(d @ DomainError::InventoryInUse { .. }) => {
            ApiError::conflict(format!("update conflict: {d}")).with_code(ErrorCode::InventoryInUse)
        }
        other => other.into(),
    })?;
    // Upstream stamps the reply with the time it folds from the new
    // inventories (now), or none when there are none.
    let modified = (!refs.is_empty()).then(|| chrono::Utc::now().naive_utc());
    Ok(Reply::body(&InventoriesBody::new(&refs, generation)).modified_if_known(ctx.version, modified))
}

#[utoipa::path(delete, path = "/resource_providers/{uuid}/inventories", responses((status = 204)))]
pub fn delete_all(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.authorize("placement:resource_providers:inventories:delete")?;
    let uuid = ctx.param("uuid")?;
    let rp = ctx.read(|c| providers::get(c, uuid))?;
    ctx.db().write(|c| store::replace(c, &rp, &[])).map_err(|e| match e {
        StorageError::Domain(DomainError::ProviderConcurrentUpdate) => ApiError::conflict(format!(
            "Unable to delete inventory for resource provider {uuid} because the inventory was updated by \
             another process. Please retry your request."
        ))
        .with_code(ErrorCode::ConcurrentUpdate),
        StorageError::Domain(d @ DomainError::InventoryInUse { .. }) => {
            ApiError::conflict(d.to_string()).with_code(ErrorCode::InventoryInUse)
        }
        other => other.into(),
    })?;
    Ok(Reply::empty(204))
}

#[utoipa::path(put, path = "/resource_providers/{uuid}/inventories/{resource_class}", request_body = InventoryRequest,
    responses((status = 200, body = InventoryBody)))]
pub fn update(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_providers:inventories:update")?;
    let uuid = ctx.param("uuid")?;
    let class = ctx.param("resource_class")?;
    let rp = ctx.read(|c| providers::get(c, uuid))?;
    let data: InventoryRequest = parse_body(&ctx.body, requests::put_inventory())?;
    if data.resource_provider_generation != Some(i64::from(rp.generation)) {
        return Err(generation_conflict());
    }
    let inventory = data.inventory(class);
    capacity_check(ctx, uuid, &inventory.resource_class, inventory.capacity(), "update")?;
    let generation = ctx.db().write(|c| store::update(c, &rp, &inventory)).map_err(|e| match e {
        StorageError::Domain(d @ DomainError::ProviderConcurrentUpdate) => {
            ApiError::conflict(format!("update conflict: {d}")).with_code(ErrorCode::ConcurrentUpdate)
        }
        StorageError::Domain(d @ DomainError::InventoryNotFound(_)) => {
            ApiError::bad_request(format!("No inventory record with resource class for resource provider {uuid}: {d}"))
        }
        other => other.into(),
    })?;
    Ok(Reply::body(&InventoryBody::new(&inventory, Some(generation))).modified(ctx.version, None))
}

#[utoipa::path(delete, path = "/resource_providers/{uuid}/inventories/{resource_class}", responses((status = 204)))]
pub fn delete(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.authorize("placement:resource_providers:inventories:delete")?;
    let uuid = ctx.param("uuid")?;
    let class = ctx.param("resource_class")?;
    let rp = ctx.read(|c| providers::get(c, uuid))?;
    ctx.db().write(|c| store::delete(c, &rp, class)).map_err(|e| match e {
        StorageError::Domain(d @ (DomainError::ProviderConcurrentUpdate | DomainError::InventoryInUse { .. })) => {
            ApiError::conflict(format!("Unable to delete inventory of class {class}: {d}"))
                .with_code(ErrorCode::ConcurrentUpdate)
        }
        StorageError::Domain(DomainError::InventoryNotFound(_)) => ApiError::not_found(format!(
            "No inventory of class {class} found for delete: No inventory of class {class} found for delete"
        )),
        StorageError::Domain(d @ DomainError::ResourceClassNotFound(_)) => {
            ApiError::not_found(format!("No inventory of class {class} found for delete: {d}"))
        }
        other => other.into(),
    })?;
    Ok(Reply::empty(204))
}
