//! One synthetic city, from seeds to towns, communities and grids.
//!
//! Pipeline: outline → provisional town layout on a coarse lattice (to know how dense each town's
//! seeds must be) → seeds, Lloyd relaxation, Voronoi mesh → each cell takes the town under its
//! seed → inside each town, communities grown over its cells → every Voronoi edge wiggled once →
//! rings chained from those shared arcs and validated → households and the other attributes.
//! Each Voronoi cell is one grid; a community is a union of grids, a town a union of communities.

use crate::arcs::Arcs;
use crate::article;
use crate::census::{Counts, Kind, apportion, office_area_tenths, workers};
use crate::mesh::Mesh;
use crate::noise::Noise;
use crate::outline::{BOX, Outline, dist};
use crate::partition::{
    Domain, Graph, NONE, Site, balance, enforce_count, fill, grow, repair, spread_sites,
};
use crate::plan::{Plan, Role, plan_communities};
use crate::projection::{FIXED_SCALE, Fixed, Frame, P2};
use crate::rings::{region_ring, strictly_inside, validate_ring};
use crate::rng::{Rng, hash2};
use crate::seeds::{Density, Lattice, TownDensity, far_ring, finalize, lloyd_step};
use crate::towns::{CHENGNAN_WORKERS, TOWNS, YINGYANG_WORKERS};

/// Centre of the layout frame (degrees); copies are shifted from here.
pub const BASE_LON: f64 = 113.40;
pub const BASE_LAT: f64 = 22.49;
/// Spacing of the provisional lattice, km.
const LATTICE_KM: f64 = 0.8;
/// Lloyd relaxation steps.
const LLOYD_STEPS: usize = 2;

// Independent random streams (see rng.rs).
const TAG_COAST: u64 = 1;
const TAG_LATTICE: u64 = 2;
const TAG_TOWN_COST: u64 = 3;
const TAG_SAMPLE: u64 = 5;
const TAG_NUDGE: u64 = 6;
const TAG_COMMUNITY_COST: u64 = 7;
const TAG_CENSUS: u64 = 11;
const TAG_OFFICES: u64 = 12;

/// Which copy of the city to make.
#[derive(Clone, Copy, Debug)]
pub struct CityParams {
    /// 0 for the sample city; k ≥ 1 for benchmark copies.
    pub index: u32,
    pub seed: u64,
    /// Six-digit city prefix of every code.
    pub prefix: u32,
    /// Shift of this copy from the base position, degrees.
    pub dlon: f64,
    pub dlat: f64,
}

pub struct TownOut {
    pub code: String,
    pub name: String,
    pub ring: Vec<Fixed>,
}

pub struct CommunityOut {
    pub code: String,
    pub name: String,
    pub town_code: String,
    pub kind: Kind,
    pub workers: u32,
    pub office_area_tenths: u64,
    pub office: Fixed,
    pub counts: Counts,
    /// `None` for a community without defined territory.
    pub ring: Option<Vec<Fixed>>,
}

pub struct GridOut {
    pub code: String,
    pub name: String,
    pub community_code: String,
    pub counts: Counts,
    pub ring: Vec<Fixed>,
}

pub struct City {
    pub towns: Vec<TownOut>,
    pub communities: Vec<CommunityOut>,
    pub grids: Vec<GridOut>,
    /// Longitude (1e-7°) of the north–south line splitting 城南社区.
    pub chengnan_line: Option<i64>,
}

fn mid(a: P2, b: P2) -> P2 {
    [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]
}

/// Marks real seeds as the single domain 0 (everything else `NONE`).
fn whole_city(mesh: &Mesh) -> Vec<u32> {
    mesh.real
        .iter()
        .map(|&r| if r { 0 } else { NONE })
        .collect()
}

/// The fixed geography shared by all stages.
struct Geography {
    outline: Outline,
    lattice: Lattice,
    far: Vec<P2>,
    /// Town centres in the layout frame, km.
    centres: Vec<P2>,
    town_noise: Noise,
}

