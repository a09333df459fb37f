// The page's one catalogue of server messages: every problem+json answer carries a machine
// `code` and its `params` (see README, “Error messages”); this file says each in Chinese. The
// server's English `detail` is never shown: a code missing here shows a generic Chinese message
// with the code, so it can be reported and added. tests/api.rs checks that every code the server
// can emit has an entry here.

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
export const STATUS_NAMES = { draft: '草稿', consultation: '征求意见', vote: '表决', submitted: '报请审批', approved: '批准', rejected: '驳回' };

const state = (s) => STATUS_NAMES[s] ?? s;
const list = (xs, name = (x) => x) => (Array.isArray(xs) ? xs.map(name).join('、') : '');
const rules = (ids) => list(ids, (id) => RULE_NAMES[id] ?? id);
const lineNo = (p) => (p.line ? `第 ${p.line} 条线：` : '');
const CROSSING = {
  empty: '，但社区没有范围',
  end_inside: '，但线的一端在社区内',
  both_sides: '，且两侧都要有土地',
  snap_margin: '，且两侧都要留出多于吸附距离的范围',
  whole_grids: '，且两侧都要有整网格',
};
const LAYER = { towns: '镇街', communities: '社区', grids: '网格' };
const FIELD = { text: '意见内容', source: '意见来源' };

