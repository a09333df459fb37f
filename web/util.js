// Small helpers shared by the page's modules: DOM, formatting, geometry extents and HTTP with
// the server's problem+json errors.

export const $ = (id) => document.getElementById(id);
export const status = (text) => { $('status').textContent = text; };
export const fmt = (n, digits = 0) => (n == null ? '—' : Number(n).toLocaleString('zh-CN', { maximumFractionDigits: digits }));
export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Rule ids as the page names them (validation panel, findings, refusals).
export const RULE_NAMES = {
  households: '户数',
  workers_per_10k_residents: '每万居民工作人员数',
  office_m2_per_100_households: '每百户办公服务用房面积',
  office_m2_total: '办公服务用房总面积',
  grid_households: '户数超出范围的网格数',
  polsby_popper: '形状紧凑度（Polsby-Popper）',
  grids_per_community: '整网格数',
  contiguous: '辖区连成一片（块数）',
  inside_one_town: '位于同一镇街内（镇街数）',
  no_overlap_with_other_communities: '不与其他社区重叠（m²）',
  grids_not_cut: '不切割网格（被切网格数）',
  parts_do_not_overlap: '各部分互不重叠（m²）',
  parts_cover_parents: '原社区无遗留空地（m²）',
  parts_within_parents: '不超出原社区范围（m²）',
};
const STATUS_NAMES = { draft: '草稿', consultation: '征求意见', vote: '表决', submitted: '报请审批', approved: '批准', rejected: '驳回' };
const ruleList = (ids) => ids.split(/,\s*/).map((id) => RULE_NAMES[id] ?? id).join('、');

// The server's problem details (English) in Chinese: known messages by pattern, with their
// parameters; anything else by the problem's type.
const DETAILS = [
  [/cannot be (\w+); failing: (.+)$/, (m) => `校验不合格的方案不能${STATUS_NAMES[m[1]] ?? m[1]}；不合格项：${ruleList(m[2])}`],
  [/^the line must cross the community: start and end outside it, (line (\d+): )?(.*)$/, (m) => `${m[2] ? `第 ${m[2]} 条线：` : ''}线必须穿过社区：起点和终点都在社区外${
    /inside/.test(m[3]) ? '，但线的一端在社区内' : /snapping/.test(m[3]) ? '，且两侧都要留出多于吸附距离的范围' : /whole grids/.test(m[3]) ? '，且两侧都要有整网格' : '，且两侧都要有土地'}`],
  [/^the line needs at least 2 positions/, () => '线至少需要两个点，每个点为 [经度, 纬度]'],
  [/^unknown community (\d+)/, (m) => `没有编码为 ${m[1]} 的社区`],
  [/^community (\d+) has no defined territory/, (m) => `社区 ${m[1]} 没有划定辖区范围，无法拆分`],
  [/^groups: give at least 2 non-empty groups/, () => '至少需要两个部分，且每个部分至少有一个网格'],
  [/^groups: grids in no group: (.+)$/, (m) => `以下网格未划入任何部分：${m[1]}`],
  [/^groups: (\d+) is in more than one group/, (m) => `网格 ${m[1]} 被划入了多个部分`],
  [/^give 1 to (\d+) lines/, (m) => `请画 1 至 ${m[1]} 条线`],
  [/^only a street official of town (\d+) may (.+) its proposals/, (m) => `只有镇街 ${m[1]} 的街道工作人员可以办理其方案`],
  [/^no vote is recorded/, () => '尚未记录表决结果：请先记录居民表决'],
  [/^the recorded vote was cast on an earlier version/, () => '已记录的表决针对的是修改前的方案：请对当前版本重新表决'],
  [/^the vote did not pass \((\d+) for, (\d+) against, (\d+) abstaining; more than ([\d.]+)% of the (.+) needed\)/,
    (m) => `表决未通过（赞成 ${m[1]}，反对 ${m[2]}，弃权 ${m[3]}；赞成需超过${m[5] === 'eligible voters' ? '应到人数' : '投票数'}的 ${m[4]}%）`],
  [/^no votes cast/, () => '没有投票'],
  [/^`eligible` is required/, () => '请填写应到人数：表决规则按应到人数计算'],
  [/^eligible (\d+) is less than the (\d+) votes cast/, (m) => `应到人数 ${m[1]} 少于投票数 ${m[2]}`],
  [/^`reason`: a rejection must say why/, () => '驳回必须填写理由'],
  [/^proposal (\d+) cannot be approved: it was drafted by (\S+)/, (m) => `方案 #${m[1]} 不能批准：起草人 ${m[2]} 无权提交此镇街的方案`],
];
const TYPES = {
  'bad-request': '请求格式有误', conflict: '当前状态下不能进行此操作', forbidden: '没有权限进行此操作',
  'not-found': '没有找到', unauthorized: '请先登录', 'invalid-proposal': '方案不符合要求', 'invalid-split': '无法拆分',
  'invalid-suggestion': '无法生成建议方案', 'too-large': '请求过大', 'too-many-logins': '登录尝试过多，请稍后再试',
  timeout: '服务器处理超时', internal: '服务器内部错误', 'no-database': '服务器未配置数据库，无法保存',
  'too-convoluted': '图形过于复杂', 'x-csrf-token': '会话已过期，请重新登录', unprocessable: '无法处理该请求',
};