impl Geography {
    fn new(seed: u64) -> Self {
        let layout = Frame::new(BASE_LON, BASE_LAT);
        let outline = Outline::build(&layout, &Noise::new(hash2(seed, TAG_COAST), 6.0));
        let (lo, hi) = outline.bbox();
        let lattice = Lattice::new(lo, hi, LATTICE_KM, &mut Rng::stream(seed, TAG_LATTICE));
        Geography {
            far: far_ring(lo, hi),
            centres: TOWNS.iter().map(|t| layout.to_km(t.lon, t.lat)).collect(),
            town_noise: Noise::new(hash2(seed, TAG_TOWN_COST), 7.0),
            outline,
            lattice,
        }
    }

    /// Travel cost between towns' cells: distance times a smooth noise factor.
    fn town_cost(&self, a: P2, b: P2) -> f64 {
        dist(a, b) * (0.55 + 0.9 * self.town_noise.at(mid(a, b)))
    }
}

/// Stage 1: towns on the coarse lattice, with areas proportional to the real ones. Returns the
/// provisional town of every lattice point (`NONE` outside the city).
fn provisional_towns(geo: &Geography, seed: u64) -> Result<Vec<u32>, String> {
    let n = geo.lattice.points.len();
    let mut seeds = geo.lattice.points.clone();
    seeds.extend(&geo.far);
    let real: Vec<bool> = (0..seeds.len())
        .map(|i| i < n && geo.outline.contains(seeds[i]))
        .collect();
    let far_ids: Vec<u32> = (n as u32..seeds.len() as u32).collect();
    let mesh = finalize(seeds, real, &far_ids, &mut Rng::stream(seed, TAG_NUDGE))?;
    let graph = Graph::new(&mesh, |a, b| geo.town_cost(a, b));
    let parent = whole_city(&mesh);
    let domain = Domain::new(&graph, &parent, 0);
    let total_area: f64 = TOWNS.iter().map(|t| t.area_km2).sum();
    let cells = domain.cells.len() as f64;
    let caps: Vec<usize> = TOWNS
        .iter()
        .map(|t| (t.area_km2 / total_area * cells).round() as usize)
        .collect();
    let sites = town_sites(&mesh, &geo.centres)?;
    let labels = grow_towns(&domain, &sites, &caps);
    Ok((0..n)
        .map(|k| if mesh.real[k] { labels[k] } else { NONE })
        .collect())
}

/// The real cell nearest each town centre (distinct cells).
fn town_sites(mesh: &Mesh, centres: &[P2]) -> Result<Vec<u32>, String> {
    let cells = mesh.real_cells();
    let mut sites: Vec<u32> = Vec::new();
    for &c in centres {
        let best = cells
            .iter()
            .copied()
            .filter(|s| !sites.contains(s))
            .min_by(|&a, &b| {
                dist(mesh.seeds[a as usize], c)
                    .total_cmp(&dist(mesh.seeds[b as usize], c))
                    .then(a.cmp(&b))
            })
            .ok_or("no cell for a town centre")?;
        sites.push(best);
    }
    Ok(sites)
}

/// Grows the towns with capacities `caps` (cells): each town expands at a speed proportional to
/// its expected radius and stops when full; leftovers go to whoever reaches them first.
fn grow_towns(domain: &Domain, sites: &[u32], caps: &[usize]) -> Vec<u32> {
    let mean = TOWNS.iter().map(|t| t.area_km2).sum::<f64>() / TOWNS.len() as f64;
    let sites: Vec<Site> = sites
        .iter()
        .zip(caps)
        .enumerate()
        .map(|(t, (&cell, &cap))| Site {
            cell,
            label: t as u32,
            speed: (TOWNS[t].area_km2 / mean).sqrt(),
            cap,
        })
        .collect();
    let mut labels = vec![NONE; domain.parent.len()];
    grow(domain, &sites, &mut labels);
    fill(domain, &mut labels, &[]);
    labels
}

