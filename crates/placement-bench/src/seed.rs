//! Seeding straight into the database, for layouts too large to create
//! through the API in reasonable time (tens of thousands of providers).
//! The rows are those the API would write; ids continue after existing
//! rows, so seeding can grow a database the `setup` command started.

use std::time::Instant;

use diesel::dsl::max;
use diesel::prelude::*;
use placement_model::standard::resource_class_id;
use placement_storage::schema::{placement_aggregates as agg, resource_providers as rp, traits};
use placement_storage::{Backend, Database, DbConnection, StorageResult};

use crate::workload::{AGGREGATES, TRAITS, provider_uuid};

/// SQLite refuses more rows than this in one VALUES list.
const ROWS_PER_INSERT: usize = 400;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Compute nodes as upstream's perf job makes them (and `setup` does).
    Flat,
    /// Compute nodes with two NUMA nodes, each with four SR-IOV PFs.
    Nested,
}

/// (total, min_unit, max_unit) of one inventory.
type Amounts = (i32, i32, i32);

#[derive(Default)]
struct Rows {
    providers: Vec<String>,
    inventories: Vec<String>,
    aggregates: Vec<String>,
    traits: Vec<String>,
}

impl Rows {
    fn provider(&mut self, id: i32, uuid: &str, name: &str, root: i32, parent: Option<i32>) {
        let parent = parent.map_or("NULL".to_string(), |p| p.to_string());
        self.providers.push(format!("({id}, '{uuid}', '{name}', 1, {root}, {parent}, CURRENT_TIMESTAMP)"));
    }

    fn inventory(&mut self, provider: i32, class: &str, (total, min_unit, max_unit): Amounts) {
        let class = resource_class_id(class).unwrap_or_default();
        self.inventories
            .push(format!("({provider}, {class}, {total}, 0, {min_unit}, {max_unit}, 1, 1.0, CURRENT_TIMESTAMP)"));
    }

    fn statements(&self) -> Vec<String> {
        let tables = [
            (
                "resource_providers (id, uuid, name, generation, root_provider_id, parent_provider_id, created_at)",
                &self.providers,
            ),
            (
                "inventories (resource_provider_id, resource_class_id, total, reserved, min_unit, max_unit, \
                 step_size, allocation_ratio, created_at)",
                &self.inventories,
            ),
            ("resource_provider_aggregates (resource_provider_id, aggregate_id, created_at)", &self.aggregates),
            ("resource_provider_traits (resource_provider_id, trait_id, created_at)", &self.traits),
        ];
        let mut out = Vec::new();
        for (table, rows) in tables {
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                out.push(format!("INSERT INTO {table} VALUES {}", chunk.join(", ")));
            }
        }
        out
    }
}

fn aggregate_ids(conn: &mut DbConnection) -> StorageResult<Vec<i32>> {
    let mut ids = Vec::new();
    for uuid in AGGREGATES {
        let found: Option<i32> = agg::table.filter(agg::uuid.eq(uuid)).select(agg::id).first(conn).optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                diesel::insert_into(agg::table).values(agg::uuid.eq(uuid)).execute(conn)?;
                agg::table.filter(agg::uuid.eq(uuid)).select(agg::id).first(conn)?
            }
        };
        ids.push(id);
    }
    Ok(ids)
}

fn trait_id(conn: &mut DbConnection, name: &str) -> StorageResult<i32> {
    Ok(traits::table.filter(traits::name.eq(name)).select(traits::id).first(conn)?)
}

/// `count` flat providers, numbered after the `existing` ones.
fn flat(conn: &mut DbConnection, rows: &mut Rows, first_id: i32, existing: usize, count: usize) -> StorageResult<()> {
    let aggregates = aggregate_ids(conn)?;
    let trait_ids: Vec<i32> = TRAITS.iter().map(|t| trait_id(conn, t)).collect::<StorageResult<_>>()?;
    for i in 0..count {
        let (id, n) = (first_id + i as i32, existing + i);
        rows.provider(id, &provider_uuid(n), &format!("cn{n}"), id, None);
        rows.inventory(id, "VCPU", (32, 1, 16));
        rows.inventory(id, "MEMORY_MB", (8192, 128, 8192));
        rows.inventory(id, "DISK_GB", (8192, 5, 8192));
        let chunk = n % 3 + 1;
        rows.aggregates.extend(aggregates[..chunk].iter().map(|a| format!("({id}, {a}, CURRENT_TIMESTAMP)")));
        rows.traits.extend(trait_ids[..chunk].iter().map(|t| format!("({id}, {t}, CURRENT_TIMESTAMP)")));
    }
    Ok(())
}

