//! `/resource_providers/{uuid}/inventories[/{resource_class}]`.

use placement_model::DomainError;
use placement_model::error::ErrorCode;
use placement_model::inventory::Inventory;
use placement_model::provider::ResourceProvider;
use placement_storage::inventories::{self as store, StoredInventory};
use placement_storage::{StorageError, providers};
use serde_json::{Map, Value, json};

use crate::context::{Ctx, Reply, latest, parse_json};
use crate::error::ApiError;
use crate::schema::requests;

fn inventory_url(uuid: &str, class: &str) -> String {
    format!("/resource_providers/{uuid}/inventories/{class}")
}

/// An inventory from a validated request body, with upstream's defaults.
fn from_json(class: &str, data: &Value) -> Inventory {
    let mut i = Inventory::with_defaults(class, data["total"].as_f64().unwrap_or(0.0) as i64);
    let int = |key: &str| data.get(key).and_then(Value::as_f64).map(|f| f as i64);
    if let Some(v) = int("reserved") {
        i.reserved = v;
    }
    if let Some(v) = int("min_unit") {
        i.min_unit = v;
    }
    if let Some(v) = int("max_unit") {
        i.max_unit = v;
    }
    if let Some(v) = int("step_size") {
        i.step_size = v;
    }
    if let Some(v) = data.get("allocation_ratio").and_then(Value::as_f64) {
        i.allocation_ratio = v;
    }
    i
}

fn fields(i: &Inventory) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("total".into(), json!(i.total));
    m.insert("reserved".into(), json!(i.reserved));
    m.insert("min_unit".into(), json!(i.min_unit));
    m.insert("max_unit".into(), json!(i.max_unit));
    m.insert("step_size".into(), json!(i.step_size));
    m.insert("allocation_ratio".into(), json!(i.allocation_ratio));
    m
}

/// One inventory; the generation is included only when non-zero, as
/// upstream tests it for truth.
fn one_json(i: &Inventory, generation: i32) -> Value {
    let mut m = fields(i);
    if generation != 0 {
        m.insert("resource_provider_generation".into(), json!(generation));
    }
    Value::Object(m)
}

fn many_json(inventories: &[&Inventory], generation: i32) -> Value {
    let by_class: Map<String, Value> = inventories
        .iter()
        .map(|i| (i.resource_class.clone(), Value::Object(fields(i))))
        .collect();
    json!({"resource_provider_generation": generation, "inventories": by_class})
}

fn capacity_check(
    ctx: &Ctx,
    uuid: &str,
    inventories: &[&Inventory],
    what: &str,
) -> Result<(), ApiError> {
    for i in inventories {
        if let Err(e) = i.check_capacity(ctx.version) {
            return Err(ApiError::bad_request(format!(
                "Unable to {what} inventory for resource provider {uuid}: {}",
                e.message(&i.resource_class, uuid)
            )));
        }
    }
    Ok(())
}

fn provider_for_read(
    ctx: &Ctx,
    uuid: &str,
) -> Result<(ResourceProvider, Vec<StoredInventory>), ApiError> {
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
    ApiError::conflict("resource provider generation conflict")
        .with_code(ErrorCode::ConcurrentUpdate)
}

#[utoipa::path(get, path = "/resource_providers/{uuid}/inventories", responses((status = 200)))]
pub fn list(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_providers:inventories:list")?;
    let uuid = ctx.param("uuid");
    let (rp, stored) = provider_for_read(ctx, uuid)?;
    let inventories: Vec<&Inventory> = stored.iter().map(|s| &s.inventory).collect();
    let mut reply = Reply::json(many_json(&inventories, rp.generation));
    if !stored.is_empty() {
        reply = reply.modified(
            ctx.version,
            latest(stored.iter().map(StoredInventory::last_modified)),
        );
    } else if ctx.version.at_least(15) {
        reply.cache_control = true;
    }
    Ok(reply)
}