/// Stage 2: seeds at each town's density (about `town_cells[t]` in town t), relaxed, meshed.
fn place_seeds(
    geo: &Geography,
    density: &Density,
    town_cells: &[usize],
    seed: u64,
) -> Result<Mesh, String> {
    let outline = &geo.outline;
    let mut seeds = density.sample(outline, town_cells, &mut Rng::stream(seed, TAG_SAMPLE))?;
    let n_real = seeds.len();
    seeds.extend(outline.dummies(|p| density.spacing(p)));
    // Farther out, the lattice fills the sea so no border cell can reach far outside.
    seeds.extend(
        geo.lattice
            .points
            .iter()
            .copied()
            .filter(|&p| !outline.contains(p) && outline.distance(p) > 1.2 * density.spacing(p)),
    );
    let far_start = seeds.len() as u32;
    seeds.extend(&geo.far);
    let far_ids: Vec<u32> = (far_start..seeds.len() as u32).collect();
    let real: Vec<bool> = (0..seeds.len()).map(|i| i < n_real).collect();
    for _ in 0..LLOYD_STEPS {
        lloyd_step(&mut seeds, &real, density, outline)?;
    }
    finalize(seeds, real, &far_ids, &mut Rng::stream(seed, TAG_NUDGE))
}

/// Stage 3: each cell takes the provisional town under its seed (that is where its density came
/// from); `repair` then removes the odd fragment along provisional borders.
fn assign_towns(mesh: &Mesh, geo: &Geography, density: &Density) -> Result<Vec<u32>, String> {
    let graph = Graph::new(mesh, |a, b| geo.town_cost(a, b));
    let parent = whole_city(mesh);
    let city = Domain::new(&graph, &parent, 0);
    let mut town_of: Vec<u32> = (0..mesh.seeds.len())
        .map(|c| match mesh.real[c] {
            true => density.town_at(mesh.seeds[c]).unwrap_or(NONE),
            false => NONE,
        })
        .collect();
    fill(&city, &mut town_of, &[]);
    let town_ids: Vec<u32> = (0..TOWNS.len() as u32).collect();
    repair(&city, &mut town_of, &town_ids, &[])?;
    Ok(town_of)
}

