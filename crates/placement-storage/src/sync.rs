//! Start-up synchronisation of the standard traits and resource classes
//! into their tables, as upstream does on every boot.

use std::collections::HashSet;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use placement_model::{names, standard};

use crate::conn::DbConnection;
use crate::error::StorageResult;
use crate::now;
use crate::schema::{resource_classes, traits};
use crate::url::Backend;

/// Insert every standard trait the table lacks. Returns how many.
pub fn sync_traits(conn: &mut DbConnection) -> StorageResult<usize> {
    let existing: HashSet<String> = traits::table.select(traits::name).load(conn)?.into_iter().collect();
    let missing: Vec<&str> = standard::traits().iter().copied().filter(|t| !existing.contains(*t)).collect();
    let created = now();
    for name in &missing {
        diesel::insert_into(traits::table)
            .values((traits::name.eq(*name), traits::created_at.eq(created)))
            .execute(conn)?;
    }
    Ok(missing.len())
}

/// Insert every standard resource class the table lacks, with the id
/// upstream gives it (its position in os-resource-classes).
pub fn sync_resource_classes(conn: &mut DbConnection) -> StorageResult<usize> {
    let existing: HashSet<String> = resource_classes::table
        .select(resource_classes::name)
        .load::<String>(conn)?
        .into_iter()
        .filter(|n| !names::is_custom(n))
        .collect();
    let missing: Vec<(i32, &str)> = standard::resource_classes()
        .iter()
        .enumerate()
        .filter(|(_, n)| !existing.contains(**n))
        .filter_map(|(i, n)| Some((i32::try_from(i).ok()?, *n)))
        .collect();
    if missing.is_empty() {
        return Ok(0);
    }
    let mysql = conn.backend() == Backend::Mysql;
    if mysql {
        // Id 0 (VCPU) would otherwise mean "next auto-increment value".
        conn.batch_execute("SET SESSION sql_mode = 'TRADITIONAL,NO_AUTO_VALUE_ON_ZERO'")?;
    }
    let created = now();
    let result = missing.iter().try_for_each(|(id, name)| {
        diesel::insert_into(resource_classes::table)
            .values((
                resource_classes::id.eq(*id),
                resource_classes::name.eq(*name),
                resource_classes::created_at.eq(created),
            ))
            .execute(conn)
            .map(|_| ())
    });
    if mysql {
        conn.batch_execute("SET SESSION sql_mode = 'TRADITIONAL'")?;
    }
    result?;
    Ok(missing.len())
}