/** Code → Chinese, from the problem's `params`. */
export const MESSAGES = {
  // General kinds (the problem type's slug).
  'bad-request': () => '请求格式有误',
  'not-found': () => '没有找到',
  unauthorized: () => '请先登录',
  forbidden: () => '没有权限进行此操作',
  conflict: () => '当前状态下不能进行此操作',
  unprocessable: () => '无法处理该请求',
  'too-large': () => '请求过大',
  'unsupported-media-type': () => '请求的内容类型不受支持',
  'method-not-allowed': () => '不支持该请求方法',
  'too-many-logins': () => '登录尝试过多，请稍后再试',
  overloaded: () => '服务器繁忙，请稍后再试',
  timeout: () => '服务器处理超时',
  internal: (p) => `服务器内部错误${p.reference ? `（编号 ${p.reference}）` : ''}`,
  'no-database': () => '服务器未配置数据库，无法保存或登录',
  'database-unavailable': () => '数据库暂时无法连接，查询照常，保存和登录请稍后再试',
  'invalid-proposal': () => '方案不符合要求',
  'invalid-split': () => '无法拆分',
  'invalid-suggestion': () => '无法生成建议方案',
  'no-territory': () => '该社区没有划定辖区范围',
  'too-convoluted': () => '图形过于复杂',
  'x-csrf-token': () => '会话已过期，请重新登录',
  // Sign-in.
  'auth.bad_credentials': () => '用户名或密码错误',
  'auth.too_many_logins': (p) => `登录失败次数过多，请 ${p.seconds} 秒后再试`,
  'auth.csrf': () => '会话已过期，请重新登录',
  // Limits.
  'limits.proposal_parts': (p) => `方案的部分过多：${p.sent} 个，上限为 ${p.limit} 个`,
  'limits.proposal_vertices': (p) => `方案的边界点过多：${p.sent} 个，上限为 ${p.limit} 个`,
  'limits.line_points': (p) => `拆分线的点过多：${p.sent} 个，上限为 ${p.limit} 个`,
  'limits.address_matches': (p) => `地址查询结果过多：最多 ${p.sent} 条，上限为 ${p.limit} 条`,
  'limits.too_convoluted': (p) => `图形过于曲折，无法校验：一条经线或纬线与它相交 ${p.crossings} 次，上限为 ${p.limit} 次`,
  // Proposals.
  'proposal.malformed': () => '方案文件格式有误（不是有效的方案 GeoJSON）',
  'proposal.invalid': () => '方案不符合要求（几何或属性无效）',
  // Drawing helper (split by a line or by grids).
  'split.unknown_community': (p) => `没有编码为 ${p.community} 的社区`,
  'split.no_territory': (p) => `社区 ${p.community} 没有划定辖区范围，无法拆分`,
  'split.bad_line': () => '线至少需要两个点，每个点为 [经度, 纬度]',
  'split.line_does_not_cross': (p) => `${lineNo(p)}线必须穿过社区：起点和终点都在社区外${CROSSING[p.why] ?? ''}`,
  'split.line_count': (p) => `请画 1 至 ${p.max} 条线`,
  'split.line_or_groups': () => '请给出拆分线或网格分组，二者只能选一',
  'split.groups_too_few': () => '至少需要两个部分，且每个部分至少有一个网格',
  'split.grid_not_in_community': (p) => `网格 ${p.grid} 不属于社区 ${p.community}`,
  'split.grid_in_two_groups': (p) => `网格 ${p.grid} 被划入了多个部分`,
  'split.grids_in_no_group': (p) => `以下网格未划入任何部分：${list(p.grids)}`,
  // The procedure.
  'procedure.no_proposal': (p) => `没有编号为 ${p.id} 的方案`,
  'procedure.no_town': () => '方案不在任何镇街内，街道工作人员无法办理',
  'procedure.not_your_town': (p) => `只有镇街 ${p.town} 的街道工作人员可以办理此方案`,
  'procedure.not_allowed': (p) => `处于“${state(p.state)}”的方案不能转为“${state(p.to)}”${
    p.next?.length ? `（只能转为${list(p.next, (s) => `“${state(s)}”`)}）` : '（已办结）'}`,
  'procedure.reviewer_only': (p) => `只有民政局审核人员可以将方案转为“${state(p.to)}”`,
  'procedure.wrong_state': (p) => `方案处于“${state(p.state)}”，此操作只能在“${state(p.needs)}”时进行`,
  'procedure.comment_empty': () => '意见内容不能为空',
  'procedure.reason_required': () => '驳回必须填写理由',
  'procedure.validation_fails': (p) => `校验不合格的方案不能${state(p.to)}；不合格项：${rules(p.failing)}`,
  'procedure.drafter_lacks_town': (p) => `方案 #${p.id} 不能批准：起草人 ${p.drafter} 无权办理镇街 ${p.town} 的方案`,
  'procedure.drafter_gone': (p) => `方案 #${p.id} 不能批准：起草人 ${p.drafter} 已不是系统用户`,
  'procedure.registry_changed': (p) => `准备批准期间数据已更新（当前为第 ${p.version} 版），请重试`,
  'procedure.effective_future': (p) => `生效日期 ${p.effective} 晚于今天：批准只能今天或更早生效`,
  'procedure.effective_before': (p) => `生效日期 ${p.effective} 早于当前版本的生效日期 ${p.current}`,
  'procedure.audit_worse': (p) => `批准后全市核查将新增 ${p.count} 项不合格（重叠或空地），不能批准`,
  // Re-surveys (kind `resurvey`): no consultation or vote; a second reviewer approves.
  'resurvey.staff_only': () => '只有管理员或民政局审核人员可以导入或办理重新测绘数据',
  'resurvey.not_allowed': (p) => `重新测绘数据不经征求意见和表决：处于“${state(p.state)}”的不能转为“${state(p.to)}”${
    p.next?.length ? `（只能转为${list(p.next, (s) => `“${state(s)}”`)}）` : '（已办结）'}`,
  'resurvey.reviewer_only': () => '只有民政局审核人员可以批准重新测绘数据',
  'resurvey.four_eyes': (p) => `${p.user} 导入或提交了这份重新测绘数据，不能自己批准：须由另一位审核人员批准`,
  'resurvey.not_editable': () => '重新测绘数据不能修改、评论或表决：如需更正，请重新导入',
  'resurvey.stale': (p) => `导入时对比的是第 ${p.base} 版，现已是第 ${p.version} 版：请重新导入测绘数据`,
  'resurvey.unchanged': (p) => `测绘数据与第 ${p.version} 版完全相同，无需导入`,
  'resurvey.bad_crs': () => '坐标系参数 crs 无法识别',
  'resurvey.bad_zip': () => '上传内容不是有效的 zip 压缩包，或过大、含不安全的文件名',
  'resurvey.bad_mapping': () => 'mapping.toml 字段映射文件有误',
  'resurvey.problems': (p) => `测绘数据未通过检查，共 ${p.count} 个问题，未写入任何数据`,
  'resurvey.incomplete': (p) => `上传内容缺少${LAYER[p.missing] ?? p.missing}图层：重新测绘需要镇街、社区和网格三个图层`,
  'resurvey.unreadable': () => '无法读取上传的测绘数据（格式、编码或坐标系有误）',
  'input.bad_text': (p) => `${FIELD[p.field] ?? p.field ?? '文字'}含有不允许的字符或过长`,
  'input.bad_date': () => '日期格式有误',
  // The residents' vote.
  'vote.none': () => '尚未记录表决结果：请先记录居民表决',
  'vote.stale': () => '已记录的表决针对的是修改前的方案：请对当前版本重新表决',
  'vote.failed': (p) => `表决未通过（赞成 ${p.for}，反对 ${p.against}，弃权 ${p.abstain}；赞成需超过${p.base === 'eligible' ? '应到人数' : '投票数'}的 ${p.percent}%）`,
  'vote.no_votes': () => '没有投票',
  'vote.eligible_required': () => '请填写应到人数：表决规则按应到人数计算',
  'vote.eligible_too_small': (p) => `应到人数 ${p.eligible} 少于投票数 ${p.cast}`,
  // Basemap proxy.
  'no-basemap': () => '服务器未配置天地图密钥，无法显示底图',
  'basemap-upstream': () => '天地图服务暂时无法访问',
  'basemap.no_key': () => '服务器未配置天地图密钥，无法显示底图',
  'basemap.unknown_layer': (p) => `没有名为 ${p.layer} 的底图`,
  'basemap.bad_tile': () => '底图瓦片编号有误',
  'basemap.upstream': () => '天地图服务暂时无法访问',
};

/** A problem+json answer (`body`, HTTP `status`) in Chinese. */
export function problemText(body, status) {
  const code = typeof body?.code === 'string' ? body.code : null;
  const say = code ? MESSAGES[code] : null;
  if (say) {
    try {
      return say(body.params ?? {});
    } catch {
      // A message whose parameters are not as expected falls through to the generic one.
    }
  }
  return `请求未能完成（HTTP ${status}${code ? `，代码 ${code}` : ''}）`;
}