/// Stage 4: inside each town, communities grow from well-spread sites (standard communities
/// nearest the town centre, then village-converted ones, villages outermost) up to their target
/// sizes. A community much larger than its neighbours (城南) grows first on its own, otherwise
/// the small ones around it would box it in. Labels are indices into `plans`.
fn assign_communities(
    mesh: &Mesh,
    town_of: &[u32],
    plans: &[Plan],
    geo: &Geography,
    seed: u64,
) -> Result<Vec<u32>, String> {
    let noise = Noise::new(hash2(seed, TAG_COMMUNITY_COST), 2.5);
    let graph = Graph::new(mesh, |a, b| dist(a, b) * (0.6 + 0.8 * noise.at(mid(a, b))));
    let mut community_of = vec![NONE; mesh.seeds.len()];
    for (t, town) in TOWNS.iter().enumerate() {
        let domain = Domain::new(&graph, town_of, t as u32);
        let members: Vec<usize> = (0..plans.len())
            .filter(|&i| plans[i].town == t && plans[i].territory)
            .collect();
        let too_few = || format!("{} has too few cells for its communities", town.name);
        if domain.cells.len() < members.len() {
            return Err(too_few());
        }
        // Capacities: exact ones as given, the rest share the remaining cells by target.
        let exact: usize = members.iter().filter_map(|&i| plans[i].exact_grids()).sum();
        let flexible: Vec<f64> = members
            .iter()
            .filter(|&&i| plans[i].exact_grids().is_none())
            .map(|&i| plans[i].target)
            .collect();
        let mean = flexible.iter().sum::<f64>() / flexible.len().max(1) as f64;
        let mut shares =
            apportion(domain.cells.len().saturating_sub(exact) as u64, &flexible).into_iter();
        let caps: Vec<usize> = members
            .iter()
            .map(|&i| match plans[i].exact_grids() {
                Some(n) => n,
                None => shares.next().expect("one share per flexible community") as usize,
            })
            .collect();
        let frozen: Vec<u32> = members
            .iter()
            .filter(|&&i| plans[i].exact_grids().is_some())
            .map(|&i| i as u32)
            .collect();
        let site = |i: usize, cell: u32, cap: usize| Site {
            cell,
            label: i as u32,
            speed: (plans[i].target / mean).sqrt(),
            cap,
        };
        // Big communities first, each alone from its place in the town's numbering order.
        let sites = spread_sites(mesh, &domain.cells, members.len(), geo.centres[t]);
        if sites.len() < members.len() {
            return Err(too_few());
        }
        let big = |k: usize| plans[members[k]].target > 2.0 * mean;
        for k in (0..members.len()).filter(|&k| big(k)) {
            grow(
                &domain,
                &[site(members[k], sites[k], caps[k])],
                &mut community_of,
            );
        }
        // The others from sites spread over what is left.
        let rest: Vec<usize> = (0..members.len()).filter(|&k| !big(k)).collect();
        let free: Vec<u32> = domain
            .cells
            .iter()
            .copied()
            .filter(|&c| community_of[c as usize] == NONE)
            .collect();
        let rest_sites = spread_sites(mesh, &free, rest.len(), geo.centres[t]);
        if rest_sites.len() < rest.len() {
            return Err(too_few());
        }
        let grow_sites: Vec<Site> = rest
            .iter()
            .zip(&rest_sites)
            .map(|(&k, &cell)| site(members[k], cell, caps[k]))
            .collect();
        grow(&domain, &grow_sites, &mut community_of);
        fill(&domain, &mut community_of, &frozen);
        let labels: Vec<u32> = members.iter().map(|&i| i as u32).collect();
        repair(&domain, &mut community_of, &labels, &frozen)?;
        let targets: Vec<(u32, usize)> = members.iter().map(|&i| i as u32).zip(caps).collect();
        balance(&domain, &mut community_of, &targets, &frozen);
        for &i in &members {
            if let Some(n) = plans[i].exact_grids() {
                enforce_count(&domain, &mut community_of, i as u32, n)?;
            }
        }
    }
    Ok(community_of)
}

/// The cell deepest inside a region (most steps from its border, then nearest its centroid);
/// its seed hosts the office, which is then strictly inside the region however edges wiggle.
fn deepest_cell(mesh: &Mesh, cells: &[u32], label: &[u32]) -> u32 {
    let own = label[cells[0] as usize];
    let mut depth: Vec<(u32, u32)> = Vec::new();
    let mut frontier: Vec<u32> = cells
        .iter()
        .copied()
        .filter(|&c| {
            mesh.on_coast(c)
                || mesh
                    .real_neighbours(c)
                    .any(|(o, _)| label[o as usize] != own)
        })
        .collect();
    let mut seen: std::collections::BTreeSet<u32> = frontier.iter().copied().collect();
    let mut d = 0;
    while !frontier.is_empty() {
        depth.extend(frontier.iter().map(|&c| (c, d)));
        let mut next = Vec::new();
        for &c in &frontier {
            for (o, _) in mesh.real_neighbours(c) {
                if label[o as usize] == own && seen.insert(o) {
                    next.push(o);
                }
            }
        }
        next.sort_unstable();
        frontier = next;
        d += 1;
    }
    let sum = cells.iter().fold([0.0, 0.0], |acc, &c| {
        let p = mesh.seeds[c as usize];
        [acc[0] + p[0], acc[1] + p[1]]
    });
    let centroid = [sum[0] / cells.len() as f64, sum[1] / cells.len() as f64];
    let away = |c: u32| dist(mesh.seeds[c as usize], centroid);
    depth
        .into_iter()
        .min_by(|&(a, da), &(b, db)| {
            db.cmp(&da)
                .then(away(a).total_cmp(&away(b)))
                .then(a.cmp(&b))
        })
        .map_or(cells[0], |(c, _)| c)
}