#[utoipa::path(get, path = "/resource_providers/{uuid}/inventories/{resource_class}", responses((status = 200)))]
pub fn show(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_accept()?;
    ctx.authorize("placement:resource_providers:inventories:show")?;
    let uuid = ctx.param("uuid");
    let class = ctx.param("resource_class");
    let (rp, stored) = provider_for_read(ctx, uuid)?;
    let found = stored
        .iter()
        .find(|s| s.inventory.resource_class == class)
        .ok_or_else(|| ApiError::not_found(format!("No inventory of class {class} for {uuid}")))?;
    Ok(Reply::json(one_json(&found.inventory, rp.generation))
        .modified(ctx.version, found.last_modified()))
}

#[utoipa::path(post, path = "/resource_providers/{uuid}/inventories", responses((status = 201)))]
pub fn create(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_providers:inventories:create")?;
    let uuid = ctx.param("uuid");
    let rp = ctx.read(|c| providers::get(c, uuid))?;
    let data = parse_json(&ctx.body, requests::post_inventory())?;
    let class = data["resource_class"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let inventory = from_json(&class, &data);
    capacity_check(ctx, uuid, &[&inventory], "create")?;
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
    Ok(Reply::json(one_json(&inventory, generation))
        .status(201)
        .location(inventory_url(uuid, &class))
        .modified(ctx.version, None))
}

#[utoipa::path(put, path = "/resource_providers/{uuid}/inventories", responses((status = 200)))]
pub fn replace(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_providers:inventories:update")?;
    let uuid = ctx.param("uuid");
    let rp = ctx.read(|c| providers::get(c, uuid))?;
    let data = parse_json(&ctx.body, requests::put_inventories())?;
    if data["resource_provider_generation"].as_i64() != Some(i64::from(rp.generation)) {
        return Err(generation_conflict());
    }
    let inventories: Vec<Inventory> = data["inventories"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(class, record)| from_json(class, record))
        .collect();
    let refs: Vec<&Inventory> = inventories.iter().collect();
    capacity_check(ctx, uuid, &refs, "update")?;
    let generation = ctx.db().write(|c| store::replace(c, &rp, &inventories)).map_err(|e| match e {
        StorageError::Domain(d @ DomainError::ResourceClassNotFound(_)) => ApiError::bad_request(format!(
            "Unknown resource class in inventory for resource provider {uuid}: {d}"
        )),
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
    Ok(Reply::json(many_json(&refs, generation)).modified(ctx.version, None))
}

#[utoipa::path(delete, path = "/resource_providers/{uuid}/inventories", responses((status = 204)))]
pub fn delete_all(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.authorize("placement:resource_providers:inventories:delete")?;
    let uuid = ctx.param("uuid");
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

#[utoipa::path(put, path = "/resource_providers/{uuid}/inventories/{resource_class}", responses((status = 200)))]
pub fn update(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.require_json_content()?;
    ctx.authorize("placement:resource_providers:inventories:update")?;
    let uuid = ctx.param("uuid");
    let class = ctx.param("resource_class");
    let rp = ctx.read(|c| providers::get(c, uuid))?;
    let data = parse_json(&ctx.body, requests::put_inventory())?;
    if data["resource_provider_generation"].as_i64() != Some(i64::from(rp.generation)) {
        return Err(generation_conflict());
    }
    let inventory = from_json(class, &data);
    capacity_check(ctx, uuid, &[&inventory], "update")?;
    let generation = ctx
        .db()
        .write(|c| store::update(c, &rp, &inventory))
        .map_err(|e| match e {
            StorageError::Domain(d @ DomainError::ProviderConcurrentUpdate) => {
                ApiError::conflict(format!("update conflict: {d}"))
                    .with_code(ErrorCode::ConcurrentUpdate)
            }
            StorageError::Domain(d @ DomainError::InventoryNotFound(_)) => {
                ApiError::bad_request(format!(
                    "No inventory record with resource class for resource provider {uuid}: {d}"
                ))
            }
            other => other.into(),
        })?;
    Ok(Reply::json(one_json(&inventory, generation)).modified(ctx.version, None))
}

#[utoipa::path(delete, path = "/resource_providers/{uuid}/inventories/{resource_class}", responses((status = 204)))]
pub fn delete(ctx: &Ctx) -> Result<Reply, ApiError> {
    ctx.authorize("placement:resource_providers:inventories:delete")?;
    let uuid = ctx.param("uuid");
    let class = ctx.param("resource_class");
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
