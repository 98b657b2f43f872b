//! The route table: every path, its methods, and for each method the
//! handlers with the microversion window each serves.

use crate::context::{Ctx, Reply};
use crate::error::ApiError;
use crate::handlers::{
    aggregates, allocation_candidates, allocations, inventories, reshaper, resource_classes, resource_providers, root,
    traits, usages,
};

pub type Handler = fn(&Ctx) -> Result<Reply, ApiError>;

/// A handler and the versions (1.min to 1.max) it serves. Outside them
/// the method answers `outside` (404 unless upstream says 405).
#[derive(Clone, Copy)]
pub struct Endpoint {
    pub method: &'static str,
    pub handler: Handler,
    pub min: u16,
    pub max: u16,
    pub outside: u16,
    /// Handled on the threads for costly requests (see [`crate::costly`]).
    pub costly: bool,
}

const LATEST: u16 = placement_model::Microversion::MAX.minor;

const fn costly(endpoint: Endpoint) -> Endpoint {
    Endpoint { costly: true, ..endpoint }
}

const fn any(method: &'static str, handler: Handler) -> Endpoint {
    Endpoint { method, handler, min: 0, max: LATEST, outside: 404, costly: false }
}

const fn from(method: &'static str, min: u16, handler: Handler) -> Endpoint {
    Endpoint { method, handler, min, max: LATEST, outside: 404, costly: false }
}

const fn window(method: &'static str, min: u16, max: u16, handler: Handler) -> Endpoint {
    Endpoint { method, handler, min, max, outside: 404, costly: false }
}

pub struct Route {
    pub pattern: &'static str,
    pub endpoints: &'static [Endpoint],
}

pub static ROUTES: &[Route] = &[
    Route { pattern: "/", endpoints: &[any("GET", root::home)] },
    Route {
        pattern: "/resource_classes",
        endpoints: &[from("GET", 2, resource_classes::list), from("POST", 2, resource_classes::create)],
    },
    Route {
        pattern: "/resource_classes/{name}",
        endpoints: &[
            from("GET", 2, resource_classes::show),
            window("PUT", 2, 6, resource_classes::rename),
            from("PUT", 7, resource_classes::ensure),
            from("DELETE", 2, resource_classes::delete),
        ],
    },
    Route {
        pattern: "/resource_providers",
        endpoints: &[any("GET", resource_providers::list), any("POST", resource_providers::create)],
    },
    Route {
        pattern: "/resource_providers/{uuid}",
        endpoints: &[
            any("GET", resource_providers::show),
            any("DELETE", resource_providers::delete),
            any("PUT", resource_providers::update),
        ],
    },
    Route {
        pattern: "/resource_providers/{uuid}/inventories",
        endpoints: &[
            any("GET", inventories::list),
            any("POST", inventories::create),
            any("PUT", inventories::replace),
            Endpoint { outside: 405, ..from("DELETE", 5, inventories::delete_all) },
        ],
    },
    Route {
        pattern: "/resource_providers/{uuid}/inventories/{resource_class}",
        endpoints: &[
            any("GET", inventories::show),
            any("PUT", inventories::update),
            any("DELETE", inventories::delete),
        ],
    },
    Route { pattern: "/resource_providers/{uuid}/usages", endpoints: &[any("GET", usages::of_provider)] },
    Route {
        pattern: "/resource_providers/{uuid}/aggregates",
        endpoints: &[from("GET", 1, aggregates::list), from("PUT", 1, aggregates::replace)],
    },
    Route { pattern: "/resource_providers/{uuid}/allocations", endpoints: &[any("GET", allocations::for_provider)] },
    Route { pattern: "/allocations", endpoints: &[from("POST", 13, allocations::post)] },
    Route {
        pattern: "/allocations/{consumer_uuid}",
        endpoints: &[
            any("GET", allocations::for_consumer),
            any("PUT", allocations::put_for_consumer),
            any("DELETE", allocations::delete_for_consumer),
        ],
    },
    Route { pattern: "/allocation_candidates", endpoints: &[costly(from("GET", 10, allocation_candidates::list))] },
    Route { pattern: "/traits", endpoints: &[from("GET", 6, traits::list)] },
    Route {
        pattern: "/traits/{name}",
        endpoints: &[from("GET", 6, traits::show), from("PUT", 6, traits::ensure), from("DELETE", 6, traits::delete)],
    },
    Route {
        pattern: "/resource_providers/{uuid}/traits",
        endpoints: &[
            from("GET", 6, traits::of_provider),
            from("PUT", 6, traits::replace_for_provider),
            from("DELETE", 6, traits::delete_for_provider),
        ],
    },
    Route { pattern: "/usages", endpoints: &[from("GET", 9, usages::totals)] },
    Route { pattern: "/reshaper", endpoints: &[from("POST", 30, reshaper::reshape)] },
];

