//! Solver benchmarks on in-memory snapshots: upstream's perf-job layout at
//! 1,000, 10,000 and 100,000 providers, and wide nested trees queried with
//! four isolated granular groups, capped and uncapped.

use std::collections::BTreeSet;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use placement_model::candidates::{
    AggregateId, Capacity, ClassId, Group, Limits, Options, ProviderId, ProviderNode, Request, Snapshot, TraitId, solve,
};

const VCPU: ClassId = ClassId(0);
const MEMORY_MB: ClassId = ClassId(1);
const DISK_GB: ClassId = ClassId(2);
const VF: ClassId = ClassId(7);
const AVX2: TraitId = TraitId(1);
const AGG: AggregateId = AggregateId(1);

fn capacity(total: i32, min_unit: i32, max_unit: i32) -> Capacity {
    Capacity::new(Limits { total, reserved: 0, min_unit, max_unit, step_size: 1, allocation_ratio: 1.0 }, 0)
}

/// Flat compute nodes as the perf job's loader makes them.
fn perfload(count: i32) -> Snapshot {
    let mut snap = Snapshot::default();
    for id in (1..=count).map(ProviderId) {
        snap.add_provider(ProviderNode { id, uuid: format!("{:032}", id.0).into(), parent: None, root: id });
        snap.add_inventory(id, VCPU, capacity(32, 1, 16));
        snap.add_inventory(id, MEMORY_MB, capacity(8192, 128, 8192));
        snap.add_inventory(id, DISK_GB, capacity(8192, 5, 8192));
        snap.add_trait(id, AVX2);
        snap.set_aggregates(id, [AGG]);
    }
    snap
}

fn perf_query() -> Request {
    Request {
        groups: vec![Group {
            suffix: String::new(),
            resources: vec![(VCPU, 1), (DISK_GB, 10), (MEMORY_MB, 256)],
            required: vec![BTreeSet::from([AVX2])],
            member_of: vec![BTreeSet::from([AGG])],
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Compute nodes with two NUMA children, each with four PFs of SR-IOV VFs.
fn nested(trees: i32) -> Snapshot {
    let mut snap = Snapshot { has_trees: true, ..Default::default() };
    let mut id = 0;
    let mut add = |snap: &mut Snapshot, parent: Option<ProviderId>, root: Option<ProviderId>| {
        id += 1;
        let node = ProviderId(id);
        snap.add_provider(ProviderNode {
            id: node,
            uuid: format!("{id:032}").into(),
            parent,
            root: root.unwrap_or(node),
        });
        node
    };
    for _ in 0..trees {
        let cn = add(&mut snap, None, None);
        snap.add_inventory(cn, DISK_GB, capacity(1000, 1, 1000));
        for _ in 0..2 {
            let numa = add(&mut snap, Some(cn), Some(cn));
            snap.add_inventory(numa, VCPU, capacity(16, 1, 16));
            for _ in 0..4 {
                let pf = add(&mut snap, Some(numa), Some(cn));
                snap.add_inventory(pf, VF, capacity(8, 1, 8));
            }
        }
    }
    snap
}

fn nested_query() -> Request {
    Request {
        groups: (1..=4)
            .map(|i| Group { suffix: i.to_string(), resources: vec![(VF, 1)], ..Default::default() })
            .collect(),
        isolate: true,
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("perfload");
    group.sample_size(10);
    for count in [1_000, 10_000, 100_000] {
        let snap = perfload(count);
        let req = perf_query();
        let opts = Options { nested_aware: true, ..Default::default() };
        group.bench_with_input(BenchmarkId::from_parameter(count), &count, |b, _| {
            b.iter(|| solve(&snap, &req, &opts).map_or(0, |s| s.candidates.len()))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("nested_isolate_4_groups");
    group.sample_size(10);
    for (trees, cap) in [(409, Some(1000)), (10, None), (40, None)] {
        let snap = nested(trees);
        let req = nested_query();
        let opts = Options { nested_aware: true, max_candidates: cap, ..Default::default() };
        let label = format!("{trees}_trees_max_{}", cap.map_or("unlimited".to_string(), |c| c.to_string()));
        group.bench_function(label, |b| b.iter(|| solve(&snap, &req, &opts).map_or(0, |s| s.candidates.len())));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
