//! A router under construction that remembers the path templates it was given.
//!
//! `/metrics` counts requests by route template (`/api/v1/grids/{code}`, never the raw path).
//! axum tells a request its template only inside the router, where a per-route layer costs every
//! request a clone of that route's boxed service stack (callgrind: +3,500 instructions a lookup,
//! 7 %; BENCHMARKS.md, issue 17). The [edge](super::edge) instead matches the path against the
//! same templates with the same matcher axum uses (`matchit`), before routing. The templates
//! come from this table, which also builds the axum router, so the two cannot disagree.

use axum::Router;
use axum::routing::MethodRouter;

use super::AppState;

/// Routes and their templates, built together.
pub struct RouteTable {
    router: Router<AppState>,
    templates: Vec<&'static str>,
}

impl Default for RouteTable {
    fn default() -> Self {
        Self::new()
    }
}

impl RouteTable {
    pub fn new() -> Self {
        RouteTable {
            router: Router::new(),
            templates: Vec::new(),
        }
    }

    /// Adds `methods` at `path` (a full path: routers are not nested, since nesting makes every
    /// request rewrite its URI).
    pub fn route(mut self, path: &'static str, methods: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, methods);
        self.templates.push(path);
        self
    }

    /// The routes of both tables.
    pub fn merge(mut self, other: RouteTable) -> Self {
        self.router = self.router.merge(other.router);
        self.templates.extend(other.templates);
        self
    }

    /// The axum router and the matcher of its templates.
    pub fn build(self) -> (Router<AppState>, Templates) {
        let mut matcher = matchit::Router::new();
        let mut fixed = foldhash::HashMap::default();
        for template in self.templates {
            if !template.contains('{') {
                fixed.insert(template, template);
            }
            // axum has accepted the same template (it panics on one it cannot insert), and a
            // template is inserted once, so this cannot fail; a failure would only leave the
            // route counted as `unmatched`.
            let _ = matcher.insert(template, template);
        }
        (self.router, Templates { fixed, matcher })
    }
}

/// Finds the route template a request path is served by.
pub struct Templates {
    /// Templates without parameters, looked up first: a static segment wins over a parameter
    /// in matchit too, so an exact hit is matchit's answer, for a hash probe instead of a tree
    /// walk that allocates twice (a lookup's path is one of these).
    fixed: foldhash::HashMap<&'static str, &'static str>,
    matcher: matchit::Router<&'static str>,
}

impl Templates {
    /// The template matching `path`, if a route serves it.
    pub fn find(&self, path: &str) -> Option<&'static str> {
        if let Some(&template) = self.fixed.get(path) {
            return Some(template);
        }
        self.matcher.at(path).ok().map(|m| *m.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    #[test]
    fn paths_find_their_template_and_static_segments_win() {
        let (_, templates) = RouteTable::new()
            .route("/api/v1/grids/{code}", get(|| async {}))
            .merge(
                RouteTable::new()
                    .route("/api/v1/{layer}/{code}/history", get(|| async {}))
                    .route("/api/v1/grids", get(|| async {})),
            )
            .route("/web/{*path}", get(|| async {}))
            .build();
        assert_eq!(
            templates.find("/api/v1/grids/442000005001001"),
            Some("/api/v1/grids/{code}")
        );
        assert_eq!(templates.find("/api/v1/grids"), Some("/api/v1/grids"));
        assert_eq!(
            templates.find("/api/v1/towns/442000005/history"),
            Some("/api/v1/{layer}/{code}/history")
        );
        assert_eq!(templates.find("/web/js/app.js"), Some("/web/{*path}"));
        assert_eq!(templates.find("/nothing"), None);
    }
}