/** A problem+json answer in Chinese. */
export function problemText(body, status) {
  const detail = body?.detail ?? '';
  for (const [re, text] of DETAILS) {
    const m = detail.match(re);
    if (m) return text(m);
  }
  const type = String(body?.type ?? '').replace(/^\/problems\//, '');
  return TYPES[type] ?? `请求失败（HTTP ${status}）`;
}

/** An error the server explained: `message` in Chinese, `detail` the server's own words. */
async function failure(url, r) {
  let body = null;
  if ((r.headers.get('content-type') ?? '').includes('json')) body = await r.json().catch(() => null);
  const err = new Error(problemText(body, r.status));
  err.detail = body?.detail;
  err.status = r.status;
  err.url = url;
  return err;
}

/**
 * What the page is looking at and who is signed in: `asOf` (`YYYY-MM-DD` or null for now) is
 * added to every read of the registry; `csrf` goes with every write of a signed-in user.
 */
export const session = { asOf: null, csrf: null };

// Reads that answer "as the city was on that day" when `as_of` is given.
const DATED = /^\/api\/v1\/(towns|communities|grids|lookup|address|audit)/;

/** `url` with the `as_of` of the history view, when it reads the registry. */
export function dated(url) {
  if (!session.asOf || !DATED.test(url)) return url;
  return `${url}${url.includes('?') ? '&' : '?'}as_of=${session.asOf}`;
}

export async function getJson(url) {
  const r = await fetch(dated(url));
  if (!r.ok) throw await failure(url, r);
  return r.json();
}

/** A write (`POST`, `PUT`, …) with a JSON body (or none); the answer's JSON, or null when empty. */
export async function sendJson(method, url, body, signal) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (session.csrf) headers['X-CSRF-Token'] = session.csrf;
  const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  if (!r.ok) throw await failure(url, r);
  const text = await r.text();
  return text ? JSON.parse(text) : null;
}

export const postJson = (url, body, signal) => sendJson('POST', url, body, signal);

/** [west, south, east, north] of a GeoJSON geometry, or null when it has none. */
export function bbox(geometry) {
  if (!geometry) return null;
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      b[0] = Math.min(b[0], c[0]); b[1] = Math.min(b[1], c[1]);
      b[2] = Math.max(b[2], c[0]); b[3] = Math.max(b[3], c[1]);
    } else c.forEach(walk);
  };
  if (geometry.type === 'GeometryCollection') geometry.geometries.forEach((g) => walk(g.coordinates));
  else walk(geometry.coordinates);
  return Number.isFinite(b[0]) ? b : null;
}