/// `count` trees of a compute node (disk), two NUMA nodes (CPU, memory)
/// and eight PFs (VFs), numbered by provider id.
fn nested(conn: &mut DbConnection, rows: &mut Rows, first_id: i32, count: usize) -> StorageResult<()> {
    let numa_trait = trait_id(conn, "HW_NUMA_ROOT")?;
    let mut id = first_id;
    let mut next = |rows: &mut Rows, kind: &str, root: Option<i32>, parent: Option<i32>| {
        let this = id;
        id += 1;
        let uuid = format!("c0ffee00-0000-4000-8000-{this:012}");
        rows.provider(this, &uuid, &format!("{kind}{this}"), root.unwrap_or(this), parent);
        this
    };
    for _ in 0..count {
        let cn = next(rows, "cn", None, None);
        rows.inventory(cn, "DISK_GB", (1000, 1, 1000));
        for _ in 0..2 {
            let numa = next(rows, "numa", Some(cn), Some(cn));
            rows.inventory(numa, "VCPU", (16, 1, 16));
            rows.inventory(numa, "MEMORY_MB", (65536, 1, 65536));
            rows.traits.push(format!("({numa}, {numa_trait}, CURRENT_TIMESTAMP)"));
            for _ in 0..4 {
                let pf = next(rows, "pf", Some(cn), Some(numa));
                rows.inventory(pf, "SRIOV_NET_VF", (8, 1, 8));
            }
        }
    }
    Ok(())
}

/// Add `count` providers (flat) or trees (nested) to the database at
/// `url`, creating its schema first if need be.
pub fn seed(url: &str, layout: Layout, count: usize) -> Result<(), String> {
    let start = Instant::now();
    let db = Database::open(url, &placement_storage::PoolOptions { max_size: 1, ..Default::default() })
        .map_err(|e| e.to_string())?;
    db.prepare(true).map_err(|e| e.to_string())?;
    let total = db
        .write(|conn| {
            let first_id = rp::table.select(max(rp::id)).first::<Option<i32>>(conn)?.unwrap_or(0) + 1;
            let existing: i64 = rp::table.count().get_result(conn)?;
            let mut rows = Rows::default();
            match layout {
                Layout::Flat => flat(conn, &mut rows, first_id, existing as usize, count)?,
                Layout::Nested => nested(conn, &mut rows, first_id, count)?,
            }
            for statement in rows.statements() {
                diesel::sql_query(statement).execute(conn)?;
            }
            if conn.backend() == Backend::Postgres {
                // Explicit ids leave the sequence behind; the API's own
                // inserts must not collide with them.
                diesel::sql_query(
                    "SELECT setval(pg_get_serial_sequence('resource_providers', 'id'), \
                     (SELECT MAX(id) FROM resource_providers))",
                )
                .execute(conn)?;
            }
            Ok(existing as usize + rows.providers.len())
        })
        .map_err(|e| e.to_string())?;
    println!("seed: {total} providers in the database ({:.1} s)", start.elapsed().as_secs_f64());
    Ok(())
}

/// What each seeded consumer holds, where its tree has the class: the
/// perf query's amounts, and a VF on nested trees.
const HELD: [(&str, i32); 4] = [("VCPU", 1), ("MEMORY_MB", 256), ("DISK_GB", 10), ("SRIOV_NET_VF", 1)];