/// Stage 5: rings, counts and attributes.
struct Assembly<'a> {
    params: &'a CityParams,
    mesh: &'a Mesh,
    arcs: &'a Arcs,
    frame: Frame,
    town_of: &'a [u32],
    community_of: &'a [u32],
}

impl Assembly<'_> {
    fn town_code(&self, t: usize) -> String {
        format!("{:06}{:03}", self.params.prefix, TOWNS[t].code)
    }

    fn office(&self, cell: u32) -> Fixed {
        self.frame.to_fixed(self.mesh.seeds[cell as usize])
    }

    fn build(&self, plans: &[Plan]) -> Result<City, String> {
        let (mesh, arcs) = (self.mesh, self.arcs);
        let mut cells_of_town = vec![Vec::new(); TOWNS.len()];
        let mut cells_of_community = vec![Vec::new(); plans.len()];
        for c in mesh.real_cells() {
            cells_of_town[self.town_of[c as usize] as usize].push(c);
            cells_of_community[self.community_of[c as usize] as usize].push(c);
        }
        let suffix = match self.params.index {
            0 => String::new(),
            k => format!("（{k}）"),
        };
        let mut towns = Vec::with_capacity(TOWNS.len());
        for (t, spec) in TOWNS.iter().enumerate() {
            let ring = region_ring(mesh, arcs, &cells_of_town[t], |c| self.town_of[c as usize])?;
            validate_ring(&ring).map_err(|e| format!("town {}: {e}", spec.name))?;
            towns.push(TownOut {
                code: self.town_code(t),
                name: format!("{}{suffix}", spec.name),
                ring,
            });
        }

        let mut census_rng = Rng::stream(self.params.seed, TAG_CENSUS);
        let mut office_rng = Rng::stream(self.params.seed, TAG_OFFICES);
        let mut communities = Vec::with_capacity(plans.len());
        let mut grids = Vec::new();
        let mut chengnan_line = None;
        for (i, plan) in plans.iter().enumerate() {
            let code = format!("{}{:03}", self.town_code(plan.town), plan.number);
            if !plan.territory {
                let households = census_rng.range(1_500.0, 5_000.0).round() as u64;
                let counts = Counts::from_households(households, &mut census_rng);
                let cells = &cells_of_town[plan.town];
                let office = self.office(cells[office_rng.below(cells.len())]);
                if !strictly_inside(&towns[plan.town].ring, office) {
                    return Err(format!("office of {} is not inside its town", plan.name));
                }
                communities.push(CommunityOut {
                    code,
                    name: plan.name.clone(),
                    town_code: self.town_code(plan.town),
                    kind: plan.kind,
                    workers: workers(counts.population, &mut census_rng),
                    office_area_tenths: office_area_tenths(counts.households, &mut census_rng),
                    office,
                    counts,
                    ring: None,
                });
                continue;
            }
            let mut cells = cells_of_community[i].clone();
            if cells.is_empty() {
                return Err(format!("community {} has no cells", plan.name));
            }
            let ring = region_ring(mesh, arcs, &cells, |c| self.community_of[c as usize])?;
            validate_ring(&ring).map_err(|e| format!("community {}: {e}", plan.name))?;
            // Number grids in rows of 400 m from north to south, west to east within a row.
            cells.sort_by(|&a, &b| {
                let (pa, pb) = (mesh.seeds[a as usize], mesh.seeds[b as usize]);
                let row = |p: P2| (-p[1] / 0.4).floor();
                row(pa)
                    .total_cmp(&row(pb))
                    .then(pa[0].total_cmp(&pb[0]))
                    .then(a.cmp(&b))
            });
            let mut grid_rings = Vec::with_capacity(cells.len());
            for &c in &cells {
                let grid = region_ring(mesh, arcs, &[c], |x| x)?;
                validate_ring(&grid).map_err(|e| format!("grid in {}: {e}", plan.name))?;
                grid_rings.push(grid);
            }
            let grid_counts = match plan.role {
                Role::Chengnan => {
                    let (counts, line) = article::chengnan(&grid_rings, &mut census_rng)?;
                    chengnan_line = Some(line);
                    counts
                }
                Role::Yingyang => article::yingyang(cells.len(), &mut census_rng),
                Role::Plain => cells
                    .iter()
                    .map(|_| {
                        let h = plan.kind.grid_households(&mut census_rng);
                        Counts::from_households(h, &mut census_rng)
                    })
                    .collect(),
            };
            let mut total = Counts::default();
            for (g, (grid, counts)) in grid_rings.into_iter().zip(&grid_counts).enumerate() {
                total.add(*counts);
                grids.push(GridOut {
                    code: format!("{code}{:03}", g + 1),
                    name: format!("{}第{}网格", plan.name, g + 1),
                    community_code: code.clone(),
                    counts: *counts,
                    ring: grid,
                });
            }
            let office = self.office(deepest_cell(mesh, &cells, self.community_of));
            if !strictly_inside(&ring, office) {
                return Err(format!("office of {} is not inside it", plan.name));
            }
            let staff = match plan.role {
                Role::Chengnan => CHENGNAN_WORKERS,
                Role::Yingyang => YINGYANG_WORKERS,
                Role::Plain => workers(total.population, &mut census_rng),
            };
            communities.push(CommunityOut {
                code,
                name: plan.name.clone(),
                town_code: self.town_code(plan.town),
                kind: plan.kind,
                workers: staff,
                office_area_tenths: office_area_tenths(total.households, &mut census_rng),
                office,
                counts: total,
                ring: Some(ring),
            });
        }
        communities.sort_by(|a, b| a.code.cmp(&b.code));
        grids.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(City {
            towns,
            communities,
            grids,
            chengnan_line,
        })
    }
}

