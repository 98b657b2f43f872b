//! Diesel table definitions for upstream Placement's schema (alembic head
//! a082b8bb98d0). Column types are the portable subset every backend of
//! the multi-backend connection supports.

diesel::table! {
    alembic_version (version_num) {
        version_num -> Text,
    }
}

diesel::table! {
    allocations (id) {
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        id -> Integer,
        resource_provider_id -> Integer,
        consumer_id -> Text,
        resource_class_id -> Integer,
        used -> Integer,
    }
}

diesel::table! {
    consumer_types (id) {
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        id -> Integer,
        name -> Text,
    }
}

diesel::table! {
    consumers (id) {
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        id -> Integer,
        uuid -> Text,
        project_id -> Integer,
        user_id -> Integer,
        generation -> Integer,
        consumer_type_id -> Nullable<Integer>,
    }
}

diesel::table! {
    inventories (id) {
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        id -> Integer,
        resource_provider_id -> Integer,
        resource_class_id -> Integer,
        total -> Integer,
        reserved -> Integer,
        min_unit -> Integer,
        max_unit -> Integer,
        step_size -> Integer,
        allocation_ratio -> Double,
    }
}

diesel::table! {
    placement_aggregates (id) {
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        id -> Integer,
        uuid -> Nullable<Text>,
    }
}

diesel::table! {
    projects (id) {
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        id -> Integer,
        external_id -> Text,
    }
}

diesel::table! {
    resource_classes (id) {
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        id -> Integer,
        name -> Text,
    }
}

diesel::table! {
    resource_provider_aggregates (resource_provider_id, aggregate_id) {
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        resource_provider_id -> Integer,
        aggregate_id -> Integer,
    }
}

diesel::table! {
    resource_provider_traits (trait_id, resource_provider_id) {
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        trait_id -> Integer,
        resource_provider_id -> Integer,
    }
}

diesel::table! {
    resource_providers (id) {
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        id -> Integer,
        uuid -> Text,
        name -> Nullable<Text>,
        generation -> Nullable<Integer>,
        root_provider_id -> Nullable<Integer>,
        parent_provider_id -> Nullable<Integer>,
    }
}

diesel::table! {
    traits (id) {
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        id -> Integer,
        name -> Text,
    }
}

diesel::table! {
    users (id) {
        created_at -> Nullable<Timestamp>,
        updated_at -> Nullable<Timestamp>,
        id -> Integer,
        external_id -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    allocations,
    consumer_types,
    consumers,
    inventories,
    placement_aggregates,
    projects,
    resource_classes,
    resource_provider_aggregates,
    resource_provider_traits,
    resource_providers,
    traits,
    users,
);