/// Add `count` consumers, each holding [`HELD`] in one tree: on the
/// providers with VCPU in turn (by id), each class on that provider or,
/// failing that, on the first provider of its tree that has the class
/// (a nested tree's disk on its compute node, a VF on its first PF), as
/// instances on a cloud in use. Each provider's totals grow by what it
/// comes to hold, so its free capacity, and every candidates answer, stay
/// those of the empty cloud: only the allocation rows a query has to
/// account for grow.
pub fn seed_consumers(url: &str, count: usize) -> Result<(), String> {
    let start = Instant::now();
    let db = Database::open(url, &placement_storage::PoolOptions { max_size: 1, ..Default::default() })
        .map_err(|e| e.to_string())?;
    db.prepare(true).map_err(|e| e.to_string())?;
    let total = db.write(|conn| add_consumers(conn, count)).map_err(|e| e.to_string())?;
    println!("seed: {total} consumers in the database ({:.1} s)", start.elapsed().as_secs_f64());
    Ok(())
}

/// One seeded consumer's allocations: (provider id, class id, used).
type Slot = Vec<(i32, i32, i32)>;

/// Where a consumer placed on each VCPU provider holds what: see
/// [`seed_consumers`].
fn slots(conn: &mut DbConnection) -> StorageResult<Vec<Slot>> {
    use placement_storage::schema::inventories as inv;
    let classes: Vec<(i32, i32)> =
        HELD.iter().filter_map(|(c, used)| resource_class_id(c).map(|id| (id, *used))).collect();
    let ids: Vec<i32> = classes.iter().map(|(id, _)| *id).collect();
    let rows: Vec<(i32, Option<i32>, i32)> = inv::table
        .inner_join(rp::table.on(rp::id.eq(inv::resource_provider_id)))
        .filter(inv::resource_class_id.eq_any(&ids))
        .select((inv::resource_provider_id, rp::root_provider_id, inv::resource_class_id))
        .order(inv::resource_provider_id)
        .load(conn)?;
    let has = |provider: i32, class: i32| rows.iter().any(|r| r.0 == provider && r.2 == class);
    let in_tree = |root: Option<i32>, class: i32| rows.iter().find(|r| r.1 == root && r.2 == class).map(|r| r.0);
    let vcpu = classes[0].0;
    Ok(rows
        .iter()
        .filter(|r| r.2 == vcpu)
        .map(|&(provider, root, _)| {
            classes
                .iter()
                .filter_map(|&(class, used)| {
                    let holder = if has(provider, class) { Some(provider) } else { in_tree(root, class) };
                    holder.map(|h| (h, class, used))
                })
                .collect()
        })
        .collect())
}

fn add_consumers(conn: &mut DbConnection, count: usize) -> StorageResult<i64> {
    use placement_storage::schema::{consumers, inventories as inv, projects, users};
    let slots = slots(conn)?;
    if slots.is_empty() || count == 0 {
        return Ok(consumers::table.count().get_result(conn)?);
    }
    let mut ids = Vec::new();
    for (table, name) in [("projects", "bench-project"), ("users", "bench-user")] {
        diesel::sql_query(format!(
            "INSERT INTO {table} (external_id, created_at) SELECT '{name}', CURRENT_TIMESTAMP \
             WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE external_id = '{name}')"
        ))
        .execute(conn)?;
        ids.push(match table {
            "projects" => projects::table.filter(projects::external_id.eq(name)).select(projects::id).first(conn)?,
            _ => users::table.filter(users::external_id.eq(name)).select(users::id).first::<i32>(conn)?,
        });
    }
    let existing: i64 = consumers::table.count().get_result(conn)?;
    let mut rows = (Vec::new(), Vec::new());
    // (provider, class) -> what seeded consumers came to hold there.
    let mut held = std::collections::BTreeMap::<(i32, i32), i32>::new();
    for i in 0..count {
        let n = existing as usize + i;
        let uuid = format!("c0c0c0c0-0000-4000-8000-{n:012}");
        rows.0.push(format!("('{uuid}', {}, {}, 1, CURRENT_TIMESTAMP)", ids[0], ids[1]));
        for &(provider, class, used) in &slots[n % slots.len()] {
            *held.entry((provider, class)).or_default() += used;
            rows.1.push(format!("({provider}, '{uuid}', {class}, {used}, CURRENT_TIMESTAMP)"));
        }
    }
    let tables = [
        ("consumers (uuid, project_id, user_id, generation, created_at)", &rows.0),
        ("allocations (resource_provider_id, consumer_id, resource_class_id, used, created_at)", &rows.1),
    ];
    for (table, values) in tables {
        for chunk in values.chunks(ROWS_PER_INSERT) {
            diesel::sql_query(format!("INSERT INTO {table} VALUES {}", chunk.join(", "))).execute(conn)?;
        }
    }
    let mut bumped = std::collections::BTreeSet::new();
    for (&(provider, class), &n) in &held {
        // As the API would: an inventory change bumps the generation, which
        // is what running servers' caches check.
        if bumped.insert(provider) {
            diesel::update(rp::table.filter(rp::id.eq(provider)))
                .set(rp::generation.eq(rp::generation + 1))
                .execute(conn)?;
        }
        diesel::update(
            inv::table.filter(inv::resource_provider_id.eq(provider)).filter(inv::resource_class_id.eq(class)),
        )
        .set(inv::total.eq(inv::total + n))
        .execute(conn)?;
    }
    Ok(existing + count as i64)
}

