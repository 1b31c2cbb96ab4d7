//! Rule priorities, allocated from what each route matches, never from its place in the spec.
//!
//! A rule's priority is `group + (200 - specificity) * 50 + slot`:
//!
//! - `group` is 1 for host-and-path rules, 15001 for host rules and 30001 for path rules, so a
//!   host-and-path rule is tried before a host rule, and both before a path rule;
//! - `specificity` is the longest literal part of the rule's patterns before the first wildcard
//!   (at most 199 characters), so `/api/v2/*` is tried before `/api/*`;
//! - `slot` is 0 to 49, from a hash of the route's name; two routes with the same group,
//!   specificity and slot take the next free slots in name order.
//!
//! A route's priority depends on the route itself (and only on the routes it ties with), so
//! adding, removing or reordering other routes never moves it, and no two rules ever want the
//! same priority. A route whose match changes gets a new priority (`SetRulePriorities`).

use std::collections::{BTreeMap, BTreeSet};

use skyforge_core::naming::short_hash;

use crate::spec::{Match, Route};

const WIDTH: u32 = 50;

fn literal_len(pattern: &str) -> u32 {
    let end = pattern.find(['*', '?']).unwrap_or(pattern.len());
    u32::try_from(end.min(199)).unwrap_or(199)
}

/// The priority band and rank of a route (`None` for the default route).
fn base(route: &Route) -> Option<u32> {
    let group = match &route.matches {
        Match::HostAndPath(..) => 1,
        Match::Host(_) => 15_001,
        Match::Path(_) => 30_001,
        Match::Default => return None,
    };
    let specificity = route
        .matches
        .hosts()
        .iter()
        .chain(route.matches.paths())
        .map(|p| literal_len(p))
        .max()
        .unwrap_or(0);
    Some(group + (200 - specificity) * WIDTH)
}

fn slot(name: &str) -> u32 {
    u32::from_str_radix(&short_hash(&["rule", name]), 16).unwrap_or(0) % WIDTH
}

/// The priority of every route but the default one, by route name.
pub fn allocate(routes: &[Route]) -> BTreeMap<String, u32> {
    let mut taken: BTreeSet<u32> = BTreeSet::new();
    let mut out = BTreeMap::new();
    let mut sorted: Vec<&Route> = routes.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for r in sorted {
        let Some(b) = base(r) else { continue };
        let mut s = slot(&r.name);
        // Ties take the next free slot of the band, in name order (deterministic).
        for _ in 0..WIDTH {
            if !taken.contains(&(b + s)) {
                break;
            }
            s = (s + 1) % WIDTH;
        }
        taken.insert(b + s);
        out.insert(r.name.clone(), b + s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_003() -> Vec<Route> {
        vec![
            Route::default_route("web", 3000),
            Route::path("api", ["/api/*"], 3001),
            Route::path("auth", ["/auth/*"], 3002),
            Route::path("admin", ["/admin/*"], 3003),
        ]
    }

    #[test]
    fn priorities_do_not_depend_on_order_or_on_other_routes() {
        let a = allocate(&seed_003());
        let mut reordered = seed_003();
        reordered.reverse();
        assert_eq!(a, allocate(&reordered));
        let mut more = seed_003();
        more.push(Route::path("docs", ["/docs/*"], 3004));
        let b = allocate(&more);
        for (k, v) in &a {
            assert_eq!(b[k], *v, "{k} moved when a route was added");
        }
        assert_eq!(b.len(), 4);
        let unique: BTreeSet<u32> = b.values().copied().collect();
        assert_eq!(unique.len(), b.len());
        assert!(b.values().all(|p| (1..=50_000).contains(p)));
    }

    #[test]
    fn more_specific_and_host_rules_come_first() {
        let routes = vec![
            Route::path("api", ["/api/*"], 1),
            Route::path("v2", ["/api/v2/*"], 1),
            Route::host("host", ["api.example.com"], 1),
            Route::host_and_path("both", ["api.example.com"], ["/admin/*"], 1),
        ];
        let p = allocate(&routes);
        assert!(p["v2"] < p["api"]);
        assert!(p["host"] < p["v2"]);
        assert!(p["both"] < p["host"]);
    }
}
