//! Splitting a set of cells into contiguous regions without holes.
//!
//! Regions grow from one site cell each by a multi-source Dijkstra over the cell adjacency graph
//! (a cell joins the region that reaches it first). Every cell joins through an already-joined
//! neighbour of the same region, so every region is connected by construction. The travel cost
//! of each edge comes from a smooth noise field, which bends borders the way real ones bend.
//! Regions can carry a capacity (a target cell count): once full they stop growing, and cells
//! left over go to whichever neighbour reaches them first.
//!
//! One thing growth cannot rule out is a region wrapping all the way around another one, which
//! would give the outer polygon a hole. `repair` detects holes (parts of the domain outside a
//! region that cannot reach the domain's border without crossing it) and cuts the ring open by
//! handing a shortest path of its cells to the enclosed region. `balance` and `enforce_count`
//! then adjust sizes one border cell at a time, accepting a move only if both regions stay one
//! piece without holes.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::mesh::Mesh;
use crate::projection::P2;

/// "No region".
pub const NONE: u32 = u32::MAX;

/// Travel costs between adjacent real cells.
pub struct Graph {
    pub adj: Vec<Vec<(u32, f64)>>,
    /// Whether the cell borders the outside of the city.
    pub coast: Vec<bool>,
}

impl Graph {
    /// `cost(p, q)` is the price of moving between neighbouring seeds `p` and `q`.
    pub fn new(mesh: &Mesh, cost: impl Fn(P2, P2) -> f64) -> Graph {
        let n = mesh.seeds.len();
        let mut adj = vec![Vec::new(); n];
        let mut coast = vec![false; n];
        for c in mesh.real_cells() {
            let p = mesh.seeds[c as usize];
            adj[c as usize] = mesh
                .real_neighbours(c)
                .map(|(o, _)| (o, cost(p, mesh.seeds[o as usize])))
                .collect();
            coast[c as usize] = mesh.on_coast(c);
        }
        Graph { adj, coast }
    }
}

/// The cells whose `parent` equals `id` (a town when splitting into communities; the whole city,
/// id 0, when splitting into towns).
pub struct Domain<'a> {
    pub graph: &'a Graph,
    pub parent: &'a [u32],
    pub id: u32,
    pub cells: Vec<u32>,
}

impl<'a> Domain<'a> {
    pub fn new(graph: &'a Graph, parent: &'a [u32], id: u32) -> Self {
        let cells = (0..parent.len() as u32)
            .filter(|&c| parent[c as usize] == id)
            .collect();
        Domain {
            graph,
            parent,
            id,
            cells,
        }
    }

    fn contains(&self, c: u32) -> bool {
        self.parent[c as usize] == self.id
    }

    /// In-domain neighbours.
    fn nbrs(&self, c: u32) -> impl Iterator<Item = (u32, f64)> + '_ {
        self.graph.adj[c as usize]
            .iter()
            .copied()
            .filter(|&(o, _)| self.contains(o))
    }

    /// Whether the cell touches the border of the domain.
    fn on_border(&self, c: u32) -> bool {
        self.graph.coast[c as usize]
            || self.graph.adj[c as usize]
                .iter()
                .any(|&(o, _)| !self.contains(o))
    }
}

/// One region to grow.
#[derive(Clone, Copy, Debug)]
pub struct Site {
    pub cell: u32,
    pub label: u32,
    /// Growth speed; faster regions end up larger.
    pub speed: f64,
    /// Maximum number of cells during growth.
    pub cap: usize,
}

#[derive(PartialEq)]
struct Item {
    cost: f64,
    cell: u32,
    who: u32,
}

impl Eq for Item {}

impl Ord for Item {
    fn cmp(&self, other: &Self) -> Ordering {
        // Min-heap on cost; ties broken by ids so the order never depends on heap internals.
        other
            .cost
            .total_cmp(&self.cost)
            .then_with(|| other.cell.cmp(&self.cell))
            .then_with(|| other.who.cmp(&self.who))
    }
}

impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Grows the sites over the domain, writing region labels into `labels` (cells of the domain
/// must start as `NONE`). Cells no region could take (all neighbours full) stay `NONE`.
pub fn grow(domain: &Domain, sites: &[Site], labels: &mut [u32]) {
    let mut heap = BinaryHeap::new();
    let mut counts = vec![0usize; sites.len()];
    for (i, s) in sites.iter().enumerate() {
        heap.push(Item {
            cost: 0.0,
            cell: s.cell,
            who: i as u32,
        });
    }
    while let Some(Item { cost, cell, who }) = heap.pop() {
        let site = &sites[who as usize];
        if labels[cell as usize] != NONE || counts[who as usize] >= site.cap {
            continue;
        }
        labels[cell as usize] = site.label;
        counts[who as usize] += 1;
        for (o, c) in domain.nbrs(cell) {
            if labels[o as usize] == NONE {
                heap.push(Item {
                    cost: cost + c / site.speed,
                    cell: o,
                    who,
                });
            }
        }
    }
}

/// Gives every unlabelled domain cell to the region that reaches it first. Regions in `frozen`
/// only take cells nobody else can reach.
pub fn fill(domain: &Domain, labels: &mut [u32], frozen: &[u32]) {
    for allow_frozen in [false, true] {
        let mut heap = BinaryHeap::new();
        for &c in &domain.cells {
            let l = labels[c as usize];
            if l == NONE || (!allow_frozen && frozen.contains(&l)) {
                continue;
            }
            for (o, cost) in domain.nbrs(c) {
                if labels[o as usize] == NONE {
                    heap.push(Item {
                        cost,
                        cell: o,
                        who: l,
                    });
                }
            }
        }
        while let Some(Item { cost, cell, who }) = heap.pop() {
            if labels[cell as usize] != NONE {
                continue;
            }
            labels[cell as usize] = who;
            for (o, c) in domain.nbrs(cell) {
                if labels[o as usize] == NONE {
                    heap.push(Item {
                        cost: cost + c,
                        cell: o,
                        who,
                    });
                }
            }
        }
    }
}

/// Connected pieces (cells) of the domain cells selected by `inside`, each sorted.
fn pieces(domain: &Domain, inside: impl Fn(u32) -> bool) -> Vec<Vec<u32>> {
    let mut seen = vec![false; domain.parent.len()];
    let mut out = Vec::new();
    for &start in &domain.cells {
        if seen[start as usize] || !inside(start) {
            continue;
        }
        seen[start as usize] = true;
        let mut piece = vec![start];
        let mut i = 0;
        while i < piece.len() {
            let c = piece[i];
            i += 1;
            for (o, _) in domain.nbrs(c) {
                if !seen[o as usize] && inside(o) {
                    seen[o as usize] = true;
                    piece.push(o);
                }
            }
        }
        piece.sort_unstable();
        out.push(piece);
    }
    out
}

/// Parts of the domain outside region `label` that are enclosed by it.
fn holes(domain: &Domain, labels: &[u32], label: u32) -> Vec<Vec<u32>> {
    pieces(domain, |c| labels[c as usize] != label)
        .into_iter()
        .filter(|p| !p.iter().any(|&c| domain.on_border(c)))
        .collect()
}

/// One piece and no holes.
pub fn region_ok(domain: &Domain, labels: &[u32], label: u32) -> bool {
    pieces(domain, |c| labels[c as usize] == label).len() == 1
        && holes(domain, labels, label).is_empty()
}

/// Makes every region of the domain one piece without holes. Regions keep their largest piece;
/// cut-off pieces are refilled from their neighbours; rings around enclosed regions are cut.
pub fn repair(
    domain: &Domain,
    labels: &mut [u32],
    regions: &[u32],
    frozen: &[u32],
) -> Result<(), String> {
    for _round in 0..500 {
        let mut changed = false;
        for &r in regions {
            let mut parts = pieces(domain, |c| labels[c as usize] == r);
            if parts.is_empty() {
                return Err(format!("region {r} vanished while repairing"));
            }
            if parts.len() > 1 {
                // Keep the largest piece (first one on ties: pieces are found in cell order).
                let keep = (0..parts.len())
                    .max_by_key(|&i| (parts[i].len(), usize::MAX - i))
                    .expect("at least one piece");
                parts.swap_remove(keep);
                for part in parts {
                    for c in part {
                        labels[c as usize] = NONE;
                    }
                }
                changed = true;
            }
        }
        if changed {
            fill(domain, labels, frozen);
            continue;
        }
        for &r in regions {
            if let Some(hole) = holes(domain, labels, r).into_iter().next() {
                cut_ring(domain, labels, r, &hole)?;
                changed = true;
                break;
            }
        }
        if !changed {
            return Ok(());
        }
    }
    Err("regions did not settle into contiguous hole-free pieces".into())
}

/// Hands a shortest path of `ring`'s cells, from the enclosed `hole` to the open side, to the
/// enclosed region next to the path's start.
fn cut_ring(domain: &Domain, labels: &mut [u32], ring: u32, hole: &[u32]) -> Result<(), String> {
    let n = domain.parent.len();
    let mut in_hole = vec![false; n];
    for &c in hole {
        in_hole[c as usize] = true;
    }
    let is_exit = |c: u32| {
        domain.on_border(c)
            || domain
                .nbrs(c)
                .any(|(o, _)| labels[o as usize] != ring && !in_hole[o as usize])
    };
    let mut prev = vec![NONE; n];
    let mut queue = Vec::new();
    for &c in &domain.cells {
        if labels[c as usize] == ring && domain.nbrs(c).any(|(o, _)| in_hole[o as usize]) {
            prev[c as usize] = c;
            queue.push(c);
        }
    }
    let mut i = 0;
    while i < queue.len() {
        let c = queue[i];
        i += 1;
        if is_exit(c) {
            let mut path = vec![c];
            let mut cur = c;
            while prev[cur as usize] != cur {
                cur = prev[cur as usize];
                path.push(cur);
            }
            let start = cur;
            let target = domain
                .nbrs(start)
                .filter(|&(o, _)| in_hole[o as usize])
                .map(|(o, _)| (o, labels[o as usize]))
                .min()
                .map(|(_, l)| l)
                .expect("path start borders the hole");
            for c in path {
                labels[c as usize] = target;
            }
            return Ok(());
        }
        for (o, _) in domain.nbrs(c) {
            if labels[o as usize] == ring && prev[o as usize] == NONE {
                prev[o as usize] = c;
                queue.push(o);
            }
        }
    }
    Err(format!("cannot open the ring of region {ring}"))
}

/// Moves single cells between `label` and its neighbours until it holds exactly `target` cells,
/// keeping every touched region one piece without holes.
pub fn enforce_count(
    domain: &Domain,
    labels: &mut [u32],
    label: u32,
    target: usize,
) -> Result<(), String> {
    loop {
        let count = domain
            .cells
            .iter()
            .filter(|&&c| labels[c as usize] == label)
            .count();
        if count == target {
            return Ok(());
        }
        let grow = count < target;
        let mut moved = false;
        for &c in &domain.cells {
            let own = labels[c as usize];
            // Candidate cells: outside cells touching the region (to grow), or region cells
            // touching another region (to shrink).
            if (own == label) == grow {
                continue;
            }
            let mut other: Vec<u32> = domain
                .nbrs(c)
                .map(|(o, _)| labels[o as usize])
                .filter(|&l| (l == label) == grow)
                .collect();
            other.sort_unstable();
            let Some(&to) = other.first() else { continue };
            let (from, to) = if grow { (own, label) } else { (label, to) };
            labels[c as usize] = to;
            let from_left = domain.cells.iter().any(|&x| labels[x as usize] == from);
            if from_left && region_ok(domain, labels, from) && region_ok(domain, labels, to) {
                moved = true;
                break;
            }
            labels[c as usize] = own;
        }
        if !moved {
            return Err(format!(
                "cannot bring region {label} from {count} to {target} cells"
            ));
        }
    }
}

/// Moves single cells from regions above their target size to neighbouring regions well below
/// theirs, keeping every region one piece without holes. Growth alone can leave a large region
/// boxed in by small neighbours that took the leftovers; this hands them back. `targets` holds
/// (label, target cells); regions in `frozen` neither give nor take.
pub fn balance(domain: &Domain, labels: &mut [u32], targets: &[(u32, usize)], frozen: &[u32]) {
    let target_of = |l: u32| targets.iter().find(|t| t.0 == l).map_or(0, |t| t.1);
    let count_of = |labels: &[u32], l: u32| {
        domain
            .cells
            .iter()
            .filter(|&&c| labels[c as usize] == l)
            .count()
    };
    let mut stuck: Vec<u32> = frozen.to_vec();
    loop {
        // The region furthest below its target (beyond a tolerance of 10 %, at least 2 cells).
        let neediest = targets
            .iter()
            .filter(|t| !stuck.contains(&t.0))
            .map(|&(l, target)| (target as i64 - count_of(labels, l) as i64, target, l))
            .filter(|&(deficit, target, _)| deficit > (target as i64 / 10).max(2))
            .max_by_key(|&(deficit, _, l)| (deficit, std::cmp::Reverse(l)));
        let Some((_, _, r)) = neediest else { return };
        // Cells of regions above target that touch r, most-embraced by r first.
        let mut candidates: Vec<(usize, u32)> = domain
            .cells
            .iter()
            .copied()
            .filter(|&c| {
                let s = labels[c as usize];
                s != r
                    && !frozen.contains(&s)
                    && domain.nbrs(c).any(|(o, _)| labels[o as usize] == r)
            })
            .map(|c| {
                (
                    domain
                        .nbrs(c)
                        .filter(|&(o, _)| labels[o as usize] == r)
                        .count(),
                    c,
                )
            })
            .collect();
        candidates.sort_by_key(|&(embrace, c)| (std::cmp::Reverse(embrace), c));
        let mut moved = false;
        for (_, c) in candidates {
            let s = labels[c as usize];
            if count_of(labels, s) <= target_of(s) {
                continue;
            }
            labels[c as usize] = r;
            if region_ok(domain, labels, r) && region_ok(domain, labels, s) {
                moved = true;
                break;
            }
            labels[c as usize] = s;
        }
        if !moved {
            stuck.push(r);
        }
    }
}

/// Picks `k` well-spread site cells among `cells` (k-means on seed positions, started from the
/// cell nearest `centre` and farthest-point seeding). Returns the sites sorted by distance from
/// `centre`, nearest first.
pub fn spread_sites(mesh: &Mesh, cells: &[u32], k: usize, centre: P2) -> Vec<u32> {
    let pos = |c: u32| mesh.seeds[c as usize];
    let d2 = |a: P2, b: P2| (a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]);
    let nearest_cell = |p: P2, taken: &[u32]| {
        cells
            .iter()
            .copied()
            .filter(|c| !taken.contains(c))
            .min_by(|&a, &b| d2(pos(a), p).total_cmp(&d2(pos(b), p)).then(a.cmp(&b)))
    };
    let k = k.min(cells.len());
    let mut centres: Vec<P2> = Vec::with_capacity(k);
    if let Some(first) = nearest_cell(centre, &[]) {
        centres.push(pos(first));
    }
    while centres.len() < k {
        let far = cells
            .iter()
            .copied()
            .max_by(|&a, &b| {
                let da = centres
                    .iter()
                    .map(|&q| d2(pos(a), q))
                    .fold(f64::MAX, f64::min);
                let db = centres
                    .iter()
                    .map(|&q| d2(pos(b), q))
                    .fold(f64::MAX, f64::min);
                da.total_cmp(&db).then(b.cmp(&a))
            })
            .expect("cells is not empty");
        centres.push(pos(far));
    }
    for _ in 0..12 {
        let mut sum = vec![[0.0f64; 3]; k];
        for &c in cells {
            let p = pos(c);
            let j = (0..k)
                .min_by(|&i, &j| d2(p, centres[i]).total_cmp(&d2(p, centres[j])))
                .expect("k > 0");
            sum[j][0] += p[0];
            sum[j][1] += p[1];
            sum[j][2] += 1.0;
        }
        for (centre, s) in centres.iter_mut().zip(&sum) {
            if s[2] > 0.0 {
                *centre = [s[0] / s[2], s[1] / s[2]];
            }
        }
    }
    let mut sites: Vec<u32> = Vec::with_capacity(k);
    for &q in &centres {
        if let Some(c) = nearest_cell(q, &sites) {
            sites.push(c);
        }
    }
    sites.sort_by(|&a, &b| {
        d2(pos(a), centre)
            .total_cmp(&d2(pos(b), centre))
            .then(a.cmp(&b))
    });
    sites
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// A 20×20 jittered lattice of real cells inside a ring of dummies.
    fn mesh() -> Mesh {
        let mut rng = Rng::stream(8, 8);
        let (mut seeds, mut real) = (Vec::new(), Vec::new());
        for i in -2..22 {
            for j in -2..22 {
                seeds.push([
                    f64::from(i) + 0.3 * rng.signed(),
                    f64::from(j) + 0.3 * rng.signed(),
                ]);
                real.push((0..20).contains(&i) && (0..20).contains(&j));
            }
        }
        Mesh::build(seeds, real).expect("mesh")
    }

    #[test]
    fn regions_are_whole_and_sized() {
        let mesh = mesh();
        let graph = Graph::new(&mesh, crate::outline::dist);
        let parent: Vec<u32> = mesh
            .real
            .iter()
            .map(|&r| if r { 0 } else { NONE })
            .collect();
        let domain = Domain::new(&graph, &parent, 0);
        let sites = spread_sites(&mesh, &domain.cells, 6, [10.0, 10.0]);
        assert_eq!(sites.len(), 6);
        let grow_sites: Vec<Site> = sites
            .iter()
            .enumerate()
            .map(|(k, &cell)| Site {
                cell,
                label: k as u32,
                speed: 1.0 + k as f64 * 0.3,
                cap: if k == 0 { 8 } else { 80 },
            })
            .collect();
        let mut labels = vec![NONE; mesh.seeds.len()];
        grow(&domain, &grow_sites, &mut labels);
        fill(&domain, &mut labels, &[0]);
        let regions: Vec<u32> = (0..6).collect();
        repair(&domain, &mut labels, &regions, &[0]).expect("repair");
        enforce_count(&domain, &mut labels, 0, 8).expect("exact size");
        assert!(domain.cells.iter().all(|&c| labels[c as usize] != NONE));
        for r in regions {
            assert!(region_ok(&domain, &labels, r), "region {r}");
        }
        let size0 = domain
            .cells
            .iter()
            .filter(|&&c| labels[c as usize] == 0)
            .count();
        assert_eq!(size0, 8);
    }
}