#[cfg(test)]
mod tests {
    use placement_model::Microversion;
    use placement_model::candidates::{Options, solve};
    use placement_storage::candidates::{Loaded, load};

    use super::*;
    use crate::workload::{NESTED_QUERY, PERF_QUERY};

    /// Candidates the query at `path` finds in the database at `url`.
    fn candidates(url: &str, path: &str) -> usize {
        let query: Vec<(String, String)> = path
            .split_once('?')
            .map(|(_, q)| q.split('&').filter_map(|kv| kv.split_once('=')))
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let request = placement_model::request::parse(&query, Microversion::MAX).unwrap();
        let db = Database::open(url, &placement_storage::PoolOptions { max_size: 1, ..Default::default() }).unwrap();
        match db.read(|conn| load(conn, &request, db.tree_cache())).unwrap() {
            Loaded::NoResults => 0,
            Loaded::Ready(p) => solve(&p.snapshot, &p.request, &Options { nested_aware: true, ..Default::default() })
                .map_or(0, |s| s.candidates.len()),
        }
    }

    #[test]
    fn seeded_layouts_answer_the_benchmark_queries() {
        let dir = std::env::temp_dir().join(format!("placement-bench-seed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let flat = format!("sqlite:///{}", dir.join("flat.db").display());
        seed(&flat, Layout::Flat, 30).unwrap();
        seed(&flat, Layout::Flat, 12).unwrap();
        assert_eq!(candidates(&flat, PERF_QUERY), 42, "every perf-layout provider matches the perf query");
        // Occupancy: 100 consumers more rows, the same free capacity.
        seed_consumers(&flat, 100).unwrap();
        seed_consumers(&flat, 26).unwrap();
        assert_eq!(candidates(&flat, PERF_QUERY), 42, "occupancy leaves the answers as they were");
        assert_eq!(candidates(&flat, "/allocation_candidates?resources=VCPU:16,MEMORY_MB:8192"), 42);
        let db = Database::open(&flat, &placement_storage::PoolOptions { max_size: 1, ..Default::default() }).unwrap();
        let rows: i64 = db.read(|c| Ok(placement_storage::schema::allocations::table.count().get_result(c)?)).unwrap();
        assert_eq!(rows, 126 * 3);
        let nested = format!("sqlite:///{}", dir.join("nested.db").display());
        seed(&nested, Layout::Nested, 2).unwrap();
        // Four isolated VFs over eight PFs, in order: 8 * 7 * 6 * 5 per tree.
        assert_eq!(candidates(&nested, NESTED_QUERY), 2 * 1680);
        // Occupancy on trees: VCPU and memory on a NUMA node, disk on its
        // compute node, a VF on the tree's first PF; free capacity unchanged.
        seed_consumers(&nested, 50).unwrap();
        assert_eq!(candidates(&nested, NESTED_QUERY), 2 * 1680);
        assert_eq!(candidates(&nested, "/allocation_candidates?resources=SRIOV_NET_VF:8"), 2 * 8);
        let db =
            Database::open(&nested, &placement_storage::PoolOptions { max_size: 1, ..Default::default() }).unwrap();
        let rows: i64 = db.read(|c| Ok(placement_storage::schema::allocations::table.count().get_result(c)?)).unwrap();
        assert_eq!(rows, 50 * 4);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
