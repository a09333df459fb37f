// The proposal's parts as pure functions, shared by the editor (proposal.js) and the request
// worker (fetcher.js), so that both build the same proposal from a split answer and the forms.

export const MAX_PARTS = 12;
export const FIELDS = ['name', 'workers', 'office_area_m2', 'office', 'justification'];

/** A part with the given server/file properties; `touched` lists fields the user typed. */
export const part = (props, geometry) => ({
  name: props.name ?? '', workers: props.workers ?? 0, office_area_m2: props.office_area_m2 ?? 0,
  office: props.office ?? null, justification: props.justification ?? '', kind: props.kind ?? null,
  geometry, touched: {},
});

/** The parts of a split answer's `features`, keeping what the user typed into the `old` forms. */
export function mergeParts(features, old) {
  return features.slice(0, MAX_PARTS).map((f, i) => {
    const fresh = part(f.properties, f.geometry);
    const before = old[i];
    if (before) for (const k of FIELDS) if (before.touched?.[k]) { fresh[k] = before[k]; fresh.touched[k] = true; }
    return fresh;
  });
}

/** The proposal as the API takes it, from the editor's `state` (kind, title, parents, parts). */
export function proposalJson(state) {
  return {
    type: 'FeatureCollection',
    proposal: { kind: state.kind, title: state.title || '未命名方案', parents: state.parents },
    features: state.parts.map((p) => ({
      type: 'Feature',
      geometry: p.geometry,
      properties: {
        name: p.name, workers: Number(p.workers), office_area_m2: Number(p.office_area_m2),
        ...(p.office ? { office: p.office } : {}), ...(p.kind ? { kind: p.kind } : {}),
        ...(p.justification.trim() ? { justification: p.justification.trim() } : {}),
      },
    })),
  };
}
