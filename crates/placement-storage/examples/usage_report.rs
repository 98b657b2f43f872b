//! Each provider's usage against its capacity, read from a Placement
//! database (ours or upstream's: the schema is the same) with
//! placement-storage alone.
//!
//! `cargo run -p placement-storage --example usage_report [--features postgres,mysql] [-- URL]`
//!
//! URL is SQLAlchemy's form (`sqlite:////path/placement.sqlite`,
//! `postgresql://user:pass@host/placement`,
//! `mysql+pymysql://user:pass@host/placement`); the database must be at the
//! latest revision and is only read. Without one, a scratch SQLite
//! database with one provider and one consumer shows what it prints.

use std::error::Error;

use placement_model::inventory::Inventory;
use placement_storage::allocations::{self, ConsumerWrite, GenerationCheck};
use placement_storage::providers::{self, ProviderFilter};
use placement_storage::{Database, PoolOptions, inventories, migrate, usages};

fn main() -> Result<(), Box<dyn Error>> {
    let scratch = std::env::temp_dir().join(format!("usage-report-{}", std::process::id()));
    let (url, demo) = match std::env::args().nth(1) {
        Some(url) => (url, false),
        None => {
            std::fs::create_dir_all(&scratch)?;
            (format!("sqlite:///{}/placement.sqlite", scratch.display()), true)
        }
    };
    let db = Database::open(&url, &PoolOptions::default())?;
    if demo {
        db.prepare(true)?;
        fill(&db)?;
    }
    db.with_connection(migrate::require_head)?;

    let providers = db.read(|conn| providers::list(conn, &ProviderFilter::default()))?;
    for provider in &providers {
        let (inventory, used) = db
            .read(|conn| Ok((inventories::of_provider(conn, provider.id)?, usages::of_provider(conn, provider.id)?)))?;
        println!("{} ({})", provider.name.as_deref().unwrap_or("-"), provider.uuid);
        for stored in inventory {
            let i = &stored.inventory;
            let capacity = ((i.total - i.reserved) as f64 * i.allocation_ratio) as i64;
            let used = used.get(&i.resource_class).copied().unwrap_or(0);
            println!("  {:<12} {used:>8} of {capacity:>8}", i.resource_class);
        }
    }
    println!("{} provider(s)", providers.len());
    if demo {
        std::fs::remove_dir_all(&scratch)?;
    }
    Ok(())
}

/// A compute node with an instance on it, through the same functions the
/// API's handlers call.
fn fill(db: &Database) -> Result<(), Box<dyn Error>> {
    let uuid = "c0000000-0000-4000-8000-000000000001";
    db.write(|conn| {
        let node = providers::create(conn, uuid, "compute-1", None)?;
        inventories::replace(
            conn,
            &node,
            &[Inventory::with_defaults("VCPU", 16), Inventory::with_defaults("MEMORY_MB", 32768)],
        )?;
        Ok(())
    })?;
    let instance = ConsumerWrite {
        consumer_uuid: "1a570000-0000-4000-8000-000000000001".into(),
        project: "demo-project".into(),
        user: "demo-user".into(),
        generation: GenerationCheck::Expect(None),
        consumer_type: None,
        allocations: vec![(uuid.into(), vec![("VCPU".into(), 4), ("MEMORY_MB".into(), 8192)])],
    };
    db.write(|conn| allocations::replace(conn, db.owner_ids(), std::slice::from_ref(&instance)))?;
    Ok(())
}