/// Fails unless every town vertex lies inside the outline's box (shifted with the copy).
fn check_extent(towns: &[TownOut], frame: &Frame) -> Result<(), String> {
    let layout = Frame::new(BASE_LON, BASE_LAT);
    let lo = layout.to_km(BOX[0], BOX[1]);
    let hi = layout.to_km(BOX[2], BOX[3]);
    for t in towns {
        for p in &t.ring {
            let q = frame.to_km(p[0] as f64 / FIXED_SCALE, p[1] as f64 / FIXED_SCALE);
            if q[0] < lo[0] || q[0] > hi[0] || q[1] < lo[1] || q[1] > hi[1] {
                return Err(format!("{} reaches outside the city's box", t.name));
            }
        }
    }
    Ok(())
}

/// Generates one copy of the city.
pub fn generate(params: &CityParams) -> Result<City, String> {
    let seed = params.seed;
    let geo = Geography::new(seed);
    let plans = plan_communities(seed);
    let mut town_cells = vec![0.0f64; TOWNS.len()];
    for p in &plans {
        town_cells[p.town] += p.target;
    }
    let town_cells: Vec<usize> = town_cells.iter().map(|c| c.round() as usize).collect();

    let mut density = Density {
        lattice: &geo.lattice,
        town_of: provisional_towns(&geo, seed)?,
        towns: TOWNS
            .iter()
            .zip(&geo.centres)
            .map(|(t, &centre)| TownDensity {
                centre,
                base: 1.0,
                peak: if t.central { 1.0 } else { 3.0 },
                radius: if t.central { 0.5 } else { 0.3 } * t.area_km2.sqrt(),
                norm: 1.0,
            })
            .collect(),
    };
    density.calibrate(&town_cells);
    let mesh = place_seeds(&geo, &density, &town_cells, seed)?;
    let town_of = assign_towns(&mesh, &geo, &density)?;
    let community_of = assign_communities(&mesh, &town_of, &plans, &geo, seed)?;
    let frame = Frame::new(BASE_LON + params.dlon, BASE_LAT + params.dlat);
    let arcs = Arcs::build(&mesh, &frame, seed);
    let city = Assembly {
        params,
        mesh: &mesh,
        arcs: &arcs,
        frame,
        town_of: &town_of,
        community_of: &community_of,
    }
    .build(&plans)?;
    check_extent(&city.towns, &frame)?;
    Ok(city)
}