/// Find the route for a (decoded) path and its parameters.
pub fn find(path: &str) -> Option<(&'static Route, Vec<(&'static str, String)>)> {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    ROUTES.iter().find_map(|route| {
        let pattern: Vec<&str> = route.pattern.split('/').skip(1).collect();
        if pattern.len() != segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (p, s) in pattern.iter().zip(&segments) {
            match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                // As upstream's router, a parameter is never empty
                // (`/traits/` is no route, not the trait named '').
                Some(_) if s.is_empty() => return None,
                Some(name) => params.push((name, (*s).to_string())),
                None if p == s => {}
                None => return None,
            }
        }
        Some((route, params))
    })
}

impl Route {
    /// The route's methods served at version 1.`minor`, for `Allow`; all
    /// of them (as upstream sends) when none is served at that version.
    pub fn allow_at(&self, minor: u16) -> String {
        let served = self.methods(|e| e.min <= minor && minor <= e.max);
        if served.is_empty() { self.allow() } else { served }
    }

    /// `Allow` header value: the route's methods in declaration order.
    pub fn allow(&self) -> String {
        self.methods(|_| true)
    }

    fn methods(&self, keep: impl Fn(&Endpoint) -> bool) -> String {
        let mut methods: Vec<&str> = Vec::new();
        for e in self.endpoints.iter().filter(|e| keep(e)) {
            if !methods.contains(&e.method) {
                methods.push(e.method);
            }
        }
        methods.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_windows_of_a_method_never_overlap() {
        for route in ROUTES {
            for (i, a) in route.endpoints.iter().enumerate() {
                assert!(a.min <= a.max, "{} {}", route.pattern, a.method);
                for b in &route.endpoints[i + 1..] {
                    if a.method == b.method {
                        assert!(a.max < b.min || b.max < a.min, "{} {} overlaps", route.pattern, a.method);
                    }
                }
            }
        }
    }

    #[test]
    fn paths_match_patterns_and_capture_parameters() {
        let (route, params) = find("/resource_providers/abc/inventories/VCPU").unwrap();
        assert_eq!(route.pattern, "/resource_providers/{uuid}/inventories/{resource_class}");
        assert_eq!(params, vec![("uuid", "abc".to_string()), ("resource_class", "VCPU".to_string())]);
        assert_eq!(find("/").unwrap().0.pattern, "/");
        assert!(find("/barnabas").is_none());
        assert!(find("/resource_providers/x/cows").is_none());
        assert_eq!(find("/resource_providers").unwrap().0.allow(), "GET, POST");
        let inventories = find("/resource_providers/x/inventories").unwrap().0;
        assert_eq!(inventories.allow_at(4), "GET, POST, PUT");
        assert_eq!(inventories.allow_at(5), "GET, POST, PUT, DELETE");
        assert_eq!(find("/allocations").unwrap().0.allow_at(0), "POST");
    }
}

#[cfg(test)]
mod param_names {
    use super::ROUTES;

    /// Every `ctx.param("...")` a handler reads names a placeholder of some
    /// route (a typo would otherwise be found only by the request that hits
    /// it, as a 500).
    #[test]
    fn handlers_read_only_parameters_routes_have() {
        let placeholders: Vec<&str> = ROUTES
            .iter()
            .flat_map(|r| r.pattern.split('/'))
            .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let sources = [
            include_str!("handlers/aggregates.rs"),
            include_str!("handlers/allocations.rs"),
            include_str!("handlers/inventories.rs"),
            include_str!("handlers/resource_classes.rs"),
            include_str!("handlers/resource_providers.rs"),
            include_str!("handlers/traits.rs"),
            include_str!("handlers/usages.rs"),
        ];
        let mut read = 0;
        for source in sources {
            for call in source.split("ctx.param(\"").skip(1) {
                let name = call.split('"').next().unwrap_or_default();
                assert!(placeholders.contains(&name), "a handler reads {name:?}, which no route has");
                read += 1;
            }
        }
        assert!(read >= 30, "only {read} parameters read");
    }
}
